"""Points and tiers on the polars engine, decided on exact integers.

A customer's points are ``N / Q`` (see ``plan``). Tiers compare ``N`` with each
tier's integer threshold, so a customer exactly on a bound lands in the upper
tier however the points were made up. Only the reported figures are rounded,
half-up to 0.01, at the very end.
"""

from __future__ import annotations

import operator
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction
from functools import partial, reduce

import polars as pl

from .errors import InputError
from .plan import CENTS, MONEY, NUMERATOR_LIMIT, RATIO_SCALE, Plan, money_names
from .ranked import Ranked, rank_cutoff, ranked_of
from .rules import SERVICE_COLUMNS, UNKNOWN_GATE, Gate

NUMERATOR = "_n"
TIER_INDEX = "_tier"
GAP = "_gap"  # numerator still missing to the next tier
PREVIOUS = "_previous"  # tier index in an earlier run (see migration)
UP, DOWN, SAME, NEW, GONE = "up", "down", "same", "new", "gone"  # the movements
# In the attributes: true for a customer whose customers row could not be used (a bad
# cell, or rows that conflict); their gates are unknown, so they block (``UNKNOWN_GATE``).
UNUSABLE = "_unusable"


def to_money(numerator: pl.Expr, denominator: int) -> pl.Expr:
    """The non-negative ratio ``numerator / denominator`` rounded half-up to 0.01.

    Integer arithmetic to the last step: ``floor((200 n + d) / 2d)`` cents.
    """
    num = numerator.cast(pl.Int128)
    den = pl.lit(denominator, pl.Int128)
    cents = (num * (2 * CENTS) + den) // (den * 2)
    return _from_cents(cents)


def to_money_up(numerator: pl.Expr, denominator: int) -> pl.Expr:
    """The non-negative ratio rounded up to 0.01: a distance still to go is never shown
    as 0.00 while something is missing."""
    num = numerator.cast(pl.Int128)
    den = pl.lit(denominator, pl.Int128)
    cents = (num * CENTS + den - 1) // den
    return _from_cents(cents)


def _from_cents(cents: pl.Expr) -> pl.Expr:
    """Whole cents as yuan: a product with 0.01 only sets the scale (a division by 100
    takes twice as long, and money columns are most of the scores table's cost)."""
    return cents.cast(pl.Decimal(38, 0)) * pl.lit(Decimal("0.01"), pl.Decimal(38, 2))


def customer_values(plan: Plan, customers: pl.LazyFrame, *measured: pl.LazyFrame) -> pl.LazyFrame:
    """Every customer with every component's exact value (0 where nothing counted)."""
    out = customers
    for frame in measured:
        out = out.join(frame, on="customer_id", how="left")
    return out.with_columns(pl.col(c.id).fill_null(0).cast(pl.Int128) for c in plan.components)


def _big(value: int) -> pl.Expr:
    return pl.lit(value, pl.Int128)


def indicator_value(terms: tuple[tuple[str, int], ...]) -> pl.Expr:
    """An indicator's value in yuan x VQ: the sum of its components' measures and its
    customers columns; null when a column's value is unknown (a sum that skipped it
    would be a guess, and not a fail-safe one)."""
    return pl.sum_horizontal(
        (pl.col(cid) * _big(factor) for cid, factor in terms), ignore_nulls=False
    )


def sub_score(plan: Plan, index: int) -> pl.Expr:
    """The indicator's band score (hundredths): the highest band whose bound it reaches.
    An unknown value (a customer the customers file does not name, whose row is
    unusable, or whose cell is blank) scores the lowest of the band scores: never more
    than any value could have scored."""
    ind = plan.indicators[index]
    value = indicator_value(ind.terms)
    chosen = pl.when(value.is_null()).then(_big(min(ind.scores)))
    for low, points in reversed(list(zip(ind.thresholds, ind.scores, strict=True))):
        chosen = chosen.when(value >= _big(low)).then(_big(points))
    return chosen.otherwise(_big(ind.scores[0]))


def bonus_applies(plan: Plan) -> pl.Expr:
    """The bonus condition; on an unknown customers column, the multiplier applies only
    when it lowers the score (one below 1): the unknown never raises a customer."""
    bonus = plan.bonus
    if bonus is None:
        return pl.lit(False)
    known = pl.col(bonus.component) * _big(bonus.factor) > _big(bonus.above)
    if not bonus.component.startswith(MONEY):  # known for every scored customer (empty
        return known  # only for migration's gone ones, who are not scored)
    return known.fill_null(bonus.multiplier < bonus.scale)


def value_types(plan: Plan) -> dict[str, pl.DataType]:
    """The per-customer values a numerator is made from: component values (128-bit) and
    the customers columns read as yuan (``plan.MONEY`` names, cents, null if unknown)."""
    money = {name: pl.Int64() for name in money_names(plan.ruleset).values()}
    return {"customer_id": pl.String(), **{c.id: pl.Int128() for c in plan.components}, **money}


def _weighted_numerator(plan: Plan) -> pl.Expr:
    """sum(weight x sub-score) x (bonus multiplier or 1), over Q = W x 100 x M."""
    total = pl.sum_horizontal(
        sub_score(plan, i) * _big(ind.weight) for i, ind in enumerate(plan.indicators)
    )
    if plan.bonus is None:
        return total
    factor = pl.when(bonus_applies(plan)).then(_big(plan.bonus.multiplier))
    return total * factor.otherwise(_big(plan.bonus.scale))


def numerator(plan: Plan) -> pl.Expr:
    """The exact numerator N of a customer's points N / Q, from its component values."""
    if plan.indicators:
        return _weighted_numerator(plan).cast(pl.Int128).alias(NUMERATOR)
    total = pl.sum_horizontal(pl.col(c.id) * pl.lit(c.weight, pl.Int128) for c in plan.components)
    return total.cast(pl.Int128).alias(NUMERATOR)


@dataclass(frozen=True)
class Bounds:
    """Where the tiers lie, as exact numerators, for one run.

    ``starts[i]``: the lowest numerator in tier i (None: nobody enters it that way;
    below every start is the last tier). ``floors[i]``: what a customer of the tier
    below must reach to enter tier i (None: nothing to reach, the gap shows 0).
    Points tiers read both off the rule set; rank tiers off the population.
    """

    starts: tuple[int | None, ...]
    floors: tuple[int | None, ...]


def bounds(plan: Plan, ranked: Ranked) -> Bounds:
    """Points tiers: the rule set's thresholds. Rank tiers: rank r <= cutoff is the
    same as N >= the cutoff-th highest N (ties share the best rank), so a rank tier
    starts at that value; its floor is that value too, unless a tier above starts as
    low (the tier is then empty, and there is no floor to reach)."""
    if not plan.by_rank:
        thresholds = tuple(t.threshold for t in plan.tiers)
        return Bounds(thresholds, thresholds)
    starts: list[int | None] = []
    floors: list[int | None] = []
    lowest_above: int | None = None
    for tier in plan.tiers[:-1]:
        assert tier.share is not None
        cutoff = rank_cutoff(tier.share, ranked.customers)
        start = ranked.value_at(cutoff) if cutoff >= 1 else None
        inside = start is not None and (lowest_above is None or start < lowest_above)
        starts.append(start)
        floors.append(start if inside else None)
        if inside:
            lowest_above = start
    return Bounds(tuple(starts), tuple(floors))


def with_numerator(plan: Plan, values: pl.LazyFrame) -> pl.LazyFrame:
    """The numerator beside the values, once ``within_range`` has seen all of them (a
    128-bit product or sum past the range wraps without a word)."""
    checked = values.map_batches(partial(within_range, plan), streamable=False)
    return checked.with_columns(numerator(plan))


def within_range(plan: Plan, values: pl.DataFrame) -> pl.DataFrame:
    """``values`` as they are, or InputError when their totals would take a figure past
    ``plan.NUMERATOR_LIMIT``: the numerators (each, and summed over customers), a
    measure times its indicator factor, or a measure in money. Every value is >= 0, so
    the totals over all customers bound every figure of one customer and every partial
    sum. Totals are taken in floats (exact sums could wrap too); the limit's margin
    is far wider than their rounding."""
    if values.height == 0:
        return values
    ids = [c.id for c in plan.components]
    totals = dict(zip(ids, values.select(pl.col(ids).cast(pl.Float64).sum()).row(0), strict=True))
    factor = {"balances": RATIO_SCALE, "transactions": plan.day_count}
    over = [c.id for c in plan.components if totals[c.id] * factor[c.source] > NUMERATOR_LIMIT]
    if plan.indicators:
        numerators = float(values.height * _most_weighted(plan))
    else:
        numerators = sum(totals[c.id] * c.weight for c in plan.components)
    if over or numerators > NUMERATOR_LIMIT:
        what = f"the measures of {', '.join(over)}" if over else "the points of all customers"
        raise InputError(
            f"{what} add up to more than 128-bit integers score exactly; nothing was "
            "scored (score the customers in smaller runs)"
        )
    return values


def _most_weighted(plan: Plan) -> int:
    """The largest numerator one customer can have under a weighted rule set."""
    top = sum(ind.weight * max(ind.scores) for ind in plan.indicators)
    bonus = plan.bonus
    return top * (max(bonus.multiplier, bonus.scale) if bonus else 1)


def with_tier(plan: Plan, valued: pl.LazyFrame, where: Bounds) -> pl.LazyFrame:
    """Add the tier index: the first tier whose start the numerator reaches."""
    tier = pl.when(pl.lit(False)).then(pl.lit(0, pl.Int32))
    for index, start in enumerate(where.starts):
        if start is not None:
            reached = pl.col(NUMERATOR) >= pl.lit(start, pl.Int128)
            tier = tier.when(reached).then(pl.lit(index, pl.Int32))
    last = pl.lit(len(plan.tiers) - 1, pl.Int32)
    return valued.with_columns(tier.otherwise(last).alias(TIER_INDEX))


def score(plan: Plan, values: pl.LazyFrame, where: Bounds) -> pl.LazyFrame:
    """Add the exact numerator and tier index to per-customer component values."""
    return with_tier(plan, with_numerator(plan, values), where)


def bounds_within(plan: Plan, values: pl.DataFrame) -> Bounds:
    """The bounds when ``values`` is the whole population (rank tiers rank within it)."""
    numerators = with_numerator(plan, values.lazy()).select(NUMERATOR).collect().to_series()
    return bounds(plan, ranked_of(plan, numerators))


def _amount(plan: Plan, component_id: str, source: str) -> pl.Expr:
    """A component's measure in yuan: cent-days / D, or ratio-cents / RATIO_SCALE."""
    return to_money(pl.col(component_id), plan.per_yuan(source))


def gates_apply(plan: Plan, gated: bool) -> bool:
    """Whether a run evaluates any gate: a measure gate always (the measures are the
    run's own), a gate on a customers column only with ``--customers`` (``gated``)."""
    return bool(plan.ruleset.measure_gates) or (gated and bool(plan.ruleset.gates))


def _unknown_applies(plan: Plan, gated: bool) -> bool:
    """An unusable customers row hides what its gate columns said; with no gate on a
    column it hides nothing a gate reads."""
    return gated and bool(plan.ruleset.column_gates)


def gate_ids(plan: Plan, gated: bool) -> list[str]:
    """What ``quality_blocked_by`` may list: the gates the run evaluates, in rule order,
    then ``UNKNOWN_GATE`` where it applies."""
    ids = [g.id for g in plan.ruleset.gates if g.measure or gated]
    return [*ids, UNKNOWN_GATE] if _unknown_applies(plan, gated) else ids


def _below_bar(plan: Plan, gate: Gate) -> pl.Expr:
    """The measure gate's components added up, below its bar (``plan.bars``): the
    integers themselves, so a customer exactly at the bar passes and one cent-day
    short is blocked. Added with ``+``: a customer with no values (migration's gone)
    has a null measure, and is not reported as below it."""
    total = reduce(operator.add, (pl.col(cid) for cid in gate.measure))
    return total < _big(plan.bars[gate.id])


def _gate_columns(plan: Plan, gated: bool) -> tuple[pl.Expr, pl.Expr]:
    """Which gates block each customer ("a;b", null when none), and whether any does.

    A customer missing from the attributes file has no known blemish; a customer whose
    row is in it but could not be used (``UNUSABLE``) has unknown ones, and is blocked
    by ``UNKNOWN_GATE``: a gate fails closed.
    """
    triggered = []
    for gate in plan.ruleset.gates:
        if gate.measure:
            hit = _below_bar(plan, gate)
        elif not gated:
            continue
        else:
            column = pl.col(gate.column)
            hit = column.fill_null(False) if gate.at_least is None else column >= gate.at_least
        triggered.append(pl.when(hit.fill_null(False)).then(pl.lit(gate.id)))
    if _unknown_applies(plan, gated):
        unknown = pl.col(UNUSABLE).fill_null(False)
        triggered.append(pl.when(unknown).then(pl.lit(UNKNOWN_GATE)))
    names = pl.concat_str(triggered, separator=";", ignore_nulls=True)
    blocked_by = pl.when(names != "").then(names)
    return blocked_by, blocked_by.is_not_null()


def quality_flag(plan: Plan, gated: bool) -> pl.Expr:
    """Quality: the quality tier or above, and no gate the run evaluates blocking."""
    index = pl.col(TIER_INDEX)
    quality = plan.quality_index
    qualified = index <= quality if quality is not None else pl.lit(False)
    if gates_apply(plan, gated):
        qualified = qualified & ~_gate_columns(plan, gated)[1]
    return qualified


def key_customer(plan: Plan) -> pl.Expr:
    """True for a customer in one of the rule set's ``key_group`` tiers (seed 002's
    关键客户); null where there is no tier (migration's gone)."""
    group = set(plan.ruleset.key_group)
    inside = {i: t.label in group for i, t in enumerate(plan.tiers)}
    return pl.col(TIER_INDEX).replace_strict(inside, return_dtype=pl.Boolean)


def with_gap(plan: Plan, scored: pl.LazyFrame, where: Bounds) -> pl.LazyFrame:
    """Add ``GAP``: the exact numerator still missing to the next tier (null at the top)."""
    index = pl.col(TIER_INDEX)
    floors = dict(enumerate(where.floors))
    above = (index - 1).replace_strict(floors, default=None, return_dtype=pl.Int128)
    gap = above - pl.col(NUMERATOR)
    gap = pl.when(index > 0).then(pl.when(gap > 0).then(gap).otherwise(_big(0)))
    return scored.with_columns(gap.cast(pl.Int128).alias(GAP))


def near_flag(near: Fraction) -> pl.Expr:
    """Within ``near`` percent of the next tier's lower bound: N >= (1 - near/100) x bound,
    that is gap <= bound x p / s (p / s = near / 100, bound = N + gap), decided on
    integers. ``s`` may be 10**8 (--near 7.123456): the product is taken as
    (bound // s) x p + (bound % s) x p // s, nothing larger than the bound."""
    bound = pl.col(NUMERATOR) + pl.col(GAP)
    scale, share = _big(100 * near.denominator), _big(near.numerator)
    allowed = (bound // scale) * share + (bound % scale) * share // scale
    return (pl.col(GAP).is_not_null() & (pl.col(GAP) <= allowed)).fill_null(False)


def report_columns(
    plan: Plan,
    scored: pl.LazyFrame,
    gated: bool = False,
    carried: tuple[str, ...] = (),
    near: Fraction | None = None,
    sort: bool = True,
) -> pl.LazyFrame:
    """The published scores table, in the documented column order, sorted by customer.

    ``scored`` comes from ``with_gap``; ``carried`` are attribute columns shown after
    the id; a ``PREVIOUS`` column (tier index of an earlier run) adds the migration.
    ``sort=False`` when ``scored`` is sorted by customer already: sorting the narrow
    frame is cheaper than sorting the wide table.
    """
    labels = [t.label for t in plan.tiers]
    index = pl.col(TIER_INDEX)
    label_of = pl.Series(labels, dtype=pl.String)
    shown = [pl.col(c) for c in carried if c != UNUSABLE]
    columns: list[pl.Expr] = [pl.col("customer_id"), *shown]
    for c in plan.components:
        columns.append(_amount(plan, c.id, c.source).alias(f"{c.id}_amount"))
        if not plan.indicators:
            points = pl.col(c.id) * pl.lit(c.weight, pl.Int128)
            columns.append(to_money(points, plan.q).alias(f"{c.id}_points"))
    for i, ind in enumerate(plan.indicators):
        columns.append(to_money(sub_score(plan, i), CENTS).alias(f"{ind.id}_score"))
    if plan.bonus is not None:
        columns.append(bonus_applies(plan).alias("bonus"))
    columns.append(to_money(pl.col(NUMERATOR), plan.q).alias("points"))
    columns.append(_lookup(index, label_of).alias("tier"))
    if plan.ruleset.key_group:
        columns.append(key_customer(plan).alias("key_customer"))
    names = scored.collect_schema().names()
    if PREVIOUS in names:
        columns.append(_lookup(pl.col(PREVIOUS), label_of).alias("previous_tier"))
        columns.append(movement().alias("movement"))
    columns += [pl.col(c) for c in SERVICE_COLUMNS if c in names]  # see scoring.service
    columns.append(quality_flag(plan, gated).alias("quality"))
    columns.append(pl.when(index > 0).then(_lookup(index - 1, label_of)).alias("next_tier"))
    columns.append(to_money_up(pl.col(GAP), plan.q).alias("points_to_next"))
    if near is not None:
        columns.append(pl.when(index.is_not_null()).then(near_flag(near)).alias("near_next"))
    if gates_apply(plan, gated):
        columns.append(_gate_columns(plan, gated)[0].alias("quality_blocked_by"))
    for policy in ("follow_up", "service"):
        values = {i: getattr(t, policy) for i, t in enumerate(plan.tiers)}
        if any(values.values()):
            columns.append(index.replace_strict(values, return_dtype=pl.String).alias(policy))
    table = scored.select(columns)
    return table.sort("customer_id") if sort else table


def movement() -> pl.Expr:
    """up / down / same against the previous tier (a lower index is a higher tier);
    new when there was none, gone when the customer is no longer scored."""
    now, before = pl.col(TIER_INDEX), pl.col(PREVIOUS)
    return (
        pl.when(now.is_null())
        .then(pl.lit(GONE))
        .when(before.is_null())
        .then(pl.lit(NEW))
        .when(now < before)
        .then(pl.lit(UP))
        .when(now > before)
        .then(pl.lit(DOWN))
        .otherwise(pl.lit(SAME))
    )


def _lookup(index: pl.Expr, values: pl.Series) -> pl.Expr:
    mapping = dict(enumerate(values.to_list()))
    return index.replace_strict(mapping, default=None, return_dtype=values.dtype)
