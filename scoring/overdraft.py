"""Overdrawn balances under ``negative_balances = "zero"``.

A current account may be overdrawn: its end-of-day balance is below zero. A rule
set that says ``negative_balances = "zero"`` counts such a day as 0 for the
account's component instead of rejecting the row, and summary.json says how much
of that there was: the account-days (one account on one window day whose
end-of-day balance was below zero) and the accounts. Both are counted where the
day spans are known, in the balance fold, as two more per-customer sums
(``OVERDRAWN``) that every engine and every part adds up like the others.
"""

from __future__ import annotations

import polars as pl

from .plan import Plan

OD_DAYS = "_od_days"  # window days a used row's balance below zero held
OD_ACCOUNTS = "_od_accounts"  # 1 on an account's first such row (rows come by account)
OVERDRAWN = (OD_DAYS, OD_ACCOUNTS)


def zeroes(plan: Plan) -> bool:
    """Whether the rule set counts an overdrawn day as 0 (else such rows are rejected)."""
    return plan.ruleset.negative_balances == "zero"


def counted_balance(plan: Plan) -> pl.Expr:
    """The balance a fold multiplies by its days: below zero counts as 0 under "zero"
    (validation let it through); otherwise no balance is below zero."""
    balance = pl.col("balance")
    return balance.clip(lower_bound=0) if zeroes(plan) else balance


def overdrawn_columns(plan: Plan, used: pl.Expr) -> list[pl.Expr]:
    """``OVERDRAWN`` for each balance row (``used``: it counts for a component), under
    "zero" only: the others have no such row. The rows come grouped by account in
    every measuring path, so an account's first overdrawn row is the one whose last
    overdrawn row before it is another account's; an account is in one part and one
    Spark partition, so the sums add up across them."""
    if not zeroes(plan):
        return []
    account = pl.col("account_id")
    below = used & (pl.col("balance") < 0)
    before = pl.when(below).then(account).shift(1).forward_fill()
    return [
        pl.when(below).then(pl.col("_days")).otherwise(0).cast(pl.Int64).alias(OD_DAYS),
        (below & before.ne_missing(account)).cast(pl.Int64).alias(OD_ACCOUNTS),
    ]


def overdrawn_of(folded: pl.DataFrame) -> dict[str, int] | None:
    """summary.json's ``overdrawn`` from a balance fold (None when nothing counted it)."""
    if OD_DAYS not in folded.columns:
        return None
    sums = folded.select(pl.col(OD_DAYS).sum(), pl.col(OD_ACCOUNTS).sum()).row(0)
    return {"account_days": int(sums[0] or 0), "accounts": int(sums[1] or 0)}
