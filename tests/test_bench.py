"""The README's benchmark commands run (on a tiny sample) and the DuckDB peer agrees;
the bench lays out the same rows in every layout and format, and the peer reads them all.

Timings are only printed, never asserted: speed is measured by the benchmark."""

from __future__ import annotations

import gzip
import importlib.util
import json
import re
import shlex
import subprocess
import sys
from pathlib import Path

import polars as pl
import pytest

ROOT = Path(__file__).resolve().parent.parent

pytest.importorskip("duckdb")


def readme_bench_commands() -> list[str]:
    """Every ``python bench/bench.py`` line of the README's bash blocks (after any
    ``pip install ... &&``)."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    blocks = "\n".join(re.findall(r"```bash\n(.*?)```", readme, flags=re.S))
    lines = re.findall(r"^(?:.*&& )?(python bench/bench\.py .*)$", blocks, flags=re.M)
    assert lines, "the README shows no benchmark command"
    return lines


@pytest.mark.parametrize("line", readme_bench_commands())
def test_readme_benchmark_command_on_a_small_sample(line: str, tmp_path: Path) -> None:
    argv = shlex.split(line)
    argv[0] = sys.executable
    argv[argv.index("--customers") + 1] = "1500"
    argv[argv.index("--workdir") + 1] = str(tmp_path)
    done = subprocess.run([*argv, "--repeat", "1"], cwd=ROOT, capture_output=True, text=True,
                          timeout=600)  # fmt: skip
    assert done.returncode == 0, done.stderr
    fmt = argv[argv.index("--format") + 1] if "--format" in argv else "parquet"
    layout = argv[argv.index("--layout") + 1] if "--layout" in argv else "customer"
    results = json.loads(
        (tmp_path / f"results-1500-{fmt}-{layout}.json").read_text(encoding="utf-8")
    )
    assert (results["format"], results["layout"]) == (fmt, layout)
    assert results["agreement"]["customers_peer"] == 1500
    assert all(v == 0 for k, v in results["agreement"].items() if k.startswith("differ_"))


def test_days_floor_runs_beside_the_peer(tmp_path: Path) -> None:
    """The ``days-floor`` contender (the arithmetic alone, rows ordered by account)
    runs on the files of ``dt=`` folders and is reported against the peer."""
    argv = [sys.executable, "bench/bench.py", "--customers", "800", "--workdir", str(tmp_path),
            "--layout", "daily", "--contenders", "duckdb,days-floor", "--repeat", "1"]  # fmt: skip
    done = subprocess.run(argv, cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    results = json.loads((tmp_path / "results-800-parquet-daily.json").read_text(encoding="utf-8"))
    assert set(results["results"]) == {"duckdb", "days-floor"}
    assert results["days-floor/duckdb"] > 0


def test_steps_script_times_every_step(tmp_path: Path) -> None:
    from tierscore.scoring.sample import write_sample

    write_sample(tmp_path, customers=300, seed=3)
    done = subprocess.run([sys.executable, "bench/steps.py", str(tmp_path)], cwd=ROOT,
                          capture_output=True, text=True, timeout=600)  # fmt: skip
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["customers"] > 0
    steps = {"balances: validate, measure, fold", "transactions: validate, measure, fold",
             "scores and summaries"}  # fmt: skip
    assert steps <= set(report["seconds"])


# -- the layouts the bench writes (bench.py's writer, in-process, on a tiny sample) -------


def bench_module():
    spec = importlib.util.spec_from_file_location("bench_script", ROOT / "bench" / "bench.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def laid_out(tmp_path_factory: pytest.TempPathFactory) -> tuple[object, Path]:
    """Every layout in parquet, csv and csv.gz of a 60-customer sample written in two
    part files (as 1M customers are), so that rows must cross files to be laid out."""
    from tierscore.scoring import sample

    bench = bench_module()
    work = tmp_path_factory.mktemp("bench")
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(sample, "PART_CUSTOMERS", 30)
        for fmt in ("parquet", "csv"):
            folder = bench.data_folder(work, 60, fmt, "customer")
            sample.write_sample(folder, customers=60, fmt=fmt, seed=5)
            (folder / "done").write_text("0\n")
    for fmt in bench.FORMATS:
        for layout in bench.LAYOUTS:
            bench.prepare(work, 60, fmt, layout)
    return bench, work


def files_of(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*") if p.is_file())


def rows_of(files: list[Path], fmt: str) -> pl.DataFrame:
    """The rows of the files in order: Parquet typed, CSV (plain or gzip) as its text."""
    if fmt == "parquet":
        return pl.concat([pl.read_parquet(f, hive_partitioning=False) for f in files])
    return pl.concat([pl.read_csv(f, infer_schema=False) for f in files])


LAYOUTS = pytest.mark.xdist_group("bench_layouts")  # one worker writes the layouts once


@LAYOUTS
@pytest.mark.parametrize("fmt", ["parquet", "csv", "csv.gz"])
def test_every_layout_holds_the_samples_rows(laid_out: tuple[object, Path], fmt: str) -> None:
    bench, work = laid_out
    for name in ("balances", "transactions"):
        source = work / f"data-60-{bench.source_format(fmt)}-customer" / name
        original = rows_of(files_of(source), bench.source_format(fmt))
        assert len(files_of(source)) == 2 and original.height > 1000
        for layout in bench.LAYOUTS:
            files = files_of(bench.data_folder(work, 60, fmt, layout) / name)
            assert files and all(f.name.endswith(f".{fmt}") for f in files), (layout, files)
            rows = rows_of(files, fmt)
            assert rows.columns == original.columns, (layout, name)
            assert rows.sort(rows.columns).equals(original.sort(original.columns)), (layout, name)
            if layout in ("date", "shuffled"):
                assert len(files) == 2, (layout, files)  # as many files as the sample
            if layout == "date":
                assert rows["date"].is_sorted() and not rows.equals(original)
            if layout == "shuffled":
                assert not rows["date"].is_sorted() and not rows["customer_id"].is_sorted()


@LAYOUTS
def test_daily_layout_is_one_file_per_date_holding_its_date(
    laid_out: tuple[object, Path],
) -> None:
    bench, work = laid_out
    for fmt in ("parquet", "csv.gz"):  # csv is written as csv.gz is, less the compression
        for name in ("balances", "transactions"):
            folder = bench.data_folder(work, 60, fmt, "daily") / name
            files = files_of(folder)
            for file in files:
                assert file.parent.parent == folder and file.name == f"part-0.{fmt}", file
                day = file.parent.name.removeprefix("dt=")
                held = rows_of([file], fmt)
                assert "dt" not in held.columns and held.height > 0
                assert held["date"].cast(pl.String).unique().to_list() == [day], file
            dates = rows_of(files, fmt)["date"].n_unique()
            assert len(files) == dates > 100


@LAYOUTS
def test_gzip_layout_is_the_csv_text_compressed(laid_out: tuple[object, Path]) -> None:
    bench, work = laid_out
    for name in ("balances", "transactions"):
        plain = files_of(bench.data_folder(work, 60, "csv", "customer") / name)
        packed = files_of(bench.data_folder(work, 60, "csv.gz", "customer") / name)
        assert [p.name + ".gz" for p in plain] == [p.name for p in packed]
        for text, gz in zip(plain, packed, strict=True):
            assert gzip.decompress(gz.read_bytes()) == text.read_bytes()


@LAYOUTS
def test_peer_reads_every_format_and_layout_alike(
    laid_out: tuple[object, Path], tmp_path: Path
) -> None:
    """The DuckDB peer scores the same rows the same, whatever their files."""
    bench, work = laid_out
    runs = [("parquet", "customer"), ("parquet", "daily"), ("csv", "shuffled"),
            ("csv.gz", "daily"), ("csv.gz", "date")]  # fmt: skip
    scores = []
    for fmt, layout in runs:
        out = tmp_path / f"{fmt}-{layout}.parquet"
        bench.run_peer(bench.data_folder(work, 60, fmt, layout), fmt, out, 1)
        scores.append(pl.read_parquet(out))
    assert scores[0].height == 60 and scores[0]["points"].sum() > 0
    for (fmt, layout), other in zip(runs[1:], scores[1:], strict=True):
        assert other.equals(scores[0]), (fmt, layout)


@pytest.mark.parametrize("layout", ["date", "customer"])
def test_ledger_bench_on_a_small_sample(layout: str, tmp_path: Path) -> None:
    """bench/ledger.py (as bench/README.md shows it) runs, and the month-end job from the
    ledger gives the direct run's scores and summary."""
    argv = [sys.executable, "bench/ledger.py", "--customers", "1500", "--workdir",
            str(tmp_path), "--layout", layout, "--repeat", "1"]  # fmt: skip
    done = subprocess.run(argv, cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["identical"] is True and report["layout"] == layout
    assert sorted(report["setup_accumulate_s"]) == [f"2026-0{m}" for m in range(1, 6)]
    assert report["ratio"] > 0


def test_ledger_bound_after_the_ledger_bench(tmp_path: Path) -> None:
    """bench/ledger_bound.py (as bench/README.md shows it) reads what bench/ledger.py
    made: its bound is the sum of its terms with two process starts, and it names what
    to run first when that is missing."""
    bound = [sys.executable, "bench/ledger_bound.py", "--customers", "900", "--workdir",
             str(tmp_path), "--repeat", "1"]  # fmt: skip
    missing = subprocess.run(bound, cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert missing.returncode != 0 and "run bench/ledger.py first" in missing.stderr
    ledger = [sys.executable, "bench/ledger.py", "--customers", "900", "--workdir",
              str(tmp_path), "--repeat", "1"]  # fmt: skip
    assert subprocess.run(ledger, cwd=ROOT, capture_output=True, timeout=600).returncode == 0
    done = subprocess.run(bound, cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    terms = report["least_month_end_s"]
    assert sorted(terms) == sorted(["last month measured", "scores", "process start",
                                    "entry written", "outputs written", "carried in",
                                    "running total"])  # fmt: skip
    assert all(v >= 0 for v in terms.values()) and terms["process start"] > 0
    assert abs(report["bound_s"] - sum(terms.values()) - terms["process start"]) < 0.006
    assert report["bound_ratio"] == pytest.approx(report["bound_s"] / report["direct_s"], abs=0.01)
    assert report["target_ratio"] == 0.25
