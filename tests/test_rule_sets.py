"""The other schemes of the seeds as shipped rule sets: card tiers, pyramid, service policy."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pytest

from tierscore.scoring.pipeline import Job, Result, run
from tierscore.scoring.window import parse_window

from .conftest import BAL_COLUMNS, TXN_COLUMNS, tierscore_here, txn_rows, write_csv

D = Decimal
ROOT = Path(__file__).resolve().parent.parent


def score(tmp_path: Path, rules: str, balances: list, transactions: list = ()) -> Result:
    bal = write_csv(tmp_path / "b.csv", BAL_COLUMNS, balances)
    txn = write_csv(tmp_path / "t.csv", TXN_COLUMNS, txn_rows(transactions))
    return run(Job(str(bal), str(txn), parse_window("2026H1"), rules))


def rows(result: Result) -> dict[str, dict]:
    return {r["customer_id"]: r for r in result.scores.iter_rows(named=True)}


def test_card_tier_scores_assets_in_yuan(tmp_path: Path) -> None:
    balances = [
        ("GOLD", "A", "CURRENT", "2025-12-31", "60000.00"),
        ("GOLD", "B", "TIME", "2025-12-31", "40000.00"),  # 100,000 exactly: 金卡
        ("JUST_BELOW", "C", "CURRENT", "2025-12-31", "99999.99"),
        ("BLACK", "D", "WEALTH", "2025-12-31", "1000000.00"),
        ("DIAMOND", "E", "FUND", "2025-12-31", "10000000.00"),
        ("PLAT", "F", "TIME", "2026-04-01", "600000.00"),  # 91 days: 301,657.46
        ("LOAN", "G", "MORTGAGE", "2025-12-31", "5000000.00"),  # not an asset
    ]
    result = score(tmp_path, "card-tier", balances, [("GOLD", "2026-02-01", "POS", "9999.00")])
    got = rows(result)
    assert {k: v["tier"] for k, v in got.items()} == {
        "GOLD": "金卡", "JUST_BELOW": "普通卡", "BLACK": "黑金卡", "DIAMOND": "钻石卡",
        "PLAT": "白金卡", "LOAN": "普通卡",
    }  # fmt: skip
    assert got["GOLD"]["points"] == D("100000.00")
    assert got["PLAT"]["points"] == D("301657.46")
    assert got["DIAMOND"]["service"] == "private banking (私人银行)"
    assert "card_spending_points" not in result.scores.columns
    rows_ = result.summary["rows"]
    assert rows_["transactions"]["excluded"] == 1 and rows_["transactions"]["unmapped"] == 0
    assert rows_["balances"]["excluded"] == 1  # the mortgage


def _pyramid(tmp_path: Path, points: list[int]) -> dict[str, dict]:
    """One customer per entry with exactly that many points (card spending: 25 yuan a point)."""
    txns = [(f"C{i:03d}", "2026-03-01", "POS", f"{p * 25}.00") for i, p in enumerate(points)]
    return rows(score(tmp_path, "pyramid", [], txns))


def test_pyramid_bands_by_rank(tmp_path: Path) -> None:
    got = _pyramid(tmp_path, list(range(200, 0, -1)))  # 200 customers, distinct points
    tiers = [got[f"C{i:03d}"]["tier"] for i in range(200)]
    # ceil(1% x 200) = 2, ceil(20%) = 40, ceil(50%) = 100
    assert tiers[:2] == ["重要客户"] * 2
    assert tiers[2:40] == ["次要客户"] * 38
    assert tiers[40:100] == ["普通客户"] * 60
    assert tiers[100:] == ["小客户"] * 100
    assert got["C002"]["next_tier"] == "重要客户"
    # seed 002's 关键客户: 重要客户 and 次要客户 together, the top 20%
    assert [got[f"C{i:03d}"]["key_customer"] for i in range(200)] == [True] * 40 + [False] * 160
    assert got["C002"]["points_to_next"] == D("1.00")  # 198 -> 199 ties the last key customer
    assert got["C000"]["follow_up"] == "每周 (weekly)"
    assert got["C199"]["follow_up"] is None


def test_pyramid_ties_share_the_best_rank(tmp_path: Path) -> None:
    # 10 customers: ceil(1% x 10) = 1, ceil(20%) = 2, ceil(50%) = 5
    points = [100, 90, 90, 90, 50, 50, 40, 30, 30, 10]
    got = _pyramid(tmp_path, points)
    tiers = [got[f"C{i:03d}"]["tier"] for i in range(10)]
    # ranks: 1, 2, 2, 2, 5, 5, 7, 8, 8, 10
    assert tiers == ["重要客户", "次要客户", "次要客户", "次要客户", "普通客户", "普通客户",
                     "小客户", "小客户", "小客户", "小客户"]  # fmt: skip


def test_concentration_in_summary(tmp_path: Path) -> None:
    txns = [("A", "2026-03-01", "POS", "2000.00"), ("B", "2026-03-01", "POS", "1000.00")]
    txns += [(f"S{i}", "2026-03-01", "POS", "250.00") for i in range(4)]  # 4 x 10 points
    result = score(tmp_path, "icbc-star", [], txns)
    # points 80, 40, 10 x 4 = 160 in all; 80% = 128: A + B + 1 small = 130 -> 3 customers
    # the curve: best first, cumulative share of points at each customer (n = 6 < 100 cuts)
    curve = [[0.0, 0.0], [0.1667, 0.5], [0.3333, 0.75], [0.5, 0.8125], [0.6667, 0.875],
             [0.8333, 0.9375], [1.0, 1.0]]  # fmt: skip
    assert result.summary["concentration"] == {
        "points_share": 0.8, "customers": 3, "customers_share": 0.5, "curve": curve,
    }  # fmt: skip


@pytest.mark.parametrize("rules", ["card-tier", "pyramid"])
def test_shipped_rule_sets_score_sample_data(tmp_path: Path, rules: str) -> None:
    done = tierscore_here(
        "score", "--balances", str(ROOT / "sample_data" / "balances.csv"),
        "--transactions", str(ROOT / "sample_data" / "transactions.csv"),
        "--period", "2026H1", "--rules", rules, "--out", str(tmp_path),
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    summary = json.loads((tmp_path / "summary.json").read_text(encoding="utf-8"))
    assert summary["ruleset"]["name"] == rules
    assert summary["customers"] == 285
    counts = [t["customers"] for t in summary["tiers"]]
    if rules == "pyramid":
        assert counts == [3, 54, 86, 142]  # ceil(2.85) = 3, ceil(57) = 57, ceil(142.5) = 143
        assert summary["key_group"] == {
            "label": "关键客户", "tiers": ["重要客户", "次要客户"], "customers": 57, "share": 0.2,
        }  # fmt: skip
        report = (tmp_path / "report.html").read_text(encoding="utf-8")
        assert "关键客户（重要客户 + 次要客户）：57 位客户，占全部客户的 20.0%。" in report
    else:
        assert sum(counts) == 285 and counts[-1] > 0


def test_rules_list_names_every_shipped_set() -> None:
    done = tierscore_here("rules", "list")
    assert done.returncode == 0
    for name in ("icbc-star", "icbc-star-strict", "card-tier", "pyramid"):
        assert name in done.stdout


def test_quality_gates_block_quality_not_the_tier(tmp_path: Path) -> None:
    rich = [(c, f"{c}-A", "TIME", "2025-12-31", "500000.00")  # 5,000 points: 五星级
            for c in ("OK", "OVERDUE", "RUN3", "TOTAL6", "TOTAL5", "ALL", "NOINFO")]  # fmt: skip
    bal = write_csv(tmp_path / "b.csv", BAL_COLUMNS, rich)
    txn = write_csv(tmp_path / "t.csv", TXN_COLUMNS, [])
    people = tmp_path / "customers.csv"
    people.write_text(
        "customer_id,branch,overdue_90d,missed_consecutive,missed_total\n"
        "OK,A,false,0,0\nOVERDUE,A,是,0,0\nRUN3,A,false,3,3\nTOTAL6,B,no,1,6\n"
        "TOTAL5,B,0,2,5\nALL,B,TRUE,4,7\n",
        encoding="utf-8",
    )
    result = run(Job(str(bal), str(txn), parse_window("2026H1"), customers=str(people)))
    got = rows(result)
    assert all(r["tier"] == "五星级" for r in got.values())
    assert {k: r["quality"] for k, r in got.items()} == {
        "OK": True, "OVERDUE": False, "RUN3": False, "TOTAL6": False, "TOTAL5": True,
        "ALL": False, "NOINFO": True,
    }  # fmt: skip
    assert got["ALL"]["quality_blocked_by"] == "overdue_90d;missed_consecutive;missed_total"
    assert got["RUN3"]["quality_blocked_by"] == "missed_consecutive"
    assert got["OK"]["quality_blocked_by"] is None
    assert result.summary["quality_customers"] == 3
    assert result.summary["quality_gates"]["by_gate"] == {
        "overdue_90d": 2, "missed_consecutive": 2, "missed_total": 2, "unknown": 0,
    }  # fmt: skip
    assert result.summary["rows"]["customers"]["used"] == 6


def test_gates_without_customers_file_are_reported_not_applied(tmp_path: Path) -> None:
    result = score(tmp_path, "icbc-star", [("X", "A", "TIME", "2025-12-31", "500000.00")])
    assert rows(result)["X"]["quality"] is True
    assert "quality_blocked_by" not in result.scores.columns
    assert result.summary["quality_gates"]["evaluated"] is False


def test_bad_customer_rows_are_rejected(tmp_path: Path) -> None:
    bal = write_csv(tmp_path / "b.csv", BAL_COLUMNS, [("X", "A", "TIME", "2025-12-31", "1.00")])
    txn = write_csv(tmp_path / "t.csv", TXN_COLUMNS, [])
    people = tmp_path / "customers.csv"
    people.write_text(
        "customer_id,overdue_90d,missed_consecutive,missed_total\n"
        "X,maybe,0,0\nY,false,-1,0\nZ,false,0,0\nZ,true,0,0\n",
        encoding="utf-8",
    )
    result = run(Job(str(bal), str(txn), parse_window("2026H1"), customers=str(people)))
    got = {(r["line"], r["column"]): r["reason"] for r in result.rejects.iter_rows(named=True)}
    assert got == {
        (2, "overdue_90d"): "not true or false",
        (3, "missed_consecutive"): "negative missed_consecutive",
        (4, "customer_id"): "conflicting rows for the same customer_id",
        (5, "customer_id"): "conflicting rows for the same customer_id",
    }
    assert result.summary["rows"]["customers"]["rejected"] == 4


def test_missing_gate_column_names_it(tmp_path: Path) -> None:
    bal = write_csv(tmp_path / "b.csv", BAL_COLUMNS, [])
    txn = write_csv(tmp_path / "t.csv", TXN_COLUMNS, [])
    people = tmp_path / "customers.csv"
    people.write_text("customer_id,overdue_90d\nX,false\n", encoding="utf-8")
    done = tierscore_here(
        "score", "--balances", str(bal), "--transactions", str(txn),
        "--customers", str(people), "--period", "2026H1", "--out", "-",
    )  # fmt: skip
    assert done.returncode == 2
    assert "missing required column(s): missed_consecutive, missed_total" in done.stderr


def test_weighted_grade_reproduces_the_seed_example(tmp_path: Path) -> None:
    """(90 x 50% + 70 x 50%) x 1.05 = 84: assets band 90, activity band 70, a mortgage."""
    balances = [
        ("SEED", "A", "TIME", "2025-12-31", "1000000.00"),  # assets 1,000,000: 90
        ("SEED", "M", "MORTGAGE", "2025-12-31", "300000.00"),  # the bonus condition
        ("NOBONUS", "B", "TIME", "2025-12-31", "1000000.00"),
        ("EDGE", "C", "CURRENT", "2025-12-31", "49999.99"),  # just under 50,000: 60
    ]
    txns = [
        ("SEED", "2026-03-01", "POS", "20000.00"),  # activity 20,000: 70
        ("NOBONUS", "2026-03-01", "POS", "20000.00"),
        ("EDGE", "2026-03-01", "FX_TRADE", "500000.00"),  # activity 500,000: 90
    ]
    got = rows(score(tmp_path, "weighted-grade", balances, txns))
    seed = got["SEED"]
    assert (seed["assets_score"], seed["activity_score"]) == (D("90.00"), D("70.00"))
    assert seed["bonus"] is True
    assert seed["points"] == D("84.00") and seed["tier"] == "B"
    assert got["NOBONUS"]["points"] == D("80.00") and got["NOBONUS"]["tier"] == "B"
    assert got["EDGE"]["points"] == D("75.00") and got["EDGE"]["tier"] == "C"
    assert got["EDGE"]["points_to_next"] == D("5.00")
    assert "short_term_assets_points" not in got["SEED"]


WEIGHTED = (ROOT / "rules" / "weighted-grade.toml").read_text(encoding="utf-8")


@pytest.mark.parametrize(
    ("edit", "key"),
    [
        (("weight = 0.5\nbands", "weight = 0.6\nbands"), "indicators"),
        (("{ min = 50000, score = 70 }", "{ min = 5000, score = 70 }"),
         "indicators[0].bands[2].min"),
        (("[\n    { min = 0, score = 0 }", "[\n    { min = 1, score = 0 }"),
         "indicators[0].bands[0].min"),
        (('component = "mortgage"', 'component = "boat"'), "bonus.component"),
        (('components = ["short_term_assets", "long_term_assets"]\nweight',
          'components = ["short_term_assets", "yacht"]\nweight'), "indicators[0].components"),
    ],
)  # fmt: skip
def test_malformed_weighted_rules(tmp_path: Path, edit: tuple[str, str], key: str) -> None:
    from tierscore.scoring.errors import ConfigError
    from tierscore.scoring.rules import load_rules

    old, new = edit
    assert old in WEIGHTED
    path = tmp_path / "bad.toml"
    path.write_text(WEIGHTED.replace(old, new, 1), encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_rules(str(path))
    assert caught.value.key == key


def test_customers_headers_through_the_mapping(tmp_path: Path) -> None:
    bal = write_csv(
        tmp_path / "b.csv", BAL_COLUMNS, [("X", "A", "TIME", "2025-12-31", "500000.00")]
    )
    txn = write_csv(tmp_path / "t.csv", TXN_COLUMNS, [])
    people = tmp_path / "客户.csv"
    people.write_text("客户号,逾期90天,连续未还,累计未还\nX,是,0,0\n", encoding="gb18030")
    mapping = tmp_path / "columns.toml"
    mapping.write_text(
        '[customers]\ncustomer_id = "客户号"\noverdue_90d = "逾期90天"\n'
        'missed_consecutive = "连续未还"\nmissed_total = "累计未还"\n',
        encoding="utf-8",
    )
    done = tierscore_here(
        "score", "--balances", str(bal), "--transactions", str(txn),
        "--customers", str(people), "--columns", str(mapping), "--period", "2026H1",
        "--out", "-", "--quiet",
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    header, row = done.stdout.splitlines()
    record = dict(zip(header.split(","), row.split(","), strict=True))
    assert (record["tier"], record["quality"]) == ("五星级", "false")
    assert record["quality_blocked_by"] == "overdue_90d"


@pytest.mark.parametrize(
    ("name", "shown"),
    [
        ("weighted-grade", ["assets", "activity", "bonus: x 1.05 when mortgage > 0"]),
        ("icbc-star", ["missed_consecutive", ">= 3", "settlement"]),
        ("pyramid", ["top 1.00%", "每周 (weekly)", "the rest"]),
    ],
)
def test_rules_show_prints_what_the_file_declares(name: str, shown: list[str]) -> None:
    done = tierscore_here("rules", "show", name)
    assert done.returncode == 0
    for text in shown:
        assert text in done.stdout, text
