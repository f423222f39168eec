"""The Spark engine's way of the steps after the folds (``finish.Finisher``): the
customers stay on the executors, for values, ranks and scores (``spark_scoring``),
and the driver finishes as the polars engine does (``finish.finish``)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import polars as pl

from .finish import Context
from .plan import Plan
from .ranked import Ranked
from .spark_parties import units_on_cluster
from .spark_scoring import (
    collected,
    customer_values,
    ranked_on_cluster,
    scores_on_cluster,
    scores_template,
)
from .summary import Scoring

if TYPE_CHECKING:
    from pyspark.sql import DataFrame


@dataclass
class OnCluster:
    """The Spark engine's ``finish.Finisher``: the customers stay on the executors, in
    ``partitions`` tasks. ``forward`` gives the numerator on the next rating day from
    the values (None: no watch) and a frame persisted behind it, let go of once the
    scores are computed; ``let_go``, frames persisted for measuring, are let go of
    once the values are. ``collect``: the scores come to the driver (else they are
    left on the cluster, ``Result.cluster_scores``)."""

    folds: dict[str, DataFrame]
    partitions: int
    forward: Callable[[DataFrame], tuple[DataFrame | None, Any]] = lambda values: (None, None)
    collect: bool = True
    let_go: list[Any] = field(default_factory=list)
    _values: Any = None
    _forward: Any = None
    _ahead: Any = None  # persisted behind ``_forward``
    _rows: Any = None
    _kept: list[Any] = field(default_factory=list)  # persisted behind the rows

    def values(self, plan: Plan, money: pl.DataFrame | None) -> dict[str, pl.DataFrame]:
        self._values, found, held = customer_values(plan, self.folds, self.partitions, money)
        self._kept.append(held)
        for frame in self.let_go:
            frame.unpersist()
        return found

    def by_unit(self, plan: Plan, context: Context) -> None:
        self._forward, self._ahead = self.forward(self._values)
        if context.units is not None:  # one row per party or household, the forward summed in
            self._values, rolled = units_on_cluster(
                plan, self._values, context, self._forward, self.partitions
            )
            self._forward = None
            self._kept.append(rolled)

    def ranked(self, plan: Plan) -> Ranked:
        return ranked_on_cluster(plan, self._values, self.partitions)

    def scored(self, plan: Plan, how: Scoring, context: Context) -> dict[str, pl.DataFrame]:
        rows, parts, scored = scores_on_cluster(plan, how, self._values, context, self._forward)
        self._rows = rows
        self._kept.append(scored)
        if self._ahead is not None:  # the scores and their parts are persisted by now
            self._ahead.unpersist()
        return parts

    def published(self, plan: Plan, how: Scoring, context: Context) -> tuple[Any, Any]:
        scores = scores_template(plan, how, context)
        if not self.collect:
            return scores, self._rows
        scores = collected(self._rows, scores)
        for frame in self._kept:
            frame.unpersist()
        return scores, None
