"""Scoring on the cluster: the customers stay on the executors.

After measuring, Spark brings every fold row of a customer (from both inputs'
measuring tasks) into one partition, and each partition runs the polars engine's
own code in three passes (``mapInArrow``):

1. ``pipeline.scorable`` and the numerator: one row per customer, plus the
   partition's row counts, unmapped codes and conflict rejects;
2. ``ranked.ranked_part`` over ranges of numerators (Spark's range partitioning,
   highest first): rank-tier bounds and the concentration;
3. ``summary.score_part`` and ``summary.summary_parts``: the published rows, and
   the partition's summary parts.

Only small parts reach the driver, which concatenates them and finishes with
``summary.summary_of``, the function the polars engine finishes with. A task
returns its rows and its parts in one Arrow stream: a part travels as one row
holding the part's Arrow IPC bytes.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

import polars as pl
import pyarrow as pa

from .finish import KEYS, Context, conflicts_part, count_part, scorable, unmapped_part
from .pipeline import INPUTS
from .plan import Plan, money_names
from .points import NUMERATOR, PREVIOUS, value_types, with_numerator
from .ranked import Ranked, positions, ranked_part
from .row_status import (
    CODE,
    CODE_ROWS,
    CONFLICT_FILE,
    CONFLICT_LINE,
    CONFLICT_VALUE,
    STATUSES,
    count_column,
)
from .service import OV_TIER, OVERRIDE_COLUMNS, PREVIOUS_COLUMNS
from .summary import Scored, Scoring, no_customers, score_part, summary_parts
from .watch import FORWARD

if TYPE_CHECKING:
    from pyspark.sql import DataFrame

KIND, NAME, PAYLOAD = "_kind", "_name", "_payload"
ROW, PART = 0, 1
INPUT = "_input"  # which input a fold row comes from (its index in INPUTS)
RANGE = "_range"  # the range partition a numerator is in
Task = Callable[[pl.DataFrame], tuple[pl.DataFrame, dict[str, pl.DataFrame]]]


def customer_values(
    plan: Plan, folds: dict[str, DataFrame], partitions: int, money: pl.DataFrame | None = None
) -> tuple[DataFrame, dict[str, pl.DataFrame], DataFrame]:
    """Pass 1: each customer's component values and numerator, on the executors.

    Returns the rows (customer_id, components, the customers columns read as yuan,
    numerator as DECIMAL(38,0)), the parts (``counts:``, ``unmapped:``,
    ``conflicts:`` per input) and the persisted frame behind the rows, to unpersist
    when done. ``money`` (``pipeline.money_of``) travels as rows of one more input,
    so each customer's reach the partition of its folds.
    """
    from pyspark.sql import functions as F

    tagged = [f.withColumn(INPUT, F.lit(INPUTS.index(n)).cast("tinyint")) for n, f in folds.items()]
    if money is not None:
        extra = _to_spark(tagged[0].sparkSession, money)
        tagged.append(extra.withColumn(INPUT, F.lit(len(INPUTS)).cast("tinyint")))
    both = tagged[0]
    for frame in tagged[1:]:
        both = both.unionByName(frame, allowMissingColumns=True)
    spread = both.repartition(partitions, "customer_id")
    types = value_types(plan) | {NUMERATOR: pl.Int128}
    rows, found, held = with_parts(spread, _values_task(plan), types)
    _, empty = _values_task(plan)(_no_folds(plan))
    return rows, _joined(empty, found), held


def _no_folds(plan: Plan) -> pl.DataFrame:
    """An empty partition of pass 1, for the parts' shapes when no partition has any."""
    counts = {count_column(s): pl.Int64 for s in range(len(STATUSES))}
    return pl.DataFrame(schema={
        INPUT: pl.Int8, "customer_id": pl.String, CODE: pl.String, CODE_ROWS: pl.Int64,
        CONFLICT_FILE: pl.Int32,
        CONFLICT_LINE: pl.Int64, **{c.id: pl.Decimal(38, 0) for c in plan.components},
        **counts, CONFLICT_VALUE: pl.String,
    })  # fmt: skip


def _joined(
    empty: dict[str, pl.DataFrame], found: dict[str, list[pl.DataFrame]]
) -> dict[str, pl.DataFrame]:
    """Each part of every partition in one frame (an empty one where none had it)."""
    return {name: pl.concat([frame, *found.get(name, [])]) for name, frame in empty.items()}


def _values_task(plan: Plan) -> Task:
    def task(frame: pl.DataFrame) -> tuple[pl.DataFrame, dict[str, pl.DataFrame]]:
        folded = {name: _folds_of(plan, frame, name) for name in INPUTS}
        valued = with_numerator(plan, scorable(plan, folded, _money_rows(plan, frame))).collect()
        parts = {}
        for name, folds in folded.items():
            parts[f"counts:{name}"] = count_part(folds)
            parts[f"unmapped:{name}"] = unmapped_part(folds)
            parts[f"conflicts:{name}"] = conflicts_part(folds, KEYS[name])
        return valued, parts

    return task


def _money_rows(plan: Plan, frame: pl.DataFrame) -> pl.DataFrame | None:
    """The partition's rows of customers columns read as yuan (``customer_values``);
    None where there are none to read (``scorable`` then has them unknown)."""
    names = list(money_names(plan.ruleset).values())
    if not names or names[0] not in frame.columns:
        return None
    mine = frame.filter(pl.col(INPUT) == len(INPUTS))
    return mine.select("customer_id", *(pl.col(n).cast(pl.Int64) for n in names))


def _folds_of(plan: Plan, frame: pl.DataFrame, name: str) -> pl.DataFrame:
    """One input's fold rows of the partition, typed as the polars engine folds them."""
    counts = [count_column(s) for s in range(len(STATUSES))]
    mine = frame.filter(pl.col(INPUT) == INPUTS.index(name))
    return mine.select(
        "customer_id",
        CODE,
        pl.col(CODE_ROWS).cast(pl.Int64),
        pl.col(CONFLICT_FILE).cast(pl.UInt16),
        pl.col(CONFLICT_LINE).cast(pl.Int64),
        *(pl.col(c.id).cast(pl.Int128) for c in plan.of_source(name)),
        *(pl.col(c).cast(pl.Int64) for c in counts),
        CONFLICT_VALUE,
    )


def ranked_on_cluster(plan: Plan, values: DataFrame, partitions: int) -> Ranked:
    """Pass 2: the numerators in ranges, highest first; each range's customers and
    points before it are known from one small aggregate, so each range finds its
    positions and running sums alone (``ranked.ranked_part``)."""
    from pyspark import StorageLevel
    from pyspark.sql import functions as F

    numerators = values.select(F.col(NUMERATOR))
    ranges = numerators.repartitionByRange(partitions, F.col(NUMERATOR).desc())
    ranges = ranges.withColumn(RANGE, F.spark_partition_id()).persist(StorageLevel.MEMORY_AND_DISK)
    try:
        stats = ranges.groupBy(RANGE).agg(F.count("*").alias("n"), F.sum(NUMERATOR).alias("s"))
        offsets, customers, total = {}, 0, 0
        for index, n, points in sorted(stats.collect()):
            offsets[int(index)] = (customers, total)
            customers, total = customers + int(n), total + int(points)  # exact DECIMAL sum
        wanted = positions(plan, customers)

        def task(frame: pl.DataFrame) -> tuple[pl.DataFrame, dict[str, pl.DataFrame]]:
            before, before_sum = offsets[int(frame[RANGE][0])]
            return pl.DataFrame(), ranked_part(frame[NUMERATOR], before, before_sum, total, wanted)

        _, parts, held = with_parts(ranges, task, {})
        held.unpersist()
    finally:
        ranges.unpersist()
    merged = [{name: pl.concat(frames) for name, frames in parts.items()}] if parts else []
    return Ranked.merged(customers, total, merged)


def scores_on_cluster(
    plan: Plan, how: Scoring, values: DataFrame, context: Context, forward: DataFrame | None = None
) -> tuple[DataFrame, dict[str, pl.DataFrame], DataFrame]:
    """Pass 3: tiers, published rows and summary parts, on the executors. The numerator
    on the next rating day (``forward``, see ``watch``), overrides, attributes and the
    earlier run's tiers are joined to the values by customer first."""
    spark = values.sparkSession
    frame = values
    if forward is not None:
        frame = frame.join(forward, "customer_id", "left")
    if context.overrides is not None:
        frame = frame.join(_to_spark(spark, context.overrides.frame), "customer_id", "left")
    if context.attributes is not None and context.units is None:  # units carry theirs
        frame = frame.join(_to_spark(spark, context.attributes.frame), "customer_id", "left")
    if context.previous is not None:
        frame = frame.join(_to_spark(spark, context.previous), "customer_id", "full")
    template = _template(plan, how, context)
    schema = dict(template.scores.schema)
    rows, found, held = with_parts(frame, _scores_task(plan, how), schema)
    return rows, _joined(summary_parts(plan, how, template), found), held


def _scores_task(plan: Plan, how: Scoring) -> Task:
    ids = [c.id for c in plan.components]
    money = list(money_names(plan.ruleset).values())

    def task(part: pl.DataFrame) -> tuple[pl.DataFrame, dict[str, pl.DataFrame]]:
        scored = part.filter(pl.col(NUMERATOR).is_not_null())
        valued = scored.select(
            "customer_id",
            *(pl.col(c).cast(pl.Int128) for c in [*ids, NUMERATOR]),
            *(pl.col(c).cast(pl.Int64) for c in money),
            *(pl.col(c).cast(pl.Int128) for c in [FORWARD] if c in part.columns),
        )
        attributes = scored.select("customer_id", *how.carried) if how.carried else None
        previous = None
        if how.previous:
            state = [c for c in PREVIOUS_COLUMNS if c in part.columns]  # ``[service]``'s
            previous = part.filter(pl.col(PREVIOUS).is_not_null()).select(
                "customer_id", pl.col(PREVIOUS).cast(pl.Int32), *state
            )
        overrides = None
        if OV_TIER in part.columns:
            overrides = scored.filter(pl.col(OV_TIER).is_not_null()).select(
                "customer_id", *OVERRIDE_COLUMNS
            )
        done = score_part(plan, how, valued.lazy(), attributes, previous, overrides)
        return done.scores, summary_parts(plan, how, done)

    return task


def _template(plan: Plan, how: Scoring, context: Context) -> Scored:
    attributes = context.attributes.frame if context.attributes is not None else None
    if context.units is not None:  # a unit's numbers, then its customers columns
        attributes = context.units.attributes_template(attributes)
    return no_customers(plan, how, attributes, context.previous)


def scores_template(plan: Plan, how: Scoring, context: Context) -> pl.DataFrame:
    return _template(plan, how, context).scores


def collected(rows: DataFrame, template: pl.DataFrame) -> pl.DataFrame:
    """The scores brought to the driver (for a local --out), typed and ordered as the
    polars engine publishes them."""
    frame = pl.from_arrow(rows.toArrow())
    assert isinstance(frame, pl.DataFrame)
    typed = frame.select(pl.col(c).cast(t) for c, t in template.schema.items())
    return pl.concat([template, typed]).sort("customer_id")


def with_parts(
    frame: DataFrame, task: Task, row_types: dict[str, Any]
) -> tuple[DataFrame, dict[str, list[pl.DataFrame]], DataFrame]:
    """Run ``task`` on every partition; returns its rows as a Spark frame, its parts
    collected (name -> one frame per partition), and the persisted frame behind both."""
    from pyspark import StorageLevel
    from pyspark.sql import functions as F

    types = {KIND: pl.Int8, NAME: pl.String, PAYLOAD: pl.Binary, **_wire(row_types)}
    out = frame.mapInArrow(_arrow_task(task, types), spark_schema(types))
    out = out.persist(StorageLevel.MEMORY_AND_DISK)
    found = out.where(F.col(KIND) == PART).select(NAME, PAYLOAD).toArrow()
    parts: dict[str, list[pl.DataFrame]] = {}
    for name, payload in zip(found[NAME].to_pylist(), found[PAYLOAD].to_pylist(), strict=True):
        parts.setdefault(name, []).append(pl.read_ipc(io.BytesIO(payload)))
    rows = out.where(F.col(KIND) == ROW).select(*row_types)
    return rows, parts, out


def _arrow_task(
    task: Task, types: dict[str, Any]
) -> Callable[[Iterator[pa.RecordBatch]], Iterator[pa.RecordBatch]]:
    return arrow_task(lambda frame: _stream(*task(frame), types))


def arrow_task(
    work: Callable[[pl.DataFrame], pa.Table],
) -> Callable[[Iterator[pa.RecordBatch]], Iterator[pa.RecordBatch]]:
    """A ``mapInArrow`` function: the partition as one polars frame, ``work`` on it."""

    def run(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        taken = list(batches)
        if not taken:
            return
        frame = pl.from_arrow(pa.Table.from_batches(taken))
        assert isinstance(frame, pl.DataFrame)
        yield from work(frame).to_batches()

    return run


def _stream(rows: pl.DataFrame, parts: dict[str, pl.DataFrame], types: dict[str, Any]) -> pa.Table:
    """Rows and parts in one table of the task's schema."""
    frames = [rows.with_columns(pl.lit(ROW, pl.Int8).alias(KIND))] if rows.width else []
    for name, part in parts.items():
        buffer = io.BytesIO()
        part.write_ipc(buffer)
        frames.append(pl.DataFrame({KIND: [PART], NAME: [name], PAYLOAD: [buffer.getvalue()]}))
    return arrow_for_spark(frames, types)


def arrow_for_spark(frames: list[pl.DataFrame], types: dict[str, Any]) -> pa.Table:
    """Frames of differing columns as one Arrow table of ``types`` (a column a frame
    lacks is null there), in the Arrow types Spark reads."""
    shaped = [
        f.select(
            pl.col(c).cast(t) if c in f.columns else pl.lit(None, t).alias(c)
            for c, t in types.items()
        )
        for f in frames
    ]
    table = pl.concat(shaped).to_arrow(compat_level=pl.CompatLevel.oldest())
    return table.cast(_small_offsets(table.schema))


def _small_offsets(schema: pa.Schema) -> pa.Schema:
    """Spark's Arrow strings and binaries are the 32-bit-offset kinds."""
    narrow = {pa.large_string(): pa.string(), pa.large_binary(): pa.binary()}
    return pa.schema(pa.field(f.name, narrow.get(f.type, f.type)) for f in schema)


def _wire(types: dict[str, Any]) -> dict[str, Any]:
    """Arrow has no 128-bit integer: exact sums travel as DECIMAL(38,0)."""
    return {c: pl.Decimal(38, 0) if t == pl.Int128 else t for c, t in types.items()}


_SPARK = {
    pl.Int8: "tinyint",
    pl.Int16: "smallint",
    pl.Int32: "int",
    pl.Int64: "bigint",
    pl.UInt8: "smallint",
    pl.UInt16: "int",
    pl.UInt32: "bigint",
    pl.String: "string",
    pl.Boolean: "boolean",
    pl.Binary: "binary",
    pl.Float64: "double",
    pl.Date: "date",
}


def spark_schema(types: dict[str, Any]) -> str:
    def name(dtype: Any) -> str:
        if isinstance(dtype, pl.Decimal):
            return f"decimal({dtype.precision},{dtype.scale})"
        return _SPARK[dtype.base_type() if dtype not in _SPARK else dtype]

    return ", ".join(f"`{c}` {name(t)}" for c, t in types.items())


def _to_spark(spark: Any, frame: pl.DataFrame) -> DataFrame:
    table = frame.to_arrow(compat_level=pl.CompatLevel.oldest())
    return spark.createDataFrame(table.cast(_small_offsets(table.schema)))
