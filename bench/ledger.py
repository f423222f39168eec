"""Benchmark a month-end rolling run from the 积数 ledger against a direct run.

    python bench/ledger.py --customers 1000000 --workdir /tmp/bench
    python bench/ledger.py --customers 1000000 --workdir /tmp/bench --layout date

The bench's generated export (``bench.py``'s, Parquet, in a ``--layout`` of
``bench.py``: date order by default, as daily-appended exports come; made once if
missing) is cut into one export per month, 2026-01..2026-06, each in the same order,
as a bank's monthly exports come (the first month's holds every earlier row: its
carry-in). The ledger is
filled with 2026-01..2026-05 once (setup, timed but not compared). Then, each in a
fresh process, ``--repeat`` times:

- ``direct``: ``tierscore score`` over the six month exports, ``--period 2026H1``;
- ``month-end``: ``tierscore accumulate`` of 2026-06 into the ledger, then
  ``tierscore score --ledger`` for 2026H1: what the month-end job runs.

Reported: best wall times, peak RSS, the ratio month-end / direct (the target is
0.25x), and whether both give byte-identical scores and summary.json.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
from datetime import date
from pathlib import Path

import polars as pl

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench import INPUTS, TIERSCORE, machine, measure, prepare, versions

MONTHS = [f"2026-{m:02d}" for m in range(1, 7)]


def cut(data: Path, exports: Path) -> None:
    """One Parquet export per month and input; the first month holds the earlier rows."""
    if (exports / "done").is_file():
        return
    shutil.rmtree(exports, ignore_errors=True)
    for name in INPUTS:
        rows = pl.scan_parquet(sorted((data / name).rglob("*.parquet")))
        day = pl.col("date").cast(pl.Date)
        month = day.dt.strftime("%Y-%m")
        for index, label in enumerate(MONTHS):
            first = date(2026, index + 1, 1)
            later = month == label if index else day < date(2026, 2, 1)
            part = rows.filter(later if index else later | (day < first))
            target = exports / name / label
            target.mkdir(parents=True)
            part.sink_parquet(target / "part.parquet")
    (exports / "done").write_text("")


def accumulate(exports: Path, ledger: Path, month: str) -> list[str]:
    return [str(TIERSCORE), "accumulate", "--balances", str(exports / "balances" / month),
            "--transactions", str(exports / "transactions" / month), "--month", month,
            "--ledger", str(ledger), "--quiet"]  # fmt: skip


def direct(exports: Path, out: Path) -> list[str]:
    inputs = [a for m in MONTHS for a in ("-b", str(exports / "balances" / m))]
    inputs += [a for m in MONTHS for a in ("-t", str(exports / "transactions" / m))]
    return [str(TIERSCORE), "score", *inputs, "--period", "2026H1", "--out", str(out),
            "--format", "parquet", "--quiet"]  # fmt: skip


def from_ledger(ledger: Path, out: Path) -> list[str]:
    return [str(TIERSCORE), "score", "--ledger", str(ledger), "--period", "2026H1",
            "--out", str(out), "--format", "parquet", "--quiet"]  # fmt: skip


def same(left: Path, right: Path) -> bool:
    scores = pl.read_parquet(left / "scores.parquet").equals(
        pl.read_parquet(right / "scores.parquet")
    )
    summary = (left / "summary.json").read_bytes() == (right / "summary.json").read_bytes()
    return scores and summary


def parse_args(doc: str, repeat: int) -> tuple[argparse.Namespace, Path]:
    """This bench's arguments (shared with ``ledger_bound.py``), and its work folder."""
    ap = argparse.ArgumentParser(description=doc.split("\n\n")[0])
    ap.add_argument("--customers", type=int, default=1_000_000)
    ap.add_argument("--workdir", type=Path, default=Path("/tmp/tierscore-bench"))
    ap.add_argument("--repeat", type=int, default=repeat)
    ap.add_argument("--layout", choices=("customer", "date", "daily", "shuffled"), default="date")
    args = ap.parse_args()
    return args, args.workdir / f"ledger-{args.customers}-{args.layout}"


def main() -> None:
    args, work = parse_args(__doc__, repeat=3)
    _, data, _ = prepare(args.workdir, args.customers, "parquet", args.layout)
    exports, ledger = work / "exports", work / "ledger"
    cut(data, exports)
    shutil.rmtree(ledger, ignore_errors=True)
    setup = {m: round(measure(accumulate(exports, ledger, m))[0], 2) for m in MONTHS[:-1]}
    runs = {"direct": [], "accumulate": [], "score_ledger": []}
    for _ in range(args.repeat):
        runs["direct"].append(measure(direct(exports, work / "out-direct")))
        runs["accumulate"].append(measure(accumulate(exports, ledger, MONTHS[-1])))
        runs["score_ledger"].append(measure(from_ledger(ledger, work / "out-ledger")))
    best = {k: min(w for w, _ in v) for k, v in runs.items()}
    rss = {k: max(r for _, r in v) / 2**30 for k, v in runs.items()}
    month_end = best["accumulate"] + best["score_ledger"]
    report = {
        "customers": args.customers,
        "layout": args.layout,
        "machine": machine(),
        "versions": versions(),
        "setup_accumulate_s": setup,
        "best_s": {k: round(v, 2) for k, v in best.items()},
        "walls_s": {k: [round(w, 2) for w, _ in v] for k, v in runs.items()},
        "peak_rss_gib": {k: round(v, 2) for k, v in rss.items()},
        "month_end_s": round(month_end, 2),
        "ratio": round(month_end / best["direct"], 3),
        "identical": same(work / "out-direct", work / "out-ledger"),
    }
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
