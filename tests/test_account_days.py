"""A ledger month's ``account_days`` (per account, holder and product) against a plain
group-by of the same rows: the runs it sums must give the same 积数 whatever the
holders and products an account's rows interleave."""

from __future__ import annotations

import polars as pl
from hypothesis import given, settings
from hypothesis import strategies as st

from tierscore.scoring.accumulate import _account_days
from tierscore.scoring.plan import compile_plan
from tierscore.scoring.row_status import DUPLICATE, EXCLUDED, OUTSIDE, REJECTED, STATUS, USED
from tierscore.scoring.rules import load_rules
from tierscore.scoring.window import half_year

PLAN = compile_plan(load_rules("icbc-star"), half_year(2026, 1))
KEYS = ["account_id", "customer_id", "product"]

row = st.tuples(
    st.sampled_from(["C1", "C2", "C3"]),  # holder
    st.sampled_from(["CURRENT", "TIME_DEPOSIT", "ZZ"]),  # product
    st.integers(-(10**15), 10**15),  # balance, cents
    st.integers(0, 31),  # days held
    st.sampled_from([USED, USED, EXCLUDED, OUTSIDE, DUPLICATE, REJECTED]),
)
# accounts in any order, each account's rows together (as rows come by account)
accounts = st.lists(st.tuples(st.sampled_from(["A1", "A2", "B7", "Z"]), st.lists(row, max_size=6)))


def _rows(drawn: list[tuple[str, list[tuple[str, str, int, int, int]]]]) -> pl.DataFrame:
    seen, records = set(), []
    for account, rows in drawn:
        if account in seen:  # one run of rows per account
            continue
        seen.add(account)
        records += [(account, *r) for r in rows]
    schema = {"account_id": pl.String, "customer_id": pl.String, "product": pl.String,
              "balance": pl.Int64, "_days": pl.Int32, STATUS: pl.UInt8}  # fmt: skip
    return pl.DataFrame(records, schema=schema, orient="row")


def _reference(rows: pl.DataFrame) -> pl.DataFrame:
    live = rows.filter(~pl.col(STATUS).is_in([DUPLICATE, REJECTED]) & (pl.col("_days") > 0))
    return live.group_by(KEYS).agg(
        (pl.col("balance").cast(pl.Int128) * pl.col("_days"))
        .sum()
        .cast(pl.Decimal(38, 0))
        .alias("balance_days"),
        pl.col("_days").cast(pl.Int64).sum().alias("days"),
    )


@settings(max_examples=300, deadline=None)
@given(accounts)
def test_account_days_are_a_plain_group_by(drawn) -> None:
    rows = _rows(drawn)
    got, want = _account_days(PLAN, rows), _reference(rows)
    assert got.schema == want.schema
    assert got.sort(KEYS).equals(want.sort(KEYS))


def test_interleaved_holders_and_a_changed_product() -> None:
    """A joint account's holders alternate day by day, and its product changes back."""
    rows = _rows([
        ("J", [("C1", "CURRENT", 100, 2, USED), ("C2", "CURRENT", 100, 2, USED),
               ("C1", "ZZ", 50, 3, USED), ("C2", "CURRENT", 70, 3, USED),
               ("C1", "CURRENT", 10, 5, USED), ("C2", "CURRENT", 1, 1, DUPLICATE)]),
        ("S", [("C3", "CURRENT", 7, 30, USED)]),
    ])  # fmt: skip
    got = {(a, c, p): (int(d), n) for a, c, p, d, n in _account_days(PLAN, rows).iter_rows()}
    assert got == {
        ("J", "C1", "CURRENT"): (100 * 2 + 10 * 5, 7),
        ("J", "C2", "CURRENT"): (100 * 2 + 70 * 3, 5),
        ("J", "C1", "ZZ"): (150, 3),
        ("S", "C3", "CURRENT"): (210, 30),
    }
