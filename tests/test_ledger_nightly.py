"""The README's nightly ledger script runs as written, and gives the direct run's scores."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import polars as pl
import pytest

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text(encoding="utf-8")
TIERSCORE = Path(sys.executable).with_name("tierscore")


def _script() -> str:
    found = [b for b in re.findall(r"```sh\n(.*?)```", README, flags=re.S) if "nightly.sh" in b]
    assert len(found) == 1
    return found[0]


def _cut(source: Path, folder: Path, last: str) -> None:
    """Exports in one folder per month, up to the day ``last``; the first month's holds
    every earlier row too (its carry-in)."""
    day = pl.col("date").str.slice(0, 10)
    rows = pl.read_csv(source, infer_schema=False).filter(day <= last)
    months = rows.with_columns(day.str.slice(0, 7).alias("_m"))
    first = "2026-01"
    months = months.with_columns(pl.max_horizontal(pl.col("_m"), pl.lit(first)).alias("_m"))
    for (month,), part in months.group_by("_m"):
        target = folder / str(month)
        target.mkdir(parents=True, exist_ok=True)
        part.drop("_m").write_csv(target / source.name)


def _tierscore(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(TIERSCORE), *args], cwd=cwd, capture_output=True, text=True)


@pytest.fixture
def site(tmp_path: Path) -> Path:
    (tmp_path / "nightly.sh").write_text(_script(), encoding="utf-8")
    shutil.copy(ROOT / "sample_data" / "customers.csv", tmp_path / "customers.csv")
    return tmp_path


def _exports(site: Path, last: str) -> None:
    shutil.rmtree(site / "exports", ignore_errors=True)
    _cut(ROOT / "sample_data" / "balances.csv", site / "exports" / "bal", last)
    _cut(ROOT / "sample_data" / "transactions.csv", site / "exports" / "txn", last)


def _night(site: Path, day: str) -> None:
    path = os.environ["PATH"]
    env = {**os.environ, "DAY": day, "PATH": f"{TIERSCORE.parent}{os.pathsep}{path}"}
    done = subprocess.run(["sh", "nightly.sh"], cwd=site, capture_output=True, text=True, env=env)
    assert done.returncode == 0, done.stderr


def _direct(site: Path, first: str, last: str, out: str) -> Path:
    bal = sorted(str(p) for p in (site / "exports" / "bal").glob("*/*.csv"))
    txn = sorted(str(p) for p in (site / "exports" / "txn").glob("*/*.csv"))
    inputs = [a for f in bal for a in ("-b", f)] + [a for f in txn for a in ("-t", f)]
    window = ["--from", first, "--to", last, "--customers", "customers.csv"]
    done = _tierscore("score", *inputs, *window, "--out", out, "-q", cwd=site)
    assert done.returncode == 0, done.stderr
    return site / out


def _same(left: Path, right: Path) -> None:
    for name in ("scores.csv", "summary.json"):
        assert (left / name).read_bytes() == (right / name).read_bytes(), name


def test_nightly_script_scores_the_rolling_window_as_a_direct_run(site: Path) -> None:
    _exports(site, "2026-05-31")
    for month in ("2026-01", "2026-02", "2026-03", "2026-04", "2026-05"):  # filled once
        done = _tierscore(
            "accumulate", "-b", f"exports/bal/{month}", "-t", f"exports/txn/{month}",
            "--month", month, "--ledger", "ledger", "-q", cwd=site,
        )  # fmt: skip
        assert done.returncode == 0, done.stderr
    _exports(site, "2026-06-15")  # mid-June: the month to date
    _night(site, "2026-06-15")
    status = _tierscore("ledger", "status", "ledger", "--json", cwd=site).stdout
    assert '"state": "partial to 2026-06-15"' in status
    # the rolling window: six months back from June, to the day
    _same(site / "scores" / "2026-06-15", _direct(site, "2026-01-01", "2026-06-15", "d1"))
    _exports(site, "2026-06-30")  # the month's last night completes the month
    _night(site, "2026-06-30")
    status = _tierscore("ledger", "status", "ledger", "--json", cwd=site).stdout
    assert "partial" not in status and status.count('"state": "complete"') == 6
    _same(site / "scores" / "2026-06-30", _direct(site, "2026-01-01", "2026-06-30", "d2"))
