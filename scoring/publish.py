"""Writing a run's files so that a reader never sees a half-published run.

Everything is written into a temporary folder beside ``--out`` and renamed
into place only after every file is complete; a run that fails leaves the
previous files in ``--out`` untouched. Scores are written sorted and with fixed
formatting, so the same inputs give byte-identical files.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import polars as pl

from . import __version__
from .pipeline import Result
from .sources import sha256_of
from .split import SPLIT_FOLDERS, write_scores, write_split

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


# What a run may write: an earlier run's copy of any of these is not left behind.
OUTPUT_NAMES = (
    *(f"scores.{fmt}" for fmt in SCORES_FORMATS),
    "summary.json",
    "scores.xlsx",
    "report.html",
    *SPLIT_FOLDERS.values(),
)


@dataclass(frozen=True)
class Extras:
    """Optional outputs beside the scores: split lists, a workbook, the HTML report."""

    split: str | None = None  # "tier" or "branch"
    xlsx: bool = False
    report: bool = True


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
    published, so the operator can see why without trusting the scores.
    """
    extras = extras or Extras()
    started = datetime.now(UTC)
    clock = time.perf_counter()
    out.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".tierscore-", dir=out.parent))
    try:
        written: dict[str, Path] = {}
        if scores:
            written |= _score_files(result, staging, fmt, extras)
        result.rejects.write_csv(staging / "rejects.csv")
        written["rejects.csv"] = staging / "rejects.csv"
        timings = {**result.timings, "write": time.perf_counter() - clock}
        facts = manifest(result, {}, timings, started)
        if scores and extras.report:
            from .report import render_html  # loaded only when a report is drawn

            (staging / "report.html").write_text(render_html(result.summary, facts), "utf-8")
            written["report.html"] = staging / "report.html"
        _json(staging / "manifest.json", manifest(result, written, timings, started))
        written["manifest.json"] = staging / "manifest.json"
        return _move_into(out, staging, written, replace=scores)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _score_files(result: Result, staging: Path, fmt: str, extras: Extras) -> dict[str, Path]:
    name = f"scores.{fmt}"
    write_scores(result.scores, staging / name, fmt)
    written = {name: staging / name}
    _json(staging / "summary.json", result.summary)
    written["summary.json"] = staging / "summary.json"
    if extras.split:
        written |= write_split(result.scores, staging, extras.split, fmt)
    if extras.xlsx:
        from .workbook import write_workbook  # xlsxwriter loads only when a workbook is asked for

        write_workbook(result, staging / "scores.xlsx")
        written["scores.xlsx"] = staging / "scores.xlsx"
    return written


def _move_into(
    out: Path, staging: Path, written: dict[str, Path], replace: bool
) -> dict[str, Path]:
    """Rename every file into ``out``. A run that publishes scores also takes away the
    earlier run's outputs it did not write (a split folder, a workbook, the other
    scores format), so the folder never mixes two runs; split folders are replaced
    whole, so no list of a tier that is now empty lingers."""
    final = {name: out / name for name in written}
    if replace:
        for name in OUTPUT_NAMES:
            if (out / name).exists() and name not in written:
                os.replace(out / name, staging / f"old-{name}")
    for folder in SPLIT_FOLDERS.values():
        if (staging / folder).is_dir():
            if (out / folder).exists():
                os.replace(out / folder, staging / f"old-{folder}")
            os.replace(staging / folder, out / folder)
    for name, path in written.items():
        if path.exists():
            os.replace(path, final[name])
    return final
