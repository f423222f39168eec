"""End-to-end runs of the installed ``tierscore`` command on files."""

from __future__ import annotations

import hashlib
import io
import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import polars as pl
import pytest

ROOT = Path(__file__).resolve().parent.parent
TIERSCORE = Path(sys.executable).with_name("tierscore")
SAMPLE = ROOT / "sample_data"
INPUTS = ["--balances", str(SAMPLE / "balances.csv"),
          "--transactions", str(SAMPLE / "transactions.csv")]  # fmt: skip


def tierscore(*args: str, **kwargs: object) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(TIERSCORE), *args], capture_output=True, text=True, **kwargs)


@pytest.fixture(scope="module")
def sample_run(
    tmp_path_factory: pytest.TempPathFactory,
) -> tuple[Path, subprocess.CompletedProcess]:
    out = tmp_path_factory.mktemp("run") / "out"
    done = tierscore("score", *INPUTS, "--period", "2026H1", "--out", str(out))
    return out, done


def test_score_publishes_files_and_prints_tiers(sample_run: tuple) -> None:
    out, done = sample_run
    assert done.returncode == 0, done.stderr
    assert done.stdout == ""
    assert "五星级" in done.stderr and "customers" in done.stderr
    assert sorted(p.name for p in out.iterdir()) == [
        "manifest.json", "rejects.csv", "scores.csv", "summary.json",
    ]  # fmt: skip
    scores = pl.read_csv(out / "scores.csv", infer_schema=False)
    c1 = scores.filter(pl.col("customer_id") == "C1").row(0, named=True)
    assert (c1["points"], c1["tier"], c1["quality"]) == ("3870.00", "五星级", "true")
    assert (c1["next_tier"], c1["points_to_next"]) == ("六星级", "6130.00")
    assert scores["customer_id"].to_list() == sorted(scores["customer_id"].to_list())
    components = ["short_term_assets", "long_term_assets", "mortgage", "other_loans",
                  "card_overdraft", "investment", "card_spending", "settlement"]  # fmt: skip
    expected = ["customer_id"]
    for c in components:
        expected += [f"{c}_amount", f"{c}_points"]
    expected += ["points", "tier", "quality", "next_tier", "points_to_next"]
    assert scores.columns == expected
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    assert {t["tier"]: t["customers"] for t in summary["tiers"]}["非星级"] == 12
    assert all(t["customers"] >= 3 for t in summary["tiers"])


def test_manifest_makes_the_run_auditable(sample_run: tuple) -> None:
    out, _ = sample_run
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["tool"]["name"] == "tierscore" and manifest["tool"]["version"]
    rules_file = Path(manifest["ruleset"]["file"])
    assert manifest["ruleset"]["name"] == "icbc-star"
    assert manifest["ruleset"]["sha256"] == hashlib.sha256(rules_file.read_bytes()).hexdigest()
    assert manifest["window"] == {"label": "2026H1", "start": "2026-01-01",
                                  "end": "2026-06-30", "days": 181}  # fmt: skip
    bal = manifest["inputs"]["balances"][0]
    raw = (SAMPLE / "balances.csv").read_bytes()
    assert bal["sha256"] == hashlib.sha256(raw).hexdigest()
    assert bal["rows"] == raw.count(b"\n") - 1
    outputs = {o["file"]: o["sha256"] for o in manifest["outputs"]}
    assert outputs["scores.csv"] == hashlib.sha256((out / "scores.csv").read_bytes()).hexdigest()
    assert set(manifest["timings_s"]) == {"read", "compute", "write"}
    assert manifest["counts"]["customers"] == 285


def test_out_dash_writes_only_csv_to_stdout() -> None:
    done = tierscore("score", *INPUTS, "--period", "2026H1", "--out", "-")
    assert done.returncode == 0, done.stderr
    frame = pl.read_csv(io.StringIO(done.stdout), infer_schema=False)
    assert frame.height == 285 and frame.columns[0] == "customer_id"
    assert "五星级" in done.stderr


def test_parquet_scores_equal_csv_scores(sample_run: tuple, tmp_path: Path) -> None:
    out, _ = sample_run
    done = tierscore("score", *INPUTS, "--period", "2026H1", "--out", str(tmp_path),
                     "--format", "parquet", "--quiet")  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""
    parquet = pl.read_parquet(tmp_path / "scores.parquet")
    assert parquet.schema["points"] == pl.Decimal(38, 2)
    as_text = parquet.with_columns(pl.all().cast(pl.String))
    from_csv = pl.read_csv(out / "scores.csv", infer_schema=False)
    assert as_text.with_columns(pl.col("quality").str.to_lowercase()).equals(from_csv)


def test_two_runs_are_byte_identical(sample_run: tuple, tmp_path: Path) -> None:
    out, _ = sample_run
    done = tierscore("score", *INPUTS, "--period", "2026H1", "--out", str(tmp_path), "--quiet")
    assert done.returncode == 0
    for name in ("scores.csv", "summary.json", "rejects.csv"):
        assert (tmp_path / name).read_bytes() == (out / name).read_bytes(), name


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--balances", "missing.csv", "--transactions", "missing.csv", "--period", "2026H1"],
         "missing.csv: --balances: no such file or folder"),
        ([*INPUTS, "--period", "2026Q1"], "--period"),
        ([*INPUTS, "--period", "2026H1", "--format", "xlsx"], "--format: must be csv or parquet"),
        ([*INPUTS, "--period", "2026H1", "--rules", "nope"], "no rule set named 'nope'"),
        ([*INPUTS, "--period", "2026H1", "--columns", "nope.toml"], "nope.toml"),
    ],
)  # fmt: skip
def test_configuration_errors_exit_2(tmp_path: Path, args: list[str], message: str) -> None:
    done = tierscore("score", *args, "--out", str(tmp_path / "out"))
    assert done.returncode == 2
    assert message in done.stderr
    assert "Traceback" not in done.stderr
    assert not (tmp_path / "out").exists()


def test_missing_column_exit_2_names_found_columns(tmp_path: Path) -> None:
    bal = tmp_path / "bal.csv"
    bal.write_text("customer_id,acct,product,date,balance\n", encoding="utf-8")
    txn = str(SAMPLE / "transactions.csv")
    done = tierscore("score", "--balances", str(bal), "--transactions", txn,
                     "--period", "2026H1", "--out", "-")  # fmt: skip
    assert done.returncode == 2
    assert "missing required column(s): account_id" in done.stderr
    assert "found: customer_id, acct, product, date, balance" in done.stderr
    assert done.stdout == ""


def test_reject_limit_exit_3_keeps_previous_scores(tmp_path: Path) -> None:
    out = tmp_path / "out"
    first = tierscore("score", *INPUTS, "--period", "2026H1", "--out", str(out), "--quiet")
    assert first.returncode == 0
    before = (out / "scores.csv").read_bytes()
    bad = tmp_path / "bal.csv"
    lines = (SAMPLE / "balances.csv").read_text(encoding="utf-8").splitlines()
    for i in range(5, 15):  # 10 of 4,383 rows: over the default 0.1%
        lines[i] = lines[i].rsplit(",", 1)[0] + ",not-money"
    bad.write_text("\n".join(lines) + "\n", encoding="utf-8")
    args = ["score", "--balances", str(bad), "--transactions", str(SAMPLE / "transactions.csv"),
            "--period", "2026H1", "--out", str(out)]  # fmt: skip
    done = tierscore(*args)
    assert done.returncode == 3
    assert "too many rejected rows" in done.stderr
    assert (out / "scores.csv").read_bytes() == before
    rejects = pl.read_csv(out / "rejects.csv", infer_schema=False)
    assert rejects.row(0) == (str(bad), "6", "balance", "not-money", "not a number")
    assert tierscore(*args, "--max-reject-rate", "1", "--quiet").returncode == 0


def test_pipe_into_head_ends_quietly() -> None:
    command = (f"'{TIERSCORE}' score {' '.join(INPUTS)} --period 2026H1 --out - --quiet "
               "| head -1")  # fmt: skip
    done = subprocess.run(["bash", "-c", command], capture_output=True, text=True)
    assert done.stdout.startswith("customer_id,")
    assert len(done.stdout.splitlines()) == 1
    assert "Traceback" not in done.stderr and "Error" not in done.stderr


def test_help_documents_exit_codes() -> None:
    for args in ([], ["score"]):
        done = tierscore(*args, "--help")
        assert done.returncode == 0
        assert "Exit codes" in done.stdout and "3 too many rejected rows" in done.stdout


def test_ctrl_c_exits_130_and_publishes_nothing(tmp_path: Path) -> None:
    rows = 4_000_000
    pl.DataFrame(
        {
            "customer_id": pl.int_range(rows, eager=True).cast(pl.String),
            "account_id": pl.int_range(rows, eager=True).cast(pl.String),
            "product": pl.repeat("CURRENT", rows, eager=True),
            "date": pl.repeat("2026-01-05", rows, eager=True),
            "balance": pl.repeat("100.00", rows, eager=True),
        }
    ).write_csv(tmp_path / "bal.csv")
    out = tmp_path / "out"
    proc = subprocess.Popen(
        [str(TIERSCORE), "score", "--balances", str(tmp_path / "bal.csv"), "--transactions",
         str(SAMPLE / "transactions.csv"), "--period", "2026H1", "--out", str(out)],
        stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    assert proc.stderr is not None
    for line in proc.stderr:  # wait until scoring has started
        if "read done" in line:
            break
    time.sleep(0.3)
    proc.send_signal(signal.SIGINT)
    started = time.monotonic()
    code = proc.wait(timeout=30)
    assert code == 130
    assert time.monotonic() - started < 5
    assert not (out / "scores.csv").exists()
