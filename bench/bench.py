"""Benchmark ``tierscore score`` against a DuckDB SQL peer and a polars floor.

    python bench/bench.py --customers 1000000 --workdir /tmp/bench
    python bench/bench.py --customers 1000000 --workdir /tmp/bench --layout daily
    python bench/bench.py --customers 1000000 --workdir /tmp/bench --format csv.gz

On the same generated export (``tierscore sample``, made once if missing), each
contender runs in a fresh subprocess, ``--repeat`` times; reported are the best
wall time, the peak RSS (``wait4`` of that process, so per contender), rows per
second, the ratios to tierscore, and whether tierscore and the peer give every
customer the same tier (and the same points). Needs the ``bench`` extra (duckdb).

The export can be laid out as banks' warehouses write it (``--layout``), in
``--format`` parquet, csv or csv.gz; every contender reads the same files:

- ``customer``: what ``tierscore sample`` writes, sorted by customer, account, date.
- ``date``: the same rows sorted by date (a daily-appended export), as many files.
- ``daily``: one file per date in ``dt=YYYY-MM-DD/`` folders (Hive, Spark), each file
  still holding its ``date`` column.
- ``shuffled``: the rows in a seeded random order, as many files.

Contenders:

- ``tierscore``: ``tierscore score ... --format parquet --quiet`` (reads, validates,
  scores, writes scores/summary/rejects/manifest).
- ``duckdb``: ``peer_duckdb.sql``, the same default scoring in SQL, exact, written to
  Parquet.
- ``floor``: polars reading the columns the scoring needs from both inputs and doing
  one group-by sum per input: about the least any engine must do (Parquet only).
- ``days-floor``: the least a balance-days scorer must do in polars, whatever the
  row order: the floor, but with each balance row's days to its account's next row
  (the rows ordered by account and date in memory, on one 64-bit key, as tierscore
  orders them) summed as balance x days per customer and product; transactions
  summed per customer and type. No validation, statuses, rejects, points, tiers or
  outputs: what is left for those under a target ratio (Parquet only).
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
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # polars is imported where used: the peer's process never loads it
    import polars as pl

HERE = Path(__file__).resolve().parent
PEER_SQL = HERE / "peer_duckdb.sql"
TIERSCORE = Path(sys.executable).with_name("tierscore")
WINDOW = (date(2026, 1, 1), date(2026, 6, 30))  # 2026H1, what the generator writes
# also "days-floor" (``FLOORS``) and "spark" (tierscore --engine spark, local[2])
CONTENDERS = ("tierscore", "duckdb", "floor")
FORMATS = ("parquet", "csv", "csv.gz")
LAYOUTS = ("customer", "date", "daily", "shuffled")
INPUTS = ("balances", "transactions")
SHUFFLE_SEED = 19
# The generator's columns, in file order, as the peer reads CSV: money as exact decimals.
CSV_COLUMNS = {
    "balances": {"customer_id": "VARCHAR", "account_id": "VARCHAR", "product": "VARCHAR",
                 "date": "DATE", "balance": "DECIMAL(18,2)"},
    "transactions": {"customer_id": "VARCHAR", "txn_id": "VARCHAR", "date": "DATE",
                     "txn_type": "VARCHAR", "amount": "DECIMAL(18,2)",
                     "fee": "DECIMAL(18,2)", "fee_ratio": "DECIMAL(7,6)"},
}  # fmt: skip
# polars, once imported here, writes its allocator setting into this process's
# environment; each contender starts with the environment the bench was given.
GIVEN_ENV = dict(os.environ)


# -- contenders run in their own process ------------------------------------------------


def peer_source(folder: Path, name: str, fmt: str) -> str:
    """The DuckDB table function reading every file of one input, at any depth: the
    ``dt=`` folders of the daily layout add nothing, as the files hold ``date``."""
    if fmt == "parquet":
        return f"read_parquet('{folder}/**/*.parquet', hive_partitioning = false)"
    columns = ", ".join(f"'{c}': '{t}'" for c, t in CSV_COLUMNS[name].items())
    options = "header = true, delim = ',', quote = '\"', auto_detect = false"
    return (f"read_csv('{folder}/**/*.{fmt}', {options}, hive_partitioning = false, "
            f"columns = {{{columns}}})")  # fmt: skip


def run_peer(data: Path, fmt: str, out: Path, threads: int | None) -> None:
    import duckdb

    start, end = WINDOW
    sql = PEER_SQL.read_text(encoding="utf-8").format(
        read_balances=peer_source(data / "balances", "balances", fmt),
        read_transactions=peer_source(data / "transactions", "transactions", fmt),
        start=start.isoformat(),
        stop=(end + timedelta(days=1)).isoformat(),
        days=(end - start).days + 1,
        out=out,
    )
    con = duckdb.connect()
    if threads:
        con.execute(f"SET threads = {threads}")
    con.execute(sql)


def scan_input(data: Path, name: str) -> pl.LazyFrame:
    """Every Parquet file of one input, at any depth (the floors' reader)."""
    import polars as pl

    return pl.scan_parquet(data / name / "**" / "*.parquet", hive_partitioning=False)


def run_floor(data: Path) -> None:
    import polars as pl

    def strings(*names: str) -> list[pl.Expr]:
        return [pl.col(n).max() for n in names]

    bal = (
        scan_input(data, "balances")
        .group_by("customer_id")
        .agg(pl.col("balance").sum(), pl.col("date").max(), *strings("account_id", "product"))
    )
    txn = (
        scan_input(data, "transactions")
        .group_by("customer_id")
        .agg(
            pl.col("amount", "fee", "fee_ratio").sum(),
            pl.col("date").max(),
            *strings("txn_id", "txn_type"),
        )
    )
    b, t = pl.collect_all([bal, txn], engine="streaming")
    print(b.height, t.height)


def run_days_floor(data: Path) -> None:
    import polars as pl

    def cents(column: str) -> pl.Expr:
        return (pl.col(column) * 100).cast(pl.Int64)

    def code(column: str) -> pl.Expr:
        return pl.col(column).cast(pl.Categorical).to_physical()

    first, last = ((d - date(1970, 1, 1)).days for d in WINDOW)
    day = pl.col("date").cast(pl.Int32)
    key = pl.col("account_id").hash(7) // 65536 * 65536 + day.cast(pl.UInt64)  # hash, then day
    held = scan_input(data, "balances").select(
        "customer_id", key.alias("key"), day.alias("day"), cents("balance"), code("product")
    )
    rows = held.collect(engine="streaming").sort("key")
    account = pl.col("key") // 65536
    after = pl.when(account == account.shift(-1)).then(pl.col("day").shift(-1)).otherwise(last + 1)
    days = (after.clip(first, last + 1) - pl.col("day").clip(first, last + 1)).clip(0)
    valued = rows.lazy().with_columns((pl.col("balance") * days).alias("value"))  # not in agg
    b = valued.group_by("customer_id", "product").agg(pl.col("value").sum()).collect()
    del rows, valued  # the held balances, before the transactions are read
    ratio = pl.col("fee_ratio").fill_null(1).cast(pl.Float64) * 1e6  # a floor: not exact
    counted = cents("amount") * ratio.cast(pl.Int64)
    txn = scan_input(
        data, "transactions"
    ).select(  # per row first: an expression in agg is per group
        "customer_id", code("txn_type"), counted.alias("value"), pl.col("txn_id").hash(3)
    )
    summed = txn.group_by("customer_id", "txn_type").agg(
        pl.col("value").sum(), pl.col("txn_id").max()
    )
    t = summed.collect(engine="streaming")
    print(b.height, t.height)


FLOORS = {"floor": run_floor, "days-floor": run_days_floor}  # run in a process of their own


# -- the export, generated once and laid out once per format and layout ------------------


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


def source_format(fmt: str) -> str:
    """The generated sample a format is derived from: CSV text is copied as text (never
    parsed and printed again), so a ``csv.gz`` file holds exactly the CSV's bytes."""
    return "parquet" if fmt == "parquet" else "csv"


def data_folder(work: Path, customers: int, fmt: str, layout: str) -> Path:
    return work / f"data-{customers}-{fmt}-{layout}"


def scan_files(files: list[Path], fmt: str) -> pl.LazyFrame:
    """Files of the generated sample, in order; CSV as text, so it is copied verbatim."""
    import polars as pl

    if fmt == "parquet":
        return pl.scan_parquet(files)
    return pl.scan_csv(files, infer_schema=False)


def sink(frame: pl.LazyFrame, target: Path, fmt: str) -> None:
    """Stream ``frame`` to one file."""
    if fmt == "parquet":
        frame.sink_parquet(target, mkdir=True)
    else:
        compression = "gzip" if fmt == "csv.gz" else "uncompressed"
        frame.sink_csv(target, compression=compression, mkdir=True)


def date_chunks(frame: pl.LazyFrame, parts: int) -> list[list[object]]:
    """The dates, in order, cut into ``parts`` runs of about equal row counts: each run
    becomes one file of the ``date`` layout (or one batch of ``daily`` files), so only
    about one file's rows are sorted at once."""
    import polars as pl

    per_date = frame.group_by("date").len().sort("date").collect(engine="streaming")
    total = max(1, int(per_date["len"].sum()))
    first_row = per_date["len"].cum_sum() - per_date["len"]
    chunk = per_date.with_columns((first_row * parts // total).alias("chunk"))
    return [chunk.filter(pl.col("chunk") == i)["date"].to_list() for i in range(parts)]


def write_input(source: Path, src_fmt: str, target: Path, fmt: str, layout: str) -> None:
    """One input (``balances/`` or ``transactions/``) of ``source`` laid out in ``target``:
    every row once, in as many files as the source, except ``daily`` (one per date).
    Each file (``daily``: each run of dates) is sorted on its own, so memory holds about
    one source file's rows at a time, however many customers."""
    import polars as pl

    files = sorted(source.glob(f"*.{src_fmt}"))
    frame = scan_files(files, src_fmt)
    if layout == "customer":  # the sample's own files, converted (csv to csv.gz)
        for file in files:
            stem = file.name.removesuffix(f".{src_fmt}")
            sink(scan_files([file], src_fmt), target / f"{stem}.{fmt}", fmt)
    elif layout in ("date", "daily"):  # files of whole dates, each file sorted by date
        for i, dates in enumerate(date_chunks(frame, len(files))):
            chunk = frame.filter(pl.col("date").is_in(dates)).sort("date", maintain_order=True)
            if layout == "date":
                sink(chunk, target / f"part-{i:04d}.{fmt}", fmt)
            else:
                write_days(chunk.collect(engine="streaming"), target, fmt)
    else:  # shuffled: each row to a file by a seeded hash of its position, in hash order
        keyed = frame.with_row_index("_row").with_columns(_key=pl.col("_row").hash(SHUFFLE_SEED))
        for i in range(len(files)):
            chunk = keyed.filter(pl.col("_key") % len(files) == i).sort("_key")
            sink(chunk.drop("_row", "_key"), target / f"part-{i:04d}.{fmt}", fmt)


def write_days(rows: pl.DataFrame, target: Path, fmt: str) -> None:
    """``target/dt=YYYY-MM-DD/part-0.FMT``, one file per date, as Hive and Spark write a
    date-partitioned table; the files keep their ``date`` column."""
    for (day,), held in rows.partition_by("date", as_dict=True, maintain_order=True).items():
        folder = target / f"dt={day}"
        folder.mkdir()
        write(held, folder / f"part-0.{fmt}", fmt)


def write(rows: pl.DataFrame, target: Path, fmt: str) -> None:
    if fmt == "parquet":
        rows.write_parquet(target)
    else:
        rows.write_csv(target, compression="gzip" if fmt == "csv.gz" else "uncompressed")


def write_layout(source: Path, src_fmt: str, data: Path, fmt: str, layout: str) -> float:
    """``data/{balances,transactions}/`` laid out from the sample in ``source``; made once
    (``data/done``). Returns the seconds taken, 0 when reused."""
    if (data / "done").exists():
        return 0.0
    shutil.rmtree(data, ignore_errors=True)
    clock = time.perf_counter()
    for name in INPUTS:
        (data / name).mkdir(parents=True)
        write_input(source / name, src_fmt, data / name, fmt, layout)
    seconds = time.perf_counter() - clock
    (data / "done").write_text(f"{seconds:.1f}\n")
    return seconds


def prepare(work: Path, customers: int, fmt: str, layout: str) -> tuple[Path, Path, float]:
    """The sample (generated once) and the folder of this format and layout (derived
    once, or the sample itself); the seconds spent making what was missing."""
    src_fmt = source_format(fmt)
    sample = data_folder(work, customers, src_fmt, "customer")
    seconds = generate(sample, customers, src_fmt)
    data = data_folder(work, customers, fmt, layout)
    if data != sample:
        seconds += write_layout(sample, src_fmt, data, fmt, layout)
    return sample, data, seconds


# -- the harness ------------------------------------------------------------------------


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
        return [*me, "--run", "duckdb", "--format", fmt, "--peer-out", str(work / "peer.parquet"),
                *extra]  # fmt: skip
    return [*me, "--run", name]


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


def row_counts(sample: Path, fmt: str) -> dict[str, int]:
    """Rows per input of the generated sample: every layout holds the same rows."""
    import polars as pl

    counts = {}
    for name in INPUTS:
        files = sorted((sample / name).glob(f"*.{fmt}"))
        counts[name] = int(scan_files(files, fmt).select(pl.len()).collect().item())
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


def parse_args() -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--customers", type=int, default=1_000_000)
    ap.add_argument("--workdir", type=Path, default=Path("/tmp/tierscore-bench"))
    ap.add_argument("--format", choices=FORMATS, default="parquet")
    ap.add_argument("--layout", choices=LAYOUTS, default="customer",
                    help="row order and files of the export (see above)")  # fmt: skip
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--contenders", default=",".join(CONTENDERS),
                    help="comma-separated: tierscore,duckdb,floor,days-floor,spark")  # fmt: skip
    ap.add_argument("--threads", type=int, default=None, help="DuckDB threads (default: all)")
    ap.add_argument("--run", choices=("duckdb", *FLOORS), help=argparse.SUPPRESS)
    ap.add_argument("--data", type=Path, help=argparse.SUPPRESS)
    ap.add_argument("--peer-out", type=Path, help=argparse.SUPPRESS)
    return ap.parse_args()


def contenders(given: str, fmt: str) -> list[str]:
    """The contenders asked for; the floors read Parquet only, so CSV runs skip them."""
    names = [n for n in given.split(",") if n]
    unknown = set(names) - {*CONTENDERS, *FLOORS, "spark"}
    if unknown:
        raise SystemExit(f"unknown contender(s): {', '.join(sorted(unknown))}")
    for floor in FLOORS:
        if fmt != "parquet" and floor in names:
            print(f"{floor} skipped: it reads Parquet, not {fmt}", file=sys.stderr)
            names.remove(floor)
    return names


def time_contender(cmd: list[str], repeat: int, total_rows: int) -> dict[str, object]:
    runs = [measure(cmd) for _ in range(repeat)]
    wall = min(w for w, _ in runs)
    return {
        "wall_s": round(wall, 2),
        "walls_s": [round(w, 2) for w, _ in runs],
        "peak_rss_gib": round(max(r for _, r in runs) / 2**30, 2),
        "rows_per_s": round(total_rows / wall),
    }


def main() -> None:
    args = parse_args()
    if args.run == "duckdb":
        return run_peer(args.data, args.format, args.peer_out, args.threads)
    if args.run in FLOORS:
        return FLOORS[args.run](args.data)

    names = contenders(args.contenders, args.format)
    work = args.workdir
    work.mkdir(parents=True, exist_ok=True)
    sample, data, made = prepare(work, args.customers, args.format, args.layout)
    rows = row_counts(sample, source_format(args.format))
    results: dict[str, dict[str, object]] = {}
    for name in names:
        cmd = command(name, data, work, args.format, args.threads)
        results[name] = time_contender(cmd, args.repeat, rows["balances"] + rows["transactions"])
        print(f"{name}: {results[name]}", file=sys.stderr, flush=True)
    report: dict[str, object] = {
        "machine": machine(),
        "versions": versions(),
        "customers": args.customers,
        "format": args.format,
        "layout": args.layout,
        "files": {n: sum(1 for p in (data / n).rglob("*") if p.is_file()) for n in INPUTS},
        "rows": rows,
        "generate_s": round(made, 1) if made else "(reused)",
        "results": results,
    }
    ts = results.get("tierscore", {}).get("wall_s")
    for other in ("duckdb", *FLOORS):
        if ts and other in results:
            report[f"tierscore/{other}"] = round(ts / results[other]["wall_s"], 2)
    if {"days-floor", "duckdb"} <= set(results):  # what a target ratio leaves for the rest
        report["days-floor/duckdb"] = round(
            results["days-floor"]["wall_s"] / results["duckdb"]["wall_s"], 2
        )
    if {"tierscore", "duckdb"} <= set(results):
        report["agreement"] = agreement(work)
    if {"tierscore", "spark"} <= set(results):
        report["tierscore/spark"] = round(ts / results["spark"]["wall_s"], 2) if ts else None
        report["spark_scores_identical"] = engines_agree(work)
    text = json.dumps(report, indent=2, ensure_ascii=False)
    print(text)
    name = f"results-{args.customers}-{args.format}-{args.layout}.json"
    (work / name).write_text(text + "\n")
    print(markdown(report))


def markdown(report: dict[str, object]) -> str:
    results = report["results"]
    assert isinstance(results, dict)
    lines = [
        f"{report['customers']:,} customers, {report['format']}, layout {report['layout']}\n",
        "| contender | wall (best of runs) | runs | peak RSS | rows/s |",
        "|---|---|---|---|---|",
    ]
    for name, r in results.items():
        runs = ", ".join(f"{w:.2f}" for w in r["walls_s"])
        lines.append(f"| {name} | {r['wall_s']:.2f} s | {runs} | {r['peak_rss_gib']:.2f} GiB "
                     f"| {r['rows_per_s'] / 1e6:.2f} M |")  # fmt: skip
    for key in (
        "tierscore/duckdb",
        "tierscore/floor",
        "tierscore/days-floor",
        "days-floor/duckdb",
        "tierscore/spark",
    ):
        if key in report:
            lines.append(f"\n{key}: {report[key]}x")
    return "\n".join(lines)


if __name__ == "__main__":
    main()
