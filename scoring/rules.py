"""Rule sets: the rates, code lists and tier bounds of a scheme, loaded from TOML.

Everything a bank may want to change lives in the rule file, so that changing a
rate or a code is a reviewed data change, not a code change. Loading is strict:
what each table and key may be is declared once (``scoring.rule_schema``) and
checked from that declaration, an unknown key being an error because a misspelt key
silently ignored would silently change customers' tiers. What only several keys
together decide (a code in two components, tiers listed highest first) is checked
here, from the checked values.
"""

from __future__ import annotations

import hashlib
import re
import tomllib
from dataclasses import dataclass, field, replace
from decimal import Decimal
from importlib import resources
from pathlib import Path
from typing import Any

from .errors import ConfigError
from .rule_schema import (
    BAR_YUAN,
    COUNTED,
    KEY_GROUP_LABEL,
    MAX_CODES,
    SOURCES,
    ComponentTable,
    ExcludedTable,
    FloorTable,
    GateTable,
    IndicatorTable,
    Invalid,
    RuleFile,
    RulesetTable,
    ServiceTable,
    SummaryTable,
    TierTable,
    check,
)

UNKNOWN_GATE = "unknown"  # blocks a customer whose customers row is unusable (see points)
# Columns that sit beside component columns in the frames a run builds (input rows,
# per-customer values, scores, summary parts): a component so named would overwrite one.
_RESERVED = frozenset({
    "customer_id", "account_id", "product", "date", "balance", "txn_id", "txn_type",
    "amount", "fee", "fee_ratio", "branch", "manager", "points", "tier", "quality",
    "next_tier", "points_to_next", "near_next", "quality_blocked_by", "previous_tier",
    "movement", "follow_up", "service", "bonus", "customers", "quality_customers", "gate",
    "key_customer",
})  # fmt: skip
# The service tier's scores columns (``[service]``, see scoring.service), in their order.
SERVICE_COLUMNS = (
    "service_tier", "service_since", "below_since", "downgrade_on", "service_reason",
    "override_reason", "lifecycle_tier", "hold_yuan",
)  # fmt: skip
# Published scores columns whatever the rule set (see points.report_columns).
_SCORES_COLUMNS = frozenset({
    "customer_id", "points", "tier", "previous_tier", "movement", "quality", "next_tier",
    "points_to_next", "near_next", "quality_blocked_by", "follow_up", "service", "bonus",
    "key_customer", *SERVICE_COLUMNS,
})  # fmt: skip
_MIGRATION = ("new", "gone")  # the migration matrix's extra row and column
# As scoring.split names a tier's list file: a tier label that maps to another's file
# name would put two tiers in one list.
_UNSAFE_IN_NAMES = r'[\\/:*?"<>|\x00-\x1f]'
_UNASSIGNED = "未分配"  # split's name for a label with nothing left (breakdown.UNASSIGNED)


@dataclass(frozen=True)
class Component:
    """One scored measure: a daily average of balances or a cumulative amount of transactions."""

    id: str
    label: str
    source: str
    measure: str
    rate: Decimal
    codes: tuple[str, ...]
    cap: Decimal | None = None
    caps: dict[str, Decimal] = field(default_factory=dict)
    requires_fee: bool = False
    # balances only: "negative" counts a stored -500.00 (a loan, as many exports carry
    # it) as 500.00 and rejects a stored +500.00; "absolute" takes either's magnitude
    sign: str = "positive"

    def cap_for(self, code: str) -> Decimal | None:
        return self.caps.get(code, self.cap)


@dataclass(frozen=True)
class Tier:
    """A tier reached at ``bound`` points: inclusive (``min``) or exclusive (``above``)."""

    label: str
    bound: Decimal  # points (tier_by = "points") or cumulative share of customers ("rank")
    exclusive: bool = False
    follow_up: str | None = None
    service: str | None = None


@dataclass(frozen=True)
class Gate:
    """A condition that keeps the customer out of quality, the tier unchanged.

    On a customers ``column``: a flag that blocks when true (``at_least`` None), or a
    count that blocks from ``at_least``. On a ``measure`` (components of one source,
    added up): a bar the customer must reach, blocking while the measure is below
    ``bar`` yuan (seed 004's deposits of 300,000 yuan); it needs no customers file.
    """

    id: str
    label: str
    column: str | None
    at_least: int | None = None
    measure: tuple[str, ...] = ()
    bar: Decimal | None = None


@dataclass(frozen=True)
class Indicator:
    """A weighted score's input: the sum of some components' measures and some numeric
    ``columns`` of the customers file (yuan, e.g. seed 003's 历史销售额), banded into a
    sub-score (e.g. 0-100) by ``bands`` of (lower bound, sub-score), lowest first."""

    id: str
    label: str
    components: tuple[str, ...]
    weight: Decimal
    bands: tuple[tuple[Decimal, Decimal], ...]
    columns: tuple[str, ...] = ()


@dataclass(frozen=True)
class Bonus:
    """Multiply the weighted score when a component's measure, or a customers ``column``
    (yuan), is above a bound: exactly one of the two is set."""

    multiplier: Decimal
    component: str | None
    above: Decimal
    column: str | None = None


@dataclass(frozen=True)
class Floor:
    """The lowest service tier a customers-file condition guarantees (a private-banking
    client, a platinum card holder). The condition is a gate's: a flag (``is_true``), a
    count from ``at_least``, or a text equal to ``equals``."""

    column: str
    tier: str
    is_true: bool = False
    at_least: int | None = None
    equals: str | None = None

    @property
    def kind(self) -> str:
        """How the column's cells are read: "flag", "count" or "text"."""
        return "flag" if self.is_true else "count" if self.at_least is not None else "text"


@dataclass(frozen=True)
class Service:
    """The service tier's lifecycle (当期升级、延期降级): upgraded at once, lowered only on a
    rating day (``rating_days``, (month, day) in calendar order) once the contribution
    has stayed below it for the tier's ``buffer_months`` (0 for a tier not listed), and
    never below a ``floor`` the customer meets."""

    rating_days: tuple[tuple[int, int], ...]
    buffer_months: dict[str, int]
    floors: tuple[Floor, ...] = ()


def money_columns(rules: RuleSet) -> dict[str, str]:
    """The customers columns the rule set reads as yuan, each with the first rule key
    that reads it (for a message naming where the rule file asks for it)."""
    found: dict[str, str] = {}
    for i, ind in enumerate(rules.indicators):
        for column in ind.columns:
            found.setdefault(column, f"indicators[{i}].columns")
    if rules.bonus is not None and rules.bonus.column is not None:
        found.setdefault(rules.bonus.column, "bonus.column")
    return found


@dataclass(frozen=True)
class RuleSet:
    name: str
    title: str
    version: str
    unit: Decimal
    components: tuple[Component, ...]
    excluded: frozenset[str]
    tiers: tuple[Tier, ...]
    quality_tier: str | None
    assets: tuple[str, ...]
    tier_by: str
    gates: tuple[Gate, ...]
    indicators: tuple[Indicator, ...]
    bonus: Bonus | None

    @property
    def column_gates(self) -> tuple[Gate, ...]:
        """The gates on columns of ``--customers`` (applied only with one)."""
        return tuple(g for g in self.gates if g.column is not None)

    @property
    def measure_gates(self) -> tuple[Gate, ...]:
        """The gates on measured components (applied on every run)."""
        return tuple(g for g in self.gates if g.measure)

    @property
    def weighted(self) -> bool:
        """Scored by weighted, banded indicators rather than by rates."""
        return bool(self.indicators)

    source: str
    sha256: str
    key_group: tuple[str, ...] = ()  # tier labels that are key customers together
    key_group_label: str = KEY_GROUP_LABEL
    service: Service | None = None  # the service tier's lifecycle (``[service]``)
    # "zero": an overdrawn end-of-day balance counts as 0 that day (see ``plan``)
    negative_balances: str = "reject"
    fx_convert: str = "daily"  # ``[fx] convert``: which day's rate makes a foreign amount yuan
    # rows of one account and date differing only in customer: "each", "split", "reject"
    joint_accounts: str = "each"

    @property
    def quality_index(self) -> int | None:
        """Tiers at this index or above (lower index = higher tier) are quality."""
        labels = [t.label for t in self.tiers]
        return labels.index(self.quality_tier) if self.quality_tier else None

    def by_source(self, source: str) -> tuple[Component, ...]:
        return tuple(c for c in self.components if c.source == source)

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "version": self.version,
            "title": self.title,
            "file": self.source,
            "sha256": self.sha256,
        }


def shipped_rule_files() -> dict[str, Path]:
    """Rule sets installed with tierscore, by name (the file stem)."""
    folder = resources.files("tierscore.rules")
    return {Path(p.name).stem: Path(str(p)) for p in folder.iterdir() if p.name.endswith(".toml")}


def resolve_rules(name_or_path: str) -> Path:
    """A shipped rule set's name, or a path to a TOML file."""
    path = Path(name_or_path)
    if path.suffix == ".toml" or path.exists():
        if not path.is_file():
            raise ConfigError("rule file not found", file=name_or_path)
        return path
    shipped = shipped_rule_files()
    if name_or_path not in shipped:
        known = ", ".join(sorted(shipped)) or "none"
        raise ConfigError(f"no rule set named {name_or_path!r} (shipped: {known})", key="--rules")
    return shipped[name_or_path]


def load_rules(name_or_path: str) -> RuleSet:
    """A rule set by shipped name or path, hashed as its bytes are (the manifest names
    exactly the file scored); any fault is a ConfigError naming file and key."""
    path = resolve_rules(name_or_path)
    raw = path.read_bytes()
    try:
        data = tomllib.loads(raw.decode("utf-8"), parse_float=Decimal)
    except ValueError as exc:  # TOMLDecodeError, UnicodeDecodeError, an integer of 4,301+ digits
        raise ConfigError(f"not valid TOML: {exc}", file=str(path)) from None
    except RecursionError:  # the parser recurses into nested arrays and tables
        raise ConfigError("not valid TOML: nested too deeply", file=str(path)) from None
    return _parse(data, str(path), hashlib.sha256(raw).hexdigest())


def _parse(data: dict[str, Any], file: str, sha256: str) -> RuleSet:
    """The TOML document checked against its declaration, then for what several keys
    decide together; every failure names the file and the key path."""
    try:
        return _ruleset(check(RuleFile, data, ""), file, sha256)
    except Invalid as exc:
        raise ConfigError(exc.message, file=file, key=exc.key) from None


def _ruleset(doc: RuleFile, file: str, sha256: str) -> RuleSet:
    """The checked tables, read in the order their checks depend on each other
    (components before what names them, tiers before what names a tier)."""
    head = doc.ruleset
    components = _components(doc.components)
    excluded = _excluded(doc.excluded, components)
    tiers = _rank_tiers(doc.tiers) if head.tier_by == "rank" else _tiers(doc.tiers)
    indicators = _indicators(doc.indicators, components)
    rules = RuleSet(
        name=head.name,
        title=head.title or head.name,
        version=head.version,
        unit=head.unit,
        components=components,
        excluded=excluded,
        tiers=tiers,
        quality_tier=_quality_tier(head, tiers),
        assets=_assets(doc.summary, components),
        tier_by=head.tier_by,
        gates=_gates(doc.quality_gates, components, indicators),
        indicators=indicators,
        bonus=_bonus(doc, components),
        source=file,
        sha256=sha256,
        key_group=_key_group(head, tiers),
        key_group_label=head.key_group_label,
        negative_balances=head.negative_balances,
        fx_convert=doc.fx.convert,
        joint_accounts=head.joint_accounts,
    )
    if doc.service is None:
        return rules
    return replace(rules, service=_service(doc.service, rules))


def _quality_tier(head: RulesetTable, tiers: tuple[Tier, ...]) -> str | None:
    """A quality tier that is not a tier would silently make no one quality."""
    quality = head.quality_tier
    if quality is not None and quality not in [t.label for t in tiers]:
        raise Invalid("ruleset.quality_tier", f"{quality!r} is not a declared tier")
    return quality


def _key_group(head: RulesetTable, tiers: tuple[Tier, ...]) -> tuple[str, ...]:
    """Tiers counted together as key customers (seed 002: 重要客户 and 次要客户, the
    top 20% who bring about 80% of profit). A label not among the tiers would
    silently count no one, so it stops the load like any unknown name."""
    key = "ruleset.key_group"
    if "key_group" not in head.given:
        if "key_group_label" in head.given:
            raise Invalid("ruleset.key_group_label", "names a key_group; give key_group")
        return ()
    labels = [t.label for t in tiers]
    for label in head.key_group:
        if label not in labels:
            raise Invalid(key, f"{label!r} is not a declared tier")
    if len(set(head.key_group)) != len(head.key_group):
        raise Invalid(key, "lists a tier twice")
    return head.key_group


def _components(items: tuple[ComponentTable, ...]) -> tuple[Component, ...]:
    """Each component, then what holds across them: ids unique ignoring case (Spark
    ignores case), a code in one component of a source, and all codes' count."""
    parsed = [_component(item, f"components[{i}]") for i, item in enumerate(items)]
    seen_ids: set[str] = set()
    owner: dict[tuple[str, str], str] = {}
    for i, comp in enumerate(parsed):
        if comp.id.casefold() in seen_ids:
            raise Invalid(f"components[{i}].id", f"duplicate component id {comp.id!r}")
        seen_ids.add(comp.id.casefold())
        for code in comp.codes:
            other = owner.setdefault((comp.source, code), comp.id)
            if other != comp.id:
                raise Invalid(
                    f"components[{i}].codes",
                    f"code {code!r} is in two components: {other} and {comp.id}",
                )
    if len(owner) > MAX_CODES:
        raise Invalid("components", f"at most {MAX_CODES:,} codes in all")
    return tuple(parsed)


def _component(t: ComponentTable, key: str) -> Component:
    """A component's keys that depend on each other: the measure is its source's, caps
    name its own codes, and caps and fees are for transactions, a sign for balances
    (a transaction's amount is > 0 whatever its type)."""
    if t.id.casefold() in _RESERVED:
        raise Invalid(f"{key}.id", f"{t.id!r} is the name of a column scoring uses")
    measure = t.measure or SOURCES[t.source]
    if measure != SOURCES[t.source]:
        raise Invalid(f"{key}.measure", f"a {t.source} component's measure is {SOURCES[t.source]}")
    stray = sorted(set(t.caps) - set(t.codes))
    if stray:
        raise Invalid(f"{key}.caps.{stray[0]}", "unknown key")
    if t.source == "balances" and ("cap" in t.given or t.caps or t.requires_fee):
        raise Invalid(key, "cap, caps and requires_fee apply to transactions components only")
    if t.source != "balances" and "sign" in t.given:
        raise Invalid(f"{key}.sign", "applies to balances components only")
    return Component(
        id=t.id,
        label=t.label or t.id,
        source=t.source,
        measure=measure,
        rate=t.rate,
        codes=t.codes,
        cap=t.cap,
        caps=dict(t.caps),
        requires_fee=t.requires_fee,
        sign=t.sign,
    )


def _excluded(t: ExcludedTable, components: tuple[Component, ...]) -> frozenset[str]:
    """Codes that score nothing on purpose: one also in a component would be both."""
    mapped = {code for comp in components for code in comp.codes}
    for code in t.codes:
        if code in mapped:
            raise Invalid("excluded.codes", f"code {code!r} is also in a component")
    if len(mapped) + len(t.codes) > MAX_CODES:
        raise Invalid("excluded.codes", f"at most {MAX_CODES:,} codes in all")
    return frozenset(t.codes)


def _tiers(items: tuple[TierTable, ...]) -> tuple[Tier, ...]:
    """Tiers by points: each at one bound, falling, the last catching all."""
    if not items:
        raise Invalid("tiers", "at least one [[tiers]] table is required, highest first")
    tiers: list[Tier] = []
    for i, t in enumerate(items):
        key = f"tiers[{i}]"
        label = _tier_label(t, key, tiers)
        if ("min" in t.given) == ("above" in t.given):
            raise Invalid(key, "give exactly one of min (>=) or above (>)")
        if "top_share" in t.given:
            raise Invalid(f"{key}.top_share", "only for tier_by = 'rank'")
        exclusive = "above" in t.given
        tier = Tier(label, t.above if exclusive else t.min, exclusive, t.follow_up, t.service)
        if tiers and not _strictly_below(tier, tiers[-1]):
            raise Invalid(f"{key}.min", "tiers must be listed highest first, bounds falling")
        tiers.append(tier)
    last = tiers[-1]
    if last.exclusive or last.bound != 0:
        raise Invalid(f"tiers[{len(tiers) - 1}]", "the last tier must be min = 0 (catches all)")
    return tuple(tiers)


def _rank_tiers(items: tuple[TierTable, ...]) -> tuple[Tier, ...]:
    """Tiers by rank: each takes customers up to a cumulative share; the last the rest."""
    if len(items) < 2:
        raise Invalid("tiers", "tier_by = 'rank' needs at least two [[tiers]], top first")
    tiers: list[Tier] = []
    for i, t in enumerate(items):
        key = f"tiers[{i}]"
        label = _tier_label(t, key, tiers)
        if "min" in t.given or "above" in t.given:
            raise Invalid(key, "rank tiers take top_share, not min or above")
        last = i == len(items) - 1
        if last != ("top_share" not in t.given):
            raise Invalid(f"{key}.top_share", "every tier but the last needs a top_share")
        share = Decimal(1) if last else t.top_share
        if not 0 < share <= 1 or (tiers and share <= tiers[-1].bound):
            raise Invalid(f"{key}.top_share", "shares must rise within (0, 1]")
        tiers.append(Tier(label, share, False, t.follow_up, t.service))
    return tuple(tiers)


def _tier_label(t: TierTable, key: str, tiers: list[Tier]) -> str:
    """A tier label names the tier in scores, in the migration matrix (beside its
    "new" row and "gone" column) and a list file (``--split``): each must be one
    tier's alone, also where file names ignore case or replace characters."""
    label = t.label
    if label.casefold() in _MIGRATION:
        raise Invalid(f"{key}.label", f"{label!r} is a name the migration matrix uses")
    for tier in tiers:
        if tier.label == label:
            raise Invalid(f"{key}.label", f"duplicate tier {label!r}")
        if _file_name(tier.label) == _file_name(label):
            raise Invalid(f"{key}.label", f"{label!r} and {tier.label!r} would share a list file")
    return label


def _indicators(
    items: tuple[IndicatorTable, ...], components: tuple[Component, ...]
) -> tuple[Indicator, ...]:
    """Indicators with ids of their own, on components that exist, weights adding up
    to 1, and customers columns not named like a column scoring uses."""
    ids = {c.id for c in components}
    out: list[Indicator] = []
    for i, t in enumerate(items):
        key = f"indicators[{i}]"
        taken = {x.casefold() for x in ids} | {x.id.casefold() for x in out}
        if t.id.casefold() in taken:
            raise Invalid(f"{key}.id", "must be a unique identifier, not a component id")
        for part in t.components:
            if part not in ids:
                raise Invalid(f"{key}.components", f"{part!r} is not a component")
        if not t.components and not t.columns:
            raise Invalid(key, "give components, columns (of --customers) or both")
        bands = _bands(t, f"{key}.bands")
        out.append(Indicator(t.id, t.label or t.id, t.components, t.weight, bands, t.columns))
    if out and sum(x.weight for x in out) != 1:
        raise Invalid("indicators", "weights must add up to 1")
    taken_columns = _taken_columns(components, tuple(out))
    for i, ind in enumerate(out):
        _not_taken(ind.columns, f"indicators[{i}].columns", taken_columns)
    return tuple(out)


def _bands(t: IndicatorTable, key: str) -> tuple[tuple[Decimal, Decimal], ...]:
    """(lower bound, sub-score), rising from 0: every measure falls in one band."""
    bands: list[tuple[Decimal, Decimal]] = []
    for j, band in enumerate(t.bands):
        if bands and band.min <= bands[-1][0]:
            raise Invalid(f"{key}[{j}].min", "bands must be listed lowest first, rising")
        bands.append((band.min, band.score))
    if bands[0][0] != 0:
        raise Invalid(f"{key}[0].min", "the first band must start at 0")
    return tuple(bands)


def _not_taken(columns: tuple[str, ...], key: str, taken: frozenset[str]) -> None:
    """A customers column read as yuan is carried into scores beside scoring's own
    columns: one of the same name (Spark ignores case) would make two."""
    for column in columns:
        if column.casefold() in taken:
            raise Invalid(key, f"{column!r} is the name of a column scoring uses")


def _bonus(doc: RuleFile, components: tuple[Component, ...]) -> Bonus | None:
    """A bonus multiplies a weighted score, on one component's measure or one
    customers column: with both or neither it would be unclear what it tests."""
    b = doc.bonus
    if b is None:
        return None
    if "indicators" not in doc.given:
        raise Invalid("bonus", "a bonus applies to rule sets with [[indicators]] only")
    if ("component" in b.given) == ("column" in b.given):
        raise Invalid("bonus", "give exactly one of component or column (of --customers)")
    if b.component is not None and b.component not in {c.id for c in components}:
        raise Invalid("bonus.component", f"{b.component!r} is not a component")
    if b.column is not None:
        _not_taken((b.column,), "bonus.column", _taken_columns(components, ()))
    return Bonus(b.multiplier, b.component, b.above, b.column)


def _assets(t: SummaryTable, components: tuple[Component, ...]) -> tuple[str, ...]:
    """Assets are daily averages: a transactions component's total is not one."""
    balance_ids = {c.id for c in components if c.source == "balances"}
    for cid in t.assets:
        if cid not in balance_ids:
            raise Invalid("summary.assets", f"{cid!r} is not a balances component")
    return t.assets


def _gates(
    items: tuple[GateTable, ...],
    components: tuple[Component, ...],
    indicators: tuple[Indicator, ...],
) -> tuple[Gate, ...]:
    """Gates with ids of their own (``unknown`` is the gate of unusable rows), each on
    a customers column or on a measure, never both."""
    taken = _taken_columns(components, indicators)
    gates: list[Gate] = []
    for i, t in enumerate(items):
        key = f"quality_gates[{i}]"
        if t.id.casefold() == UNKNOWN_GATE:
            raise Invalid(f"{key}.id", f"{t.id!r} names customers whose row is unusable")
        if any(g.id.casefold() == t.id.casefold() for g in gates):
            raise Invalid(f"{key}.id", f"duplicate gate id {t.id!r}")
        if ("column" in t.given) == ("measure" in t.given):
            raise Invalid(key, "give exactly one of column (of --customers) or measure")
        if "measure" in t.given:
            gates.append(_measure_gate(t, key, components))
        else:
            gates.append(_column_gate(t, key, taken, gates))
    return tuple(gates)


def _column_gate(t: GateTable, key: str, taken: frozenset[str], gates: list[Gate]) -> Gate:
    """A flag or a count on a customers column: not one the scores or their frames
    already have (two columns of one name; Spark ignores case), and read one way only
    (a column cannot be parsed as both a flag and a count)."""
    if ("is_true" in t.given) == ("at_least" in t.given):
        raise Invalid(key, "give exactly one of is_true = true or at_least = N")
    at_least = None if t.at_least is None else COUNTED.read(t.at_least, f"{key}.at_least")
    column = t.column
    assert column is not None  # given: exactly one of column or measure
    if column.startswith("_") or column.casefold() in taken:
        raise Invalid(f"{key}.column", f"{column!r} is the name of a column scoring uses")
    for gate in gates:
        if gate.column == column and (gate.at_least is None) != (at_least is None):
            raise Invalid(
                f"{key}.column", f"{column!r} is read as a flag and as a count ({gate.id})"
            )
    return Gate(t.id, t.label or t.id, column, at_least)


def _measure_gate(t: GateTable, key: str, components: tuple[Component, ...]) -> Gate:
    """A bar the customer must reach: the measure (yuan, as the ``<id>_amount``
    columns show it) below ``at_least`` blocks. A flag means nothing on a measure,
    so is_true is refused rather than read as some bar."""
    if "is_true" in t.given:
        raise Invalid(f"{key}.is_true", "a measure gate takes at_least (yuan), not is_true")
    if t.at_least is None:
        raise Invalid(f"{key}.at_least", "missing: the yuan the measure must reach")
    parts = _gate_measure(t.measure or "", f"{key}.measure", components)
    bar = BAR_YUAN.read(t.at_least, f"{key}.at_least")
    return Gate(t.id, t.label or t.id, None, None, parts, bar)


def _gate_measure(text: str, where: str, components: tuple[Component, ...]) -> tuple[str, ...]:
    """Component ids joined by ``+``, all of one source: a daily average plus a
    window's total would be a sum of two different things, so a bar on it would
    mean nothing; a part twice would count one measure twice."""
    if any(ch.isspace() for ch in text):
        raise Invalid(where, "must not hold spaces: component ids joined by +")
    parts = text.split("+")
    if not all(parts):
        raise Invalid(where, "has an empty part: component ids joined by +, e.g. a+b")
    source = {c.id: c.source for c in components}
    for part in parts:
        if part not in source:
            raise Invalid(where, f"{part!r} is not a component")
    if len(set(parts)) != len(parts):
        raise Invalid(where, "names a component twice")
    if len({source[p] for p in parts}) > 1:
        raise Invalid(where, "adds components of both sources; one source only")
    return tuple(parts)


def _service(t: ServiceTable, rules: RuleSet) -> Service:
    """``[service]``: the service tier's lifecycle. Its watch list's ``hold_yuan`` is a
    daily balance that raises the points in proportion: tiers by rank or by banded
    indicators have no such balance, so the table needs rate-scored points tiers
    and a balances component that earns points."""
    if rules.tier_by == "rank" or rules.weighted:
        raise Invalid("service", "needs points tiers from rates (not tier_by = 'rank' "
                      "or [[indicators]]): hold_yuan adds points in proportion")  # fmt: skip
    if not any(c.rate > 0 for c in rules.by_source("balances")):
        raise Invalid("service", "needs a balances component with a rate above 0: "
                      "hold_yuan is a daily balance in one")  # fmt: skip
    labels = [tier.label for tier in rules.tiers]
    for label in t.buffer_months:  # months a contribution stays below before a drop
        if label not in labels:
            raise Invalid(f"service.buffer_months.{label}", f"{label!r} is not a declared tier")
    return Service(t.rating_days, dict(t.buffer_months), _floors(t.floors, rules))


def _floors(items: tuple[FloorTable, ...], rules: RuleSet) -> tuple[Floor, ...]:
    """Conditions on customers columns, as the gates': a column is read one way by
    every gate and floor (a flag, a count or a text: a cell cannot be parsed as
    two), and is not one scoring names or reads as yuan (Spark ignores case)."""
    taken = _taken_columns(rules.components, rules.indicators)
    money = {c.casefold(): k for c, k in money_columns(rules).items()}
    kinds = {
        g.column.casefold(): "count" if g.at_least is not None else "flag"
        for g in rules.column_gates
        if g.column is not None
    }
    labels = [tier.label for tier in rules.tiers]
    floors: list[Floor] = []
    for i, t in enumerate(items):
        key = f"service.floors[{i}]"
        folded = t.column.casefold()
        if t.column.startswith("_") or folded in taken:
            raise Invalid(f"{key}.column", f"{t.column!r} is the name of a column scoring uses")
        if folded in money:
            raise Invalid(f"{key}.column", f"{t.column!r} is read as yuan by {money[folded]}")
        if t.tier not in labels:
            raise Invalid(f"{key}.tier", f"{t.tier!r} is not a declared tier")
        floor = _floor(t, key)
        known = kinds.setdefault(folded, floor.kind)
        if known != floor.kind:
            raise Invalid(f"{key}.column", f"{t.column!r} is read as a {known} elsewhere and "
                          f"as a {floor.kind} here; a column is read one way")  # fmt: skip
        floors.append(floor)
    return tuple(floors)


def _floor(t: FloorTable, key: str) -> Floor:
    """One condition, as a gate has one: two would leave which applies unclear."""
    if sum(k in t.given for k in ("is_true", "at_least", "equals")) != 1:
        raise Invalid(key, 'give exactly one of is_true = true, at_least = N or '
                      'equals = "text"')  # fmt: skip
    return Floor(t.column, t.tier, is_true=t.is_true, at_least=t.at_least, equals=t.equals)


def _strictly_below(lower: Tier, upper: Tier) -> bool:
    """True when every score reaching ``upper`` also reaches ``lower`` but not conversely."""
    if lower.bound != upper.bound:
        return lower.bound < upper.bound
    return upper.exclusive and not lower.exclusive


def _file_name(label: str) -> str:
    """The name ``scoring.split.safe_name`` gives a tier's list file, case folded (a
    Windows or macOS disk does not tell Gold.csv from gold.csv)."""
    name = re.sub(_UNSAFE_IN_NAMES, "_", label).strip()
    return (name if name.strip(".") else _UNASSIGNED).casefold()


def _taken_columns(
    components: tuple[Component, ...], indicators: tuple[Indicator, ...]
) -> frozenset[str]:
    """Names (case folded) a customers column may not have: the scores columns this
    rule set can publish, the columns beside which attributes are joined (component
    values) and the named text attributes (a gate reads a flag or a count)."""
    names = set(_SCORES_COLUMNS) | {"branch", "manager"}
    for comp in components:
        names |= {comp.id, f"{comp.id}_amount", f"{comp.id}_points"}
    names |= {f"{ind.id}_score" for ind in indicators}
    return frozenset(n.casefold() for n in names)
