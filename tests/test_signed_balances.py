"""Signed balances (issue #24): a balances component may declare how its products'
stored balances read. ``negative`` counts a loan stored as -1,810 as 1,810 and rejects
a stored +500 of it, naming the product; ``absolute`` takes the magnitude; every
other product, and every rule set without ``sign``, rejects a negative balance as
always. Daily averages below are computed by hand over 2026H1 (181 days)."""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

import polars as pl
import pytest

from tierscore.scoring.errors import ConfigError
from tierscore.scoring.explain import explain
from tierscore.scoring.pipeline import Job, Result, inspect, run
from tierscore.scoring.plan import compile_plan
from tierscore.scoring.rules import load_rules, shipped_rule_files
from tierscore.scoring.validate import BALANCE_PARSERS, balance_parsers
from tierscore.scoring.window import parse_window

from .conftest import BAL_COLUMNS, TXN_COLUMNS, tierscore_here, write_csv

H1 = parse_window("2026H1")

RULES = """
[ruleset]
name = "signed"
unit = 1

[[components]]
id = "deposits"
source = "balances"
rate = 1
codes = ["CUR"]

[[components]]
id = "loans"
source = "balances"
rate = 1
codes = ["LOAN", "CAR_LOAN"]
sign = "negative"

[[components]]
id = "cards"
source = "balances"
rate = 1
codes = ["CARD"]
sign = "absolute"

[[components]]
id = "pos"
source = "transactions"
rate = 1
codes = ["POS"]

[excluded]
codes = ["MMF"]

[[tiers]]
label = "top"
min = 1000

[[tiers]]
label = "rest"
min = 0
"""
WRONG_SIGN = 'positive balance of product LOAN, whose component has sign = "negative"'

# Whole yuan, so that every typed column (integers, floats, decimals) holds them.
# CSV line = index + 2; Parquet line (a 0-based row index) = index.
ROWS = [
    ("C1", "A1", "LOAN", "2025-12-31", "-1810"),  # Jan 1 - Apr 30: 120 days
    ("C1", "A1", "LOAN", "2026-03-01", "500"),  # the wrong sign: rejected, stepped over
    ("C1", "A1", "LOAN", "2026-05-01", "-905"),  # May 1 - Jun 30: 61 days
    ("C1", "A2", "CAR_LOAN", "2026-04-01", "-362"),  # 91 days
    ("C1", "A3", "CARD", "2026-01-01", "-181"),  # 90 days
    ("C1", "A3", "CARD", "2026-04-01", "181"),  # 91 days
    ("C1", "A4", "CUR", "2026-01-01", "362"),  # 181 days
    ("C1", "A4", "CUR", "2026-02-01", "-10"),  # a positive component: rejected as always
    ("C1", "A5", "ODD", "2026-01-01", "-3"),  # unmapped: rejected as always
    ("C1", "A6", "MMF", "2026-01-01", "-3"),  # excluded: rejected as always
    ("C2", "A7", "LOAN", "2026-01-01", "-1"),
    ("C2", "A8", "LOAN", "2026-01-01", "0"),
]
# loans: A1 (1810 x 120 + 905 x 61) / 181 = 1505 and A2 362 x 91 / 181 = 182
EXPECTED = {
    "C1": {"deposits": "362.00", "loans": "1687.00", "cards": "181.00", "points": "2230.00"},
    "C2": {"deposits": "0.00", "loans": "1.00", "cards": "0.00", "points": "1.00"},
}
REJECTED = {  # row index -> reason
    1: WRONG_SIGN,
    7: "negative balance",
    8: "negative balance",
    9: "negative balance",
}
COUNTS = {"read": 12, "used": 8, "excluded": 0, "unmapped": 0, "outside_window": 0,
          "duplicate": 0, "rejected": 4}  # fmt: skip


def _rules(tmp_path: Path, text: str = RULES) -> str:
    path = tmp_path / "signed.toml"
    path.write_text(text, encoding="utf-8")
    return str(path)


def _no_txn(tmp_path: Path) -> str:
    return str(write_csv(tmp_path / "txn.csv", TXN_COLUMNS, []))


def _job(tmp_path: Path, balances: str, **changes: Any) -> Job:
    job = Job(balances, _no_txn(tmp_path), H1, rules=_rules(tmp_path))
    for key, value in changes.items():
        setattr(job, key, value)
    return job


def _scores(result: Result) -> dict[str, dict[str, str]]:
    out = {}
    for row in result.scores.iter_rows(named=True):
        values = {c: str(row[f"{c}_amount"]) for c in ("deposits", "loans", "cards")}
        out[row["customer_id"]] = {**values, "points": str(row["points"])}
    return out


def _rejects(result: Result) -> dict[int, tuple[str, str]]:
    return {line: (column, why) for _, line, column, _, why in result.rejects.rows()}


def _csv(tmp_path: Path, rows: list[tuple[str, ...]] = ROWS, name: str = "bal.csv") -> str:
    return str(write_csv(tmp_path / name, BAL_COLUMNS, rows))


def _check(result: Result, lines: dict[int, int] | None = None) -> None:
    """The expected scores, rejects (CSV lines unless ``lines`` maps them) and counts."""
    assert _scores(result) == EXPECTED
    where = lines if lines is not None else {i: i + 2 for i in REJECTED}
    assert _rejects(result) == {where[i]: ("balance", why) for i, why in REJECTED.items()}
    assert result.summary["rows"]["balances"] == COUNTS


def test_negative_and_absolute_by_hand_from_csv(tmp_path: Path) -> None:
    result = run(_job(tmp_path, _csv(tmp_path)))
    _check(result)
    assert result.scores.filter(pl.col("customer_id") == "C1")["tier"].item() == "top"
    wrong = result.rejects.filter(pl.col("line") == 3).row(0, named=True)
    assert (Path(wrong["file"]).name, wrong["value"]) == ("bal.csv", "500")


def test_rows_out_of_order_and_in_parts_give_the_same(tmp_path: Path) -> None:
    """The long ways (rows held and ordered in memory; an input in parts) read the
    same validated rows: a rejected row is no account's next row there either."""
    shuffled = ROWS[:]
    random.Random(7).shuffle(shuffled)
    result = run(_job(tmp_path, _csv(tmp_path, shuffled)))
    assert _scores(result) == EXPECTED
    assert sorted(why for _, why in _rejects(result).values()) == sorted(REJECTED.values())
    assert result.summary["rows"]["balances"] == COUNTS
    _check(run(_job(tmp_path, _csv(tmp_path), rows_per_part=4)))


@pytest.mark.parametrize(
    "dtype",
    [pl.Decimal(18, 2), pl.Decimal(38, 4), pl.Int64, pl.Int32, pl.Float64, pl.Float32],
    ids=str,
)
def test_typed_parquet_balances(tmp_path: Path, dtype: pl.DataType) -> None:
    frame = pl.DataFrame(ROWS, schema=list(BAL_COLUMNS), orient="row")
    typed = frame.with_columns(pl.col("date").str.to_date(), pl.col("balance").cast(dtype))
    path = tmp_path / "bal.parquet"
    typed.write_parquet(path)
    _check(run(_job(tmp_path, str(path))), {i: i for i in REJECTED})


def test_parquet_in_parts_and_with_string_codes_kept_as_they_are(tmp_path: Path) -> None:
    """A typed product is data: " LOAN" is not LOAN, so its negative balance is
    rejected as any unnamed product's; a CSV cell is trimmed first, and is LOAN."""
    rows = [*ROWS, ("C3", "A9", " LOAN", "2026-01-01", "-181")]
    frame = pl.DataFrame(rows, schema=list(BAL_COLUMNS), orient="row")
    path = tmp_path / "bal.parquet"
    frame.with_columns(pl.col("balance").cast(pl.Int64)).write_parquet(path)
    typed = run(_job(tmp_path, str(path), rows_per_part=4))
    assert _rejects(typed)[12] == ("balance", "negative balance")
    assert "C3" not in _scores(typed)
    text = run(_job(tmp_path, _csv(tmp_path, rows)))
    assert _scores(text)["C3"]["loans"] == "181.00"


def test_odd_values_keep_their_own_reasons(tmp_path: Path) -> None:
    """The sign is applied to a valid number only: a malformed, too large or too
    precise value is rejected for what it is, whatever its product's sign."""
    rows = [
        ("C1", "B1", "LOAN", "2026-01-01", "-9999999999999999"),
        ("C1", "B2", "LOAN", "2026-01-01", "-1.005"),
        ("C1", "B3", "LOAN", "2026-01-01", "--5"),
        ("C1", "B4", "LOAN", "2026-01-01", ""),
        ("C1", "B5", "CARD", "2026-01-01", "－5"),  # full-width minus
        ("C1", "B6", "LOAN", "2026-01-01", "+5"),
        ("C1", "B7", "LOAN", "2026-01-01", "-0.00"),
        ("C1", "B8", "CARD", "2026-01-01", "+0.01"),
        ("C1", "B9", "", "2026-01-01", "-5"),
    ]
    result = run(_job(tmp_path, _csv(tmp_path, rows)))
    assert result.rejects.select("line", "column", "reason").rows() == [
        (2, "balance", "too large"),
        (3, "balance", "more than 2 decimal places"),
        (4, "balance", "not a number"),
        (5, "balance", "empty balance"),
        (6, "balance", "not a number"),
        (7, "balance", 'positive balance of product LOAN, whose component has sign = "negative"'),
        (10, "product", "empty product"),
        (10, "balance", "negative balance"),
    ]
    assert _scores(result) == {
        "C1": {"deposits": "0.00", "loans": "0.00", "cards": "0.01", "points": "0.01"}
    }


def test_without_sign_a_negative_balance_is_rejected_as_before(tmp_path: Path) -> None:
    plain = RULES.replace('sign = "negative"\n', "").replace('sign = "absolute"\n', "")
    job = _job(tmp_path, _csv(tmp_path))
    job.rules = _rules(tmp_path, plain)
    result = run(job)
    negative = {i + 2 for i, row in enumerate(ROWS) if row[4].startswith("-")}
    assert _rejects(result) == {line: ("balance", "negative balance") for line in negative}
    # A1 holds its one good row, 500 from Mar 1 (122 days); A3 181 from Apr 1 (91 days)
    assert _scores(result)["C1"] == {
        "deposits": "362.00", "loans": "337.02", "cards": "91.00", "points": "790.02"
    }  # fmt: skip


@pytest.mark.parametrize("name", sorted(shipped_rule_files()))
def test_shipped_rule_sets_keep_todays_parsers(name: str) -> None:
    """No sign, nothing new per row: the very parsers of before."""
    plan = compile_plan(load_rules(name), H1)
    assert plan.signs == {}
    assert balance_parsers(plan) is BALANCE_PARSERS
    assert balance_parsers(None) is BALANCE_PARSERS


def test_plan_lists_only_signed_products(tmp_path: Path) -> None:
    plan = compile_plan(load_rules(_rules(tmp_path)), H1)
    assert plan.signs == {"LOAN": "negative", "CAR_LOAN": "negative", "CARD": "absolute"}
    sign = {c.id: c.sign for c in plan.ruleset.components}
    assert sign == {"deposits": "positive", "loans": "negative", "cards": "absolute",
                    "pos": "positive"}  # fmt: skip


def test_validate_without_a_rule_set_rejects_every_negative_balance(tmp_path: Path) -> None:
    found = inspect(_csv(tmp_path), _no_txn(tmp_path))
    negative = sum(row[4].startswith("-") for row in ROWS)
    assert found.counts["balances"]["rejected"] == negative


def test_validate_with_the_rule_set_rejects_what_score_rejects(tmp_path: Path) -> None:
    found = inspect(_csv(tmp_path), _no_txn(tmp_path), rules=_rules(tmp_path))
    assert found.counts["balances"]["rejected"] == len(REJECTED)
    lines = {line: why for _, line, _, _, why in found.rejects.rows()}
    assert lines == {i + 2: why for i, why in REJECTED.items()}
    args = ["validate", "--balances", _csv(tmp_path), "--transactions", _no_txn(tmp_path),
            "--rules", _rules(tmp_path), "--max-reject-rate", "0.5", "--json"]  # fmt: skip
    done = tierscore_here(*args)
    assert done.returncode == 0, done.stderr
    # the table wraps a long reason to the terminal's width; the JSON has it whole
    assert WRONG_SIGN in [r["reason"] for r in json.loads(done.stdout)["rejects"]["first"]]


def test_explain_counts_a_loan_as_the_score_does(tmp_path: Path) -> None:
    job = _job(tmp_path, _csv(tmp_path))
    told = explain(job, "C1")
    loans = next(c for c in told["components"] if c["id"] == "loans")
    assert loans["amount"] == "1687.00"
    averages = {p["account_id"]: p["daily_average"] for p in loans["parts"]}
    assert averages == {"A1": "1505.00", "A2": "182.00"}
    assert told["points"] == "2230.00"


@pytest.mark.parametrize(
    ("component", "message"),
    [
        ('source = "transactions"\nsign = "negative"', "balances components only"),
        ('source = "transactions"\nsign = "positive"', "balances components only"),
        ('source = "balances"\nsign = "neg"', "must be 'positive', 'negative' or 'absolute'"),
        ('source = "balances"\nsign = "Negative"', "must be 'positive', 'negative' or"),
        ('source = "balances"\nsign = -1', "must be 'positive', 'negative' or 'absolute'"),
        ('source = "balances"\nsign = true', "must be 'positive', 'negative' or 'absolute'"),
        ('source = "balances"\nsign = ["negative"]', "must be 'positive', 'negative' or"),
        ('source = "balances"\nsign = { is = "negative" }', "must be 'positive', 'negative'"),
    ],
)
def test_bad_sign_is_a_config_error(tmp_path: Path, component: str, message: str) -> None:
    text = f"""
[ruleset]
name = "x"

[[components]]
id = "a"
source = "balances"
rate = 1
codes = ["CUR"]

[[components]]
id = "b"
{component}
rate = 1
codes = ["LOAN"]

[[tiers]]
label = "all"
min = 0
"""
    with pytest.raises(ConfigError) as caught:
        load_rules(_rules(tmp_path, text))
    assert caught.value.key == "components[1].sign"
    assert message in str(caught.value)


def test_cli_end_to_end_on_files(tmp_path: Path) -> None:
    out = tmp_path / "out"
    args = ["score", "--balances", _csv(tmp_path), "--transactions", _no_txn(tmp_path),
            "--period", "2026H1", "--rules", _rules(tmp_path), "--out", str(out),
            "--max-reject-rate", "0.5", "--quiet"]  # fmt: skip
    done = tierscore_here(*args)
    assert done.returncode == 0, done.stderr
    scores = pl.read_csv(out / "scores.csv", infer_schema=False)
    c1 = scores.filter(pl.col("customer_id") == "C1").row(0, named=True)
    shown = (c1["loans_amount"], c1["cards_amount"], c1["points"])
    assert shown == ("1687.00", "181.00", "2230.00")
    rejects = pl.read_csv(out / "rejects.csv", infer_schema=False)
    assert rejects.filter(pl.col("line") == "3").select("column", "value", "reason").rows() == [
        ("balance", "500", WRONG_SIGN)
    ]
    assert rejects.height == len(REJECTED)
    # over the default limit, the same rows stop the run with exit 3
    strict = [a for a in args if a not in ("--max-reject-rate", "0.5")]
    strict[strict.index("--out") + 1] = str(tmp_path / "strict")
    stopped = tierscore_here(*strict)
    assert stopped.returncode == 3


@pytest.mark.spark
def test_spark_engine_reads_signs_alike(tmp_path: Path, spark: Any) -> None:
    from tierscore.scoring import spark_engine

    job = _job(tmp_path, _csv(tmp_path))
    local, remote = run(job), spark_engine.run(job, spark=spark)
    _check(remote)
    assert remote.scores.equals(local.scores)
    assert remote.rejects.equals(local.rejects)
    assert remote.summary == local.summary


def test_conflicting_loan_rows_are_compared_as_counted(tmp_path: Path) -> None:
    """Two rows of one loan account and date that differ conflict (both rejected, the
    account carries on from its previous balance); an exact repeat is a duplicate.
    The conflict's value is the balance as counted (a stored -100.00 shows 100.00)."""
    rows = [
        ("C1", "A1", "LOAN", "2025-12-31", "-181.00"),
        ("C1", "A1", "LOAN", "2026-04-01", "-100.00"),
        ("C1", "A1", "LOAN", "2026-04-01", "-200.00"),
        ("C1", "A2", "LOAN", "2026-01-01", "-362.00"),
        ("C1", "A2", "LOAN", "2026-01-01", "-362"),
    ]
    result = run(_job(tmp_path, _csv(tmp_path, rows)))
    assert result.rejects.select("line", "value", "reason").rows() == [
        (3, "100.00", "conflicting rows for the same account_id and date"),
        (4, "200.00", "conflicting rows for the same account_id and date"),
    ]
    assert _scores(result)["C1"]["loans"] == "543.00"  # 181 all window + 362 all window
    assert result.summary["rows"]["balances"]["duplicate"] == 1
