"""Time ``tierscore score`` on a folder of many one-row files per input (issue #17).

    python bench/many_files.py --files 5000 --workdir /tmp/manyfiles
    python bench/many_files.py --files 5000 --workdir /tmp/manyfiles --format parquet

A ``tierscore sample`` export (made once under ``--workdir``) is split into
``--files`` one-row balance files and as many one-row transaction files, each
with the header, named in order (``b000001.csv`` ...). ``tierscore score`` then
runs on the two folders under ``/usr/bin/time -v``: its wall time and peak RSS
are printed, and the run's outputs are checked against a run on the same rows
as one file per input (scores, summary and rejects; rejects by row, as their
file and line differ by construction), so a fast run that scores otherwise
does not pass.
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import polars as pl

TIERSCORE = Path(sys.executable).with_name("tierscore")


def build(work: Path, files: int, fmt: str) -> Path:
    """``work/FMT-FILES/{balances,transactions}/`` of one-row files, and ``whole/`` with
    the same rows as one file per input; made once."""
    root = work / f"{fmt}-{files}"
    if (root / "done").exists():
        return root
    shutil.rmtree(root, ignore_errors=True)
    customers = max(100, files // 15)  # about 30 rows a customer and input
    source = work / f"sample-{customers}"
    if not (source / "done").exists():
        run([str(TIERSCORE), "sample", "--customers", str(customers), "--format", "csv",
             "--out", str(source)])  # fmt: skip
        (source / "done").touch()
    for name, prefix in (("balances", "b"), ("transactions", "t")):
        frame = pl.read_csv(source / name / "part-0000.csv", infer_schema=False).head(files)
        if frame.height < files:
            raise SystemExit(f"the sample has only {frame.height} {name} rows")
        (root / name).mkdir(parents=True)
        (root / "whole" / name).mkdir(parents=True)
        write(frame, root / "whole" / name / f"all.{fmt}", fmt)
        for index in range(files):
            write(frame.slice(index, 1), root / name / f"{prefix}{index:06d}.{fmt}", fmt)
    (root / "done").touch()
    return root


def write(frame: pl.DataFrame, path: Path, fmt: str) -> None:
    if fmt == "csv":
        frame.write_csv(path)
    else:  # typed, as an export writes Parquet
        typed = frame.with_columns(pl.col("date").str.to_date())
        money = [c for c in ("balance", "amount", "fee") if c in frame.columns]
        typed = typed.with_columns(pl.col(money).cast(pl.Decimal(18, 2)))
        if "fee_ratio" in frame.columns:
            typed = typed.with_columns(pl.col("fee_ratio").cast(pl.Decimal(9, 6)))
        typed.write_parquet(path)


def run(cmd: list[str]) -> str:
    done = subprocess.run(cmd, capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed ({done.returncode}):\n{done.stderr[-2000:]}")
    return done.stderr


def score(balances: Path, transactions: Path, out: Path) -> tuple[float, float]:
    """(wall seconds, peak RSS in GiB) of one ``tierscore score`` run."""
    shutil.rmtree(out, ignore_errors=True)
    cmd = ["/usr/bin/time", "-v", str(TIERSCORE), "score", "--balances", str(balances),
           "--transactions", str(transactions), "--period", "2026H1", "--out", str(out),
           "--quiet"]  # fmt: skip
    clock = time.perf_counter()
    said = run(cmd)
    wall = time.perf_counter() - clock
    rss = re.search(r"Maximum resident set size \(kbytes\): (\d+)", said)
    return wall, int(rss.group(1)) / 2**20 if rss else float("nan")


def same_outputs(many: Path, whole: Path) -> bool:
    """Scores and summary alike; rejects alike row for row but for file and line."""
    for name in ("scores.csv",):
        if (many / name).read_bytes() != (whole / name).read_bytes():
            return False
    summaries = [json.loads((p / "summary.json").read_text()) for p in (many, whole)]
    if summaries[0] != summaries[1]:
        return False
    rejects = [
        pl.read_csv(p / "rejects.csv", infer_schema=False).drop("file", "line").sort(pl.all())
        for p in (many, whole)
    ]
    return rejects[0].equals(rejects[1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=5000)
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/manyfiles"))
    parser.add_argument("--format", choices=("csv", "parquet"), default="csv")
    parser.add_argument("--repeat", type=int, default=1)
    args = parser.parse_args()
    root = build(args.workdir, args.files, args.format)
    out = Path(tempfile.mkdtemp(prefix="out-", dir=args.workdir))  # runs may share a workdir
    for _ in range(args.repeat):
        wall, rss = score(root / "balances", root / "transactions", out / "many")
        print(f"{args.files} + {args.files} {args.format} files: {wall:.2f} s, {rss:.2f} GiB")
    wall, rss = score(root / "whole" / "balances", root / "whole" / "transactions", out / "whole")
    print(f"the same rows as one file per input: {wall:.2f} s, {rss:.2f} GiB")
    agree = same_outputs(out / "many", out / "whole")
    print(f"same outputs: {agree}")
    shutil.rmtree(out)
    if not agree:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
