"""The synthetic export generator: deterministic, realistic in shape, scorable end to end."""

from __future__ import annotations

import subprocess
import sys
from datetime import date
from pathlib import Path

import polars as pl
import pytest

from tierscore.scoring.pipeline import Job, run
from tierscore.scoring.rules import load_rules
from tierscore.scoring.sample import UNMAPPED_TYPES, write_sample
from tierscore.scoring.window import parse_window

from .conftest import tierscore_here

TIERSCORE = Path(sys.executable).with_name("tierscore")


def test_same_seed_same_files(tmp_path: Path) -> None:
    write_sample(tmp_path / "a", 500, "csv", seed=7)
    write_sample(tmp_path / "b", 500, "csv", seed=7)
    write_sample(tmp_path / "c", 500, "csv", seed=8)
    for name in ("balances", "transactions"):
        a = (tmp_path / "a" / name / "part-0000.csv").read_bytes()
        assert a == (tmp_path / "b" / name / "part-0000.csv").read_bytes()
        assert a != (tmp_path / "c" / name / "part-0000.csv").read_bytes()


def test_shape_and_every_tier(tmp_path: Path) -> None:
    counts = write_sample(tmp_path, 3000, "parquet", seed=1)
    assert 2.0 < counts["balances"] / 3000 / 11 < 4.0  # ~2.5 accounts x ~13 rows
    assert 20 < counts["transactions"] / 3000 < 40
    bal = pl.read_parquet(tmp_path / "balances")
    assert bal.schema["balance"] == pl.Decimal(18, 2) and bal.schema["date"] == pl.Date
    assert (bal["balance"].cast(pl.Float64) % 1 != 0).mean() > 0.5  # cents, not whole yuan
    assert bal["date"].min() < date(2026, 1, 1) and bal["date"].max() > date(2026, 6, 30)
    txn = pl.read_parquet(tmp_path / "transactions")
    assert txn.schema["fee_ratio"] == pl.Decimal(7, 6) and txn["txn_id"].is_unique().all()
    assert set(txn["fee_ratio"].drop_nulls().cast(pl.String)) == {"0.800000", "0.500000"}
    ruleset = load_rules("icbc-star")
    codes = {code for c in ruleset.by_source("transactions") for code in c.codes}
    assert codes | ruleset.excluded <= set(txn["txn_type"])
    assert {code for c in ruleset.by_source("balances") for code in c.codes} == set(bal["product"])
    result = run(Job(str(tmp_path / "balances"), str(tmp_path / "transactions"),
                     parse_window("2026H1")))  # fmt: skip
    scores = result.scores
    assert scores.height == 3000
    assert {t["tier"] for t in result.summary["tiers"] if t["customers"] > 0} == {
        "七星级", "六星级", "五星级", "四星级", "三星级", "准星级", "非星级",
    }  # fmt: skip
    for column in [c for c in scores.columns if c.endswith("_amount")]:
        assert scores[column].cast(pl.Float64).max() > 0, column
    rows = result.summary["rows"]["transactions"]
    assert rows["excluded"] > 0 and rows["unmapped"] > 0 and rows["outside_window"] > 0
    assert set(result.summary["unmapped_codes"]["transactions"]) == set(UNMAPPED_TYPES)
    assert result.summary["rows"]["balances"]["outside_window"] > 0
    assert rows["rejected"] == 0 and result.summary["rows"]["balances"]["rejected"] == 0


def test_sample_command_then_score(tmp_path: Path) -> None:
    made = tierscore_here(
        "sample", "--customers", "200", "--out", str(tmp_path / "s"),
        "--format", "csv",
    )  # fmt: skip
    assert made.returncode == 0, made.stderr
    scored = tierscore_here(
        "score", "--balances", str(tmp_path / "s" / "balances"),
        "--transactions", str(tmp_path / "s" / "transactions"), "--period", "2026H1",
        "--out", "-", "--quiet",
    )  # fmt: skip
    assert scored.returncode == 0, scored.stderr
    assert len(scored.stdout.splitlines()) == 201


SAMPLE = Path(__file__).resolve().parents[1] / "sample_data"


def test_sample_data_regenerates_byte_identically(tmp_path: Path) -> None:
    """The committed sample is what generate.py writes (run on a copy of the folder)."""
    copy = tmp_path / "sample_data"
    copy.mkdir()
    (copy / "generate.py").write_bytes((SAMPLE / "generate.py").read_bytes())
    subprocess.run([sys.executable, str(copy / "generate.py")], check=True, capture_output=True)
    for path in copy.rglob("*"):
        if path.is_file() and path.name != "generate.py":
            assert path.read_bytes() == (SAMPLE / path.relative_to(copy)).read_bytes(), path


def test_previous_scores_are_tierscores_own_2025h2_run() -> None:
    """previous_scores.csv is reproduced by the command in make_previous.py's docstring."""
    command = (
        f"'{TIERSCORE}' score --balances '{SAMPLE}/balances.csv' "
        f"--transactions '{SAMPLE}/transactions.csv' --period 2025H2 --out - --quiet "
        f"| '{sys.executable}' '{SAMPLE}/make_previous.py'"
    )
    made = subprocess.run(
        ["bash", "-o", "pipefail", "-c", command], capture_output=True, check=True
    )
    assert made.stdout == (SAMPLE / "previous_scores.csv").read_bytes()
    ids = pl.read_csv(SAMPLE / "previous_scores.csv")["customer_id"]
    assert {"C0901", "C0902", "C0903"} <= set(ids) and "C0271" not in set(ids)


def test_sample_refuses_a_folder_that_holds_files(tmp_path: Path) -> None:
    """A second, smaller sample into the same folder would leave the first one's extra
    part files to be scored with it: refused, and nothing there is touched."""
    from tierscore.scoring.errors import ConfigError

    write_sample(tmp_path, 50, "csv", seed=1)
    before = {p: p.read_bytes() for p in tmp_path.rglob("*") if p.is_file()}
    with pytest.raises(ConfigError, match="already holds files"):
        write_sample(tmp_path, 10, "csv", seed=2)
    assert {p: p.read_bytes() for p in tmp_path.rglob("*") if p.is_file()} == before
