"""Shared helpers: write small exports and score them through the library."""

from __future__ import annotations

import contextlib
import io
import os
import random
import secrets
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from tierscore.scoring.pipeline import Job, Result, run
from tierscore.scoring.window import Window, parse_window

BAL_COLUMNS = ("customer_id", "account_id", "product", "date", "balance")
TXN_COLUMNS = ("customer_id", "txn_id", "date", "txn_type", "amount", "fee", "fee_ratio")

Row = Sequence[object]


def write_csv(path: Path, columns: Sequence[str], rows: Sequence[Row]) -> Path:
    lines = [",".join(columns)]
    lines += [",".join("" if v is None else str(v) for v in row) for row in rows]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def as_parquet(csv: Path) -> str:
    """A CSV export as typed Parquet beside it: dates as dates, money as decimals,
    fee ratios as floats (a bank's Parquet export, from the same rows)."""
    import polars as pl

    frame = pl.read_csv(csv, infer_schema=False)
    money = [c for c in ("balance", "amount", "fee") if c in frame.columns]
    ratio = [pl.col("fee_ratio").cast(pl.Float64)] if "fee_ratio" in frame.columns else []
    typed = frame.with_columns(
        pl.col("date").str.to_date(), pl.col(money).cast(pl.Decimal(18, 2)), *ratio
    )
    typed.write_parquet(csv.with_suffix(".parquet"))
    return str(csv.with_suffix(".parquet"))


def txn_rows(rows: Sequence[Row]) -> list[Row]:
    """Transactions given as (customer, date, type, amount[, fee[, ratio]]) get ids."""
    out = []
    for i, row in enumerate(rows):
        customer, day, kind, amount, *rest = row
        fee = rest[0] if rest else None
        ratio = rest[1] if len(rest) > 1 else None
        out.append((customer, f"T{i:05d}", day, kind, amount, fee, ratio))
    return out


Scorer = Callable[..., dict[str, dict[str, Any]]]


@pytest.fixture
def score_rows(tmp_path: Path) -> Scorer:
    """Score balances and transactions rows; returns customer_id -> scores row."""
    counter = iter(range(10**6))

    def score(
        balances: Sequence[Row] = (),
        transactions: Sequence[Row] = (),
        window: Window | str = "2026H1",
        result: list[Result] | None = None,
    ) -> dict[str, dict[str, Any]]:
        n = next(counter)
        bal = write_csv(tmp_path / f"bal{n}.csv", BAL_COLUMNS, balances)
        txn = write_csv(tmp_path / f"txn{n}.csv", TXN_COLUMNS, txn_rows(transactions))
        win = parse_window(window) if isinstance(window, str) else window
        done = run(Job(str(bal), str(txn), win))
        if result is not None:
            result.append(done)
        return {row["customer_id"]: row for row in done.scores.iter_rows(named=True)}

    return score


@dataclass(frozen=True)
class Ran:
    """What a ``tierscore`` command left, as ``subprocess.run(..., capture_output=True,
    text=True)`` gives it: the exit code and the text written to stdout and stderr."""

    returncode: int
    stdout: str
    stderr: str


def tierscore_here(*args: str | os.PathLike[str], cwd: Path | str | None = None) -> Ran:
    """``tierscore ARGS`` in this process: the same exit code (``_outcome`` maps the
    errors as the installed command's ``main`` does) and the same messages, without the
    second or so a new process pays to import Python, polars and pyarrow. Tests about the
    process itself (signals, pipes, stdin, the installed entry point) start one instead."""
    from tierscore.cli.errors import _outcome
    from tierscore.cli.main import app, wants_verbose

    argv = [os.fspath(a) for a in args]
    written = {"stdout": io.BytesIO(), "stderr": io.BytesIO()}
    out, err = (io.TextIOWrapper(raw, encoding="utf-8") for raw in written.values())
    with contextlib.ExitStack() as stack:
        if cwd is not None:
            stack.enter_context(contextlib.chdir(cwd))
        stack.enter_context(contextlib.redirect_stdout(out))
        stack.enter_context(contextlib.redirect_stderr(err))
        code = _outcome(lambda: app(argv, prog_name="tierscore"), wants_verbose(argv))
    out.flush()
    err.flush()
    # read back as a pipe is in text mode (universal newlines)
    text = {k: io.TextIOWrapper(io.BytesIO(v.getvalue()), encoding="utf-8").read()
            for k, v in written.items()}  # fmt: skip
    return Ran(code, text["stdout"], text["stderr"])


def dec(text: str) -> Decimal:
    return Decimal(text)


# The property tests that run whole pipelines per example run this share of their
# examples by default (CI's and the README's run); TIERSCORE_THOROUGH=1 runs them all.
THOROUGH = os.environ.get("TIERSCORE_THOROUGH") == "1"


def examples(wanted: int) -> int:
    """How many examples a whole-pipeline property test tries: ``wanted`` when
    thorough, else two fifths of it (at least 10). Those tests were a third of the
    suite's time; a shrunk counterexample found once is kept by hypothesis' database."""
    return wanted if THOROUGH else max(10, wanted * 2 // 5)


SPARK_GROUP = "spark-session"


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Keep what must share one process on one pytest-xdist worker (``--dist loadgroup``).

    Every test that uses the ``spark`` session goes to one worker, so a run starts one
    JVM for them (a session per worker would double JVM start-up and memory). The tests
    of a module with a module-scoped fixture stay together too: the fixture is built
    once, and tests that use an earlier test's output (the README's commands) keep their
    order. Runs before xdist's own hook, which turns the marks into work units.

    On a worker the long units go first (xdist hands them out in this order, see
    ``--no-loadscope-reorder``): the Spark group, the other groups and the tests that
    start a JVM of their own; single short tests fill the workers at the end.
    """
    for item in items:
        info = getattr(item, "_fixtureinfo", None)
        defs = info.name2fixturedefs.values() if info else ()
        if "spark" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.xdist_group(SPARK_GROUP))
        elif any(d.scope in ("module", "class", "package") for ds in defs for d in ds):
            item.add_marker(pytest.mark.xdist_group(item.nodeid.split("::", 1)[0]))
    if getattr(config.option, "loadgroup", False):  # set on xdist workers only
        items.sort(key=_long_first)


def _long_first(item: pytest.Item) -> int:
    group = item.get_closest_marker("xdist_group")
    if group and group.args[0] == SPARK_GROUP:
        return 0
    return 1 if group or item.get_closest_marker("spark") else 2


def pytest_runtest_setup(item: pytest.Item) -> None:
    """On an xdist worker, fail a test whose group did not reach the scheduler.

    xdist tells its scheduler a test's group by appending ``@group`` to the test's id;
    pytest 9.2 ignores that (pytest-xdist issue 1386), and the groups are then dropped
    without a word: a JVM per worker, and the README's commands split between workers'
    folders. Hence the pin in pyproject.toml, and this check for the next such change.
    """
    grouped = getattr(item.config.option, "loadgroup", False)  # set on xdist workers only
    if grouped and item.get_closest_marker("xdist_group") and "@" not in item.nodeid:
        pytest.fail(
            "pytest-xdist did not group this test (--dist loadgroup; pytest-xdist issue "
            "1386): use the pytest that pyproject.toml allows, or run with -n 0",
            pytrace=False,
        )


# The JVMs the tests start (the shared session's, the CLI's own in the Spark failure test)
# compile with the client compiler only and collect garbage on one thread: on the tiny
# inputs of tests the server compiler's and the parallel collector's threads cost a third
# of the JVM's CPU (on two cores, taken from the other worker) and gave nothing back (the
# failure test's JVM started in 18 s, 10 s so).
QUICK_JVM = "-XX:TieredStopAtLevel=1 -XX:+UseSerialGC"


@pytest.fixture(scope="session")
def spark() -> Any:
    """One local[2] Spark session for the whole run (starting one takes seconds).

    Small file splits make Spark read every CSV in several pieces, so line
    numbering across splits is exercised by every Spark test.
    """
    pytest.importorskip("pyspark")
    from tierscore.scoring.spark_engine import session

    active = session(
        {
            "spark.master": "local[2]",
            # Two shuffle partitions a core's worth, and no adaptive re-planning between
            # stages: on these tiny inputs both are overhead (the Spark tests took 65 s
            # where they now take 42). The Spark Connect test's client asks for Spark's
            # adaptive execution, as a production session has it.
            "spark.sql.shuffle.partitions": "2",
            "spark.sql.adaptive.enabled": "false",
            "spark.sql.files.maxPartitionBytes": "65536",
            "spark.sql.files.openCostInBytes": "0",
            "spark.ui.enabled": "false",
            "spark.driver.extraJavaOptions": QUICK_JVM,
            # for the Spark Connect test's server, started in this JVM (test_spark_engine):
            # the loopback address only, a port the OS picks, and a token
            "spark.connect.grpc.binding.address": "127.0.0.1",
            "spark.connect.grpc.binding.port": "0",
            "spark.connect.authenticate.token": secrets.token_hex(16),
        }
    )
    active.sparkContext.setLogLevel("ERROR")
    yield active
    active.stop()


SAMPLE_DATA = Path(__file__).resolve().parent.parent / "sample_data"
_ON_BOTH: dict[str, tuple[Result, Result]] = {}


def on_both_engines(job: Job, spark: Any) -> tuple[Result, Result]:
    """The job on the polars engine and on the shared Spark session.

    A job that reads only the shipped sample data is run once a session, however many
    tests check it (test_report_lang and test_measure_gates made test_spark_engine's
    card-tier and pyramid runs again, seconds each): its results are shared, so a test
    must only read them.
    """
    from tierscore.scoring import spark_engine

    given = (job.balances, job.transactions, job.customers, job.previous, job.overrides)
    shared = all(
        isinstance(p, str) and Path(p).resolve().is_relative_to(SAMPLE_DATA) for p in given if p
    )
    key = repr(job)
    if shared and key in _ON_BOTH:
        return _ON_BOTH[key]
    both = run(job), spark_engine.run(job, spark=spark)
    if shared:
        _ON_BOTH[key] = both
    return both


def random_csv(rng: random.Random, max_rows: int) -> str:
    """A CSV of 4 columns whose rows have 1 to 6 fields, some quoted (with commas,
    doubled quotes and newlines inside), some blank, LF or CRLF, ending in a newline
    or not: what the byte-level shaper and polars must agree on."""

    def cell() -> str:
        if rng.random() < 0.6:
            return rng.choice(["", "a", "12.5", "客户", "x y"])
        return '"' + rng.choice(["", "a,b", 'say ""hi""', "two\nlines", "\n", ",\n,"]) + '"'

    end = rng.choice(["\n", "\r\n"])
    rows = ["h1,h2,h3,h4"]
    for _ in range(rng.randint(0, max_rows)):
        width = rng.choice([4, 4, 4, 4, 1, 2, 3, 5, 6])
        rows.append(",".join(cell() for _ in range(width)))
    return end.join(rows) + (end if rng.random() < 0.8 else "")


@pytest.fixture(scope="module")
def window_unchecked() -> Any:
    """Runs that score whatever the window: property tests draw a few rows at random
    dates around the window and compare the scores with the reference, so an input
    whose rows all miss the window would stop the run (``coverage.check_window``,
    tested in test_checks) and leave nothing to compare. Module-scoped: hypothesis
    refuses function-scoped fixtures under ``@given``."""
    with pytest.MonkeyPatch.context() as patched:
        patched.setattr("tierscore.scoring.pipeline.check_window", lambda *args: None)
        yield


def spark_runs_kept(monkeypatch: pytest.MonkeyPatch) -> list[Result]:
    """The ``Result`` of every ``--engine spark`` run the CLI makes from now on, kept as it
    passes: a test then checks the run itself (rows left on the cluster, rejects by line)
    beside the files it wrote."""
    from tierscore.scoring import spark_engine

    runs: list[Result] = []
    real = spark_engine.run

    def kept(*args: Any, **kwargs: Any) -> Result:
        runs.append(real(*args, **kwargs))
        return runs[-1]

    monkeypatch.setattr(spark_engine, "run", kept)
    return runs
