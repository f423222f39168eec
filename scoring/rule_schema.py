"""What a rule file may say: every table and key, declared once.

Each table of the TOML file is a frozen dataclass below; each of its fields is one key,
whose ``rule(...)`` says its kind (type and range), default, whether it is required and,
in a line, what it is for. One checker, ``check``, walks a declaration: an unknown key is
an error (a misspelt key silently ignored would silently change tiers), then each key in
order is missing or of its kind. What no single key can say (a code in two components,
tiers that must fall) is checked after, by ``scoring.rules``, from the checked values.

A new key is one field here (and a line of the README's field list, which a test holds
to this declaration); its meaning is then read in ``scoring.rules``.
"""

# rule() is this module's dataclass field specifier (it returns dataclasses.field)
# ruff: noqa: RUF009

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass, field, fields
from datetime import date
from decimal import Decimal
from fractions import Fraction
from functools import cache
from typing import Any, Protocol, TypeVar

SOURCES = {"balances": "daily_average", "transactions": "cumulative"}
TIER_BY = ("points", "rank")
# What a balance below zero (after its component's sign) is: a reject, or 0 that day.
NEGATIVE_BALANCES = ("reject", "zero")
JOINT_ACCOUNTS = ("each", "split", "reject")
FX_CONVERTS = ("daily", "window_end")  # ``[fx] convert`` (see ``fx``)
# How a balances component reads its products' stored balances (see Component.sign).
SIGNS = ("positive", "negative", "absolute")
KEY_GROUP_LABEL = "关键客户"  # seed 002: the top tiers together, who bring most of the profit

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


class Invalid(Exception):
    """A value that breaks the rule file's declaration, at its key path
    (``components[0].rate``); ``load_rules`` adds the file to make a ConfigError."""

    def __init__(self, key: str, message: str):
        super().__init__(f"{key}: {message}")
        self.key = key
        self.message = message


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

    def admits(self, number: Decimal) -> bool:
        too_low = number <= self.low if self.exclusive else number < self.low
        return not too_low and number <= self.high and _places_within(number, self.decimals)


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


# --- kinds: the type and range of one key's value ------------------------------------


class Kind(Protocol):
    def read(self, value: Any, key: str) -> Any:
        """The value as the rule set holds it, or Invalid naming ``key``."""
        ...


@dataclass(frozen=True)
class Text:
    """One line of text someone reads: a control or format character (a newline, a
    zero-width space) would make two different values look the same, or break a line.
    ``trimmed``: a label others match or file by (no spaces around it, which a CSV
    reader trims and a person cannot see); ``ident``: an id that names a column."""

    trimmed: bool = False
    ident: bool = False

    def read(self, value: Any, key: str) -> str:
        if not isinstance(value, str) or not value.strip():
            raise Invalid(key, "must be a non-empty string")
        if _hidden(value):
            raise Invalid(key, "must not hold control or invisible characters")
        if self.trimmed and value != value.strip():
            raise Invalid(key, "must not begin or end with spaces")
        if self.ident and not _ID.fullmatch(value):
            raise Invalid(
                key, "must be a plain identifier (ASCII letters, digits, _; a letter first)"
            )
        return value


@dataclass(frozen=True)
class Number:
    """A number within ``bound`` (any finite one without): TOML's true is not 1, nor
    nan or inf a number. ``whole`` numbers (counts, months) are read as int."""

    bound: Bound | None = None
    whole: bool = False

    def read(self, value: Any, key: str) -> Decimal | int:
        if isinstance(value, bool) or not isinstance(value, (int, Decimal)):
            raise Invalid(key, "must be a number")
        number = Decimal(value)
        if not number.is_finite():
            raise Invalid(key, "must be a finite number")
        if self.bound is not None and not self.bound.admits(number):
            raise Invalid(key, f"must be {self.bound}")
        return int(number) if self.whole else number


@dataclass(frozen=True)
class Flag:
    """true or false; ``only_true``: a condition that is written only to be true
    (``is_true = false`` would read as a condition and test nothing)."""

    only_true: bool = False

    def read(self, value: Any, key: str) -> bool:
        if self.only_true and value is not True:
            raise Invalid(key, "must be true")
        if not isinstance(value, bool):
            raise Invalid(key, "must be true or false")
        return value


@dataclass(frozen=True)
class OneOf:
    """One of a few words (compared exactly: "Negative" is not "negative"), read as
    ``Text`` first when ``text``."""

    choices: tuple[str, ...]
    message: str
    text: bool = False

    def read(self, value: Any, key: str) -> str:
        if self.text:
            value = TEXT.read(value, key)
        if value not in self.choices:
            raise Invalid(key, self.message)
        return value


@dataclass(frozen=True)
class Version:
    """A label for the manifest: text or a number as written (2026.1), not a table."""

    def read(self, value: Any, key: str) -> str:
        if isinstance(value, bool) or not isinstance(value, (str, int, Decimal)):
            raise Invalid(key, "must be a string or a number")
        return TEXT.read(str(value), key)


@dataclass(frozen=True)
class Anything:
    """Not read by scoring (``description``), or checked against other tables only
    (``quality_tier`` names a tier): kept as written."""

    def read(self, value: Any, key: str) -> Any:
        return value


@dataclass(frozen=True)
class Codes:
    """Codes as the inputs hold them: a CSV reader trims spaces, so a code with a space
    at either end, or a hidden character, would never match and score nothing."""

    least: int = 0

    def read(self, value: Any, key: str) -> tuple[str, ...]:
        if not isinstance(value, list) or not all(isinstance(c, str) and c for c in value):
            raise Invalid(key, "must be a list of non-empty strings")
        if len(value) < self.least:
            raise Invalid(key, "must list at least one code")
        for code in value:
            if code != code.strip() or _hidden(code):
                raise Invalid(key, f"code {code!r} has spaces around it or a hidden character")
        if len(set(value)) != len(value):
            raise Invalid(key, "lists a code twice")
        return tuple(value)


@dataclass(frozen=True)
class Ids:
    """A list of other entries' ids (an indicator's components, summary assets)."""

    def read(self, value: Any, key: str) -> tuple[str, ...]:
        if not isinstance(value, list) or not all(isinstance(c, str) and c for c in value):
            raise Invalid(key, "must be a list of non-empty strings")
        if len(set(value)) != len(value):
            raise Invalid(key, "lists an id twice")
        return tuple(value)


@dataclass(frozen=True)
class Labels:
    """A non-empty list of tier labels (each is matched against ``[[tiers]]`` after)."""

    def read(self, value: Any, key: str) -> tuple[str, ...]:
        if not isinstance(value, list) or not value or not all(isinstance(v, str) for v in value):
            raise Invalid(key, "must be a non-empty list of tier labels")
        return tuple(value)


@dataclass(frozen=True)
class Column:
    """A customers column read as yuan, named as the file's header holds it: no spaces
    around it (a CSV reader trims them), nothing hidden, and not ``_`` first
    (scoring's internal columns)."""

    def read(self, value: Any, key: str) -> str:
        if not isinstance(value, str):
            raise Invalid(key, "must be a customers column name")
        return _column(value, key)


@dataclass(frozen=True)
class Columns:
    """Customers columns read as yuan (as ``Column``), each once, ignoring case."""

    def read(self, value: Any, key: str) -> tuple[str, ...]:
        if not isinstance(value, list) or not all(isinstance(c, str) for c in value):
            raise Invalid(key, "must be a list of customers column names")
        if len(value) > MAX_COLUMNS:
            raise Invalid(key, f"at most {MAX_COLUMNS:,} columns")
        for column in value:
            _column(column, key)
        if len({c.casefold() for c in value}) != len(value):
            raise Invalid(key, "lists a column twice")
        return tuple(value)


@dataclass(frozen=True)
class MonthDays:
    """Days of every year, "MM-DD", as (month, day) in calendar order: 02-29 is not one,
    so a rating day that some years lack (and would silently skip) is refused."""

    def read(self, value: Any, key: str) -> tuple[tuple[int, int], ...]:
        if not isinstance(value, list) or not value:
            raise Invalid(key, 'must be a non-empty list of "MM-DD" days, e.g. ["06-30"]')
        days: list[tuple[int, int]] = []
        for i, item in enumerate(value):
            day = _month_day(item, f"{key}[{i}]")
            if day in days:
                raise Invalid(f"{key}[{i}]", f"{item!r} is listed twice")
            days.append(day)
        return tuple(sorted(days))


@dataclass(frozen=True)
class Map:
    """A table of free keys (codes, tier labels), each value of one kind; which keys
    are allowed depends on other tables and is checked after."""

    value: Kind
    message: str = "must be a table"

    def read(self, value: Any, key: str) -> dict[str, Any]:
        if not isinstance(value, dict):
            raise Invalid(key, self.message)
        return {name: self.value.read(item, f"{key}.{name}") for name, item in value.items()}


@dataclass(frozen=True)
class Table:
    """A nested table, checked against its own declaration."""

    spec: type[_Table]

    def read(self, value: Any, key: str) -> _Table:
        return check(self.spec, value, key)


@dataclass(frozen=True)
class Tables:
    """A list of tables (``[[components]]``), at most ``most`` of them; fewer than
    ``least`` says ``few``."""

    spec: type[_Table]
    most: int
    what: str
    least: int = 0
    few: str | None = None

    def read(self, value: Any, key: str) -> tuple[_Table, ...]:
        if not isinstance(value, list) or len(value) < self.least:
            raise Invalid(key, self.few or f"must be a list of {self.what} tables")
        if len(value) > self.most:
            raise Invalid(key, f"at most {self.most:,} {self.what} tables")
        return tuple(check(self.spec, item, f"{key}[{i}]") for i, item in enumerate(value))


TEXT, NAME, IDENT = Text(), Text(trimmed=True), Text(ident=True)
ANY = Anything()
# at_least's bounds, applied once column or measure says which it is (see scoring.rules)
COUNTED, BAR_YUAN = Number(COUNT, whole=True), Number(BAR)
NOTE = "a note for people reading the file; not read by scoring"
COMPONENTS_FEW = "at least one [[components]] table is required"
BANDS_FEW = "a list of {min, score} bands, lowest first, is required"


# --- the declaration -----------------------------------------------------------------


@dataclass(frozen=True)
class Rule:
    """One key of a table: its kind, a one-line doc, and what its absence says."""

    kind: Kind
    doc: str
    required: bool = False
    missing: str = "missing"


def rule(
    kind: Kind,
    doc: str,
    default: Any = None,
    *,
    required: bool = False,
    missing: str = "missing",
    factory: Any = None,
) -> Any:
    """A table field that is a rule-file key: the default is the value an absent key
    has (a ``factory`` for a table or a dict)."""
    meta = {"rule": Rule(kind, doc, required, missing)}
    if factory is not None:
        return field(default_factory=factory, metadata=meta)
    return field(default=default, metadata=meta)


@dataclass(frozen=True, kw_only=True)
class _Table:
    """A checked table: its declared keys' values (defaults where absent) and the keys
    the file gave (``cap`` given on a balances component is wrong whatever its value)."""

    given: frozenset[str] = frozenset()


@dataclass(frozen=True, kw_only=True)
class RulesetTable(_Table):
    """``[ruleset]``: the rule set's name and how its tiers are reached."""

    name: str = rule(TEXT, "the name shown in summaries and the manifest", required=True)
    title: str | None = rule(TEXT, "recorded in the manifest (default: name)")
    version: str = rule(Version(), "recorded in the manifest: text or a number", "0")
    description: Any = rule(ANY, NOTE)
    unit: Decimal = rule(Number(UNIT), "yuan per unit that rates are points of", Decimal(1))
    tier_by: str = rule(
        OneOf(TIER_BY, "must be 'points' or 'rank'"), "tiers by bounds or by rank", "points"
    )
    quality_tier: str | None = rule(ANY, "this tier and those above are quality")
    key_group: tuple[str, ...] = rule(Labels(), "tiers that are key customers together", ())
    key_group_label: str = rule(TEXT, "the key group's name", KEY_GROUP_LABEL)
    negative_balances: str = rule(
        OneOf(NEGATIVE_BALANCES, "must be 'reject' or 'zero'"),
        "an end-of-day balance below zero: rejected, or 0 that day",
        "reject",
    )
    joint_accounts: str = rule(
        OneOf(JOINT_ACCOUNTS, "must be 'each', 'split' or 'reject'"),
        "one account and date under several customers: each holder counts it all, "
        "an equal share, or the rows conflict",
        "each",
    )


@dataclass(frozen=True, kw_only=True)
class ComponentTable(_Table):
    """``[[components]]``: one scored measure of balances or transactions."""

    id: str = rule(IDENT, "names the <id>_amount and <id>_points columns", required=True)
    label: str | None = rule(TEXT, "shown beside the id (default: id)")
    source: str = rule(
        OneOf(tuple(SOURCES), "must be 'balances' or 'transactions'", text=True),
        "balances (daily average) or transactions (cumulative amount)",
        required=True,
    )
    measure: str | None = rule(TEXT, "repeats the source's measure")
    rate: Decimal = rule(Number(RATE), "points per unit yuan", required=True)
    codes: tuple[str, ...] = rule(
        Codes(least=1),
        "product or transaction type codes, each in one component",
        required=True,
        missing="must be a list of non-empty strings",
    )
    cap: Decimal | None = rule(Number(CAP), "transactions: the most one transaction counts")
    caps: dict[str, Decimal] = rule(
        Map(Number(CAP)), "transactions: a cap per code, beside or instead of cap", factory=dict
    )
    requires_fee: bool = rule(Flag(), "transactions: count only rows with a fee > 0", False)
    sign: str = rule(
        OneOf(SIGNS, "must be 'positive', 'negative' or 'absolute'"),
        "balances: how stored balances read (a loan as a negative number)",
        "positive",
    )
    description: Any = rule(ANY, NOTE)


@dataclass(frozen=True, kw_only=True)
class ExcludedTable(_Table):
    """``[excluded]``: codes that score nothing on purpose."""

    codes: tuple[str, ...] = rule(Codes(), "codes counted as excluded, not unmapped", ())
    description: Any = rule(ANY, NOTE)


@dataclass(frozen=True, kw_only=True)
class SummaryTable(_Table):
    """``[summary]``: what the summary adds up per tier."""

    assets: tuple[str, ...] = rule(Ids(), "balances components reported as assets", ())


@dataclass(frozen=True, kw_only=True)
class TierTable(_Table):
    """``[[tiers]]``, highest first: reached at a bound on points, or by rank."""

    label: str = rule(NAME, "the tier's name in scores, lists and reports", required=True)
    min: Decimal | None = rule(Number(POINTS), "points: reached at >= this")
    above: Decimal | None = rule(Number(POINTS), "points: reached at > this")
    top_share: Decimal | None = rule(Number(SHARE), "rank: the cumulative share reached")
    follow_up: str | None = rule(TEXT, "how often to follow the tier's customers up")
    service: str | None = rule(TEXT, "the service the tier gets")
    description: Any = rule(ANY, NOTE)


@dataclass(frozen=True, kw_only=True)
class GateTable(_Table):
    """``[[quality_gates]]``: keeps a customer out of quality, on a customers column or
    on a measure."""

    id: str = rule(IDENT, "names the gate in quality_blocked_by", required=True)
    label: str | None = rule(TEXT, "shown beside the id (default: id)")
    column: str | None = rule(NAME, "a --customers column: a flag or a count")
    measure: str | None = rule(TEXT, "component ids of one source joined by +")
    is_true: bool = rule(Flag(only_true=True), "column: blocks when the flag is true", False)
    # its bound depends on column (a count, COUNT) or measure (yuan, BAR): see rules
    at_least: Decimal | None = rule(Number(), "column: a count that blocks; measure: a bar")
    description: Any = rule(ANY, NOTE)


@dataclass(frozen=True, kw_only=True)
class BandTable(_Table):
    """One of an indicator's ``bands``: from ``min`` up, the sub-score ``score``."""

    min: Decimal = rule(Number(YUAN), "the band's lower bound, yuan", required=True)
    score: Decimal = rule(Number(SCORE), "the band's sub-score", required=True)


@dataclass(frozen=True, kw_only=True)
class IndicatorTable(_Table):
    """``[[indicators]]``: a weighted, banded input of the score."""

    id: str = rule(IDENT, "names the <id>_score column", required=True)
    label: str | None = rule(TEXT, "shown beside the id (default: id)")
    components: tuple[str, ...] = rule(Ids(), "components whose measures add up", ())
    columns: tuple[str, ...] = rule(Columns(), "customers columns (yuan) added", ())
    weight: Decimal = rule(Number(WEIGHT), "the indicator's weight; all add up to 1", required=True)
    bands: tuple[BandTable, ...] = rule(
        Tables(BandTable, MAX_BANDS, "{min, score}", least=1, few=BANDS_FEW),
        "lowest first, from 0",
        required=True,
        missing=BANDS_FEW,
    )
    description: Any = rule(ANY, NOTE)


@dataclass(frozen=True, kw_only=True)
class BonusTable(_Table):
    """``[bonus]``: multiplies the weighted score above a bound."""

    multiplier: Decimal = rule(Number(MULTIPLIER), "what the score is multiplied by", required=True)
    component: str | None = rule(TEXT, "the component whose measure is tested")
    column: str | None = rule(Column(), "or the customers column (yuan) tested")
    above: Decimal = rule(Number(YUAN), "the bound the measure must be above", Decimal(0))
    description: Any = rule(ANY, NOTE)


@dataclass(frozen=True, kw_only=True)
class FloorTable(_Table):
    """``[[service.floors]]``: the lowest service tier a customers column guarantees."""

    column: str = rule(NAME, "a --customers column", required=True)
    tier: str = rule(NAME, "the service tier guaranteed", required=True)
    is_true: bool = rule(Flag(only_true=True), "when the column is a true flag", False)
    at_least: int | None = rule(COUNTED, "when the column counts this")
    equals: str | None = rule(NAME, "when the column's text is this")
    description: Any = rule(ANY, NOTE)


@dataclass(frozen=True, kw_only=True)
class ServiceTable(_Table):
    """``[service]``: the service tier's lifecycle, lowered only on rating days."""

    rating_days: tuple[tuple[int, int], ...] = rule(
        MonthDays(),
        'days of the year, "MM-DD", when a service tier may be lowered',
        required=True,
        missing='missing, e.g. ["06-30", "12-31"]',
    )
    buffer_months: dict[str, int] = rule(
        Map(
            Number(MONTHS, whole=True),
            'must be a table of tier label = months, e.g. { "五星级" = 6 }',
        ),
        "months below a tier before a rating day may lower it",
        factory=dict,
    )
    floors: tuple[FloorTable, ...] = rule(
        Tables(FloorTable, MAX_GATES, "[[service.floors]]"), "floors under the tier", ()
    )
    description: Any = rule(ANY, NOTE)


@dataclass(frozen=True, kw_only=True)
class FxTable(_Table):
    """``[fx]``: how amounts in a foreign currency become yuan (with ``--fx`` rates)."""

    convert: str = rule(
        OneOf(FX_CONVERTS, "must be 'daily' or 'window_end'"),
        "each day at its own rate, or everything at the window's last day's",
        "daily",
    )
    description: Any = rule(ANY, NOTE)


@dataclass(frozen=True, kw_only=True)
class RuleFile(_Table):
    """The rule file itself: its tables."""

    ruleset: RulesetTable = rule(
        Table(RulesetTable), "name and scoring", required=True, missing="must be a table"
    )
    components: tuple[ComponentTable, ...] = rule(
        Tables(ComponentTable, MAX_COMPONENTS, "[[components]]", least=1, few=COMPONENTS_FEW),
        "the scored measures, in output order",
        required=True,
        missing=COMPONENTS_FEW,
    )
    excluded: ExcludedTable = rule(
        Table(ExcludedTable), "codes scored on purpose as nothing", factory=ExcludedTable
    )
    tiers: tuple[TierTable, ...] = rule(
        Tables(TierTable, MAX_TIERS, "[[tiers]]"), "the tiers, highest first", ()
    )
    indicators: tuple[IndicatorTable, ...] = rule(
        Tables(IndicatorTable, MAX_INDICATORS, "[[indicators]]"), "weighted scoring", ()
    )
    summary: SummaryTable = rule(Table(SummaryTable), "summary options", factory=SummaryTable)
    quality_gates: tuple[GateTable, ...] = rule(
        Tables(GateTable, MAX_GATES, "[[quality_gates]]"), "conditions on quality", ()
    )
    bonus: BonusTable | None = rule(Table(BonusTable), "with indicators: a multiplier")
    service: ServiceTable | None = rule(Table(ServiceTable), "the service tier's lifecycle")
    fx: FxTable = rule(Table(FxTable), "foreign-currency conversion", factory=FxTable)


# --- the checker ---------------------------------------------------------------------

T = TypeVar("T", bound=_Table)


def check(spec: type[T], value: Any, key: str) -> T:
    """One table read by its declaration: an unknown key first, then each declared key
    in order, missing or of its kind. ``key`` is the table's path ("" for the file)."""
    if not isinstance(value, dict):
        raise Invalid(key, "must be a table")
    declared = rules_of(spec)
    unknown = sorted(set(value) - set(declared))
    if unknown:
        raise Invalid(_path(key, unknown[0]), "unknown key")
    got: dict[str, Any] = {}
    for name, one in declared.items():
        if name in value:
            got[name] = one.kind.read(value[name], _path(key, name))
        elif one.required:
            raise Invalid(_path(key, name), one.missing)
    return spec(given=frozenset(value), **got)


@cache
def rules_of(spec: type[_Table]) -> dict[str, Rule]:
    """A table's keys and their rules, in declaration order."""
    return {f.name: f.metadata["rule"] for f in fields(spec) if "rule" in f.metadata}


def tables(spec: type[_Table] = RuleFile, path: str = "") -> Iterator[tuple[str, type[_Table]]]:
    """Every table a rule file may hold, by its path ("" for the file, ``service.floors``),
    so that docs and tests can walk the whole declaration."""
    yield path, spec
    for name, one in rules_of(spec).items():
        inner = getattr(one.kind, "spec", None)
        if inner is not None:
            yield from tables(inner, _path(path, name))


def _path(key: str, name: str) -> str:
    return f"{key}.{name}" if key else name


def _column(column: str, key: str) -> str:
    if not column.strip() or column != column.strip() or _hidden(column):
        raise Invalid(key, f"{column!r} is empty, has spaces around it or hides a character")
    if column.startswith("_"):
        raise Invalid(key, f"{column!r}: a name starting with _ is scoring's own")
    return column


def _month_day(item: Any, key: str) -> tuple[int, int]:
    if not isinstance(item, str) or not _MONTH_DAY.fullmatch(item):
        raise Invalid(key, 'must be "MM-DD" in ASCII digits, e.g. "06-30"')
    month, day = int(item[:2]), int(item[3:])
    if (month, day) == (2, 29):
        raise Invalid(key, "02-29 is not a day of every year; a rating day must be")
    try:
        date(2025, month, day)
    except ValueError:
        raise Invalid(key, f"{item!r} is not a day of the year") from None
    return month, day


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
