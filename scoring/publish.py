"""Writing a run's files so that a reader never sees a half-published run.

Everything is written into a staging folder on ``--out``'s own filesystem and
becomes the current version in one atomic step (``outdir``): killed at any
instant, ``--out`` shows the previous run or this one, never a mix; a run that
fails leaves the previous files untouched. ``out/scores.csv`` and the other
names are links into ``out/current/``. Scores are written sorted and with fixed
formatting, so the same inputs give byte-identical files.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import polars as pl

from . import __version__
from .outdir import claim
from .pipeline import Result
from .sources import sha256_of
from .split import write_scores, write_split
from .unmapped import write_unmapped

SCORES_FORMATS = ("csv", "parquet")


def _json(path: Path, data: dict[str, Any]) -> None:
    path.write_text(json.dumps(data, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")


def manifest(
    result: Result, outputs: dict[str, Path], timings: dict[str, float], started: datetime
) -> dict[str, Any]:
    """The audit record: what went in, which rules, what came out, how long it took."""
    return {
        "tool": {"name": "tierscore", "version": __version__, "polars": pl.__version__},
        "started_at": started.isoformat(timespec="seconds"),
        "ruleset": result.plan.ruleset.as_dict(),
        "window": result.plan.window.as_dict(),
        "inputs": {name: [f.as_dict() for f in files] for name, files in result.inputs.items()},
        # files of an unknown type in the inputs' folders, by input: not read
        "skipped": result.skipped,
        # ``--date-format``, when given: the one format the text inputs' dates were read in
        **({"date_format": result.date_format} if result.date_format else {}),
        # how each input was measured (``measures.Strategy``): the path, and why
        **({"measuring": result.measuring} if result.measuring else {}),
        "outputs": [
            {"file": name, "sha256": sha256_of(path), "bytes": path.stat().st_size}
            for name, path in sorted(outputs.items())
        ],
        "counts": {
            "customers": result.summary["customers"],
            "rejects": result.rejects.height,
            "rows": result.summary["rows"],
        },
        "timings_s": {stage: round(seconds, 3) for stage, seconds in timings.items()},
    }


@dataclass(frozen=True)
class Extras:
    """Optional outputs beside the scores: split lists, a workbook, the HTML report."""

    split: str | None = None  # "tier" or "branch"
    xlsx: bool = False
    report: bool = True
    lang: str | None = None  # the report's language; None: its tiers' (report_text)
    csv_bom: bool = False  # scores.csv starts with a UTF-8 BOM, for Excel (split lists always)


def publish(
    result: Result,
    out: Path,
    fmt: str = "csv",
    *,
    scores: bool = True,
    extras: Extras | None = None,
) -> dict[str, Path]:
    """Write scores, summary, rejects and manifest (and the extras) into ``out`` at once.

    With ``scores=False`` (too many rejects) only rejects and manifest are
    written; ``out`` then shows them beside the previous run's scores and summary
    (carried into this run's version), and the manifest lists exactly the files
    this run wrote. ``out`` is locked for the run (``outdir.claim``; a caller that
    holds it already, as the CLI does from before computing, keeps holding it).
    Returns each written file's path under ``out``.
    """
    extras = extras or Extras()
    started = datetime.now(UTC)
    clock = time.perf_counter()
    with claim(out) as folder, folder.staging() as staging:
        written = _write(result, staging, fmt, scores, extras, started, clock)
        folder.commit(staging, carry=not scores)
    return {name: out / name for name in written}


def _write(
    result: Result,
    staging: Path,
    fmt: str,
    scores: bool,
    extras: Extras,
    started: datetime,
    clock: float,
) -> dict[str, Path]:
    written: dict[str, Path] = {}
    if scores:
        written |= _score_files(result, staging, fmt, extras)
    result.rejects.write_csv(staging / "rejects.csv")
    written["rejects.csv"] = staging / "rejects.csv"
    timings = {**result.timings, "write": time.perf_counter() - clock}
    facts = manifest(result, {}, timings, started)
    if scores and extras.report:
        from .report import render_html  # loaded only when a report is drawn

        page = render_html(result.summary, facts, extras.lang)
        (staging / "report.html").write_text(page, "utf-8")
        written["report.html"] = staging / "report.html"
    _json(staging / "manifest.json", manifest(result, written, timings, started))
    written["manifest.json"] = staging / "manifest.json"
    return written


def _score_files(result: Result, staging: Path, fmt: str, extras: Extras) -> dict[str, Path]:
    name = f"scores.{fmt}"
    write_scores(result.scores, staging / name, fmt, bom=extras.csv_bom)
    written = {name: staging / name}
    _json(staging / "summary.json", result.summary)
    written["summary.json"] = staging / "summary.json"
    written |= write_unmapped(result, staging)
    if extras.split:
        written |= write_split(result.scores, staging, extras.split, fmt)
    if extras.xlsx:
        from .workbook import write_workbook  # xlsxwriter loads only when a workbook is asked for

        write_workbook(result, staging / "scores.xlsx")
        written["scores.xlsx"] = staging / "scores.xlsx"
    return written
