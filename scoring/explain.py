"""One customer's score taken apart: where each point comes from and what the next
tier takes.

The customer's rows are filtered at the scan, so explaining one customer reads
only what polars needs for them, and their score goes through the very same
measure and score steps as a full run, so the two always agree.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import polars as pl

from .breakdown import levers
from .errors import InputError
from .finish import ROWS, customer_sums
from .folds import fold_balances, measure_transactions, shared_balance
from .fx import FX_DAYS, amount_in_yuan, date_of, day_of
from .layout_measures import HELD, layout_rows
from .pipeline import Job, rated, read_inputs, require_customers
from .plan import CENTS, RATIO_SCALE, Plan, compile_plan
from .points import bounds_within, customer_values, report_columns, score, to_money, with_gap
from .row_status import COMPONENT, STATUS, USED, balance_rows, transaction_rows
from .rules import load_rules
from .sources import FILE_COL, LINE_COL, Reader
from .validate import bad_rows, rejects_table


def _accounts(plan: Plan, rows: pl.LazyFrame) -> pl.LazyFrame:
    """Per account: balance-days (积数, yuan-days) and daily average over the window; an
    overdrawn day counts 0 where the rule set says so, as in the fold. With --fx, per
    account and currency: those in yuan, as converted, and in the account's currency.
    Under joint_accounts = "split", the customer's share, as the fold counts it."""
    balance = shared_balance(plan, rows)  # in ``plan.shares`` of a cent
    cent = CENTS * plan.shares
    cent_days = (balance * pl.col("_days")).sum()
    held = HELD if HELD in rows.collect_schema().names() else "_days"  # accumulations' days
    keys = [COMPONENT, "account_id", "product"]
    columns = [
        to_money(cent_days, cent).alias("balance_days"),
        pl.col(held).sum().alias("days"),
        to_money(cent_days, cent * plan.day_count).alias("daily_average"),
    ]
    if plan.fx is not None:
        yuan_days = (balance * pl.col(FX_DAYS)).sum()
        keys.append("currency")
        columns = [
            to_money(cent_days, cent).alias("balance_days_in_currency"),
            to_money(cent_days, cent * plan.day_count).alias("daily_average_in_currency"),
            to_money(yuan_days, CENTS * plan.scale).alias("balance_days"),
            pl.col(held).sum().alias("days"),
            to_money(yuan_days, plan.per_yuan("balances")).alias("daily_average"),
        ]
    rows = rows.filter(pl.col(STATUS) == USED)
    return rows.group_by(keys).agg(columns).sort(keys)


def _types(plan: Plan, rows: pl.LazyFrame) -> pl.LazyFrame:
    """Per transaction type: amounts, what counted, and what a cap, a discount or a
    missing or zero fee changed (with --fx, per type and currency: the amount in its
    currency and in yuan, what counted in yuan)."""
    counted = pl.when(pl.col("_fee_ok")).then(
        pl.col("_capped").cast(pl.Int128) * pl.col("fee_ratio")
    )
    keys, amount, scale = [COMPONENT, "txn_type"], pl.col("amount"), 1
    in_currency = []
    if plan.fx is not None:
        # converted amounts are in ``Fx.scale`` parts of a cent (shares apply to the fold)
        keys, amount, scale = [*keys, "currency"], amount_in_yuan(plan, amount), plan.fx.scale
        in_currency = [
            to_money(pl.col("amount").sum(), CENTS).alias("amount_in_currency"),
        ]
    return (
        rows.filter(pl.col(STATUS) == USED)
        .group_by(keys)
        .agg(
            pl.len().alias("transactions"),
            *in_currency,
            to_money(amount.sum(), CENTS * scale).alias("amount"),
            to_money(counted.fill_null(0).sum(), CENTS * RATIO_SCALE * scale).alias("counted"),
            (pl.col("_capped") < amount).sum().alias("capped"),
            (pl.col("fee_ratio") < RATIO_SCALE).sum().alias("discounted"),
            (~pl.col("_fee_ok") & pl.col("fee").is_null()).sum().alias("fee_missing"),
            (~pl.col("_fee_ok") & pl.col("fee").is_not_null()).sum().alias("fee_zero"),
        )
        .sort(keys)
    )


def explain(job: Job, customer_id: str) -> dict[str, Any]:
    """Everything about one customer's score, as JSON-ready data."""
    plan = compile_plan(load_rules(job.rules), job.window)
    require_customers(plan, None, "explain")  # customers columns read as yuan: not here
    with Reader(job.encoding, job.mapping, job.delimiter) as reader:
        plan = rated(plan, reader, job)
        inputs = read_inputs(
            reader, job.balances, job.transactions, plan, job.date_format, job.balance_layout
        )
        mine = pl.col("customer_id") == customer_id
        bal = _held_accounts(inputs["balances"].good, mine)
        txn = inputs["transactions"].good.filter(mine)
        repeated = inputs["transactions"].repeated
        if inputs["balances"].layout == "changes":
            bal_rows = balance_rows(plan, bal)
        else:  # the layout's rows (its rejects are the run's business, not the customer's)
            bal_rows = layout_rows(plan, bal)[0]
        folded_bal, folded_txn, accounts, types = pl.collect_all([
            fold_balances(plan, bal_rows, wide=True).filter(mine),
            measure_transactions(plan, txn, repeated, wide=True),
            _accounts(plan, bal_rows.filter(mine)),
            _types(plan, transaction_rows(plan, txn, repeated)),
        ])  # fmt: skip
        if folded_bal.height == 0 and folded_txn.height == 0:
            checked = {name: i.checked for name, i in inputs.items()}
            raise _no_rows(reader, checked, customer_id)
    sums = customer_sums(plan, {"balances": folded_bal, "transactions": folded_txn})
    values = customer_values(plan, pl.LazyFrame({"customer_id": [customer_id]}), sums.drop(ROWS))
    where = bounds_within(plan, values.collect())  # rank tiers: as if alone
    scored = score(plan, values, where).collect()
    row = report_columns(plan, with_gap(plan, scored.lazy(), where)).collect().row(0, named=True)
    return _as_data(plan, row, scored, accounts, types)


def _held_accounts(good: pl.LazyFrame, mine: pl.Expr) -> pl.LazyFrame:
    """Every row of the accounts the customer has a row of: an account's rows decide
    how long each holds (a later row of another customer ends it, a joint holder's
    shares the day), so they are measured together and only then taken for one
    customer, as a full run does."""
    accounts = good.filter(mine).select("account_id").unique()
    return good.join(accounts, on="account_id", how="semi", maintain_order="left")


def _no_rows(reader: Reader, checked: dict[str, pl.LazyFrame], customer_id: str) -> InputError:
    """Why there is nothing to explain: the customer has no row at all, or every row
    was rejected (how many, in which inputs, the first one's reason, and where the
    others are). A customer whose loans were exported as negative numbers is not a
    customer who is absent, and saying "no rows" would send the operator the wrong way.
    Only read on this path, so explaining a customer costs no extra pass."""
    mine = pl.col("customer_id") == customer_id
    bad = pl.collect_all([bad_rows(rows.filter(mine)) for rows in checked.values()])
    found = {name: rows for name, rows in zip(checked, bad, strict=True) if rows.height}
    if not found:
        return InputError(f"customer {customer_id!r} has no rows in the inputs", key="CUSTOMER_ID")
    total = sum(rows.height for rows in found.values())
    what = "its only row was" if total == 1 else f"all {total:,} of its rows were"
    where = ", ".join(f"{name}: {rows.height:,}" for name, rows in found.items())
    earliest = next(iter(found.values())).sort(FILE_COL, LINE_COL).head(1)
    first = reader.file_names(rejects_table(earliest)).row(0, named=True)
    return InputError(
        f"customer {customer_id!r} has no usable rows: {what} rejected "
        f"({where}; {'' if total == 1 else 'first '}{first['file']} line {first['line']}, "
        f"{first['column']}: {first['reason']}); rejects.csv (written by tierscore score) "
        "lists each with its reason, as does tierscore validate",
        key="CUSTOMER_ID",
    )


def _as_data(
    plan: Plan,
    row: dict[str, Any],
    scored: pl.DataFrame,
    accounts: pl.DataFrame,
    types: pl.DataFrame,
) -> dict[str, Any]:
    components = []
    for index, c in enumerate(plan.components):
        parts = accounts if c.source == "balances" else types
        mine = parts.filter(pl.col(COMPONENT) == index).drop(COMPONENT)
        components.append({
            "id": c.id,
            "label": c.label,
            "measure": "daily_average" if c.source == "balances" else "cumulative",
            "amount": _text(row[f"{c.id}_amount"]),
            "rate": _text(next(x.rate for x in plan.ruleset.components if x.id == c.id)),
            "points": _text(row.get(f"{c.id}_points")),
            "requires_fee": c.requires_fee,
            "caps": _caps(plan, c.id) if c.source == "transactions" else None,
            "parts": [_part(plan, p) for p in mine.iter_rows(named=True)],
        })  # fmt: skip
    return {
        "customer_id": row["customer_id"],
        "ruleset": plan.ruleset.name,
        "window": plan.window.as_dict(),
        "components": components,
        "points": _text(row["points"]),
        "tier": row["tier"],
        "quality": row["quality"],
        "next_tier": row["next_tier"],
        "points_to_next": _text(row["points_to_next"]),
        "levers": _levers(plan, scored),
        **({"fx": _rates(plan)} if plan.fx is not None else {}),
    }


def _rates(plan: Plan) -> dict[str, Any]:
    """How foreign amounts became yuan: the rule set's way, and each currency's rates
    that apply in the window (the one in force on its first day, and every change)."""
    assert plan.fx is not None
    first = day_of(plan.window.start)
    shown = {}
    for code, pairs in plan.fx.rates:
        from_first = [i for i, (day, _) in enumerate(pairs) if day <= first]
        start = from_first[-1] if from_first else 0
        inside = [(d, r) for d, r in pairs[start:] if d <= day_of(plan.window.end)]
        shown[code] = [
            {"from": str(date_of(d)), "rate": _rate(r, plan.fx.scale)} for d, r in inside
        ]
    return {"convert": plan.ruleset.fx_convert, "rates": shown}


def _rate(units: int, scale: int) -> str:
    """1/``scale`` yuan as the decimal a rates file gives (trailing zeros dropped)."""
    return str(Decimal(units) / Decimal(scale))


def _text(value: object) -> str | None:
    return None if value is None else str(value)


def _yuan(cents: int | None) -> str | None:
    return None if cents is None else f"{cents // CENTS}.{cents % CENTS:02d}"


def _caps(plan: Plan, component: str) -> dict[str, str | None]:
    """Every code of a transactions component with the most one transaction of it
    counts (null: no cap), in rule order: a bank's caps differ by business type."""
    mine = [code for code, owner in plan.codes["transactions"].items() if owner == component]
    return {code: _yuan(plan.caps.get(code)) for code in mine}


def _part(plan: Plan, part: dict[str, Any]) -> dict[str, Any]:
    """One account or transaction type as text; a type also shows its cap, beside the
    count of its transactions that the cap cut."""
    shown = {k: v if isinstance(v, int) else _text(v) for k, v in part.items()}
    if "txn_type" not in part:
        return shown
    code = shown.pop("txn_type")
    return {"txn_type": code, "cap": _yuan(plan.caps.get(part["txn_type"])), **shown}


def _levers(plan: Plan, scored: pl.DataFrame) -> list[dict[str, Any]]:
    """Yuan of each component alone that would reach the next tier (rounded up to the
    cent, so that the amount really reaches it); for a capped component also the fewest
    transactions that make those yuan, each counting its largest cap (and only with a
    fee where the component requires one: ``of`` says so)."""
    tier = int(scored["_tier"][0])
    if tier == 0 or plan.by_rank:
        return []
    gap = plan.tiers[tier - 1].threshold - int(scored["_n"][0])
    out = []
    for lever in levers(plan):
        out.append({
            "component": lever.component,
            "label": lever.label,
            "yuan": _yuan(lever.cents_for(gap)),
            "of": lever.of,
            "transactions": lever.transactions_for(gap),
            "each": _yuan(lever.each),
            "codes": list(lever.codes) or None,
        })  # fmt: skip
    return out
