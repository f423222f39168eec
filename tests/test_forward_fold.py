"""The watch's measure towards the next rating day is folded in the run's one pass
(``watch.with_forward``): it must equal measuring again, as the watch did before, the
balance rows known on the as-of date over the rating window and the transactions
dated from that window's start to the as-of date, whatever the rows (repeats,
conflicts, rows after the as-of date, unmapped and excluded codes, out of order) and
whatever the window (the rating window starting before or after the as-of date)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, timedelta
from pathlib import Path

import polars as pl
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tierscore.scoring.pipeline import _measured_in_parts, read_inputs
from tierscore.scoring.plan import Plan, compile_plan
from tierscore.scoring.rules import load_rules
from tierscore.scoring.sources import Reader
from tierscore.scoring.watch import forward_values, with_forward
from tierscore.scoring.window import Window

from .conftest import BAL_COLUMNS, TXN_COLUMNS, examples, write_csv

PRODUCTS = ("CURRENT", "TIME", "MORTGAGE", "CC_OVERDRAFT", "ODD")
KINDS = ("FUND_BUY", "POS", "REMOTE_CASH", "MMF_BUY", "ODD")
DAY0 = date(2025, 12, 1)


def _day(n: int) -> str:
    return (DAY0 + timedelta(days=n)).isoformat()


balance_row = st.tuples(
    st.integers(0, 3),  # customer
    st.integers(0, 4),  # account (accounts 0-1 of customer 0 ... any: an account's customer)
    st.sampled_from(PRODUCTS),
    st.integers(0, 240),  # day
    st.integers(0, 500_000),  # cents
)
txn_row = st.tuples(
    st.integers(0, 3), st.integers(0, 6), st.sampled_from(KINDS), st.integers(0, 240),
    st.integers(1, 2_000_000), st.sampled_from(["", "0", "5.00"]),
)  # fmt: skip


def _files(tmp: Path, balances: list, transactions: list) -> tuple[Path, Path]:
    bal = [(f"C{c}", f"A{a}", p, _day(d), f"{v / 100:.2f}") for c, a, p, d, v in balances]
    txn = [
        (f"C{c}", f"T{i}", _day(d), k, f"{v / 100:.2f}", fee, "1")
        for c, i, k, d, v, fee in transactions
    ]
    return (
        write_csv(tmp / "bal.csv", BAL_COLUMNS, bal),
        write_csv(tmp / "txn.csv", TXN_COLUMNS, txn),
    )


@contextmanager
def _measuring(tmp: Path, window: Window, parts: int) -> Iterator[tuple[Plan, dict, dict]]:
    """tmp's bal.csv and txn.csv measured as a run measures them for icbc-star, with the
    forward columns; the inputs can be read again until the block ends."""
    plan = compile_plan(load_rules("icbc-star"), window)
    with Reader(None, None) as reader:
        inputs = read_inputs(reader, str(tmp / "bal.csv"), str(tmp / "txn.csv"), plan)
        measured, _ = _measured_in_parts(with_forward(plan), inputs, parts)
        yield plan, inputs, measured


def _both(tmp: Path, window: Window, parts: int) -> tuple[pl.DataFrame, pl.DataFrame]:
    with _measuring(tmp, window, parts) as (plan, inputs, measured):
        folded = forward_values(plan, inputs, parts, measured)
        again = forward_values(plan, inputs, parts)  # measured again, as before
    order = pl.col("customer_id")
    return folded.filter(pl.col("_forward") != 0).sort(order), again.sort(order)


@settings(max_examples=examples(60), deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])  # fmt: skip
@given(
    balances=st.lists(balance_row, min_size=1, max_size=30),
    transactions=st.lists(txn_row, max_size=20),
    start=st.integers(0, 120),
    length=st.integers(20, 120),
    parts=st.sampled_from([1, 2]),
)
def test_folded_forward_equals_measuring_again(
    tmp_path: Path, balances: list, transactions: list, start: int, length: int, parts: int
) -> None:
    # an account belongs to one customer in most exports; keep it so (a customer is per row)
    balances = [(a % 4, a, p, d, v) for _, a, p, d, v in balances]
    _files(tmp_path, balances, transactions)
    first = DAY0 + timedelta(days=start)
    window = Window(first, first + timedelta(days=length), "test")
    folded, again = _both(tmp_path, window, parts)
    assert folded.equals(again.filter(pl.col("_forward") != 0))
    assert set(again.filter(pl.col("_forward") == 0)["customer_id"]).isdisjoint(
        folded["customer_id"]
    )


def test_forward_counts_rows_outside_the_run_window_and_stops_at_the_as_of_date(
    tmp_path: Path,
) -> None:
    """By hand. Run window 2026-03-01..2026-03-31 (as-of 03-31), icbc-star rates on 06-30:
    the rating window is 2026-01-01..2026-06-30. Account A (CURRENT): 100.00 from
    2025-12-20, 300.00 from 2026-03-10, and a row of 03-31 repeated (a duplicate), then
    900.00 on 04-10 (after the as-of date: not known yet). Forward balance-days:
    100 x 68 days (01-01..03-09) + 300 x 21 (03-10..03-30) + 500 x 92 (03-31..06-30) in
    cent-days. A transaction dated 02-01 (before the run's window, inside the rating
    window) counts forward; one dated 04-02 does not."""
    bal = [
        ("C0", "A", "CURRENT", "2025-12-20", "100.00"),
        ("C0", "A", "CURRENT", "2026-03-10", "300.00"),
        ("C0", "A", "CURRENT", "2026-03-31", "500.00"),
        ("C0", "A", "CURRENT", "2026-03-31", "500.00"),
        ("C0", "A", "CURRENT", "2026-04-10", "900.00"),
    ]
    txn = [
        ("C0", "T1", "2026-02-01", "POS", "1000.00", "", "1"),
        ("C0", "T2", "2026-04-02", "POS", "7000.00", "", "1"),
    ]
    write_csv(tmp_path / "bal.csv", BAL_COLUMNS, bal)
    write_csv(tmp_path / "txn.csv", TXN_COLUMNS, txn)
    window = Window(date(2026, 3, 1), date(2026, 3, 31), "test")
    with _measuring(tmp_path, window, 1) as (plan, _, measured):
        balances = measured["balances"].forward
        transactions = measured["transactions"].forward
    assert balances is not None and transactions is not None
    days = 10_000 * 68 + 30_000 * 21 + 50_000 * 92
    current = plan.codes["balances"]["CURRENT"]
    assert balances.filter(pl.col("customer_id") == "C0")[current].item() == days
    pos = plan.codes["transactions"]["POS"]
    assert transactions[pos].item() == 100_000 * 1_000_000  # cents x fee ratio (millionths)
