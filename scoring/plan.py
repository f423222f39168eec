"""A rule set compiled for one window into integer arithmetic any engine can run.

Points are rational: a 181-day average is rarely a finite decimal. Rather than
round early, every customer's total is kept as an integer numerator ``N`` over
one denominator ``Q`` shared by the whole run, so a tier bound ``b`` is reached
exactly when ``N >= ceil(b * Q)``. The plan holds only Python integers and
strings, so the polars engine and a future Spark engine evaluate the same
numbers (Spark: DecimalType(38, 0)).

Units: balances and amounts in cents; balance-days (积数) in cent-days;
fee ratios in millionths (``RATIO_SCALE``).

Range: polars' 128-bit integers wrap silently, so every integer is kept below
``NUMERATOR_LIMIT``, a thousandth of the range (rounding to cents multiplies by 200,
the 80% concentration by 5; Spark's DECIMAL(38, 0) holds it too). A rule file's
bounds (``rules``) and the checks here, made for the longest window
(``MAX_WINDOW_DAYS``) whatever the run's window, guarantee it for any run whose
measures add up to at most ``CAPACITY_YUAN``; a larger run is checked as it is
scored (``points.with_numerator``) and stops rather than wrap.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import date, timedelta
from fractions import Fraction
from typing import TYPE_CHECKING

from .errors import ConfigError
from .rules import RuleSet, Tier, _taken_columns, money_columns
from .window import Window

if TYPE_CHECKING:
    from .fx import Fx

CENTS = 100
RATIO_DIGITS = 6
RATIO_SCALE = 10**RATIO_DIGITS
_MAX_WEIGHT_DENOMINATOR = 10**12
NUMERATOR_LIMIT = 2**127 // 1000
MAX_WINDOW_DAYS = 3660  # ten years and then some: every check below is made for it
SHARES = 2520  # joint_accounts = "split": a balance in shares, whole for 1..MOST_HOLDERS
MOST_HOLDERS = 10
CAPACITY_YUAN = 10**17  # measures of a run, all customers and components, always scored
# Values columns holding the customers columns a weighted rule set reads as yuan (cents;
# null when unknown), numbered: an internal name never meets the customers column itself,
# which the attributes carry into scores beside them.
MONEY = "_money"


@dataclass(frozen=True)
class ComponentPlan:
    """``points = value * weight / Q`` where value is cent-days or ratio-scaled cents."""

    id: str
    label: str
    source: str
    weight: int
    requires_fee: bool


@dataclass(frozen=True)
class TierPlan:
    label: str
    threshold: int  # smallest N that reaches the tier (tier_by = "points")
    bound_q: int  # the bound in points times Q, for points_to_next
    share: Fraction | None = None  # cumulative share of customers (tier_by = "rank")
    follow_up: str | None = None
    service: str | None = None


@dataclass(frozen=True)
class IndicatorPlan:
    """An indicator in integers: its value is ``sum(col * factor)`` over ``terms``, in
    yuan times ``VQ`` (= 100 x D x RATIO_SCALE); it reaches band k when the value is at
    least ``thresholds[k]``, scoring ``scores[k]`` (hundredths); ``weight`` over W. A
    term's column is a component id or a customers column's ``MONEY`` name (null when
    the customer's value is unknown: see ``points.sub_score``)."""

    id: str
    label: str
    terms: tuple[tuple[str, int], ...]
    thresholds: tuple[int, ...]
    scores: tuple[int, ...]
    weight: int


@dataclass(frozen=True)
class BonusPlan:
    component: str  # the values column: a component id, or a customers column's MONEY name
    factor: int  # value term of the column, as in IndicatorPlan.terms
    above: int  # bound times VQ
    multiplier: int  # over ``scale``
    scale: int


@dataclass(frozen=True)
class Forward:
    """Towards the next rating day, what the measuring pass also sums (``watch``): the
    balance-days of the rating window ``start``..``end`` from rows dated up to
    ``as_of`` (each account's last balance on ``as_of`` holds through ``end``), and
    the transactions dated ``start``..``as_of`` (none when ``start`` is later). Set
    by ``watch.with_forward``, so one pass over the rows serves the run and the watch."""

    start: date
    as_of: date
    end: date

    @property
    def transactions(self) -> bool:
        return self.start <= self.as_of


@dataclass(frozen=True)
class Plan:
    ruleset: RuleSet
    window: Window
    q: int  # common denominator of points
    components: tuple[ComponentPlan, ...]
    codes: dict[str, dict[str, str]]  # source -> code -> component id
    caps: dict[str, int]  # transaction code -> cap in cents
    excluded: frozenset[str]
    tiers: tuple[TierPlan, ...]
    quality_index: int | None
    by_rank: bool = False
    indicators: tuple[IndicatorPlan, ...] = ()
    bonus: BonusPlan | None = None
    # balance product code -> "negative" / "absolute" (``_signs``); no entry: positive
    signs: dict[str, str] = field(default_factory=dict)
    # measure gate id -> the smallest sum of its components' values that passes (``_bars``)
    bars: dict[str, int] = field(default_factory=dict)
    forward: Forward | None = None  # also measured towards the next rating day (``Forward``)
    fx: Fx | None = None  # --fx: measures in 1/``Fx.scale`` cents, converted to yuan

    @property
    def scale(self) -> int:
        """Measure units per cent (``measure_unit``)."""
        return measure_unit(self.ruleset, self.fx)

    @property
    def shares(self) -> int:
        """A balance's shares among joint holders ("split"), else 1: see ``scale``."""
        return _shares(self.ruleset)

    @property
    def joint(self) -> bool:
        """Rows of one account and date that differ only in customer are holders."""
        return self.ruleset.joint_accounts != "reject"

    def per_yuan(self, source: str) -> int:
        """A component's value for one yuan of its measure: cent-days over the window's
        days (balances: a daily average), ratio-cents (transactions), times ``scale``."""
        return CENTS * self.scale * (self.day_count if source == "balances" else RATIO_SCALE)

    def of_source(self, source: str) -> tuple[ComponentPlan, ...]:
        return tuple(c for c in self.components if c.source == source)

    @property
    def day_count(self) -> int:
        return self.window.days


def _shares(rules: RuleSet) -> int:
    return SHARES if rules.joint_accounts == "split" else 1


def measure_unit(rules: RuleSet, fx: Fx | None) -> int:
    """Measure units per cent: 1; with --fx ``Fx.scale`` times that (foreign amounts
    exact); under joint_accounts = "split" ``SHARES`` times that (a holder's share
    exact). Every value and every denominator carries it, so no figure changes."""
    return (1 if fx is None else fx.scale) * _shares(rules)


def longest_window() -> Window:
    """A window of ``MAX_WINDOW_DAYS`` days: what ``rules check`` compiles for (the
    checks are the same for any window; this one also makes the largest integers)."""
    start = date(2000, 1, 1)
    end = start + timedelta(days=MAX_WINDOW_DAYS - 1)
    return Window(start, end, f"{start.isoformat()}..{end.isoformat()}")


def compile_plan(rules: RuleSet, window: Window, fx: Fx | None = None) -> Plan:
    """Scale every rate to a common integer denominator for this window (and, with
    ``fx``, to its finer unit: see ``Plan.scale``).

    What the rule file alone decides is checked for the longest window, not this
    one, so that a file ``rules check`` accepts scores in any window, and one it
    rejects is rejected by every run, with the same message."""
    if window.days > MAX_WINDOW_DAYS:
        raise ConfigError(
            f"the window has {window.days:,} days; at most {MAX_WINDOW_DAYS:,} are scored",
            key="window",
        )
    weights = {c.id: Fraction(c.rate) / Fraction(rules.unit) for c in rules.components}
    denominator = math.lcm(*(w.denominator for w in weights.values()))
    if denominator > _MAX_WEIGHT_DENOMINATOR:
        raise ConfigError(
            "rates and unit give too fine a fraction to score exactly",
            file=rules.source,
            key="components.rate",
        )
    if not rules.weighted:
        _check_capacity(rules, weights, denominator)
    days = window.days
    # points = cent_days/(100*D) * w  for balances;  ratio_cents/(100*S) * w  for transactions
    scale = measure_unit(rules, fx)
    q = CENTS * days * RATIO_SCALE * denominator * scale
    components = tuple(
        ComponentPlan(
            id=c.id,
            label=c.label,
            source=c.source,
            weight=int(weights[c.id] * denominator)
            * (RATIO_SCALE if c.source == "balances" else days),
            requires_fee=c.requires_fee,
        )
        for c in rules.components
    )
    codes: dict[str, dict[str, str]] = {"balances": {}, "transactions": {}}
    caps: dict[str, int] = {}
    for c in rules.components:
        for code in c.codes:
            codes[c.source][code] = c.id
            cap = c.cap_for(code)
            if cap is not None:
                caps[code] = _cents(cap, rules.source, f"components.{c.id}.cap")
    indicators: tuple[IndicatorPlan, ...] = ()
    bonus: BonusPlan | None = None
    if rules.weighted:
        q, indicators, bonus = _weighted(rules, days, scale)
    by_rank = rules.tier_by == "rank"
    return Plan(
        rules,
        window,
        q,
        components,
        codes,
        caps,
        rules.excluded,
        _tier_plans(rules, q, days),
        rules.quality_index,
        by_rank,
        indicators,
        bonus,
        signs=_signs(rules),
        bars=_bars(rules, days, scale),
        fx=fx,
    )


def _bars(rules: RuleSet, days: int, unit: int = 1) -> dict[str, int]:
    """Each measure gate's bar on its components' own integer values, so that the gate
    compares exactly what ``<id>_amount`` shows before rounding: yuan x 100 x D for
    balances (cent-days), yuan x 100 x RATIO_SCALE for transactions (ratio-cents). A
    bar of at most 2 decimals is whole on both; one of 10**18 yuan stays far below
    the 128-bit range at the longest window."""
    scale = {"balances": CENTS * days * unit, "transactions": CENTS * RATIO_SCALE * unit}
    source = {c.id: c.source for c in rules.components}
    return {
        g.id: _exact(g.bar * scale[source[g.measure[0]]], rules.source, f"quality_gates.{g.id}")
        for g in rules.measure_gates
        if g.bar is not None
    }


def _signs(rules: RuleSet) -> dict[str, str]:
    """How each product's stored balance is read, for the products of components whose
    ``sign`` is not positive: validation, which knows a row's product, negates or takes
    the magnitude of their balances (``validate.balance_parsers``). Every other product,
    mapped or not, is held to >= 0 as always, so no sign is guessed for a code the rule
    set does not name."""
    signed = [c for c in rules.by_source("balances") if c.sign != "positive"]
    return {code: c.sign for c in signed for code in c.codes}


def _tier_plans(rules: RuleSet, q: int, days: int) -> tuple[TierPlan, ...]:
    """Rank tiers keep their shares; points tiers become integer thresholds. A points
    Q is ``days`` times one that does not depend on the window (a weighted Q does not
    at all): a bound whole on that one is whole at any window, and one that fits at
    the longest window's Q fits at all."""
    if rules.tier_by == "rank":
        return tuple(
            TierPlan(t.label, 0, 0, Fraction(t.bound), t.follow_up, t.service) for t in rules.tiers
        )
    per_day = q if rules.weighted else q // days
    longest = q if rules.weighted else per_day * MAX_WINDOW_DAYS
    for i, tier in enumerate(rules.tiers):
        _check_bound(tier, per_day, longest, rules.source, i)
    return tuple(_tier_plan(t, q) for t in rules.tiers)


def _weighted(
    rules: RuleSet, days: int, unit: int = 1
) -> tuple[int, tuple[IndicatorPlan, ...], BonusPlan | None]:
    """Weighted banded scores as integers: score = sum(w x s) x bonus = N / Q. ``unit``:
    measure units per cent (``Plan.scale``), in VQ and so in every bound."""
    vq = CENTS * days * RATIO_SCALE * unit
    source = {c.id: c.source for c in rules.components}
    money = money_names(rules)
    _check_money(rules)

    def factor(cid: str) -> int:  # cent-days x S, or ratio-cents x D: both yuan x VQ
        return RATIO_SCALE if source[cid] == "balances" else days

    def terms(components: tuple[str, ...], columns: tuple[str, ...]) -> tuple[tuple[str, int], ...]:
        """Components, then customers columns: cents x D x S is yuan x VQ too."""
        read = tuple((cid, factor(cid)) for cid in components)
        return read + tuple((money[c], days * RATIO_SCALE * unit) for c in columns)

    w_den = math.lcm(*(Fraction(i.weight).denominator for i in rules.indicators))
    bonus = rules.bonus
    m_den = Fraction(bonus.multiplier).denominator if bonus else 1
    indicators = tuple(
        IndicatorPlan(
            i.id,
            i.label,
            terms(i.components, i.columns),
            tuple(_exact(low * vq, rules.source, f"indicators.{i.id}.bands") for low, _ in i.bands),
            tuple(_exact(score * CENTS, rules.source, f"indicators.{i.id}.bands")
                  for _, score in i.bands),
            int(Fraction(i.weight) * w_den),
        )
        for i in rules.indicators
    )  # fmt: skip
    plan_bonus = None
    if bonus is not None:
        parts = (bonus.component,) if bonus.component is not None else ()
        ((read, read_factor),) = terms(parts, (bonus.column,) if bonus.column else ())
        plan_bonus = BonusPlan(
            read,
            read_factor,
            _exact(bonus.above * vq, rules.source, "bonus.above"),
            int(Fraction(bonus.multiplier) * m_den),
            m_den,
        )
    return w_den * CENTS * m_den, indicators, plan_bonus


def money_names(rules: RuleSet) -> dict[str, str]:
    """Each customers column the rule set reads as yuan, with its ``MONEY`` values column."""
    return {column: f"{MONEY}{i}" for i, column in enumerate(money_columns(rules))}


def _check_money(rules: RuleSet) -> None:
    """What the rule file's parts decide only together: a customers column read as yuan
    is read that one way (a gate would read it as a flag or a count: a cell cannot be
    parsed as both), and is not named like an indicator's ``<id>_score`` column (the
    bonus is read before the indicators' names are all known)."""
    money = {column.casefold(): key for column, key in money_columns(rules).items()}
    for i, gate in enumerate(rules.gates):
        if gate.column is not None and gate.column.casefold() in money:
            raise ConfigError(
                f"{gate.column!r} is read as yuan by {money[gate.column.casefold()]} and as a "
                "flag or count by this gate; a column is read one way (Spark ignores case)",
                file=rules.source,
                key=f"quality_gates[{i}].column",
            )
    taken = _taken_columns((), rules.indicators)
    bonus = rules.bonus
    if bonus is not None and bonus.column is not None and bonus.column.casefold() in taken:
        raise ConfigError(
            f"{bonus.column!r} is the name of a column scoring uses",
            file=rules.source,
            key="bonus.column",
        )


def _exact(value: object, file: str, key: str) -> int:
    number = Fraction(str(value))
    if number.denominator != 1:
        raise ConfigError("too many decimal places to score exactly", file=file, key=key)
    return int(number)


def _check_capacity(rules: RuleSet, weights: dict[str, Fraction], denominator: int) -> None:
    """Each yuan of a component's measure adds ``weight x 10**8 x D`` to the numerator
    (``w x Q``); ``CAPACITY_YUAN`` of it must stay within ``NUMERATOR_LIMIT`` in the
    longest window. The weight is the rate over the unit on the common denominator of
    all rates, so many decimal places in one rate raise every other's too."""
    per_yuan = CENTS * RATIO_SCALE * MAX_WINDOW_DAYS * CAPACITY_YUAN
    most = NUMERATOR_LIMIT // per_yuan
    for i, comp in enumerate(rules.components):
        weight = int(weights[comp.id] * denominator)  # whole: the denominator is common
        if weight > most:
            raise ConfigError(
                f"on the common denominator of all rates and the unit ({denominator:,}), "
                f"this rate is {weight:,} parts; at most {most:,} can be scored exactly "
                "(give the rates fewer decimal places, or a larger unit)",
                file=rules.source,
                key=f"components[{i}].rate",
            )


def _check_bound(tier: Tier, per_day: int, longest: int, file: str, index: int) -> None:
    """A tier bound is whole on ``per_day`` (Q is a multiple of it at any window) and
    fits at the longest window's Q."""
    key = f"tiers[{index}].{'above' if tier.exclusive else 'min'}"
    if (Fraction(tier.bound) * per_day).denominator != 1:
        raise ConfigError("bound has too many decimal places", file=file, key=key)
    if Fraction(tier.bound) * longest >= NUMERATOR_LIMIT:
        most = NUMERATOR_LIMIT // longest
        raise ConfigError(
            f"bound is more than can be scored exactly with these rates (at most {most:,})",
            file=file,
            key=key,
        )


def _tier_plan(tier: Tier, q: int) -> TierPlan:
    """The smallest integer N with N / Q >= bound (or > bound when exclusive)."""
    bound_q = Fraction(tier.bound) * q
    threshold = int(bound_q) + 1 if tier.exclusive else int(bound_q)
    return TierPlan(tier.label, threshold, int(bound_q), None, tier.follow_up, tier.service)


def _cents(amount: object, file: str, key: str) -> int:
    value = Fraction(str(amount)) * CENTS
    if value.denominator != 1:
        raise ConfigError("amounts have at most 2 decimal places", file=file, key=key)
    return int(value)
