"""Tier migration against an earlier run's scores file.

Only ``customer_id`` and ``tier`` of the earlier file are read, so any earlier
scores file (CSV or Parquet, any rule-set version with the same tier labels)
serves. Rows with no tier are the "gone" rows of that earlier run and are
skipped: those customers were not scored then either.
"""

from __future__ import annotations

from dataclasses import replace

import polars as pl

from .errors import InputError
from .plan import Plan
from .points import DOWN, GONE, NEW, PREVIOUS, SAME, TIER_INDEX, UP
from .service import PREVIOUS_COLUMNS, STATE, previous_state
from .sources import Reader, previous_spec, resolve_paths

MOVEMENTS = (UP, DOWN, SAME, NEW, GONE)


def read_previous(reader: Reader, plan: Plan, given: str) -> pl.DataFrame:
    """``customer_id`` and ``PREVIOUS`` (tier index), and for a rule set with
    ``[service]`` the earlier run's service state (``service.previous_state``: null for a
    file without the service columns, as older scores files are); a malformed file
    stops the run, as it is an earlier output, not data to salvage row by row."""
    service = plan.ruleset.service is not None
    spec = replace(previous_spec(), carry_rest=service)  # the state's columns, when there
    frames = []
    for path in resolve_paths(given, "--previous"):
        lf, _ = reader.open(spec, path, str(path))
        state = [c for c in STATE if c in lf.collect_schema().names()] if service else []
        frame = lf.select(_trimmed("customer_id"), _trimmed("tier"), *state).collect()
        frames.append(previous_state(frame, plan, str(path)) if service else frame)
    rows = pl.concat(frames).filter(pl.col("tier").is_not_null())
    _check(rows, plan, given)
    index = {t.label: i for i, t in enumerate(plan.tiers)}
    tier = pl.col("tier").replace_strict(index, return_dtype=pl.Int32)
    kept = PREVIOUS_COLUMNS if service else ()
    return rows.select("customer_id", tier.alias(PREVIOUS), *kept)


def _trimmed(name: str) -> pl.Expr:
    text = pl.col(name).cast(pl.String).str.strip_chars()
    return pl.when(text != "").then(text).alias(name)


def _check(rows: pl.DataFrame, plan: Plan, given: str) -> None:
    labels = [t.label for t in plan.tiers]
    if rows["customer_id"].null_count():
        raise InputError("a row with a tier has no customer_id", file=given, key="customer_id")
    repeated = rows.filter(pl.col("customer_id").is_duplicated())["customer_id"].unique()
    if repeated.len():
        shown = ", ".join(repeated.sort().head(5).to_list())
        raise InputError(f"customer_id repeated: {shown}", file=given, key="customer_id")
    unknown = rows.filter(~pl.col("tier").is_in(labels))["tier"].unique().sort()
    if unknown.len():
        raise InputError(
            f"tier(s) {', '.join(unknown.head(5).to_list())} are not tiers of "
            f"{plan.ruleset.name} ({', '.join(labels)})",
            file=given,
            key="tier",
        )


def with_previous(scored: pl.LazyFrame, previous: pl.DataFrame) -> pl.LazyFrame:
    """Every current customer plus those only in the earlier run (tier null: gone)."""
    return scored.join(previous.lazy(), on="customer_id", how="full", coalesce=True)


def migration_part(plan: Plan, every: pl.DataFrame) -> pl.DataFrame:
    """One part's count of customers per previous tier x tier (``len(tiers)`` stands for
    new in the first and gone in the second); parts add up."""
    size = len(plan.tiers)
    return every.group_by(pl.col(PREVIOUS).fill_null(size), pl.col(TIER_INDEX).fill_null(size)).agg(
        pl.len().cast(pl.Int64).alias("customers")
    )


def migration_summary(plan: Plan, parts: pl.DataFrame, given: str) -> dict[str, object]:
    """Counts of previous tier x tier, with a "new" row and a "gone" column."""
    labels = [t.label for t in plan.tiers]
    size = len(labels)
    counts = [[0] * (size + 1) for _ in range(size + 1)]
    for before, now, n in parts.iter_rows():
        counts[before][now] += int(n)
    return {
        "previous": given,
        "rows": [*labels, NEW],
        "columns": [*labels, GONE],
        "counts": counts,
        "movement": _movements(counts, size),
    }


def _movements(counts: list[list[int]], size: int) -> dict[str, int]:
    """up / down / same / new / gone totals, read off the matrix (index 0 is the top)."""
    out = dict.fromkeys(MOVEMENTS, 0)
    for before in range(size + 1):
        for now in range(size + 1):
            n = counts[before][now]
            if before == size:
                out[NEW] += n
            elif now == size:
                out[GONE] += n
            else:
                out[UP if now < before else DOWN if now > before else SAME] += n
    return out
