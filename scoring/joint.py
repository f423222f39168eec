"""Joint accounts: one account and date exported under several customers.

A joint account (or a co-borrowed loan) comes as rows of one account and date that
differ only in ``customer_id``. The rule set's ``joint_accounts`` says what they are:
``"each"`` (the default) lets every holder count the whole balance, ``"split"`` gives
each an equal share, exactly (``plan.SHARES``), and ``"reject"`` keeps them
conflicting rows, as any rows of one key that differ. They are found where repeated
keys are marked (``row_status.mark_balance_rows``), and counted there as two more
per-customer sums (``JOINT``) that every engine and every part adds up like the
others; summary.json's ``joint_accounts`` is made of them here.
"""

from __future__ import annotations

import polars as pl

HOLDERS = "_holders"  # live holders of a row's account on its date (1 unless joint)
SHARE = "_share"  # "split": the row's share of its balance, in 1/SHARES
JT_ROWS = "_jt_rows"  # 1 for a used row of a joint account (holders > 1)
JT_ACCOUNTS = "_jt_accounts"  # 1 on an account's first such row (rows come by account)
JOINT = (JT_ROWS, JT_ACCOUNTS)
# Scoring by party or household: the unit a row's customer number belongs to, so that
# two holders of one account who are one person count it once (``holders_by_unit``).
HOLDER = "_holder_unit"


def holders_by_unit(checked: pl.LazyFrame, units: pl.DataFrame) -> pl.LazyFrame:
    """Balance rows with ``HOLDER``: the unit of ``units`` (customer_id, unit) of the
    row's customer number, or the number itself. Holders of a joint account are then
    told apart by unit: a person's two numbers holding it are one holder, their second
    row a duplicate, and under "split" the shares go by unit."""
    mapping = units.lazy().select("customer_id", pl.col(units.columns[1]).alias(HOLDER))
    joined = checked.join(mapping, on="customer_id", how="left", maintain_order="left")
    return joined.with_columns(pl.coalesce(HOLDER, "customer_id").alias(HOLDER))


def joint_of(folded: pl.DataFrame) -> dict[str, int] | None:
    """summary.json's ``joint_accounts`` from a balance fold: the accounts held jointly
    and the customers holding one (None when there are none)."""
    if JT_ACCOUNTS not in folded.columns:
        return None
    accounts = int(folded[JT_ACCOUNTS].sum() or 0)
    if not accounts:
        return None
    rows = folded.group_by("customer_id").agg(pl.col(JT_ROWS).sum())
    holders = rows.filter(pl.col(JT_ROWS) > 0).height
    return {"accounts": accounts, "holders": holders}
