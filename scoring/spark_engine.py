"""The Spark engine: the same rule set and the same measuring code, run on a cluster.

Spark reads the inputs, numbers their lines and spreads the rows over the cluster
by the key the measures need together: the account for balances (its rows make
the balance-days), the transaction id for transactions (its rows make the
duplicates). Each partition is then validated and measured by the very polars
code the local engine runs (``validate`` and ``measures``, through
``mapInArrow``), so the engines share every rule rather than keeping two copies
that drift apart. Spark adds the per-customer partial sums up exactly
(DECIMAL(38,0)), and the run ends with ``finish.finish``, the step both engines
end with (values, ranks and scores on the executors: ``spark_finish``). Only
reading, line numbering, partitioning and this hand-over are Spark's own.

A local CSV file is read on the driver first by what the polars engine reads it
with (``csv_bytes.scan``, and ``transcode`` for a file that is not UTF-8): it is
hashed, and checked and shaped as the polars engine does, so that the same files
stop the run with the same message. What that finds and Spark's CSV reader does
not say (which rows have fewer or more fields than the header, the lines after a
newline inside quotes, the blank lines Spark skips) travels to the tasks
(``_Facts``), which mark the rows as the polars engine marks them. A URI or a
catalog table is Spark's alone to read: none of this is done for it (see
``_open_uri``).
"""

from __future__ import annotations

import os
import re
import sys
from bisect import bisect_right
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote

import polars as pl
import pyarrow as pa

from . import csv_bytes
from .coverage import Span, check_window, span_of_parts, usable_span, window_warnings, with_checks
from .csv_bytes import Shape
from .errors import ConfigError, InputError
from .finish import Context, Result, finish
from .fx import rates_checked
from .joint import JOINT, JT_ACCOUNTS, JT_ROWS, holders_by_unit
from .layout_measures import measure_layout
from .layouts import as_of as known_on
from .layouts import layout_of
from .measures import measure_in_steps
from .overdraft import OVERDRAWN, overdrawn_of, zeroes
from .parties import UNIT, check_job
from .pipeline import (
    Job,
    Observer,
    Stages,
    context_of,
    rated,
    require_customers,
    rows_counted,
    rows_in,
)
from .plan import Plan, compile_plan
from .points import NUMERATOR
from .row_status import (
    CODE,
    CODE_ROWS,
    CONFLICT_FILE,
    CONFLICT_LINE,
    CONFLICT_VALUE,
    STATUSES,
    count_column,
)
from .rules import load_rules
from .sources import (
    EXTRA_COL,
    FILE_COL,
    LINE_COL,
    SHORT_COL,
    TRANSACTIONS,
    Given,
    InputFile,
    Partitions,
    Reader,
    TableSpec,
    _format_of,
    _marks,
    balances_spec,
    canonical_columns,
    given_specs,
    is_uri,
    locate,
    sha256_of,
    suffix_delimiter,
)
from .spark_finish import OnCluster
from .spark_scoring import (
    KIND,
    arrow_for_spark,
    arrow_task,
    customer_values,
    spark_schema,
)
from .validate import DETAIL, balance_parsers, check, transaction_parsers
from .watch import FORWARD, rating_of

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

INSTALL_HINT = "the Spark engine needs pyspark: pip install 'tierscore[spark]'"
FOLD, BAD, SIZE = 0, 1, 2  # what a row of the measuring hand-over is (its KIND)
ROWS = "_rows"
_PATH, _BLOCK, _MONO = "_path", "_block", "_mono"
PARTITION_KEY = {"balances": "account_id", "transactions": "txn_id"}
# Spark 4 reads only these without its legacy switch to every Java charset
_SPARK_CHARSETS = {"utf-8", "utf-8-sig", "us-ascii", "iso-8859-1", "utf-16", "utf-32"}
Stamp = tuple[int, int, int, int]


def session(conf: dict[str, str] | None = None) -> SparkSession:
    """The session tierscore runs in: the one spark-submit started, a Spark Connect one
    when SPARK_REMOTE is set, otherwise a local one on every core."""
    try:
        from pyspark.sql import SparkSession
    except ImportError:
        raise ConfigError(INSTALL_HINT, key="--engine") from None
    conf = dict(conf or {})
    builder = SparkSession.builder.appName("tierscore")
    remote = os.environ.get("SPARK_REMOTE")
    if remote:
        if remote.startswith("local"):  # a Connect server on this machine: workers run here
            os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
        builder = builder.remote(remote)
    elif "PYSPARK_GATEWAY_PORT" not in os.environ:  # not under spark-submit
        os.environ.setdefault("PYSPARK_PYTHON", sys.executable)  # workers run this Python
        if "spark.master" not in conf:
            builder = builder.master("local[*]")
            # Spark's 200 shuffle partitions are a cluster's: on one machine every stage
            # after a shuffle ran 200 tiny tasks (the sample: 82 s of 120 under load).
            # AQE starts from this many instead; the measuring tasks' count is
            # ``_partitions``' choice, unchanged.
            initial = "spark.sql.adaptive.coalescePartitions.initialPartitionNum"
            conf.setdefault(initial, str(2 * (os.cpu_count() or 1)))
    conf.setdefault("spark.sql.session.timeZone", "UTC")  # dates as written, not shifted
    conf.setdefault("spark.ui.showConsoleProgress", "false")  # stderr is tierscore's
    conf.setdefault("spark.log.level", "ERROR")
    # a URI folder's key=value partitions are Spark's own: as text, as the local files'
    # are (``sources``), so that dt=20260101 or an id 007 is parsed, never inferred
    conf.setdefault("spark.sql.sources.partitionColumnTypeInference.enabled", "false")
    for key, value in conf.items():
        builder = builder.config(key, value)
    return builder.getOrCreate()


def run(
    job: Job,
    observer: Observer | None = None,
    spark: SparkSession | None = None,
    collect: bool = True,
) -> Result:
    """Score like ``pipeline.run`` with Spark doing the reading, measuring and scoring.

    ``collect=False`` leaves the scores on the cluster (``Result.cluster_scores``, for
    ``spark_publish`` to write); the driver then holds no row per customer.
    """
    stages = Stages(observer)
    plan = compile_plan(load_rules(job.rules), job.window)
    require_customers(plan, job.customers)  # before a Spark session is started
    check_job(plan, job)  # --parties and --score-by, as early
    spark = spark or session()
    with Reader(job.encoding, job.mapping, job.delimiter) as reader:
        with stages.stage("read", "finding and opening inputs on Spark") as done:
            plan = rated(plan, reader, job)
            balances = balances_spec(job.balance_layout)
            opened = {
                "balances": _open(spark, reader, balances, job.balances, job),
                "transactions": _open(spark, reader, TRANSACTIONS, job.transactions, job),
            }
            _layout_recorded(opened["balances"])
            done.append(", ".join(f"{len(o.files)} {n} file(s)" for n, o in opened.items()))
            for one in opened.values():
                one.date_format = job.date_format
            context = context_of(reader, plan, job)
            stages.rows(rows_counted({n: o.files for n, o in opened.items()}, context))
            skipped = stages.skipped(reader.skipped)
        with stages.stage("compute", "validate, measure and score on Spark") as done:
            result = _compute(plan, opened, context, collect)
            _unchanged(opened)
            result.rejects = reader.file_names(result.rejects)
            done.append(f"{result.summary['customers']:,} customers")
            stages.rows(rows_in(result.summary))
    result.timings, result.skipped = stages.timings, skipped
    result.date_format = job.date_format
    return result


def _compute(plan: Plan, opened: dict[str, _Opened], context: Context, collect: bool) -> Result:
    """Measure, then ``finish`` as the polars engine does, the customers kept on the
    executors (``spark_finish.OnCluster``)."""
    if context.units is not None and plan.joint:  # a person's numbers: one holder
        opened["balances"].holders = context.units.mapping.select("customer_id", UNIT)
    handed = {name: _measure(plan, name, o) for name, o in opened.items()}
    partitions = _partitions(opened["balances"])
    warnings: list[str] = []

    def met(counts: dict[str, dict[str, int]]) -> None:  # exit 2 if the window is not met
        check_window(plan, counts, lambda name: _span(plan, name, opened[name]))
        warnings.extend(window_warnings(plan, counts))

    def forward(values: DataFrame) -> tuple[DataFrame | None, DataFrame | None]:
        return _forward(plan, opened, partitions) if plan.ruleset.service else (None, None)

    finisher = OnCluster(
        {name: h.folds for name, h in handed.items()},
        partitions,
        forward,
        collect,
        let_go=[h.held for h in handed.values()],
    )
    bad = {name: h.bad for name, h in handed.items()}
    files = {name: h.files for name, h in handed.items()}
    result = finish(plan, finisher, bad, files, context, met)
    with_checks(result.summary, warnings, handed["balances"].overdrawn, handed["balances"].joint)
    return result


def _forward(
    plan: Plan, opened: dict[str, _Opened], partitions: int
) -> tuple[DataFrame, DataFrame]:
    """Each customer's numerator on the next rating day (``watch.FORWARD``), measured on
    the cluster by the run's own measuring, as the polars engine does it
    (``watch.forward_values``): balances dated up to the as-of date over the rating
    day's window, transactions over its days up to the as-of date. Also the persisted
    frame behind it, to let go of once the scores are computed."""
    from pyspark.sql import functions as F

    rating = rating_of(plan)
    handed = {}
    for name, one in opened.items():
        measured = rating.balances if name == "balances" else rating.transactions
        if measured is not None:
            until = plan.window.end if name == "balances" else None
            handed[name] = _measure(measured, name, one, until)
    folds = {n: h.folds for n, h in handed.items()}
    if rating.transactions is None:  # the window has not begun: no transaction counts yet
        ids = [c.id for c in rating.balances.of_source("transactions")]
        zero = [F.lit(0).cast("decimal(38,0)").alias(c) for c in ids]
        folds["balances"] = folds["balances"].select("*", *zero)
    rows, _, held = customer_values(rating.balances, folds, partitions)
    for h in handed.values():
        h.held.unpersist()
    return rows.select("customer_id", F.col(NUMERATOR).alias(FORWARD)), held


@dataclass
class _Opened:
    """One input on Spark: canonical columns plus file id and line, and its files."""

    frame: DataFrame
    files: list[InputFile]
    ids: list[int]  # each file's id in the run's list of file names
    typed: bool
    size: int = 0  # bytes of local files (0: unknown, e.g. a URI or a table)
    facts: dict[int, _Facts] = field(default_factory=dict)  # local CSV files', by id
    stamps: dict[Path, Stamp | None] = field(default_factory=dict)  # local files as opened
    date_format: str | None = None  # text dates' one format (``Job.date_format``)
    holders: pl.DataFrame | None = None  # balances by unit: (customer_id, unit), ``joint``


@dataclass(frozen=True)
class _Facts:
    """What the driver found in a local CSV file's bytes that Spark's reader does not say,
    for the tasks to mark its rows as the polars engine marks them (``placed``).

    ``shape`` is ``csv_bytes.Shape``: by record, the field count and the newlines inside
    quotes before it. ``blank`` are the records Spark skips and polars reads (a blank
    line: a row of one field, rejected as "1 of N"), as (record, line, text); the driver
    makes their rows (``_with_blank_rows``), and a row Spark read is the record after as
    many of them as come before it.
    """

    shape: Shape
    blank: tuple[tuple[int, int, str], ...] = ()
    source: Path | None = None  # what Spark reads: the file, or its decompressed copy

    @property
    def multiline(self) -> bool:
        """Some record holds a newline inside quotes: Spark must read the file whole."""
        return any(self.shape.shifts)

    @property
    def simple(self) -> bool:
        """Every row Spark reads is the record of its place, with the header's fields."""
        return self.shape.plain and not self.blank

    def placed(self, part: pl.DataFrame) -> pl.DataFrame:
        """The file's rows in a task, with polars' line and marks: ``LINE_COL`` holds
        Spark's place + 2 (``_csv_lines``), except in the rows made for blank lines."""
        made = pl.col(SHORT_COL).is_not_null()
        index = pl.col(LINE_COL) - 2
        if self.blank:
            before = [record - i for i, (record, _, _) in enumerate(self.blank)]
            index = index + pl.lit(pl.Series(before, dtype=pl.Int64)).search_sorted(
                index, side="right"
            )
        read = part.filter(~made).with_columns(index.alias(LINE_COL))
        if not self.shape.odd:  # then polars has no such column: nothing is beyond
            read = read.with_columns(pl.lit(None, pl.String).alias(EXTRA_COL))
        return pl.concat([read.with_columns(_marks(self.shape)), part.filter(made)])


def _one_layout(frames: list[DataFrame]) -> None:
    """Balances read in several groups of files must share one layout (``layouts``)."""
    found = sorted({layout_of(frame.columns) for frame in frames})
    if len(found) > 1:
        raise InputError(
            f"balances in the {' and '.join(found)} layouts: one input holds one layout",
            key="--balances",
        )


def _layout_recorded(opened: _Opened) -> None:
    """Each balances file's layout, for the manifest (as ``pipeline`` records it)."""
    layout = layout_of(opened.frame.columns)
    for info in opened.files:
        info.layout = layout


def _open(spark: SparkSession, reader: Reader, spec: TableSpec, given: Given, job: Job) -> _Opened:
    """One input: a catalog table, URIs Spark reads (``hdfs://``, ``s3a://``, …), or
    local files, folders, globs and stdin found as the polars engine finds them
    (``Reader.local_path``, each CSV file checked on the driver first, ``_scan_csv``),
    numbered in that order. Files of other partition values are read apart, each
    read given its folders' values (``_read``)."""
    table = (job.tables or {}).get(spec.name)
    if table:
        return _open_table(spark, reader, spec, table)
    specs, option = given_specs(given), f"--{spec.name}"
    if any(is_uri(one) for one in specs):
        return _open_uris(spark, reader, spec, specs, job)
    listing = locate(specs, option)
    reader.skipped[spec.name] = listing.skipped
    groups: dict[tuple[object, Partitions], list[tuple[Path, int]]] = {}
    opened = _Opened(None, [], [], typed=False)  # type: ignore[arg-type]
    for one in listing.files:
        path, number = reader.local_path(one, option), len(reader.names)
        opened.stamps[path] = _stamp(path)
        if path.suffix.lower() in (".parquet", ".pq"):
            info = InputFile(one.shown, "parquet", None, sha256_of(path))
            key: object = ("parquet", "", "", False)
        else:
            info, facts = _scan_csv(path, reader, spec, one.shown)
            info.sha256 = reader.stdin_sha256 if one.path is None else info.sha256
            opened.facts[number] = facts
            encoding = info.encoding or "utf-8"
            key = ("csv", encoding, _first_line(facts, encoding), facts.multiline)
        reader.names.append(one.shown)
        opened.files.append(info)
        opened.ids.append(number)
        groups.setdefault((key, one.partitions), []).append((path, number))
    opened.typed = all(info.format == "parquet" for info in opened.files)
    frames = [
        _read_local(spark, spec, key, group, reader, opened, dict(parts))  # type: ignore[arg-type]
        for (key, parts), group in groups.items()
    ]
    if spec.name == "balances":  # a union of two layouts' columns would fail unexplained
        _one_layout(frames)
    opened.frame = frames[0]
    for frame in frames[1:]:  # Parquet has no CSV marks (``_extra``, ``_short``): null
        opened.frame = opened.frame.unionByName(frame, allowMissingColumns=True)
    opened.size = sum(path.stat().st_size for path in opened.stamps)
    return opened


def _scan_csv(
    path: Path, reader: Reader, spec: TableSpec, shown: str | None = None
) -> tuple[InputFile, _Facts]:
    """Hash, check and shape a local CSV file by the polars engine's own code, so that
    the same files stop the run with the same messages (NUL bytes, UTF-16, broken
    quoting, …); a file that is not UTF-8 is decoded whole as there (a byte the encoding
    lacks, or UTF-8 lines in a GB file, stop the run), into nothing: Spark reads the
    file itself. A compressed file is decompressed on the driver as there, and Spark
    reads that copy (zstd needs no native Hadoop library then); its delimiter is the
    one the polars engine finds (``Reader.text_source``). ``shown``: its name (stdin's
    copy: -)."""
    shown = shown or str(path)
    info = InputFile(shown, "csv")
    source = reader.text_source(spec, path, shown, info)
    delimiter = info.delimiter or ","
    scanned = csv_bytes.scan(source, shown, reader.codec, True, delimiter)  # (_same_records)
    if scanned.encoding != "utf-8":
        forced = reader.codec is not None
        csv_bytes.transcode(source, shown, scanned, Path(os.devnull), forced)
    info.encoding = reader.encoding or scanned.encoding
    info.sha256 = info.sha256 or scanned.sha256  # (a compressed file's: already taken)
    shape = scanned.shape
    info.records = shape.records
    if delimiter == "\t" and not any(shape.shifts):
        _no_tabs_only_line(source, shown)
    blank = _blank_records(source, shape, any(shape.shifts))
    return info, _Facts(shape, blank, source)


# A data line of tabs and blanks (after a newline: not the header), in a tab-delimited
# file a record of several fields, which Spark's reader (cut at "\n") skips as blank
# (Java's trim) and polars reads as a row. Led by "\n" it is searched at C speed.
_TABS_ONLY = re.compile(rb"\n[\x00-\x09\x0b-\x20]*\t[\x00-\x09\x0b-\x20]*(?:\n|\Z)")


def _no_tabs_only_line(source: Path, shown: str) -> None:
    """Stop on the first line of only tabs and blanks (``_TABS_ONLY``): Spark would drop
    its row where the polars engine rejects it, and the run would count other rows
    (a one-field blank line is made up for instead, ``_blank_records``)."""
    newlines, carry = 0, b""  # carry: from the newline before the unfinished line on
    with source.open("rb") as fh:
        while True:
            chunk = fh.read(csv_bytes.CHUNK)
            buf = carry + chunk
            end = len(buf) if not chunk else buf.rfind(b"\n") + 1
            found = _TABS_ONLY.search(buf, 0, end)
            if found is not None:
                line = newlines + buf.count(b"\n", 0, found.start() + 1) + 1
                raise InputError(
                    f"line {line} holds only tabs and blanks: Spark's CSV reader skips "
                    "such a line, where the polars engine reads (and rejects) its row; "
                    "remove the line, or score with --engine polars",
                    file=shown,
                )
            if not chunk:
                return
            if end > 0:
                newlines += buf.count(b"\n", 0, end - 1)
                carry = buf[end - 1 :]
            else:
                carry = buf


# The lines Spark's CSV reader skips: cut at "\n", a line with no character above " "
# (Java's trim); read whole (multiLine), only an empty line.
_SKIPPED_LINE = re.compile(rb"(?m)^[\x00-\x09\x0b-\x20]*\n")
_SKIPPED_WHOLE = re.compile(rb"(?m)^\n")


def _blank_records(path: Path, shape: Shape, multiline: bool) -> tuple[tuple[int, int, str], ...]:
    """(record, line, text) of the records Spark skips (see ``_Facts``). A blank line is
    a record of one field: only a file with such records is read again, and only its
    blank lines (found at C speed) are looked at in Python."""
    ranges = _one_field_lines(shape)
    if not ranges:
        return ()
    pattern = _SKIPPED_WHOLE if multiline else _SKIPPED_LINE
    firsts = [first for first, _, _ in ranges]
    found, newlines, carry = [], 0, b""
    with path.open("rb") as fh:
        while True:
            chunk = fh.read(csv_bytes.CHUNK)
            buf = carry + chunk
            if not chunk and buf and not buf.endswith(b"\n"):
                buf += b"\n"  # an unterminated last line is a record too
            end = len(buf) if not chunk else buf.rfind(b"\n") + 1
            at = 0
            for match in pattern.finditer(buf, 0, end):
                newlines += buf.count(b"\n", at, match.start())
                at, line = match.start(), newlines + 1
                place = bisect_right(firsts, line) - 1
                if place >= 0 and line < ranges[place][1]:
                    text = match.group()[:-1].removesuffix(b"\r").decode("ascii")
                    found.append((line - 2 - ranges[place][2], line, text))
            newlines += buf.count(b"\n", at, end)
            carry = buf[end:]
            if not chunk:
                return tuple(found)


def _one_field_lines(shape: Shape) -> list[tuple[int, int, int]]:
    """(first line, line after, shift) of each run of records with one field: a record
    is one line there, at its index + 2 + shift (``csv_bytes.Shape``)."""
    if shape.records is None:
        return []
    ends = [*shape.starts[1:], shape.records]
    runs = zip(shape.starts, ends, shape.counts, shape.shifts, strict=True)
    return [(s + 2 + h, e + 2 + h, h) for s, e, count, h in runs if count == 1 and e > s]


def _read_local(
    spark: SparkSession,
    spec: TableSpec,
    key: tuple[str, str, str, bool],
    group: list[tuple[Path, int]],
    reader: Reader,
    opened: _Opened,
    parts: dict[str, str | None] | None = None,
) -> DataFrame:
    """Local files of one format, encoding, delimiter, first line and mode, read by Spark
    in one go (a compressed file: its decompressed copy, ``_Facts.source``); ``parts``:
    the partition values of their folders (``sources.Located``), the same for all."""
    fmt, encoding, _, multiline = key
    read = {number: _read_path(path, opened.facts.get(number)) for path, number in group}
    names = [str(read[number]) for _, number in group]
    header = None
    options = {}
    if fmt == "csv":
        delimiter = opened.facts[group[0][1]].shape.delimiter  # (one key: one delimiter)
        options = _csv_options(spark, encoding, True, multiline, delimiter)
        header = _csv_header(spark, names, options)
        for path, number in group:
            fields = opened.facts[number].shape.header_fields
            if fields != len(header):
                raise InputError(
                    f"the header has {fields} fields but Spark reads {len(header)}", file=str(path)
                )
    frame = _read(spark, spec, names, fmt, options, reader.mapping, opened.typed, header, parts)
    spark_name = {unquote(_normal(f)): _normal(f) for f in frame.inputFiles()}
    ids = {spark_name.get(str(p), str(p)): number for number, p in read.items()}
    frame = _with_file_ids(frame, ids)
    if header is None:
        return frame
    blank = {number: opened.facts[number] for _, number in group}
    first, filled = _first_column(spec, header, reader.mapping, parts or {})
    return _with_blank_rows(spark, frame, first, blank, filled)


def _read_path(path: Path, facts: _Facts | None) -> Path:
    """The absolute path Spark reads for a local file: a CSV file's source (the file, or
    its decompressed copy), a Parquet file itself."""
    source = facts.source if facts is not None and facts.source is not None else path
    return source.resolve()


def _first_column(
    spec: TableSpec,
    header: list[str],
    mapping: dict[str, dict[str, str]],
    parts: dict[str, str | None],
) -> tuple[str, dict[str, str | None]]:
    """The canonical name the file's first column is read as ("" if it is not read), and
    the columns its folders fill (``_read``), with their values."""
    own = {name.strip() for name in header}
    added = {key: value for key, value in parts.items() if key not in own}
    read = canonical_columns(spec, [*header, *added], mapping, "", [*added])
    filled = {canon: added[found] for found, canon in read if found in added}
    return next((canon for found, canon in read if found == header[0]), ""), filled


def _with_blank_rows(
    spark: SparkSession,
    frame: DataFrame,
    first: str,
    facts: dict[int, _Facts],
    filled: dict[str, str | None] | None = None,
) -> DataFrame:
    """The rows polars reads from blank lines Spark skips: the line (less a "\\r") as the
    first field, no other field but those the folders fill (``filled``), "1 of N"
    fields, at the line's number."""
    rows = []
    for number, fact in facts.items():
        for _, line, text in fact.blank:
            row: dict[str, Any] = dict.fromkeys(frame.columns) | (filled or {})
            row |= {SHORT_COL: f"1 of {fact.shape.fields}", FILE_COL: number, LINE_COL: line}
            if first:
                row[first] = text or None
            rows.append(tuple(row.values()))
    if not rows:
        return frame
    return frame.unionByName(spark.createDataFrame(rows, frame.schema))


def _open_uri(
    spark: SparkSession, reader: Reader, spec: TableSpec, given: str, job: Job
) -> _Opened:
    """A file or folder on any filesystem Spark reads. Its files are listed by Spark, so
    there is no encoding detection (``--encoding``, default UTF-8), no delimiter sniffing
    (``--delimiter``, default a comma; .tsv a tab) and no checksum; a URI of a text
    suffix (``sources.CSV_SUFFIXES``, compressed too: Spark's own codecs decompress it)
    is CSV, anything else Parquet.

    Its bytes are Spark's alone: none of the checks of a local file (``_scan_csv``) is
    made. A row with more fields than the header is still rejected (Spark's reader
    gives the field beyond), but one with fewer reads as empty cells, a newline inside
    quotes splits a row, and a file of other bytes reads as Spark decodes them.
    """
    fmt = "csv" if _format_of(Path(given)) == "csv" else "parquet"
    encoding = (job.encoding or "utf-8") if fmt == "csv" else ""
    delimiter = (reader.delimiter or suffix_delimiter(Path(given)) or ",") if fmt == "csv" else ""
    options = _csv_options(spark, encoding, False, False, delimiter) if fmt == "csv" else {}
    frame = _read(spark, spec, [given], fmt, options, reader.mapping, fmt == "parquet")
    ids, files, numbers = {}, [], []
    for found in sorted(frame.inputFiles()):
        ids[_normal(found)] = len(reader.names)
        numbers.append(len(reader.names))
        reader.names.append(found)
        files.append(InputFile(found, fmt, encoding or None, delimiter=delimiter or None))
    return _Opened(_with_file_ids(frame, ids), files, numbers, fmt == "parquet")


def _open_uris(
    spark: SparkSession, reader: Reader, spec: TableSpec, specs: tuple[str, ...], job: Job
) -> _Opened:
    """URIs of one input, each read by ``_open_uri``: of one kind (a format and a
    delimiter: their rows are read with one schema), none twice, and no local file
    beside them (whose checks a URI's rows would not have had)."""
    option = f"--{spec.name}"
    if not all(is_uri(one) for one in specs):
        raise ConfigError("give URIs or local files, not both", key=option)
    if len({one.rstrip("/") for one in specs}) < len(specs):
        raise InputError("the same URI is given twice", key=option)
    if len({(_format_of(Path(one)), suffix_delimiter(Path(one))) for one in specs}) > 1:
        raise ConfigError("URIs of other formats or delimiters: give one kind", key=option)
    opened = [_open_uri(spark, reader, spec, one, job) for one in specs]
    for other in opened[1:]:
        opened[0].frame = opened[0].frame.unionByName(other.frame)
        opened[0].files += other.files
        opened[0].ids += other.ids
    return opened[0]


def _open_table(spark: SparkSession, reader: Reader, spec: TableSpec, table: str) -> _Opened:
    """A catalog table (Hive, Unity, a temporary view): typed columns, no line numbers
    (a rejected row is named by the table and its cells)."""
    from pyspark.sql import functions as F

    raw = spark.table(table)
    select = []
    for header, canon in canonical_columns(spec, raw.columns, reader.mapping, table):
        select.append(raw[header].alias(canon) if header is not None else F.lit(None).alias(canon))
    number = len(reader.names)
    reader.names.append(f"table {table}")
    frame = raw.select(
        *select, F.lit(number).alias(FILE_COL), F.lit(None).cast("long").alias(LINE_COL)
    )
    return _Opened(frame, [InputFile(f"table {table}", "table")], [number], True)


def _normal(path: str) -> str:
    """A file name as Spark reports it, without the ``file:`` scheme (Spark writes both
    ``file:/x`` and ``file:///x``)."""
    return re.sub(r"^file:(//)?", "", path)


def _first_line(facts: _Facts, encoding: str) -> str:
    """What files read by one Spark scan share: their delimiter and first line (as Spark
    reads it: of the decompressed copy)."""
    assert facts.source is not None
    with facts.source.open(encoding=encoding, errors="replace", newline="") as fh:
        return f"{facts.shape.delimiter}\n{fh.readline()}"


def _stamp(path: Path) -> Stamp | None:
    """Size, modification time (ns), inode and device, as ``sources`` takes them: a file
    Spark reads after the driver checked it must be the file checked."""
    try:
        st = path.stat()
    except OSError:
        return None
    return (st.st_size, st.st_mtime_ns, st.st_ino, st.st_dev)


def _unchanged(opened: dict[str, _Opened]) -> None:
    """Every local file is as it was when opened, or the checks, the checksums and the
    lines and marks found on the driver may not be of the rows Spark read."""
    for one in opened.values():
        for path, stamp in one.stamps.items():
            if _stamp(path) != stamp:
                raise InputError(csv_bytes.CHANGED, file=str(path))


def _csv_options(
    spark: SparkSession, encoding: str, local: bool, whole: bool, delimiter: str = ","
) -> dict[str, Any]:
    """Spark's CSV reader set to read as polars does: cut by ``delimiter`` (``sep``), a
    doubled quote inside quotes is one quote (Spark's own escape is a backslash). A
    local file, checked on the driver, is
    cut only at "\\n" as there (Spark would also cut at a lone "\\r"; the "\\r" of
    "\\r\\n" is then taken off the last field, ``_without_cr``), and read whole (one task
    a file) only when a newline inside quotes needs it (``whole``)."""
    if encoding.lower().replace("_", "-") not in _SPARK_CHARSETS:  # GB18030, GBK
        spark.conf.set("spark.sql.legacy.javaCharsets", "true")
    options: dict[str, Any] = {
        "header": True,
        "inferSchema": False,
        "encoding": encoding,
        "escape": '"',
        "sep": delimiter,
    }
    if local:
        options |= {"lineSep": "\n", "multiLine": whole}
    return options


def _csv_header(spark: SparkSession, names: list[str], options: dict[str, Any]) -> list[str]:
    header = spark.read.options(**options).csv(names).columns
    return [name.removesuffix("\r") for name in header]


def _without_cr(column: Any) -> Any:
    """A field less a "\\r" it ends with: the line's last one, read cut at "\\n"."""
    from pyspark.sql import functions as F

    return F.regexp_replace(column, "\\r\\z", "")


def _read(
    spark: SparkSession,
    spec: TableSpec,
    names: list[str],
    fmt: str,
    options: dict[str, Any],
    mapping: dict[str, dict[str, str]],
    typed: bool,
    header: list[str] | None = None,
    parts: dict[str, str | None] | None = None,
) -> DataFrame:
    """Files as canonical columns (``parts``: partition values their folders give, as
    text, to a column they lack, as the polars engine gives them: ``Reader._canonical``)."""
    from pyspark.sql import functions as F

    cut_at_newline = options.get("lineSep") == "\n"
    if fmt == "parquet":
        raw = spark.read.parquet(*names)
        line = F.col("_metadata.row_index")
    else:
        header = header or _csv_header(spark, names, options)
        # by position, as the polars engine reads CSV: one column more than the header
        # catches a row with too many fields (see sources._scan_csv)
        schema = ", ".join(f"`{c}` string" for c in [*header, EXTRA_COL])
        raw = spark.read.schema(schema).options(**options, enforceSchema=True).csv(names)
    select = []
    if fmt == "csv":
        extra = raw[EXTRA_COL]
        select.append((_without_cr(extra) if cut_at_newline else extra).alias(EXTRA_COL))
    found = [c for c in raw.columns if c != EXTRA_COL]
    own = {c.strip() for c in found}
    added = {k: v for k, v in (parts or {}).items() if k not in own}
    read = canonical_columns(spec, [*found, *added], mapping, names[0], [*added])
    for header_name, canon in read:
        if header_name in added:
            column = F.lit(added[header_name]).cast("string")
        elif header_name is None:
            column = F.lit(None).cast("string")
        else:
            column = _without_cr(raw[header_name]) if cut_at_newline else raw[header_name]
        select.append(column.cast("string").alias(canon) if not typed else column.alias(canon))
    path = F.col("_metadata.file_path").alias(_PATH)
    if fmt == "parquet":
        return raw.select(*select, path, line.alias(LINE_COL))
    select.append(F.lit(None).cast("string").alias(SHORT_COL))
    block = F.col("_metadata.file_block_start").alias(_BLOCK)
    numbered = raw.select(*select, path, block, F.monotonically_increasing_id().alias(_MONO))
    return _csv_lines(spark, numbered)


def _csv_lines(spark: SparkSession, frame: DataFrame) -> DataFrame:
    """Physical line numbers (header = 1) for CSV rows read in splits.

    Within a split rows keep file order and ``monotonically_increasing_id`` grows
    by one per row, so a row's line is the rows of the file's earlier splits, plus
    its place in its own split, plus 2. Only the split table reaches the driver.
    """
    from pyspark.sql import functions as F

    splits = frame.groupBy(_PATH, _BLOCK).agg(F.count("*").alias("n"), F.min(_MONO).alias("m"))
    rows, seen = [], {}
    for path, block, n, first in sorted(splits.collect(), key=lambda r: (r[0], r[1])):
        before = seen.get(path, 0)
        rows.append((path, block, first, before + 2))
        seen[path] = before + n
    schema = f"{_PATH} string, {_BLOCK} long, _first long, _base long"
    offsets = spark.createDataFrame(rows, schema)
    line = (F.col("_base") + F.col(_MONO) - F.col("_first")).alias(LINE_COL)
    joined = frame.join(F.broadcast(offsets), [_PATH, _BLOCK])
    return joined.select(*[c for c in frame.columns if c not in (_BLOCK, _MONO)], line)


def _with_file_ids(frame: DataFrame, ids: dict[str, int]) -> DataFrame:
    """Replace the file's URI by its id in the run's list of files (see Reader.names)."""
    from pyspark.sql import functions as F

    decoded = F.regexp_replace(F.col(_PATH), "^file:(//)?", "")  # see _normal
    file_id = F.lit(None).cast("int")
    for uri, number in ids.items():
        file_id = F.when(decoded == uri, F.lit(number)).otherwise(file_id)
    return frame.withColumn(FILE_COL, file_id).drop(_PATH)


@dataclass
class _Handed:
    """One input measured on the cluster: its fold rows stay there (``folds``, backed by
    the persisted ``held``); its bad rows and files' row counts reach the driver."""

    folds: DataFrame
    bad: pl.DataFrame
    files: list[InputFile]
    held: DataFrame
    overdrawn: dict[str, int] | None = None  # ``overdraft.overdrawn_of`` of the folds
    joint: dict[str, int] | None = None  # ``joint.joint_of`` of the folds


def _measure(plan: Plan, name: str, opened: _Opened, until: date | None = None) -> _Handed:
    """Measure one input on the cluster by the key its rows must be seen together by."""
    from pyspark import StorageLevel
    from pyspark.sql import functions as F

    ids = [c.id for c in plan.of_source(name)]
    key = validated_key(F.col(PARTITION_KEY[name]), opened.typed)
    handed = opened.frame.repartition(_partitions(opened), key).mapInArrow(
        _partition_measure(
            plan, name, opened.typed, opened.facts, until, opened.date_format, opened.holders
        ),
        _handover_schema(ids),
    )
    handed = handed.persist(StorageLevel.MEMORY_AND_DISK)
    bad = handed.where(F.col(KIND) == BAD).select(FILE_COL, LINE_COL, DETAIL)
    sizes = handed.where(F.col(KIND) == SIZE).groupBy(FILE_COL).agg(F.sum(ROWS).alias(ROWS))
    rejected, counted = _to_polars(bad), _to_polars(sizes)
    rows = dict(counted.iter_rows())
    for number, info in zip(opened.ids, opened.files, strict=True):
        info.rows = int(rows.get(number, 0) or 0)
        _same_records(info)
    folds = handed.where(F.col(KIND) == FOLD).drop(KIND, FILE_COL, LINE_COL, DETAIL, ROWS)
    overdrawn = None
    if name == "balances" and zeroes(plan):  # summed on the cluster, a row to the driver
        overdrawn = overdrawn_of(_to_polars(folds.agg(*(F.sum(c).alias(c) for c in OVERDRAWN))))
    joint = None
    if name == "balances" and plan.joint:  # the accounts summed, the holders counted there
        accounts = folds.agg(F.sum(JT_ACCOUNTS)).collect()[0][0] or 0
        holders = folds.groupBy("customer_id").agg(F.sum(JT_ROWS).alias(JT_ROWS))
        counted = holders.where(F.col(JT_ROWS) > 0).count() if accounts else 0
        joint = {"accounts": int(accounts), "holders": counted} if accounts else None
    bad_rows = rejected.with_columns(pl.col(FILE_COL).cast(pl.UInt16))
    folds = folds.drop(*OVERDRAWN, *JOINT)
    return _Handed(folds, bad_rows, opened.files, handed, overdrawn, joint)


def validated_key(key: Any, typed: bool) -> Any:
    """A key column as validation makes it, for partitioning: rows of one account or id
    must meet in one task. A typed file's value is taken as it is; text is trimmed of
    what polars' ``strip_chars`` trims (Unicode white space: a tab, an ideographic
    space), not only the spaces of Spark's ``trim``, which would send ``A1`` and
    ``"\u3000A1"`` (one account once validated) to different tasks."""
    from pyspark.sql import functions as F

    return key if typed else F.regexp_replace(key, r"(?U)^\s+|\s+\z", "")


def _same_records(info: InputFile) -> None:
    """A local CSV file must have as many rows on Spark as the driver counted records in
    its bytes (as in ``pipeline``), else Spark cut its records otherwise and the lines
    and marks found there are not those of Spark's rows."""
    if info.records is not None and info.rows != info.records:
        raise InputError(
            f"{info.records:,} records in the file but {info.rows:,} rows read: "
            "its quoting is not read the same way by all",
            file=info.path,
        )


def _partitions(opened: _Opened) -> int:
    """How many tasks measure an input: a task costs a Python worker and a polars
    start, so about 64 MB of input a task and at least one a core, unless the operator
    set ``spark.sql.shuffle.partitions`` (or the size is unknown: then Spark's own)."""
    spark = opened.frame.sparkSession
    chosen = int(spark.conf.get("spark.sql.shuffle.partitions", "200") or 200)
    if chosen != 200 or not opened.size:
        return chosen
    cores = int(spark.conf.get("spark.default.parallelism", "0") or 0) or _cores(spark)
    return max(cores, -(-opened.size // (64 << 20)))


def _cores(spark: SparkSession) -> int:
    try:
        return int(spark.sparkContext.defaultParallelism)
    except Exception:  # Spark Connect has no SparkContext on the client
        return 200


def _to_polars(frame: DataFrame) -> pl.DataFrame:
    return pl.from_arrow(frame.toArrow())  # type: ignore[return-value]


def _handover_types(ids: list[str]) -> dict[str, Any]:
    """The one declaration of the hand-over's columns: polars types for the tasks,
    and (through ``spark_scoring.spark_schema``) the schema Spark is told."""
    return {
        KIND: pl.Int8,
        "customer_id": pl.String,
        CODE: pl.String,
        CODE_ROWS: pl.Int64,
        CONFLICT_FILE: pl.Int32,
        CONFLICT_LINE: pl.Int64,
        **{c: pl.Decimal(38, 0) for c in ids},
        **{count_column(s): pl.Int64 for s in range(len(STATUSES))},
        CONFLICT_VALUE: pl.String,
        FILE_COL: pl.Int32,
        LINE_COL: pl.Int64,
        DETAIL: pl.String,
        ROWS: pl.Int64,
        **{c: pl.Int64 for c in OVERDRAWN},  # ``overdraft``: "zero" rule sets' balances
        **{c: pl.Int64 for c in JOINT},  # ``joint``: rule sets that count joint accounts
    }


def _handover_schema(ids: list[str]) -> str:
    """The hand-over's schema as Spark is told it, by the one polars-to-Spark type map
    (``spark_scoring.spark_schema``)."""
    return spark_schema(_handover_types(ids))


def _partition_measure(
    plan: Plan,
    name: str,
    typed: bool,
    facts: dict[int, _Facts],
    until: date | None = None,
    date_format: str | None = None,
    holders: pl.DataFrame | None = None,
) -> Callable[[Iterator[pa.RecordBatch]], Iterator[pa.RecordBatch]]:
    """The function each Spark task runs: the polars engine's validate and measure."""
    return arrow_task(
        lambda frame: measure_partition(
            plan, name, typed, frame, facts, until, date_format, holders
        )
    )


def measure_partition(
    plan: Plan,
    name: str,
    typed: bool,
    frame: pl.DataFrame,
    facts: dict[int, _Facts] | None = None,
    until: date | None = None,
    date_format: str | None = None,
    holders: pl.DataFrame | None = None,
) -> pa.Table:
    """One partition's folds, bad rows and per-file row counts, in the hand-over schema.

    Every row of an account (or transaction id) is in this partition, so marking
    duplicates and following an account's balances works here as on one machine,
    by the very function the polars engine measures with (``measure_in_steps``).
    Rows of local CSV files first get polars' lines and marks (``_placed``).
    ``until``: only the rows dated up to it are measured (``watch``'s balances).
    ``holders``: scoring by unit, the units of joint accounts' holders, as the polars
    engine joins them (``joint.holders_by_unit``), shipped with the task.
    """
    lf, checked = _checked_partition(plan, name, typed, frame, facts, date_format)
    if holders is not None:
        checked = holders_by_unit(checked, holders)
    if until is not None:
        checked = known_on(checked, until)
    if name == "balances" and layout_of(checked.collect_schema().names()) != "changes":
        folded, bad = measure_layout(plan, checked, wide=True)
    else:  # finds repeats; typed rows in memory are cheap to check twice, text is not
        folded, bad = measure_in_steps(plan, name, checked, None, wide=True, reread=typed)
    sizes = lf.group_by(FILE_COL).agg(pl.len().alias(ROWS)).collect()
    ids = [c.id for c in plan.of_source(name)]
    return _handover([folded, bad, sizes], ids)


def _checked_partition(
    plan: Plan,
    name: str,
    typed: bool,
    frame: pl.DataFrame,
    facts: dict[int, _Facts] | None,
    date_format: str | None,
) -> tuple[pl.LazyFrame, pl.LazyFrame]:
    """A partition's rows as read (lines and marks placed) and validated, by the polars
    engine's parsers (``pipeline.read_inputs``)."""
    frame = _placed(frame, facts or {})
    lf = frame.lazy().with_columns(
        pl.col(FILE_COL).cast(pl.UInt16), pl.col(LINE_COL).cast(pl.Int64)
    )
    if name == "balances":  # every layout's: those of the columns read
        found = set(frame.columns)
        parsers = {c: p for c, p in balance_parsers(plan, date_format).items() if c in found}
    else:
        parsers = transaction_parsers(date_format)
    return lf, rates_checked(plan, name, check(lf, parsers, typed=typed))


def _span(plan: Plan, name: str, opened: _Opened) -> Span | None:
    """``coverage.usable_span`` of an input, each partition's on the cluster (asked only
    on the way to stopping the run: the rows are validated again)."""
    typed, facts, date_format = opened.typed, opened.facts, opened.date_format  # not the frame

    def task(frame: pl.DataFrame) -> pa.Table:
        checked = _checked_partition(plan, name, typed, frame, facts, date_format)[1]
        return usable_span(plan, name, checked).collect().to_arrow()

    parts = opened.frame.mapInArrow(arrow_task(task), "first date, last date")
    return span_of_parts(_to_polars(parts))


def _placed(frame: pl.DataFrame, facts: dict[int, _Facts]) -> pl.DataFrame:
    """Rows of local CSV files with the line and marks polars gives them (``_Facts``):
    where a file is plain, only nothing beyond the header (a row ending in a comma, or
    in "\r" once that is taken off, left an empty field there); else by file."""
    if not facts or EXTRA_COL not in frame.columns or frame.is_empty():
        return frame
    plain = [number for number, fact in facts.items() if fact.simple]
    beyond = pl.when(~pl.col(FILE_COL).is_in(plain)).then(pl.col(EXTRA_COL))
    frame = frame.with_columns(beyond.alias(EXTRA_COL))
    odd = {number: fact for number, fact in facts.items() if not fact.simple}
    if not odd:
        return frame
    parts = []
    for (number,), part in frame.partition_by(FILE_COL, as_dict=True).items():
        parts.append(odd[number].placed(part) if number in odd else part)
    return pl.concat(parts)


def _handover(parts: list[pl.DataFrame], ids: list[str]) -> pa.Table:
    folded, bad, sizes = parts
    frames = [
        folded.with_columns(pl.lit(FOLD, pl.Int8).alias(KIND)),
        bad.with_columns(pl.lit(BAD, pl.Int8).alias(KIND)),
        sizes.with_columns(pl.lit(SIZE, pl.Int8).alias(KIND)),
    ]
    return arrow_for_spark(frames, _handover_types(ids))
