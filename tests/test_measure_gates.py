"""Quality gates on measures (seed 004's bars) and the pyramid's key group (seed 002).

A measure gate is a bar: the customer's measure, compared exactly on the integers the
``<id>_amount`` columns round, must reach ``at_least`` yuan. The cases sit on the bar
and one cent-day (balances) or one ratio-cent (transactions) below it, where the
rounded amounts still read as the bar.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import polars as pl
import pytest

from tierscore.cli.errors import _outcome
from tierscore.cli.main import app
from tierscore.scoring.errors import ConfigError, InputError
from tierscore.scoring.pipeline import Job, Result, run
from tierscore.scoring.plan import compile_plan, longest_window
from tierscore.scoring.rules import load_rules
from tierscore.scoring.window import parse_window

from .conftest import BAL_COLUMNS, TXN_COLUMNS, on_both_engines, tierscore_here, txn_rows, write_csv

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "sample_data"
STRICT = (ROOT / "rules" / "icbc-star-strict.toml").read_text(encoding="utf-8")
PYRAMID = (ROOT / "rules" / "pyramid.toml").read_text(encoding="utf-8")
H1 = parse_window("2026H1")  # 181 days
DEPOSITS = 'measure = "short_term_assets+long_term_assets"'
CARD = 'measure = "card_spending"'
OPENING = "2025-12-31"  # carries into the whole window
GROUP = 'key_group = ["重要客户", "次要客户"]'


def rule_file(tmp_path: Path, text: str, old: str = "", new: str = "") -> Path:
    if old:
        assert text.count(old) == 1, old
        text = text.replace(old, new)
    path = tmp_path / "rules.toml"
    path.write_text(text, encoding="utf-8")
    return path


def score(
    tmp_path: Path,
    balances: list,
    transactions: list = (),
    rules: str = "icbc-star-strict",
    **job: Any,
) -> Result:
    bal = write_csv(tmp_path / "b.csv", BAL_COLUMNS, balances)
    txn = write_csv(tmp_path / "t.csv", TXN_COLUMNS, txn_rows(transactions))
    return run(Job(str(bal), str(txn), H1, rules, **job))


def rows(result: Result) -> dict[str, dict]:
    return {r["customer_id"]: r for r in result.scores.iter_rows(named=True)}


def deposits(customer: str, last_day: str | None = None) -> list[tuple]:
    """300,000 yuan of daily-average deposits (100,000 current, 200,000 time); with
    ``last_day``, the time account holds that balance on the window's last day only."""
    out = [(customer, f"{customer}-C", "CURRENT", OPENING, "100000.00"),
           (customer, f"{customer}-T", "TIME", OPENING, "200000.00")]  # fmt: skip
    if last_day is not None:
        out.append((customer, f"{customer}-T", "TIME", "2026-06-30", last_day))
    return out


# --- the bars at their exact bound -------------------------------------------------------


def test_deposit_bar_at_the_bound_passes_one_cent_day_below_blocks(tmp_path: Path) -> None:
    balances = deposits("AT") + deposits("BELOW", "199999.99") + deposits("ABOVE", "200000.01")
    card = [(c, "2026-03-01", "POS", "25000.00") for c in ("AT", "BELOW", "ABOVE")]
    result = score(tmp_path, balances, card)
    got = rows(result)
    assert {c: r["tier"] for c, r in got.items()} == dict.fromkeys(got, "五星级")
    assert {c: r["quality"] for c, r in got.items()} == {"AT": True, "BELOW": False, "ABOVE": True}
    assert got["BELOW"]["quality_blocked_by"] == "deposits_300k"
    assert got["AT"]["quality_blocked_by"] is None and got["ABOVE"]["quality_blocked_by"] is None
    # one cent-day short of 300,000 x 181: the rounded amounts still read 300,000.00
    shown = got["BELOW"]["short_term_assets_amount"] + got["BELOW"]["long_term_assets_amount"]
    assert str(shown) == "300000.00"
    gates = result.summary["quality_gates"]
    assert gates["evaluated"] is True and gates["blocked_customers"] == 1
    assert gates["by_gate"] == {"deposits_300k": 1, "card_spending_50k": 0}
    assert gates["not_evaluated"] == ["overdue_90d", "missed_consecutive", "missed_total"]
    assert result.summary["quality_customers"] == 2


def test_card_bar_at_the_bound_passes_one_ratio_cent_below_blocks(tmp_path: Path) -> None:
    balances = deposits("AT") + deposits("BELOW") + deposits("NONE") + deposits("HALF")
    card = [
        ("AT", "2026-03-01", "POS", "25000.00"),
        # 24,999.99 + 0.01 x 0.999999: one ratio-cent short; shown as 25,000.00
        ("BELOW", "2026-03-01", "POS", "24999.99"),
        ("BELOW", "2026-03-02", "POS", "0.01", None, "0.999999"),
        ("HALF", "2026-03-01", "POS", "50000.00", None, "0.5"),  # 25,000 exactly
    ]
    got = rows(score(tmp_path, balances, card))
    assert str(got["BELOW"]["card_spending_amount"]) == "25000.00"
    assert {c: r["quality_blocked_by"] for c, r in got.items()} == {
        "AT": None, "BELOW": "card_spending_50k", "NONE": "card_spending_50k", "HALF": None,
    }  # fmt: skip
    assert [got[c]["quality"] for c in ("AT", "BELOW", "NONE", "HALF")] == [
        True, False, False, True,
    ]  # fmt: skip


def test_a_bar_blocks_quality_only_not_the_tier(tmp_path: Path) -> None:
    """Below a bar, quality goes and the bar is named (both, in rule order); the tier
    and points are icbc-star's."""
    balances = [("RICH", "A", "TIME", OPENING, "2000000.00"),  # 20,000 points, no card
                ("POOR", "B", "CURRENT", OPENING, "1.00")]  # fmt: skip
    strict = rows(score(tmp_path, balances))
    plain = rows(score(tmp_path, balances, rules="icbc-star"))
    for customer in ("RICH", "POOR"):
        got, was = strict[customer], plain[customer]
        assert (got["tier"], got["points"]) == (was["tier"], was["points"])
    assert (plain["RICH"]["tier"], plain["RICH"]["quality"]) == ("六星级", True)
    assert strict["RICH"]["quality"] is False
    assert strict["RICH"]["quality_blocked_by"] == "card_spending_50k"
    assert strict["POOR"]["quality_blocked_by"] == "deposits_300k;card_spending_50k"
    assert "quality_blocked_by" not in plain["RICH"]


def test_bar_of_one_component_of_a_custom_rule_set(tmp_path: Path) -> None:
    """A bar with cents, on a window of another length (D = 31): exact on both sides."""
    text = (
        '[ruleset]\nname = "t"\nquality_tier = "TOP"\n\n'
        '[[components]]\nid = "cash"\nsource = "balances"\nrate = 1\ncodes = ["CURRENT"]\n\n'
        '[[tiers]]\nlabel = "TOP"\nmin = 0.01\n\n[[tiers]]\nlabel = "REST"\nmin = 0\n\n'
        '[[quality_gates]]\nid = "cash_bar"\nmeasure = "cash"\nat_least = 1000.01\n'
    )
    path = rule_file(tmp_path, text)
    balances = [
        ("AT", "a", "CURRENT", OPENING, "1000.01"),
        ("BELOW", "b", "CURRENT", OPENING, "1000.01"),
        ("BELOW", "b", "CURRENT", "2026-01-31", "1000.00"),  # the last day a cent short
    ]
    bal = write_csv(tmp_path / "b.csv", BAL_COLUMNS, balances)
    txn = write_csv(tmp_path / "t.csv", TXN_COLUMNS, [])
    result = run(Job(str(bal), str(txn), parse_window("2026-01", months=1), str(path)))
    got = rows(result)
    assert got["AT"]["quality"] is True and got["BELOW"]["quality"] is False
    assert got["BELOW"]["cash_amount"] == got["AT"]["cash_amount"]  # both show 1000.01
    assert result.summary["quality_gates"] == {
        "evaluated": True, "blocked_customers": 1, "by_gate": {"cash_bar": 1},
        "labels": {"cash_bar": "cash_bar"},  # no label given: the id
    }  # fmt: skip


# --- with --customers and --previous -----------------------------------------------------


def test_measure_and_column_gates_together(tmp_path: Path) -> None:
    balances = deposits("OK") + deposits("OVERDUE") + [("POOR", "P", "TIME", OPENING, "1.00")]
    balances += deposits("BAD")
    card = [(c, "2026-03-01", "POS", "25000.00") for c in ("OK", "OVERDUE", "POOR", "BAD")]
    people = tmp_path / "customers.csv"
    people.write_text(
        "customer_id,branch,overdue_90d,missed_consecutive,missed_total\n"
        "OK,A,false,0,0\nOVERDUE,A,true,0,0\nPOOR,B,true,0,0\nBAD,B,ture,0,0\n",
        encoding="utf-8",
    )
    result = score(tmp_path, balances, card, customers=str(people))
    got = rows(result)
    assert {c: r["quality_blocked_by"] for c, r in got.items()} == {
        "OK": None, "OVERDUE": "overdue_90d", "POOR": "overdue_90d;deposits_300k",
        "BAD": "unknown",
    }  # fmt: skip
    gates = result.summary["quality_gates"]
    assert gates["by_gate"] == {
        "overdue_90d": 2, "missed_consecutive": 0, "missed_total": 0, "deposits_300k": 1,
        "card_spending_50k": 0, "unknown": 1,
    }  # fmt: skip
    assert gates["blocked_customers"] == 3 and "not_evaluated" not in gates


def test_only_measure_gates_an_unusable_customers_row_hides_nothing(tmp_path: Path) -> None:
    """Without gates on columns, a customers row that cannot be used (conflicting rows)
    hides no gate: it blocks nothing (no "unknown")."""
    head = STRICT.split("# Quality gates (seed 004)")[0]
    path = rule_file(tmp_path, head + STRICT[STRICT.index("# Seed 004's other quality bars") :])
    rules = load_rules(str(path))
    assert [g.id for g in rules.gates] == ["deposits_300k", "card_spending_50k"]
    people = tmp_path / "customers.csv"
    people.write_text("customer_id,branch\nX,A\nX,B\n", encoding="utf-8")
    balances = deposits("X")
    result = score(tmp_path, balances, [("X", "2026-03-01", "POS", "25000.00")],
                   rules=str(path), customers=str(people))  # fmt: skip
    assert rows(result)["X"]["quality"] is True
    assert rows(result)["X"]["quality_blocked_by"] is None
    assert result.summary["quality_gates"]["by_gate"] == {"deposits_300k": 0,
                                                          "card_spending_50k": 0}  # fmt: skip


def test_a_gone_customer_is_not_reported_below_a_bar(tmp_path: Path) -> None:
    previous = tmp_path / "previous.csv"
    previous.write_text("customer_id,tier\nGONE,五星级\nX,四星级\n", encoding="utf-8")
    result = score(tmp_path, [("X", "A", "CURRENT", OPENING, "1.00")], previous=str(previous))
    got = rows(result)
    assert got["GONE"]["movement"] == "gone"
    assert got["GONE"]["quality_blocked_by"] is None and got["GONE"]["quality"] is None
    assert got["X"]["quality_blocked_by"] == "deposits_300k;card_spending_50k"
    assert result.summary["quality_gates"]["blocked_customers"] == 1


# --- the rule file -----------------------------------------------------------------------


def test_strict_is_icbc_star_plus_two_bars() -> None:
    strict, plain = load_rules("icbc-star-strict"), load_rules("icbc-star")
    assert strict.name == "icbc-star-strict" and strict.title != plain.title
    assert (strict.components, strict.tiers, strict.quality_tier, strict.excluded) == (
        plain.components, plain.tiers, plain.quality_tier, plain.excluded,
    )  # fmt: skip
    assert strict.gates[:3] == plain.gates
    bars = {g.id: (g.measure, str(g.bar)) for g in strict.measure_gates}
    assert bars == {
        "deposits_300k": (("short_term_assets", "long_term_assets"), "300000"),
        "card_spending_50k": (("card_spending",), "25000"),
    }
    assert "pro rata" in STRICT and "50,000 / 2 = 25,000" in STRICT
    plan = compile_plan(strict, H1)
    assert plan.bars == {"deposits_300k": 300000 * 100 * 181, "card_spending_50k": 25000 * 10**8}


BAD_GATES = [
    ("unknown component", (CARD, 'measure = "card_spend"'), "quality_gates[4].measure"),
    ("mixed sources", (CARD, 'measure = "short_term_assets+card_spending"'),
     "quality_gates[4].measure"),
    ("a component twice", (CARD, 'measure = "card_spending+card_spending"'),
     "quality_gates[4].measure"),
    ("empty part at the end", (DEPOSITS, 'measure = "short_term_assets+"'),
     "quality_gates[3].measure"),
    ("empty part at the start", (DEPOSITS, 'measure = "+long_term_assets"'),
     "quality_gates[3].measure"),
    ("two plus signs", (DEPOSITS, 'measure = "short_term_assets++long_term_assets"'),
     "quality_gates[3].measure"),
    ("spaces around +", (DEPOSITS, 'measure = "short_term_assets + long_term_assets"'),
     "quality_gates[3].measure"),
    ("a trailing space", (CARD, 'measure = "card_spending "'), "quality_gates[4].measure"),
    ("a tab", (CARD, 'measure = "card_spending\\t"'), "quality_gates[4].measure"),
    ("an empty measure", (CARD, 'measure = ""'), "quality_gates[4].measure"),
    ("a number", (CARD, "measure = 5"), "quality_gates[4].measure"),
    ("a list", (CARD, 'measure = ["card_spending"]'), "quality_gates[4].measure"),
    ("wrong case", (CARD, 'measure = "Card_Spending"'), "quality_gates[4].measure"),
    ("column and measure", (CARD, CARD + '\ncolumn = "spend"'), "quality_gates[4]"),
    ("neither", (CARD, ""), "quality_gates[4]"),
    ("is_true on a measure", ("at_least = 25000", "is_true = true"), "quality_gates[4].is_true"),
    ("is_true beside at_least", ("at_least = 25000", "at_least = 25000\nis_true = true"),
     "quality_gates[4].is_true"),
    ("no at_least", ("at_least = 25000", ""), "quality_gates[4].at_least"),
    ("at_least 3 decimals", ("at_least = 25000", "at_least = 25000.001"),
     "quality_gates[4].at_least"),
    ("at_least 0", ("at_least = 25000", "at_least = 0"), "quality_gates[4].at_least"),
    ("at_least negative", ("at_least = 25000", "at_least = -1"), "quality_gates[4].at_least"),
    ("at_least true", ("at_least = 25000", "at_least = true"), "quality_gates[4].at_least"),
    ("at_least text", ("at_least = 25000", 'at_least = "25000"'), "quality_gates[4].at_least"),
    ("at_least nan", ("at_least = 25000", "at_least = nan"), "quality_gates[4].at_least"),
    ("at_least past 10^18", ("at_least = 25000", "at_least = 1000000000000000000.01"),
     "quality_gates[4].at_least"),
    ("measure gate id unknown", ('id = "card_spending_50k"', 'id = "unknown"'),
     "quality_gates[4].id"),
    ("measure gate id repeated", ('id = "card_spending_50k"', 'id = "DEPOSITS_300K"'),
     "quality_gates[4].id"),
]  # fmt: skip


@pytest.mark.parametrize(("case", "edit", "key"), BAD_GATES, ids=[b[0] for b in BAD_GATES])
def test_malformed_measure_gates(
    tmp_path: Path, case: str, edit: tuple[str, str], key: str
) -> None:
    path = rule_file(tmp_path, STRICT, *edit)
    with pytest.raises(ConfigError) as caught:
        load_rules(str(path))
    assert caught.value.key == key, (case, str(caught.value))


def test_the_largest_bar_compiles_at_the_longest_window(tmp_path: Path) -> None:
    path = rule_file(tmp_path, STRICT, "at_least = 25000", "at_least = 1000000000000000000")
    plan = compile_plan(load_rules(str(path)), longest_window())
    assert plan.bars["card_spending_50k"] == 10**18 * 10**8
    assert plan.bars["deposits_300k"] == 300000 * 100 * 3660


def test_bad_measure_stops_the_command_with_file_and_key(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = rule_file(tmp_path, STRICT, CARD, 'measure = "card_spending+investment+mortgage"')
    code = _outcome(lambda: app(["rules", "check", str(path)], prog_name="tierscore"), False)
    said = capsys.readouterr().err
    assert code == 2
    assert f"{path}: quality_gates[4].measure: " in said and "both sources" in said


# --- the pyramid's key group -------------------------------------------------------------


def test_pyramid_labels_follow_seed_002() -> None:
    rules = load_rules("pyramid")
    assert [(t.label, str(t.bound)) for t in rules.tiers] == [
        ("重要客户", "0.01"), ("次要客户", "0.20"), ("普通客户", "0.50"), ("小客户", "1"),
    ]  # fmt: skip
    assert rules.key_group == ("重要客户", "次要客户") and rules.key_group_label == "关键客户"
    assert load_rules("icbc-star").key_group == ()


BAD_GROUPS = [
    ("unknown label", (GROUP, 'key_group = ["关键客户"]'),
     "ruleset.key_group"),
    ("repeated label", (GROUP, 'key_group = ["重要客户", "重要客户"]'), "ruleset.key_group"),
    ("empty list", (GROUP, "key_group = []"), "ruleset.key_group"),
    ("not a list", (GROUP, 'key_group = "重要客户"'),
     "ruleset.key_group"),
    ("not text", (GROUP, "key_group = [1]"), "ruleset.key_group"),
    ("label without group", (GROUP, ""),
     "ruleset.key_group_label"),
    ("empty label", ('key_group_label = "关键客户"', 'key_group_label = " "'),
     "ruleset.key_group_label"),
    ("misspelt key", ('key_group_label = "关键客户"', 'key_groups = "关键客户"'),
     "ruleset.key_groups"),
]  # fmt: skip


@pytest.mark.parametrize(("case", "edit", "key"), BAD_GROUPS, ids=[b[0] for b in BAD_GROUPS])
def test_malformed_key_group(tmp_path: Path, case: str, edit: tuple[str, str], key: str) -> None:
    path = rule_file(tmp_path, PYRAMID, *edit)
    with pytest.raises(ConfigError) as caught:
        load_rules(str(path))
    assert caught.value.key == key, (case, str(caught.value))


def test_key_customer_is_a_reserved_name(tmp_path: Path) -> None:
    path = rule_file(tmp_path, PYRAMID, 'id = "mortgage"', 'id = "key_customer"')
    with pytest.raises(ConfigError) as caught:
        load_rules(str(path))
    assert caught.value.key == "components[2].id"
    strict = rule_file(tmp_path, STRICT, 'column = "overdue_90d"', 'column = "Key_Customer"')
    with pytest.raises(ConfigError) as caught:
        load_rules(str(strict))
    assert caught.value.key == "quality_gates[0].column"


def test_a_customers_column_named_key_customer_stops_the_run(tmp_path: Path) -> None:
    people = tmp_path / "customers.csv"
    people.write_text("customer_id,key_customer\nX,yes\n", encoding="utf-8")
    with pytest.raises(InputError) as caught:
        score(tmp_path, deposits("X"), rules="pyramid", customers=str(people))
    assert caught.value.key == "key_customer"


def test_key_customer_right_after_tier_and_the_summary_counts_the_group(tmp_path: Path) -> None:
    # 10 customers by card spending: ceil(1%) = 1 重要客户, ceil(20%) = 2: one 次要客户
    txns = [(f"C{i}", "2026-03-01", "POS", f"{(10 - i) * 1000}.00") for i in range(10)]
    previous = tmp_path / "previous.csv"
    previous.write_text("customer_id,tier\nGONE,重要客户\n", encoding="utf-8")
    result = score(tmp_path, [], txns, rules="pyramid", previous=str(previous))
    columns = result.scores.columns
    assert columns[columns.index("tier") + 1] == "key_customer"
    got = rows(result)
    assert [got[f"C{i}"]["key_customer"] for i in range(10)] == [True, True] + [False] * 8
    assert got["GONE"]["key_customer"] is None
    assert result.summary["key_group"] == {
        "label": "关键客户", "tiers": ["重要客户", "次要客户"], "customers": 2, "share": 0.2,
    }  # fmt: skip


def test_key_group_of_no_customers_and_its_own_label(tmp_path: Path) -> None:
    path = rule_file(tmp_path, PYRAMID, 'key_group_label = "关键客户"', 'key_group_label = "VIP"')
    result = score(tmp_path, [], [], rules=str(path))
    assert result.summary["key_group"] == {
        "label": "VIP", "tiers": ["重要客户", "次要客户"], "customers": 0, "share": 0.0,
    }  # fmt: skip
    assert result.scores.schema["key_customer"] == pl.Boolean
    assert "key_group" not in score(tmp_path, [], [], rules="icbc-star").summary


# --- the command line --------------------------------------------------------------------


def test_strict_on_the_sample_without_customers(tmp_path: Path) -> None:
    base = ["score", "--balances", str(SAMPLE / "balances.csv"),
            "--transactions", str(SAMPLE / "transactions.csv"), "--period", "2026H1",
            "--quiet"]  # fmt: skip
    done = tierscore_here(*base, "--rules", "icbc-star-strict", "--out", str(tmp_path / "s"))
    assert done.returncode == 0, done.stderr
    plain = tierscore_here(*base, "--out", str(tmp_path / "p"))
    assert plain.returncode == 0, plain.stderr
    strict = json.loads((tmp_path / "s" / "summary.json").read_text(encoding="utf-8"))
    before = json.loads((tmp_path / "p" / "summary.json").read_text(encoding="utf-8"))
    assert strict["ruleset"]["name"] == "icbc-star-strict"
    assert strict["tiers"] == before["tiers"]  # the bars move no one's tier
    gates = strict["quality_gates"]
    assert gates["evaluated"] is True and set(gates["by_gate"]) == {
        "deposits_300k", "card_spending_50k",
    }  # fmt: skip
    assert 0 < strict["quality_customers"] < before["quality_customers"]
    header = (tmp_path / "s" / "scores.csv").read_text(encoding="utf-8").splitlines()[0]
    assert header.split(",")[-1] == "quality_blocked_by"
    report = (tmp_path / "s" / "report.html").read_text(encoding="utf-8")
    assert "存款余额30万元以上 (deposits of 300,000 yuan)" in report  # gates by label, in zh
    assert "客户信息列上的门槛未应用：90+ days overdue、连三" in report


@pytest.mark.parametrize(
    ("name", "shown"),
    [
        ("icbc-star-strict", ["short_term_assets+long_term_assets", "< 300,000 yuan",
                              "< 25,000 yuan", "missed_total"]),
        ("pyramid", ["重要客户", "key group 关键客户: 重要客户 + 次要客户"]),
    ],
)  # fmt: skip
def test_rules_show(capsys: pytest.CaptureFixture[str], name: str, shown: list[str]) -> None:
    code = _outcome(lambda: app(["rules", "show", name], prog_name="tierscore"), False)
    said = capsys.readouterr().out
    assert code == 0, said
    for text in shown:
        assert text in said, text


# --- the Spark engine --------------------------------------------------------------------


@pytest.mark.spark
def test_spark_gives_the_same_bars_and_key_customers(spark: Any, tmp_path: Path) -> None:
    bal, txn = str(SAMPLE / "balances.csv"), str(SAMPLE / "transactions.csv")
    for job in (
        Job(bal, txn, H1, "icbc-star-strict"),
        Job(bal, txn, H1, "icbc-star-strict", customers=str(SAMPLE / "customers.csv")),
        Job(bal, txn, H1, "pyramid"),
    ):
        local, remote = on_both_engines(job, spark)  # pyramid's: test_spark_engine's run
        assert remote.scores.equals(local.scores)
        assert remote.scores.schema == local.scores.schema
        assert remote.summary == local.summary
