"""Balance layouts: change log, zipper table (intervals), accumulations (积数), postings.

Every layout of one history gives the same scores (the README's examples by hand,
random histories against the row-by-row reference); what a layout cannot use is
rejected with its file, line and reason, never guessed.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import tempfile
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tierscore.scoring.errors import InputError
from tierscore.scoring.layouts import detect_layout, layout_of
from tierscore.scoring.pipeline import Job, Result, inspect, run
from tierscore.scoring.window import parse_window

from .conftest import write_csv
from .simple_reference import reference_points, round_half_up

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT / "sample_data" / "layouts"
JANUARY = parse_window(None, None, date(2026, 1, 1), date(2026, 1, 31))
KEYS = ("customer_id", "account_id", "product")
COLUMNS = {
    "changes": (*KEYS, "date", "balance"),
    "intervals": (*KEYS, "start_date", "end_date", "balance"),
    "accumulations": (*KEYS, "start_date", "end_date", "accumulated"),
    "postings": (*KEYS, "date", "seq", "balance"),
}
TXN = ("customer_id", "txn_id", "date", "txn_type", "amount")


def _score(tmp: Path, layout: str, rows: list[tuple], window: Any = JANUARY, **job: Any) -> Result:
    bal = write_csv(tmp / f"{layout}.csv", COLUMNS[layout], rows)
    txn = write_csv(tmp / "t.csv", TXN, [])
    return run(Job(str(bal), str(txn), window, **job))


def _amount(result: Result, customer: str = "C1") -> Decimal:
    scores = result.scores.filter(pl.col("customer_id") == customer)
    return scores["short_term_assets_amount"][0]


def _rejects(result: Result) -> list[tuple[int, str, str]]:
    return [(r["line"], r["column"], r["reason"]) for r in result.rejects.iter_rows(named=True)]


# --- the README's examples: one January, four layouts --------------------------------


@pytest.mark.parametrize("layout", ["changes", "intervals", "accumulations", "postings"])
def test_readme_examples_give_one_daily_average(layout: str) -> None:
    """300.00 held in late December (outside the window), then 1,000.00 for ten days and
    500.00 for 21: (1,000 x 10 + 500 x 21) / 31 = 661.29 whichever layout holds it."""
    txn = str(SAMPLES / "transactions.csv")
    result = run(Job(str(SAMPLES / f"{layout}.csv"), txn, JANUARY))
    assert _amount(result) == Decimal("661.29")
    rows = result.summary["rows"]["balances"]  # type: ignore[index]
    outside = 0 if layout == "postings" else 1  # postings start in January
    assert rows == {"read": 3, "used": 3 - outside, "excluded": 0, "unmapped": 0,
                    "outside_window": outside, "duplicate": 0, "rejected": 0}  # fmt: skip
    assert result.inputs["balances"][0].as_dict()["layout"] == layout


def test_readme_shows_the_sample_files() -> None:
    """The README's example blocks are the sample files its commands score."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    shown = dict(re.findall(r"`sample_data/layouts/(\w+)\.csv`:\n\n```csv\n(.*?)```", readme, re.S))
    assert set(shown) == {"changes", "intervals", "accumulations", "postings"}
    for layout, text in shown.items():
        assert text == (SAMPLES / f"{layout}.csv").read_text(encoding="utf-8"), layout


def test_cli_records_the_layout_and_a_forced_one_names_the_missing_column(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """End to end: the manifest says which layout was read; forcing another whose
    columns the file lacks stops with exit 2 naming them, before anything is written."""
    tierscore = str(Path(sys.executable).with_name("tierscore"))
    given = ["--balances", str(SAMPLES / "intervals.csv"),
             "--transactions", str(SAMPLES / "transactions.csv"),
             "--from", "2026-01-01", "--to", "2026-01-31", "-q"]  # fmt: skip
    done = subprocess.run([tierscore, "score", *given, "-o", str(tmp_path / "o")],
                          capture_output=True, text=True, timeout=120)  # fmt: skip
    assert done.returncode == 0, done.stderr
    manifest = json.loads((tmp_path / "o" / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["inputs"]["balances"][0]["layout"] == "intervals"
    assert "layout" not in manifest["inputs"]["transactions"][0]
    forced = ["--balance-layout", "postings", "-o", str(tmp_path / "p")]
    assert _cli("score", *given, *forced) == 2
    assert "missing required column(s): date, seq" in capsys.readouterr().err
    assert not (tmp_path / "p" / "scores.csv").exists()
    assert _cli("score", *given, "--balance-layout", "zipper", "-o", str(tmp_path / "z")) == 2
    assert "--balance-layout" in capsys.readouterr().err


def _cli(*args: str) -> int:
    """The CLI in this process, its exit code as ``main`` maps it."""
    from tierscore.cli.errors import _outcome
    from tierscore.cli.main import app

    return _outcome(lambda: app(list(args), prog_name="tierscore"), verbose=False)


# --- detection -------------------------------------------------------------------------


def test_detection_from_columns() -> None:
    assert detect_layout({"date", "balance"}) == "changes"
    assert detect_layout({"start_date", "end_date", "balance"}) == "intervals"
    assert detect_layout({"start_date", "end_date", "accumulated"}) == "accumulations"
    assert detect_layout({"start_date", "end_date", "balance", "accumulated"}) == "accumulations"
    assert detect_layout({"date", "seq", "balance"}) == "postings"
    assert detect_layout({"start_date", "balance"}) == "intervals"  # then end_date is named
    with pytest.raises(InputError, match=r"seq \(postings\) and start_date"):
        detect_layout({"date", "seq", "start_date", "end_date", "balance"}, "b.csv")
    assert layout_of(["customer_id", "date", "balance"]) == "changes"


def test_a_layout_without_all_its_columns_names_the_missing_one(tmp_path: Path) -> None:
    bal = tmp_path / "b.csv"
    bal.write_text("customer_id,account_id,product,start_date,balance\n", encoding="utf-8")
    txn = write_csv(tmp_path / "t.csv", TXN, [])
    with pytest.raises(InputError, match=r"missing required column\(s\): end_date"):
        run(Job(str(bal), str(txn), JANUARY))
    both = tmp_path / "both.csv"
    both.write_text("customer_id,account_id,product,date,seq,start_date,balance\n", "utf-8")
    with pytest.raises(InputError, match="choose one with --balance-layout"):
        run(Job(str(both), str(txn), JANUARY))
    job = Job(str(both), str(txn), JANUARY, balance_layout="changes")  # forced: seq ignored
    assert run(job).summary["rows"]["balances"]["read"] == 0  # type: ignore[index]


def test_layout_columns_are_mapped_through_columns(tmp_path: Path) -> None:
    """A warehouse's own names (开始日期, 结束日期, 流水号) map to the layout's columns."""
    from tierscore.scoring.sources import parse_mapping

    mapping = tmp_path / "columns.toml"
    mapping.write_text('[balances]\nstart_date = "开始日期"\nend_date = "结束日期"\n'
                       'accumulated = "积数"\nseq = "流水号"\n', encoding="utf-8")  # fmt: skip
    names = parse_mapping(str(mapping))
    rows = [("C1", "A1", "CURRENT", "2026-01-01", "2026-01-31", "31000.00")]
    bal = write_csv(tmp_path / "b.csv", (*KEYS, "开始日期", "结束日期", "积数"), rows)
    txn = write_csv(tmp_path / "t.csv", TXN, [])
    result = run(Job(str(bal), str(txn), JANUARY, mapping=names))
    assert _amount(result) == Decimal("1000.00")
    assert result.inputs["balances"][0].layout == "accumulations"


def test_files_of_two_layouts_in_one_input_stop_the_run(tmp_path: Path) -> None:
    folder = tmp_path / "bal"
    folder.mkdir()
    write_csv(folder / "a.csv", COLUMNS["changes"], [("C1", "A1", "CURRENT", "2026-01-01", "1")])
    rows = [("C1", "A2", "CURRENT", "2026-01-01", "", "1")]
    write_csv(folder / "b.csv", COLUMNS["intervals"], rows)
    txn = write_csv(tmp_path / "t.csv", TXN, [])
    with pytest.raises(InputError, match="one input holds one layout"):
        run(Job(str(folder), str(txn), JANUARY))


# --- intervals -------------------------------------------------------------------------


def test_open_ends_hold_through_the_window(tmp_path: Path) -> None:
    """A blank end, 9999-12-31 and 2099-12-31 are all open; an interval ending before
    the window counts nothing; a gap counts 0."""
    rows = [
        ("C1", "A1", "CURRENT", "2026-01-22", "", "100.00"),  # 10 days
        ("C1", "A2", "CURRENT", "2026-01-22", "9999-12-31", "100.00"),  # 10 days
        ("C1", "A3", "CURRENT", "2026-01-22", "2099-12-31", "100.00"),  # 10 days
        ("C1", "A4", "CURRENT", "2026-01-01", "2026-01-01", "310.00"),  # 1 day, then a gap
        ("C1", "A4", "CURRENT", "2026-01-30", "2026-02-27", "31.00"),  # 2 days of January
        ("C1", "A5", "CURRENT", "2025-01-01", "2025-12-31", "999.00"),  # outside
    ]
    result = _score(tmp_path, "intervals", rows)
    # (3 x 100 x 10 + 310 + 31 x 2) / 31 = 3,372 / 31 = 108.77
    assert _amount(result) == Decimal("108.77")
    rows_counted = result.summary["rows"]["balances"]  # type: ignore[index]
    assert rows_counted["used"] == 5 and rows_counted["outside_window"] == 1


def test_overlapping_intervals_all_rejected_with_file_and_line(tmp_path: Path) -> None:
    """Which of two overlapping intervals holds on their common days is unknowable: both
    (and a repeat of one) are rejected, a third that touches neither is used, and an
    exact repeat of a good row is a duplicate. The overlap's days count 0."""
    rows = [
        ("C1", "A1", "CURRENT", "2026-01-01", "2026-01-10", "100.00"),  # line 2
        ("C1", "A1", "CURRENT", "2026-01-05", "2026-01-20", "200.00"),  # 3: overlaps 2
        ("C1", "A1", "CURRENT", "2026-01-05", "2026-01-20", "200.00"),  # 4: repeat of 3
        ("C1", "A1", "CURRENT", "2026-01-21", "2026-01-31", "310.00"),  # 5: used
        ("C1", "A1", "CURRENT", "2026-01-21", "2026-01-31", "310.00"),  # 6: duplicate
        ("C1", "A2", "CURRENT", "2026-01-10", "2026-01-09", "5.00"),  # 7: ends before start
        ("C1", "A3", "CURRENT", "2026-01-01", "", "1.00"),  # 8: open, and
        ("C1", "A3", "CURRENT", "2026-01-31", "2026-01-31", "2.00"),  # 9: inside it
    ]
    result = _score(tmp_path, "intervals", rows)
    overlap = "conflicting rows: the period overlaps another of the same account_id"
    assert _rejects(result) == [
        (2, "start_date", overlap),
        (3, "start_date", overlap),
        (4, "start_date", overlap),
        (7, "end_date", "end_date before start_date"),
        (8, "start_date", overlap),
        (9, "start_date", overlap),
    ]
    assert result.rejects["file"].str.ends_with("intervals.csv").all()
    assert _amount(result) == Decimal("110.00")  # 310 x 11 / 31
    counted = result.summary["rows"]["balances"]  # type: ignore[index]
    assert (counted["used"], counted["duplicate"], counted["rejected"]) == (1, 1, 6)
    assert counted["read"] == len(rows)


def test_validate_reports_layout_rejects_without_a_window(tmp_path: Path) -> None:
    rows = [
        ("C1", "A1", "CURRENT", "2026-01-01", "2026-01-10", "100.00"),
        ("C1", "A1", "CURRENT", "2026-01-10", "", "200.00"),
        ("C1", "A2", "CURRENT", "2026-01-01", "", "1.00"),
        ("C1", "A2", "CURRENT", "2026-01-01", "", "1.00"),
    ]
    bal = write_csv(tmp_path / "b.csv", COLUMNS["intervals"], rows)
    found = inspect(str(bal), str(write_csv(tmp_path / "t.csv", TXN, [])))
    assert found.counts["balances"] == {"read": 4, "valid": 1, "duplicate": 1, "rejected": 2}
    assert found.rejects["line"].to_list() == [2, 3]


# --- accumulations ---------------------------------------------------------------------


def test_accumulations_inside_count_outside_do_not_straddling_are_rejected(tmp_path: Path) -> None:
    rows = [
        ("C1", "A1", "CURRENT", "2026-01-01", "2026-01-31", "3100.00"),  # inside: 100 a day
        ("C1", "A1", "CURRENT", "2025-12-01", "2025-12-31", "9999.99"),  # outside
        ("C1", "A2", "CURRENT", "2025-12-15", "2026-01-14", "3100.00"),  # straddles the start
        ("C1", "A3", "CURRENT", "2026-01-20", "2026-02-05", "1700.00"),  # straddles the end
        ("C1", "A4", "CURRENT", "2026-01-05", "", "31.00"),  # no end: not a period
        ("C1", "A5", "CURRENT", "2026-01-05", "2026-01-06", "0.015"),  # not exact cents
        ("C1", "A6", "CURRENT", "2026-01-05", "2026-01-06", "62.00"),  # inside: 2 a day
    ]
    result = _score(tmp_path, "accumulations", rows)
    assert _amount(result) == Decimal("102.00")  # (3,100 + 62) / 31
    reasons = {line: reason for line, _, reason in _rejects(result)}
    window = "2026-01-01..2026-01-31: an accumulation cannot be split exactly"
    assert reasons[4] == f"the period 2025-12-15..2026-01-14 straddles the window {window}"
    assert "2026-01-20..2026-02-05 straddles the window 2026-01-01..2026-01-31" in reasons[5]
    assert reasons[6].startswith("an accumulation needs an end_date")
    assert reasons[7] == "more than 2 decimal places"
    counted = result.summary["rows"]["balances"]  # type: ignore[index]
    assert (counted["used"], counted["outside_window"], counted["rejected"]) == (2, 1, 4)


# --- postings --------------------------------------------------------------------------


def test_the_last_posting_of_a_day_by_seq_numbers_or_text(tmp_path: Path) -> None:
    """Integer seqs compare as numbers (9 before 10); an account with any other seq
    compares them as text ("10" before "9"); rows come in any order."""
    rows = [
        ("C1", "A1", "CURRENT", "2026-01-01", "10", "3100.00"),  # A1's day: 10 is last
        ("C1", "A1", "CURRENT", "2026-01-01", "9", "9999.00"),
        ("C2", "A2", "CURRENT", "2026-01-01", "9", "6200.00"),  # as text "9" is last
        ("C2", "A2", "CURRENT", "2026-01-01", "10", "9999.00"),
        ("C2", "A2", "CURRENT", "2026-01-01", "0x", "9999.00"),
        ("C3", "A3", "CURRENT", "2026-01-01", "2026-01-01 17:30:00", "93.00"),  # timestamps
        ("C3", "A3", "CURRENT", "2026-01-01", "2026-01-01 09:00:00", "1.00"),
    ]
    result = _score(tmp_path, "postings", rows)
    assert _amount(result, "C1") == Decimal("3100.00")
    assert _amount(result, "C2") == Decimal("6200.00")
    assert _amount(result, "C3") == Decimal("93.00")
    counted = result.summary["rows"]["balances"]  # type: ignore[index]
    assert counted["used"] == counted["read"] == 7  # superseded postings were used


def test_one_seq_twice_is_a_duplicate_or_a_conflict(tmp_path: Path) -> None:
    rows = [
        ("C1", "A1", "CURRENT", "2026-01-01", "1", "3100.00"),  # line 2
        ("C1", "A1", "CURRENT", "2026-01-01", "1", "3100.00"),  # 3: duplicate of 2
        ("C1", "A1", "CURRENT", "2026-01-11", "2", "100.00"),  # 4: conflicts with 5
        ("C1", "A1", "CURRENT", "2026-01-11", "2", "200.00"),  # 5
        ("C1", "A1", "CURRENT", "2026-01-11", "02", "300.00"),  # 6: seq 2 as a number
    ]
    result = _score(tmp_path, "postings", rows)
    conflict = "conflicting rows for the same account_id and seq"
    assert _rejects(result) == [(4, "seq", conflict), (5, "seq", conflict), (6, "seq", conflict)]
    assert _amount(result) == Decimal("3100.00")  # the conflicting day is stepped over
    counted = result.summary["rows"]["balances"]  # type: ignore[index]
    assert (counted["used"], counted["duplicate"], counted["rejected"]) == (1, 1, 3)


# --- property: four layouts of one random history score alike --------------------------

WINDOW = parse_window(None, None, date(2026, 1, 1), date(2026, 2, 28))
FIRST, LAST = date(2025, 12, 29), date(2026, 3, 2)  # the history, a little beyond the window
PRODUCTS = ["CURRENT", "TIME", "MMF", "ODD"]
MONTHS = [(date(2025, 12, 1), date(2025, 12, 31)), (date(2026, 1, 1), date(2026, 1, 31)),
          (date(2026, 2, 1), date(2026, 2, 28)), (date(2026, 3, 1), date(2026, 3, 31))]  # fmt: skip

changes_of = st.lists(
    st.tuples(st.integers(0, 55), st.integers(0, 10**7)),  # from Dec 29 to Feb 22: each
    # account has days in the window (else a run of them all outside would stop)
    min_size=1,
    max_size=5,
    unique_by=lambda change: change[0],
)
account = st.tuples(st.sampled_from(["C1", "C2"]), st.sampled_from(PRODUCTS), changes_of)


def _yuan(cents: int) -> str:
    return f"{cents // 100}.{cents % 100:02d}"


def _daily(changes: list[tuple[int, int]]) -> dict[date, int]:
    """The end-of-day balance (cents) of each day from the first change to ``LAST``."""
    ordered = sorted(changes)
    out, at = {}, 0
    for offset in range(ordered[0][0], (LAST - FIRST).days + 1):
        while at < len(ordered) and ordered[at][0] <= offset:
            at += 1
        out[FIRST + timedelta(days=offset)] = ordered[at - 1][1]
    return out


def _layouts(accounts: list[tuple], seed: int) -> dict[str, list[tuple]]:
    """One history in the four layouts: a change log; intervals with an open last one
    (blank or a far date) and a gap for a zero balance; accumulations over the calendar
    months (those outside the window count nothing); postings, two or three a day with
    integer or timestamp seqs, shuffled."""
    import random

    rng = random.Random(seed)
    out: dict[str, list[tuple]] = {name: [] for name in COLUMNS}
    for number, (customer, product, changes) in enumerate(accounts):
        key = (customer, f"A{number}", product)
        daily = _daily(changes)
        days = sorted(daily)
        runs = [d for d in days if d == days[0] or daily[d] != daily[d - timedelta(days=1)]]
        for start, after in zip(runs, [*runs[1:], None], strict=True):
            out["changes"].append((*key, start, _yuan(daily[start])))
            end = after - timedelta(days=1) if after else rng.choice(["", "9999-12-31"])
            if daily[start] or after is None:
                out["intervals"].append((*key, start, end, _yuan(daily[start])))
        for first, last in MONTHS:
            held = [daily[d] for d in days if first <= d <= last]
            if held:
                period = (max(first, days[0]), min(last, days[-1]))
                out["accumulations"].append((*key, *period, _yuan(sum(held))))
        seq = 7  # crosses 9 -> 10: numbers, not text
        stamps = number % 2 == 1  # every other account: timestamps, compared as text
        for start in runs:
            for n in range(rng.randint(0, 2)):
                shown = f"{start}T0{n}:00:00" if stamps else str(seq)
                out["postings"].append((*key, start, shown, _yuan(rng.randint(0, 10**6))))
                seq += 1
            shown = f"{start}T09:00:00" if stamps else str(seq)
            out["postings"].append((*key, start, shown, _yuan(daily[start])))
            seq += 1
    rng.shuffle(out["postings"])
    return out


@settings(max_examples=8, deadline=None)
@given(accounts=st.lists(account, min_size=1, max_size=3), seed=st.integers(0, 1000))
def test_four_layouts_of_one_history_score_as_the_reference(accounts: list, seed: int) -> None:
    layouts = _layouts(accounts, seed)
    expected = reference_points(layouts["changes"], [], WINDOW.start, WINDOW.end)
    for layout, rows in layouts.items():  # the reference reads every layout alike
        found = reference_points(rows, [], WINDOW.start, WINDOW.end, layout)
        assert found == expected, layout
    with tempfile.TemporaryDirectory() as tmp:
        for layout, rows in layouts.items():
            scores = _score(Path(tmp), layout, rows, WINDOW).scores
            got = dict(zip(scores["customer_id"], scores["points"], strict=True))
            assert got == {c: round_half_up(p) for c, p in expected.items()}, layout


# --- Spark: the same polars code in every task ----------------------------------------


@pytest.mark.spark
def test_spark_measures_every_layout_as_polars(spark: Any, tmp_path: Path) -> None:
    """Intervals, accumulations and postings, rejects included, on both engines."""
    from tierscore.scoring import spark_engine

    cases = {
        "intervals": [("C1", "A1", "CURRENT", "2026-01-01", "2026-01-10", "100.00"),
                      ("C1", "A1", "CURRENT", "2026-01-05", "", "200.00"),
                      ("C2", "A2", "TIME", "2026-01-05", "2099-12-31", "300.00")],
        "accumulations": [("C1", "A1", "CURRENT", "2026-01-01", "2026-01-31", "3100.00"),
                          ("C1", "A2", "CURRENT", "2025-12-20", "2026-01-05", "10.00"),
                          ("C2", "A3", "TIME", "2025-12-01", "2025-12-31", "10.00")],
        "postings": [("C1", "A1", "CURRENT", "2026-01-01", "9", "100.00"),
                     ("C1", "A1", "CURRENT", "2026-01-01", "10", "200.00"),
                     ("C2", "A2", "TIME", "2026-01-03", "1", "5.00"),
                     ("C2", "A2", "TIME", "2026-01-03", "1", "6.00")],
    }  # fmt: skip
    for layout, rows in cases.items():
        bal = write_csv(tmp_path / f"{layout}.csv", COLUMNS[layout], rows)
        job = Job(str(bal), str(write_csv(tmp_path / "t.csv", TXN, [])), JANUARY)
        local, remote = run(job), spark_engine.run(job, spark=spark)
        assert remote.scores.equals(local.scores), layout
        assert remote.rejects.equals(local.rejects), layout
        assert remote.summary == local.summary, layout
        assert local.rejects.height > 0, layout
        assert remote.inputs["balances"][0].layout == layout


def test_overdrafts_under_zero_count_alike_in_every_layout(tmp_path: Path) -> None:
    """``negative_balances = "zero"``: the overdrawn end-of-day balances of a change log
    count 0 and are counted as overdrawn account-days, as intervals and postings of the
    same days are; a posting overdrawn in the day and covered by its end is no
    overdrawn day. Loans' signs apply to every layout (test_checks' rule set)."""
    from .test_checks import OVERDRAFTS, OVERDRAWN, RULES, ZERO

    rules = tmp_path / "rules.toml"
    rules.write_text(RULES.format(extra=ZERO), encoding="utf-8")
    changes = OVERDRAFTS[:9]  # without the conflict (a change log's own)
    intervals, postings = [], []
    for index, (customer, account, product, day, balance) in enumerate(changes):
        after = [r[3] for r in changes[index + 1 :] if r[1] == account]
        end = date.fromisoformat(after[0]) - timedelta(days=1) if after else ""
        intervals.append((customer, account, product, day, end, balance))
        postings.append((customer, account, product, day, str(2 * index + 1), balance))
        postings.append((customer, account, product, day, str(2 * index), "-999.00"))
    results = {
        layout: _score(tmp_path, layout, rows, parse_window("2026H1"), rules=str(rules))
        for layout, rows in (("changes", changes), ("intervals", intervals),
                             ("postings", postings))
    }  # fmt: skip
    for layout, result in results.items():
        assert result.summary["overdrawn"] == OVERDRAWN, layout
        assert result.scores.equals(results["changes"].scores), layout
        assert result.rejects.height == 0, layout


@pytest.mark.parametrize("layout", ["intervals", "accumulations", "postings"])
def test_explain_takes_every_layout_apart(layout: str) -> None:
    """One customer's accounts: the balance-days and the days they were held."""
    from tierscore.scoring.explain import explain

    job = Job(str(SAMPLES / f"{layout}.csv"), str(SAMPLES / "transactions.csv"), JANUARY)
    found = explain(job, "C1")
    accounts = [a for c in found["components"] for a in c.get("parts") or []]
    assert [(a["balance_days"], a["days"], a["daily_average"]) for a in accounts] == [
        ("20500.00", 31, "661.29")
    ]


def test_superseded_postings_count_where_their_day_does(tmp_path: Path) -> None:
    """A day's earlier postings are used when the day counts in the window, outside it
    when it does not (a December day superseded by the January one)."""
    rows = [
        ("C1", "A1", "CURRENT", "2025-12-30", "1", "50.00"),  # outside: December only
        ("C1", "A1", "CURRENT", "2025-12-30", "2", "60.00"),  # outside
        ("C1", "A1", "CURRENT", "2025-12-31", "3", "70.00"),  # Dec 31's last: carries in
        ("C1", "A1", "CURRENT", "2025-12-31", "4", "3100.00"),
        ("C1", "A1", "CURRENT", "2026-01-11", "5", "0.00"),  # closes it: 10 days counted
    ]
    result = _score(tmp_path, "postings", rows)
    assert _amount(result) == Decimal("1000.00")  # 3,100 x 10 / 31
    counted = result.summary["rows"]["balances"]  # type: ignore[index]
    assert (counted["used"], counted["outside_window"]) == (3, 2)


def test_a_daily_snapshot_with_term_dates_is_not_taken_for_a_zipper_table(
    tmp_path: Path,
) -> None:
    """A time deposit's daily snapshot may carry its term as start_date/end_date beside
    the snapshot's date: that is no zipper table (it read 31,000 held all January, 310
    points, where the change log gives 1,000). Asked for, never guessed; forced, read."""
    snap = tmp_path / "snap.csv"
    snap.write_text(
        "customer_id,account_id,product,date,balance,start_date,end_date\n"
        "C1,A1,CURRENT,2026-01-31,31000.00,2025-06-01,2026-06-01\n",
        encoding="utf-8",
    )
    txn = write_csv(tmp_path / "t.csv", TXN, [])
    two = r"date \(change log\) and start_date, end_date; .*--balance-layout"
    with pytest.raises(InputError, match=two):
        run(Job(str(snap), str(txn), JANUARY))
    forced = run(Job(str(snap), str(txn), JANUARY, balance_layout="changes"))
    assert _amount(forced) == Decimal("1000.00")
    with pytest.raises(InputError, match="--balance-layout"):
        detect_layout({"customer_id", "date", "accumulated"})


def test_a_zipper_table_in_date_folders_is_still_a_zipper_table(tmp_path: Path) -> None:
    """A dt= folder's date fills a column the file lacks; it is not the file's own, so
    it does not make a zipper table's rows two layouts."""
    folder = tmp_path / "bal" / "dt=2026-01-31"
    folder.mkdir(parents=True)
    row = ("C1", "A1", "CURRENT", "2026-01-01", "2026-01-10", "310.00")
    write_csv(folder / "part-0.csv", COLUMNS["intervals"], [row])
    txn = write_csv(tmp_path / "t.csv", TXN, [])
    result = run(Job(str(tmp_path / "bal"), str(txn), JANUARY))
    assert _amount(result) == Decimal("100.00")  # 310 x 10 days / 31


@pytest.mark.parametrize(
    ("first", "later"),
    [("99999999999999999999", "100000000000000000000"), ("9.0", "10.0"), ("-3", "2")],
)
def test_postings_seq_compare_as_numbers_beyond_int64_and_as_floats(
    tmp_path: Path, first: str, later: str
) -> None:
    """Ids of 20 and 21 digits, or a Parquet float column's ``9.0`` and ``10.0``, are
    numbers: as text the earlier posting sorted last and ended the day."""
    rows = [("C1", "A1", "CURRENT", "2026-01-01", later, "3100.00"),
            ("C1", "A1", "CURRENT", "2026-01-01", first, "100.00")]  # fmt: skip
    assert _amount(_score(tmp_path, "postings", rows)) == Decimal("3100.00")
    typed = tmp_path / "p.parquet"
    frame = pl.DataFrame(
        {"customer_id": ["C1", "C1"], "account_id": ["A1", "A1"], "product": ["CURRENT"] * 2,
         "date": [date(2026, 1, 1)] * 2, "seq": [10.0, 9.0], "balance": [3100.0, 100.0]}
    )  # fmt: skip
    frame.write_parquet(typed)
    txn = write_csv(tmp_path / "t2.csv", TXN, [])
    assert _amount(run(Job(str(typed), str(txn), JANUARY))) == Decimal("3100.00")
