"""Caps per business type, upgrade levers that respect caps and fees, and explaining a
customer whose every row was rejected.

Hand-computed on a small rule set (unit 10,000): settlement at 200 (0.02 points a
counted yuan; fee required; REMOTE_CASH capped at 20,000.00, the other codes at the
component's 10,000.00), card spending at 100 (0.01; capped at 5,000.00, no fee
needed) and savings at 100 (0.01 a yuan of daily average). Tiers: gold from 1,000
points, silver from 0.
"""

from __future__ import annotations

import json
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction
from pathlib import Path
from typing import Any

import pytest

from tierscore.cli.errors import _outcome
from tierscore.cli.main import app
from tierscore.scoring import summary as summary_module
from tierscore.scoring.breakdown import Lever, cheapest_lever, levers
from tierscore.scoring.errors import ConfigError, InputError
from tierscore.scoring.explain import explain
from tierscore.scoring.pipeline import Job, Result, run
from tierscore.scoring.plan import compile_plan
from tierscore.scoring.report import render_html
from tierscore.scoring.rules import load_rules
from tierscore.scoring.window import parse_window

from .conftest import BAL_COLUMNS, TXN_COLUMNS, Row, tierscore_here, txn_rows, write_csv

H1 = parse_window("2026H1")
DAY = "2026-03-01"

SETTLEMENT = """
[[components]]
id = "settlement"
source = "transactions"
rate = 200
requires_fee = true
{caps}
codes = ["REMOTE_CASH", "REMOTE_REMIT"]
"""
REST = """
[[components]]
id = "spend"
source = "transactions"
rate = 100
cap = 5000.00
codes = ["POS"]

[[components]]
id = "savings"
source = "balances"
rate = 100
codes = ["CURRENT"]

[[tiers]]
label = "gold"
min = 1000

[[tiers]]
label = "silver"
min = 0
"""
PER_CODE = "cap = 10000.00\ncaps = { REMOTE_CASH = 20000.00 }"


def rules_file(folder: Path, caps: str = PER_CODE, name: str = "rules.toml") -> str:
    head = '[ruleset]\nname = "caps-test"\nunit = 10000\n'
    path = folder / name
    path.write_text(head + SETTLEMENT.format(caps=caps) + REST, encoding="utf-8")
    return str(path)


def job_for(
    folder: Path, txns: list[Row], balances: list[Row] = (), caps: str = PER_CODE, **extra: Any
) -> Job:
    folder.mkdir(parents=True, exist_ok=True)
    bal = write_csv(folder / "bal.csv", BAL_COLUMNS, balances)
    txn = write_csv(folder / "txn.csv", TXN_COLUMNS, txn_rows(txns))
    return Job(str(bal), str(txn), H1, rules_file(folder, caps), **extra)


def round_half_up(value: Fraction) -> Decimal:
    exact = Decimal(value.numerator) / Decimal(value.denominator)  # few digits here: exact
    return exact.quantize(Decimal("0.01"), ROUND_HALF_UP)


def points(result: Result) -> dict[str, Any]:
    return {r["customer_id"]: r["points"] for r in result.scores.iter_rows(named=True)}


def tiers(result: Result) -> dict[str, str]:
    return {r["customer_id"]: r["tier"] for r in result.scores.iter_rows(named=True)}


# K: REMOTE_CASH 30,000 (counts 20,000), REMOTE_REMIT 30,000 (counts 10,000 under the
# component's cap), REMOTE_CASH 15,000 with a zero fee (nothing), POS 8,000 (5,000) and
# POS 3,000 at half the fee (1,500).
K_TXNS: list[Row] = [
    ("K", DAY, "REMOTE_CASH", "30000.00", "50.00"),
    ("K", DAY, "REMOTE_REMIT", "30000.00", "50.00"),
    ("K", DAY, "REMOTE_CASH", "15000.00", "0"),
    ("K", DAY, "POS", "8000.00"),
    ("K", DAY, "POS", "3000.00", None, "0.5"),
]


# --- caps per code -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("caps", "settlement"),
    [
        (PER_CODE, 20000 + 10000),  # a code without an entry falls back to cap
        ("caps = { REMOTE_CASH = 20000.00 }", 20000 + 30000),  # no cap: REMOTE_REMIT uncapped
        ("cap = 10000.00", 10000 + 10000),
        ("caps = { REMOTE_CASH = 20000.00, REMOTE_REMIT = 12345.67 }", 20000 + 12345.67),
    ],
)
def test_each_code_is_capped_at_its_own_amount(tmp_path: Path, caps: str, settlement: Any) -> None:
    result = run(job_for(tmp_path, K_TXNS, caps=caps))
    spend = 5000 + 1500
    expected = Fraction(str(settlement)) * Fraction(200, 10000) + spend * Fraction(100, 10000)
    assert Decimal(str(points(result)["K"])) == round_half_up(expected)
    row = result.scores.row(0, named=True)
    assert Fraction(str(row["settlement_amount"])) == Fraction(str(settlement))
    assert str(row["spend_amount"]) == "6500.00"


@pytest.mark.parametrize(
    ("caps", "key"),
    [
        ("cap = 10000.00\ncaps = { POS = 5000.00 }", "components[0].caps.POS"),  # another's code
        ("caps = { REMOTE_CASHX = 1.00 }", "components[0].caps.REMOTE_CASHX"),
        ("caps = { REMOTE_CASH = 0 }", "components[0].caps.REMOTE_CASH"),
        ("caps = { REMOTE_CASH = 1.001 }", "components[0].caps.REMOTE_CASH"),
        ('caps = { REMOTE_CASH = "1" }', "components[0].caps.REMOTE_CASH"),
        ("caps = [1]", "components[0].caps"),
    ],
)
def test_a_bad_caps_entry_names_its_key(tmp_path: Path, caps: str, key: str) -> None:
    with pytest.raises(ConfigError) as caught:
        load_rules(rules_file(tmp_path, caps))
    assert caught.value.key == key


def test_caps_on_a_balances_component_stop_the_load(tmp_path: Path) -> None:
    path = Path(rules_file(tmp_path))
    text = path.read_text().replace(
        'codes = ["CURRENT"]', 'codes = ["CURRENT"]\ncaps = { CURRENT = 1.00 }'
    )
    path.write_text(text)
    with pytest.raises(ConfigError) as caught:
        load_rules(str(path))
    assert caught.value.key == "components[2]"
    assert "transactions components only" in str(caught.value)


def test_shipped_settlement_caps_stay_ten_thousand_per_code() -> None:
    plan = compile_plan(load_rules("icbc-star"), H1)
    codes = ("REMOTE_CASH", "REMOTE_REMIT", "INTERBANK_REMIT", "EXPRESS_REMIT")
    assert {code: plan.caps[code] for code in codes} == dict.fromkeys(codes, 1_000_000)
    settlement = next(lv for lv in levers(plan) if lv.component == "settlement")
    assert (settlement.each, settlement.codes, settlement.of) == (
        1_000_000, (), "transactions with a fee"
    )  # fmt: skip


def test_explain_shows_the_cap_per_code(tmp_path: Path) -> None:
    data = explain(job_for(tmp_path, K_TXNS), "K")
    comps = {c["id"]: c for c in data["components"]}
    settlement = comps["settlement"]
    assert settlement["caps"] == {"REMOTE_CASH": "20000.00", "REMOTE_REMIT": "10000.00"}
    assert settlement["requires_fee"] is True
    parts = {p["txn_type"]: p for p in settlement["parts"]}
    assert (parts["REMOTE_CASH"]["cap"], parts["REMOTE_CASH"]["counted"]) == (
        "20000.00",
        "20000.00",
    )
    assert parts["REMOTE_CASH"]["fee_zero"] == 1 and parts["REMOTE_CASH"]["capped"] == 1
    assert (parts["REMOTE_REMIT"]["cap"], parts["REMOTE_REMIT"]["counted"]) == (
        "10000.00",
        "10000.00",
    )
    assert list(parts["REMOTE_REMIT"])[:2] == ["txn_type", "cap"]
    assert comps["spend"]["caps"] == {"POS": "5000.00"} and comps["spend"]["requires_fee"] is False
    assert comps["savings"]["caps"] is None
    uncapped = explain(
        job_for(tmp_path / "b", K_TXNS, caps="caps = { REMOTE_CASH = 20000.00 }"), "K"
    )
    caps = next(c for c in uncapped["components"] if c["id"] == "settlement")["caps"]
    assert caps == {"REMOTE_CASH": "20000.00", "REMOTE_REMIT": None}


def test_explain_terminal_names_caps_and_fee(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("COLUMNS", raising=False)  # (xdist sets 80) whole lines, not wrapped
    job = job_for(tmp_path, K_TXNS)
    args = ["explain", "K", "--balances", job.balances, "--transactions", job.transactions,
            "--period", "2026H1", "--rules", job.rules]  # fmt: skip
    code = _outcome(lambda: app(args, prog_name="tierscore"), verbose=False)
    shown = capsys.readouterr().out
    assert code == 0
    assert (
        "cap per transaction: REMOTE_CASH at 20000.00; REMOTE_REMIT at 10000.00; only with a fee"
        in shown
    )
    assert "cap per transaction: POS at 5000.00" in shown
    # 335 points to gold: 16,750.00 yuan of settlement, one REMOTE_CASH transaction
    assert ("+16750.00 yuan of transactions with a fee in settlement (settlement): "
            "1 REMOTE_CASH transaction of 20000.00 each\n") in shown  # fmt: skip
    assert (
        "+33500.00 yuan of transactions in spend (spend): 7 transactions of 5000.00 each" in shown
    )
    assert "+33500.00 yuan of half-year daily average in savings (savings)\n" in shown
    assert "only with a fee" not in shown.split("cap per transaction: POS", 1)[1].split("\n")[0]


# --- levers ----------------------------------------------------------------------------

# Y: 10,000.00 of settlement -> 200 points, 800 to gold = 40,000.00 yuan of settlement.
# Z: one cent less -> 800.0002 to go = 40,000.01 yuan.
YZ: list[Row] = [
    ("Y", DAY, "REMOTE_REMIT", "10000.00", "25.00"),
    ("Z", DAY, "REMOTE_REMIT", "9999.99", "25.00"),
]


def lever_of(data: dict[str, Any], component: str) -> dict[str, Any]:
    return next(lv for lv in data["levers"] if lv["component"] == component)


@pytest.mark.parametrize(
    ("caps", "each", "codes", "y", "z"),
    [
        (PER_CODE, "20000.00", ["REMOTE_CASH"], 2, 3),  # 40,000 / 20,000; 40,000.01 / 20,000
        ("cap = 10000.00", "10000.00", None, 4, 5),
        ("caps = { REMOTE_CASH = 40000.00, REMOTE_REMIT = 40000.00 }", "40000.00", None, 1, 2),
    ],
)
def test_a_capped_lever_counts_capped_transactions(
    tmp_path: Path, caps: str, each: str, codes: Any, y: int, z: int
) -> None:
    job = job_for(tmp_path, YZ, caps=caps)
    for customer, count, yuan in (("Y", y, "40000.00"), ("Z", z, "40000.01")):
        lever = lever_of(explain(job, customer), "settlement")
        assert lever == {
            "component": "settlement", "label": "settlement", "yuan": yuan,
            "of": "transactions with a fee", "transactions": count, "each": each, "codes": codes,
        }  # fmt: skip


def test_fee_free_capped_and_balance_and_uncapped_levers(tmp_path: Path) -> None:
    data = explain(job_for(tmp_path, YZ), "Y")
    spend = lever_of(data, "spend")  # 800 points / 0.01 = 80,000.00 = 16 x 5,000.00, no fee
    assert (spend["yuan"], spend["of"], spend["transactions"], spend["each"]) == (
        "80000.00", "transactions", 16, "5000.00"
    )  # fmt: skip
    savings = lever_of(data, "savings")
    assert savings == {"component": "savings", "label": "savings", "yuan": "80000.00",
                       "of": "half-year daily average", "transactions": None, "each": None,
                       "codes": None}  # fmt: skip
    # One code without a cap: any amount of it counts, so no count; it names that code.
    mixed = explain(job_for(tmp_path / "m", YZ, caps="caps = { REMOTE_CASH = 20000.00 }"), "Y")
    lever = lever_of(mixed, "settlement")
    assert (lever["transactions"], lever["each"], lever["codes"]) == (None, None, ["REMOTE_REMIT"])
    assert lever["of"] == "transactions with a fee" and lever["yuan"] == "40000.00"


@pytest.mark.parametrize("added", [1, 2])
def test_the_counted_transactions_really_reach_the_tier(tmp_path: Path, added: int) -> None:
    """Y needs 2 REMOTE_CASH transactions of 20,000.00 with a fee: 2 reach gold, 1 does
    not, and 2 REMOTE_REMIT (capped at 10,000.00) do not: the codes matter."""
    more = [("Y", DAY, "REMOTE_CASH", "25000.00", "50.00")] * added
    assert tiers(run(job_for(tmp_path, YZ + more)))["Y"] == ("gold" if added == 2 else "silver")
    remit = [("Y", DAY, "REMOTE_REMIT", "25000.00", "50.00")] * 2
    assert tiers(run(job_for(tmp_path / "r", YZ + remit)))["Y"] == "silver"
    fee_free = [("Y", DAY, "REMOTE_CASH", "25000.00")] * 2  # no fee: counts nothing
    assert tiers(run(job_for(tmp_path / "f", YZ + fee_free)))["Y"] == "silver"


@pytest.mark.parametrize("gap", [1, 2, 999, 1000, 1001, 10**6, 10**30 + 7])
@pytest.mark.parametrize(("per_cent", "each"), [(1, 1), (7, 3), (200, 1_000_000), (13, 999_999)])
def test_transactions_for_is_the_fewest_that_close_the_gap(
    gap: int, per_cent: int, each: int
) -> None:
    lever = Lever("c", "c", "transactions", per_cent, each)
    k = lever.transactions_for(gap)
    assert k is not None and k >= 1
    assert k * each * per_cent >= gap > (k - 1) * each * per_cent
    assert k == -(-lever.cents_for(gap) // each)
    assert Lever("c", "c", "transactions", per_cent).transactions_for(gap) is None


def test_cheapest_lever_is_still_by_points_per_counted_yuan(tmp_path: Path) -> None:
    plan = compile_plan(load_rules(rules_file(tmp_path)), H1)
    lever = cheapest_lever(plan)
    assert lever is not None and lever.component == "settlement"  # 200 beats 100 per yuan
    assert (lever.each, lever.codes) == (2_000_000, ("REMOTE_CASH",))


# --- summary.json and report.html ---------------------------------------------------


def upgrade_of(tmp_path: Path, caps: str = PER_CODE) -> dict[str, Any]:
    result = run(job_for(tmp_path, YZ, caps=caps, near=Fraction(100)))
    return result.summary


def test_summary_upgrade_entries_carry_the_transactions(tmp_path: Path) -> None:
    top = {e["customer_id"]: e for e in upgrade_of(tmp_path)["upgrade"]["top"]}
    assert {k: top["Y"][k] for k in top["Y"] if k.startswith("lever")} == {
        "lever": "settlement transactions with a fee", "lever_yuan": "40000.00",
        "lever_transactions": 2, "lever_each": "20000.00", "lever_codes": "REMOTE_CASH",
    }  # fmt: skip
    assert (top["Z"]["lever_yuan"], top["Z"]["lever_transactions"]) == ("40000.01", 3)
    plain = {
        e["customer_id"]: e for e in upgrade_of(tmp_path / "c", "cap = 10000.00")["upgrade"]["top"]
    }
    assert (plain["Y"]["lever_transactions"], plain["Y"]["lever_codes"]) == (4, None)


def test_a_bounded_upgrade_list_keeps_the_count_a_number(tmp_path: Path, monkeypatch: Any) -> None:
    monkeypatch.setattr(summary_module, "UPGRADE_LISTED", 1)
    found = upgrade_of(tmp_path)
    assert found["upgrade_rest"] == {"customers": 1}
    (entry,) = found["upgrade"]["top"]
    assert (entry["customer_id"], entry["lever_transactions"]) == ("Y", 2)
    json.dumps(found)  # still plain JSON


def test_report_shows_the_transactions_only_for_a_capped_lever(tmp_path: Path) -> None:
    html = render_html(upgrade_of(tmp_path), {}, "en")
    section = html.split('id="upgrade"', 1)[1].split("</section>", 1)[0]
    assert "<th>lever (transactions)</th>" in section
    assert '<td class="num">2 of 20,000.00 each (REMOTE_CASH)</td>' in section
    assert '<td class="num">3 of 20,000.00 each (REMOTE_CASH)</td>' in section
    assert "only with a fee where the lever says so" in section
    uncapped = dict(upgrade_of(tmp_path / "u"))
    for entry in uncapped["upgrade"]["top"]:
        entry.update(lever_transactions=None, lever_each=None, lever_codes=None)
    plain = render_html(uncapped, {}, "en").split('id="upgrade"', 1)[1].split("</section>", 1)[0]
    assert "lever (transactions)" not in plain and "40,000.00" in plain


def test_report_escapes_the_new_lever_cells(tmp_path: Path) -> None:
    found = upgrade_of(tmp_path)
    found["upgrade"]["top"][0].update(
        lever_each="<b>x</b>", lever_codes="<script>", lever_transactions="7"
    )
    html = render_html(found, {}, "en")
    assert "<script>" not in html and "<b>x</b>" not in html
    assert "7 of &lt;b&gt;x&lt;/b&gt; each (&lt;script&gt;)" in html


# --- a customer whose every row was rejected ----------------------------------------


def rejected_job(tmp_path: Path) -> Job:
    balances: list[Row] = [
        ("B", "B1", "CURRENT", DAY, "-5.00"),  # negative: rejected
        ("B", "B2", "CURRENT", "2026-13-01", "5.00"),  # bad date
        ("BB", "BB1", "CURRENT", DAY, "-1.00"),  # another customer's reject
        ("P", "P1", "CURRENT", DAY, "-1.00"),  # P: one rejected row, one good one
        ("P", "P2", "CURRENT", DAY, "100.00"),
        ("BB", "BB2", "CURRENT", DAY, "100.00"),
    ]
    txns: list[Row] = [("B", DAY, "POS", "-1.00"), ("T", DAY, "POS", "0")]
    return job_for(tmp_path, txns, balances)


def test_explain_says_every_row_was_rejected(tmp_path: Path) -> None:
    with pytest.raises(InputError) as caught:
        explain(rejected_job(tmp_path), "B")
    said = str(caught.value)
    assert caught.value.key == "CUSTOMER_ID"
    assert "has no usable rows: all 3 of its rows were rejected" in said
    assert "(balances: 2, transactions: 1; first " in said
    assert "bal.csv line 2, balance:" in said and "rejects.csv" in said
    assert "no rows in the inputs" not in said


def test_explain_one_rejected_row_and_no_row_at_all(tmp_path: Path) -> None:
    job = rejected_job(tmp_path)
    with pytest.raises(
        InputError, match=r"its only row was rejected \(transactions: 1; \S*txn\.csv line 3"
    ):
        explain(job, "T")
    with pytest.raises(InputError, match="customer 'NOBODY' has no rows in the inputs"):
        explain(job, "NOBODY")
    assert explain(job, "P")["components"][2]["amount"] != "0.00"  # a good row: explained


def test_cli_all_rejected_exits_2_and_points_to_rejects(tmp_path: Path) -> None:
    job = rejected_job(tmp_path)
    done = tierscore_here(
        "explain", "B", "--balances", job.balances, "--transactions",
        job.transactions, "--period", "2026H1", "--rules", job.rules,
    )  # fmt: skip
    assert done.returncode == 2 and done.stdout == ""
    assert "all 3 of its rows were rejected" in done.stderr and "rejects.csv" in done.stderr


# --- Spark -------------------------------------------------------------------------------


@pytest.mark.spark
def test_spark_gives_the_same_caps_and_levers(spark: Any, tmp_path: Path) -> None:
    """Per-code caps scored on the executors and capped upgrade levers in the summary
    agree with the polars engine's."""
    from tierscore.scoring import spark_engine

    job = job_for(tmp_path, K_TXNS + YZ, near=Fraction(100))
    local, remote = run(job), spark_engine.run(job, spark=spark)
    assert remote.scores.equals(local.scores)
    assert remote.summary == local.summary
    top = {e["customer_id"]: e for e in remote.summary["upgrade"]["top"]}
    assert (top["K"]["lever_transactions"], top["Y"]["lever_transactions"]) == (1, 2)
    assert str(points(remote)["K"]) == "665.00"  # 30,000 x 0.02 + 6,500 x 0.01
