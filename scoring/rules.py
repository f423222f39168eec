"""Rule sets: the rates, code lists and tier bounds of a scheme, loaded from TOML.

Everything a bank may want to change lives in the rule file, so that changing a
rate or a code is a reviewed data change, not a code change. Loading is strict:
an unknown key is an error, because a misspelt key silently ignored would
silently change customers' tiers.
"""

from __future__ import annotations

import hashlib
import re
import tomllib
import unicodedata
from dataclasses import dataclass, field, replace
from datetime import date
from decimal import Decimal
from fractions import Fraction
from importlib import resources
from pathlib import Path
from typing import Any

from .errors import ConfigError

SOURCES = {"balances": "daily_average", "transactions": "cumulative"}

_RULESET_KEYS = {
    "name", "title", "version", "unit", "quality_tier", "tier_by", "description", "key_group",
    "key_group_label", "negative_balances",
}  # fmt: skip
KEY_GROUP_LABEL = "关键客户"  # seed 002: the top tiers together, who bring most of the profit
TIER_BY = ("points", "rank")
# What a balance below zero (after its component's sign) is: a reject, or 0 that day.
NEGATIVE_BALANCES = ("reject", "zero")
_COMPONENT_KEYS = {
    "id",
    "label",
    "source",
    "measure",
    "rate",
    "codes",
    "cap",
    "caps",
    "requires_fee",
    "sign",
    "description",
}
# How a balances component reads its products' stored balances (see Component.sign).
SIGNS = ("positive", "negative", "absolute")
_TIER_KEYS = {"label", "min", "above", "top_share", "follow_up", "service", "description"}
_TOP_KEYS = {
    "ruleset", "components", "excluded", "tiers", "summary", "quality_gates", "indicators",
    "bonus", "service",
}  # fmt: skip
_INDICATOR_KEYS = {"id", "label", "components", "columns", "weight", "bands", "description"}
_BAND_KEYS = {"min", "score"}
_BONUS_KEYS = {"multiplier", "component", "column", "above", "description"}
_GATE_KEYS = {"id", "label", "column", "measure", "is_true", "at_least", "description"}
_SERVICE_KEYS = {"rating_days", "buffer_months", "floors", "description"}
_FLOOR_KEYS = {"column", "tier", "is_true", "at_least", "equals", "description"}


@dataclass(frozen=True)
class Bound:
    """What a number of the rule file may be: ``low`` (excluded when ``exclusive``) to
    ``high``, with at most ``decimals`` decimal places.

    The plan scores in exact integers inside 128 bits (see ``plan``); these bounds
    keep every integer it makes, for any window of up to ``plan.MAX_WINDOW_DAYS``
    days, well inside (``plan`` checks what depends on several keys together).
    """

    low: Decimal
    high: Decimal
    decimals: int
    exclusive: bool = False

    def __str__(self) -> str:
        low = f"> {self.low}" if self.exclusive else f">= {self.low}"
        places = "whole" if self.decimals == 0 else f"at most {self.decimals} decimal places"
        return f"{low} and <= {self.high:,}, {places}"


def _bound(low: str, high: int, decimals: int, exclusive: bool = False) -> Bound:
    return Bound(Decimal(low), Decimal(high), decimals, exclusive)


UNIT = _bound("0.01", 10**6, 2)  # yuan: the rates' common denominator stays <= 10**12
RATE = _bound("0", 10**6, 6)  # points per unit
CAP = _bound("0.01", 10**15, 2)  # yuan per transaction, as amounts (15 integer digits)
POINTS = _bound("0", 10**18, 8)  # tier bounds, points (x Q: 10**8 x D x L, see plan)
SHARE = _bound("0", 1, 6, exclusive=True)  # top_share: a share of customers
WEIGHT = _bound("0", 1, 6, exclusive=True)  # indicator weights, adding up to 1
YUAN = _bound("0", 10**18, 8)  # band and bonus bounds on measures (x 10**8 x D)
SCORE = _bound("0", 10**6, 2)  # band sub-scores, kept in hundredths
MULTIPLIER = _bound("0", 10**6, 6, exclusive=True)  # the bonus
COUNT = _bound("1", 10**18, 0)  # at_least: counts are read as 64-bit integers
BAR = _bound("0.01", 10**18, 2)  # a measure gate's at_least, yuan (x 100 x D, see plan)
MONTHS = _bound("0", 1200, 0)  # service.buffer_months: a hundred years is no buffer anyone means

# How many of each a rule file may declare: every one becomes a branch of an expression
# evaluated per customer or per row (or an Int16 component index), so a runaway list
# (a generated file, a paste gone wrong) would stall a run rather than score it.
MAX_COMPONENTS = 1_000
MAX_CODES = 100_000  # all code lists together, excluded codes included
MAX_TIERS = 100
MAX_INDICATORS = 100
MAX_BANDS = 100
MAX_GATES = 100
MAX_COLUMNS = 100  # customers columns one indicator adds up

# An id becomes a column name (components) or a value in a list (gates): ASCII letters,
# digits and _, starting with a letter, so it never names an internal column (those
# start with _) and reads the same in polars, Spark (which ignores case) and a CSV.
_ID = re.compile(r"[A-Za-z][A-Za-z0-9_]*")
_MONTH_DAY = re.compile(r"[0-9]{2}-[0-9]{2}")  # a rating day, "06-30" (ASCII digits)
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
    path = resolve_rules(name_or_path)
    raw = path.read_bytes()
    try:
        data = tomllib.loads(raw.decode("utf-8"), parse_float=Decimal)
    except ValueError as exc:  # TOMLDecodeError, UnicodeDecodeError, an integer of 4,301+ digits
        raise ConfigError(f"not valid TOML: {exc}", file=str(path)) from None
    except RecursionError:  # the parser recurses into nested arrays and tables
        raise ConfigError("not valid TOML: nested too deeply", file=str(path)) from None
    return _Parser(str(path)).ruleset(data, hashlib.sha256(raw).hexdigest())


class _Parser:
    """Turns the TOML document into a RuleSet, naming file and key on every error."""

    def __init__(self, file: str):
        self.file = file

    def fail(self, key: str, message: str) -> ConfigError:
        return ConfigError(message, file=self.file, key=key)

    def table(self, value: Any, key: str, allowed: set[str]) -> dict[str, Any]:
        if not isinstance(value, dict):
            raise self.fail(key, "must be a table")
        for extra in sorted(set(value) - allowed):
            raise self.fail(f"{key}.{extra}" if key else extra, "unknown key")
        return value

    def items(self, value: Any, key: str, most: int, what: str) -> list[Any]:
        """A list of tables, at most ``most`` of them."""
        if not isinstance(value, list):
            raise self.fail(key, f"must be a list of {what} tables")
        if len(value) > most:
            raise self.fail(key, f"at most {most:,} {what} tables")
        return value

    def text(self, table: dict[str, Any], key: str, where: str, default: str | None = None) -> str:
        """One line of text someone reads: a control or format character (a newline, a
        zero-width space) would make two different values look the same, or break a line."""
        value = table.get(key, default)
        if value is None:
            raise self.fail(f"{where}.{key}", "missing")
        if not isinstance(value, str) or not value.strip():
            raise self.fail(f"{where}.{key}", "must be a non-empty string")
        if _hidden(value):
            raise self.fail(f"{where}.{key}", "must not hold control or invisible characters")
        return value

    def name(self, table: dict[str, Any], key: str, where: str) -> str:
        """A label others match or file by (tier labels, customers columns): also no
        spaces around it, which a CSV reader trims and a person cannot see."""
        value = self.text(table, key, where)
        if value != value.strip():
            raise self.fail(f"{where}.{key}", "must not begin or end with spaces")
        return value

    def ident(self, table: dict[str, Any], key: str, where: str) -> str:
        value = self.text(table, key, where)
        if not _ID.fullmatch(value):
            raise self.fail(
                f"{where}.{key}",
                "must be a plain identifier (ASCII letters, digits, _; a letter first)",
            )
        return value

    def number(self, value: Any, key: str, bound: Bound) -> Decimal:
        """A number within ``bound``. TOML's true is not 1, nor nan or inf a number."""
        if isinstance(value, bool) or not isinstance(value, (int, Decimal)):
            raise self.fail(key, "must be a number")
        number = Decimal(value)
        if not number.is_finite():
            raise self.fail(key, "must be a finite number")
        too_low = number <= bound.low if bound.exclusive else number < bound.low
        if too_low or number > bound.high or not _places_within(number, bound.decimals):
            raise self.fail(key, f"must be {bound}")
        return number

    def codes(self, value: Any, key: str, *, required: bool = False) -> tuple[str, ...]:
        """Codes as the inputs hold them: a CSV reader trims spaces, so a code with a space
        at either end, or a hidden character, would never match and score nothing."""
        if not isinstance(value, list) or not all(isinstance(c, str) and c for c in value):
            raise self.fail(key, "must be a list of non-empty strings")
        if required and not value:
            raise self.fail(key, "must list at least one code")
        for code in value:
            if code != code.strip() or _hidden(code):
                raise self.fail(key, f"code {code!r} has spaces around it or a hidden character")
        if len(set(value)) != len(value):
            raise self.fail(key, "lists a code twice")
        return tuple(value)

    def ids(self, value: Any, key: str) -> tuple[str, ...]:
        """A list of other entries' ids (an indicator's components, summary assets)."""
        if not isinstance(value, list) or not all(isinstance(c, str) and c for c in value):
            raise self.fail(key, "must be a list of non-empty strings")
        if len(set(value)) != len(value):
            raise self.fail(key, "lists an id twice")
        return tuple(value)

    def ruleset(self, data: dict[str, Any], sha256: str) -> RuleSet:
        self.table(data, "", _TOP_KEYS)
        head = self.table(data.get("ruleset"), "ruleset", _RULESET_KEYS)
        components = self.components(data.get("components"))
        excluded = self.excluded(data.get("excluded", {}), components)
        tier_by = head.get("tier_by", "points")
        if tier_by not in TIER_BY:
            raise self.fail("ruleset.tier_by", "must be 'points' or 'rank'")
        tiers = (
            self.rank_tiers(data.get("tiers"))
            if tier_by == "rank"
            else self.tiers(data.get("tiers"))
        )
        quality = head.get("quality_tier")
        if quality is not None and quality not in [t.label for t in tiers]:
            raise self.fail("ruleset.quality_tier", f"{quality!r} is not a declared tier")
        indicators = self.indicators(data.get("indicators", []), components)
        rules = RuleSet(
            name=self.text(head, "name", "ruleset"),
            title=self.text(head, "title", "ruleset", default=head.get("name")),
            version=self.version(head.get("version", "0")),
            unit=self.number(head.get("unit", 1), "ruleset.unit", UNIT),
            components=components,
            excluded=excluded,
            tiers=tiers,
            quality_tier=quality,
            assets=self.assets(data.get("summary", {}), components),
            tier_by=tier_by,
            gates=self.gates(data.get("quality_gates", []), components, indicators),
            indicators=indicators,
            bonus=self.bonus(data.get("bonus"), components, "indicators" in data),
            source=self.file,
            sha256=sha256,
            key_group=self.key_group(head, tiers),
            key_group_label=self.text(head, "key_group_label", "ruleset", KEY_GROUP_LABEL),
            negative_balances=self.negative_balances(head),
        )
        if "service" not in data:
            return rules
        return replace(rules, service=self.service_table(data["service"], rules))

    def key_group(self, head: dict[str, Any], tiers: tuple[Tier, ...]) -> tuple[str, ...]:
        """Tiers counted together as key customers (seed 002: 重要客户 and 次要客户, the
        top 20% who bring about 80% of profit). A label not among the tiers would
        silently count no one, so it stops the load like any unknown name."""
        key = "ruleset.key_group"
        value = head.get("key_group")
        if value is None:
            if "key_group_label" in head:
                raise self.fail("ruleset.key_group_label", "names a key_group; give key_group")
            return ()
        if not isinstance(value, list) or not value or not all(isinstance(v, str) for v in value):
            raise self.fail(key, "must be a non-empty list of tier labels")
        labels = [t.label for t in tiers]
        for label in value:
            if label not in labels:
                raise self.fail(key, f"{label!r} is not a declared tier")
        if len(set(value)) != len(value):
            raise self.fail(key, "lists a tier twice")
        return tuple(value)

    def negative_balances(self, head: dict[str, Any]) -> str:
        """A current account may be overdrawn: "zero" counts such a day as 0 for its
        component instead of rejecting the row (the default, "reject")."""
        value = head.get("negative_balances", "reject")
        if value not in NEGATIVE_BALANCES:
            raise self.fail("ruleset.negative_balances", "must be 'reject' or 'zero'")
        return value

    def version(self, value: Any) -> str:
        """A label for the manifest: text or a number as written (2026.1), not a table."""
        if isinstance(value, bool) or not isinstance(value, (str, int, Decimal)):
            raise self.fail("ruleset.version", "must be a string or a number")
        return self.text({"version": str(value)}, "version", "ruleset")

    def components(self, value: Any) -> tuple[Component, ...]:
        if not isinstance(value, list) or not value:
            raise self.fail("components", "at least one [[components]] table is required")
        self.items(value, "components", MAX_COMPONENTS, "[[components]]")
        parsed = [self.component(item, f"components[{i}]") for i, item in enumerate(value)]
        seen_ids: set[str] = set()
        owner: dict[tuple[str, str], str] = {}
        for i, comp in enumerate(parsed):
            if comp.id.casefold() in seen_ids:
                raise self.fail(f"components[{i}].id", f"duplicate component id {comp.id!r}")
            seen_ids.add(comp.id.casefold())
            for code in comp.codes:
                other = owner.setdefault((comp.source, code), comp.id)
                if other != comp.id:
                    raise self.fail(
                        f"components[{i}].codes",
                        f"code {code!r} is in two components: {other} and {comp.id}",
                    )
        if len(owner) > MAX_CODES:
            raise self.fail("components", f"at most {MAX_CODES:,} codes in all")
        return tuple(parsed)

    def component(self, value: Any, key: str) -> Component:
        table = self.table(value, key, _COMPONENT_KEYS)
        cid = self.ident(table, "id", key)
        if cid.casefold() in _RESERVED:
            raise self.fail(f"{key}.id", f"{cid!r} is the name of a column scoring uses")
        source = self.text(table, "source", key)
        if source not in SOURCES:
            raise self.fail(f"{key}.source", "must be 'balances' or 'transactions'")
        measure = self.text(table, "measure", key, default=SOURCES[source])
        if measure != SOURCES[source]:
            raise self.fail(
                f"{key}.measure", f"a {source} component's measure is {SOURCES[source]}"
            )
        if "rate" not in table:
            raise self.fail(f"{key}.rate", "missing")
        codes = self.codes(table.get("codes"), f"{key}.codes", required=True)
        caps_raw = self.table(table.get("caps", {}), f"{key}.caps", set(codes))
        requires_fee = table.get("requires_fee", False)
        if not isinstance(requires_fee, bool):
            raise self.fail(f"{key}.requires_fee", "must be true or false")
        if source == "balances" and ("cap" in table or caps_raw or requires_fee):
            raise self.fail(key, "cap, caps and requires_fee apply to transactions components only")
        sign = table.get("sign", "positive")
        if source != "balances" and "sign" in table:  # amounts are > 0 whatever the product
            raise self.fail(f"{key}.sign", "applies to balances components only")
        if sign not in SIGNS:  # a number, a list or a table is none of them
            raise self.fail(f"{key}.sign", "must be 'positive', 'negative' or 'absolute'")
        cap = table.get("cap")
        return Component(
            id=cid,
            label=self.text(table, "label", key, default=cid),
            source=source,
            measure=measure,
            rate=self.number(table["rate"], f"{key}.rate", RATE),
            codes=codes,
            cap=None if cap is None else self.number(cap, f"{key}.cap", CAP),
            caps={c: self.number(v, f"{key}.caps.{c}", CAP) for c, v in caps_raw.items()},
            requires_fee=requires_fee,
            sign=sign,
        )

    def excluded(self, value: Any, components: tuple[Component, ...]) -> frozenset[str]:
        table = self.table(value, "excluded", {"codes", "description"})
        codes = self.codes(table.get("codes", []), "excluded.codes")
        mapped = {code for comp in components for code in comp.codes}
        for code in codes:
            if code in mapped:
                raise self.fail("excluded.codes", f"code {code!r} is also in a component")
        if len(mapped) + len(codes) > MAX_CODES:
            raise self.fail("excluded.codes", f"at most {MAX_CODES:,} codes in all")
        return frozenset(codes)

    def tiers(self, value: Any) -> tuple[Tier, ...]:
        if not isinstance(value, list) or not value:
            raise self.fail("tiers", "at least one [[tiers]] table is required, highest first")
        self.items(value, "tiers", MAX_TIERS, "[[tiers]]")
        tiers: list[Tier] = []
        for i, item in enumerate(value):
            key = f"tiers[{i}]"
            table = self.table(item, key, _TIER_KEYS)
            label = self.tier_label(table, key, tiers)
            if ("min" in table) == ("above" in table):
                raise self.fail(key, "give exactly one of min (>=) or above (>)")
            if "top_share" in table:
                raise self.fail(f"{key}.top_share", "only for tier_by = 'rank'")
            exclusive = "above" in table
            which = "above" if exclusive else "min"
            bound = self.number(table[which], f"{key}.{which}", POINTS)
            tier = Tier(label, bound, exclusive, *self.service(table, key))
            if tiers and not _strictly_below(tier, tiers[-1]):
                raise self.fail(f"{key}.min", "tiers must be listed highest first, bounds falling")
            tiers.append(tier)
        last = tiers[-1]
        if last.exclusive or last.bound != 0:
            raise self.fail(
                f"tiers[{len(tiers) - 1}]", "the last tier must be min = 0 (catches all)"
            )
        return tuple(tiers)

    def service(self, table: dict[str, Any], key: str) -> tuple[str | None, str | None]:
        """A tier's service policy: how often to follow up, and what service it gets."""
        return tuple(  # type: ignore[return-value]
            self.text(table, field, key) if field in table else None
            for field in ("follow_up", "service")
        )

    def tier_label(self, table: dict[str, Any], key: str, tiers: list[Tier]) -> str:
        """A tier label names the tier in scores, in the migration matrix (beside its
        "new" row and "gone" column) and a list file (``--split``): each must be one
        tier's alone, also where file names ignore case or replace characters."""
        label = self.name(table, "label", key)
        if label.casefold() in _MIGRATION:
            raise self.fail(f"{key}.label", f"{label!r} is a name the migration matrix uses")
        for tier in tiers:
            if tier.label == label:
                raise self.fail(f"{key}.label", f"duplicate tier {label!r}")
            if _file_name(tier.label) == _file_name(label):
                raise self.fail(
                    f"{key}.label", f"{label!r} and {tier.label!r} would share a list file"
                )
        return label

    def rank_tiers(self, value: Any) -> tuple[Tier, ...]:
        """Tiers by rank: each takes customers up to a cumulative share; the last the rest."""
        if not isinstance(value, list) or len(value) < 2:
            raise self.fail("tiers", "tier_by = 'rank' needs at least two [[tiers]], top first")
        self.items(value, "tiers", MAX_TIERS, "[[tiers]]")
        tiers: list[Tier] = []
        for i, item in enumerate(value):
            key = f"tiers[{i}]"
            table = self.table(item, key, _TIER_KEYS)
            label = self.tier_label(table, key, tiers)
            if "min" in table or "above" in table:
                raise self.fail(key, "rank tiers take top_share, not min or above")
            last = i == len(value) - 1
            if last != ("top_share" not in table):
                raise self.fail(f"{key}.top_share", "every tier but the last needs a top_share")
            share = (
                Decimal(1) if last else self.number(table["top_share"], f"{key}.top_share", SHARE)
            )
            if not 0 < share <= 1 or (tiers and share <= tiers[-1].bound):
                raise self.fail(f"{key}.top_share", "shares must rise within (0, 1]")
            tiers.append(Tier(label, share, False, *self.service(table, key)))
        return tuple(tiers)

    def indicators(self, value: Any, components: tuple[Component, ...]) -> tuple[Indicator, ...]:
        self.items(value, "indicators", MAX_INDICATORS, "[[indicators]]")
        ids = {c.id for c in components}
        out: list[Indicator] = []
        for i, item in enumerate(value):
            key = f"indicators[{i}]"
            table = self.table(item, key, _INDICATOR_KEYS)
            iid = self.ident(table, "id", key)
            taken = {x.casefold() for x in ids} | {x.id.casefold() for x in out}
            if iid.casefold() in taken:
                raise self.fail(f"{key}.id", "must be a unique identifier, not a component id")
            parts = self.ids(table.get("components", []), f"{key}.components")
            for part in parts:
                if part not in ids:
                    raise self.fail(f"{key}.components", f"{part!r} is not a component")
            columns = self.columns(table.get("columns", []), f"{key}.columns")
            if not parts and not columns:
                raise self.fail(key, "give components, columns (of --customers) or both")
            if "weight" not in table:
                raise self.fail(f"{key}.weight", "missing")
            weight = self.number(table["weight"], f"{key}.weight", WEIGHT)
            label = self.text(table, "label", key, default=iid)
            bands = self.bands(table.get("bands"), f"{key}.bands")
            out.append(Indicator(iid, label, parts, weight, bands, columns))
        if out and sum(x.weight for x in out) != 1:
            raise self.fail("indicators", "weights must add up to 1")
        taken = _taken_columns(components, tuple(out))
        for i, ind in enumerate(out):
            self.not_taken(ind.columns, f"indicators[{i}].columns", taken)
        return tuple(out)

    def columns(self, value: Any, key: str) -> tuple[str, ...]:
        """Customers columns read as yuan, named as the file's header holds them: no
        spaces around a name (a CSV reader trims them), nothing hidden, and not ``_``
        first (scoring's internal columns)."""
        if not isinstance(value, list) or not all(isinstance(c, str) for c in value):
            raise self.fail(key, "must be a list of customers column names")
        if len(value) > MAX_COLUMNS:
            raise self.fail(key, f"at most {MAX_COLUMNS:,} columns")
        for column in value:
            if not column.strip() or column != column.strip() or _hidden(column):
                raise self.fail(key, f"{column!r} is empty, has spaces around it or hides a "
                                "character")  # fmt: skip
            if column.startswith("_"):
                raise self.fail(key, f"{column!r}: a name starting with _ is scoring's own")
        if len({c.casefold() for c in value}) != len(value):
            raise self.fail(key, "lists a column twice")
        return tuple(value)

    def not_taken(self, columns: tuple[str, ...], key: str, taken: frozenset[str]) -> None:
        """A customers column read as yuan is carried into scores beside scoring's own
        columns: one of the same name (Spark ignores case) would make two."""
        for column in columns:
            if column.casefold() in taken:
                raise self.fail(key, f"{column!r} is the name of a column scoring uses")

    def bands(self, value: Any, key: str) -> tuple[tuple[Decimal, Decimal], ...]:
        if not isinstance(value, list) or not value:
            raise self.fail(key, "a list of {min, score} bands, lowest first, is required")
        self.items(value, key, MAX_BANDS, "{min, score}")
        bands = []
        for j, band in enumerate(value):
            table = self.table(band, f"{key}[{j}]", _BAND_KEYS)
            for name in ("min", "score"):
                if name not in table:
                    raise self.fail(f"{key}[{j}].{name}", "missing")
            low = self.number(table["min"], f"{key}[{j}].min", YUAN)
            if bands and low <= bands[-1][0]:
                raise self.fail(f"{key}[{j}].min", "bands must be listed lowest first, rising")
            bands.append((low, self.number(table["score"], f"{key}[{j}].score", SCORE)))
        if bands[0][0] != 0:
            raise self.fail(f"{key}[0].min", "the first band must start at 0")
        return tuple(bands)

    def bonus(self, value: Any, components: tuple[Component, ...], weighted: bool) -> Bonus | None:
        if value is None:
            return None
        if not weighted:
            raise self.fail("bonus", "a bonus applies to rule sets with [[indicators]] only")
        table = self.table(value, "bonus", _BONUS_KEYS)
        if ("component" in table) == ("column" in table):
            raise self.fail("bonus", "give exactly one of component or column (of --customers)")
        component = column = None
        if "component" in table:
            component = self.text(table, "component", "bonus")
            if component not in {c.id for c in components}:
                raise self.fail("bonus.component", f"{component!r} is not a component")
        else:
            if not isinstance(table["column"], str):
                raise self.fail("bonus.column", "must be a customers column name")
            column = self.columns([table["column"]], "bonus.column")[0]
            self.not_taken((column,), "bonus.column", _taken_columns(components, ()))
        if "multiplier" not in table:
            raise self.fail("bonus.multiplier", "missing")
        return Bonus(
            self.number(table["multiplier"], "bonus.multiplier", MULTIPLIER),
            component,
            self.number(table.get("above", 0), "bonus.above", YUAN),
            column,
        )

    def gates(
        self, value: Any, components: tuple[Component, ...], indicators: tuple[Indicator, ...]
    ) -> tuple[Gate, ...]:
        self.items(value, "quality_gates", MAX_GATES, "[[quality_gates]]")
        taken = _taken_columns(components, indicators)
        gates: list[Gate] = []
        for i, item in enumerate(value):
            key = f"quality_gates[{i}]"
            table = self.table(item, key, _GATE_KEYS)
            gid = self.ident(table, "id", key)
            if gid.casefold() == UNKNOWN_GATE:
                raise self.fail(f"{key}.id", f"{gid!r} names customers whose row is unusable")
            if any(g.id.casefold() == gid.casefold() for g in gates):
                raise self.fail(f"{key}.id", f"duplicate gate id {gid!r}")
            if ("column" in table) == ("measure" in table):
                raise self.fail(key, "give exactly one of column (of --customers) or measure")
            if "measure" in table:
                gates.append(self.measure_gate(table, key, gid, components))
                continue
            if ("is_true" in table) == ("at_least" in table):
                raise self.fail(key, "give exactly one of is_true = true or at_least = N")
            if "is_true" in table and table["is_true"] is not True:
                raise self.fail(f"{key}.is_true", "must be true")
            at_least = table.get("at_least")
            if at_least is not None:
                at_least = int(self.number(at_least, f"{key}.at_least", COUNT))
            column = self.gate_column(table, key, taken, gates, at_least is None)
            gates.append(Gate(gid, self.text(table, "label", key, default=gid), column, at_least))
        return tuple(gates)

    def measure_gate(
        self, table: dict[str, Any], key: str, gid: str, components: tuple[Component, ...]
    ) -> Gate:
        """A bar the customer must reach: the measure (yuan, as the ``<id>_amount``
        columns show it) below ``at_least`` blocks. A flag means nothing on a measure,
        so is_true is refused rather than read as some bar."""
        if "is_true" in table:
            raise self.fail(f"{key}.is_true", "a measure gate takes at_least (yuan), not is_true")
        if "at_least" not in table:
            raise self.fail(f"{key}.at_least", "missing: the yuan the measure must reach")
        parts = self.gate_measure(table, key, components)
        bar = self.number(table["at_least"], f"{key}.at_least", BAR)
        return Gate(gid, self.text(table, "label", key, default=gid), None, None, parts, bar)

    def gate_measure(
        self, table: dict[str, Any], key: str, components: tuple[Component, ...]
    ) -> tuple[str, ...]:
        """Component ids joined by ``+``, all of one source: a daily average plus a
        window's total would be a sum of two different things, so a bar on it would
        mean nothing; a part twice would count one measure twice."""
        where = f"{key}.measure"
        text = self.text(table, "measure", key)
        if any(ch.isspace() for ch in text):
            raise self.fail(where, "must not hold spaces: component ids joined by +")
        parts = text.split("+")
        if not all(parts):
            raise self.fail(where, "has an empty part: component ids joined by +, e.g. a+b")
        source = {c.id: c.source for c in components}
        for part in parts:
            if part not in source:
                raise self.fail(where, f"{part!r} is not a component")
        if len(set(parts)) != len(parts):
            raise self.fail(where, "names a component twice")
        if len({source[p] for p in parts}) > 1:
            raise self.fail(where, "adds components of both sources; one source only")
        return tuple(parts)

    def gate_column(
        self,
        table: dict[str, Any],
        key: str,
        taken: frozenset[str],
        gates: list[Gate],
        flag: bool,
    ) -> str:
        """A customers column: not one the scores or their frames already have (two
        columns of one name; Spark ignores case), and read one way only (a flag or a
        count: a column cannot be parsed as both)."""
        column = self.name(table, "column", key)
        if column.startswith("_") or column.casefold() in taken:
            raise self.fail(f"{key}.column", f"{column!r} is the name of a column scoring uses")
        for gate in gates:
            if gate.column == column and (gate.at_least is None) != flag:
                raise self.fail(
                    f"{key}.column", f"{column!r} is read as a flag and as a count ({gate.id})"
                )
        return column

    def assets(self, value: Any, components: tuple[Component, ...]) -> tuple[str, ...]:
        table = self.table(value, "summary", {"assets"})
        ids = self.ids(table.get("assets", []), "summary.assets")
        balance_ids = {c.id for c in components if c.source == "balances"}
        for cid in ids:
            if cid not in balance_ids:
                raise self.fail("summary.assets", f"{cid!r} is not a balances component")
        return ids

    def service_table(self, value: Any, rules: RuleSet) -> Service:
        """``[service]``: the service tier's lifecycle. Its watch list's ``hold_yuan`` is a
        daily balance that raises the points in proportion: tiers by rank or by banded
        indicators have no such balance, so the table needs rate-scored points tiers
        and a balances component that earns points."""
        table = self.table(value, "service", _SERVICE_KEYS)
        if rules.tier_by == "rank" or rules.weighted:
            raise self.fail("service", "needs points tiers from rates (not tier_by = 'rank' "
                            "or [[indicators]]): hold_yuan adds points in proportion")  # fmt: skip
        if not any(c.rate > 0 for c in rules.by_source("balances")):
            raise self.fail("service", "needs a balances component with a rate above 0: "
                            "hold_yuan is a daily balance in one")  # fmt: skip
        if "rating_days" not in table:
            raise self.fail("service.rating_days", 'missing, e.g. ["06-30", "12-31"]')
        return Service(
            self.rating_days(table["rating_days"]),
            self.buffers(table.get("buffer_months", {}), [t.label for t in rules.tiers]),
            self.floors(table.get("floors", []), rules),
        )

    def rating_days(self, value: Any) -> tuple[tuple[int, int], ...]:
        """Days of every year, "MM-DD": 02-29 is not one, so a rating day that some years
        lack (and would silently skip) is refused."""
        key = "service.rating_days"
        if not isinstance(value, list) or not value:
            raise self.fail(key, 'must be a non-empty list of "MM-DD" days, e.g. ["06-30"]')
        days: list[tuple[int, int]] = []
        for i, item in enumerate(value):
            where = f"{key}[{i}]"
            if not isinstance(item, str) or not _MONTH_DAY.fullmatch(item):
                raise self.fail(where, 'must be "MM-DD" in ASCII digits, e.g. "06-30"')
            month, day = int(item[:2]), int(item[3:])
            if (month, day) == (2, 29):
                raise self.fail(where, "02-29 is not a day of every year; a rating day must be")
            try:
                date(2025, month, day)
            except ValueError:
                raise self.fail(where, f"{item!r} is not a day of the year") from None
            if (month, day) in days:
                raise self.fail(where, f"{item!r} is listed twice")
            days.append((month, day))
        return tuple(sorted(days))

    def buffers(self, value: Any, labels: list[str]) -> dict[str, int]:
        """Months a contribution must stay below each tier before a rating day may
        lower it: whole months, 0 to 1,200; a tier not listed has 0."""
        key = "service.buffer_months"
        if not isinstance(value, dict):
            raise self.fail(key, 'must be a table of tier label = months, e.g. { "五星级" = 6 }')
        out = {}
        for label, months in value.items():
            if label not in labels:
                raise self.fail(f"{key}.{label}", f"{label!r} is not a declared tier")
            out[label] = int(self.number(months, f"{key}.{label}", MONTHS))
        return out

    def floors(self, value: Any, rules: RuleSet) -> tuple[Floor, ...]:
        """Conditions on customers columns, as the gates': a column is read one way by
        every gate and floor (a flag, a count or a text: a cell cannot be parsed as
        two), and is not one scoring names or reads as yuan (Spark ignores case)."""
        self.items(value, "service.floors", MAX_GATES, "[[service.floors]]")
        taken = _taken_columns(rules.components, rules.indicators)
        money = {c.casefold(): k for c, k in money_columns(rules).items()}
        kinds = {
            g.column.casefold(): "count" if g.at_least is not None else "flag"
            for g in rules.column_gates
            if g.column is not None
        }
        labels = [t.label for t in rules.tiers]
        floors: list[Floor] = []
        for i, item in enumerate(value):
            key = f"service.floors[{i}]"
            table = self.table(item, key, _FLOOR_KEYS)
            column = self.name(table, "column", key)
            if column.startswith("_") or column.casefold() in taken:
                raise self.fail(f"{key}.column", f"{column!r} is the name of a column scoring uses")
            if column.casefold() in money:
                raise self.fail(f"{key}.column", f"{column!r} is read as yuan by "
                                f"{money[column.casefold()]}")  # fmt: skip
            tier = self.name(table, "tier", key)
            if tier not in labels:
                raise self.fail(f"{key}.tier", f"{tier!r} is not a declared tier")
            floor = self.floor(table, key, column, tier)
            known = kinds.setdefault(column.casefold(), floor.kind)
            if known != floor.kind:
                raise self.fail(f"{key}.column", f"{column!r} is read as a {known} elsewhere and "
                                f"as a {floor.kind} here; a column is read one way")  # fmt: skip
            floors.append(floor)
        return tuple(floors)

    def floor(self, table: dict[str, Any], key: str, column: str, tier: str) -> Floor:
        given = [k for k in ("is_true", "at_least", "equals") if k in table]
        if len(given) != 1:
            raise self.fail(key, 'give exactly one of is_true = true, at_least = N or '
                            'equals = "text"')  # fmt: skip
        if "is_true" in table:
            if table["is_true"] is not True:
                raise self.fail(f"{key}.is_true", "must be true")
            return Floor(column, tier, is_true=True)
        if "at_least" in table:
            at_least = int(self.number(table["at_least"], f"{key}.at_least", COUNT))
            return Floor(column, tier, at_least=at_least)
        return Floor(column, tier, equals=self.name(table, "equals", key))


def _strictly_below(lower: Tier, upper: Tier) -> bool:
    """True when every score reaching ``upper`` also reaches ``lower`` but not conversely."""
    if lower.bound != upper.bound:
        return lower.bound < upper.bound
    return upper.exclusive and not lower.exclusive


def _places_within(number: Decimal, decimals: int) -> bool:
    """``number`` has at most ``decimals`` decimal places, decided exactly (a Decimal's
    own rounding works to 28 digits). A non-zero value under 10**-decimals has more,
    and is answered before any large power of ten is built from its exponent."""
    if number == 0:
        return True
    if abs(number) < Decimal(1).scaleb(-decimals):
        return False
    return (Fraction(number) * 10**decimals).denominator == 1


def _hidden(text: str) -> bool:
    """A control, format (zero-width, direction marks) or line-separator character."""
    return any(unicodedata.category(ch) in ("Cc", "Cf", "Zl", "Zp") for ch in text)


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
