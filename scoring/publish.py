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
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

import polars as pl

from . import __version__
from .pipeline import Result
from .sources import sha256_of

SCORES_FORMATS = ("csv", "parquet")


def write_scores(scores: pl.DataFrame, target: Path | IO[bytes], fmt: str = "csv") -> None:
    if fmt == "parquet":
        scores.write_parquet(target, statistics=False)
    else:
        scores.write_csv(target)


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
            for name, path in outputs.items()
        ],
        "counts": {
            "customers": result.summary["customers"],
            "rejects": result.rejects.height,
            "rows": result.summary["rows"],
        },
        "timings_s": {stage: round(seconds, 3) for stage, seconds in timings.items()},
    }


def publish(
    result: Result,
    out: Path,
    fmt: str = "csv",
    *,
    scores: bool = True,
) -> dict[str, Path]:
    """Write scores, summary, rejects and manifest into ``out`` all at once.

    With ``scores=False`` (too many rejects) only rejects and manifest are
    published, so the operator can see why without trusting the scores.
    """
    started = datetime.now(UTC)
    clock = time.perf_counter()
    out.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".tierscore-", dir=out.parent))
    try:
        written: dict[str, Path] = {}
        if scores:
            name = f"scores.{fmt}"
            write_scores(result.scores, staging / name, fmt)
            written[name] = staging / name
            _json(staging / "summary.json", result.summary)
            written["summary.json"] = staging / "summary.json"
        result.rejects.write_csv(staging / "rejects.csv")
        written["rejects.csv"] = staging / "rejects.csv"
        timings = {**result.timings, "write": time.perf_counter() - clock}
        _json(staging / "manifest.json", manifest(result, written, timings, started))
        written["manifest.json"] = staging / "manifest.json"
        final = {name: out / name for name in written}
        for name, path in written.items():
            os.replace(path, final[name])
        return final
    finally:
        shutil.rmtree(staging, ignore_errors=True)
