"""Analyst outputs: customer attributes, per-branch and per-manager tiers, tier migration
against an earlier run, customers near the next tier, split lists, the workbook and the
HTML report.

Points are hand-computed from icbc-star's card-spending rate, 400 points per 10,000 yuan
(0.04 points per yuan of POS spending): 50,000.00 yuan -> 2,000 points (五星级).
"""

from __future__ import annotations

import hashlib
import json
import math
import re
import zipfile
from collections.abc import Sequence
from fractions import Fraction
from pathlib import Path
from typing import Any

import polars as pl
import pytest

from tierscore.scoring.errors import InputError
from tierscore.scoring.pipeline import Job, Result, run
from tierscore.scoring.sources import parse_mapping
from tierscore.scoring.window import parse_window

from .conftest import BAL_COLUMNS, TXN_COLUMNS, Ran, Row, tierscore_here, txn_rows, write_csv

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "sample_data"
TIERS = ["七星级", "六星级", "五星级", "四星级", "三星级", "准星级", "非星级"]
GATES = ("overdue_90d", "missed_consecutive", "missed_total")
CUSTOMER_COLUMNS = ("customer_id", "branch", "manager", *GATES)
LEVER = "卡消费 transactions"


def pos(customer: str, amount: str) -> Row:
    """One card payment (POS) inside 2026H1."""
    return (customer, "2026-02-01", "POS", amount)


def customer(cid: str, branch: str | None, manager: str | None, overdue: bool = False) -> Row:
    return (cid, branch, manager, str(overdue).lower(), 0, 0)


# The branch example: A 2,000 (五星级), B 500 (四星级), G 10,000 (六星级, 90 days overdue),
# C 50 (三星级), E and F 0.0052 each (准星级), D and H 4 (准星级).
BRANCH_TXNS = [
    pos("A", "50000.00"),
    pos("B", "12500.00"),
    pos("G", "250000.00"),
    pos("C", "1250.00"),
    pos("E", "0.13"),
    pos("F", "0.13"),
    pos("D", "100.00"),
    pos("H", "100.00"),
]
BRANCH_CUSTOMERS = [
    customer("A", "朝阳支行", "M1"),
    customer("B", "朝阳支行", "M1"),
    customer("G", "朝阳支行", "M2", overdue=True),
    customer("C", "海淀支行", "M1"),
    customer("E", "海淀支行", "M3"),
    customer("F", "海淀支行", "M3"),
    customer("H", None, "M9"),  # no branch; D is not in the customers file at all
]


def write_inputs(folder: Path, txns: Sequence[Row], balances: Sequence[Row] = ()) -> list[str]:
    folder.mkdir(parents=True, exist_ok=True)
    bal = write_csv(folder / "bal.csv", BAL_COLUMNS, balances)
    txn = write_csv(folder / "txn.csv", TXN_COLUMNS, txn_rows(txns))
    return ["--balances", str(bal), "--transactions", str(txn), "--period", "2026H1"]


def score(folder: Path, txns: Sequence[Row], balances: Sequence[Row] = (), **job: Any) -> Result:
    """Score through the library; ``job`` holds Job's optional fields."""
    args = write_inputs(folder, txns, balances)
    return run(Job(args[1], args[3], parse_window("2026H1"), **job))


def by_id(result: Result) -> dict[str, dict[str, Any]]:
    return {row["customer_id"]: row for row in result.scores.iter_rows(named=True)}


def tierscore(*args: str) -> Ran:
    return tierscore_here("score", *args, "--quiet")


def read_text_csv(path: Path) -> pl.DataFrame:
    return pl.read_csv(path, infer_schema=False)


# 1. customer attributes ------------------------------------------------------------


def test_customers_columns_follow_id_and_missing_customers_are_empty(tmp_path: Path) -> None:
    columns = ("customer_id", "manager", *GATES, "branch", "segment")
    rows = [
        ("A", "M1", "false", 0, 0, "朝阳支行", "007"),
        ("B", "M2", "true", 3, 6, "海淀支行", ""),
    ]
    cust = write_csv(tmp_path / "cust.csv", columns, rows)
    result = score(tmp_path, [pos("A", "50000"), pos("B", "1"), pos("D", "1")], customers=str(cust))
    expected = ["customer_id", "branch", "manager", *GATES, "segment"]
    assert result.scores.columns[: len(expected)] == expected
    assert result.scores.columns[len(expected)] == "short_term_assets_amount"
    scores = by_id(result)
    assert scores["A"]["segment"] == "007"  # carried as text, not as a number
    assert scores["A"]["quality"] is True and scores["B"]["quality"] is False
    assert scores["B"]["quality_blocked_by"] == "overdue_90d;missed_consecutive;missed_total"
    assert (scores["D"]["branch"], scores["D"]["manager"]) == (None, None)


def test_carried_columns_keep_the_files_order(tmp_path: Path) -> None:
    columns = ("customer_id", "branch", "segment", "manager", *GATES)
    cust = write_csv(
        tmp_path / "cust.csv", columns, [("A", "朝阳支行", "VIP", "M1", "false", 0, 0)]
    )
    result = score(tmp_path, [pos("A", "1")], customers=str(cust))
    assert result.scores.columns[:7] == ["customer_id", "branch", "manager", "segment", *GATES]


def test_customers_mapping_renames_headers(tmp_path: Path) -> None:
    mapping = tmp_path / "columns.toml"
    mapping.write_text(
        '[customers]\nbranch = "支行"\nmanager = "客户经理"\nsegment = "客群"\n'
        'overdue_90d = "逾期90天"\nold_tier = "tier"\n',
        encoding="utf-8",
    )
    header = ("customer_id", "客群", "支行", "客户经理", "逾期90天", *GATES[1:], "tier")
    row = ("A", "私行", "朝阳支行", "M1", "true", 0, 0, "五星级")
    cust = write_csv(tmp_path / "cust.csv", header, [row])
    result = score(
        tmp_path, [pos("A", "50000")], customers=str(cust), mapping=parse_mapping(mapping)
    )
    row = by_id(result)["A"]
    assert result.scores.columns[1:3] == ["branch", "manager"]
    assert (row["branch"], row["manager"], row["segment"], row["old_tier"]) == (
        "朝阳支行",
        "M1",
        "私行",
        "五星级",
    )
    assert row["tier"] == "五星级" and row["quality_blocked_by"] == "overdue_90d"
    assert not {"支行", "客户经理", "客群"} & set(result.scores.columns)


@pytest.mark.parametrize("column", ["points", "tier", "near_next", "card_spending_points"])
def test_customers_column_named_like_a_scores_column_stops(tmp_path: Path, column: str) -> None:
    cust = write_csv(
        tmp_path / "cust.csv", (*CUSTOMER_COLUMNS, column), [(*customer("A", "b", "m"), "x")]
    )
    with pytest.raises(InputError) as caught:
        score(tmp_path, [pos("A", "1")], customers=str(cust))
    assert str(cust) in str(caught.value) and column in str(caught.value)


def test_customers_column_clash_exits_2(tmp_path: Path) -> None:
    cust = write_csv(
        tmp_path / "cust.csv", (*CUSTOMER_COLUMNS, "tier"), [(*customer("A", "b", "m"), "x")]
    )
    done = tierscore(*write_inputs(tmp_path, [pos("A", "1")]), "--customers", str(cust),
                     "--out", str(tmp_path / "out"))  # fmt: skip
    assert done.returncode == 2
    assert "cust.csv" in done.stderr and "tier" in done.stderr
    assert not (tmp_path / "out" / "scores.csv").exists()


# 2. by_branch and by_manager ---------------------------------------------------------


def test_by_branch_and_by_manager(tmp_path: Path) -> None:
    cust = write_csv(tmp_path / "cust.csv", CUSTOMER_COLUMNS, BRANCH_CUSTOMERS)
    summary = score(tmp_path, BRANCH_TXNS, customers=str(cust)).summary

    def tiers(**counts: int) -> dict[str, int]:
        names = dict(zip(("s7", "s6", "s5", "s4", "s3", "pre", "non"), TIERS, strict=True))
        return {label: 0 for label in TIERS} | {names[k]: n for k, n in counts.items()}

    branches = {g["branch"]: g for g in summary["by_branch"]}
    for group in [*summary["by_branch"], *summary["by_manager"]]:  # icbc-star's [service]:
        assert group.pop("service_tiers") == group["tiers"]  # no earlier run, no floor
    assert branches == {
        "朝阳支行": {"branch": "朝阳支行", "customers": 3, "quality_customers": 1,
                     "points": "12500.00", "tiers": tiers(s6=1, s5=1, s4=1)},
        # 50 + 0.0052 + 0.0052, rounded once (rounding each customer first gives 50.02)
        "海淀支行": {"branch": "海淀支行", "customers": 3, "quality_customers": 0,
                     "points": "50.01", "tiers": tiers(s3=1, pre=2)},
        "未分配": {"branch": "未分配", "customers": 2, "quality_customers": 0,
                   "points": "8.00", "tiers": tiers(pre=2)},
    }  # fmt: skip
    managers = {(g["branch"], g["manager"]): g for g in summary["by_manager"]}
    got = {
        key: (g["customers"], g["quality_customers"], g["points"]) for key, g in managers.items()
    }
    assert got == {
        ("朝阳支行", "M1"): (2, 1, "2500.00"),
        ("朝阳支行", "M2"): (1, 0, "10000.00"),  # 六星级 but blocked by a gate
        ("海淀支行", "M1"): (1, 0, "50.00"),  # same manager name, other branch: own group
        ("海淀支行", "M3"): (2, 0, "0.01"),
        ("未分配", "M9"): (1, 0, "4.00"),
        ("未分配", "未分配"): (1, 0, "4.00"),
    }
    assert managers[("朝阳支行", "M1")]["tiers"] == tiers(s5=1, s4=1)
    assert all(list(g["tiers"]) == TIERS for g in summary["by_manager"])


def test_blank_branch_in_parquet_is_unassigned(tmp_path: Path) -> None:
    cust = tmp_path / "cust.parquet"
    pl.DataFrame(
        {"customer_id": ["A", "B"], "branch": ["", "  "], "manager": ["M1", "M1"],
         "overdue_90d": [False, False], "missed_consecutive": [0, 0], "missed_total": [0, 0]}
    ).write_parquet(cust)  # fmt: skip
    summary = score(tmp_path, [pos("A", "1"), pos("B", "1")], customers=str(cust)).summary
    assert [(g["branch"], g["customers"]) for g in summary["by_branch"]] == [("未分配", 2)]


def test_no_customers_no_branch_views(tmp_path: Path) -> None:
    result = score(tmp_path, BRANCH_TXNS)
    assert "by_branch" not in result.summary and "by_manager" not in result.summary
    assert "branch" not in result.scores.columns


# 3. migration --------------------------------------------------------------------------


def test_migration_rows_and_matrix(tmp_path: Path) -> None:
    # now: A 五星级, B 四星级, C 三星级, D and E 准星级
    txns = [pos("A", "50000"), pos("B", "12500"), pos("C", "1250"), pos("D", "100"), pos("E", "1")]
    previous = write_csv(
        tmp_path / "prev.csv",
        ("customer_id", "points", "tier"),
        [("A", "1", "四星级"), ("B", "1", "五星级"), ("C", "1", "三星级"),
         ("X", "1", "六星级"), ("E", "1", "")],
    )  # fmt: skip
    result = score(tmp_path, txns, previous=str(previous))
    columns = result.scores.columns
    at = columns.index("tier")
    assert columns[at + 1 : at + 3] == ["previous_tier", "movement"]
    rows = by_id(result)
    got = {cid: (r["tier"], r["previous_tier"], r["movement"]) for cid, r in rows.items()}
    assert got == {
        "A": ("五星级", "四星级", "up"),
        "B": ("四星级", "五星级", "down"),
        "C": ("三星级", "三星级", "same"),
        "D": ("准星级", None, "new"),
        "E": ("准星级", None, "new"),  # its earlier row had no tier: skipped
        "X": (None, "六星级", "gone"),
    }
    assert rows["X"]["points"] is None
    migration = result.summary["migration"]
    assert migration["previous"] == str(previous)
    assert migration["rows"] == [*TIERS, "new"] and migration["columns"] == [*TIERS, "gone"]
    expected = [[0] * 8 for _ in range(8)]
    expected[3][2] = expected[2][3] = expected[4][4] = expected[1][7] = 1  # A, B, C, X
    expected[7][5] = 2  # D and E
    assert migration["counts"] == expected
    assert migration["movement"] == {"up": 1, "down": 1, "same": 1, "new": 2, "gone": 1}
    assert result.summary["customers"] == 5  # the gone customer is not scored


@pytest.mark.parametrize(
    ("rows", "header", "key"),
    [
        ([("A", "五星级"), ("A", "四星级")], ("customer_id", "tier"), "customer_id"),
        ([("A", "五星")], ("customer_id", "tier"), "五星"),
        ([("A", "1")], ("customer_id", "points"), "tier"),
    ],
    ids=["repeated-id", "unknown-tier", "no-tier-column"],
)
def test_bad_previous_exits_2(
    tmp_path: Path, rows: list[Row], header: tuple[str, ...], key: str
) -> None:
    previous = write_csv(tmp_path / "prev.csv", header, rows)
    done = tierscore(*write_inputs(tmp_path, [pos("A", "1")]), "--previous", str(previous),
                     "--out", str(tmp_path / "out"))  # fmt: skip
    assert done.returncode == 2
    assert "prev.csv" in done.stderr and key in done.stderr
    assert not (tmp_path / "out").exists()


# 4. near the next tier -----------------------------------------------------------------

NEAR_TXNS = [
    pos("P", "45000.00"),  # 1,800: exactly 90% of 五星级's 2,000
    pos("Q", "44999.99"),  # 1,799.9996
    pos("P2", "46250.00"),  # 1,850: exactly 92.5%
    pos("Q2", "46249.99"),  # 1,849.9996
    pos("R", "2000000.00"),  # 80,000: 七星级, the top
    pos("S", "100.00"),  # 4: 准星级, far from 三星级's 50
    ("Z", "2026-02-01", "MMF_BUY", "100.00"),  # excluded: 0 points, 非星级
]


@pytest.mark.parametrize(
    ("near", "expected", "pct"),
    [
        (Fraction(10), {"P", "P2", "Q2"}, "10"),
        (Fraction(15, 2), {"P2"}, "7.5"),
        (Fraction(0), set(), "0"),
        (Fraction(100), {"P", "Q", "P2", "Q2", "S", "Z"}, "100"),
    ],
)
def test_near_next_is_exact_at_the_bound(
    tmp_path: Path, near: Fraction, expected: set[str], pct: str
) -> None:
    result = score(tmp_path, NEAR_TXNS, near=near)
    rows = by_id(result)
    assert {cid for cid, row in rows.items() if row["near_next"]} == expected
    assert not rows["R"]["near_next"]
    assert rows["R"]["next_tier"] is None and rows["R"]["points_to_next"] is None
    upgrade = result.summary["upgrade"]
    assert upgrade["pct"] == pct and upgrade["customers"] == len(expected)


def test_default_near_is_ten_percent(tmp_path: Path) -> None:
    rows = by_id(score(tmp_path, NEAR_TXNS))
    assert rows["P"]["near_next"] is True and rows["Q"]["near_next"] is False


def test_upgrade_lever_yuan_rounds_up(tmp_path: Path) -> None:
    # 100.00 on a current account for the last day: 100 / 181 yuan daily average at
    # 135 points per 10,000; plus 45,000.00 of card spending at 400 per 10,000.
    balances = [("A", "AC1", "CURRENT", "2026-06-30", "100.00")]
    cust = write_csv(tmp_path / "cust.csv", CUSTOMER_COLUMNS, [customer("A", "朝阳支行", "M1")])
    result = score(tmp_path, [pos("A", "45000.00")], balances, customers=str(cust))
    points = Fraction(100, 181) * Fraction(135, 10000) + 45000 * Fraction(400, 10000)
    missing = 2000 - points  # 199.99254...
    yuan = missing / Fraction(400, 10000)  # 4,999.8135...: card spending is the cheapest lever
    assert math.ceil(yuan * 100) == 499982
    assert result.summary["upgrade"] == {
        "pct": "10",
        "customers": 1,
        "top": [{"branch": "朝阳支行", "manager": "M1", "customer_id": "A",
                 "tier": "四星级", "next_tier": "五星级", "points": "1800.01",
                 "points_to_next": "200.00", "lever": LEVER, "lever_yuan": "4999.82",
                 "lever_transactions": None, "lever_each": None, "lever_codes": None}],
    }  # fmt: skip


def test_upgrade_top_ten_per_branch_closest_first(tmp_path: Path) -> None:
    # K00..K11 in 朝阳支行: 1,800 + 4i points, 200 - 4i to go; L in 海淀支行; N no branch
    txns = [pos(f"K{i:02d}", str(45000 + 100 * i)) for i in range(12)]
    txns += [pos("L", "45000"), pos("N", "49000")]
    people = [customer(f"K{i:02d}", "朝阳支行", "M1") for i in range(12)]
    people.append(customer("L", "海淀支行", "M2"))
    cust = write_csv(tmp_path / "cust.csv", CUSTOMER_COLUMNS, people)
    upgrade = score(tmp_path, txns, customers=str(cust)).summary["upgrade"]
    assert upgrade["customers"] == 14
    top = upgrade["top"]
    chaoyang = [t["customer_id"] for t in top if t["branch"] == "朝阳支行"]
    assert chaoyang == [f"K{i:02d}" for i in range(11, 1, -1)]
    assert [t["customer_id"] for t in top if t["branch"] != "朝阳支行"] in (["L", "N"], ["N", "L"])
    assert {t["branch"] for t in top} == {"朝阳支行", "海淀支行", "未分配"}
    by_customer = {t["customer_id"]: t for t in top}
    assert by_customer["K11"]["points_to_next"] == "156.00"
    assert by_customer["K11"]["lever_yuan"] == "3900.00"  # 156 / 0.04
    assert by_customer["N"]["points_to_next"] == "40.00" and by_customer["N"]["manager"] is None


@pytest.mark.parametrize("near", ["101", "-1"])
def test_near_out_of_range_exits_2(tmp_path: Path, near: str) -> None:
    done = tierscore(*write_inputs(tmp_path, [pos("A", "1")]), f"--near={near}",
                     "--out", str(tmp_path / "out"))  # fmt: skip
    assert done.returncode == 2 and "--near" in done.stderr
    assert not (tmp_path / "out").exists()


# 5. split lists ------------------------------------------------------------------------


def manifest_outputs(out: Path) -> dict[str, str]:
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    return {o["file"]: o["sha256"] for o in manifest["outputs"]}


def test_split_tier_lists_and_rerun_replaces_them(tmp_path: Path) -> None:
    out = tmp_path / "out"
    args = write_inputs(tmp_path / "one", BRANCH_TXNS)
    done = tierscore(*args, "--split", "tier", "--out", str(out))
    assert done.returncode == 0, done.stderr
    scores = read_text_csv(out / "scores.csv")
    files = sorted(p.name for p in (out / "by_tier").iterdir())
    assert files == sorted(f"{t}.csv" for t in ("六星级", "五星级", "四星级", "三星级", "准星级"))
    listed = manifest_outputs(out)
    for name in files:
        part = read_text_csv(out / "by_tier" / name)
        assert part.equals(scores.filter(pl.col("tier") == name.removesuffix(".csv")))
        digest = hashlib.sha256((out / "by_tier" / name).read_bytes()).hexdigest()
        assert listed[f"by_tier/{name}"] == digest
    assert sum(read_text_csv(out / "by_tier" / n).height for n in files) == scores.height

    args = write_inputs(tmp_path / "two", [pos("B", "12500"), pos("B2", "15000")])
    done = tierscore(*args, "--split", "tier", "--out", str(out))
    assert done.returncode == 0, done.stderr
    assert [p.name for p in (out / "by_tier").iterdir()] == ["四星级.csv"]
    assert read_text_csv(out / "by_tier" / "四星级.csv")["customer_id"].to_list() == ["B", "B2"]
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".tierscore-")] == []
    assert not [p for p in out.iterdir() if p.name.startswith("old-")]
    assert not list(out.glob(".runs/.staging-*"))


def test_split_branch_safe_folder_names(tmp_path: Path) -> None:
    people = [customer("A", "朝阳/东区", "M1"), customer("B", "朝阳/东区", "M1"),
              customer("C", "海淀支行", "M2")]  # fmt: skip
    cust = write_csv(tmp_path / "cust.csv", CUSTOMER_COLUMNS, people)
    txns = [pos("A", "50000"), pos("B", "12500"), pos("C", "12600"), pos("D", "1")]
    out = tmp_path / "out"
    done = tierscore(*write_inputs(tmp_path, txns), "--customers", str(cust),
                     "--split", "branch", "--out", str(out))  # fmt: skip
    assert done.returncode == 0, done.stderr
    found = sorted(p.relative_to(out).as_posix() for p in (out / "by_branch").rglob("*.csv"))
    assert found == sorted([
        "by_branch/未分配/准星级.csv",  # D is in no branch
        "by_branch/朝阳_东区/五星级.csv",
        "by_branch/朝阳_东区/四星级.csv",
        "by_branch/海淀支行/四星级.csv",
    ])  # fmt: skip
    part = read_text_csv(out / "by_branch" / "朝阳_东区" / "四星级.csv")
    scores = read_text_csv(out / "scores.csv")
    assert part.equals(scores.filter(pl.col("customer_id") == "B"))
    assert part["branch"].to_list() == ["朝阳/东区"]  # the data keeps the real name
    assert set(found) <= set(manifest_outputs(out))


def test_split_branch_names_that_would_share_a_folder_stop(tmp_path: Path) -> None:
    """朝阳/东区 and 朝阳:东区 both make 朝阳_东区: one manager would get both lists."""
    people = [customer("A", "朝阳/东区", "M1"), customer("B", "朝阳:东区", "M2")]
    cust = write_csv(tmp_path / "cust.csv", CUSTOMER_COLUMNS, people)
    out = tmp_path / "out"
    done = tierscore(*write_inputs(tmp_path, [pos("A", "1"), pos("B", "2")]),
                     "--customers", str(cust), "--split", "branch", "--out", str(out))  # fmt: skip
    assert done.returncode == 2
    assert "朝阳/东区" in done.stderr and "朝阳:东区" in done.stderr
    assert not (out / "by_branch").exists()


def test_a_run_takes_away_the_earlier_runs_extras(tmp_path: Path) -> None:
    """A plain run after one with --split, --xlsx and parquet leaves only its own files."""
    inputs = write_inputs(tmp_path, [pos("A", "50000"), pos("B", "1")])
    out = tmp_path / "out"
    first = tierscore(*inputs, "--split", "tier", "--xlsx", "--format", "parquet",
                      "--out", str(out))  # fmt: skip
    assert first.returncode == 0, first.stderr
    assert (out / "by_tier").is_dir() and (out / "scores.xlsx").exists()
    second = tierscore(*inputs, "--no-report", "--out", str(out))
    assert second.returncode == 0, second.stderr
    names = sorted(p.name for p in out.iterdir() if p.name not in (".runs", "current"))
    assert names == [
        "manifest.json",
        "rejects.csv",
        "scores.csv",
        "summary.json",
        "unmapped_codes.csv",
    ]
    assert sorted(manifest_outputs(out)) == [n for n in names if n != "manifest.json"]
    assert not list(tmp_path.glob(".tierscore-*")) and not list(out.glob(".runs/.staging-*"))


@pytest.mark.parametrize(
    "extra",
    [["--split", "branch"], ["--split", "foo"], ["--split", "tier", "--out", "-"]],
    ids=["branch-without-customers", "unknown", "stdout"],
)
def test_split_usage_errors_exit_2(tmp_path: Path, extra: list[str]) -> None:
    out = ["--out", str(tmp_path / "out")] if "--out" not in extra else []
    done = tierscore(*write_inputs(tmp_path, [pos("A", "1")]), *extra, *out)
    assert done.returncode == 2 and "--split" in done.stderr
    assert done.stdout == "" and not (tmp_path / "out").exists()


# 6. and 7. workbook and report ---------------------------------------------------------


def sheets_of(xlsx: Path) -> tuple[list[str], int]:
    """Sheet names in order, and the number of rows of the first sheet."""
    with zipfile.ZipFile(xlsx) as book:
        workbook = book.read("xl/workbook.xml").decode("utf-8")
        first = book.read("xl/worksheets/sheet1.xml").decode("utf-8")
    return re.findall(r'<sheet name="([^"]+)"', workbook), first.count("<row ")


def test_workbook_and_report_with_customers_and_previous(tmp_path: Path) -> None:
    cust = write_csv(tmp_path / "cust.csv", CUSTOMER_COLUMNS, BRANCH_CUSTOMERS)
    previous = write_csv(tmp_path / "prev.csv", ("customer_id", "tier"), [("X", "六星级")])
    out = tmp_path / "out"
    done = tierscore(*write_inputs(tmp_path, BRANCH_TXNS), "--customers", str(cust),
                     "--previous", str(previous), "--xlsx", "--out", str(out))  # fmt: skip
    assert done.returncode == 0, done.stderr
    names, rows = sheets_of(out / "scores.xlsx")
    assert names == ["scores", "summary", "by_branch", "by_manager", "migration"]
    assert rows == read_text_csv(out / "scores.csv").height + 1 == 10  # 8 scored, X gone
    html = (out / "report.html").read_text(encoding="utf-8")
    assert "<svg" in html and 'charset="utf-8"' in html
    assert all(label in html for label in TIERS)
    assert 'id="migration"' in html and "朝阳支行" in html
    outside = re.sub(r'xmlns(:\w+)?="[^"]*"', "", html)
    assert "http://" not in outside and "https://" not in outside
    assert {"report.html", "scores.xlsx"} <= set(manifest_outputs(out))


def test_workbook_without_customers_and_no_report(tmp_path: Path) -> None:
    out = tmp_path / "out"
    done = tierscore(*write_inputs(tmp_path, BRANCH_TXNS), "--xlsx", "--no-report",
                     "--out", str(out))  # fmt: skip
    assert done.returncode == 0, done.stderr
    names, rows = sheets_of(out / "scores.xlsx")
    assert names == ["scores", "summary"] and rows == 9
    assert not (out / "report.html").exists()
    assert "report.html" not in manifest_outputs(out)


# 8. the shipped sample -----------------------------------------------------------------


def test_sample_split_by_branch(tmp_path: Path) -> None:
    out = tmp_path / "out"
    done = tierscore(
        "--balances", str(SAMPLE / "balances.csv"),
        "--transactions", str(SAMPLE / "transactions.csv"),
        "--customers", str(SAMPLE / "customers.csv"),
        "--period", "2026H1", "--split", "branch", "--out", str(out),
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    branches = set(pl.read_csv(SAMPLE / "customers.csv", infer_schema=False)["branch"].drop_nulls())
    folders = {p.name for p in (out / "by_branch").iterdir() if p.is_dir()}
    assert branches and branches <= folders and folders - branches <= {"未分配"}
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    assert branches <= {g["branch"] for g in summary["by_branch"]}
