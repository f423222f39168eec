"""The Spark engine gives the polars engine's answers, file for file.

Every case runs one job on both engines and compares scores, rejects (file and
line included), the summary and the per-file row counts. The shared session
(see conftest) reads CSV in 64 KiB splits, so line numbers are also checked
across splits.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from fractions import Fraction
from pathlib import Path
from typing import Any

import polars as pl
import pytest

from tierscore.scoring.errors import ConfigError
from tierscore.scoring.pipeline import Job, Result, run
from tierscore.scoring.sample import write_sample
from tierscore.scoring.sources import parse_mapping
from tierscore.scoring.window import parse_window

from .conftest import on_both_engines, spark_runs_kept, tierscore_here

pytestmark = pytest.mark.spark

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "sample_data"
TIERSCORE = Path(sys.executable).with_name("tierscore")
H1 = parse_window("2026H1")
BAL_HEADER = "customer_id,account_id,product,date,balance"
TXN_HEADER = "customer_id,txn_id,date,txn_type,amount,fee,fee_ratio"


def both(job: Job, spark: Any) -> tuple[Result, Result]:
    return on_both_engines(job, spark)


def assert_same(job: Job, spark: Any) -> Result:
    local, remote = both(job, spark)
    assert remote.scores.equals(local.scores)
    assert remote.scores.schema == local.scores.schema
    assert remote.rejects.equals(local.rejects)
    assert remote.summary == local.summary
    for name, files in local.inputs.items():
        assert [f.as_dict() for f in remote.inputs[name]] == [f.as_dict() for f in files]
    return remote


def sample_job(**changes: Any) -> Job:
    job = Job(str(SAMPLE / "balances.csv"), str(SAMPLE / "transactions.csv"), H1)
    for key, value in changes.items():
        setattr(job, key, value)
    return job


def test_sample_data_with_customers_and_previous(spark: Any) -> None:
    job = sample_job(
        customers=str(SAMPLE / "customers.csv"),
        previous=str(SAMPLE / "previous_scores.csv"),
        near=Fraction(20),
    )
    remote = assert_same(job, spark)
    assert remote.scores.filter(pl.col("customer_id") == "C1")["points"].item() == 3870
    assert remote.summary["customers"] == 285


@pytest.mark.parametrize("rules", ["card-tier", "pyramid", "weighted-grade"])
def test_other_rule_sets(spark: Any, rules: str) -> None:
    assert_same(sample_job(rules=rules), spark)


def test_gb18030_export_with_chinese_headers(spark: Any) -> None:
    folder = SAMPLE / "gb18030"
    job = Job(str(folder / "余额.csv"), str(folder / "交易.csv"), H1)
    job.mapping = parse_mapping(str(folder / "columns.toml"))
    remote = assert_same(job, spark)
    assert remote.inputs["balances"][0].encoding == "gb18030"


def write(path: Path, header: str, rows: list[str]) -> Path:
    path.write_text("\n".join([header, *rows]) + "\n", encoding="utf-8")
    return path


def test_bad_rows_duplicates_and_conflicts(spark: Any, tmp_path: Path) -> None:
    """The same rows the core's bad-input tests use: every kind of reject and mark."""
    bal = write(tmp_path / "bal.csv", BAL_HEADER, [
        "C1,A1,CURRENT,2025-12-31,100000.00", "C1,A2,TIME,2026-02-30,5.00",
        "C2,A4,CURRENT,,5.00", "C2,A5,CURRENT,2026-01-01,abc", "C2,A6,CURRENT,2026-01-01,-1.00",
        ",A7,CURRENT,2026-01-01,1.00", "C3,,CURRENT,2026-01-01,1.00",
        "C3,A8,CURRENT,2026-01-01,1e400", "C4,A9,CURRENT,2026-01-01,100.00",
        "C4,A9,CURRENT,2026-01-01,200.00", "C4,A9,CURRENT,2025-12-01,50.00",
        "C5,A10,CURRENT,2026-01-01,70.00", "C5,A10,CURRENT,2026-01-01,70.00",
        "C5,A11,CURRENT,2026-07-05,70.00", "C5,A12,ZZZ,2026-01-01,70.00",
        " C6 , A13 ,CURRENT,2026-01-01, 12.345", "C7,A14,CURRENT,2026-01-01,1,000.00",
        "C7,A15", "C7,A16,CURRENT,2026-01-01,3.00,",
    ])  # fmt: skip
    txn = write(tmp_path / "txn.csv", TXN_HEADER, [
        "C1,T1,2026-03-05 14:22:10,POS,100.00,,", "C1,T2,2026-03-05,POS,-5.00,,",
        "C1,T3,2026-03-05,POS,0,,", "C1,,2026-03-05,POS,5.00,,", "C1,T4,2026-03-05,POS,5.00,,1.5",
        "C6,T6,2026-03-05,POS,10.00,,", "C6,T6,2026-03-06,POS,10.00,,",
        "C6,T7,2026-03-05,POS,20.00,,", "C6,T7,2026-03-05,POS,20.00,,",
        "C6,T8,2025-12-31,POS,20.00,,", "C6,T9,2026-03-05,MMF_BUY,20.00,,",
        "C6,T10,2026-03-05,ATM_QUERY,20.00,,", "C7,T11,20260305,EXPRESS_REMIT,20000.00,5.00,0.5",
        "C7,T12,2026/03/05,EXPRESS_REMIT,300.00,,",
    ])  # fmt: skip
    remote = assert_same(Job(str(bal), str(txn), H1), spark)
    assert remote.rejects.height >= 12
    assert remote.summary["rows"]["transactions"]["duplicate"] == 1


def test_ids_padded_with_unicode_white_space_meet_in_one_task(spark: Any, tmp_path: Path) -> None:
    """Validation trims a CSV id of Unicode white space (a tab, an ideographic space):
    rows of ``A1`` and ``"\u3000A1"`` are one account, and so are transactions ``T1``
    and ``"T1\t"``. Partitioned by Spark's own ``trim`` (spaces only) they went to
    different tasks, and C1's balance-days came out 740.33 where polars gives 504.42."""
    bal = write(tmp_path / "bal.csv", BAL_HEADER, [
        "C1,A1,CURRENT,2026-01-01,100.00", "C1,\u3000A1,CURRENT,2026-03-01,500.00",
        "C1,A1\t,CURRENT,2026-05-01,900.00", "C2,B1,CURRENT,2026-01-01,10.00",
    ])  # fmt: skip
    txn = write(tmp_path / "txn.csv", TXN_HEADER, [
        "C1,T1,2026-02-01,POS,5.00,,", "C1,T1\t,2026-02-01,POS,6.00,,",
    ])  # fmt: skip
    remote = assert_same(Job(str(bal), str(txn), H1), spark)
    assert remote.summary["rows"]["transactions"]["rejected"] == 2  # one id, two amounts


def test_lines_across_many_splits(spark: Any, tmp_path: Path) -> None:
    """A CSV of ~1 MB is read in about 16 splits; bad rows deep inside keep their line."""
    rows = [f"C{i // 12},A{i // 6},CURRENT,2026-0{1 + i % 6}-01,{i}.{i % 100:02d}"
            for i in range(30_000)]  # fmt: skip
    for line in (2, 9_999, 17_001, 29_500):
        rows[line - 2] = f"C1,B{line},CURRENT,2026-01-01,bad"
    rows[20_000:20_000] = [rows[19_990], rows[19_991]]  # two exact repeats
    bal = write(tmp_path / "bal.csv", BAL_HEADER, rows)
    txn = write(tmp_path / "txn.csv", TXN_HEADER, ["C1,T1,2026-03-05,POS,100.00,,"])
    remote = assert_same(Job(str(bal), str(txn), H1), spark)
    assert remote.rejects["line"].to_list() == [2, 9_999, 17_001, 29_502]
    assert remote.summary["rows"]["balances"]["duplicate"] == 2


def test_parquet_parts_and_row_index(spark: Any, tmp_path: Path) -> None:
    write_sample(tmp_path / "synthetic", 3_000, "parquet", seed=3)
    folder = tmp_path / "synthetic"
    job = Job(str(folder / "balances"), str(folder / "transactions"), H1)
    assert_same(job, spark)
    bal = tmp_path / "bal.parquet"
    pl.DataFrame({
        "customer_id": ["C1", "C2"], "account_id": ["A1", "A2"], "product": ["CURRENT"] * 2,
        "date": ["2026-01-01", "2026-01-01"], "balance": [10.0, -3.0],
    }).with_columns(pl.col("date").str.to_date()).write_parquet(bal)  # fmt: skip
    txn = write(tmp_path / "txn.csv", TXN_HEADER, [])
    remote = assert_same(Job(str(bal), str(txn), H1), spark)
    assert remote.rejects.select("line", "reason").rows() == [(1, "negative balance")]


def test_without_pyspark_a_clear_message(monkeypatch: pytest.MonkeyPatch) -> None:
    from tierscore.scoring import spark_engine

    monkeypatch.setitem(sys.modules, "pyspark", None)
    monkeypatch.setitem(sys.modules, "pyspark.sql", None)
    with pytest.raises(ConfigError, match=r"pip install 'tierscore\[spark\]'"):
        spark_engine.session()


def cli_here(*args: str) -> int:
    """The CLI in this process: ``--engine spark`` then runs on the shared session instead
    of starting a JVM of its own (a fresh process's is started by the Spark failure test in
    test_progress_signals)."""
    from tierscore.cli.errors import _outcome
    from tierscore.cli.main import app

    return _outcome(lambda: app(list(args), prog_name="tierscore"), verbose=False)


def test_cli_uri_out_scores_stay_on_the_cluster(
    spark: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With a URI --out the run leaves the scores on the cluster (the driver holds no row
    per customer) and Spark writes them as Parquet datasets, one partition a tier: they
    hold the polars engine's rows, summary.json is the same, and the folder holds what the
    run wrote and nothing else (an earlier run's report.html is gone)."""
    runs = spark_runs_kept(monkeypatch)
    inputs = ["--balances", str(SAMPLE / "balances.csv"),
              "--transactions", str(SAMPLE / "transactions.csv"), "--period", "2026H1"]  # fmt: skip
    polars_run = cli_here("score", *inputs, "--out", str(tmp_path / "p"), "--format", "parquet")
    folder = tmp_path / "scores-2026H1"
    folder.mkdir()
    (folder / "report.html").write_text("an earlier run's")
    spark_run = cli_here("score", *inputs, "--out", folder.as_uri(), "--no-report",
                         "--engine", "spark")  # fmt: skip
    assert polars_run == 0 and spark_run == 0
    [result] = runs
    assert result.scores.height == 0  # the scores stayed on the cluster
    written = ["manifest.json", "rejects", "scores", "summary.json"]
    assert sorted(p.name for p in folder.iterdir()) == written  # nothing left over
    tiers = sorted(p.name for p in (folder / "scores").iterdir() if p.name.startswith("tier="))
    assert tiers == sorted(f"tier={t['tier']}" for t in result.summary["tiers"] if t["customers"])
    local = pl.read_parquet(tmp_path / "p" / "scores.parquet")
    back = pl.read_parquet(folder / "scores" / "**" / "*.parquet", hive_partitioning=True)
    back = back.select(local.columns).with_columns(pl.col("tier").cast(pl.String))
    assert back.sort("customer_id").equals(local)
    assert (folder / "summary.json").read_bytes() == (tmp_path / "p" / "summary.json").read_bytes()


@pytest.mark.parametrize(
    ("extra", "key"),
    [
        (["--engine", "duckdb"], "--engine"),
        (["--spark-conf", "spark.master=local[1]"], "--spark-conf"),
        (["--engine", "spark", "--spark-conf", "novalue"], "--spark-conf"),
    ],
)
def test_engine_usage_errors_exit_2(tmp_path: Path, extra: list[str], key: str) -> None:
    """In this process: each stops before a Spark session is started."""
    done = tierscore_here("score", "--balances", str(SAMPLE / "balances.csv"),
                          "--transactions", str(SAMPLE / "transactions.csv"), "--period",
                          "2026H1", "--out", str(tmp_path / "out"), *extra)  # fmt: skip
    assert done.returncode == 2 and key in done.stderr
    assert not (tmp_path / "out").exists()


def test_uris_are_read_by_spark(spark: Any, tmp_path: Path) -> None:
    """A file URI and a folder URI: Spark lists the files; answers as for local paths."""
    write_sample(tmp_path / "synthetic", 1_500, "parquet", seed=5)
    folder = tmp_path / "synthetic"
    local = run(Job(str(folder / "balances"), str(SAMPLE / "transactions.csv"), H1))
    job = Job((folder / "balances").as_uri(), (SAMPLE / "transactions.csv").as_uri(), H1)
    from tierscore.scoring import spark_engine

    remote = spark_engine.run(job, spark=spark)
    assert remote.scores.equals(local.scores)
    assert remote.summary == local.summary
    assert [f.rows for f in remote.inputs["balances"]] == [f.rows for f in local.inputs["balances"]]
    assert all(f.path.startswith("file:") for f in remote.inputs["balances"])


def test_catalog_tables(spark: Any, tmp_path: Path) -> None:
    """--balances-table / --transactions-table: any table or view the session knows."""
    from tierscore.scoring import spark_engine

    write_sample(tmp_path / "synthetic", 1_000, "parquet", seed=6)
    folder = tmp_path / "synthetic"
    spark.read.parquet(str(folder / "balances")).createOrReplaceTempView("bal_h1")
    spark.read.parquet(str(folder / "transactions")).createOrReplaceTempView("txn_h1")
    local = run(Job(str(folder / "balances"), str(folder / "transactions"), H1))
    job = Job("", "", H1, tables={"balances": "bal_h1", "transactions": "txn_h1"})
    remote = spark_engine.run(job, spark=spark)
    assert remote.scores.equals(local.scores)
    assert remote.summary == local.summary
    assert remote.inputs["balances"][0].path == "table bal_h1"
    with pytest.raises(ConfigError, match="--engine spark"):
        run(job)  # the polars engine reads files only


def test_rank_tiers_with_ties_across_ranges(spark: Any, tmp_path: Path) -> None:
    """Rank tiers and the concentration come from ranges of numerators scored apart
    (the test session makes 4); many customers share a few scores, so ties cross
    the ranges' edges, and the tiers must still be those of the polars engine."""
    points = [100] * 3 + [90] * 40 + [50] * 60 + [40] * 57 + [30] * 40 + [10] * 3
    rows = [f"C{i:03d},T{i:03d},2026-03-01,POS,{p * 25}.00,," for i, p in enumerate(points)]
    txn = write(tmp_path / "t.csv", TXN_HEADER, rows)
    bal = write(tmp_path / "b.csv", BAL_HEADER, [])
    remote = assert_same(Job(str(bal), str(txn), H1, rules="pyramid"), spark)
    assert [t["customers"] for t in remote.summary["tiers"]] == [3, 40, 60, 100]


def test_uri_out_needs_the_spark_engine(tmp_path: Path) -> None:
    done = tierscore_here("score", "--balances", str(SAMPLE / "balances.csv"),
                          "--transactions", str(SAMPLE / "transactions.csv"), "--period",
                          "2026H1", "--out", (tmp_path / "out").as_uri())  # fmt: skip
    assert done.returncode == 2 and "--out" in done.stderr


@pytest.fixture
def connect_server(spark: Any) -> Iterator[dict[str, str]]:
    """A Spark Connect server in the shared session's JVM; yields the environment a
    client needs to reach it. It listens on the loopback address only, on a port the OS
    picks (the session's ``spark.connect.grpc.binding.port`` is 0, see conftest), so that
    two runs on one machine never meet on 15002, and it wants the session's token.

    A server of its own (a JVM and a local[2] session) took 13 s to start and 15 s more
    for its first, cold run, on the other worker's cores."""
    service = getattr(spark._jvm.org.apache.spark.sql.connect.service, "SparkConnectService$")
    service = getattr(service, "MODULE$")
    service.start(spark.sparkContext._jsc.sc())
    try:
        token = spark.sparkContext.getConf().get("spark.connect.authenticate.token")
        env = {**os.environ, "SPARK_CONNECT_AUTHENTICATE_TOKEN": token,
               "SPARK_REMOTE": f"sc://localhost:{service.localPort()}"}  # fmt: skip
        yield env
    finally:
        service.stop(getattr(service, "stop$default$1")(), getattr(service, "stop$default$2")())


def test_spark_connect_gives_the_same_files(tmp_path: Path, connect_server: dict[str, str]) -> None:
    """SPARK_REMOTE is honoured: here a Spark Connect server on this machine (local[2]).
    The client asks for Spark's adaptive execution, which a production session has (the
    shared session, the server's, runs without it)."""
    inputs = ["--balances", str(SAMPLE / "balances.csv"),
              "--transactions", str(SAMPLE / "transactions.csv"), "--period", "2026H1"]  # fmt: skip
    polars_run = tierscore_here("score", *inputs, "--out", str(tmp_path / "p"), "--no-report")
    connect = subprocess.run(
        [str(TIERSCORE), "score", *inputs, "--out", str(tmp_path / "c"), "--no-report",
         "--engine", "spark", "--spark-conf", "spark.sql.adaptive.enabled=true"],
        capture_output=True, text=True, timeout=600, env=connect_server,
    )  # fmt: skip
    assert polars_run.returncode == 0 and connect.returncode == 0, connect.stderr
    for name in ("scores.csv", "summary.json", "rejects.csv"):
        assert (tmp_path / "c" / name).read_bytes() == (tmp_path / "p" / name).read_bytes()
