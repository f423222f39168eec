"""Hand-computed scoring cases: SPEC's worked example, tier bounds, every rule of SPEC 1-4."""

from __future__ import annotations

from contextlib import AbstractContextManager, nullcontext
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import polars as pl
import pytest

from tierscore.scoring.pipeline import Job, Result, run
from tierscore.scoring.window import parse_window

from .conftest import BAL_COLUMNS, TXN_COLUMNS, Scorer, as_parquet, txn_rows, write_csv

D = Decimal
WORKED_BALANCES = [
    ("C1", "C1-CUR", "CURRENT", "2025-12-31", "100000.00"),
    ("C1", "C1-TD", "TIME", "2026-04-01", "362000.00"),
]
WORKED_TXNS = [
    ("C1", "2026-01-15", "POS", "5000.00"),
    ("C1", "2026-03-02", "POS", "4500.00"),
    ("C1", "2026-05-20", "POS", "3000.00"),
    ("C1", "2026-02-10", "INTERBANK_REMIT", "50000.00", "50.00"),
    ("C1", "2026-04-18", "INTERBANK_REMIT", "20000.00", "0.00"),
]


def test_spec_worked_example(score_rows: Scorer) -> None:
    c1 = score_rows(WORKED_BALANCES, WORKED_TXNS)["C1"]
    assert c1["short_term_assets_amount"] == D("100000.00")
    assert c1["short_term_assets_points"] == D("1350.00")
    assert c1["long_term_assets_amount"] == D("182000.00")
    assert c1["long_term_assets_points"] == D("1820.00")
    assert c1["card_spending_amount"] == D("12500.00")
    assert c1["card_spending_points"] == D("500.00")
    assert c1["settlement_amount"] == D("10000.00")
    assert c1["settlement_points"] == D("200.00")
    assert c1["points"] == D("3870.00")
    assert (c1["tier"], c1["quality"], c1["next_tier"]) == ("五星级", True, "六星级")
    assert c1["points_to_next"] == D("6130.00")


def _split(total: int, days_a: int, days_b: int) -> tuple[int, int]:
    """Cents a, b with a*days_a + b*days_b == total, neither part a multiple of 181."""
    b = total // (2 * days_b)
    while (total - b * days_b) % days_a or (b * days_b) % 181 == 0:
        b += 1
    return (total - b * days_b) // days_a, b


def _cents(cents: int) -> str:
    return f"{cents // 100}.{cents % 100:02d}"


BOUNDS = [
    (50, "三星级", "准星级"),
    (500, "四星级", "三星级"),
    (2_000, "五星级", "四星级"),
    (10_000, "六星级", "五星级"),
    (80_000, "七星级", "六星级"),
]


@pytest.mark.parametrize(("bound", "upper", "lower"), BOUNDS)
def test_exact_bound_lands_in_upper_tier(
    score_rows: Scorer, bound: int, upper: str, lower: str
) -> None:
    """Two long-term accounts (rate 100 per 10,000) held 91 and 120 of 181 days.

    Each part's daily average is a/181 with no finite decimal form; only the
    sum hits the bound exactly.
    """
    opened_a, opened_b = date(2026, 4, 1), date(2026, 7, 1) - timedelta(days=120)
    total = bound * 100 * 181 * 100  # cent-days that give exactly `bound` points
    a, b = _split(total, 91, 120)
    rows = [
        ("ON", "A", "TIME", opened_a.isoformat(), _cents(a)),
        ("ON", "B", "FUND", opened_b.isoformat(), _cents(b)),
        ("BELOW", "A2", "TIME", opened_a.isoformat(), _cents(a - 1)),
        ("BELOW", "B2", "FUND", opened_b.isoformat(), _cents(b)),
    ]
    got = score_rows(rows)
    assert got["ON"]["points"] == D(bound)
    assert got["ON"]["tier"] == upper
    assert got["BELOW"]["tier"] == lower
    # one cent for 91 days is 91/181 cent of average: rounds to the bound on display,
    # but what is missing is shown rounded up, never as 0.00
    assert got["BELOW"]["points"] == D(bound)
    assert got["BELOW"]["points_to_next"] == D("0.01")


def test_carry_in_uses_latest_row_before_window(score_rows: Scorer) -> None:
    rows = [
        ("C", "A", "CURRENT", "2025-11-01", "1000.00"),
        ("C", "A", "CURRENT", "2025-12-15", "2000.00"),
    ]
    c = score_rows(rows)["C"]
    assert c["short_term_assets_amount"] == D("2000.00")
    assert c["short_term_assets_points"] == D("27.00")
    assert c["tier"] == "准星级"


def test_days_before_first_row_count_zero_and_close_by_zero_row(score_rows: Scorer) -> None:
    rows = [
        ("OPEN", "A", "CURRENT", "2026-04-01", "181000.00"),  # 91 days
        ("CLOSE", "B", "CURRENT", "2025-12-31", "181000.00"),
        ("CLOSE", "B", "CURRENT", "2026-02-01", "0.00"),  # held Jan 1..31: 31 days
    ]
    got = score_rows(rows)
    assert got["OPEN"]["short_term_assets_amount"] == D("91000.00")
    assert got["CLOSE"]["short_term_assets_amount"] == D("31000.00")


def test_rows_after_window_are_ignored(score_rows: Scorer) -> None:
    base = [("C", "A", "CURRENT", "2025-12-31", "1000.00")]
    later = [*base, ("C", "A", "CURRENT", "2026-07-01", "99999999.00")]
    assert score_rows(base)["C"]["points"] == score_rows(later)["C"]["points"] == D("13.50")


def test_dense_and_sparse_exports_agree(score_rows: Scorer) -> None:
    history = {date(2025, 12, 20): 500_00, date(2026, 2, 14): 1234_56, date(2026, 5, 3): 0}
    sparse = [("C", "A", "WEALTH", d.isoformat(), _cents(v)) for d, v in history.items()]
    dense, current, day = [], 0, date(2025, 12, 20)
    while day <= date(2026, 6, 30):
        current = history.get(day, current)
        dense.append(("C", "A", "WEALTH", day.isoformat(), _cents(current)))
        day += timedelta(days=1)
    a, b = score_rows(sparse)["C"], score_rows(dense)["C"]
    assert a == b
    expected = (500_00 * 44 + 1234_56 * 78) / 181 / 100  # Jan 1..Feb 13, Feb 14..May 2
    assert a["long_term_assets_amount"] == D(f"{expected:.2f}")


def test_settlement_cap_fee_and_fee_ratio(score_rows: Scorer) -> None:
    txns = [
        ("CAP", "2026-03-01", "REMOTE_CASH", "25000.00", "10.00"),  # capped at 10,000
        ("RATIO", "2026-03-01", "EXPRESS_REMIT", "25000.00", "10.00", "0.8"),  # cap, then 0.8
        ("NOFEE", "2026-03-01", "REMOTE_REMIT", "5000.00", "0.00"),  # fee 0: not counted
        ("UNKNOWN", "2026-03-01", "REMOTE_REMIT", "5000.00"),  # fee missing: not counted
        ("POSRATIO", "2026-03-01", "POS", "1000.00", None, "0.5"),  # ratio applies to all
    ]
    got = score_rows((), txns)
    assert got["CAP"]["settlement_amount"] == D("10000.00")
    assert got["CAP"]["points"] == D("200.00")
    assert got["RATIO"]["settlement_amount"] == D("8000.00")
    assert got["RATIO"]["points"] == D("160.00")
    assert got["NOFEE"]["points"] == got["UNKNOWN"]["points"] == D("0.00")
    assert got["NOFEE"]["tier"] == "非星级"
    assert got["POSRATIO"]["card_spending_amount"] == D("500.00")
    assert got["POSRATIO"]["points"] == D("20.00")


def test_investment_and_loans_rates(score_rows: Scorer) -> None:
    rows = [
        ("L", "M", "MORTGAGE", "2025-12-31", "10000.00"),  # 100 per 10,000
        ("L", "K", "CONSUMER_LOAN", "2025-12-31", "10000.00"),  # 200
        ("L", "O", "CC_OVERDRAFT", "2025-12-31", "10000.00"),  # 200
    ]
    txns = [("L", "2026-02-01", "FX_TRADE", "10000.00")]  # 200
    got = score_rows(rows, txns)["L"]
    assert got["mortgage_points"] == D("100.00")
    assert got["other_loans_points"] == D("200.00")
    assert got["card_overdraft_points"] == D("200.00")
    assert got["investment_points"] == D("200.00")
    assert got["points"] == D("700.00")


def test_excluded_unmapped_and_outside_window_score_nothing(score_rows: Scorer) -> None:
    txns = [
        ("X", "2026-03-01", "MMF_BUY", "1000000.00"),
        ("X", "2026-03-01", "ZZ99", "1000000.00"),
        ("X", "2026-03-01", "ZZ99", "5.00"),
        ("X", "2025-12-31", "POS", "1000000.00"),
        ("X", "2026-07-01", "POS", "1000000.00"),
        ("Y", "2026-03-01", "POS", "1.00"),  # a POS in the window: it meets the data
    ]
    results: list[Result] = []
    got = score_rows((), txns, result=results)["X"]
    assert got["points"] == D("0.00")
    assert got["tier"] == "非星级"
    summary = results[0].summary
    assert summary["unmapped_codes"]["transactions"] == {"ZZ99": 2}
    rows = summary["rows"]["transactions"]
    assert (rows["excluded"], rows["unmapped"], rows["outside_window"]) == (1, 2, 2)


def test_customers_in_only_one_input_get_one_row(score_rows: Scorer) -> None:
    got = score_rows(
        [
            ("ONLY_BAL", "A", "CURRENT", "2026-07-02", "5.00"),  # after the window: nothing
            ("ONLY_BAL", "B", "CURRENT", "2026-01-01", "0.00"),
        ],
        [("ONLY_TXN", "2026-03-01", "POS", "250.00")],
    )
    assert set(got) == {"ONLY_BAL", "ONLY_TXN"}
    assert got["ONLY_BAL"]["tier"] == "非星级"
    assert got["ONLY_BAL"]["points"] == D("0.00")
    assert (got["ONLY_BAL"]["next_tier"], got["ONLY_BAL"]["points_to_next"]) == (
        "准星级",
        D("0.01"),
    )
    assert got["ONLY_TXN"]["points"] == D("10.00")
    assert got["ONLY_TXN"]["tier"] == "准星级"


def test_leap_year_h1_has_182_days(score_rows: Scorer) -> None:
    rows = [("C", "A", "CURRENT", "2028-04-01", "100000.00")]  # Apr 1..Jun 30 = 91 days
    got = score_rows(rows, window="2028H1")["C"]
    assert got["short_term_assets_amount"] == D("50000.00")  # 100,000 x 91 / 182
    assert got["points"] == D("675.00")


def test_rolling_six_months(score_rows: Scorer) -> None:
    window = parse_window("2026-11", 6)
    assert window.days == 183
    rows = [("C", "A", "CURRENT", "2026-09-01", "183000.00")]  # Sep 1..Nov 30 = 91 days
    got = score_rows(rows, window=window)["C"]
    assert got["short_term_assets_amount"] == D("91000.00")


def test_seven_star_has_no_next_tier(score_rows: Scorer) -> None:
    got = score_rows([("RICH", "A", "TIME", "2025-01-01", "80000000.00")])["RICH"]
    assert got["tier"] == "七星级"
    assert got["next_tier"] is None and got["points_to_next"] is None


def _typed_parquet(tmp_path: Path, float_amounts: bool) -> tuple[str, str]:
    money = pl.Float64 if float_amounts else pl.Decimal(18, 2)
    bal = pl.DataFrame(
        [list(r) for r in WORKED_BALANCES], schema=list(BAL_COLUMNS), orient="row"
    ).with_columns(pl.col("date").str.to_date(), pl.col("balance").cast(money))
    txn = pl.DataFrame(
        [list(r) for r in txn_rows(WORKED_TXNS)], schema=list(TXN_COLUMNS), orient="row"
    ).with_columns(
        pl.col("date").str.to_datetime("%Y-%m-%d"),
        pl.col("amount", "fee").cast(money),
        pl.col("fee_ratio").cast(pl.Float64),
    )
    suffix = "f" if float_amounts else "d"
    bal.write_parquet(tmp_path / f"bal_{suffix}.parquet")
    txn.write_parquet(tmp_path / f"txn_{suffix}.parquet")
    return str(tmp_path / f"bal_{suffix}.parquet"), str(tmp_path / f"txn_{suffix}.parquet")


@pytest.mark.parametrize("float_amounts", [False, True])
def test_typed_parquet_equals_csv(tmp_path: Path, float_amounts: bool) -> None:
    bal_csv = write_csv(tmp_path / "b.csv", BAL_COLUMNS, WORKED_BALANCES)
    txn_csv = write_csv(tmp_path / "t.csv", TXN_COLUMNS, txn_rows(WORKED_TXNS))
    window = parse_window("2026H1")
    from_csv = run(Job(str(bal_csv), str(txn_csv), window)).scores
    from_parquet = run(Job(*_typed_parquet(tmp_path, float_amounts), window)).scores
    assert from_parquet.equals(from_csv)
    assert from_csv["points"].to_list() == [D("3870.00")]


def test_folder_and_glob_inputs(tmp_path: Path) -> None:
    folder = tmp_path / "bal"
    folder.mkdir()
    write_csv(folder / "part1.csv", BAL_COLUMNS, WORKED_BALANCES[:1])
    write_csv(folder / "part2.csv", BAL_COLUMNS, WORKED_BALANCES[1:])
    txn = write_csv(tmp_path / "t.csv", TXN_COLUMNS, txn_rows(WORKED_TXNS))
    window = parse_window("2026H1")
    by_dir = run(Job(str(folder), str(txn), window)).scores
    by_glob = run(Job(str(folder / "part*.csv"), str(txn), window)).scores
    assert by_dir.equals(by_glob)
    assert by_dir["points"].to_list() == [D("3870.00")]


def test_sums_beyond_int64_stay_exact(score_rows: Scorer) -> None:
    """Cent-days past 2**63 take the 128-bit path instead of wrapping around."""
    rows = [
        ("BIG", "A", "CURRENT", "2025-12-31", "999999999999999.00"),
        ("BIG", "B", "TIME", "2025-12-31", "999999999999999.00"),
        ("SMALL", "C", "CURRENT", "2025-12-31", "100000.00"),
    ]
    got = score_rows(rows)
    assert got["BIG"]["short_term_assets_amount"] == D("999999999999999.00")
    assert got["BIG"]["points"] == D("23499999999999.98")  # x (135 + 100) / 10000, half-up
    assert got["SMALL"]["points"] == D("1350.00")


def test_transaction_sums_beyond_int64_stay_exact(score_rows: Scorer) -> None:
    txns = [("BIG", "2026-02-01", "POS", "999999999999999.00", None, "0.999999")] * 3
    got = score_rows((), txns)["BIG"]
    # 3 x 999,999,999,999,999 x 0.999999 yuan at 400 per 10,000
    assert got["card_spending_amount"] == D("2999996999999997.00")
    assert got["points"] == D("119999879999999.88")


@pytest.mark.parametrize(
    ("dtype", "text", "cents", "reason"),
    [
        (pl.Decimal(18, 2), "12.34", 1234, None),  # rescaled in 64 bits, nothing to check
        (pl.Decimal(10, 0), "12", 1200, None),
        (pl.Decimal(38, 2), "12.34", 1234, None),  # too wide for 64 bits: the checked path
        (pl.Decimal(20, 4), "12.3400", 1234, None),
        (pl.Decimal(20, 4), "12.3456", None, "more than 2 decimal places"),
    ],
)
def test_typed_decimals_become_exact_cents(dtype, text, cents, reason):
    from tierscore.scoring.validate import parse_money

    frame = pl.DataFrame({"amount": [D(text)]}, schema={"amount": dtype})
    parsed = parse_money("amount", dtype, positive=True, optional=False)
    value, why = frame.select(parsed.value, parsed.reason.alias("why")).row(0)
    assert why == reason
    if reason is None:
        assert value == cents


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_packed_status_counts_fall_back_to_plain_counts(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fmt: str
) -> None:
    """The fast fold packs a customer's per-status row counts into one integer, 21
    bits a status. With 2 bits a status, 5 excluded and 6 outside-window rows of one
    customer overflow their fields: the run must notice, fold again with plain
    counts, and count exactly what it counts with room to spare. From Parquet the
    fold also counts bad rows (5 here) and unmapped rows per code (4 of ODD) in
    such fields."""
    from tierscore.scoring import folds, pipeline

    txns = [("C1", "2026-02-01", "POS", "100.00")] * 3
    txns += [("C1", "2026-02-01", "MMF_BUY", "10.00")] * 5  # excluded
    txns += [("C1", "2025-11-01", "POS", "10.00")] * 6  # outside the window
    txns += [("C1", "2026-02-01", "ODD", "10.00")] * 4  # unmapped
    txns += [("C1", "2026-02-01", "POS", "-1.00")] * 5  # bad
    txns += [("C2", "2026-03-01", "POS", "50.00")]
    txn = write_csv(tmp_path / "t.csv", TXN_COLUMNS, txn_rows(txns))
    bal = write_csv(tmp_path / "b.csv", BAL_COLUMNS, [])
    if fmt == "parquet":
        txn, bal = as_parquet(txn), as_parquet(bal)  # type: ignore[assignment]
    job = Job(str(bal), str(txn), parse_window("2026H1"))
    roomy = run(job)
    expected = {"used": 4, "excluded": 5, "unmapped": 4, "outside_window": 6, "rejected": 5}
    assert {k: roomy.summary["rows"]["transactions"][k] for k in expected} == expected
    assert roomy.summary["unmapped_codes"]["transactions"] == {"ODD": 4}
    wide_calls = []
    measure = pipeline._Input.measure

    def counted(
        self: pipeline._Input, name: str, plan: Any, wide: bool = False, part: Any = (1, 0)
    ) -> Any:
        wide_calls.append(wide)
        return measure(self, name, plan, wide, part)

    monkeypatch.setattr(pipeline._Input, "measure", counted)
    monkeypatch.setattr(folds, "PACK_BITS", 2)  # the packed counts and the check alike
    tight = run(job)
    assert True in wide_calls  # the overflow was noticed
    assert tight.summary["rows"] == roomy.summary["rows"]
    assert tight.summary["unmapped_codes"] == roomy.summary["unmapped_codes"]
    assert tight.scores.equals(roomy.scores)
    assert tight.rejects.equals(roomy.rejects)
    monkeypatch.setattr(pipeline, "needs_wide", lambda folded: False)  # no check
    unchecked = run(job)
    assert unchecked.summary["rows"] != roomy.summary["rows"]  # so the check matters


def test_parquet_sums_too_large_for_64_bits(tmp_path: Path) -> None:
    """From Parquet too, a fold whose sums may overflow 64 bits is folded again with
    128-bit sums, with its bad rows and unmapped codes (here none seen in the first
    look, so balances are folded the way CSV is): the same as from CSV."""
    bal = tmp_path / "b.csv"
    bal.write_text(
        "customer_id,account_id,product,date,balance\n"
        "BIG,A,CURRENT,2025-12-31,999999999999999.00\n"
        "BIG,B,TIME,2025-12-31,999999999999999.00\n"
        "BIG,C,ODD,2025-12-31,5.00\n"
        "SMALL,D,CURRENT,2025-12-31,-1.00\n"
        "SMALL,E,CURRENT,2025-12-31,1.00\n",
        encoding="utf-8",
    )
    txn = write_csv(
        tmp_path / "t.csv", TXN_COLUMNS, txn_rows([("BIG", "2026-02-01", "ODD", "9.00")])
    )
    typed = _as_from_csv(bal, txn)
    assert typed.summary["unmapped_codes"]["balances"] == {"ODD": 1}
    assert typed.rejects["reason"].to_list() == ["negative balance"]
    big = typed.scores.filter(pl.col("customer_id") == "BIG")
    assert str(big["short_term_assets_amount"].item()) == "999999999999999.00"


def test_parquet_code_seen_unmapped_in_the_first_look_only(tmp_path: Path) -> None:
    """The first look ends at a row whose next row is beyond it: the look counts it
    unmapped (days to the window's end), the whole input outside the window (its
    next row supersedes it before the window starts). The 128-bit refold, which
    counts unmapped rows but not per code, must still give CSV's answer."""
    bal = tmp_path / "b.csv"
    bal.write_text(
        "customer_id,account_id,product,date,balance\n"
        "C1,A,ODD,2025-12-01,5.00\n"
        "C1,A,CURRENT,2025-12-15,999999999999999.00\n"
        "C2,B,TIME,2025-12-31,999999999999999.00\n",
        encoding="utf-8",
    )
    txn = write_csv(tmp_path / "t.csv", TXN_COLUMNS, [])
    typed = _as_from_csv(bal, txn)
    assert typed.summary["rows"]["balances"]["outside_window"] == 1


def test_parquet_unmapped_products_the_first_look_missed(tmp_path: Path) -> None:
    """An unmapped product the first look did not see is counted by reading its
    accounts again, not by holding the rows: a row's status depends on its account's
    next row (of any product), so NEW counts once unmapped and twice outside the
    window, beside ODD, which the look saw (the one row it looks at)."""
    from unittest import mock

    from tierscore.scoring import measures

    bal = tmp_path / "b.csv"
    bal.write_text(
        "customer_id,account_id,product,date,balance\n"
        "C1,A,ODD,2025-12-31,5.00\n"
        "C1,A,CURRENT,2026-03-01,7.00\n"
        "C2,B,NEW,2026-02-01,3.00\n"
        "C2,B,TIME,2026-04-01,4.00\n"
        "C3,C,NEW,2026-07-01,1.00\n"
        "C3,D,NEW,2025-11-01,2.00\n"
        "C3,D,CURRENT,2025-12-01,2.00\n",
        encoding="utf-8",
    )
    txn = write_csv(tmp_path / "t.csv", TXN_COLUMNS, [])
    held = mock.patch.object(measures, "good_and_bad", side_effect=AssertionError("rows held"))
    typed = _as_from_csv(bal, txn, while_typed=held)
    assert typed.summary["unmapped_codes"]["balances"] == {"NEW": 1, "ODD": 1}
    assert typed.summary["rows"]["balances"]["outside_window"] == 2


def _as_from_csv(
    bal: Path, txn: Path, while_typed: AbstractContextManager[object] | None = None
) -> Result:
    """The Parquet run of a CSV export, with a first look of one row, after checking
    that it gives the CSV run's scores, row counts and unmapped codes; ``while_typed``
    is entered around the Parquet run alone."""
    from unittest import mock

    from tierscore.scoring import measures

    window = parse_window("2026H1")
    typed_job = Job(as_parquet(bal), as_parquet(txn), window)
    with mock.patch.object(measures, "FIRST_ROWS", 1):
        with while_typed or nullcontext():
            typed = run(typed_job)
        text = run(Job(str(bal), str(txn), window))
    assert typed.scores.equals(text.scores)
    assert typed.summary["rows"] == text.summary["rows"]
    assert typed.summary["unmapped_codes"] == text.summary["unmapped_codes"]
    return typed
