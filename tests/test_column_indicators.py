"""Indicators and the bonus reading numeric columns of --customers (seed 003: 历史销售额,
预计销售额), and the shipped seed003-grade rule set that reproduces the seed's
(90 x 50% + 70 x 50%) x 1.05 = 84.

Every expected figure is worked out by hand in the comments. An amount that is unknown
(no customers row, an unusable one, a blank cell) must never raise a customer."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

import polars as pl
import pytest

from tierscore.cli.errors import _outcome
from tierscore.cli.main import app
from tierscore.scoring.errors import ConfigError
from tierscore.scoring.pipeline import Job, Result, run
from tierscore.scoring.plan import compile_plan
from tierscore.scoring.rules import load_rules
from tierscore.scoring.window import parse_window

from .conftest import BAL_COLUMNS, TXN_COLUMNS, tierscore_here, write_csv

D = Decimal
ROOT = Path(__file__).resolve().parent.parent
SEED = ROOT / "sample_data" / "seed003"
SEED_RULES = (ROOT / "rules" / "seed003-grade.toml").read_text(encoding="utf-8")
H1 = parse_window("2026H1")
SEED_INPUTS = ["--balances", str(SEED / "balances.csv"), "--transactions",
               str(SEED / "transactions.csv")]  # fmt: skip

# wealth: deposits (daily average) + 他行资产 (yuan); sales: 历史销售额 + 预计销售额.
MIXED = """
[ruleset]
name = "mixed"

[[components]]
id = "deposits"
source = "balances"
rate = 0
codes = ["CURRENT"]

[[indicators]]
id = "wealth"
components = ["deposits"]
columns = ["他行资产"]
weight = 0.5
bands = [{ min = 0, score = 10 }, { min = 100000, score = 60 }, { min = 150000.01, score = 100 }]

[[indicators]]
id = "sales"
columns = ["历史销售额", "预计销售额"]
weight = 0.5
bands = [{ min = 0, score = 0 }, { min = 1000, score = 50 }, { min = 2000, score = 100 }]

[bonus]
multiplier = 1.1
column = "预计销售额"
above = 500

[[tiers]]
label = "top"
min = 80

[[tiers]]
label = "rest"
min = 0
"""
MIXED_HEADER = "customer_id,branch,他行资产,历史销售额,预计销售额"


def rule_file(tmp_path: Path, text: str, name: str = "rules.toml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def deposits(tmp_path: Path, amounts: dict[str, str]) -> Path:
    """A CURRENT balance per customer carried in from 2025: its daily average over
    2026H1 is the amount itself."""
    rows = [(c, f"{c}-A", "CURRENT", "2025-12-31", a) for c, a in amounts.items()]
    return write_csv(tmp_path / "bal.csv", BAL_COLUMNS, rows)


def score(tmp_path: Path, rules: Path | str, amounts: dict[str, str], people: str) -> Result:
    bal = deposits(tmp_path, amounts)
    txn = write_csv(tmp_path / "txn.csv", TXN_COLUMNS, [])
    customers = tmp_path / "customers.csv"
    customers.write_text(people, encoding="utf-8")
    return run(Job(str(bal), str(txn), H1, str(rules), customers=str(customers)))


def by_id(result: Result) -> dict[str, dict[str, Any]]:
    return {r["customer_id"]: r for r in result.scores.iter_rows(named=True)}


def cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str]:
    code = _outcome(lambda: app(list(args), prog_name="tierscore"), verbose=False)
    said = capsys.readouterr().err
    return code, "\n".join(line for line in said.splitlines() if line.startswith("error: "))


# --- the shipped example -------------------------------------------------------------


def seed_scores(out: Path) -> dict[str, dict[str, str]]:
    done = tierscore_here(
        "score", "--balances", str(SEED / "balances.csv"),
        "--transactions", str(SEED / "transactions.csv"),
        "--customers", str(SEED / "customers.csv"), "--period", "2026H1",
        "--rules", "seed003-grade", "--out", str(out), "--quiet",
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    frame = pl.read_csv(out / "scores.csv", infer_schema=False)
    return {r["customer_id"]: r for r in frame.iter_rows(named=True)}


def test_seed003_example_scores_84_end_to_end(tmp_path: Path) -> None:
    """历史销售额 150万 -> 90, 预计销售额 400万 -> 70, 150万 > 100万 -> x1.05:
    (90 x 0.5 + 70 x 0.5) x 1.05 = 84.00, grade B (80 <= 84 < 90): 两周回访."""
    got = seed_scores(tmp_path / "out")
    seed = got["SEED003"]
    assert (seed["history_score"], seed["expected_score"]) == ("90.00", "70.00")
    assert seed["bonus"] == "true"
    assert (seed["points"], seed["tier"]) == ("84.00", "B")
    assert (seed["follow_up"], seed["service"]) == ("两周回访", "跟进,合同方式调整")
    assert seed["历史销售额"] == "1500000.00" and seed["预计销售额"] == "4000000.00"
    # 600万 -> 100, 1200万 -> 90: 95 x 1.05 = 99.75, A
    assert (got["G_A"]["points"], got["G_A"]["tier"]) == ("99.75", "A")
    assert got["G_A"]["follow_up"] == "每周回访"
    # exactly 100万: band 90 reached (>=), bonus not (above is >): (90 + 70) / 2 = 80.00
    assert (got["G_EDGE"]["points"], got["G_EDGE"]["bonus"]) == ("80.00", "false")
    assert (got["G_C"]["points"], got["G_C"]["tier"]) == ("70.00", "C")  # (80 + 60) / 2
    assert (got["G_D"]["points"], got["G_D"]["tier"]) == ("60.00", "D")  # (60 + 60) / 2
    # 5万 -> 0; 预计销售额 blank: unknown, lowest band 0
    assert (got["G_E"]["points"], got["G_E"]["tier"]) == ("0.00", "E")
    assert got["G_E"]["service"] == "建议放弃"
    # 9,000,000 of deposits, no customers row: both unknown, 0 points, no bonus
    nofile = got["G_NOFILE"]
    assert (nofile["points"], nofile["tier"], nofile["bonus"]) == ("0.00", "E", "false")
    assert nofile["历史销售额"] is None


def test_weighted_grade_carries_seed_003_follow_up() -> None:
    rules = load_rules("weighted-grade")
    assert [(t.label, t.follow_up) for t in rules.tiers] == [
        ("A", "每周回访"), ("B", "两周回访"), ("C", "根据进度及时"), ("D", "两周回访"),
        ("E", "有始有终,合理建议"),
    ]  # fmt: skip
    assert all(t.service is None for t in rules.tiers)
    seed003 = load_rules("seed003-grade")
    assert [t.follow_up for t in seed003.tiers] == [t.follow_up for t in rules.tiers]


# --- exact arithmetic and the fail-safe ----------------------------------------------


def test_components_and_columns_add_up_exactly(tmp_path: Path) -> None:
    people = "\n".join([
        MIXED_HEADER,
        "EXACT,B1,50000.01,1000.00,999.99",
        "SHORT,B1,50000.00,1000,1000",
        "BLANK,B1,,2000,0",
        "DUP,B2,0.10,0,0",
        "DUP,B2,0.1,0.00,0",
    ]) + "\n"  # fmt: skip
    amounts = {"EXACT": "100000.00", "SHORT": "100000.00", "BLANK": "1000000.00",
               "DUP": "100000.00"}  # fmt: skip
    result = score(tmp_path, rule_file(tmp_path, MIXED), amounts, people)
    got = by_id(result)
    # 100,000.00 + 50,000.01 = 150,000.01: 100; 1,000.00 + 999.99 = 1,999.99: 50;
    # 999.99 > 500: (100 x 0.5 + 50 x 0.5) x 1.1 = 82.50
    exact = got["EXACT"]
    assert (exact["wealth_score"], exact["sales_score"], exact["bonus"]) == (
        D("100.00"), D("50.00"), True
    )  # fmt: skip
    assert (exact["points"], exact["tier"]) == (D("82.50"), "top")
    # a cent short of 150,000.01: 60; 2,000: 100; (30 + 50) x 1.1 = 88.00
    assert (got["SHORT"]["wealth_score"], got["SHORT"]["points"]) == (D("60.00"), D("88.00"))
    # 他行资产 blank: wealth unknown, its lowest score 10 (whatever the 1,000,000 deposits);
    # 预计销售额 0 is known, not above 500: (10 x 0.5 + 100 x 0.5) = 55.00
    blank = got["BLANK"]
    assert (blank["wealth_score"], blank["bonus"], blank["points"]) == (
        D("10.00"), False, D("55.00")
    )  # fmt: skip
    # the same row twice (0.10 and 0.1 are one amount): used once; 100,000.10: 60
    assert got["DUP"]["points"] == D("30.00")
    assert result.summary["rows"]["customers"]["duplicate"] == 1
    assert result.scores.schema["他行资产"] == pl.Decimal(38, 2)
    assert exact["他行资产"] == D("50000.01")


@pytest.mark.parametrize(
    ("cell", "reason"),
    [
        ("1,000", "not a number"),
        ("１０００", "not a number"),  # full-width digits
        ("1000.005", "more than 2 decimal places"),
        ("-5", "negative 他行资产"),
        ("1e6", "not a number"),
        ("9999999999999999", "too large"),
    ],
)
def test_a_bad_cell_is_rejected_and_never_raises(tmp_path: Path, cell: str, reason: str) -> None:
    """The row goes to rejects with its line; the customer's row is unusable, so every
    column it held is unknown: lowest bands, no bonus (1.1 would raise), whatever the
    other cells and the 5,000,000 of deposits say."""
    people = f'{MIXED_HEADER}\nOK,B1,0,2000,2000\nBAD,B1,"{cell}",5000,5000\n'
    result = score(tmp_path, rule_file(tmp_path, MIXED), {"OK": "1", "BAD": "5000000"}, people)
    bad = by_id(result)["BAD"]
    # wealth 10 (lowest), sales 0 (lowest): 10 x 0.5 = 5.00
    assert (bad["wealth_score"], bad["sales_score"], bad["bonus"]) == (
        D("10.00"), D("0.00"), False
    )  # fmt: skip
    assert (bad["points"], bad["tier"]) == (D("5.00"), "rest")
    assert bad["branch"] is None  # which row is right is unknowable
    rejects = result.rejects.filter(pl.col("file").str.ends_with("customers.csv"))
    assert rejects.select("line", "column", "value", "reason").rows() == [
        (3, "他行资产", cell, reason)
    ]
    assert by_id(result)["OK"]["points"] == D("60.50")  # (10 x 0.5 + 100 x 0.5) x 1.1


def test_conflicting_rows_and_absent_customers_fall_to_the_lowest_band(tmp_path: Path) -> None:
    people = f"{MIXED_HEADER}\nTWICE,B1,0,2000,2000\nTWICE,B1,0,2000,1999\n"
    result = score(tmp_path, rule_file(tmp_path, MIXED), {"TWICE": "1", "ABSENT": "900000"}, people)
    got = by_id(result)
    assert got["TWICE"]["points"] == D("5.00")  # unusable: 10 x 0.5
    assert got["ABSENT"]["points"] == D("5.00")  # not in the file: the same
    assert got["ABSENT"]["bonus"] is False


def test_unknown_takes_the_lowest_score_and_a_penalty_applies(tmp_path: Path) -> None:
    """Bands whose scores fall, and a multiplier below 1: the unknown gets the least
    score of any band and the penalty, never the benefit of the doubt."""
    text = """
[ruleset]
name = "falling"
[[components]]
id = "deposits"
source = "balances"
rate = 0
codes = ["CURRENT"]
[[indicators]]
id = "risk"
columns = ["敞口"]
weight = 1
bands = [{ min = 0, score = 50 }, { min = 100, score = 10 }]
[bonus]
multiplier = 0.5
column = "逾期金额"
above = 0
[[tiers]]
label = "x"
min = 0
"""
    people = "customer_id,敞口,逾期金额\nCLEAN,0,0\nRISKY,100,0.01\nHALF,,0\n"
    amounts = {"CLEAN": "1", "RISKY": "1", "HALF": "1", "ABSENT": "1"}
    got = by_id(score(tmp_path, rule_file(tmp_path, text), amounts, people))
    assert got["CLEAN"]["points"] == D("50.00")  # band 0: 50, 0 not above 0
    assert got["RISKY"]["points"] == D("5.00")  # band 100: 10, x 0.5
    assert got["HALF"]["points"] == D("10.00")  # 敞口 blank: min(50, 10); 0 is not above 0
    assert got["ABSENT"]["points"] == D("5.00")  # both unknown: 10 x 0.5
    assert got["ABSENT"]["bonus"] is True


def test_a_typed_customers_file_scores_as_its_csv(tmp_path: Path) -> None:
    """Parquet columns as a bank exports them (decimal, integer, float) parse to the same
    cents as the text."""
    people = f"{MIXED_HEADER}\nA,B1,50000.01,1000,999.99\nB,B1,0.1,2000,0\n"
    csv = score(tmp_path, rule_file(tmp_path, MIXED), {"A": "100000", "B": "1"}, people)
    typed = pl.DataFrame({
        "customer_id": ["A", "B"], "branch": ["B1", "B1"],
        "他行资产": [D("50000.01"), D("0.10")], "历史销售额": [1000, 2000],
        "预计销售额": [999.99, 0.0],
    }, schema_overrides={"他行资产": pl.Decimal(18, 2)})  # fmt: skip
    typed.write_parquet(tmp_path / "customers.parquet")
    bal, txn = str(tmp_path / "bal.csv"), str(tmp_path / "txn.csv")
    people_file = str(tmp_path / "customers.parquet")
    job = Job(bal, txn, H1, str(tmp_path / "rules.toml"), customers=people_file)
    assert run(job).scores.equals(csv.scores)


# --- a run that cannot score, and rule files that cannot be read ----------------------


def test_without_customers_score_and_explain_stop(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    inputs = [*SEED_INPUTS, "--period", "2026H1", "--rules", "seed003-grade"]
    out = tmp_path / "out"
    code, said = cli(capsys, "score", *inputs, "--out", str(out))
    assert code == 2
    assert "indicators[0].columns" in said and "--customers" in said and "历史销售额" in said
    assert not out.exists()
    code, said = cli(capsys, "explain", "SEED003", *inputs)
    assert code == 2
    assert "indicators[0].columns" in said and "explain cannot read one" in said


def test_a_customers_file_without_the_column_stops(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    people = tmp_path / "people.csv"
    people.write_text("customer_id,历史销售额\nSEED003,1500000\n", encoding="utf-8")
    code, said = cli(
        capsys,
        "score",
        *SEED_INPUTS,
        "--customers",
        str(people),
        "--period",
        "2026H1",
        "--rules",
        "seed003-grade",
        "--out",
        str(tmp_path / "out"),
    )
    assert code == 2
    assert "预计销售额" in said


HISTORY = 'columns = ["历史销售额"]'
BONUS = 'column = "历史销售额"\nabove'


@pytest.mark.parametrize(
    ("old", "new", "key"),
    [
        (HISTORY, 'columns = ["points"]', "indicators[0].columns"),
        (HISTORY, 'columns = ["Deposits"]', "indicators[0].columns"),  # a component, any case
        (HISTORY, 'columns = ["deposits_amount"]', "indicators[0].columns"),
        (HISTORY, 'columns = ["branch"]', "indicators[0].columns"),
        (HISTORY, 'columns = ["expected_score"]', "indicators[0].columns"),
        (HISTORY, 'columns = ["follow_up"]', "indicators[0].columns"),
        (HISTORY, 'columns = [" 历史销售额"]', "indicators[0].columns"),
        (HISTORY, 'columns = ["历史\u200b销售额"]', "indicators[0].columns"),
        (HISTORY, 'columns = ["_money0"]', "indicators[0].columns"),
        (HISTORY, 'columns = ["历史销售额", "历史销售额"]', "indicators[0].columns"),
        (HISTORY, 'columns = "历史销售额"', "indicators[0].columns"),
        (HISTORY, 'columns = [""]', "indicators[0].columns"),
        (HISTORY, "columns = []", "indicators[0]"),
        (BONUS, 'column = "tier"\nabove', "bonus.column"),
        (BONUS, "column = 5\nabove", "bonus.column"),
        (BONUS, 'column = "历史销售额"\ncomponent = "deposits"\nabove', "bonus"),
        (BONUS, "above", "bonus"),
    ],
)
def test_malformed_column_rules(tmp_path: Path, old: str, new: str, key: str) -> None:
    assert old in SEED_RULES
    path = rule_file(tmp_path, SEED_RULES.replace(old, new, 1))
    with pytest.raises(ConfigError) as caught:
        load_rules(str(path))
    assert (caught.value.file, caught.value.key) == (str(path), key)


GATE = '\n[[quality_gates]]\nid = "big"\ncolumn = "预计销售额"\n'


@pytest.mark.parametrize(
    ("text", "key"),
    [
        (SEED_RULES + GATE + "is_true = true\n", "quality_gates[0].column"),  # flag and yuan
        (SEED_RULES + GATE + "at_least = 3\n", "quality_gates[0].column"),  # count and yuan
        (SEED_RULES.replace(BONUS, 'column = "history_score"\nabove'), "bonus.column"),
    ],
)
def test_columns_read_two_ways_stop_check_and_score_alike(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], text: str, key: str
) -> None:
    """Known only with the whole file read: the plan stops it, for every command."""
    path = rule_file(tmp_path, text)
    with pytest.raises(ConfigError) as caught:
        compile_plan(load_rules(str(path)), H1)
    assert caught.value.key == key
    checked = cli(capsys, "rules", "check", str(path))
    scored = cli(
        capsys,
        "score",
        *SEED_INPUTS,
        "--customers",
        str(SEED / "customers.csv"),
        "--period",
        "2026H1",
        "--rules",
        str(path),
        "--out",
        str(tmp_path / "o"),
    )
    assert checked[0] == scored[0] == 2
    assert checked[1] == scored[1] and f"{path}: {key}: " in checked[1]


def test_rules_show_names_the_customers_columns(capsys: pytest.CaptureFixture[str]) -> None:
    code = _outcome(lambda: app(["rules", "show", "seed003-grade"], prog_name="tierscore"),
                    verbose=False)  # fmt: skip
    said = capsys.readouterr().out
    assert code == 0
    assert "customers column 历史销售额" in said
    assert "bonus: x 1.05 when customers column 历史销售额 > 1000000" in said


# --- the Spark engine ----------------------------------------------------------------


@pytest.mark.spark
def test_spark_scores_customers_columns_alike(spark: Any, tmp_path: Path) -> None:
    """The seed example with a bad cell, conflicting rows and an absent customer: the
    money columns reach each customer's partition and score as on polars."""
    from .test_spark_engine import assert_same

    people = tmp_path / "customers.csv"
    extra = "G_D,城西支行,abc,1\nG_C,城西支行,500000.00,1000000.01\n"
    people.write_text((SEED / "customers.csv").read_text(encoding="utf-8") + extra,
                      encoding="utf-8")  # fmt: skip
    job = Job(str(SEED / "balances.csv"), str(SEED / "transactions.csv"), H1,
              "seed003-grade", customers=str(people))  # fmt: skip
    remote = assert_same(job, spark)
    got = by_id(remote)
    assert (got["SEED003"]["points"], got["SEED003"]["tier"]) == (D("84.00"), "B")
    assert got["G_D"]["points"] == D("0.00") and got["G_C"]["points"] == D("0.00")


def test_an_unusable_row_is_also_blocked_by_the_unknown_gate(tmp_path: Path) -> None:
    """With a gate on another column, the bad money cell hides that column too."""
    text = MIXED.replace('name = "mixed"', 'name = "mixed"\nquality_tier = "rest"')
    text += '\n[[quality_gates]]\nid = "overdue"\ncolumn = "逾期"\nis_true = true\n'
    people = "customer_id,他行资产,历史销售额,预计销售额,逾期\nOK,0,0,0,否\nBAD,x,0,0,否\n"
    got = by_id(score(tmp_path, rule_file(tmp_path, text), {"OK": "1", "BAD": "1"}, people))
    assert (got["OK"]["quality"], got["OK"]["quality_blocked_by"]) == (True, None)
    assert (got["BAD"]["quality"], got["BAD"]["quality_blocked_by"]) == (False, "unknown")
    assert got["BAD"]["points"] == D("5.00")


def test_shipped_listed_and_checked(capsys: pytest.CaptureFixture[str]) -> None:
    for args in (["rules", "list"], ["rules", "check", "seed003-grade"]):
        code = _outcome(lambda a=args: app(a, prog_name="tierscore"), verbose=False)
        assert code == 0
        assert "seed003-grade" in capsys.readouterr().out
