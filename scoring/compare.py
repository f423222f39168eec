"""Two rule sets on the same inputs: who would move, before a bank switches schemes.

The job is scored once per rule set by the engine the operator chose (the same entry
points as ``score``), so each side's tiers are exactly what ``score`` would publish;
the two scores frames are then compared here, in polars, one row per customer. The
result is the tier migration matrix from A (rows: A's tiers, then "new" for customers
only B scores) to B (columns: B's tiers, then "gone" for customers only A scores), the
same shape as the ``--previous`` migration, per branch when the customers file names
branches, and the change in quality (which a rule set with stricter quality gates,
such as icbc-star-strict, changes without changing any tier).

Up and down need one order of tiers: they are counted only when both rule sets list
the same tiers in the same order (a higher tier is one earlier in the list).

Both runs must read the same bytes: an input that changed between them would make
the comparison one of two different data sets, so the run stops instead.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import polars as pl

from . import __version__
from .breakdown import UNASSIGNED
from .errors import ConfigError, InputError
from .migration import MOVEMENTS
from .outdir import claim
from .pipeline import Job, Result, require_customers, run
from .plan import compile_plan
from .points import DOWN, GONE, NEW, SAME, UP
from .rules import load_rules
from .sources import sha256_of
from .summary import GROUPS_LISTED

A_TIER, B_TIER = "_a_tier", "_b_tier"  # tier index under each rule set; null: not scored
A_QUALITY, B_QUALITY = "_a_quality", "_b_quality"
BRANCH = "branch"
QUALITY_CHANGES = ("kept", "lost", "gained", "neither")  # (A, B): TT, TF, FT, FF
Runner = Callable[[Job], Result]


@dataclass
class Comparison:
    """Both runs (as ``score`` computes them) and summary.json of their comparison."""

    a: Result
    b: Result
    summary: dict[str, Any]
    started: datetime = field(default_factory=lambda: datetime.now(UTC))
    timings: dict[str, float] = field(default_factory=dict)


def compare(job: Job, rules: Sequence[str], runner: Runner = run) -> Comparison:
    """Score ``job`` under each of the two ``rules`` with ``runner`` (the polars
    ``pipeline.run`` or the Spark engine's) and compare the two results."""
    check_two(rules)
    if job.previous:
        raise ConfigError("compares two rule sets, not an earlier run", key="--previous")
    for name in rules:  # both rule sets checked before either run: B's typo fails at once
        require_customers(compile_plan(load_rules(name), job.window), job.customers)
    started = datetime.now(UTC)
    a, b = (runner(replace(job, rules=name)) for name in rules)
    clock = time.perf_counter()
    check_same_inputs(a, b)
    summary = compare_results(a, b)
    timings = {f"a.{k}": v for k, v in a.timings.items()}
    timings |= {f"b.{k}": v for k, v in b.timings.items()}
    timings["compare"] = time.perf_counter() - clock
    return Comparison(a, b, summary, started, timings)


def check_two(rules: Sequence[str]) -> None:
    """A comparison is of exactly two rule sets: A, in use, and B, the candidate."""
    if len(rules) != 2:
        raise ConfigError(
            f"give exactly two --rules, the rule set in use (A) and the candidate (B); "
            f"got {len(rules)}",
            key="--rules",
        )


def check_same_inputs(a: Result, b: Result) -> None:
    """Each run hashes what it reads: the same files, rows and checksums, or the
    inputs changed between the runs (an export still being written, say)."""
    for name in sorted(set(a.inputs) | set(b.inputs)):
        seen = [[f.as_dict() for f in r.inputs.get(name, [])] for r in (a, b)]
        if seen[0] != seen[1]:
            raise InputError(
                "changed between the two rule sets' runs (other files, rows or "
                "checksums); compare again when it is complete",
                key=f"--{name}",
            )


def compare_results(a: Result, b: Result) -> dict[str, Any]:
    """summary.json of the comparison of two results over the same inputs and window."""
    labels = [tier_labels(r) for r in (a, b)]
    same = labels[0] == labels[1]
    pairs = paired(a, b)
    summary: dict[str, Any] = {
        "a": _side(a),
        "b": _side(b),
        "window": a.plan.window.as_dict(),
        "customers": _customers(pairs),
        "same_tiers": same,
        "migration": _matrix_summary(pairs, labels, same),
        "quality": _quality(pairs, labels[0]),
    }
    if BRANCH in pairs.columns:
        summary["by_branch"], summary["by_branch_rest"] = _by_branch(pairs, labels, same)
    return summary


def tier_labels(result: Result) -> list[str]:
    return [t.label for t in result.plan.tiers]


def paired(a: Result, b: Result) -> pl.DataFrame:
    """One row per customer scored under either rule set: tier index and quality under
    each (null where that rule set did not score the customer), and the branch."""
    left = _scored(a, A_TIER, A_QUALITY, f"{BRANCH}_a")
    right = _scored(b, B_TIER, B_QUALITY, f"{BRANCH}_b")
    joined = left.join(right, on="customer_id", how="full", coalesce=True)
    if BRANCH in a.scores.columns and BRANCH in b.scores.columns:
        branch = pl.coalesce(f"{BRANCH}_a", f"{BRANCH}_b").fill_null(UNASSIGNED).alias(BRANCH)
        joined = joined.with_columns(branch).drop(f"{BRANCH}_a", f"{BRANCH}_b")
    return joined.collect()


def _scored(result: Result, tier: str, quality: str, branch: str) -> pl.LazyFrame:
    """The customers a result scored (a row without a tier is a ``--previous`` "gone"
    row, not a scored customer), with the tier as its index in the rule set."""
    index = {label: i for i, label in enumerate(tier_labels(result))}
    kept = [pl.col(BRANCH).alias(branch)] if BRANCH in result.scores.columns else []
    return (
        result.scores.lazy()
        .filter(pl.col("tier").is_not_null())
        .select(
            "customer_id",
            pl.col("tier").replace_strict(index, return_dtype=pl.Int32).alias(tier),
            pl.col("quality").alias(quality),
            *kept,
        )
    )


def _side(result: Result) -> dict[str, Any]:
    """What one rule set made of the inputs, as its own score run reports it."""
    summary = result.summary
    side = {
        "ruleset": result.plan.ruleset.as_dict(),
        "customers": summary["customers"],
        "quality_customers": summary["quality_customers"],
        "tiers": [{"tier": t["tier"], "customers": t["customers"]} for t in summary["tiers"]],
        "rows": summary["rows"],
    }
    if "quality_gates" in summary:
        side["quality_gates"] = summary["quality_gates"]
    return side


def _customers(pairs: pl.DataFrame) -> dict[str, int]:
    a, b = pl.col(A_TIER).is_not_null(), pl.col(B_TIER).is_not_null()
    counts = pairs.select(
        (a & b).sum().alias("both"), (b & ~a).sum().alias(NEW), (a & ~b).sum().alias(GONE)
    )
    return {name: int(n) for name, n in counts.row(0, named=True).items()}


def _cells(pairs: pl.DataFrame, labels: list[list[str]], keys: Sequence[str] = ()) -> pl.DataFrame:
    """Customers per (keys,) A tier and B tier; ``len(tiers)`` stands for "new" in A's
    index and for "gone" in B's, as in the ``--previous`` migration."""
    a = pl.col(A_TIER).fill_null(len(labels[0]))
    b = pl.col(B_TIER).fill_null(len(labels[1]))
    return pairs.group_by(*keys, a, b).agg(pl.len().cast(pl.Int64).alias("customers"))


def _matrix(cells: pl.DataFrame, labels: list[list[str]]) -> list[list[int]]:
    """The cells as a dense matrix: a loop over tier pairs, not customers."""
    counts = [[0] * (len(labels[1]) + 1) for _ in range(len(labels[0]) + 1)]
    for i, j, n in cells.select(A_TIER, B_TIER, "customers").iter_rows():
        counts[i][j] += int(n)
    return counts


def _movement(counts: list[list[int]], same: bool) -> dict[str, int] | None:
    """up / down / same / new / gone off the matrix (index 0 is the top tier); None
    when the tier lists differ, as up and down then mean nothing."""
    if not same:
        return None
    size = len(counts) - 1
    out = dict.fromkeys(MOVEMENTS, 0)
    for i, line in enumerate(counts):
        for j, n in enumerate(line):
            kind = NEW if i == size else GONE if j == size else _direction(i, j)
            out[kind] += n
    return out


def _direction(before: int, after: int) -> str:
    return UP if after < before else DOWN if after > before else SAME


def _matrix_summary(pairs: pl.DataFrame, labels: list[list[str]], same: bool) -> dict[str, Any]:
    counts = _matrix(_cells(pairs, labels), labels)
    out: dict[str, Any] = {
        "rows": [*labels[0], NEW],
        "columns": [*labels[1], GONE],
        "counts": counts,
        "movement": _movement(counts, same),
    }
    if not same:
        out["note"] = (
            "the rule sets list different tiers, so up and down are not defined; read the matrix"
        )
    return out


def _quality_expressions() -> list[pl.Expr]:
    """Quality under A and under B, for customers both rule sets scored."""
    a, b = pl.col(A_QUALITY), pl.col(B_QUALITY)
    both = pl.col(A_TIER).is_not_null() & pl.col(B_TIER).is_not_null()
    kinds = (a & b, a & ~b, ~a & b, ~a & ~b)
    return [
        (both & k).sum().cast(pl.Int64).alias(n)
        for n, k in zip(QUALITY_CHANGES, kinds, strict=True)
    ]


def _quality(pairs: pl.DataFrame, a_labels: list[str]) -> dict[str, Any]:
    """How quality changes (a stricter gate changes it without changing a tier), and
    under which of A's tiers the customers who lose it are."""
    counts = pairs.select(_quality_expressions()).row(0, named=True)
    lost = pairs.filter(pl.col(A_QUALITY) & pl.col(B_QUALITY).not_()).group_by(A_TIER).len()
    by_tier = dict.fromkeys(a_labels, 0)
    for index, n in lost.iter_rows():
        by_tier[a_labels[index]] = int(n)
    return {
        "a": int(pairs[A_QUALITY].sum()),
        "b": int(pairs[B_QUALITY].sum()),
        **{name: int(n) for name, n in counts.items()},
        "lost_by_a_tier": by_tier,
    }


def _by_branch(
    pairs: pl.DataFrame, labels: list[list[str]], same: bool
) -> tuple[list[dict[str, Any]], dict[str, int]]:
    """Per branch (the ``GROUPS_LISTED`` with the most customers, ties by name, in name
    order): customers, the matrix, the movement and the quality change; and what the
    branches left out add up to."""
    sizes = pairs.group_by(BRANCH).agg(
        pl.len().cast(pl.Int64).alias("customers"), *_quality_expressions()
    )
    order = sizes.sort(["customers", BRANCH], descending=[True, False])
    kept = order.head(GROUPS_LISTED).sort(BRANCH)
    cells = _cells(pairs.join(kept.select(BRANCH), on=BRANCH, how="semi"), labels, [BRANCH])
    matrices = {name: group for (name,), group in cells.group_by(BRANCH)}
    listed = []
    for row in kept.iter_rows(named=True):
        counts = _matrix(matrices[row[BRANCH]], labels)
        listed.append({
            BRANCH: row[BRANCH],
            "customers": int(row["customers"]),
            "counts": counts,
            "movement": _movement(counts, same),
            "quality": {name: int(row[name]) for name in QUALITY_CHANGES},
        })  # fmt: skip
    rest = {"groups": sizes.height - kept.height, "customers": int(order["customers"].sum())}
    rest["customers"] -= int(kept["customers"].sum())
    return listed, rest


# --- publishing ----------------------------------------------------------------


def publish_comparison(
    comparison: Comparison, out: Path, *, report: bool = True, lang: str | None = None
) -> dict[str, Path]:
    """Write summary.json, report.html and manifest.json into ``out`` as one new version
    (``outdir``: locked, staged on its filesystem, switched atomically; a folder that is
    neither empty nor tierscore's is refused). Returns each file's path under ``out``.
    ``lang``: the report's language (``compare_report``)."""
    clock = time.perf_counter()
    with claim(out) as folder, folder.staging() as staging:
        written = _write(comparison, staging, report, clock, lang)
        folder.commit(staging)
    return {name: out / name for name in written}


def _write(
    comparison: Comparison, staging: Path, report: bool, clock: float, lang: str | None = None
) -> dict[str, Path]:
    written = {"summary.json": _json(staging / "summary.json", comparison.summary)}
    timings = {**comparison.timings, "write": time.perf_counter() - clock}
    if report:
        from .compare_report import render_comparison  # loaded only when a report is drawn

        page = render_comparison(comparison.summary, manifest(comparison, {}, timings), lang)
        (staging / "report.html").write_text(page, encoding="utf-8")
        written["report.html"] = staging / "report.html"
    written["manifest.json"] = _json(
        staging / "manifest.json", manifest(comparison, written, timings)
    )
    return written


def _json(path: Path, data: dict[str, Any]) -> Path:
    path.write_text(json.dumps(data, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    return path


def manifest(
    comparison: Comparison, outputs: dict[str, Path], timings: dict[str, float]
) -> dict[str, Any]:
    """The audit record: both rule sets, the inputs both runs read, what came out."""
    a, b = comparison.a, comparison.b
    return {
        "tool": {"name": "tierscore", "version": __version__, "polars": pl.__version__},
        "command": "compare",
        "started_at": comparison.started.isoformat(timespec="seconds"),
        "rulesets": {"a": a.plan.ruleset.as_dict(), "b": b.plan.ruleset.as_dict()},
        "window": a.plan.window.as_dict(),
        "inputs": {name: [f.as_dict() for f in files] for name, files in a.inputs.items()},
        "outputs": [
            {"file": name, "sha256": sha256_of(path), "bytes": path.stat().st_size}
            for name, path in sorted(outputs.items())
        ],
        "counts": {"customers": comparison.summary["customers"]},
        "timings_s": {stage: round(seconds, 3) for stage, seconds in timings.items()},
    }
