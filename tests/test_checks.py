"""Dates and overdrafts, and the window meeting the data (issue 19).

``--date-format`` reads text dates in one strftime format and rejects the rest;
without it a two-digit year is never guessed. ``negative_balances = "zero"``
counts an overdrawn day as 0 and summary.json counts the overdrawn account-days.
An input whose usable rows all lie outside the window stops the run (exit 2);
one with fewer than half of its rows in the window is a warning.
"""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Any

import polars as pl
import pytest

from tierscore.scoring.errors import ConfigError, InputError
from tierscore.scoring.pipeline import Job, Result, inspect, run
from tierscore.scoring.rules import load_rules
from tierscore.scoring.validate import (
    DETAIL,
    check,
    check_date_format,
    transaction_parsers,
)
from tierscore.scoring.window import parse_window

from .conftest import BAL_COLUMNS, TXN_COLUMNS, as_parquet, tierscore_here, txn_rows, write_csv

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "sample_data"
H1 = parse_window("2026H1")

RULES = """
[ruleset]
name = "checks"
unit = 1
{extra}

[[components]]
id = "deposits"
source = "balances"
rate = 1
codes = ["CUR"]

[[components]]
id = "loans"
source = "balances"
rate = 1
codes = ["LOAN"]
sign = "negative"

[[components]]
id = "pos"
source = "transactions"
rate = 1
codes = ["POS"]

[[tiers]]
label = "top"
min = 1000

[[tiers]]
label = "rest"
min = 0
"""
ZERO = 'negative_balances = "zero"'

# Window 2026H1, D = 181 days. Hand-computed below, in whole yuan.
OVERDRAFTS = [
    ("C1", "A1", "CUR", "2025-12-31", "181"),  # zero: superseded the next day (outside)
    ("C1", "A1", "CUR", "2026-01-01", "-100"),  # zero: Jan 1-3 overdrawn, counts 0
    ("C1", "A1", "CUR", "2026-01-04", "362"),  # Jan 4 - Jun 30: 178 days
    ("C2", "A2", "CUR", "2026-02-01", "-50"),  # February: 28 days overdrawn
    ("C2", "A2", "CUR", "2026-03-01", "-20"),  # Mar 1 - Jun 30: 122 days overdrawn
    ("C2", "A3", "CUR", "2026-01-01", "181"),  # 181 days
    ("C3", "A4", "LOAN", "2025-12-01", "100"),  # the wrong sign: -100, carried in Jan 1-10
    ("C3", "A4", "LOAN", "2026-01-11", "-181"),  # a loan of 181: Jan 11 - Jun 30, 171 days
    ("C4", "A5", "ODD", "2026-01-01", "-5"),  # unmapped: no component, not overdrawn
    ("C5", "A6", "CUR", "2026-01-01", "-1.50"),  # one account and day, two balances:
    ("C5", "A6", "CUR", "2026-01-01", "-2.00"),  # both rejected, shown as they were
]
# zero:   C1 (0 x 3 + 362 x 178) / 181 = 356; C2 181; C3 loans 181 x 171 / 181 = 171
# reject: C1 (181 x 3 + 362 x 178) / 181 = 359: the -100 row is rejected, 181 holds on
ZERO_SCORES = {"C1": ("356.00", "0.00"), "C2": ("181.00", "0.00"), "C3": ("0.00", "171.00"),
               "C4": ("0.00", "0.00")}  # fmt: skip
REJECT_SCORES = {"C1": ("359.00", "0.00"), "C2": ("181.00", "0.00"), "C3": ("0.00", "171.00")}
OVERDRAWN = {"account_days": 3 + 28 + 122 + 10, "accounts": 3}


def _rules(tmp_path: Path, extra: str = "") -> str:
    path = tmp_path / f"rules{abs(hash(extra))}.toml"
    path.write_text(RULES.format(extra=extra), encoding="utf-8")
    return str(path)


def _inputs(tmp_path: Path, balances: list[tuple[str, ...]], txns: list[Any]) -> tuple[str, str]:
    bal = write_csv(tmp_path / "bal.csv", BAL_COLUMNS, balances)
    txn = write_csv(tmp_path / "txn.csv", TXN_COLUMNS, txn_rows(txns))
    return str(bal), str(txn)


def _amounts(result: Result) -> dict[str, tuple[str, str]]:
    return {
        row["customer_id"]: (str(row["deposits_amount"]), str(row["loans_amount"]))
        for row in result.scores.iter_rows(named=True)
    }


def _rejects(result: Result) -> list[tuple[int, str, str, str]]:
    return [(line, col, value, why) for _, line, col, value, why in result.rejects.rows()]


def _checked(dates: list[str], parsers: dict[str, Any]) -> pl.DataFrame:
    n = len(dates)
    frame = pl.LazyFrame({
        "_file": pl.Series([0] * n, dtype=pl.UInt16), "_line": list(range(n)),
        "customer_id": ["C"] * n, "txn_id": [f"T{i}" for i in range(n)], "date": dates,
        "txn_type": ["POS"] * n, "amount": ["1"] * n, "fee": [""] * n, "fee_ratio": [""] * n,
    })  # fmt: skip
    return check(frame, parsers).collect()


# --- dates --------------------------------------------------------------------------


def test_two_digit_years_are_never_guessed() -> None:
    """Without --date-format only four-digit years are dates: 930101 is not 1993."""
    dates = ["930101", "93-01-01", "93/1/1", "010203", "2026-01-05", "20260105"]
    out = _checked(dates, transaction_parsers())
    assert out["date"].to_list()[:4] == [None] * 4
    assert out["date"].to_list()[4:] == [date(2026, 1, 5)] * 2
    assert all("not a valid date" in d for d in out[DETAIL].to_list()[:4])


def test_date_format_reads_that_one_format_only() -> None:
    """The value must be the date written back in the format: polars' own parser
    would take 93011 (one-digit day) and 1993-01-01 is another format."""
    dates = ["930101", "991231", "000229", "700101", "93011", "19930101", "930230",
             "1993-01-01", " 930101 ", ""]  # fmt: skip
    out = _checked(dates, transaction_parsers("%y%m%d"))
    good = [date(1993, 1, 1), date(1999, 12, 31), date(2000, 2, 29), date(1970, 1, 1)]
    assert out["date"].to_list() == [*good, None, None, None, None, date(1993, 1, 1), None]
    reasons = [d.split("\x1f")[2] if d else None for d in out[DETAIL].to_list()]
    assert reasons == [None] * 4 + ["not a date in the format %y%m%d"] * 4 + [None, "empty date"]
    slashed = _checked(["05/01/2026", "5/1/2026", "2026-01-05"], transaction_parsers("%d/%m/%Y"))
    assert slashed["date"].to_list() == [date(2026, 1, 5), None, None]
    timed = ["05/01/2026 23:59", "05/01/2026 24:00", "05/01/2026", "05/01/2026 9:05"]
    stamped = _checked(timed, transaction_parsers("%d/%m/%Y %H:%M"))  # dated by the date part
    assert stamped["date"].to_list() == [date(2026, 1, 5), None, None, None]


@pytest.mark.parametrize("bad", ["%Q", "%Y-%m", "%y", "abc", "%Y%m%d%", "%H:%M", ""])
def test_a_format_without_a_whole_date_stops(bad: str) -> None:
    with pytest.raises(ConfigError, match="--date-format"):
        check_date_format(bad)


def test_date_format_run_scores_as_iso_and_rejects_the_rest(tmp_path: Path) -> None:
    """The same rows as %y%m%d text (CSV) and as strings in Parquet score as the ISO
    rows do; a row in another form is rejected with its file, line and the format."""
    iso = [("C1", "A1", "CUR", "2025-12-31", "181"), ("C1", "A1", "CUR", "2026-04-01", "362")]
    txns = [("C1", "2026-02-03", "POS", "500.00"), ("C1", "2026-07-01", "POS", "9.00")]
    plain = run(Job(*_inputs(tmp_path, iso, txns), H1, rules=_rules(tmp_path)))
    short = [(*r[:3], r[3][2:].replace("-", ""), r[4]) for r in iso]
    odd = [(c, d[2:].replace("-", ""), k, a) for c, d, k, a in txns]
    odd.append(("C1", "2026-02-03", "POS", "7.00"))  # ISO: not the format given
    folder = tmp_path / "yymmdd"
    folder.mkdir()
    bal, txn = _inputs(folder, short, odd)
    job = Job(bal, txn, H1, rules=_rules(tmp_path), date_format="%y%m%d")
    formatted = run(job)
    assert formatted.scores.equals(plain.scores)
    assert _rejects(formatted) == [(4, "date", "2026-02-03", "not a date in the format %y%m%d")]
    assert formatted.rejects["file"].to_list() == [txn]
    pl.read_csv(bal, infer_schema=False).write_parquet(folder / "bal.parquet")  # dates text
    typed = run(Job(str(folder / "bal.parquet"), txn, H1, rules=job.rules, date_format="%y%m%d"))
    assert typed.scores.equals(plain.scores)
    seen = inspect(bal, txn, date_format="%y%m%d")  # validate reads it too
    assert seen.counts["transactions"]["rejected"] == 1


# --- negative balances --------------------------------------------------------------


def test_negative_balances_zero_by_hand(tmp_path: Path) -> None:
    inputs = _inputs(tmp_path, OVERDRAFTS, [("C1", "2026-02-03", "POS", "1.00")])
    zero = run(Job(*inputs, H1, rules=_rules(tmp_path, ZERO)))
    assert _amounts(zero) == ZERO_SCORES
    assert zero.summary["overdrawn"] == OVERDRAWN
    assert zero.summary["rows"]["balances"] == {
        "read": 11, "used": 7, "excluded": 0, "unmapped": 1, "outside_window": 1,
        "duplicate": 0, "rejected": 2,
    }  # fmt: skip
    reason = "conflicting rows for the same account_id and date"
    assert _rejects(zero) == [(11, "balance", "-1.50", reason), (12, "balance", "-2.00", reason)]
    parts = run(Job(*inputs, H1, rules=_rules(tmp_path, ZERO), rows_per_part=4))
    assert parts.summary["overdrawn"] == OVERDRAWN  # accounts add up across parts
    assert parts.scores.equals(zero.scores)
    typed = run(Job(as_parquet(Path(inputs[0])), inputs[1], H1, rules=_rules(tmp_path, ZERO)))
    assert typed.summary["overdrawn"] == OVERDRAWN  # the one pass that rereads typed files
    assert typed.scores.equals(zero.scores)
    rejected = run(Job(*inputs, H1, rules=_rules(tmp_path)))  # "reject", as before
    assert _amounts(rejected) == REJECT_SCORES
    assert "overdrawn" not in rejected.summary
    assert sorted(line for line, *_ in _rejects(rejected)) == [3, 5, 6, 8, 10, 11, 12]


@pytest.mark.parametrize("value", ['"zeros"', '"Zero"', "0", "true", '["zero"]'])
def test_a_bad_negative_balances_names_the_key(tmp_path: Path, value: str) -> None:
    path = _rules(tmp_path, f"negative_balances = {value}")
    with pytest.raises(ConfigError) as caught:
        load_rules(path)
    assert str(caught.value).startswith(f"{path}: ruleset.negative_balances: ")
    assert load_rules(_rules(tmp_path, ZERO)).negative_balances == "zero"
    assert load_rules(_rules(tmp_path)).negative_balances == "reject"


# --- the window meets the data ------------------------------------------------------

BALANCES = [("C1", "A1", "CUR", "2025-06-30", "181"), ("C2", "A2", "CUR", "2026-03-01", "10")]


def test_a_window_that_misses_the_data_stops(tmp_path: Path) -> None:
    """Every usable transaction lies outside the window: exit 2 naming the dates of
    the usable rows (not of the unmapped or rejected ones) and the window."""
    txns = [("C1", "2025-03-01", "POS", "1.00"), ("C1", "2025-11-30", "POS", "1.00"),
            ("C1", "2024-01-01", "ODD", "1.00"), ("C1", "2026-02-01", "ODD", "1.00"),
            ("C1", "2023-01-01", "POS", "-1.00")]  # fmt: skip
    job = Job(*_inputs(tmp_path, BALANCES, txns), H1, rules=_rules(tmp_path))
    with pytest.raises(InputError) as caught:
        run(job)
    assert str(caught.value) == (
        "transactions: rows from 2025-03-01 to 2025-11-30, none in the window "
        "2026-01-01 – 2026-06-30 (--period 2026H1): give a window the data covers"
    )
    job.window = parse_window("2025-12", 12)  # now both meet it
    assert run(job).summary["warnings"] == []
    job.window = parse_window("2024H1")
    missed = r"^balances: rows from 2025-06-30 to 2026-03-01, none in the window 2024-01-01"
    with pytest.raises(InputError, match=missed + r" – 2024-06-30 \(--period 2024H1\)"):
        run(job)


def test_no_usable_row_outside_is_no_stop(tmp_path: Path) -> None:
    """Rows of codes the rule set does not count, or of a source it scores nothing
    from, do not stop the run, whatever their dates."""
    txns = [("C1", "2025-03-01", "ODD", "1.00"), ("C1", "2025-04-01", "ODD", "1.00")]
    job = Job(*_inputs(tmp_path, BALANCES, txns), H1, rules=_rules(tmp_path))
    assert run(job).summary["rows"]["transactions"]["outside_window"] == 2
    head, tiers = RULES.format(extra="").split("[[tiers]]", 1)
    no_pos = head.split('[[components]]\nid = "pos"')[0] + "[[tiers]]" + tiers
    path = tmp_path / "no_pos.toml"
    path.write_text(no_pos, encoding="utf-8")
    txns = [("C1", "2025-03-01", "POS", "1.00")]
    balances_only = run(Job(*_inputs(tmp_path, BALANCES, txns), H1, rules=str(path)))
    assert balances_only.summary["warnings"] == []


def test_fewer_than_half_in_the_window_warns(tmp_path: Path) -> None:
    """Balances before the window that hold into it are in it; transactions 3 of 7
    in the window warn, 4 of 8 (half) do not; an unmapped code in the window is not
    counted, so it cannot hide the warning."""
    old = [("C1", "A1", "CUR", "2025-01-01", "1"), ("C1", "A1", "CUR", "2025-12-01", "2")]
    inside = [("C1", f"2026-0{m}-01", "POS", "1.00") for m in (1, 2, 3)]
    outside = [("C1", f"2025-0{m}-01", "POS", "1.00") for m in (1, 2, 3, 4)]
    rows = _inputs(tmp_path, [*old, ("C2", "A2", "CUR", "2025-05-05", "3")], inside + outside)
    warned = run(Job(*rows, H1, rules=_rules(tmp_path)))
    assert warned.summary["warnings"] == [
        "transactions: only 3 of 7 rows (42.9%) lie in the window 2026-01-01 – 2026-06-30 "
        "(--period 2026H1); 4 lie outside it"
    ]  # balances: 2 held into the window, 1 superseded before it: no warning
    assert warned.summary["rows"]["balances"]["outside_window"] == 1
    unmapped = _inputs(tmp_path, old, [*inside, ("C1", "2026-04-01", "ODD", "1.00"), *outside])
    assert (
        run(Job(*unmapped, H1, rules=_rules(tmp_path))).summary["warnings"]
        == warned.summary["warnings"]
    )
    half = _inputs(tmp_path, old, [*inside, ("C1", "2026-04-01", "POS", "1.00"), *outside])
    assert run(Job(*half, H1, rules=_rules(tmp_path))).summary["warnings"] == []


def test_the_sample_has_no_warning() -> None:
    job = Job(str(SAMPLE / "balances.csv"), str(SAMPLE / "transactions.csv"), H1)
    summary = run(job).summary
    assert summary["warnings"] == [] and "overdrawn" not in summary


def test_cli_sample_in_the_wrong_half_year_is_exit_2(tmp_path: Path) -> None:
    """The issue's run: 2026 data scored with --period 2025H1 publishes nothing."""
    out = tmp_path / "out"
    done = tierscore_here(
        "score", "--balances", str(SAMPLE / "balances.csv"),
        "--transactions", str(SAMPLE / "transactions.csv"), "--period", "2025H1",
        "--date-format", "%Y-%m-%d", "--out", str(out),
    )  # fmt: skip
    assert done.returncode == 2, done.stderr
    assert "none in the window 2025-01-01 – 2025-06-30 (--period 2025H1)" in done.stderr
    assert not (out / "summary.json").exists() and not (out / "scores.csv").exists()


def _cli(*args: str) -> int:
    """The CLI in this process, its exit code as ``main`` maps it."""
    from tierscore.cli.errors import _outcome
    from tierscore.cli.main import app

    return _outcome(lambda: app(list(args), prog_name="tierscore"), verbose=False)


def test_cli_date_format_and_overdrafts_in_process(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """--date-format on score, validate and explain; a bad one is exit 2 naming it; the
    overdrawn days are printed with the run."""
    rows = [(*r[:3], r[3].replace("-", "")[2:], r[4]) for r in OVERDRAFTS]
    bal, txn = _inputs(tmp_path, rows, [("C1", "260203", "POS", "1.00")])
    given = ["--balances", bal, "--transactions", txn, "--date-format", "%y%m%d"]
    rules = ["--rules", _rules(tmp_path, ZERO), "--max-reject-rate", "1"]
    assert _cli("score", *given, *rules, "-p", "2026H1", "-o", str(tmp_path / "o")) == 0
    assert "overdrawn: 163 account-days of 3 accounts counted as 0" in capsys.readouterr().err
    summary = json.loads((tmp_path / "o" / "summary.json").read_text(encoding="utf-8"))
    assert summary["overdrawn"] == OVERDRAWN and summary["warnings"] == []
    manifest = json.loads((tmp_path / "o" / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["date_format"] == "%y%m%d"
    assert _cli("validate", *given, *rules, "--json") == 0
    assert json.loads(capsys.readouterr().out)["inputs"]["balances"]["rejected"] == 2
    assert _cli("validate", *given[:4], "--date-format", "%Y-%m") == 2
    assert "--date-format" in capsys.readouterr().err
    assert _cli("explain", "C1", *given, *rules[:2], "-p", "2026H1", "--json") == 0
    deposits = json.loads(capsys.readouterr().out)["components"][0]
    assert deposits["amount"] == "356.00"  # the overdrawn days count 0 here too
    assert [p["daily_average"] for p in deposits["parts"]] == ["356.00"]


@pytest.mark.spark
def test_spark_parity_zero_and_date_format(spark: Any, tmp_path: Path) -> None:
    """The Spark engine parses the format and counts overdrafts as the polars one."""
    from tierscore.scoring import spark_engine

    rows = [(*r[:3], r[3].replace("-", "")[2:], r[4]) for r in OVERDRAFTS]
    txns = [("C1", "260203", "POS", "1.00"), ("C1", "2026-02-03", "POS", "2.00")]
    job = Job(*_inputs(tmp_path, rows, txns), H1, rules=_rules(tmp_path, ZERO))
    job.date_format = "%y%m%d"
    local, remote = run(job), spark_engine.run(job, spark=spark)
    assert remote.scores.equals(local.scores)
    assert remote.rejects.equals(local.rejects)
    assert remote.summary == local.summary
    assert local.summary["overdrawn"] == OVERDRAWN and _amounts(local) == ZERO_SCORES
    job.window = parse_window("2027H1")
    with pytest.raises(InputError, match="none in the window 2027-01-01"):
        spark_engine.run(job, spark=spark)
