"""Property: the vectorized scorer equals the row-by-row reference on random inputs."""

from __future__ import annotations

import tempfile
from datetime import date, timedelta
from decimal import Decimal
from fractions import Fraction
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tierscore.scoring.measures import SEARCHED, SORTED
from tierscore.scoring.pipeline import Job, run
from tierscore.scoring.window import parse_window

from .conftest import BAL_COLUMNS, TXN_COLUMNS, as_parquet, examples, write_csv
from .simple_reference import reference_points, reference_tier, round_half_up

pytestmark = pytest.mark.usefixtures("window_unchecked")  # scores whatever the window

START, END = date(2026, 1, 1), date(2026, 1, 20)
PRODUCTS = ["CURRENT", "MMF", "TIME", "GOLD", "MORTGAGE", "CONSUMER_LOAN", "CC_OVERDRAFT", "ODD"]
TYPES = ["POS", "FUND_BUY", "FX_TRADE", "REMOTE_CASH", "INTERBANK_REMIT", "MMF_BUY", "ODD"]
CUSTOMERS = ["C1", "C2", "C3"]

days = st.integers(min_value=-5, max_value=25).map(lambda n: START + timedelta(days=n))
cents = st.integers(min_value=0, max_value=10**9).map(lambda c: f"{c // 100}.{c % 100:02d}")
positive_cents = st.integers(min_value=1, max_value=10**8).map(
    lambda c: f"{c // 100}.{c % 100:02d}"
)
fees = st.one_of(st.none(), st.just("0.00"), st.sampled_from(["0.01", "12.50", "50.00"]))
ratios = st.one_of(st.none(), st.sampled_from(["0", "0.5", "0.8", "0.333333", "1"]))

balance_rows = st.lists(
    st.tuples(
        st.sampled_from(CUSTOMERS),
        st.sampled_from(["A1", "A2", "A3", "A4"]),
        st.sampled_from(PRODUCTS),
        days,
        cents,
    ),
    max_size=14,
    unique_by=lambda r: (r[1], r[3]),
)
txn_rows = st.lists(
    st.tuples(
        st.sampled_from(CUSTOMERS), days, st.sampled_from(TYPES), positive_cents, fees, ratios
    ),
    max_size=10,
)


@settings(max_examples=examples(60), deadline=None)
@given(balances=balance_rows, transactions=txn_rows)
def test_scorer_equals_reference(balances: list, transactions: list) -> None:
    txns = [(c, f"T{i}", d, k, a, f, r) for i, (c, d, k, a, f, r) in enumerate(transactions)]
    expected = reference_points(balances, txns, START, END)
    with tempfile.TemporaryDirectory() as tmp:
        bal = write_csv(Path(tmp) / "b.csv", BAL_COLUMNS, balances)
        txn = write_csv(Path(tmp) / "t.csv", TXN_COLUMNS, txns)
        window = parse_window(None, None, START, END)
        scores = run(Job(str(bal), str(txn), window)).scores
    got = {row["customer_id"]: row for row in scores.iter_rows(named=True)}
    assert set(got) == set(expected)
    for customer, points in expected.items():
        assert got[customer]["points"] == round_half_up(points), customer
        assert got[customer]["tier"] == reference_tier(points), customer


@settings(max_examples=examples(40), deadline=None)
@given(
    bound=st.sampled_from([50, 500, 2000, 10000, 80000]),
    offset=st.integers(min_value=-3, max_value=3),
)
def test_tier_bounds_are_exact(bound: int, offset: int) -> None:
    """Card spending (400 per 10,000): bound points are exactly bound x 25 yuan."""
    amount = Fraction(bound * 25) + Fraction(offset, 100)
    text = str(Decimal(amount.numerator) / Decimal(amount.denominator))
    with tempfile.TemporaryDirectory() as tmp:
        bal = write_csv(Path(tmp) / "b.csv", BAL_COLUMNS, [])
        txn = write_csv(
            Path(tmp) / "t.csv", TXN_COLUMNS, [("C", "T1", "2026-02-01", "POS", text, "", "")]
        )
        scores = run(Job(str(bal), str(txn), parse_window("2026H1"))).scores
    points = amount * 400 / 10000
    assert scores["tier"][0] == reference_tier(points)
    assert (scores["tier"][0] == reference_tier(Fraction(bound))) == (offset >= 0)


repeating_balances = st.lists(
    st.tuples(
        st.sampled_from(["C1", "C2"]),
        st.sampled_from(["A1", "A2", "A3"]),
        st.sampled_from(PRODUCTS),
        st.integers(min_value=-2, max_value=22).map(lambda n: START + timedelta(days=n)),
        st.sampled_from(["0.00", "10.00", "250.50"]),
    ),
    max_size=14,
)


@settings(max_examples=examples(60), deadline=None)
@given(balances=repeating_balances)
def test_rows_in_account_order_skip_the_sort_with_equal_results(balances: list) -> None:
    """Balances already in account order are not sorted again (``account_order``);
    repeats and conflicts included, they score, count and reject as shuffled rows do."""
    import polars as pl

    from tierscore.scoring.measures import account_order

    ordered = sorted(balances, key=lambda r: (r[1], r[3]))
    frame = pl.DataFrame({"account_id": [r[1] for r in ordered], "date": [r[3] for r in ordered]})
    repeats = len({(r[1], r[3]) for r in ordered}) < len(ordered)
    assert account_order(frame) == (True, repeats)
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        txn = write_csv(Path(tmp) / "t.csv", TXN_COLUMNS, [])
        for name, rows in (("sorted", ordered), ("reversed", ordered[::-1])):
            bal = write_csv(Path(tmp) / f"{name}.csv", BAL_COLUMNS, rows)
            result = run(Job(str(bal), str(txn), parse_window(None, None, START, END)))
            rejects = result.rejects.select("column", "value", "reason").sort(pl.all())
            results.append((result.scores, result.summary["rows"], rejects))
    (scores_a, rows_a, rejects_a), (scores_b, rows_b, rejects_b) = results
    assert scores_a.equals(scores_b)
    assert rows_a == rows_b
    assert rejects_a.equals(rejects_b)
    if len(ordered) > 1:
        reversed_frame = frame.reverse()
        distinct = len({(r[1], r[3]) for r in ordered}) > 1
        assert account_order(reversed_frame)[0] == (not distinct)


@pytest.mark.parametrize("fake", ["one hash", "one top of the hash"])
def test_accounts_with_one_hash_are_sorted_by_their_text(monkeypatch, fake: str) -> None:
    """If two accounts had one 64-bit hash, the hash sort would interleave their rows;
    the clash is seen and the rows are sorted by the account text instead. So too when
    only the top 48 bits agree, which is all the one-key sort of rows in no date order
    compares (``measures._days_fit``)."""
    import polars as pl

    from tierscore.scoring import measures

    rows = [
        ("C1", "A2", "CURRENT", START + timedelta(days=3), "100.00"),
        ("C1", "A1", "CURRENT", START + timedelta(days=5), "50.00"),
        ("C2", "A2", "CURRENT", START + timedelta(days=1), "10.00"),
        ("C1", "A1", "TIME", START + timedelta(days=2), "70.00"),
    ]
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        bal = write_csv(Path(tmp) / "b.csv", BAL_COLUMNS, rows)
        txn = write_csv(Path(tmp) / "t.csv", TXN_COLUMNS, [])
        job = Job(str(bal), str(txn), parse_window(None, None, START, END))
        results.append(run(job).scores)
        hashed = pl.col("account_id").hash(1)
        faked = hashed * 0 if fake == "one hash" else hashed % 65_536 + 7
        monkeypatch.setattr(measures, "account_hash", lambda: faked)
        results.append(run(job).scores)
    assert results[0].equals(results[1])
    expected = reference_points(rows, [], START, END)
    assert {r["customer_id"]: r["points"] for r in results[1].iter_rows(named=True)} == {
        c: round_half_up(p) for c, p in expected.items()
    }


bad_positions = st.lists(st.integers(min_value=0, max_value=24), max_size=3)


@settings(max_examples=examples(60), deadline=None)
@given(balances=balance_rows, transactions=txn_rows, bad_bal=bad_positions, bad_txn=bad_positions)
def test_rows_in_key_order_are_measured_in_one_pass(
    balances: list, transactions: list, bad_bal: list, bad_txn: list
) -> None:
    """Balances in account order and transaction ids in order take the one-pass path
    (no second read, no search for repeated ids), bad rows anywhere among them (an
    account's next row is its next good row), with the row-by-row reference's
    result."""
    from unittest import mock

    from tierscore.scoring import measures

    ordered = sorted(balances, key=lambda r: (r[1], r[3]))
    bal_rows: list = list(ordered)
    for at in bad_bal:  # a bad balance between (or around) good rows
        bal_rows.insert(min(at, len(bal_rows)), ("C1", "A1", "CURRENT", START, "not money"))
    txn_in: list = list(transactions)
    for at in bad_txn:  # a bad amount
        txn_in.insert(min(at, len(txn_in)), ("C1", START, "POS", "-1.00", None, None))
    txn_out = [(c, f"T{i:03d}", d, k, a, f, r) for i, (c, d, k, a, f, r) in enumerate(txn_in)]
    txns = [row for row in txn_out if row[4] != "-1.00"]
    expected = reference_points(ordered, txns, START, END)
    balances_sorted = mock.patch.object(
        measures, "_balances_ordered", wraps=measures._balances_ordered
    )
    ids_searched = mock.patch.object(
        measures, "_repeats_marked", side_effect=AssertionError("searched for repeats")
    )
    with tempfile.TemporaryDirectory() as tmp, balances_sorted as long_way, ids_searched:
        bal = write_csv(Path(tmp) / "b.csv", BAL_COLUMNS, bal_rows)
        txn = write_csv(Path(tmp) / "t.csv", TXN_COLUMNS, txn_out)
        result = run(Job(str(bal), str(txn), parse_window(None, None, START, END)))
    got = {row["customer_id"]: row for row in result.scores.iter_rows(named=True)}
    assert set(got) == set(expected)
    for customer, points in expected.items():
        assert got[customer]["points"] == round_half_up(points), customer
    assert result.rejects.height == len(bad_bal) + len(bad_txn)
    assert long_way.call_count == 0


def test_a_repeated_id_with_a_bad_row_between_is_found() -> None:
    """Ids are in order only if every row, bad ones too, follows the one before: an id
    that comes back after a bad row without an id is still a duplicate."""
    rows = [
        ("C1", "T1", START, "POS", "100.00", None, None),
        ("C1", "", START, "POS", "5.00", None, None),
        ("C1", "T1", START, "POS", "100.00", None, None),
        ("C1", "T2", START, "POS", "7.00", None, None),
    ]
    with tempfile.TemporaryDirectory() as tmp:
        bal = write_csv(Path(tmp) / "b.csv", BAL_COLUMNS, [])
        txn = write_csv(Path(tmp) / "t.csv", TXN_COLUMNS, rows)
        result = run(Job(str(bal), str(txn), parse_window(None, None, START, END)))
    counts = result.summary["rows"]["transactions"]
    assert (counts["used"], counts["duplicate"], counts["rejected"]) == (2, 1, 1)
    assert result.scores["card_spending_amount"].to_list() == [Decimal("107.00")]


def test_balances_that_start_in_order_but_leave_it_are_read_again() -> None:
    """The one pass (named, as a first look at rows in order would choose it) finds
    rows out of order further on and sends them back to be sorted, with the
    reference's result; the run says so."""
    from tierscore.scoring.measures import ONE_PASS

    rows = [
        ("C1", "A1", "CURRENT", START, "100.00"),
        ("C1", "A1", "CURRENT", START + timedelta(days=4), "50.00"),
        ("C2", "A3", "TIME", START + timedelta(days=2), "70.00"),
        ("C1", "A2", "MMF", START + timedelta(days=1), "10.00"),
    ]
    with tempfile.TemporaryDirectory() as tmp:
        bal = write_csv(Path(tmp) / "b.csv", BAL_COLUMNS, rows)
        txn = write_csv(Path(tmp) / "t.csv", TXN_COLUMNS, [])
        job = Job(str(bal), str(txn), parse_window(None, None, START, END))
        job.strategies = {"balances": ONE_PASS}
        result = run(job)
    # once: icbc-star's watch list is measured in the same pass (watch.with_forward)
    assert result.measuring["balances"] == "sorted (rows out of key order after the first look)"
    expected = reference_points(rows, [], START, END)
    assert {r["customer_id"]: r["points"] for r in result.scores.iter_rows(named=True)} == {
        c: round_half_up(p) for c, p in expected.items()
    }


def test_parquet_balances_with_bad_rows_between_good_ones_take_one_pass(tmp_path: Path) -> None:
    """A bad row between two good rows of an account is no neighbour of theirs: the
    one-pass path holds, and the days run from one good row to the next."""
    import polars as pl

    rows = [
        ("C1", "A1", "CURRENT", START, "100.00"),
        ("C1", "A1", "CURRENT", START + timedelta(days=3), "-5.00"),  # bad: negative
        ("C1", "A1", "CURRENT", START + timedelta(days=6), "40.00"),
        ("C2", "A2", "TIME", START + timedelta(days=2), "70.00"),
    ]
    frame = pl.DataFrame(
        {name: [r[i] for r in rows] for i, name in enumerate(BAL_COLUMNS)}
    ).with_columns(pl.col("balance").cast(pl.Decimal(18, 2)))
    frame.write_parquet(tmp_path / "b.parquet")
    txn = write_csv(tmp_path / "t.csv", TXN_COLUMNS, [])
    job = Job(str(tmp_path / "b.parquet"), str(txn), parse_window(None, None, START, END))
    result = run(job)
    assert result.measuring["balances"] == "one pass (first rows in key order)"
    good = [r for r in rows if not r[-1].startswith("-")]
    expected = reference_points(good, [], START, END)
    assert {r["customer_id"]: r["points"] for r in result.scores.iter_rows(named=True)} == {
        c: round_half_up(p) for c, p in expected.items()
    }
    assert result.rejects["reason"].to_list() == ["negative balance"]


@settings(max_examples=examples(60), deadline=None)
@given(
    balances=balance_rows,
    transactions=txn_rows,
    bad_bal=bad_positions,
    bad_txn=bad_positions,
    look=st.integers(min_value=0, max_value=6),
)
def test_parquet_in_one_group_by_equals_csv_and_reference(
    balances: list, transactions: list, bad_bal: list, bad_txn: list, look: int
) -> None:
    """Typed files are folded in one group-by, bad rows only counted and read again
    after; unmapped rows are counted per code the first look (``look`` rows) saw, and
    other unmapped codes are read again (transactions) or folded the text way
    (balances). Every way gives the CSV run's scores, counts and rejects, and the
    row-by-row reference's points."""
    from unittest import mock

    from tierscore.scoring import measures

    ordered = sorted(balances, key=lambda r: (r[1], r[3]))
    bal_rows: list = list(ordered)
    for at in bad_bal:  # a negative balance: bad in CSV and in Parquet alike
        bal_rows.insert(min(at, len(bal_rows)), ("C1", "A1", "CURRENT", START, "-5.00"))
    txn_in: list = list(transactions)
    for at in bad_txn:  # a bad amount
        txn_in.insert(min(at, len(txn_in)), ("C2", START, "ODD", "-1.00", None, None))
    txn_out = [(c, f"T{i:03d}", d, k, a, f, r) for i, (c, d, k, a, f, r) in enumerate(txn_in)]
    expected = reference_points(ordered, [r for r in txn_out if r[4] != "-1.00"], START, END)
    window = parse_window(None, None, START, END)
    with tempfile.TemporaryDirectory() as tmp, mock.patch.object(measures, "FIRST_ROWS", look):
        bal = write_csv(Path(tmp) / "b.csv", BAL_COLUMNS, bal_rows)
        txn = write_csv(Path(tmp) / "t.csv", TXN_COLUMNS, txn_out)
        text = run(Job(str(bal), str(txn), window))
        typed = run(Job(as_parquet(bal), as_parquet(txn), window))
    assert typed.scores.equals(text.scores)
    for key in ("rows", "unmapped_codes", "tiers"):
        assert typed.summary[key] == text.summary[key], key
    import polars as pl

    lines = pl.col("line") - 2  # a Parquet row's index; a CSV line counts the header
    assert typed.rejects.drop("file").equals(text.rejects.drop("file").with_columns(lines))
    got = {row["customer_id"]: row["points"] for row in typed.scores.iter_rows(named=True)}
    assert got == {c: round_half_up(p) for c, p in expected.items()}


def _in_files(folder: Path, columns: list[str], files: dict[int, list], key) -> str:
    """Rows written as CSV files, each sorted by ``key`` on its own, and as Parquet
    beside them; a glob of the CSV files (``.parquet`` for the others)."""
    folder.mkdir()
    for number, rows in sorted(files.items()):
        as_parquet(write_csv(folder / f"part-{number}.csv", columns, sorted(rows, key=key)))
    return str(folder / "*.csv")


def _runs_apart(rows: list) -> bool:
    """Whether, in this order, an account's rows are not together in date order."""
    seen, last = set(), None
    for _, account, _, day, _ in rows:
        if last is not None and account == last[0] and day <= last[1]:
            return True
        if account != (last or (None,))[0]:
            if account in seen:
                return True
            seen.add(account)
        last = (account, day)
    return False


@settings(max_examples=examples(60), deadline=None)
@given(
    balances=balance_rows,
    transactions=txn_rows,
    account_file=st.lists(st.integers(0, 2), min_size=4, max_size=4),
    row_file=st.lists(st.integers(0, 2), min_size=14, max_size=14),
    split=st.booleans(),
    txn_file=st.lists(st.integers(0, 2), min_size=11, max_size=11),
    repeat=st.booleans(),
)
def test_parquet_files_each_in_key_order(
    balances: list,
    transactions: list,
    account_file: list,
    row_file: list,
    split: bool,
    txn_file: list,
    repeat: bool,
) -> None:
    """Files each sorted on their own, keys interleaved across them (as a cluster
    writes an export part by part): the one pass finds the rows out of key order where
    a file ends, and reads back only what tells whether that matters (an account in
    two runs, an id twice). The results are the CSV run's and the reference's, and
    only an account whose rows are apart or an id twice takes the long way."""
    from unittest import mock

    from tierscore.scoring import measures

    accounts = ["A1", "A2", "A3", "A4"]
    bal_files: dict[int, list] = {0: []}
    for i, row in enumerate(balances):
        number = row_file[i] if split else account_file[accounts.index(row[1])]
        bal_files.setdefault(number, []).append(row)
    txns = [(c, f"T{i:02d}", d, k, a, f, r) for i, (c, d, k, a, f, r) in enumerate(transactions)]
    txn_files: dict[int, list] = {0: []}
    for i, row in enumerate(txns):
        txn_files.setdefault(txn_file[i], []).append(row)
    if repeat and txns:  # the same transaction again, in another file
        txn_files.setdefault(txn_file[10] + 1, []).append(txns[0])
    in_order = [r for _, rows in sorted(bal_files.items()) for r in sorted(rows, key=_key)]
    window = parse_window(None, None, START, END)
    calls = {}
    with tempfile.TemporaryDirectory() as tmp:
        bal = _in_files(Path(tmp) / "b", BAL_COLUMNS, bal_files, _key)
        txn = _in_files(Path(tmp) / "t", TXN_COLUMNS, txn_files, lambda r: r[1])
        text = run(Job(bal, txn, window))
        with mock.patch.object(measures, "FIRST_ROWS", 1):
            typed = run(Job(bal[:-3] + "parquet", txn[:-3] + "parquet", window))
        how = typed.measuring  # the long way: sorted, or ids searched
        calls = {
            "balances": SORTED in how["balances"],
            "transactions": SEARCHED in how["transactions"],
        }
    assert typed.scores.equals(text.scores)
    for key in ("rows", "unmapped_codes", "tiers"):
        assert typed.summary[key] == text.summary[key], key
    assert calls == {"balances": _runs_apart(in_order), "transactions": repeat and bool(txns)}
    expected = reference_points(balances, txns, START, END)
    got = {row["customer_id"]: row["points"] for row in typed.scores.iter_rows(named=True)}
    assert got == {c: round_half_up(p) for c, p in expected.items()}


def _key(row: tuple) -> tuple:
    return (row[1], row[3])


def test_balances_dated_outside_the_one_key_span_are_sorted_by_two_keys() -> None:
    """A date before 1970 or after 2149 does not fit the one-key sort's 16 day bits
    (``measures._days_fit``): such rows, in no date order, are sorted by the hash and
    the date, with the reference's result (a carry-in from 1969 included)."""
    import polars as pl

    from tierscore.scoring.measures import _days_fit

    rows = [
        ("C1", "A1", "CURRENT", START + timedelta(days=4), "50.00"),
        ("C1", "A1", "CURRENT", date(1969, 12, 31), "100.00"),
        ("C2", "A2", "TIME", START + timedelta(days=2), "70.00"),
        ("C1", "A1", "CURRENT", START + timedelta(days=1), "80.00"),
        ("C2", "A2", "TIME", date(2150, 1, 1), "9.00"),
    ]
    assert not _days_fit(pl.DataFrame({"date": [r[3] for r in rows]}))
    with tempfile.TemporaryDirectory() as tmp:
        bal = write_csv(Path(tmp) / "b.csv", BAL_COLUMNS, rows)
        txn = write_csv(Path(tmp) / "t.csv", TXN_COLUMNS, [])
        result = run(Job(str(bal), str(txn), parse_window(None, None, START, END)))
    assert result.summary["rows"]["balances"]["rejected"] == 0
    expected = reference_points(rows, [], START, END)
    assert {r["customer_id"]: r["points"] for r in result.scores.iter_rows(named=True)} == {
        c: round_half_up(p) for c, p in expected.items()
    }
