"""Scoring by party or household on the Spark engine: the roll-up on the executors.

The customers' values (``spark_scoring.customer_values``: one row per customer number,
exact sums as DECIMAL(38,0)) are joined to their units, customers rows and numerators
on the next rating day, spread over the cluster by unit so that every number of a
unit lands in one partition, and each partition runs the polars engine's own roll-up
(``parties.unit_rows``). The units' rows then take the customers' place: ranked and
scored by the same passes, so both engines publish the same bytes.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import polars as pl

from .finish import Context
from .parties import CUSTOMER_IDS, MEMBERS, UNIT, no_parts, unit_rows
from .plan import Plan
from .points import NUMERATOR, value_types
from .spark_scoring import _to_spark, with_parts
from .watch import FORWARD

if TYPE_CHECKING:
    from pyspark.sql import DataFrame


def units_on_cluster(
    plan: Plan, values: DataFrame, context: Context, forward: DataFrame | None, partitions: int
) -> tuple[DataFrame, DataFrame]:
    """One row per unit, left on the cluster, and the persisted frame behind it (to
    let go of once scored); the counts are taken into ``context.units`` (which stops
    the run if one id names two kinds of unit)."""
    from pyspark.sql import functions as F

    units = context.units
    assert units is not None
    spark = values.sparkSession
    frame = values.join(_to_spark(spark, units.mapping), "customer_id", "left")
    attributes = context.attributes
    if attributes is not None:
        frame = frame.join(_to_spark(spark, attributes.frame), "customer_id", "left")
    if forward is not None:
        frame = frame.join(forward, "customer_id", "left")
    spread = frame.repartition(partitions, F.coalesce(F.col(UNIT), F.col("customer_id")))
    columns = attributes.columns if attributes is not None else ()
    types = _row_types(plan, attributes.frame.schema if attributes is not None else {}, columns)
    summed = [FORWARD] if forward is not None else []
    exact = [*(c.id for c in plan.components), NUMERATOR, *summed]

    def task(part: pl.DataFrame) -> tuple[pl.DataFrame, dict[str, pl.DataFrame]]:
        typed = part.with_columns(pl.col(exact).cast(pl.Int128))
        return unit_rows(plan, typed, columns)

    rows, found, held = with_parts(spread, task, types | dict.fromkeys(summed, pl.Int128))
    parts = {name: pl.concat(frames) for name, frames in found.items()} or no_parts()
    units.take(parts)
    return rows, held


def _row_types(plan: Plan, schema: Any, columns: tuple[str, ...]) -> dict[str, Any]:
    """A unit row's columns and types, as ``unit_rows`` makes them."""
    values = value_types(plan) | {NUMERATOR: pl.Int128}
    return values | {c: schema[c] for c in columns} | {CUSTOMER_IDS: pl.String, MEMBERS: pl.Int64}
