"""Benchmark ``tierscore score`` against a DuckDB SQL peer and a polars floor.

    python bench/bench.py --customers 1000000 --workdir /tmp/bench

On the same generated export (``tierscore sample``, made once if missing), each
contender runs in a fresh subprocess, ``--repeat`` times; reported are the best
wall time, the peak RSS (``wait4`` of that process, so per contender), rows per
second, the ratios to tierscore, and whether tierscore and the peer give every
customer the same tier (and the same points). Needs the ``bench`` extra (duckdb).

- ``tierscore``: ``tierscore score ... --format parquet --quiet`` (reads, validates,
  scores, writes scores/summary/rejects/manifest).
- ``duckdb``: ``peer_duckdb.sql``, the same default scoring in SQL, exact, written to
  Parquet.
- ``floor``: polars reading the columns the scoring needs from both inputs and doing
  one group-by sum per input: about the least any engine must do.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import time
from datetime import date, timedelta
from pathlib import Path

HERE = Path(__file__).resolve().parent
PEER_SQL = HERE / "peer_duckdb.sql"
TIERSCORE = Path(sys.executable).with_name("tierscore")
WINDOW = (date(2026, 1, 1), date(2026, 6, 30))  # 2026H1, what the generator writes
CONTENDERS = ("tierscore", "duckdb", "floor")  # also "spark": tierscore --engine spark, local[2]
# polars, once imported here, writes its allocator setting into this process's
# environment; each contender starts with the environment the bench was given.
GIVEN_ENV = dict(os.environ)


# -- contenders run in their own process ------------------------------------------------


def run_peer(data: Path, out: Path, threads: int | None) -> None:
    import duckdb

    start, end = WINDOW
    sql = PEER_SQL.read_text(encoding="utf-8").format(
        balances=data / "balances" / "*.parquet",
        transactions=data / "transactions" / "*.parquet",
        start=start.isoformat(),
        stop=(end + timedelta(days=1)).isoformat(),
        days=(end - start).days + 1,
        out=out,
    )
    con = duckdb.connect()
    if threads:
        con.execute(f"SET threads = {threads}")
    con.execute(sql)


def run_floor(data: Path) -> None:
    import polars as pl

    def strings(*names: str) -> list[pl.Expr]:
        return [pl.col(n).max() for n in names]

    bal = (
        pl.scan_parquet(data / "balances" / "*.parquet")
        .group_by("customer_id")
        .agg(pl.col("balance").sum(), pl.col("date").max(), *strings("account_id", "product"))
    )
    txn = (
        pl.scan_parquet(data / "transactions" / "*.parquet")
        .group_by("customer_id")
        .agg(
            pl.col("amount", "fee", "fee_ratio").sum(),
            pl.col("date").max(),
            *strings("txn_id", "txn_type"),
        )
    )
    b, t = pl.collect_all([bal, txn], engine="streaming")
    print(b.height, t.height)


# -- the harness ------------------------------------------------------------------------


def generate(data: Path, customers: int, fmt: str) -> float:
    if (data / "done").exists():
        return 0.0
    shutil.rmtree(data, ignore_errors=True)
    clock = time.perf_counter()
    subprocess.run(
        [str(TIERSCORE), "sample", "--customers", str(customers), "--out", str(data),
         "--format", fmt, "--seed", "1"],
        check=True,
    )  # fmt: skip
    seconds = time.perf_counter() - clock
    (data / "done").write_text(f"{seconds:.1f}\n")
    return seconds


def command(name: str, data: Path, work: Path, fmt: str, threads: int | None) -> list[str]:
    if name in ("tierscore", "spark"):
        engine = ["--engine", "spark", "--spark-conf", "spark.master=local[2]",
                  "--spark-conf", "spark.ui.enabled=false"] if name == "spark" else []  # fmt: skip
        return [str(TIERSCORE), "score", "--balances", str(data / "balances"),
                "--transactions", str(data / "transactions"), "--period", "2026H1",
                "--out", str(work / f"out-{name}"), "--format", "parquet", "--quiet",
                *engine]  # fmt: skip
    me = [sys.executable, str(Path(__file__).resolve()), "--data", str(data)]
    if name == "duckdb":
        extra = ["--threads", str(threads)] if threads else []
        return [*me, "--run", "duckdb", "--peer-out", str(work / "peer.parquet"), *extra]
    return [*me, "--run", "floor"]


def measure(cmd: list[str]) -> tuple[float, int]:
    """Wall seconds and peak RSS (bytes) of one fresh process."""
    clock = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, env=GIVEN_ENV)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - clock
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise SystemExit(f"failed with exit {proc.returncode}: {' '.join(cmd)}")
    return wall, usage.ru_maxrss * 1024


def row_counts(data: Path, fmt: str) -> dict[str, int]:
    import polars as pl

    counts = {}
    for name in ("balances", "transactions"):
        pattern = str(data / name / f"*.{fmt}")
        lf = pl.scan_parquet(pattern) if fmt == "parquet" else pl.scan_csv(pattern)
        counts[name] = int(lf.select(pl.len()).collect().item())
    return counts


def agreement(work: Path) -> dict[str, int]:
    """Customers on which tierscore and the peer differ: tier, points, any amount."""
    import polars as pl

    ours = pl.read_parquet(work / "out-tierscore" / "scores.parquet")
    peer = pl.read_parquet(work / "peer.parquet")
    compared = [c for c in peer.columns if c != "customer_id"]
    joined = ours.select("customer_id", *compared).join(
        peer, on="customer_id", how="full", suffix="_peer", coalesce=True
    )
    out = {"customers_tierscore": ours.height, "customers_peer": peer.height}
    for column in compared:
        differs = (
            joined[column].cast(pl.String).ne_missing(joined[f"{column}_peer"].cast(pl.String))
        )
        out[f"differ_{column}"] = int(differs.sum())
    return out


def engines_agree(work: Path) -> bool:
    """The Spark engine's scores file equals the polars engine's, row for row."""
    import polars as pl

    ours = pl.read_parquet(work / "out-tierscore" / "scores.parquet")
    return ours.equals(pl.read_parquet(work / "out-spark" / "scores.parquet"))


def versions() -> dict[str, str]:
    import polars as pl

    out = {"python": platform.python_version(), "polars": pl.__version__}
    try:
        import duckdb

        out["duckdb"] = duckdb.__version__
    except ImportError:
        out["duckdb"] = "not installed"
    try:
        import pyspark

        out["pyspark"] = pyspark.__version__
    except ImportError:
        out["pyspark"] = "not installed"
    out["tierscore"] = subprocess.run([str(TIERSCORE), "version"], capture_output=True,
                                      text=True).stdout.strip()  # fmt: skip
    return out


def machine() -> str:
    mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    cpu = "?"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{os.cpu_count()} cores ({cpu}), {mem:.1f} GiB RAM, {platform.platform()}"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--customers", type=int, default=1_000_000)
    ap.add_argument("--workdir", type=Path, default=Path("/tmp/tierscore-bench"))
    ap.add_argument("--format", choices=("parquet", "csv"), default="parquet")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--contenders", default=",".join(CONTENDERS),
                    help="comma-separated subset of tierscore,duckdb,floor")  # fmt: skip
    ap.add_argument("--threads", type=int, default=None, help="DuckDB threads (default: all)")
    ap.add_argument("--run", choices=("duckdb", "floor"), help=argparse.SUPPRESS)
    ap.add_argument("--data", type=Path, help=argparse.SUPPRESS)
    ap.add_argument("--peer-out", type=Path, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.run == "duckdb":
        return run_peer(args.data, args.peer_out, args.threads)
    if args.run == "floor":
        return run_floor(args.data)

    names = [n for n in args.contenders.split(",") if n]
    if args.format == "csv" and set(names) - {"tierscore"}:
        raise SystemExit("the peer and the floor read Parquet: use --contenders tierscore")
    work = args.workdir
    data = work / f"data-{args.customers}-{args.format}"
    work.mkdir(parents=True, exist_ok=True)
    made = generate(data, args.customers, args.format)
    rows = row_counts(data, args.format)
    total_rows = rows["balances"] + rows["transactions"]
    results: dict[str, dict[str, float]] = {}
    for name in names:
        cmd = command(name, data, work, args.format, args.threads)
        runs = [measure(cmd) for _ in range(args.repeat)]
        wall = min(w for w, _ in runs)
        results[name] = {
            "wall_s": round(wall, 2),
            "walls_s": [round(w, 2) for w, _ in runs],
            "peak_rss_gib": round(max(r for _, r in runs) / 2**30, 2),
            "rows_per_s": round(total_rows / wall),
        }
        print(f"{name}: {results[name]}", file=sys.stderr, flush=True)
    report: dict[str, object] = {
        "machine": machine(),
        "versions": versions(),
        "customers": args.customers,
        "format": args.format,
        "rows": rows,
        "generate_s": round(made, 1) if made else "(reused)",
        "results": results,
    }
    ts = results.get("tierscore", {}).get("wall_s")
    for other in ("duckdb", "floor"):
        if ts and other in results:
            report[f"tierscore/{other}"] = round(ts / results[other]["wall_s"], 2)
    if {"tierscore", "duckdb"} <= set(results):
        report["agreement"] = agreement(work)
    if {"tierscore", "spark"} <= set(results):
        report["tierscore/spark"] = round(ts / results["spark"]["wall_s"], 2) if ts else None
        report["spark_scores_identical"] = engines_agree(work)
    text = json.dumps(report, indent=2, ensure_ascii=False)
    print(text)
    (work / f"results-{args.customers}-{args.format}.json").write_text(text + "\n")
    print(markdown(report))


def markdown(report: dict[str, object]) -> str:
    results = report["results"]
    assert isinstance(results, dict)
    lines = [
        "| contender | wall (best of runs) | runs | peak RSS | rows/s |",
        "|---|---|---|---|---|",
    ]
    for name, r in results.items():
        runs = ", ".join(f"{w:.2f}" for w in r["walls_s"])
        lines.append(f"| {name} | {r['wall_s']:.2f} s | {runs} | {r['peak_rss_gib']:.2f} GiB "
                     f"| {r['rows_per_s'] / 1e6:.2f} M |")  # fmt: skip
    for key in ("tierscore/duckdb", "tierscore/floor", "tierscore/spark"):
        if key in report:
            lines.append(f"\n{key}: {report[key]}x")
    return "\n".join(lines)


if __name__ == "__main__":
    main()
