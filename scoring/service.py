"""The service tier over time (服务星级: 当期升级、延期降级).

The contribution tier (``tier``) is recomputed every run from its window. The
service tier decides benefits and moves more slowly: at the as-of date R (the
window's last day), with contribution tier C and the earlier run's service tier S
(``--previous``; a customer without a previous row, or an earlier scores file
without the service columns, has S = C):

- C at or above S: the service tier becomes C (``service_since`` = R when it rose);
  ``below_since`` is cleared.
- C below S: ``below_since`` is kept, or set to R; on a rating day, once R is at
  least ``buffer_months(S)`` months after ``below_since``, the tier drops to C
  (``service_since`` = R); otherwise S holds.
- Floors last: never below the highest floor the customer meets (a customers
  column condition, as the quality gates'); the tier then is at least the floor's.
- Overrides after floors (``--overrides``): until its date, the override's tier.

The state lives in the scores file itself (``service_tier``, ``service_since``,
``below_since``, and under an override ``lifecycle_tier``, the tier the rule gives),
so the next run reads it back with ``--previous``: no hidden store. Everything here
is polars expressions over the per-customer frame, the same on every engine.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from fractions import Fraction
from functools import partial

import polars as pl

from .breakdown import UNASSIGNED
from .errors import ConfigError, InputError
from .plan import Plan
from .points import NUMERATOR, TIER_INDEX
from .row_status import DUPLICATE, REJECTED, STATUS, STATUSES, conflict_rejects, mark_duplicates
from .rules import Floor
from .sources import InputFile, Reader, TableSpec, resolve_paths
from .validate import (
    Parsed,
    Parser,
    bad_rows,
    check,
    good_rows,
    parse_count,
    parse_date,
    parse_flag,
    parse_id,
    parse_text,
    rejects_table,
)
from .watch import (
    FORWARD,
    Watch,
    first_rating_on_or_after,
    hold_cents,
    hold_yuan,
    is_rating_day,
    near_bound,
    watch_of,
    watch_part,
    watch_summary,
)

# The earlier run's state, per customer (``previous_state``): the service tier the rule
# gave (index), since when, and since when the contribution was below it.
PREV_SERVICE, PREV_SINCE, PREV_BELOW = "_prev_service", "_prev_since", "_prev_below"
PREVIOUS_COLUMNS = (PREV_SERVICE, PREV_SINCE, PREV_BELOW)
# What a scores file carries of the state (read back by ``--previous``).
STATE = ("service_tier", "service_since", "below_since", "lifecycle_tier")
# A valid override, per customer (``read_overrides``).
OV_TIER, OV_REASON, OV_UNTIL = "_ov_tier", "_ov_reason", "_ov_until"
OVERRIDE_COLUMNS = (OV_TIER, OV_REASON, OV_UNTIL)
CONTRIBUTION, HELD, FLOOR, OVERRIDE = "contribution", "held", "floor:", "override"
# intermediate columns of ``with_service``
_S, _FLOOR, _PRE, _LIFE, _BELOW = "_svc_s", "_svc_floor", "_svc_pre", "_svc_life", "_svc_below"
_ISO = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$"


@dataclass(frozen=True)
class ServiceRun:
    """What the lifecycle needs of a run besides each customer's row: the same for every
    part of it (it travels to Spark's tasks inside ``summary.Scoring``)."""

    as_of: date
    rating_day: bool  # the as-of date is a rating day
    rating_days: tuple[tuple[int, int], ...]
    buffers: tuple[int, ...]  # months, per tier index
    floors: tuple[tuple[int, Floor], ...]  # the floors evaluated, with their tier index
    not_evaluated: tuple[str, ...]  # floor columns not applied: no --customers, or no column
    watch: Watch
    overrides: bool = False  # --overrides given: scores carry override_reason, lifecycle_tier
    override_counts: dict[str, int] = field(default_factory=dict)
    previous_state: bool = False  # --previous carried service columns


def service_run(
    plan: Plan,
    near: Fraction,
    carried: tuple[str, ...] | None,
    overrides: Overrides | None,
    previous: pl.DataFrame | None,
) -> ServiceRun | None:
    """The run's constants; None for a rule set without ``[service]``. ``carried``: the
    customers file's columns (None without one): a floor on a column it lacks is not
    applied, and said so."""
    service = plan.ruleset.service
    if service is None:
        return None
    index = {t.label: i for i, t in enumerate(plan.tiers)}
    present = set(carried or ())
    floors = tuple((index[f.tier], f) for f in service.floors if f.column in present)
    missing = tuple(dict.fromkeys(f.column for f in service.floors if f.column not in present))
    state = previous is not None and previous.height > 0 and PREV_SERVICE in previous.columns
    return ServiceRun(
        as_of=plan.window.end,
        rating_day=is_rating_day(plan.window.end, service.rating_days),
        rating_days=service.rating_days,
        buffers=tuple(service.buffer_months.get(t.label, 0) for t in plan.tiers),
        floors=floors,
        not_evaluated=missing,
        watch=watch_of(plan, near),
        overrides=overrides is not None,
        override_counts=dict(overrides.counts) if overrides is not None else {},
        previous_state=state and previous[PREV_SERVICE].null_count() < previous.height,
    )


# --- the lifecycle ---------------------------------------------------------------


def with_service(
    plan: Plan, run: ServiceRun, table: pl.LazyFrame, overrides: pl.DataFrame | None
) -> pl.LazyFrame:
    """The published service columns beside each customer's row (``TIER_INDEX``,
    ``NUMERATOR``, the earlier run's ``PREVIOUS_COLUMNS``, the floors' customers
    columns, ``FORWARD``); a row without a tier (migration's gone) has none."""
    names = set(table.collect_schema().names())
    if overrides is not None:
        table = table.join(overrides.lazy(), on="customer_id", how="left", maintain_order="left")
    absent = {
        PREV_SERVICE: pl.Int32,
        PREV_SINCE: pl.Date,
        PREV_BELOW: pl.Date,
        FORWARD: pl.Int128,
        OV_TIER: pl.Int32,
        OV_REASON: pl.String,
        OV_UNTIL: pl.Date,
    }
    if overrides is not None:
        names |= set(OVERRIDE_COLUMNS)
    table = table.with_columns(
        pl.lit(None, t).alias(c) for c, t in absent.items() if c not in names
    )
    current = pl.col(TIER_INDEX)
    table = table.with_columns(
        pl.coalesce(PREV_SERVICE, current).cast(pl.Int32).alias(_S), _floor_index(run)
    )
    table = table.with_columns(_ruled(run).alias(_PRE))
    table = table.with_columns(pl.min_horizontal(_PRE, _FLOOR).alias(_LIFE))
    table = table.with_columns(_below(run).alias(_BELOW))
    published = [e.alias(n) for n, e in _published(plan, run).items()]
    shown = [pl.when(current.is_not_null()).then(e).alias(e.meta.output_name()) for e in published]
    return table.with_columns(shown).drop(_S, _FLOOR, _PRE, _LIFE, _BELOW)


def _floor_met(floor: Floor) -> pl.Expr:
    """A floor's condition on its parsed customers column (a flag, a count or a text):
    an unknown cell (blank, or an unusable row) meets none, so it never raises a tier."""
    column = pl.col(floor.column)
    if floor.is_true:
        met = column
    elif floor.at_least is not None:
        met = column >= floor.at_least
    else:
        met = column == pl.lit(floor.equals, pl.String)
    return met.fill_null(False)


def _floor_index(run: ServiceRun) -> pl.Expr:
    """The highest floor met (lowest index), null when none."""
    met = [pl.when(_floor_met(f)).then(pl.lit(i, pl.Int32)) for i, f in run.floors]
    found = pl.min_horizontal(met) if met else pl.lit(None, pl.Int32)
    return found.cast(pl.Int32).alias(_FLOOR)


def _ruled(run: ServiceRun) -> pl.Expr:
    """The rule before floors: C when at or above S; below S, C on a rating day once the
    buffer of S has passed since ``below_since``, else S (indexes: lower is higher)."""
    current, held = pl.col(TIER_INDEX), pl.col(_S)
    since = pl.coalesce(PREV_BELOW, pl.lit(run.as_of))
    buffers = held.replace_strict(dict(enumerate(run.buffers)), return_dtype=pl.Int64)
    passed = since.dt.offset_by(pl.format("{}mo", buffers)) <= pl.lit(run.as_of)
    due = pl.lit(run.rating_day) & passed
    return pl.when((current <= held) | due).then(current).otherwise(held).cast(pl.Int32)


def _below(run: ServiceRun) -> pl.Expr:
    """Since when the contribution has been below the service tier: kept while it stays
    below; the as-of date when it falls below now (or when the rule cleared it and a
    floor keeps the tier above C); null when it is not below."""
    current, held, life = pl.col(TIER_INDEX), pl.col(_S), pl.col(_LIFE)
    kept = pl.when(current <= held).then(pl.lit(run.as_of))
    kept = kept.otherwise(pl.coalesce(PREV_BELOW, pl.lit(run.as_of)))
    return pl.when(current > life).then(kept).cast(pl.Date)


def _published(plan: Plan, run: ServiceRun) -> dict[str, pl.Expr]:
    """The scores columns (``rules.SERVICE_COLUMNS`` that apply), in order."""
    labels = dict(enumerate(t.label for t in plan.tiers))
    held, life = pl.col(_S), pl.col(_LIFE)
    overridden = pl.col(OV_TIER).is_not_null()
    tier = pl.when(overridden).then(pl.col(OV_TIER)).otherwise(life)
    since = (
        pl.when(life != held)
        .then(pl.lit(run.as_of))
        .otherwise(pl.coalesce(PREV_SINCE, pl.lit(run.as_of)))
    )
    out = {
        "service_tier": tier.replace_strict(labels, default=None, return_dtype=pl.String),
        "service_since": since.cast(pl.Date),
        "below_since": pl.col(_BELOW),
        "downgrade_on": _downgrade_on(run),
        "service_reason": _reason(run),
    }
    if run.overrides:
        out["override_reason"] = pl.when(overridden).then(pl.col(OV_REASON))
        out["lifecycle_tier"] = pl.when(overridden).then(
            life.replace_strict(labels, default=None, return_dtype=pl.String)
        )
    out["hold_yuan"] = _hold(plan, run)
    return out


def _guarded() -> pl.Expr:
    """A floor the customer meets keeps the service tier: it cannot drop."""
    return (pl.col(_FLOOR) == pl.col(_LIFE)).fill_null(False)


def _downgrade_on(run: ServiceRun) -> pl.Expr:
    """The first rating day after the as-of date on which the service tier would drop if
    the contribution stays as it is: ``buffer_months`` of the tier after ``below_since``
    (or later); empty when not below, or when a floor keeps the tier."""
    life = pl.col(_LIFE)
    buffers = life.replace_strict(dict(enumerate(run.buffers)), return_dtype=pl.Int64)
    due = pl.col(_BELOW).dt.offset_by(pl.format("{}mo", buffers))
    after = pl.max_horizontal(due, pl.lit(run.as_of).dt.offset_by("1d"))
    falls = (pl.col(TIER_INDEX) > life) & ~_guarded()
    return pl.when(falls).then(first_rating_on_or_after(after, run.rating_days)).cast(pl.Date)


def _reason(run: ServiceRun) -> pl.Expr:
    """override; contribution (the tier is C's); floor:<column> (the first floor met that
    gives the tier); held (the rule keeps a tier above C)."""
    life, found = pl.col(_LIFE), pl.col(_FLOOR)
    reason = (
        pl.when(pl.col(OV_TIER).is_not_null())
        .then(pl.lit(OVERRIDE))
        .when(life == pl.col(TIER_INDEX))
        .then(pl.lit(CONTRIBUTION))
    )
    for index, floor in run.floors:
        gives = _floor_met(floor) & (found == index) & (life == index)
        reason = reason.when(gives).then(pl.lit(f"{FLOOR}{floor.column}"))
    return reason.otherwise(pl.lit(HELD))


def _hold(plan: Plan, run: ServiceRun) -> pl.Expr:
    """``hold_yuan`` for the watched (see ``scoring.watch``): customers whose
    contribution is below the service tier the rule gives, or within ``--near`` percent
    above its bound; not those a floor or an override lasting through the next rating
    day keeps there, nor those in the last tier (nothing to slip to)."""
    watch = run.watch
    current, life = pl.col(TIER_INDEX), pl.col(_LIFE)
    kept = (pl.col(OV_TIER).is_not_null() & (pl.col(OV_UNTIL) >= pl.lit(watch.day))).fill_null(
        False
    )
    near = pl.col(NUMERATOR) <= near_bound(watch, life)
    watched = (life < len(plan.tiers) - 1) & ~_guarded() & ~kept & ((current > life) | near)
    cents = hold_cents(watch, life, pl.col(FORWARD))
    return pl.when(watched.fill_null(False)).then(hold_yuan(cents))


def floor_parsers(plan: Plan) -> dict[str, Parser]:
    """How the customers file's floor columns are read: flags and counts as the gates
    read theirs (a bad cell rejects the row, whose customer then meets no floor); a
    text floor compares the carried text."""
    service = plan.ruleset.service
    floors = service.floors if service is not None else ()
    kinds = {"flag": parse_flag, "count": parse_count}
    return {f.column: kinds[f.kind] for f in floors if f.kind in kinds}


# --- the earlier run's state ------------------------------------------------------


def previous_state(frame: pl.DataFrame, plan: Plan, given: str) -> pl.DataFrame:
    """The service state of an earlier scores file's rows (``customer_id``, ``tier`` and
    the ``STATE`` columns it has) as ``PREVIOUS_COLUMNS``: all null for a file without
    ``service_tier`` (an older file: S = C). A file with it is an earlier output, so a
    row with a tier and no valid state stops the run, naming file and column: an
    unknown tier label, a date that is not strict ISO (YYYY-MM-DD) or after this run's
    as-of date (a later run given as --previous)."""
    if "service_tier" not in frame.columns:
        return frame.select(
            "customer_id", "tier", *(pl.lit(None, t).alias(c) for c, t in _PREVIOUS_TYPES.items())
        )
    for column in ("service_since", "below_since"):
        if column not in frame.columns:
            raise InputError("has service_tier but no such column", file=given, key=column)
    scored = frame.filter(pl.col("tier").is_not_null())
    labels = {t.label: i for i, t in enumerate(plan.tiers)}
    as_of = plan.window.end
    tier = _label_index(scored, "service_tier", labels, given, required=True)
    life = _label_index(scored, "lifecycle_tier", labels, given, required=False)
    since = _iso_date(scored, "service_since", as_of, given, required=True)
    below = _iso_date(scored, "below_since", as_of, given, required=False)
    return scored.select("customer_id", "tier").with_columns(
        pl.coalesce(life, tier).cast(pl.Int32).alias(PREV_SERVICE),
        since.alias(PREV_SINCE),
        below.alias(PREV_BELOW),
    )


_PREVIOUS_TYPES = {PREV_SERVICE: pl.Int32, PREV_SINCE: pl.Date, PREV_BELOW: pl.Date}


def _cells(frame: pl.DataFrame, column: str) -> pl.Series:
    """A column's cells as trimmed text, null when empty or absent."""
    if column not in frame.columns:
        return pl.Series(column, [None] * frame.height, dtype=pl.String)
    text = frame[column].cast(pl.String).str.strip_chars()
    return text.set(text == "", None) if text.len() else text


def _label_index(
    frame: pl.DataFrame, column: str, labels: dict[str, int], given: str, *, required: bool
) -> pl.Series:
    cells = _cells(frame, column)
    if required and cells.null_count():
        raise InputError("a row with a tier has no service_tier", file=given, key=column)
    unknown = cells.drop_nulls().filter(~cells.drop_nulls().is_in(list(labels))).unique().sort()
    if unknown.len():
        raise InputError(
            f"{', '.join(unknown.head(5).to_list())} are not tiers of this rule set "
            f"({', '.join(labels)})",
            file=given,
            key=column,
        )
    return cells.replace_strict(labels, default=None, return_dtype=pl.Int32)


def _iso_date(
    frame: pl.DataFrame, column: str, as_of: date, given: str, *, required: bool
) -> pl.Series:
    """Dates as tierscore writes them, YYYY-MM-DD (a Parquet date column reads so too);
    none after the as-of date: the state of a later run would move time backwards."""
    cells = _cells(frame, column)
    if required and cells.null_count():
        raise InputError("a row with a tier has no date here", file=given, key=column)
    parsed = cells.str.to_date("%Y-%m-%d", strict=False)
    bad = cells.is_not_null() & (parsed.is_null() | ~cells.str.contains(_ISO))
    if bad.any():
        raise InputError(
            f"{cells.filter(bad)[0]!r} is not a date YYYY-MM-DD", file=given, key=column
        )
    late = parsed.filter(parsed > as_of)
    if late.len():
        raise InputError(
            f"{late.max()} is after this run's as-of date {as_of}: --previous must be an "
            "earlier run",
            file=given,
            key=column,
        )
    return parsed


# --- overrides -----------------------------------------------------------------


@dataclass
class Overrides:
    """The valid overrides (one per customer: ``OVERRIDE_COLUMNS``), the rejected rows
    and the file's accounting (not held to --max-reject-rate: a person keeps this file,
    and an override that expires is rejected, listed, and no reason to stop a run)."""

    files: list[InputFile]
    frame: pl.DataFrame
    rejects: pl.DataFrame
    counts: dict[str, int]


OVERRIDES = TableSpec("overrides", ("customer_id", "tier", "reason", "until"))


def read_overrides(reader: Reader, plan: Plan, given: str) -> Overrides:
    """``--overrides FILE`` (CSV/Parquet): customer_id, tier, reason, until. A row whose
    tier the rule set lacks, with no reason, with a bad date or an ``until`` before the
    as-of date (expired) is rejected and listed; one customer's differing rows are all
    rejected (which is meant is unknowable); an exact repeat is used once."""
    if plan.ruleset.service is None:
        raise ConfigError(
            "overrides set service tiers: the rule set has no [service] table",
            file=plan.ruleset.source,
            key="--overrides",
        )
    labels = [t.label for t in plan.tiers]
    parsers = {
        "customer_id": parse_id,
        "tier": partial(_parse_tier, labels=labels, ruleset=plan.ruleset.name),
        "reason": _parse_reason,
        "until": partial(_parse_until, as_of=plan.window.end),
    }
    files, batches = reader.open_all(OVERRIDES, resolve_paths(given, "--overrides"))
    checked = pl.concat([check(b.frame, parsers, b.typed) for b in batches])
    marked = mark_duplicates(good_rows(checked), ("customer_id",), ("tier", "reason", "until"))
    rows, conflicts, bad, *sizes = pl.collect_all(
        [marked, conflict_rejects(marked, ("customer_id",)), bad_rows(checked),
         *(b.sizes for b in batches)]
    )  # fmt: skip
    for batch, size in zip(batches, sizes, strict=True):
        batch.take_rows(size)
    used = rows.filter(pl.col(STATUS).is_null())
    counts = dict.fromkeys(STATUSES, 0)
    counts["used"] = used.height
    counts["duplicate"] = rows.filter(pl.col(STATUS) == DUPLICATE).height
    counts["rejected"] = rows.filter(pl.col(STATUS) == REJECTED).height + bad.height
    index = {label: i for i, label in enumerate(labels)}
    frame = used.select(
        "customer_id",
        pl.col("tier").replace_strict(index, return_dtype=pl.Int32).alias(OV_TIER),
        pl.col("reason").alias(OV_REASON),
        pl.col("until").alias(OV_UNTIL),
    )
    keep = ("read", "used", "duplicate", "rejected")
    summed = {"read": sum(counts.values()), **counts}
    return Overrides(
        files, frame, pl.concat([rejects_table(bad), conflicts]), {k: summed[k] for k in keep}
    )


def _parse_tier(
    name: str, dtype: pl.DataType, *, typed: bool = False, labels: list[str], ruleset: str
) -> Parsed:
    """A tier label of the rule set, as scores write it (text, trimmed from CSV)."""
    value = parse_text(name, dtype, typed=typed).value
    reason = (
        pl.when(value.is_null())
        .then(pl.lit(f"empty {name}"))
        .when(~value.is_in(labels))
        .then(pl.lit(f"not a tier of {ruleset}"))
    )
    return Parsed(value, reason)


def _parse_reason(name: str, dtype: pl.DataType, *, typed: bool = False) -> Parsed:
    """An override without a reason cannot be audited: rejected."""
    value = parse_text(name, dtype, typed=typed).value
    return Parsed(value, pl.when(value.is_null()).then(pl.lit(f"empty {name}")))


def _parse_until(name: str, dtype: pl.DataType, *, typed: bool = False, as_of: date) -> Parsed:
    """A date in the inputs' forms; an override whose ``until`` is before the as-of date
    has expired (it applies through its ``until`` day)."""
    parsed = parse_date(name, dtype, typed=typed)
    expired = parsed.value < pl.lit(as_of)
    reason = pl.coalesce(
        parsed.reason, pl.when(expired).then(pl.lit(f"expired: before the as-of date {as_of}"))
    )
    return Parsed(parsed.value, reason, parsed.pre)


# --- summary ---------------------------------------------------------------------


def _views(columns: list[str]) -> dict[str, list[str]]:
    """The branch and manager views the scores allow (as ``summary``'s)."""
    views = {}
    if "branch" in columns:
        views["by_branch"] = ["branch"]
    if "manager" in columns:
        views["by_manager"] = ["branch", "manager"] if "branch" in columns else ["manager"]
    return views


def service_parts(scores: pl.DataFrame) -> dict[str, pl.DataFrame]:
    """One part's customers per service tier and reason, per branch (and manager) and
    service tier, and its watch list (``watch_part``); parts add up."""
    rows = scores.filter(pl.col("service_tier").is_not_null())
    count = pl.len().cast(pl.Int64).alias("customers")
    parts = {"service": rows.group_by("service_tier", "service_reason").agg(count)}
    for view, keys in _views(rows.columns).items():
        named = [pl.col(k).fill_null(UNASSIGNED) for k in keys]
        parts[f"service_{view}"] = rows.group_by(*named, "service_tier").agg(count)
    parts["watch"], parts["watch_top"] = watch_part(rows)
    return parts


def service_summary(
    plan: Plan, run: ServiceRun, parts: dict[str, pl.DataFrame], summary: dict[str, object]
) -> None:
    """summary.json's ``service`` (the service tiers, how many are held, floored and
    overridden), ``watch`` and ``watch_rest``, and ``service_tiers`` in each branch
    and manager it lists, from the concatenated parts."""
    summed = (
        parts["service"].group_by("service_tier", "service_reason").agg(pl.col("customers").sum())
    )
    reasons: dict[str, int] = {}
    tiers = dict.fromkeys((t.label for t in plan.tiers), 0)
    for label, reason, n in summed.iter_rows():
        tiers[label] += int(n)
        reasons[reason] = reasons.get(reason, 0) + int(n)
    everyone = sum(tiers.values())
    found: dict[str, object] = {
        "as_of": run.as_of.isoformat(),
        "rating_day": run.rating_day,
        "next_rating_day": run.watch.day.isoformat(),
        "previous_state": run.previous_state,
        "tiers": [
            {"tier": t, "customers": n, "share": round(n / everyone, 4) if everyone else 0.0}
            for t, n in tiers.items()
        ],
        "held": reasons.get(HELD, 0),
        "floored": sum(n for r, n in reasons.items() if r.startswith(FLOOR)),
        "overridden": reasons.get(OVERRIDE, 0),
        "by_reason": dict(sorted(reasons.items())),
        "floors_not_evaluated": list(run.not_evaluated),
    }
    if run.overrides:
        applied = reasons.get(OVERRIDE, 0)
        found["overrides"] = {**run.override_counts, "applied": applied,
                              "not_scored": run.override_counts["used"] - applied}  # fmt: skip
    summary["service"] = found
    for view in ("by_branch", "by_manager"):
        if f"service_{view}" in parts and isinstance(summary.get(view), list):
            _with_service_tiers(plan, summary[view], parts[f"service_{view}"])
    summary["watch"], summary["watch_rest"] = watch_summary(run.watch, parts, run.as_of)


def _with_service_tiers(plan: Plan, groups: list, parts: pl.DataFrame) -> None:
    """Each listed group's customers per service tier, beside its ``tiers``."""
    keys = [c for c in parts.columns if c not in ("service_tier", "customers")]
    summed = parts.group_by(*keys, "service_tier").agg(pl.col("customers").sum())
    labels = [t.label for t in plan.tiers]
    cells: dict[tuple[str, ...], dict[str, int]] = {}
    for *group, label, n in summed.iter_rows():
        cells.setdefault(tuple(group), dict.fromkeys(labels, 0))[label] = int(n)
    for entry in groups:
        group = tuple(entry[k] for k in keys)
        entry["service_tiers"] = cells.get(group, dict.fromkeys(labels, 0))
