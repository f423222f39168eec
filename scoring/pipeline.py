"""The main job as one straight line: read -> validate -> measure -> score.

Each input is read and validated once, in one streaming pass that yields its
good and its bad rows; its rows are then marked (duplicates, conflicts) and
folded to a frame of a few rows per customer (``measures.measure_in_steps``).
Scores, row accounting, unmapped codes and rejects are derived from those small
frames.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from fractions import Fraction
from functools import cached_property
from typing import Protocol

import polars as pl

from .coverage import Span, check_window, span_of_parts, usable_span, window_warnings, with_checks
from .errors import ConfigError, InputError
from .finish import ROWS, Context, Measured, Result, counts_of, result_of
from .folds import needs_wide, without_checks
from .fx import rates_checked, read_rates
from .joint import holders_by_unit, joint_of
from .layout_measures import layout_marks, layout_rejects, measure_layout
from .layouts import layout_of, one_layout
from .measures import NO_CSE, ONE_PASS, Strategy, measure_how, measure_whole
from .migration import read_previous
from .overdraft import overdrawn_of
from .parties import UNIT, check_job, units_of
from .parties import parsers as party_parsers
from .plan import CENTS, Plan, compile_plan, longest_window
from .points import UNUSABLE, bounds, to_money
from .ranked import Ranked
from .row_status import (
    BALANCE_KEY,
    DUPLICATE,
    HASH,
    REJECTED,
    STATUS,
    STATUSES,
    TXN_KEY,
    conflict_rejects,
    id_hash,
    mark_balance_rows,
    mark_duplicates,
    mark_transaction_rows,
    part_of,
    repeated_hashes,
)
from .rules import SERVICE_COLUMNS, load_rules, money_columns
from .service import floor_parsers, read_overrides
from .sources import (
    ATTRIBUTES,
    PARTIES,
    TRANSACTIONS,
    Batch,
    Given,
    InputFile,
    Reader,
    TableSpec,
    balances_spec,
    customers_spec,
    given_specs,
)
from .summary import Scoring, no_customers
from .validate import (
    DETAIL,
    Parsed,
    Parser,
    bad_rows,
    balance_parsers,
    check,
    good_rows,
    parse_count,
    parse_flag,
    parse_id,
    parse_money,
    parse_text,
    rejects_table,
)
from .validate import transaction_parsers as txn_parsers
from .watch import forward_folds, forward_values, with_forward
from .window import Window

# Input rows measured at once: an input's validated rows are held in memory while
# they are ordered and marked (a 62M-row run peaks at about 6 GiB, 100 bytes a row);
# larger inputs are measured in parts.
ROWS_PER_PART = 64_000_000
INPUTS = ("balances", "transactions")


@dataclass
class Job:
    """What to score: inputs, window and rule set, as the operator gave them."""

    balances: Given  # a file, glob, folder or - (stdin); or several (``sources.locate``)
    transactions: Given
    window: Window
    rules: str = "icbc-star"
    encoding: str | None = None
    mapping: dict[str, dict[str, str]] | None = None
    customers: Given | None = None  # attributes: branch, manager, gates' columns, others
    previous: str | None = None  # an earlier run's scores, for tier migration
    overrides: str | None = None  # service-tier overrides (``[service]``, see service)
    near: Fraction = Fraction(10)  # percent of the next bound that counts as near
    tables: dict[str, str] | None = None  # input -> catalog table (Spark engine only)
    rows_per_part: int = ROWS_PER_PART  # larger inputs are measured in parts
    delimiter: str | None = None  # text files' delimiter; None: sniffed from each header
    date_format: str | None = None  # text dates' one strftime format (``validate.parse_date``)
    fx: Given | None = None  # --fx: yuan per unit of foreign currencies by date (``fx``)
    balance_layout: str | None = None  # ``layouts.LAYOUTS``; None: from the columns
    # input -> a ``measures.STRATEGIES`` path to measure it by, instead of the one chosen
    # from a first look at its rows (tests prove every path gives the same result)
    strategies: dict[str, str] = field(default_factory=dict)
    parties: Given | None = None  # customer_id -> party_id, household_id (``parties``)
    score_by: str = "customer"  # the unit tiered: customer, party or household


@dataclass
class _Input:
    files: list[InputFile]  # in the order given (sorted)
    checked: pl.LazyFrame  # every row typed, with its problems (``validate.check``)
    sizes: list[pl.LazyFrame]  # rows read, one query per batch (``Batch.sizes``)
    raw: pl.LazyFrame  # the files as read, before validation
    hashes: pl.LazyFrame | None = None  # ``HASH`` of every row's transaction id
    batches: list[Batch] = field(default_factory=list)  # the files as scanned
    strategies: list[str] = field(default_factory=list)  # how each measure went (``said``)
    named: str | None = None  # a ``measures.STRATEGIES`` path to take (``Job.strategies``)
    joint: str = "each"  # the rule set's ``joint_accounts`` (``mark``; measuring: the plan's)

    def said(self, how: Strategy | str) -> None:
        """Note how a measure of this input went, once each way (``how``)."""
        if str(how) not in self.strategies:
            self.strategies.append(str(how))

    @property
    def how(self) -> str:
        return "; ".join(self.strategies)

    @cached_property
    def repeated(self) -> list[int]:
        """Hashes of repeated transaction ids, for what needs them before measuring
        (parts, ``inspect``, ``explain``); measuring in one part finds them in its pass."""
        if self.hashes is None:
            return []
        return repeated_hashes(self.hashes).collect()[HASH].to_list()

    @property
    def typed(self) -> bool:
        """Every file typed (Parquet): cheap to read and check more than once."""
        return all(info.format == "parquet" for info in self.files)

    @property
    def good(self) -> pl.LazyFrame:
        return good_rows(self.checked)

    @property
    def bad(self) -> pl.LazyFrame:
        return bad_rows(self.checked)

    def take_sizes(self, sizes: list[pl.DataFrame]) -> None:
        """Record each file's row count, collected from ``self.sizes``; for a CSV file
        whose records were counted in its bytes, polars must have read as many (else
        the lines and field counts found there are not those of polars' rows, and in
        a scan of many files, the rows would be given other files' ids and lines)."""
        for batch, size in zip(self.batches, sizes, strict=True):
            batch.take_rows(size)
        for info in self.files:
            if info.records is not None and info.rows != info.records:
                raise InputError(
                    f"{info.records:,} records in the file but {info.rows:,} rows read: "
                    "its quoting is not read the same way by all",
                    file=info.path,
                )

    @property
    def layout(self) -> str:
        """How balances hold their history (``layouts``; the change log for others)."""
        return layout_of(self.checked.collect_schema().names())

    def mark(self, name: str) -> pl.LazyFrame:
        if name == "balances" and self.layout != "changes":
            return layout_marks(self.good)
        if name == "balances":
            return mark_balance_rows(self.good, joint=self.joint)
        return mark_transaction_rows(self.good, self.repeated)

    def conflicts(self, name: str, marked: pl.LazyFrame) -> pl.LazyFrame:
        """The rejects lines of ``mark``'s conflicting rows."""
        if name == "balances" and self.layout != "changes":
            return layout_rejects(marked)
        return conflict_rejects(marked, BALANCE_KEY if name == "balances" else TXN_KEY)

    def measure(
        self, name: str, plan: Plan, wide: bool = False, part: tuple[int, int] = (1, 0)
    ) -> tuple[pl.DataFrame, pl.DataFrame]:
        """The input's per-customer folds and its bad rows; ``part`` = (parts, index)
        measures only the rows of one part (see ``row_status.part_of``)."""
        checked = self.checked
        if part[0] > 1:
            checked = checked.filter(part_of(name, part[0], self.repeated) == part[1])
        if name == "balances" and self.layout != "changes":
            self.said(f"{self.layout} layout")
            return measure_layout(plan, checked, wide)
        one_pass = name == "transactions" and part[0] == 1
        repeated = None if one_pass else self.repeated
        reread = part[0] == 1 and self.typed  # in parts, each part reads the input already
        folded, bad, how = measure_how(plan, name, checked, repeated, wide, reread, self.named)
        self.said(how if part[0] == 1 else f"{how}, in {part[0]} parts")
        return folded, bad


class Observer(Protocol):
    """Told when a stage starts and ends, so a front end can show progress. An observer
    may also have ``rows(counts)``: rows read per input, told as they become known
    (see ``Stages.rows``); one without it is not asked."""

    def started(self, stage: str, detail: str) -> None: ...

    def finished(self, stage: str, seconds: float, detail: str) -> None: ...


class _Silent:
    def started(self, stage: str, detail: str) -> None:
        pass

    def finished(self, stage: str, seconds: float, detail: str) -> None:
        pass


class Stages:
    """Times named stages for the manifest and reports them to an observer."""

    def __init__(self, observer: Observer | None = None):
        self.observer = observer or _Silent()
        self.timings: dict[str, float] = {}

    @contextmanager
    def stage(self, name: str, detail: str = "") -> Iterator[list[str]]:
        """Yields a list the caller may fill with a closing detail (e.g. row counts)."""
        self.observer.started(name, detail)
        clock = time.perf_counter()
        closing: list[str] = []
        yield closing
        self.timings[name] = time.perf_counter() - clock
        self.observer.finished(name, self.timings[name], " ".join(closing))

    def rows(self, counts: dict[str, int]) -> None:
        """Rows read per input, from counts the run already has (no pass of its own):
        a long run shows how much it has read before it ends."""
        tell = getattr(self.observer, "rows", None)
        if tell is not None and counts:
            tell(counts)

    def skipped(self, skipped: dict[str, list[str]]) -> dict[str, list[str]]:
        """Files of an unknown type in an input's folders, each told to an observer that
        has ``warning(text)`` (the terminal); the inputs that have some, for the manifest."""
        found = {name: files for name, files in skipped.items() if files}
        tell = getattr(self.observer, "warning", None)
        for name, files in found.items():
            for file in files if tell is not None else ():
                tell(f"--{name}: not read, of an unknown type: {file}")
        return found


def _read(
    reader: Reader,
    spec: TableSpec,
    given: Given,
    parsers: dict[str, Parser],
    plan: Plan | None = None,
) -> _Input:
    """Open and validate every file of one input, a batch of files read by one scan at
    a time (``Reader.open_input``: each file, or many that share a header); typed rows
    are concatenated. With a ``plan``, foreign-currency rows need its rates
    (``fx.rates_checked``)."""
    files, batches = reader.open_input(spec, given)
    checks, raws, hashes = [], [], []
    for batch in batches:
        lf = batch.frame
        names = lf.collect_schema().names()
        carried = [c for c in names if c not in parsers and c[0] != "_"]
        # a carried file may lack a column some parser reads (a service floor's: optional);
        # balances' parsers are every layout's, of which a file has its own layout's
        optional = spec.carry_rest or spec.name == "balances"
        read = {c: p for c, p in parsers.items() if c in names or not optional}
        checked = check(lf, read | {c: parse_text for c in carried}, batch.typed)
        checks.append(checked if plan is None else rates_checked(plan, spec.name, checked))
        raws.append(lf)
        if spec is TRANSACTIONS:  # CSV ids are trimmed by validation: hash them trimmed
            hashes.append(lf.select(id_hash(trim=not batch.typed).alias(HASH)))
    if spec.name == "balances":
        one_layout(batches)
    how = "diagonal_relaxed" if spec.carry_rest else "vertical"  # files may differ in columns
    hashed = pl.concat(hashes) if hashes else None
    sizes = [batch.sizes for batch in batches]
    checked, raw = pl.concat(checks, how=how), pl.concat(raws, how=how)
    return _Input(files, checked, sizes, raw, hashed, batches)


def read_inputs(
    reader: Reader,
    job_balances: Given,
    job_transactions: Given,
    plan: Plan | None = None,
    date_format: str | None = None,
    balance_layout: str | None = None,
    rated: bool = True,
) -> dict[str, _Input]:
    """Both inputs opened and validated; balances by the ``plan``'s signs (without one,
    every negative balance is rejected: see ``validate.balance_parsers``), text dates
    in ``date_format`` when given, balances in ``balance_layout`` (None: the layout
    their columns say, ``layouts.detect_layout``). ``rated``: foreign-currency rows
    need the plan's rates for its window (``validate``, which has no window, checks
    only the form of a currency)."""
    balances = balance_parsers(plan, date_format)
    window = plan if rated else None
    read = {
        "balances": _read(reader, balances_spec(balance_layout), job_balances, balances, window),
        "transactions": _read(
            reader, TRANSACTIONS, job_transactions, txn_parsers(date_format), window
        ),
    }
    if plan is not None:
        read["balances"].joint = plan.ruleset.joint_accounts
    return read


def run(job: Job, observer: Observer | None = None) -> Result:
    """Score every customer of both inputs; nothing is written here.

    Stages: ``read`` finds, hashes and opens the files; ``compute`` runs the
    lazy queries that validate, measure and score.
    """
    stages = Stages(observer)
    plan = compile_plan(load_rules(job.rules), job.window)
    require_customers(plan, job.customers)  # before any input is hashed
    check_job(plan, job)  # --parties and --score-by, as early
    for name, table in (job.tables or {}).items():
        if table:
            raise ConfigError("catalog tables are read by --engine spark", key=f"--{name}-table")
    with Reader(job.encoding, job.mapping, job.delimiter) as reader:
        with stages.stage("read", "finding, hashing and opening inputs") as done:
            plan = rated(plan, reader, job)
            inputs = read_inputs(
                reader, job.balances, job.transactions, plan, job.date_format, job.balance_layout
            )
            done.append(", ".join(f"{len(i.files)} {name} file(s)" for name, i in inputs.items()))
            for name, path in job.strategies.items():
                inputs[name].named = path
            context = context_of(reader, plan, job)
            if context.units is not None and plan.joint:  # a person's numbers: one holder
                units, read = context.units.mapping.select("customer_id", UNIT), inputs["balances"]
                read.checked = holders_by_unit(read.checked, units)
            stages.rows(rows_counted({n: i.files for n, i in inputs.items()}, context))
            skipped = stages.skipped(reader.skipped)
        with stages.stage("compute", "validate, measure, score") as done:
            parts = parts_for(inputs, job.rows_per_part)
            serves = plan.ruleset.service is not None  # the watch too (``with_forward``)
            measuring = with_forward(plan) if serves else plan
            measured, whole = _measured_in_parts(measuring, inputs, parts)
            stages.rows(rows_counted({n: m.files for n, m in measured.items()}, read=True))
            if parts > 1:
                done.append(_parts_said(list(inputs), parts, whole))
            warnings, overdrawn = _window_met(plan, inputs, measured)  # exit 2 if it is not
            joint = joint_of(measured["balances"].folded)
            if plan.ruleset.service is not None:  # measured again towards the rating day
                context.forward = forward_values(plan, inputs, parts, measured)
            result = result_of(plan, measured, context)
            with_checks(result.summary, warnings, overdrawn, joint)
            result.rejects = reader.file_names(result.rejects)
            done.append(f"{result.scores.height:,} customers")
            result.measuring = {name: read.how for name, read in inputs.items() if read.how}
            done.append("· " + ", ".join(f"{n}: {how}" for n, how in result.measuring.items()))
    result.timings, result.skipped = stages.timings, skipped
    result.date_format = job.date_format
    return result


def _window_met(
    plan: Plan, inputs: dict[str, _Input], measured: dict[str, Measured]
) -> tuple[list[str], dict[str, int] | None]:
    """Stop if an input's usable rows all lie outside the window (its span read again,
    on that way only); else the warnings, and the overdrawn account-days, which
    ``result_of`` (it consumes ``measured``) leaves out."""
    counts = {name: counts_of(m.folded, m.bad) for name, m in measured.items()}

    def span(name: str) -> Span | None:
        return span_of_parts(usable_span(plan, name, inputs[name].checked).collect())

    check_window(plan, counts, span)
    return window_warnings(plan, counts), overdrawn_of(measured["balances"].folded)


def rows_counted(
    files: dict[str, list[InputFile]], context: Context | None = None, read: bool = False
) -> dict[str, int]:
    """Rows per input for progress: the records counted while opening (a CSV file's
    bytes, a Parquet footer), or ``read`` the rows polars read (``_Input.take_sizes``);
    the customers file's, read in full while opening. An input with a file not counted
    is left out rather than shown short."""
    out = {}
    for name, infos in files.items():
        counts = [info.rows if read else info.records for info in infos]
        if all(count is not None for count in counts):
            out[name] = sum(count or 0 for count in counts)
    if context is not None and context.attributes is not None:
        out["customers"] = context.attributes.counts["read"]
    return out


def rows_in(summary: dict[str, object]) -> dict[str, int]:
    """Rows read per input as a summary counts them (a URI or a table read by Spark is
    counted only there)."""
    counts = summary.get("rows")
    if not isinstance(counts, dict):
        return {}
    return {name: int(count["read"]) for name, count in counts.items()}


def rated(plan: Plan, reader: Reader, job: Job) -> Plan:
    """The plan with ``--fx``'s rates, compiled again in their finer unit (``fx``)."""
    if not job.fx:
        return plan
    fx = read_rates(reader, job.fx, plan.ruleset.fx_convert)
    return compile_plan(plan.ruleset, plan.window, fx)


def context_of(reader: Reader, plan: Plan, job: Job) -> Context:
    context = Context(near=job.near)
    if plan.fx is not None:  # in the manifest: they change every foreign amount
        context.fx_files = list(plan.fx.files)
    require_customers(plan, job.customers)
    check_job(plan, job)  # --parties and --score-by
    if job.parties:
        read = _read(reader, PARTIES, job.parties, party_parsers())
        context.units = units_of(read, job.score_by)
    if job.customers:
        context.attributes = _read_attributes(reader, plan, job.customers)
        _check_carried(plan, context.attributes.columns, job.customers)
        if context.units is not None:
            context.units.check_attributes(context.attributes.columns, job.customers)
    if job.previous:
        previous = context.units.previous if context.units is not None else read_previous
        context.previous = previous(reader, plan, job.previous)
        context.previous_file = job.previous
    if job.overrides:
        context.overrides = read_overrides(reader, plan, job.overrides)
    return context


def _check_carried(plan: Plan, carried: tuple[str, ...], given: Given) -> None:
    """An attribute named like a scores column would make two columns of one name."""
    empty = no_customers(plan, Scoring(bounds(plan, Ranked(0, 0, {}, 0)), gated=False))
    taken = set(empty.scores.columns) | {"previous_tier", "movement", "quality_blocked_by"}
    taken |= set(SERVICE_COLUMNS) if plan.ruleset.service else set()
    for column in carried:
        if column in taken:
            raise InputError(
                "a customers column has the name of a scores column; rename it in a "
                "[customers] table of --columns",
                file=", ".join(given_specs(given)),
                key=column,
            )


def parts_for(inputs: dict[str, _Input], rows_per_part: int) -> int:
    """How many parts to measure in so that one part's rows fit in memory: the measure
    of an input holds its rows, about 100 bytes a row at the peak. Parquet files say
    how many rows they hold (read with many others, they said it already); a CSV file
    is taken at 48 bytes a row."""
    rows = 0
    for read in inputs.values():
        for info in read.files:
            if info.format == "parquet" and info.records is not None:
                rows += info.records
            elif info.format == "parquet":
                rows += int(pl.scan_parquet(info.path).select(pl.len()).collect().item())
            else:
                size = info.size if info.size is not None else os.path.getsize(info.path)
                rows += size // 48
    return max(1, -(-rows // rows_per_part))


def _measured_in_parts(
    plan: Plan, inputs: dict[str, _Input], parts: int
) -> tuple[dict[str, Measured], list[str]]:
    """Measure each input part by part (one part when it fits) and keep the folds: a
    customer's partial rows from several parts add up later like any other folds
    (see ``result_of``). A typed input too large for one part is first measured
    whole by the one pass that holds no rows (``measures.measure_whole``); the
    names of the inputs so measured come back too."""
    folds: dict[str, list[pl.DataFrame]] = {name: [] for name in inputs}
    bads: dict[str, list[pl.DataFrame]] = {name: [] for name in inputs}
    whole = []
    for name, read in inputs.items():
        measured = _measured_whole(plan, name, read) if parts > 1 and read.typed else None
        if measured is not None:
            folds[name], bads[name] = [measured[0]], [measured[1]]
            whole.append(name)
    for index in range(parts):
        for name, read in inputs.items():
            if name in whole:
                continue
            folded, bad = read.measure(name, plan, part=(parts, index))
            folds[name].append(exact_folds(plan, name, read, folded, (parts, index)))
            bads[name].append(bad)
    sizes = [q for read in inputs.values() for q in read.sizes]
    collected = pl.collect_all(sizes, engine="streaming", optimizations=NO_CSE)
    out = {}
    for name, read in inputs.items():
        read.take_sizes(collected[: len(read.sizes)])
        collected = collected[len(read.sizes) :]
        # a part with joint accounts has their counts (``joint``), one without them not
        folded, forward = forward_folds(pl.concat(folds[name], how="diagonal_relaxed"))
        out[name] = Measured(folded, pl.concat(bads[name]), read.files, forward)
    return out, whole


def _measured_whole(
    plan: Plan, name: str, read: _Input
) -> tuple[pl.DataFrame, pl.DataFrame] | None:
    """``measures.measure_whole``, folded again with 128-bit sums where needed (see
    ``exact_folds``); None if either fold would have to hold the rows."""
    if name == "balances" and read.layout != "changes":  # measured in parts (``measure``)
        return None
    measured = measure_whole(plan, name, read.checked)
    if measured is not None:
        read.said(Strategy(ONE_PASS, "whole input, no rows held"))
    if measured is not None and needs_wide(measured[0]):
        wide = measure_whole(plan, name, read.checked, wide=True)
        measured = (wide[0], measured[1]) if wide is not None else None
    if measured is None:
        return None
    return without_checks(measured[0]), measured[1]


def _parts_said(names: list[str], parts: int, whole: list[str]) -> str:
    """How each input was measured, for the compute stage's line."""
    said = [f"{n} whole" if n in whole else f"{n} in {parts} parts" for n in names]
    return ", ".join(said) + ","


def exact_folds(
    plan: Plan, name: str, read: _Input, folded: pl.DataFrame, part: tuple[int, int] = (1, 0)
) -> pl.DataFrame:
    """The folds as they are, or folded again with 128-bit sums and plain counts where
    the float check says a 64-bit sum may have overflowed, or a customer has too many
    rows for the packed counts (``folds._packed``)."""
    if needs_wide(folded):
        folded = read.measure(name, plan, wide=True, part=part)[0]
    return without_checks(folded)


@dataclass
class _Attributes:
    """Per-customer attributes (one usable row per customer, or an ``UNUSABLE`` row with
    no values for a customer whose rows could not be used), with their accounting."""

    files: list[InputFile]
    frame: pl.DataFrame
    rejects: pl.DataFrame
    counts: dict[str, int]

    @property
    def columns(self) -> tuple[str, ...]:
        """The attribute columns carried into scores: branch and manager first (what a
        manager filters on), then the others in the file's order; last ``UNUSABLE``,
        which the gates read and the scores do not show."""
        rest = [c for c in self.frame.columns if c not in ("customer_id", UNUSABLE)]
        ordered = sorted(rest, key=lambda c: ATTRIBUTES.index(c) if c in ATTRIBUTES else 2)
        return (*ordered, UNUSABLE)


def _read_attributes(reader: Reader, plan: Plan, given: Given) -> _Attributes:
    """The customers file: validated like the other inputs. Besides the gates' columns
    it carries branch, manager and any other column, as text, into scores.

    A customer with a rejected row (a bad cell such as a flag typed ``ture``, or the id
    given twice with different values: which row is right is unknowable) is kept as
    ``UNUSABLE``, its values unknown, whatever other rows it has: its gates fail closed.
    A customer the file does not name has no known blemish."""
    gates = plan.ruleset.column_gates
    counted = {g.column for g in gates if g.at_least is not None}
    money = tuple(money_columns(plan.ruleset))  # a rule set's columns read as yuan
    columns = tuple(dict.fromkeys([*(g.column for g in gates), *money]))
    parsers: dict[str, Parser] = {"customer_id": parse_id}
    parsers |= {c: parse_count if c in counted else parse_flag for c in columns}
    parsers |= {c: _parse_yuan for c in money}
    parsers |= floor_parsers(plan)  # optional: a floor whose column is missing is not applied
    read = _read(reader, customers_spec(columns), given, parsers)
    names = read.raw.collect_schema().names()  # the file's order
    columns = tuple(c for c in names if c != "customer_id" and not c.startswith("_"))
    _check_not_components(plan, columns, given)
    marked = mark_duplicates(read.good, ("customer_id",), columns)
    rows, conflicts, bad, unusable, *sizes = pl.collect_all(
        [marked, conflict_rejects(marked, ("customer_id",)), read.bad,
         _unusable_ids(read.checked, marked), *read.sizes]
    )  # fmt: skip
    read.take_sizes(sizes)
    counts = {status: 0 for status in STATUSES}
    counts["used"] = rows.filter(pl.col(STATUS).is_null()).height
    counts["duplicate"] = rows.filter(pl.col(STATUS) == DUPLICATE).height
    counts["rejected"] = conflicts.height + bad.height
    used = rows.filter(pl.col(STATUS).is_null()).select("customer_id", *columns)
    used = used.with_columns(to_money(pl.col(c), CENTS) for c in money)  # shown in yuan
    return _Attributes(
        read.files,
        _with_unusable(used, unusable),
        pl.concat([rejects_table(bad), conflicts]),
        {"read": sum(counts.values()), **counts},
    )


def _with_unusable(used: pl.DataFrame, unusable: pl.DataFrame) -> pl.DataFrame:
    """The used rows of customers with no rejected row, then one row per customer with
    one, marked ``UNUSABLE`` and with every attribute empty."""
    known = used.join(unusable, on="customer_id", how="anti")
    marked = [
        known.with_columns(pl.lit(False).alias(UNUSABLE)),
        unusable.with_columns(pl.lit(True).alias(UNUSABLE)),
    ]
    return pl.concat(marked, how="diagonal")


def _parse_yuan(name: str, dtype: pl.DataType, *, typed: bool = False) -> Parsed:
    """A customers column an indicator or the bonus reads (历史销售额): yuan to exact
    cents, as strict as a balance (ASCII digits, at most 2 decimals); a negative amount
    is rejected, and a blank cell is unknown (it scores the lowest band, see
    ``points.sub_score``), not 0 by guess."""
    return parse_money(name, dtype, positive=False, optional=True)


def require_customers(plan: Plan, given: Given | None, command: str = "score") -> None:
    """A rule set that reads customers columns as yuan cannot score without the file:
    every such indicator would sit in its lowest band, and no one would notice why."""
    needed = money_columns(plan.ruleset)
    if needed and not given:
        column, key = next(iter(needed.items()))
        took = "give --customers FILE" if command == "score" else f"{command} cannot read one"
        raise ConfigError(
            f"reads the customers column {column!r}, which needs a customers file "
            f"(--customers): {took}",
            file=plan.ruleset.source,
            key=key,
        )


def _unusable_ids(checked: pl.LazyFrame, marked: pl.LazyFrame) -> pl.LazyFrame:
    """Customers with a rejected row: a bad row whose id passes the id's own check (its
    other cells are what is wrong), and rows that conflict."""
    id_ok = parse_id("customer_id", pl.String, typed=True).reason.is_null()
    bad = checked.filter(pl.col(DETAIL).is_not_null() & id_ok).select("customer_id")
    conflicting = marked.filter(pl.col(STATUS) == REJECTED).select("customer_id")
    return pl.concat([bad, conflicting]).unique()


def _check_not_components(plan: Plan, columns: tuple[str, ...], given: Given) -> None:
    """Attributes are joined to each customer's component values: a customers column
    named like a component would be shown in its place (Spark ignores case)."""
    ids = {c.id.casefold() for c in plan.components}
    for column in columns:
        if column.casefold() in ids:
            raise InputError(
                "a customers column has the name of a rule set component; rename it in a "
                "[customers] table of --columns",
                file=", ".join(given_specs(given)),
                key=column,
            )


@dataclass
class Inspection:
    """Inputs checked without a window: per-input counts and the rejects."""

    counts: dict[str, dict[str, int]]
    rejects: pl.DataFrame
    inputs: dict[str, list[InputFile]]
    skipped: dict[str, list[str]] = field(default_factory=dict)  # unknown files, by input


def inspect(
    balances: Given,
    transactions: Given,
    encoding: str | None = None,
    mapping: dict[str, dict[str, str]] | None = None,
    rules: str | None = None,
    delimiter: str | None = None,
    date_format: str | None = None,
    balance_layout: str | None = None,
) -> Inspection:
    """Read and validate both inputs, and find duplicates, without scoring. ``rules``:
    a rule set whose balance signs apply (a loan it counts negated is no reject here);
    its signs depend on no window, so it is compiled for the longest one."""
    plan = compile_plan(load_rules(rules), longest_window()) if rules else None
    with Reader(encoding, mapping, delimiter) as reader:
        inputs = read_inputs(
            reader, balances, transactions, plan, date_format, balance_layout, rated=False
        )
        queries = []
        for name, read in inputs.items():
            rows = read.mark(name)
            statuses = rows.group_by(STATUS).agg(pl.len().alias(ROWS))
            queries += [statuses, read.conflicts(name, rows), read.bad, *read.sizes]
        collected = pl.collect_all(queries)
    counts, rejects, files = {}, [], {}
    for name, read in inputs.items():
        statuses, conflicts, bad, *sizes = collected[: 3 + len(read.sizes)]
        collected = collected[3 + len(read.sizes) :]
        read.take_sizes(sizes)
        found = {STATUSES[s] if s is not None else "valid": n for s, n in statuses.iter_rows()}
        row = {"valid": found.get("valid", 0), "duplicate": found.get("duplicate", 0),
               "rejected": found.get("rejected", 0) + bad.height}  # fmt: skip
        counts[name] = {"read": sum(row.values()), **row}
        rejects += [rejects_table(bad), conflicts]
        files[name] = read.files
    ordered = pl.concat(rejects).sort("file", "line", maintain_order=True)
    skipped = {name: found for name, found in reader.skipped.items() if found}
    return Inspection(counts, reader.file_names(ordered), files, skipped)
