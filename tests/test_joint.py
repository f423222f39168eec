"""Joint accounts (``[ruleset] joint_accounts``): rows of one account and date that
differ only in customer are holders, each counting the balance ("each"), an exact
share ("split") or conflicting ("reject"); by party, one person's numbers are one
holder. Hand-computed cases, attacks on the marking, and the row-by-row reference."""

from __future__ import annotations

import csv
import json
import tempfile
from datetime import date, timedelta
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tierscore.scoring.pipeline import Job, run
from tierscore.scoring.window import parse_window

from .conftest import examples, tierscore_here, write_csv
from .simple_reference import reference_points, reference_tier, round_half_up

ROOT = Path(__file__).resolve().parents[1]
BAL = ["customer_id", "account_id", "product", "date", "balance"]
TXN = ["customer_id", "txn_id", "date", "txn_type", "amount", "fee", "fee_ratio"]
RULES = """
[ruleset]
name = "joint-test"
unit = 1
joint_accounts = "{mode}"
[[components]]
id = "loans"
label = "loans"
source = "balances"
rate = 1
codes = ["MORTGAGE"]
[[components]]
id = "spend"
label = "spend"
source = "transactions"
rate = 1
codes = ["POS"]
[[tiers]]
label = "high"
min = 50000
[[tiers]]
label = "low"
min = 0
"""
OPEN = "2025-12-31"  # carries into the whole window


def _rules(tmp: Path, mode: str) -> Path:
    path = tmp / f"joint-{mode}.toml"
    path.write_text(RULES.format(mode=mode), encoding="utf-8")
    return path


def _score(tmp: Path, mode: str, rows: list, *extra: object, name: str = "out"):
    balances = write_csv(tmp / f"{name}-b.csv", BAL, rows)
    txn = write_csv(tmp / f"{name}-t.csv", TXN, [("C9", "T1", "2026-02-01", "POS", "1.00", "", "")])
    ran = tierscore_here(
        "score", "--balances", balances, "--transactions", txn, "--period", "2026H1",
        "--rules", _rules(tmp, mode), "--out", tmp / name, "-q", *extra,
    )  # fmt: skip
    assert ran.returncode == 0, ran.stderr
    folder = tmp / name / "current"
    with (folder / "scores.csv").open(encoding="utf-8") as handle:
        scores = {r[next(iter(r))]: r for r in csv.DictReader(handle)}
    summary = json.loads((folder / "summary.json").read_text(encoding="utf-8"))
    with (folder / "rejects.csv").open(encoding="utf-8") as handle:
        rejects = list(csv.DictReader(handle))
    return scores, summary, rejects


MORTGAGE = [
    ("C1", "M1", "MORTGAGE", OPEN, "100000.00"),
    ("C2", "M1", "MORTGAGE", OPEN, "100000.00"),
]


def test_each_holder_counts_the_whole_balance(tmp_path: Path) -> None:
    scores, summary, rejects = _score(tmp_path, "each", MORTGAGE)
    assert scores["C1"]["loans_amount"] == scores["C2"]["loans_amount"] == "100000.00"
    assert scores["C1"]["tier"] == "high"
    assert summary["joint_accounts"] == {"accounts": 1, "holders": 2}
    assert summary["rows"]["balances"]["used"] == 2 and rejects == []


def test_split_gives_each_holder_an_exact_share(tmp_path: Path) -> None:
    """Three holders: a third each, 33,333.33 shown; 50,000 exactly on the bound for two
    (the upper tier), a cent below it for three."""
    three = [*MORTGAGE, ("C3", "M1", "MORTGAGE", OPEN, "100000.00")]
    scores, summary, _ = _score(tmp_path, "split", three)
    assert {scores[c]["loans_amount"] for c in ("C1", "C2", "C3")} == {"33333.33"}
    assert summary["joint_accounts"] == {"accounts": 1, "holders": 3}
    scores, _, _ = _score(tmp_path, "split", MORTGAGE, name="two")
    assert (scores["C1"]["points"], scores["C1"]["tier"]) == ("50000.00", "high")
    short = [(c, a, p, d, "99999.99") for c, a, p, d, _ in MORTGAGE]
    scores, _, _ = _score(tmp_path, "split", short, name="short")
    assert (scores["C1"]["points"], scores["C1"]["tier"]) == ("50000.00", "low")  # 49,999.995


def test_reject_keeps_them_conflicting(tmp_path: Path) -> None:
    scores, summary, rejects = _score(tmp_path, "reject", MORTGAGE, "--max-reject-rate", "1")
    assert "C1" not in scores and "joint_accounts" not in summary
    assert [r["reason"] for r in rejects] == [
        "conflicting rows for the same account_id and date"
    ] * 2


def test_repeats_and_other_differences_among_holders(tmp_path: Path) -> None:
    """A holder's exact repeat is a duplicate; rows that differ in more than the customer
    conflict in any mode; holders may change from one date to the next."""
    rows = [
        *MORTGAGE,
        ("C1", "M1", "MORTGAGE", OPEN, "100000.00"),  # C1 again: a duplicate
        ("C1", "M2", "MORTGAGE", OPEN, "500.00"),
        ("C2", "M2", "MORTGAGE", OPEN, "600.00"),  # another balance: both conflict
        ("C1", "M1", "MORTGAGE", "2026-04-01", "90500.00"),  # from April C1 alone
    ]
    scores, summary, rejects = _score(tmp_path, "each", rows, "--max-reject-rate", "1")
    # C1: 90 days of 100,000 + 91 of 90,500 = 17,235,500 / 181; C2: 90 days of 100,000
    assert scores["C1"]["loans_amount"] == "95223.76"
    assert scores["C2"]["loans_amount"] == "49723.76"
    counts = summary["rows"]["balances"]
    assert (counts["used"], counts["duplicate"], counts["rejected"]) == (3, 1, 2)
    assert {r["line"] for r in rejects} == {"5", "6"}
    assert summary["joint_accounts"] == {"accounts": 1, "holders": 2}


def test_more_holders_than_shares_conflict_under_split(tmp_path: Path) -> None:
    many = [(f"C{i}", "M1", "MORTGAGE", OPEN, "100.00") for i in range(11)]
    scores, summary, rejects = _score(tmp_path, "split", many, "--max-reject-rate", "1")
    assert len(rejects) == 11 and "joint_accounts" not in summary
    ten = many[:10]
    scores, _, _ = _score(tmp_path, "split", ten, name="ten")
    assert scores["C0"]["loans_amount"] == "10.00"


@pytest.mark.parametrize("mode", ["each", "split"])
def test_by_party_one_persons_numbers_are_one_holder(tmp_path: Path, mode: str) -> None:
    """C1 and C2 are one person: the account counts once for them (whole, or the half
    that P2's C3 does not hold); by household all three are one holder."""
    three = [*MORTGAGE, ("C3", "M1", "MORTGAGE", OPEN, "100000.00")]
    parties = tmp_path / "parties.csv"
    parties.write_text("customer_id,party_id,household_id\nC1,P1,H\nC2,P1,H\nC3,P2,H\n")
    scores, summary, _ = _score(tmp_path, mode, three, "--parties", parties,
                                "--score-by", "party")  # fmt: skip
    whole = "100000.00" if mode == "each" else "50000.00"
    assert scores["P1"]["loans_amount"] == scores["P2"]["loans_amount"] == whole
    assert scores["P1"]["customer_ids"] == "C1;C2"
    assert summary["joint_accounts"]["accounts"] == 1
    scores, _, _ = _score(tmp_path, mode, three, "--parties", parties, "--score-by",
                          "household", name="house")  # fmt: skip
    assert scores["H"]["loans_amount"] == "100000.00"


# --- property: the row-by-row reference -----------------------------------------------

START, END = date(2026, 1, 1), date(2026, 1, 20)
days = st.integers(min_value=-3, max_value=22).map(lambda n: START + timedelta(days=n))
joint_rows = st.lists(
    st.tuples(
        st.sampled_from(["C1", "C2", "C3", "C4"]),
        st.sampled_from(["A1", "A2"]),
        st.sampled_from(["CURRENT", "MORTGAGE"]),
        days,
        st.sampled_from(["10.00", "250.50"]),
    ),
    max_size=14,
)


@pytest.mark.usefixtures("window_unchecked")
@settings(max_examples=examples(50), deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    balances=joint_rows,
    mode=st.sampled_from(["each", "split", "reject"]),
    by_party=st.booleans(),
)
def test_joint_scores_equal_the_reference(balances: list, mode: str, by_party: bool) -> None:
    """icbc-star with each joint mode, by customer and by party (C1 and C2 one
    person): points and tiers as the reference walks every day, holders, repeats and
    conflicts included."""
    unit_of = {"C1": "P1", "C2": "P1", "C3": "P3", "C4": "P4"} if by_party else None
    expected = reference_points(balances, [], START, END, joint=mode, unit_of=unit_of)
    text = (ROOT / "rules" / "icbc-star.toml").read_text(encoding="utf-8")
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        rules = folder / "r.toml"
        named = 'name = "icbc-star"\n'
        rules.write_text(text.replace(named, f'{named}joint_accounts = "{mode}"\n', 1))
        bal = write_csv(folder / "b.csv", BAL, balances)
        txn = write_csv(folder / "t.csv", TXN, [])
        job = Job(str(bal), str(txn), parse_window(None, None, START, END), str(rules))
        if by_party:
            parties = folder / "p.csv"
            parties.write_text("customer_id,party_id\nC1,P1\nC2,P1\nC3,P3\nC4,P4\n")
            job.parties, job.score_by = (str(parties),), "party"
        scores = run(job).scores
    key = "party_id" if by_party else "customer_id"
    got = {row[key]: row for row in scores.iter_rows(named=True)}
    assert set(got) == set(expected)
    for unit, points in expected.items():
        assert got[unit]["points"] == round_half_up(points), unit
        assert got[unit]["tier"] == reference_tier(points), unit


@pytest.mark.spark
def test_spark_counts_joint_accounts_as_the_polars_engine_does(
    tmp_path: Path, spark: object
) -> None:
    """The sample with its joint mortgage, foreign accounts and parties, by party and by
    household, "split": the same scores and summary on both engines."""
    from .conftest import on_both_engines

    sample = ROOT / "sample_data"
    text = (ROOT / "rules" / "icbc-star.toml").read_text(encoding="utf-8")
    named = 'name = "icbc-star"\n'
    rules = tmp_path / "split.toml"
    rules.write_text(text.replace(named, f'{named}joint_accounts = "split"\n', 1))
    job = Job(
        (str(sample / "balances.csv"), str(sample / "foreign_and_joint.csv")),
        (str(sample / "transactions.csv"), str(sample / "foreign_transactions.csv")),
        parse_window("2026H1"),
        str(rules),
        fx=str(sample / "fx_rates.csv"),
    )
    for by, joint in (("party", {"accounts": 1, "holders": 2}), ("household", None)):
        job.parties, job.score_by = (str(sample / "parties.csv"),), by
        local, remote = on_both_engines(job, spark)
        assert remote.scores.equals(local.scores)
        assert remote.summary == local.summary
        assert local.summary.get("joint_accounts") == joint  # the couple: one household


@pytest.mark.parametrize("mode", ["each", "split"])
def test_explain_measures_an_account_with_all_its_rows(tmp_path: Path, mode: str) -> None:
    """explain takes a customer's accounts whole: C2's share of the joint mortgage, and
    its end when C1 alone holds it from April (a run's figures, not C2's rows alone)."""
    rows = [*MORTGAGE, ("C1", "M1", "MORTGAGE", "2026-04-01", "90500.00")]
    scores, _, _ = _score(tmp_path, mode, rows)
    balances = tmp_path / "out-b.csv"
    for customer in ("C1", "C2"):
        ran = tierscore_here("explain", customer, "-b", balances, "-t", tmp_path / "out-t.csv",
                             "-p", "2026H1", "-r", _rules(tmp_path, mode), "--json")  # fmt: skip
        assert ran.returncode == 0, ran.stderr
        data = json.loads(ran.stdout)
        assert data["points"] == scores[customer]["points"], customer
        loans = next(c for c in data["components"] if c["id"] == "loans")
        assert loans["amount"] == scores[customer]["loans_amount"]
        # the account's own figure is the customer's part too (its only account)
        assert loans["parts"][0]["daily_average"] == scores[customer]["loans_amount"]
    assert scores["C2"]["loans_amount"] == ("49723.76" if mode == "each" else "24861.88")


def test_joint_accounts_and_foreign_rows_in_parts_add_up_as_whole() -> None:
    """Measured in parts, the folds of every part are merged as they come: the same
    scores, summary (joint accounts, rows, unmapped codes) and rejects as whole."""
    sample = ROOT / "sample_data"
    job = Job(
        (str(sample / "balances.csv"), str(sample / "foreign_and_joint.csv")),
        (str(sample / "transactions.csv"), str(sample / "foreign_transactions.csv")),
        parse_window("2026H1"),
        fx=str(sample / "fx_rates.csv"),
    )
    whole = run(job)
    job.rows_per_part = 1_500  # 6 parts
    parted = run(job)
    assert "in 6 parts" in parted.measuring["balances"]
    assert parted.scores.equals(whole.scores)
    assert parted.rejects.equals(whole.rejects)
    assert parted.summary == whole.summary
    assert whole.summary["joint_accounts"] == {"accounts": 1, "holders": 2}


def test_split_in_a_foreign_currency_caps_and_explains_the_share(tmp_path: Path) -> None:
    """Under "split" with --fx a cap still applies to the converted amount (USD 1,000 at
    7.2 is 7,200, capped at 5,000), and explain's account shows the holder's half, in
    the currency and in yuan, as the fold counts it."""
    rules = tmp_path / "split.toml"
    rules.write_text(
        RULES.format(mode="split").replace('codes = ["POS"]', 'cap = 5000.00\ncodes = ["POS"]'),
        encoding="utf-8",
    )
    bal = tmp_path / "b.csv"
    bal.write_text(
        "customer_id,account_id,product,date,balance,currency\n"
        f"C1,M1,MORTGAGE,{OPEN},1000.00,USD\nC2,M1,MORTGAGE,{OPEN},1000.00,USD\n"
    )
    txn = tmp_path / "t.csv"
    txn.write_text(
        "customer_id,txn_id,date,txn_type,amount,fee,fee_ratio,currency\n"
        "C1,T1,2026-05-01,POS,1000.00,,,USD\n"
    )
    fx = tmp_path / "fx.csv"
    fx.write_text("date,currency,rate\n2025-06-01,USD,7.2\n")
    common = ["-b", bal, "-t", txn, "-p", "2026H1", "-r", rules, "--fx", fx]
    ran = tierscore_here("score", *common, "--out", tmp_path / "out", "-q")
    assert ran.returncode == 0, ran.stderr
    with (tmp_path / "out" / "current" / "scores.csv").open(encoding="utf-8") as handle:
        scores = {r["customer_id"]: r for r in csv.DictReader(handle)}
    assert scores["C1"]["spend_amount"] == "5000.00"
    assert scores["C1"]["loans_amount"] == scores["C2"]["loans_amount"] == "3600.00"
    ran = tierscore_here("explain", "C1", *common, "--json")
    data = json.loads(ran.stdout)
    loans = next(c for c in data["components"] if c["id"] == "loans")
    part = loans["parts"][0]
    assert (part["daily_average_in_currency"], part["daily_average"]) == ("500.00", "3600.00")
    spend = next(c for c in data["components"] if c["id"] == "spend")["parts"][0]
    assert (spend["amount"], spend["counted"], spend["capped"]) == ("7200.00", "5000.00", 1)
