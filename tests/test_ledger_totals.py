"""The ledger's running totals (``ledger_totals``): a window two totals apart is the
months' folds added up, whatever the sums' size, and a total is used only while it
adds up the ledger's months as they are."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import polars as pl
from hypothesis import given, settings
from hypothesis import strategies as st

from tierscore.scoring.ledger import Entry
from tierscore.scoring.ledger_score import Sums, _summed
from tierscore.scoring.ledger_totals import (
    ENTRY_ID,
    TOTAL_OF,
    TOTALS,
    added_up,
    as_schema,
    current,
    negated,
    running_total,
    total_of,
)
from tierscore.scoring.row_status import CODE, CODE_ROWS, CONFLICT_FILE, CONFLICT_LINE

SCHEMA = {"customer_id": pl.String, "assets": pl.Int64, "_n_used": pl.UInt32,
          CONFLICT_FILE: pl.UInt16, CONFLICT_LINE: pl.Int64, "_conflict_value": pl.String,
          CODE: pl.String, CODE_ROWS: pl.Int64}  # fmt: skip
BIG = 1 << 62  # a month's sum near 64 bits: a few months of them do not fit

customer_row = st.tuples(
    st.sampled_from(["C1", "C2", "C3", None]), st.integers(-BIG, BIG), st.integers(0, 9)
)
code_row = st.tuples(st.sampled_from(["ZZ", "QQ"]), st.integers(-3, 5))
month = st.tuples(st.lists(customer_row, max_size=5), st.lists(code_row, max_size=3))


def _fold(drawn: tuple[list, list]) -> pl.DataFrame:
    customers, codes = drawn
    rows = [{"customer_id": c, "assets": a, "_n_used": n} for c, a, n in customers]
    rows += [{CODE: code, CODE_ROWS: n} for code, n in codes]
    return pl.DataFrame(rows, schema=SCHEMA)


def _window_sum(folds: list[pl.DataFrame]) -> dict:
    """The months' folds added up by hand, in Python integers."""
    sums: dict = {}
    for fold in folds:
        for row in fold.iter_rows(named=True):
            if row[CODE] is not None:
                key = ("code", row[CODE])
                sums[key] = sums.get(key, 0) + row[CODE_ROWS]
            else:
                key = ("customer", row["customer_id"])
                assets, used = sums.get(key, (0, 0))
                sums[key] = (assets + row["assets"], used + row["_n_used"])
    return {k: v for k, v in sums.items() if k[0] == "customer" or v != 0}


def _as_dict(frame: pl.DataFrame) -> dict:
    out = {}
    for row in frame.iter_rows(named=True):
        if row[CODE] is not None:
            out[("code", row[CODE])] = row[CODE_ROWS]
        else:
            out[("customer", row["customer_id"])] = (row["assets"], row["_n_used"])
    return out


@settings(max_examples=200, deadline=None)
@given(st.lists(month, min_size=1, max_size=6), st.data())
def test_a_window_is_two_totals_apart(months, data) -> None:
    folds = [_fold(m) for m in months]
    totals, total = [], None
    for fold in folds:
        total = running_total(total, fold)
        totals.append(total)
    last = data.draw(st.integers(0, len(folds) - 1))
    first = data.draw(st.integers(0, last))
    parts = [totals[last]] + ([negated(totals[first - 1])] if first else [])
    window = added_up(pl.concat(parts, how="diagonal_relaxed"))
    want = _window_sum(folds[first : last + 1])
    got = _as_dict(window)
    # every customer of the months through the last is listed, with zeros where the
    # window holds nothing of them (a direct run lists them too); codes only with rows
    assert {k: v for k, v in got.items() if k not in want} == dict.fromkeys(
        [k for k in got if k not in want and k[0] == "customer"], (0, 0)
    )
    assert {k: got.get(k) for k in want} == want
    # back in the months' dtypes where the sums fit, 128-bit where they do not
    schema = added_up(pl.concat([f.clear() for f in folds], how="diagonal_relaxed")).schema
    fitted = as_schema(window, schema)
    assets = fitted["assets"]
    fits = all(-(1 << 63) <= v < 1 << 63 for v in window["assets"].drop_nulls().to_list())
    assert assets.dtype == (pl.Int64 if fits else pl.Int128)
    assert assets.cast(pl.Int128).to_list() == window["assets"].cast(pl.Int128).to_list()


def test_a_total_is_current_only_for_the_months_it_adds_up(tmp_path: Path) -> None:
    def entry(month: int, entry_id: str | None, of: list[str] | None) -> Entry:
        manifest = {"month": f"2026-{month:02d}"}
        if entry_id is not None:
            manifest[ENTRY_ID] = entry_id
        if of is not None:
            manifest[TOTAL_OF] = of
        return Entry(tmp_path / str(month), manifest)

    entries = {date(2026, m, 1): entry(m, f"e{m}", [f"e{i}" for i in range(1, m + 1)])
               for m in (1, 2, 3)}  # fmt: skip
    assert all(current(entries, m) for m in entries)
    assert total_of(entries, date(2026, 2, 1)) == ["e1", "e2"]
    # February accumulated again: its own total is current, March's is not
    entries[date(2026, 2, 1)] = entry(2, "e2b", ["e1", "e2b"])
    assert current(entries, date(2026, 2, 1)) and not current(entries, date(2026, 3, 1))
    # a month from before totals were kept (no id): no total through it is current
    entries[date(2026, 1, 1)] = entry(1, None, None)
    assert total_of(entries, date(2026, 3, 1)) is None
    assert not any(current(entries, m) for m in entries)
    assert not current(entries, date(2026, 4, 1))  # not in the ledger


def test_totals_past_64_bits_stay_exact() -> None:
    """Three months of a customer near 2**62 each: their window does not fit 64 bits,
    and stays exact (128-bit), as does a window of the last two, two totals apart."""
    folds = [_fold(([("C1", BIG, 1)], [])) for _ in range(3)]
    totals, total = [], None
    for fold in folds:
        total = running_total(total, fold)
        totals.append(total)
    schema = added_up(pl.concat([f.clear() for f in folds], how="diagonal_relaxed")).schema
    whole = as_schema(added_up(totals[2]), schema)
    assert whole["assets"].dtype == pl.Int128 and whole["assets"].to_list() == [3 * BIG]
    parts = pl.concat([totals[2], negated(totals[0])], how="diagonal_relaxed")
    last_two = as_schema(added_up(parts), schema)
    assert last_two["assets"].dtype == pl.Int128 and last_two["assets"].to_list() == [2 * BIG]
    assert last_two["_n_used"].dtype == pl.UInt32 and last_two["_n_used"].to_list() == [2]


def test_one_months_rows_past_64_bits() -> None:
    """Two fold rows of one customer in the ledger's first month, 2**62 each (found by
    the property test above in CI: the first total summed in 64 bits and wrapped)."""
    total = running_total(None, _fold(([("C1", BIG, 0), ("C1", BIG, 0)], [])))
    assert total["assets"].dtype == pl.Int128 and total["assets"].to_list() == [2 * BIG]


extra_row = st.fixed_dictionaries(
    {
        "assets": st.integers(-BIG, BIG),
        "_n_used": st.integers(0, 9),
        "_od_accounts": st.integers(0, 4),
    }
)


@settings(max_examples=200, deadline=None)
@given(st.lists(month, min_size=1, max_size=4), st.lists(extra_row, max_size=2), st.booleans())
def test_a_lone_total_is_added_up_as_a_whole(months, extras, missing) -> None:
    """Scoring a window from the ledger's first month adds up only the total's rows of
    no customer with the extra rows (``ledger_score._summed``); the result is the
    whole total added up again, a sum the total lacks (``_od_accounts``) 0 for its
    customers, and a total not read from the ledger is added up whole."""
    total = None
    for drawn in months:
        total = running_total(total, _fold(drawn))
    extra = [pl.DataFrame(extras, schema={"assets": pl.Int64, "_n_used": pl.UInt32,
                                          "_od_accounts": pl.Int64})]  # fmt: skip
    if not missing:
        extra = [e.drop("_od_accounts") for e in extra]
    sums = Sums([], [])
    sums._frames[date(2026, 1, 1), TOTALS["balances"]] = total  # as read from the ledger
    got = _summed([total], extra, sums)
    want = added_up(pl.concat([total, *extra], how="diagonal_relaxed"), wide=True)
    key = ["customer_id", CODE]
    assert got.select(want.columns).sort(key).equals(want.sort(key))
    assert _summed([total.clone()], extra, sums).sort(key).equals(want.sort(key))
