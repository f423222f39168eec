"""tierscore explain: one customer taken apart, agreeing with score to the cent."""

from __future__ import annotations

import io
import json
from pathlib import Path

import polars as pl
import pytest

from .conftest import Ran, tierscore_here

ROOT = Path(__file__).resolve().parent.parent
INPUTS = ["--balances", str(ROOT / "sample_data" / "balances.csv"),
          "--transactions", str(ROOT / "sample_data" / "transactions.csv"),
          "--period", "2026H1"]  # fmt: skip


@pytest.fixture(scope="module")
def scores() -> dict[str, dict]:
    done = tierscore_here("score", *INPUTS, "--out", "-", "--quiet")
    assert done.returncode == 0, done.stderr
    frame = pl.read_csv(io.StringIO(done.stdout), infer_schema=False)
    return {r["customer_id"]: r for r in frame.iter_rows(named=True)}


def explain(customer: str, *extra: str) -> Ran:
    return tierscore_here("explain", customer, *INPUTS, *extra)


@pytest.mark.parametrize("customer", ["C1", "C0008", "C0013", "C0195", "C0275", "C0003"])
def test_json_points_equal_score(customer: str, scores: dict[str, dict]) -> None:
    done = explain(customer, "--json")
    assert done.returncode == 0, done.stderr
    data = json.loads(done.stdout)
    row = scores[customer]
    assert data["points"] == row["points"]
    assert data["tier"] == row["tier"]
    assert (data["points_to_next"] or "") == (row["points_to_next"] or "")
    for comp in data["components"]:
        assert comp["amount"] == row[f"{comp['id']}_amount"], comp["id"]
        assert comp["points"] == row[f"{comp['id']}_points"], comp["id"]


def test_worked_example_parts_and_levers() -> None:
    data = json.loads(explain("C1", "--json").stdout)
    parts = {c["id"]: c["parts"] for c in data["components"]}
    assert parts["long_term_assets"] == [{
        "account_id": "C1-TD", "product": "TIME", "balance_days": "32942000.00", "days": 91,
        "daily_average": "182000.00",
    }]  # fmt: skip
    settlement = parts["settlement"][0]
    assert (settlement["amount"], settlement["counted"]) == ("70000.00", "10000.00")
    assert (settlement["capped"], settlement["fee_zero"]) == (2, 1)
    levers = {lever["component"]: lever["yuan"] for lever in data["levers"]}
    # 6,130 points: / 0.0135 per yuan of daily average, rounded up; / 0.04 per yuan spent
    assert levers["short_term_assets"] == "454074.08"
    assert levers["card_spending"] == "153250.00"


def test_tables_for_people() -> None:
    done = explain("C1")
    assert done.returncode == 0, done.stderr
    assert "C1-TD" in done.stdout and "3870.00" in done.stdout
    assert "+153250.00 yuan of transactions in card_spending" in done.stdout


def test_unknown_customer_exits_2() -> None:
    done = explain("NOBODY")
    assert done.returncode == 2
    assert "NOBODY" in done.stderr
