"""Rule sets: the rates, code lists and tier bounds of a scheme, loaded from TOML.

Everything a bank may want to change lives in the rule file, so that changing a
rate or a code is a reviewed data change, not a code change. Loading is strict:
an unknown key is an error, because a misspelt key silently ignored would
silently change customers' tiers.
"""

from __future__ import annotations

import hashlib
import tomllib
from dataclasses import dataclass, field
from decimal import Decimal
from importlib import resources
from pathlib import Path
from typing import Any

from .errors import ConfigError

SOURCES = {"balances": "daily_average", "transactions": "cumulative"}

_RULESET_KEYS = {
    "name", "title", "version", "unit", "quality_tier", "tier_by", "description",
}  # fmt: skip
TIER_BY = ("points", "rank")
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
    "description",
}
_TIER_KEYS = {"label", "min", "above", "top_share", "follow_up", "service", "description"}
_TOP_KEYS = {
    "ruleset", "components", "excluded", "tiers", "summary", "quality_gates", "indicators",
    "bonus",
}  # fmt: skip
_INDICATOR_KEYS = {"id", "label", "components", "weight", "bands", "description"}
_BAND_KEYS = {"min", "score"}
_BONUS_KEYS = {"multiplier", "component", "above", "description"}
_GATE_KEYS = {"id", "label", "column", "is_true", "at_least", "description"}


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
    """A condition on a customer attribute that keeps the customer out of quality.

    ``at_least`` None means the column is a flag that blocks when true.
    """

    id: str
    label: str
    column: str
    at_least: int | None = None


@dataclass(frozen=True)
class Indicator:
    """A weighted score's input: the sum of some components' measures (yuan), banded
    into a sub-score (e.g. 0-100) by ``bands`` of (lower bound, sub-score), lowest first."""

    id: str
    label: str
    components: tuple[str, ...]
    weight: Decimal
    bands: tuple[tuple[Decimal, Decimal], ...]


@dataclass(frozen=True)
class Bonus:
    """Multiply the weighted score when a component's measure is above a bound."""

    multiplier: Decimal
    component: str
    above: Decimal


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
    def weighted(self) -> bool:
        """Scored by weighted, banded indicators rather than by rates."""
        return bool(self.indicators)

    source: str
    sha256: str

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
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"not valid TOML: {exc}", file=str(path)) from None
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

    def text(self, table: dict[str, Any], key: str, where: str, default: str | None = None) -> str:
        value = table.get(key, default)
        if value is None:
            raise self.fail(f"{where}.{key}", "missing")
        if not isinstance(value, str) or not value.strip():
            raise self.fail(f"{where}.{key}", "must be a non-empty string")
        return value

    def number(self, value: Any, key: str, *, positive: bool = False) -> Decimal:
        if isinstance(value, bool) or not isinstance(value, (int, Decimal)):
            raise self.fail(key, "must be a number")
        number = Decimal(value)
        if not number.is_finite() or number < 0 or (positive and number == 0):
            raise self.fail(key, "must be a finite number " + ("> 0" if positive else ">= 0"))
        return number

    def codes(self, value: Any, key: str) -> tuple[str, ...]:
        if not isinstance(value, list) or not all(isinstance(c, str) and c for c in value):
            raise self.fail(key, "must be a list of non-empty strings")
        if len(set(value)) != len(value):
            raise self.fail(key, "lists a code twice")
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
        return RuleSet(
            name=self.text(head, "name", "ruleset"),
            title=self.text(head, "title", "ruleset", default=head.get("name")),
            version=str(head.get("version", "0")),
            unit=self.number(head.get("unit", 1), "ruleset.unit", positive=True),
            components=components,
            excluded=excluded,
            tiers=tiers,
            quality_tier=quality,
            assets=self.assets(data.get("summary", {}), components),
            tier_by=tier_by,
            gates=self.gates(data.get("quality_gates", [])),
            indicators=self.indicators(data.get("indicators", []), components),
            bonus=self.bonus(data.get("bonus"), components, "indicators" in data),
            source=self.file,
            sha256=sha256,
        )

    def components(self, value: Any) -> tuple[Component, ...]:
        if not isinstance(value, list) or not value:
            raise self.fail("components", "at least one [[components]] table is required")
        parsed = [self.component(item, f"components[{i}]") for i, item in enumerate(value)]
        seen_ids: set[str] = set()
        owner: dict[tuple[str, str], str] = {}
        for i, comp in enumerate(parsed):
            if comp.id in seen_ids:
                raise self.fail(f"components[{i}].id", f"duplicate component id {comp.id!r}")
            seen_ids.add(comp.id)
            for code in comp.codes:
                other = owner.setdefault((comp.source, code), comp.id)
                if other != comp.id:
                    raise self.fail(
                        f"components[{i}].codes",
                        f"code {code!r} is in two components: {other} and {comp.id}",
                    )
        return tuple(parsed)

    def component(self, value: Any, key: str) -> Component:
        table = self.table(value, key, _COMPONENT_KEYS)
        cid = self.text(table, "id", key)
        if not cid.isidentifier():
            raise self.fail(f"{key}.id", "must be a plain identifier (letters, digits, _)")
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
        codes = self.codes(table.get("codes"), f"{key}.codes")
        caps_raw = self.table(table.get("caps", {}), f"{key}.caps", set(codes))
        requires_fee = table.get("requires_fee", False)
        if not isinstance(requires_fee, bool):
            raise self.fail(f"{key}.requires_fee", "must be true or false")
        if source == "balances" and ("cap" in table or caps_raw or requires_fee):
            raise self.fail(key, "cap, caps and requires_fee apply to transactions components only")
        cap = table.get("cap")
        return Component(
            id=cid,
            label=self.text(table, "label", key, default=cid),
            source=source,
            measure=measure,
            rate=self.number(table["rate"], f"{key}.rate"),
            codes=codes,
            cap=None if cap is None else self.number(cap, f"{key}.cap", positive=True),
            caps={c: self.number(v, f"{key}.caps.{c}", positive=True) for c, v in caps_raw.items()},
            requires_fee=requires_fee,
        )

    def excluded(self, value: Any, components: tuple[Component, ...]) -> frozenset[str]:
        table = self.table(value, "excluded", {"codes", "description"})
        codes = self.codes(table.get("codes", []), "excluded.codes")
        mapped = {code for comp in components for code in comp.codes}
        for code in codes:
            if code in mapped:
                raise self.fail("excluded.codes", f"code {code!r} is also in a component")
        return frozenset(codes)

    def tiers(self, value: Any) -> tuple[Tier, ...]:
        if not isinstance(value, list) or not value:
            raise self.fail("tiers", "at least one [[tiers]] table is required, highest first")
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
            bound = self.number(table[which], f"{key}.{which}")
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
        label = self.text(table, "label", key)
        if any(t.label == label for t in tiers):
            raise self.fail(f"{key}.label", f"duplicate tier {label!r}")
        return label

    def rank_tiers(self, value: Any) -> tuple[Tier, ...]:
        """Tiers by rank: each takes customers up to a cumulative share; the last the rest."""
        if not isinstance(value, list) or len(value) < 2:
            raise self.fail("tiers", "tier_by = 'rank' needs at least two [[tiers]], top first")
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
            share = Decimal(1) if last else self.number(table["top_share"], f"{key}.top_share")
            if not 0 < share <= 1 or (tiers and share <= tiers[-1].bound):
                raise self.fail(f"{key}.top_share", "shares must rise within (0, 1]")
            tiers.append(Tier(label, share, False, *self.service(table, key)))
        return tuple(tiers)

    def indicators(self, value: Any, components: tuple[Component, ...]) -> tuple[Indicator, ...]:
        if not isinstance(value, list):
            raise self.fail("indicators", "must be a list of [[indicators]] tables")
        ids = {c.id for c in components}
        out: list[Indicator] = []
        for i, item in enumerate(value):
            key = f"indicators[{i}]"
            table = self.table(item, key, _INDICATOR_KEYS)
            iid = self.text(table, "id", key)
            if not iid.isidentifier() or iid in ids or any(x.id == iid for x in out):
                raise self.fail(f"{key}.id", "must be a unique identifier, not a component id")
            parts = self.codes(table.get("components"), f"{key}.components")
            for part in parts:
                if part not in ids:
                    raise self.fail(f"{key}.components", f"{part!r} is not a component")
            if "weight" not in table:
                raise self.fail(f"{key}.weight", "missing")
            weight = self.number(table["weight"], f"{key}.weight", positive=True)
            out.append(Indicator(iid, self.text(table, "label", key, default=iid), parts, weight,
                                 self.bands(table.get("bands"), f"{key}.bands")))  # fmt: skip
        if out and sum(x.weight for x in out) != 1:
            raise self.fail("indicators", "weights must add up to 1")
        return tuple(out)

    def bands(self, value: Any, key: str) -> tuple[tuple[Decimal, Decimal], ...]:
        if not isinstance(value, list) or not value:
            raise self.fail(key, "a list of {min, score} bands, lowest first, is required")
        bands = []
        for j, band in enumerate(value):
            table = self.table(band, f"{key}[{j}]", _BAND_KEYS)
            for name in ("min", "score"):
                if name not in table:
                    raise self.fail(f"{key}[{j}].{name}", "missing")
            low = self.number(table["min"], f"{key}[{j}].min")
            if bands and low <= bands[-1][0]:
                raise self.fail(f"{key}[{j}].min", "bands must be listed lowest first, rising")
            bands.append((low, self.number(table["score"], f"{key}[{j}].score")))
        if bands[0][0] != 0:
            raise self.fail(f"{key}[0].min", "the first band must start at 0")
        return tuple(bands)

    def bonus(self, value: Any, components: tuple[Component, ...], weighted: bool) -> Bonus | None:
        if value is None:
            return None
        if not weighted:
            raise self.fail("bonus", "a bonus applies to rule sets with [[indicators]] only")
        table = self.table(value, "bonus", _BONUS_KEYS)
        component = self.text(table, "component", "bonus")
        if component not in {c.id for c in components}:
            raise self.fail("bonus.component", f"{component!r} is not a component")
        if "multiplier" not in table:
            raise self.fail("bonus.multiplier", "missing")
        return Bonus(
            self.number(table["multiplier"], "bonus.multiplier", positive=True),
            component,
            self.number(table.get("above", 0), "bonus.above"),
        )

    def gates(self, value: Any) -> tuple[Gate, ...]:
        if not isinstance(value, list):
            raise self.fail("quality_gates", "must be a list of [[quality_gates]] tables")
        gates: list[Gate] = []
        for i, item in enumerate(value):
            key = f"quality_gates[{i}]"
            table = self.table(item, key, _GATE_KEYS)
            gid = self.text(table, "id", key)
            if not gid.isidentifier() or any(g.id == gid for g in gates):
                raise self.fail(f"{key}.id", "must be a unique plain identifier")
            if ("is_true" in table) == ("at_least" in table):
                raise self.fail(key, "give exactly one of is_true = true or at_least = N")
            if "is_true" in table and table["is_true"] is not True:
                raise self.fail(f"{key}.is_true", "must be true")
            at_least = table.get("at_least")
            if at_least is not None and (
                isinstance(at_least, bool) or not isinstance(at_least, int) or at_least < 1
            ):
                raise self.fail(f"{key}.at_least", "must be a whole number >= 1")
            column = self.text(table, "column", key)
            gates.append(Gate(gid, self.text(table, "label", key, default=gid), column, at_least))
        return tuple(gates)

    def assets(self, value: Any, components: tuple[Component, ...]) -> tuple[str, ...]:
        table = self.table(value, "summary", {"assets"})
        ids = self.codes(table.get("assets", []), "summary.assets")
        balance_ids = {c.id for c in components if c.source == "balances"}
        for cid in ids:
            if cid not in balance_ids:
                raise self.fail("summary.assets", f"{cid!r} is not a balances component")
        return ids


def _strictly_below(lower: Tier, upper: Tier) -> bool:
    """True when every score reaching ``upper`` also reaches ``lower`` but not conversely."""
    if lower.bound != upper.bound:
        return lower.bound < upper.bound
    return upper.exclusive and not lower.exclusive
