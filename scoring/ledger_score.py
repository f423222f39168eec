"""Scoring a window from the ledger alone (``tierscore score --ledger``).

The ledger stands for every export it was accumulated from: scoring a window from it
gives what a direct run over the exports of every ledger month up to the window's
last month gives (months after the window are not read). Months in the window add
their folds as a direct run adds parts. Months before it add only what a direct run
sees of rows before its window: their customers, and their rows as outside the
window (duplicates and rejects stay so), except the balances carried into the
window's first month, which count as that month carried them (``accumulate``).
Accounts overdrawn or joint are counted once across months, and the watch's figure
towards the next rating day comes from the months in its rating window and the
closing balances of the last one.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import date, timedelta
from pathlib import Path

import polars as pl

from .accumulate import CARRIED_ROW, NO_BAD, carry_rows
from .coverage import check_window, window_warnings, with_checks
from .errors import ConfigError
from .finish import Context, Measured, Result, counts_of, result_of
from .folds import fold_balances, folded_from, needs_wide, without_checks
from .joint import JT_ACCOUNTS, JT_ROWS, joint_of
from .ledger import (
    ACCOUNTS,
    CARRIED,
    CLOSING,
    FOLDS,
    MANIFEST,
    REJECTS,
    Entry,
    Ledger,
    measuring_of,
    month_end,
    month_label,
    months_between,
    previous_month,
)
from .ledger_totals import TOTALS, added_up, as_schema, current, negated
from .measures import account_order, by_account
from .overdraft import OD_ACCOUNTS, OD_DAYS, overdrawn_of
from .parties import check_job
from .pipeline import INPUTS, Job, Observer, Stages, context_of, require_customers
from .plan import Plan, compile_plan
from .row_status import (
    CODE,
    CODE_ROWS,
    EXCLUDED,
    OUTSIDE,
    STATUS,
    UNMAPPED,
    USED,
    balance_rows,
    count_column,
)
from .rules import load_rules
from .sources import FILE_COL, LINE_COL, InputFile, Reader, sha256_of
from .watch import FORWARD, forward_of, rating_of, with_forward
from .window import Window

# What a month before the window must share with the rule set: what rejects a row or
# makes rows conflict (its other rows count only as outside the window).
_REJECTING = ("signs", "negative_balances", "joint_accounts")


# What scores the months' folds once added up: ``result_of``, or another engine's
# (``spark_ledger``), given the same plan, folds and context.
Finish = Callable[[Plan, dict[str, Measured], Context], Result]


def run_from_ledger(
    job: Job, root: Path | str, observer: Observer | None = None, finish: Finish = result_of
) -> Result:
    """Score ``job``'s window from the ledger at ``root``; nothing is written here."""
    stages = Stages(observer)
    plan = compile_plan(load_rules(job.rules), job.window)
    require_customers(plan, job.customers)
    check_job(plan, job)
    if job.fx:
        raise ConfigError("is not read with --ledger: accumulate measured the months", key="--fx")
    ledger = Ledger(root)
    ledger.check()
    with stages.stage("read", f"ledger {ledger.root}") as done:
        entries = ledger.entries()
        inside, before = _months(plan, ledger, entries)
        done.append(f"{len(inside)} month(s) in the window, {len(before)} before it")
        with Reader(job.encoding, job.mapping, job.delimiter) as reader:
            context = context_of(reader, plan, job)
        if context.units is not None and plan.joint:
            _no_joint_by_unit(inside)
    result = _computed(plan, stages, context, inside, before, finish)
    named = reader.file_names(result.rejects)
    result.rejects = _with_ledger_rejects(named, [*before, *inside])
    result.inputs = {"ledger": [_input_of(e) for e in [*before, *inside]], **result.inputs}
    result.measuring = {"ledger": f"{inside[0].label}..{inside[-1].label} of {ledger.root}"}
    result.timings = stages.timings
    return result


def _computed(
    plan: Plan,
    stages: Stages,
    context: Context,
    inside: list[Entry],
    before: list[Entry],
    finish: Finish = result_of,
) -> Result:
    with stages.stage("compute", "add up the months, score") as computed:
        sums = Sums(inside, before)  # each file read once: the watch reads them too
        measured = {name: _measured(plan, name, inside, before, sums) for name in INPUTS}
        counts = {name: counts_of(m.folded, m.bad) for name, m in measured.items()}
        check_window(plan, counts, lambda name: _span(name, inside, before))
        warnings = window_warnings(plan, counts)
        overdrawn = overdrawn_of(measured["balances"].folded)
        joint = joint_of(measured["balances"].folded)
        if plan.ruleset.service is not None:
            context.forward, context.forward_rest = _forward(plan, inside, before, sums)
        result = finish(plan, measured, context)
        with_checks(result.summary, warnings, overdrawn, joint)
        computed.append(f"{result.summary['customers']:,} customers")  # (on a cluster too)
    return result


def _months(
    plan: Plan, ledger: Ledger, entries: dict[date, Entry]
) -> tuple[list[Entry], list[Entry]]:
    """The window's entries, and those of the months before it; every reason the
    ledger cannot give the window stops the run (exit 2) naming the month."""
    window, where = plan.window, str(ledger.root)
    if window.start.day != 1:
        raise ConfigError(
            f"{window.start} is not a month's first day: the ledger holds whole months",
            key="--from",
        )
    stale = ledger.stale(entries)
    _no_gap(ledger, [m for m in entries if m <= window.end], window)
    inside = []
    for month in months_between(window.start, window.end):
        entry = entries.get(month)
        if entry is None:
            raise ConfigError(f"{_missing(ledger, month)}: accumulate it", key=where)
        if month in stale:
            raise ConfigError(
                f"{entry.label} is stale ({stale[month]}): accumulate it again", key=where
            )
        _same_measuring(plan, entry, where)
        inside.append(entry)
    _ends_well(window, inside[-1], where)
    for entry in inside[:-1]:
        if entry.partial:
            raise ConfigError(
                f"{entry.label} is in the ledger only to {entry.last_day}: accumulate it in full",
                key=where,
            )
    before = [e for m, e in entries.items() if m < window.start]
    for entry in before:
        _same_measuring(plan, entry, where, _REJECTING)
    return inside, before


def _missing(ledger: Ledger, month: date) -> str:
    if ledger.interrupted(month):
        return f"{month_label(month)} was being accumulated again when that was cut off"
    return f"{month_label(month)} is not in the ledger"


def _no_gap(ledger: Ledger, months: list[date], window: Window) -> None:
    """The ledger's months up to the window's end follow each other: a month after a
    missing one carried in from its own export, not the balances before the gap, so
    the ledger would not be the exports it was accumulated from."""
    if not months:
        return
    for month in months_between(months[0], min(months[-1], window.start)):
        if month not in months:
            raise ConfigError(
                f"{_missing(ledger, month)}, though months before and after it are: the "
                "months after it carry its balances; accumulate it",
                key=str(ledger.root),
            )


def _same_measuring(plan: Plan, entry: Entry, where: str, keys: tuple[str, ...] = ()) -> None:
    ours, theirs = measuring_of(plan), entry.manifest.get("measuring", {})
    for key in keys or tuple(ours):
        if ours[key] != theirs.get(key):
            raise ConfigError(
                f"{entry.label} was accumulated under rule set {entry.manifest.get('ruleset')!r}, "
                f"which measures {key!r} differently: accumulate it again under this one",
                key=where,
            )


def _ends_well(window: Window, last: Entry, where: str) -> None:
    """The window ends on its last month's last day, or on the day a month accumulated
    to date was accumulated to."""
    if last.partial and window.end != last.last_day:
        raise ConfigError(
            f"{last.label} is in the ledger to {last.last_day}: end the window there (--to)",
            key=where,
        )
    if not last.partial and window.end != month_end(last.month):
        raise ConfigError(
            f"{window.end} is not a month's last day: the ledger holds whole months "
            "(or a month to date, accumulated with --to)",
            key="--to",
        )


def _no_joint_by_unit(inside: list[Entry]) -> None:
    """By party or household, a person's two numbers holding one account are one
    holder; the ledger measured each number as its own, so it cannot tell that."""
    for entry in inside:
        accounts = entry.frame(ACCOUNTS)
        if accounts.filter(pl.col("kind") == "joint").height:
            raise ConfigError(
                f"{entry.label} has joint accounts, which by party or household are "
                "measured from the rows: score this window from the exports",
                key="--score-by",
            )


class Sums:
    """The months' folds as scoring reads them: two running totals where the ledger's
    are current (``ledger_totals``), else each month's folds; every file read once."""

    def __init__(self, inside: list[Entry], before: list[Entry]):
        self.entries = {e.month: e for e in [*before, *inside]}
        self._frames: dict[tuple[date, str], pl.DataFrame] = {}
        self._schemas: dict[tuple[date, str], pl.Schema] = {}

    def _read(self, month: date, file: str) -> pl.DataFrame:
        if (month, file) not in self._frames:
            self._frames[month, file] = self.entries[month].frame(file)
        return self._frames[month, file]

    def is_total(self, frame: pl.DataFrame) -> bool:
        """Whether ``frame`` is a running total as read (one row per customer)."""
        return any(f is frame for (_, file), f in self._frames.items() if file in TOTALS.values())

    def fold(self, month: date, name: str) -> pl.DataFrame:
        return self._read(month, FOLDS[name])

    def schema(self, month: date, name: str) -> pl.Schema:
        """A month's fold's columns, without reading its rows."""
        if (month, name) not in self._schemas:
            self._schemas[month, name] = self.entries[month].schema(FOLDS[name])
        return self._schemas[month, name]

    def through(self, month: date, name: str) -> list[pl.DataFrame] | None:
        """Frames adding up every ledger month through ``month`` (none before the
        ledger's first), or None where that month's total is not current."""
        if not any(m <= month for m in self.entries):
            return []
        if not current(self.entries, month):
            return None
        return [self._read(month, TOTALS[name])]

    def between(self, first: date, last: date, name: str) -> list[pl.DataFrame]:
        """Frames adding up the folds of the months ``first``..``last``."""
        upto, earlier = self.through(last, name), self.through(previous_month(first), name)
        if upto is not None and earlier is not None:
            return [*upto, *map(negated, earlier)]
        return [self.fold(m, name) for m in months_between(first, last)]


def _measured(
    plan: Plan, name: str, inside: list[Entry], before: list[Entry], sums: Sums
) -> Measured:
    extra = []
    if name == "balances":
        first = inside[0]
        if first.carried_from_ledger:
            extra += _carried_counts(first.frame(CARRIED))
        extra += _counted_once([sums.schema(e.month, name) for e in [*inside, *before]], inside)
    # the dtypes adding each month's folds up gives, whichever way they are added up
    shapes = [pl.DataFrame(schema=sums.schema(e.month, name)) for e in inside]
    shapes += [_outside_only(plan, name, pl.DataFrame(schema=sums.schema(e.month, name)))
               for e in before]  # fmt: skip
    schema = added_up(pl.concat([*shapes, *extra], how="diagonal_relaxed")).schema
    frames = _window(plan, name, inside, before, sums)
    return Measured(as_schema(_summed(frames, extra, sums), schema), NO_BAD, [])


def _summed(frames: list[pl.DataFrame], extra: list[pl.DataFrame], sums: Sums) -> pl.DataFrame:
    """``frames`` and ``extra`` added up per customer. A window from the ledger's first
    month is one running total, already one row per customer; where ``extra`` holds
    rows of no customer only, only those rows are added up, not the million customers'
    again (half a second of a month-end run at 1M)."""
    lone = len(frames) == 1 and sums.is_total(frames[0])
    if not lone or any(_customers_in(f) for f in extra):
        return added_up(pl.concat([*frames, *extra], how="diagonal_relaxed"), wide=True)
    total, person = frames[0], pl.col("customer_id").is_not_null()
    rest = added_up(pl.concat([total.filter(~person), *extra], how="diagonal_relaxed"), True)
    # a sum only ``extra`` has is 0 for the total's customers, as adding them up makes it
    # (a total, made by ``added_up``, has every column that is not summed)
    zeros = [pl.lit(0, t).alias(c) for c, t in rest.schema.items() if c not in total.columns]
    return pl.concat([total.filter(person).with_columns(zeros), rest], how="diagonal_relaxed")


def _customers_in(frame: pl.DataFrame) -> bool:
    return "customer_id" in frame.columns and frame["customer_id"].is_not_null().any()


def _window(
    plan: Plan, name: str, inside: list[Entry], before: list[Entry], sums: Sums
) -> list[pl.DataFrame]:
    """Frames whose sum is what a direct run folds: the months in the window, and what
    it sees of the months before it (linear in their folds: ``_outside_only``)."""
    earlier = sums.through(previous_month(inside[0].month), name)
    if earlier is None:  # that total is not current: the months before, one by one
        earlier = [sums.fold(e.month, name) for e in before]
    frames = sums.between(inside[0].month, inside[-1].month, name)
    return frames + [_outside_only(plan, name, f) for f in earlier]


def _outside_only(plan: Plan, name: str, folded: pl.DataFrame) -> pl.DataFrame:
    """A month before the window as a direct run sees it: its customers, its rows
    outside the window but for its duplicates and rejects, nothing summed."""
    ids = [c.id for c in plan.of_source(name) if c.id in folded.columns]
    live = [count_column(s) for s in (USED, EXCLUDED, UNMAPPED)]
    kept = folded.filter(pl.col(CODE).is_null()) if CODE in folded.columns else folded
    zero = [pl.col(c) * 0 for c in (*ids, OD_DAYS, JT_ROWS) if c in folded.columns]
    outside = pl.sum_horizontal(pl.col(count_column(OUTSIDE)), *map(pl.col, live))
    return kept.with_columns(
        *zero,
        outside.cast(pl.Int64).alias(count_column(OUTSIDE)),
        *(pl.lit(0).alias(c) for c in live),
    )


def _carried_counts(carried: pl.DataFrame) -> list[pl.DataFrame]:
    """The window's carry-in rows: a month before the window counted them outside;
    a direct run counts them as the first month's carried rows took their statuses
    (totals: see ``accumulate.carried_statuses``)."""
    if carried.height == 0:
        return []
    counts = [
        pl.when(pl.col(STATUS) == s).then(pl.col("rows")).otherwise(0).sum().alias(count_column(s))
        for s in (USED, EXCLUDED, UNMAPPED)
    ]
    moved = pl.when(pl.col(STATUS) != OUTSIDE).then(pl.col("rows")).otherwise(0).sum()
    totals = carried.select(*counts, (-moved).alias(count_column(OUTSIDE)))
    codes = (
        carried.filter(pl.col(CODE).is_not_null())
        .group_by(CODE)
        .agg(pl.col("rows").sum().alias(CODE_ROWS))
    )
    return [totals, codes.sort(CODE)]


def _counted_once(schemas: list[pl.Schema], inside: list[Entry]) -> list[pl.DataFrame]:
    """Accounts overdrawn or joint in the window, each once, as a fold row of no
    customer (the months' folds hold 0 there)."""
    columns = {c for schema in schemas for c in schema}
    accounts = pl.concat([e.frame(ACCOUNTS) for e in inside]).unique()
    once = {}
    for column, kind in ((OD_ACCOUNTS, "overdrawn"), (JT_ACCOUNTS, "joint")):
        if column in columns:
            once[column] = [accounts.filter(pl.col("kind") == kind).height]
    return [pl.DataFrame(once, schema=dict.fromkeys(once, pl.Int64))] if once else []


def _span(name: str, inside: list[Entry], before: list[Entry]) -> tuple[date, date] | None:
    """The first and last date of the input's usable rows in the months read (as a
    direct run asks of its rows: ``coverage.usable_span``). A month that did not record
    them (another engine's) counts as wholly usable: the run then stops rather than
    score a window its data may not meet."""
    spans = []
    for entry in [*before, *inside]:
        recorded = entry.manifest.get("usable_span")
        if recorded is None:
            if entry.manifest["rows"][name]["read"]:
                spans.append((entry.month, entry.last_day))
        elif recorded.get(name) is not None:
            first, last = recorded[name]
            spans.append((date.fromisoformat(first), date.fromisoformat(last)))
    if not spans:
        return None
    return min(s[0] for s in spans), max(s[1] for s in spans)


def _forward(
    plan: Plan, inside: list[Entry], before: list[Entry], sums: Sums
) -> tuple[pl.DataFrame, int]:
    """The watch's numerator on the next rating day (``watch.forward_values``): the
    months of its rating window up to the as-of date, then each account's closing
    balance on that date through the rating window's end; and the numerator of a
    customer with none of those (a direct run lists every customer, with that)."""
    forward = with_forward(plan).forward
    assert forward is not None
    rating = rating_of(plan)
    entries = {e.month: e for e in [*before, *inside]}
    counted = []
    if forward.start <= forward.as_of:
        if forward.start.day != 1:
            raise ConfigError(
                f"the rating window starts on {forward.start}, not a month's first day",
                key="[service]",
            )
        counted = months_between(forward.start, forward.as_of)
    ids = [c.id for c in rating.balances.components]
    sums_of = []  # per customer and component: the months counted, then the closing held
    for month in counted:
        if month not in entries:
            raise ConfigError(
                f"{month_label(month)} is not in the ledger: the watch measures the rating "
                "window from it",
                key="--ledger",
            )
    for name in INPUTS if counted else ():
        for folded in sums.between(counted[0], counted[-1], name):
            present = [pl.col(c).cast(pl.Int128) for c in ids if c in folded.columns]
            sums_of.append(
                folded.filter(pl.col("customer_id").is_not_null()).select("customer_id", *present)
            )
    sums_of.append(_held_on(rating.balances, inside[-1], forward.as_of, forward.start, forward.end))
    nobody = pl.DataFrame({"customer_id": [""]}).with_columns(
        pl.lit(0, pl.Int128).alias(c) for c in ids
    )
    rest = forward_of(rating.balances, [nobody])[FORWARD].item()
    return forward_of(rating.balances, sums_of), int(rest)


def _held_on(plan: Plan, last: Entry, as_of: date, start: date, end: date) -> pl.DataFrame:
    """Each account's closing balance held from the day after ``as_of`` (or ``start``)
    through ``end``, per customer and component."""
    first = max(as_of + timedelta(days=1), start)
    ids = [c.id for c in plan.components]
    if first > end:
        return pl.DataFrame(schema={"customer_id": pl.String, **dict.fromkeys(ids, pl.Int128)})
    held = replace(plan, window=Window(first, end, "held"), forward=None)
    closing = last.frame(CLOSING)
    schema = pl.Schema({
        FILE_COL: pl.UInt16, LINE_COL: pl.Int64, "customer_id": pl.String,
        "account_id": pl.String, "product": pl.String, "date": pl.Date,
        "balance": pl.Int64, "currency": pl.String, CARRIED_ROW: pl.Boolean,
    })  # fmt: skip
    ordered = by_account(carry_rows(closing, schema, first))
    joint = account_order(ordered)[1]  # holders of one account: marked, as a run marks them
    marked = balance_rows(held, ordered.lazy(), presorted=True, repeats=joint)
    rows = marked.select(folded_from("balances")).collect().lazy()
    folded = fold_balances(held, rows).collect()  # 64-bit sums, unless they might overflow
    if needs_wide(folded):
        folded = fold_balances(held, rows, wide=True).collect()
    sums = [pl.col(c).cast(pl.Int128) for c in ids if c in folded.columns]
    return (
        without_checks(folded)
        .select("customer_id", *sums)
        .filter(pl.col("customer_id").is_not_null())
    )


def _with_ledger_rejects(named: pl.DataFrame, entries: list[Entry]) -> pl.DataFrame:
    parts = [named, *(e.frame(REJECTS) for e in entries)]
    return pl.concat(parts, how="vertical_relaxed").sort("file", "line", maintain_order=True)


def _input_of(entry: Entry) -> InputFile:
    manifest = entry.path / MANIFEST
    rows = sum(int(count["read"]) for count in entry.manifest["rows"].values())
    return InputFile(str(manifest), "ledger", sha256=sha256_of(manifest), rows=rows)
