"""Scoring by person or household: ``--parties FILE`` and ``--score-by``.

Hand-computed on icbc-star (中长期资产 TIME: 100 points per 10,000 yuan of daily
average; 2026H1 has 181 days; 五星级 from 2,000 points, 四星级 from 500):

- C1 holds 200,000.00 yuan for 100 days (01-01..04-10): 20,000,000 yuan-days, a
  daily average of 110,497.24 (1,104.97 points): 四星级 alone.
- C2 holds 200,000.00 yuan for 81 days (04-11..06-30): 16,200,000 yuan-days, 89,502.76
  (895.03 points): 四星级 alone.
- Person P1 owns both: 36,200,000 / 181 = 200,000.00 exactly, 2,000.00 points, exactly
  on 五星级's bound, which neither number reaches alone (and whose shown points,
  1,104.97 + 895.03, only add up to it by the rounding of each).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import polars as pl
import pytest

from tierscore.scoring.errors import ConfigError, InputError
from tierscore.scoring.parties import (
    KIND,
    NUMERATOR,
    TWO_HOUSEHOLDS,
    TWO_PARTIES,
    UNIT,
    unit_attributes,
)
from tierscore.scoring.pipeline import Job, Result, run
from tierscore.scoring.plan import compile_plan
from tierscore.scoring.rules import load_rules
from tierscore.scoring.window import parse_window

from .conftest import BAL_COLUMNS, TXN_COLUMNS, Row, tierscore_here, txn_rows, write_csv

PARTY_COLUMNS = ("customer_id", "party_id", "household_id")
CUSTOMER_COLUMNS = ("customer_id", "branch", "manager", "overdue_90d", "missed_consecutive",
                    "missed_total")  # fmt: skip
H1 = parse_window("2026H1")


def time_deposit(customer: str, yuan: str, start: str, end: str | None = None) -> list[Row]:
    """A TIME account of ``customer`` holding ``yuan`` from ``start`` (and closed on
    ``end``, when given)."""
    account = f"A-{customer}-{start}"
    rows: list[Row] = [(customer, account, "TIME", start, yuan)]
    return rows + ([(customer, account, "TIME", end, "0")] if end else [])


BALANCES = [
    *time_deposit("C1", "200000.00", "2026-01-01", "2026-04-11"),  # 100 days
    *time_deposit("C2", "200000.00", "2026-04-11"),  # 81 days
]


def export(
    folder: Path,
    balances: list[Row],
    parties: list[Row] | None = None,
    transactions: list[Row] = (),  # type: ignore[assignment]
    customers: list[Row] | None = None,
) -> dict[str, str]:
    """The files of one run in ``folder`` (made if missing), by option name."""
    folder.mkdir(parents=True, exist_ok=True)
    files = {
        "balances": write_csv(folder / "bal.csv", BAL_COLUMNS, balances),
        "transactions": write_csv(folder / "txn.csv", TXN_COLUMNS, txn_rows(transactions)),
    }
    if parties is not None:
        width = max((len(r) for r in parties), default=3)
        files["parties"] = write_csv(folder / "parties.csv", PARTY_COLUMNS[:width], parties)
    if customers is not None:
        files["customers"] = write_csv(folder / "customers.csv", CUSTOMER_COLUMNS, customers)
    return {name: str(path) for name, path in files.items()}


def scored(files: dict[str, str], by: str = "party", **job: Any) -> Result:
    """The library's run of ``files`` by ``by``."""
    given = Job(files["balances"], files["transactions"], H1, **job)
    given.parties = (files["parties"],) if "parties" in files else None
    given.score_by = by
    if "customers" in files:
        given.customers = (files["customers"],)
    return run(given)


def rows_of(result: Result, key: str) -> dict[str, dict[str, Any]]:
    return {row[key]: row for row in result.scores.iter_rows(named=True)}


def test_two_numbers_of_one_person_reach_the_tier_neither_reaches(tmp_path: Path) -> None:
    files = export(tmp_path, BALANCES, [("C1", "P1"), ("C2", "P1")])
    alone = rows_of(_by_customer(files), "customer_id")
    assert str(alone["C1"]["points"]) == "1104.97" and alone["C1"]["tier"] == "四星级"
    assert str(alone["C2"]["points"]) == "895.03" and alone["C2"]["tier"] == "四星级"
    result = scored(files)
    units = rows_of(result, "party_id")
    assert list(units) == ["P1"]
    p1 = units["P1"]
    assert (p1["customer_ids"], p1["customers"]) == ("C1;C2", 2)
    assert str(p1["long_term_assets_amount"]) == "200000.00"
    assert str(p1["points"]) == "2000.00"
    assert p1["tier"] == "五星级"  # exactly on the bound: the upper tier
    assert result.summary["customers"] == 1
    assert result.summary["units"] == {
        "by": "party",
        "column": "party_id",
        "units": 1,
        "multi_customer_units": 1,
        "customers": 2,
        "customers_unmapped": 0,
        "customers_rejected": 0,
    }


def _by_customer(files: dict[str, str]) -> Result:
    return run(Job(files["balances"], files["transactions"], H1))


def test_one_cent_day_short_stays_below(tmp_path: Path) -> None:
    """C2's last day a cent short: the unit is 0.01 yuan-days below the bound."""
    short = [*BALANCES, ("C2", "A-C2-2026-04-11", "TIME", "2026-06-30", "199999.99")]
    result = scored(export(tmp_path, short, [("C1", "P1"), ("C2", "P1")]))
    p1 = rows_of(result, "party_id")["P1"]
    assert p1["tier"] == "四星级"
    assert str(p1["points"]) == "2000.00"  # rounded for show, not for the tier
    assert str(p1["points_to_next"]) == "0.01"


def test_weighted_bands_read_the_units_sums(tmp_path: Path) -> None:
    """weighted-grade: each number's assets (110,497.24 and 89,502.76) score the 50,000
    band, 70; the person's 200,000.00 the 200,000 band, 80: 0.5 x 80 = 40 points, not
    the numbers' 35 + 35. C2's mortgage gives the person the 1.05 bonus: 42.00."""
    balances = [*BALANCES, ("C2", "M-C2", "MORTGAGE", "2026-01-01", "1000.00")]
    files = export(tmp_path, balances, [("C1", "P1"), ("C2", "P1")])
    alone = run(Job(files["balances"], files["transactions"], H1, rules="weighted-grade"))
    numbers = rows_of(alone, "customer_id")
    assert [str(numbers[c]["points"]) for c in ("C1", "C2")] == ["35.00", "36.75"]
    p1 = rows_of(scored(files, rules="weighted-grade"), "party_id")["P1"]
    assert (str(p1["assets_score"]), p1["bonus"], str(p1["points"])) == ("80.00", True, "42.00")


def test_scores_columns_start_with_the_unit(tmp_path: Path) -> None:
    customers = [("C1", "朝阳", "M1", "false", 0, 0), ("C2", "海淀", "M2", "false", 0, 0)]
    files = export(tmp_path, BALANCES, [("C1", "P1"), ("C2", "P1")], customers=customers)
    by_unit = scored(files).scores.columns
    by_number = _by_customer(files).scores.columns
    assert by_unit[:5] == ["party_id", "customer_ids", "customers", "branch", "manager"]
    assert by_number[0] == "customer_id" and "customer_ids" not in by_number
    # the rest is the usual table, in its usual order
    usual = run(Job(files["balances"], files["transactions"], H1, customers=(files["customers"],)))
    assert by_unit[3:] == usual.scores.columns[1:]


def test_household_rolls_up_parties(tmp_path: Path) -> None:
    """H1 holds P1 (C1, C2) and P2 (C3, and C6 whose row names no household: its
    party's); P3 names no household and is its own unit; C5 is not in the file."""
    balances = [
        *BALANCES,
        *time_deposit("C3", "100000.00", "2025-12-31"),  # 1,000 points
        *time_deposit("C6", "181.00", "2026-06-30"),  # 1 day: 1.00 yuan, 0.01 points
        *time_deposit("C4", "50000.00", "2025-12-31"),  # 500 points
        *time_deposit("C5", "10000.00", "2025-12-31"),  # 100 points
    ]
    parties = [
        ("C1", "P1", "H1"),
        ("C2", "P1", ""),
        ("C3", "P2", "H1"),
        ("C6", "P2", ""),
        ("C4", "P3", ""),
        ("C9", "P9", "H9"),  # a number with no rows in the inputs: no unit
    ]
    result = scored(export(tmp_path, balances, parties), "household")
    units = rows_of(result, "household_id")
    assert list(units) == ["C5", "H1", "P3"]
    h1 = units["H1"]
    assert (h1["customer_ids"], h1["customers"]) == ("C1;C2;C3;C6", 4)
    assert str(h1["long_term_assets_amount"]) == "300001.00"
    assert str(h1["points"]) == "3000.01"
    assert (units["P3"]["customer_ids"], str(units["P3"]["points"])) == ("C4", "500.00")
    assert (units["C5"]["customer_ids"], units["C5"]["customers"]) == ("C5", 1)
    found = result.summary["units"]
    assert found["by"] == "household" and found["column"] == "household_id"
    assert (found["units"], found["customers"], found["customers_unmapped"]) == (3, 6, 1)
    assert found["customers_rejected"] == 0 and found["multi_customer_units"] == 1
    # by party, the same file: households are not read
    by_party = rows_of(scored(export(tmp_path, balances, parties), "party"), "party_id")
    assert list(by_party) == ["C5", "P1", "P2", "P3"]
    assert str(by_party["P1"]["points"]) == "2000.00"


def test_a_party_in_two_households_is_rejected(tmp_path: Path) -> None:
    balances = [*BALANCES, *time_deposit("C3", "10000.00", "2025-12-31")]
    parties = [("C1", "P1", "H1"), ("C2", "P1", "H2"), ("C3", "P3", "H1")]
    result = scored(export(tmp_path, balances, parties), "household")
    lines = result.rejects.filter(pl.col("reason") == TWO_HOUSEHOLDS)
    assert sorted(lines["value"].to_list()) == ["H1", "H2"]
    assert set(lines["column"]) == {"household_id"} and sorted(lines["line"]) == [2, 3]
    units = rows_of(result, "household_id")
    assert list(units) == ["H1"] and units["H1"]["customer_ids"] == "C3"
    assert result.summary["units"]["customers_rejected"] == 2
    assert result.summary["rows"]["parties"]["rejected"] == 2


def test_a_refused_number_names_no_household(tmp_path: Path) -> None:
    """C1's second row has no party: C1 is not scored, and its household H2 does not
    split P1, which C2 places in H1."""
    parties = [("C1", "P1", "H2"), ("C1", "", "H2"), ("C2", "P1", "H1")]
    result = scored(export(tmp_path, BALANCES, parties), "household")
    assert result.scores.select("household_id", "customer_ids").rows() == [("H1", "C2")]
    assert result.rejects["reason"].to_list() == ["empty party_id"]
    assert result.summary["units"]["customers_rejected"] == 1


def test_a_number_mapped_to_two_parties_is_not_scored(tmp_path: Path) -> None:
    balances = [*BALANCES, *time_deposit("C3", "10000.00", "2025-12-31")]
    parties = [("C1", "P1"), ("C2", "P1"), ("C1", "P2"), ("C3", "P3"), ("C3", "P3")]
    result = scored(export(tmp_path, balances, parties))
    units = rows_of(result, "party_id")
    assert list(units) == ["P1", "P3"]  # C1 went nowhere: not to P1, not to P2
    assert units["P1"]["customer_ids"] == "C2" and str(units["P1"]["points"]) == "895.03"
    lines = result.rejects.filter(pl.col("reason") == TWO_PARTIES)
    assert lines.select("line", "column", "value").rows() == [(2, "party_id", "P1"),
                                                              (4, "party_id", "P2")]  # fmt: skip
    assert result.rejects.height == 2
    assert result.summary["units"]["customers_rejected"] == 1
    assert result.summary["rows"]["parties"] == {
        "read": 5, "used": 2, "excluded": 0, "unmapped": 0, "outside_window": 0,
        "duplicate": 1, "rejected": 2,
    }  # fmt: skip
    # the balances' own accounting is unchanged: C1's rows were valid
    assert result.summary["rows"]["balances"]["rejected"] == 0


def test_conflicts_past_the_reject_rate_exit_3(tmp_path: Path) -> None:
    parties = [("C1", "P1"), ("C2", "P1"), ("C1", "P2")]
    files = export(tmp_path, BALANCES, parties)
    args = ["score", "-b", files["balances"], "-t", files["transactions"], "-p", "2026H1",
            "--parties", files["parties"], "--score-by", "party"]  # fmt: skip
    stopped = tierscore_here(*args, "--out", tmp_path / "out")
    assert stopped.returncode == 3, stopped.stderr
    assert "parties: 2 of 3 rows" in stopped.stderr
    assert not (tmp_path / "out" / "scores.csv").exists()
    rejects = pl.read_csv(tmp_path / "out" / "rejects.csv")
    assert rejects["reason"].to_list() == [TWO_PARTIES, TWO_PARTIES]
    allowed = tierscore_here(*args, "--max-reject-rate", "1", "--out", tmp_path / "ok")
    assert allowed.returncode == 0, allowed.stderr
    scores = pl.read_csv(tmp_path / "ok" / "scores.csv")
    assert scores["party_id"].to_list() == ["P1"] and scores["customer_ids"].to_list() == ["C2"]


def test_branch_is_the_number_with_most_points(tmp_path: Path) -> None:
    """P1: C1 1,104.97 points (朝阳) beats C2 895.03 (海淀). P2: C3 and C4 tie, C3 is the
    smaller id; C4 has the blemish, which still blocks P2."""
    balances = [
        *BALANCES,
        *time_deposit("C4", "100000.00", "2025-12-31"),
        *time_deposit("C3", "100000.00", "2025-12-31"),
    ]
    customers = [
        ("C2", "海淀", "M2", "false", 0, 0),
        ("C1", "朝阳", "M1", "false", 2, 1),
        ("C4", "西城", "M4", "true", 2, 7),
        ("C3", "东城", "M3", "false", 2, 0),
    ]
    parties = [("C4", "P2"), ("C1", "P1"), ("C2", "P1"), ("C3", "P2")]
    result = scored(export(tmp_path, balances, parties, customers=customers))
    units = rows_of(result, "party_id")
    assert (units["P1"]["branch"], units["P1"]["manager"]) == ("朝阳", "M1")
    assert (units["P2"]["branch"], units["P2"]["manager"]) == ("东城", "M3")
    # gates read the worst of the numbers: a flag on any, the largest count (2 + 2
    # consecutive misses on two numbers are not 3 in a row)
    assert units["P2"]["overdue_90d"] is True
    assert (units["P2"]["missed_consecutive"], units["P2"]["missed_total"]) == (2, 7)
    assert units["P2"]["quality_blocked_by"] == "overdue_90d;missed_total"
    assert units["P1"]["quality"] is True and units["P1"]["quality_blocked_by"] is None
    branches = {b["branch"]: b["customers"] for b in result.summary["by_branch"]}
    assert branches == {"朝阳": 1, "东城": 1}


def test_unit_attributes_take_the_worst_gate_and_best_floor() -> None:
    """Flags: set on any number, else unset if any says so, else unknown; counts: the
    largest; the card_level floor (白金卡 六星级 over 金卡 五星级): the value meeting the
    highest floor, else the lead's; other columns: the lead's."""
    plan = compile_plan(load_rules("icbc-star"), H1)
    numbers = pl.DataFrame(
        {
            "customer_id": ["a", "b", "c", "d", "e", "f"],
            UNIT: ["U", "U", "U", "V", "V", "W"],
            NUMERATOR: [5, 9, 9, 1, 2, 3],
            "branch": ["Ba", "Bb", "Bc", "Bd", "Be", None],
            "private_banking": [None, False, None, None, None, None],
            "overdue_90d": [False, None, True, None, None, None],
            "missed_total": [3, None, 1, None, None, None],
            "card_level": ["金卡", "普卡", "白金卡", "普卡", "银卡", None],
        },
        schema_overrides={NUMERATOR: pl.Int128},
    ).with_columns(pl.lit("party").alias(KIND))
    columns = ("branch", "private_banking", "overdue_90d", "missed_total", "card_level")
    found = {r[UNIT]: r for r in unit_attributes(plan, numbers, columns).iter_rows(named=True)}
    assert list(found["U"].values()) == ["U", "Bb", False, True, 3, "白金卡"]
    assert list(found["V"].values()) == ["V", "Be", None, None, None, "银卡"]
    assert found["W"]["branch"] is None


def test_split_by_branch_lists_the_unit_under_its_branch(tmp_path: Path) -> None:
    """End to end, the installed command on files: a unit's scores row is in its branch's
    list, the parties file in the manifest."""
    import subprocess

    customers = [("C1", "朝阳", "M1", "false", 0, 0), ("C2", "海淀", "M2", "false", 0, 0)]
    files = export(tmp_path, BALANCES, [("C1", "P1"), ("C2", "P1")], customers=customers)
    tierscore = Path(sys.executable).with_name("tierscore")
    out = tmp_path / "out"
    done = subprocess.run(
        [tierscore, "score", "-b", files["balances"], "-t", files["transactions"],
         "--customers", files["customers"], "--parties", files["parties"],
         "--score-by", "party", "-p", "2026H1", "--split", "branch", "-q", "--out", out],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    listed = pl.read_csv(out / "by_branch" / "朝阳" / "五星级.csv")
    assert listed["party_id"].to_list() == ["P1"]
    assert not (out / "by_branch" / "海淀").exists()
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    assert [f["path"] for f in manifest["inputs"]["parties"]] == [files["parties"]]
    assert len(manifest["inputs"]["parties"][0]["sha256"]) == 64
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    assert summary["rows"]["parties"]["read"] == 2 and summary["units"]["units"] == 1


# --- what the parties file may hold ----------------------------------------------


def test_blank_or_spaced_ids(tmp_path: Path) -> None:
    """Ids are trimmed (`` P1 `` is P1, so that row repeats C2's exactly); a blank party
    id is rejected, and its number is not scored rather than scored alone."""
    balances = [*BALANCES, *time_deposit("C3", "10000.00", "2025-12-31")]
    parties = [("C1", " P1 "), ("C2", "P1"), (" C2 ", "P1"), ("C3", "  "), ("", "P4")]
    result = scored(export(tmp_path, balances, parties))
    units = rows_of(result, "party_id")
    assert list(units) == ["P1"] and units["P1"]["customer_ids"] == "C1;C2"
    assert result.rejects.select("line", "column", "reason").rows() == [
        (5, "party_id", "empty party_id"),
        (6, "customer_id", "empty customer_id"),
    ]
    assert result.summary["rows"]["parties"]["duplicate"] == 1
    assert result.summary["units"]["customers_rejected"] == 1


def test_parties_file_without_party_id_stops(tmp_path: Path) -> None:
    files = export(tmp_path, BALANCES)
    (tmp_path / "parties.csv").write_text("customer_id,person\nC1,P1\n", encoding="utf-8")
    ran = tierscore_here("score", "-b", files["balances"], "-t", files["transactions"],
                         "-p", "2026H1", "--parties", tmp_path / "parties.csv",
                         "--score-by", "party", "--out", tmp_path / "out")  # fmt: skip
    assert ran.returncode == 2
    assert "parties.csv" in ran.stderr and "party_id" in ran.stderr
    assert not (tmp_path / "out" / "scores.csv").exists()


def test_columns_maps_the_parties_headers(tmp_path: Path) -> None:
    files = export(tmp_path, BALANCES)
    (tmp_path / "parties.csv").write_text("客户号,证件号\nC1,ID1\nC2,ID1\n", encoding="utf-8")
    mapping = tmp_path / "columns.toml"
    mapping.write_text('[parties]\ncustomer_id = "客户号"\nparty_id = "证件号"\n', "utf-8")
    ran = tierscore_here("score", "-b", files["balances"], "-t", files["transactions"],
                         "-p", "2026H1", "--parties", tmp_path / "parties.csv", "--columns",
                         mapping, "--score-by", "party", "--out", "-", "-q")  # fmt: skip
    assert ran.returncode == 0, ran.stderr
    assert ran.stdout.splitlines()[1].startswith("ID1,C1;C2,2,")
    mapping.write_text('[parties]\nperson = "证件号"\n', "utf-8")
    wrong = tierscore_here("score", "-b", files["balances"], "-t", files["transactions"],
                           "-p", "2026H1", "--parties", tmp_path / "parties.csv", "--columns",
                           mapping, "--score-by", "party", "--out", "-")  # fmt: skip
    assert wrong.returncode == 2 and "parties.person" in wrong.stderr


def test_parquet_parties_are_typed(tmp_path: Path) -> None:
    files = export(tmp_path, BALANCES)
    path = tmp_path / "parties.parquet"
    pl.DataFrame({"customer_id": ["C1", "C2"], "party_id": ["P1", "P1"]}).write_parquet(path)
    result = scored({**files, "parties": str(path)})
    assert rows_of(result, "party_id")["P1"]["tier"] == "五星级"
    assert result.inputs["parties"][0].format == "parquet"


@pytest.mark.parametrize(
    ("parties", "by"),
    [([("C1", "C2")], "party"), ([("C1", "P1", "X"), ("C2", "X", "")], "household")],
)
def test_id_naming_two_units_stops(tmp_path: Path, parties: list[Row], by: str) -> None:
    """C2 not in the file is scored under its own id, which a party named C2 would share;
    by household, party X (no household) would share household X's id."""
    files = export(tmp_path, BALANCES, parties)
    with pytest.raises(InputError, match="ids name two different units") as stopped:
        scored(files, by)
    assert ("C2 (customer, party)" if by == "party" else "X (household, party)") in str(
        stopped.value
    )


def test_previous_units_are_matched_on_the_unit_id(tmp_path: Path) -> None:
    files = export(tmp_path, BALANCES, [("C1", "P1"), ("C2", "P1")])
    earlier = tmp_path / "previous.csv"
    earlier.write_text("party_id,tier\nP1,四星级\nP0,三星级\n", encoding="utf-8")
    result = scored(files, previous=str(earlier))
    units = rows_of(result, "party_id")
    assert (units["P1"]["previous_tier"], units["P1"]["movement"]) == ("四星级", "up")
    assert units["P0"]["movement"] == "gone"
    by_number = tmp_path / "by_number.csv"
    by_number.write_text("customer_id,tier\nC1,四星级\n", encoding="utf-8")
    with pytest.raises(InputError, match="party_id"):
        scored(files, previous=str(by_number))


@pytest.mark.parametrize(
    ("by", "parties", "job", "key"),
    [
        ("customer", True, {}, "--parties"),
        ("party", False, {}, "--score-by"),
        ("party", True, {"rules": "seed003-grade"}, "历史销售额"),
        ("household", True, {"overrides": "x.csv"}, "--overrides"),
        ("person", True, {}, "--score-by"),
    ],
)
def test_what_would_need_a_guess_stops(
    tmp_path: Path, by: str, parties: bool, job: dict[str, str], key: str
) -> None:
    files = export(tmp_path, BALANCES, [("C1", "P1")] if parties else None)
    with pytest.raises(ConfigError) as stopped:
        scored(files, by, **job)
    assert key in str(stopped.value)


def test_by_customer_is_unchanged(tmp_path: Path) -> None:
    files = export(tmp_path, BALANCES)
    plain = run(Job(files["balances"], files["transactions"], H1))
    assert plain.scores.columns[0] == "customer_id" and "units" not in plain.summary
    assert "parties" not in plain.summary["rows"] and "parties" not in plain.inputs
    assert plain.scores["customer_id"].to_list() == ["C1", "C2"]


@pytest.mark.spark
def test_spark_scores_units_as_polars_does(tmp_path: Path, spark: Any) -> None:
    """Households with gates, floors, the service tier's watch and an earlier run: the
    Spark engine's scores.csv is the polars engine's, byte for byte."""
    from tierscore.scoring.split import write_scores

    from .conftest import on_both_engines

    balances = [
        *BALANCES,
        *time_deposit("C3", "100000.00", "2025-12-31"),
        *time_deposit("C4", "100000.00", "2025-12-31"),
        *time_deposit("C5", "10000.00", "2025-12-31"),
        *time_deposit("C7", "3000.00", "2026-03-01"),
    ]
    transactions = [("C3", "2026-02-01", "POS", "100.00"), ("C7", "2026-02-02", "POS", "5.00")]
    parties = [("C1", "P1", "H1"), ("C2", "P1", ""), ("C3", "P2", "H1"), ("C4", "P4", ""),
               ("C7", "P7", "H7"), ("C7", "P8", "H7"), ("C9", "P9", "")]  # fmt: skip
    files = export(tmp_path, balances, parties, transactions)
    customers = tmp_path / "customers.csv"
    customers.write_text(
        "customer_id,branch,manager,overdue_90d,missed_consecutive,missed_total,"
        "private_banking,card_level\n"
        "C1,朝阳,M1,false,0,1,false,金卡\nC2,海淀,M2,true,0,0,false,白金卡\n"
        "C4,西城,M4,false,2,0,,\nC5,东城,M5,false,0,0,true,\n",
        encoding="utf-8",
    )
    earlier = tmp_path / "previous.csv"
    earlier.write_text("household_id,tier\nH1,六星级\nH0,三星级\n", encoding="utf-8")
    job = Job(files["balances"], files["transactions"], H1, customers=(str(customers),))
    job.parties, job.score_by, job.previous = (files["parties"],), "household", str(earlier)
    local, cluster = on_both_engines(job, spark)
    assert local.scores["household_id"].to_list() == ["C5", "H0", "H1", "P4"]
    written = []
    for result in (local, cluster):
        path = tmp_path / f"scores-{len(written)}.csv"
        write_scores(result.scores, path)
        written.append(path.read_bytes())
    assert written[0] == written[1]
    assert cluster.summary["units"] == local.summary["units"]
    assert local.summary["units"]["customers_rejected"] == 1
    assert cluster.summary["rows"] == local.summary["rows"]
    assert cluster.rejects.equals(local.rejects)
    assert cluster.summary["by_branch"] == local.summary["by_branch"]
