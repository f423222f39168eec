"""Trust in rule files and gates (issue #17): every number of a rule file is bounded to
what is scored exactly, ``rules check`` rejects whatever ``score`` would, a run too
large for 128-bit integers stops instead of wrapping, and a gate whose customers row
is unusable fails closed.

Exact figures are recomputed here with ``Fraction``: points = measure / unit x rate,
rounded half-up to 0.01 only when shown.
"""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal
from fractions import Fraction
from pathlib import Path
from typing import Any

import polars as pl
import pytest

from tierscore.cli.errors import _outcome
from tierscore.cli.main import app
from tierscore.scoring.errors import ConfigError, InputError
from tierscore.scoring.pipeline import Job, Result, run
from tierscore.scoring.plan import (
    CAPACITY_YUAN,
    CENTS,
    MAX_WINDOW_DAYS,
    NUMERATOR_LIMIT,
    RATIO_SCALE,
    compile_plan,
    longest_window,
)
from tierscore.scoring.points import UNUSABLE, with_numerator, within_range
from tierscore.scoring.rules import load_rules
from tierscore.scoring.window import Window, parse_window

from .conftest import BAL_COLUMNS, TXN_COLUMNS, Row, tierscore_here, txn_rows, write_csv

ROOT = Path(__file__).resolve().parent.parent
ICBC = (ROOT / "rules" / "icbc-star.toml").read_text(encoding="utf-8")
WEIGHTED = (ROOT / "rules" / "weighted-grade.toml").read_text(encoding="utf-8")
PYRAMID = (ROOT / "rules" / "pyramid.toml").read_text(encoding="utf-8")
H1 = parse_window("2026H1")
# the longest window scored: 2000-01-01..2010-01-07
LONGEST = Window(date(2000, 1, 1), date(2010, 1, 7), "longest")
MAX_AMOUNT = "999999999999999.99"  # the largest amount validation lets through


def one_component(rate: str, unit: str = "1", top: str = "1000000", extra: str = "") -> str:
    """A rule set of one transactions component (POS) and two tiers."""
    return (
        f'[ruleset]\nname = "t"\nunit = {unit}\n\n'
        f'[[components]]\nid = "spend"\nsource = "transactions"\nrate = {rate}\n'
        f'codes = ["POS"]\n{extra}\n'
        f'[[tiers]]\nlabel = "TOP"\nmin = {top}\n\n[[tiers]]\nlabel = "REST"\nmin = 0\n'
    )


def rule_file(tmp_path: Path, text: str, name: str = "rules.toml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def edited(text: str, old: str, new: str) -> str:
    assert old in text, f"{old!r} is not in the rule file"
    return text.replace(old, new, 1)


def rejected(path: Path) -> ConfigError:
    """The error ``score`` stops with: the file loaded, then compiled."""
    with pytest.raises(ConfigError) as caught:
        compile_plan(load_rules(str(path)), longest_window())
    return caught.value


def cents(value: Fraction) -> Decimal:
    """Half-up to 0.01, as the scores show (every figure here is >= 0)."""
    whole = (value * 100 + Fraction(1, 2)).__floor__()
    return Decimal(whole).scaleb(-2)


def score(
    tmp_path: Path,
    rules: Path | str,
    txns: list[Row],
    window: Window = H1,
    **job: Any,
) -> Result:
    bal = write_csv(tmp_path / "bal.csv", BAL_COLUMNS, [])
    txn = write_csv(tmp_path / "txn.csv", TXN_COLUMNS, txn_rows(txns))
    return run(Job(str(bal), str(txn), window, str(rules), **job))


def by_id(result: Result) -> dict[str, dict[str, Any]]:
    return {row["customer_id"]: row for row in result.scores.iter_rows(named=True)}


# 1. every number bounded ----------------------------------------------------------

ICBC_BAD = [
    ("rate 1e30", ("rate = 135", "rate = 1e30"), "components[0].rate"),
    ("rate 1e308", ("rate = 135", "rate = 1e308"), "components[0].rate"),
    ("rate just above 10**6", ("rate = 135", "rate = 1000000.000001"), "components[0].rate"),
    ("rate 7 decimals", ("rate = 135", "rate = 1.0000001"), "components[0].rate"),
    ("rate nan", ("rate = 135", "rate = nan"), "components[0].rate"),
    ("rate inf", ("rate = 135", "rate = inf"), "components[0].rate"),
    ("rate -inf", ("rate = 135", "rate = -inf"), "components[0].rate"),
    ("rate true", ("rate = 135", "rate = true"), "components[0].rate"),
    ("unit 0", ("unit = 10000", "unit = 0"), "ruleset.unit"),
    ("unit 3 decimals", ("unit = 10000", "unit = 0.001"), "ruleset.unit"),
    ("unit above 10**6", ("unit = 10000", "unit = 1000000.01"), "ruleset.unit"),
    ("unit true", ("unit = 10000", "unit = true"), "ruleset.unit"),
    ("cap 1e308", ("cap = 10000.00", "cap = 1e308"), "components[7].cap"),
    ("cap above 10**15", ("cap = 10000.00", "cap = 1000000000000000.01"), "components[7].cap"),
    ("cap 3 decimals", ("cap = 10000.00", "cap = 10000.001"), "components[7].cap"),
    ("caps 1e308", ("cap = 10000.00", "caps = { REMOTE_CASH = 1e308 }"),
     "components[7].caps.REMOTE_CASH"),
    ("tier min 1e308", ("min = 80000", "min = 1e308"), "tiers[0].min"),
    ("tier min 10**18 + 1", ("min = 80000", "min = 1000000000000000001"), "tiers[0].min"),
    ("tier min 9 decimals", ("min = 2000", "min = 1999.000000001"), "tiers[2].min"),
    ("tier above nan", ("above = 0", "above = nan"), "tiers[5].above"),
    ("at_least 1e308", ("at_least = 3", "at_least = 1e308"), "quality_gates[1].at_least"),
    ("at_least 1.5", ("at_least = 3", "at_least = 1.5"), "quality_gates[1].at_least"),
    ("at_least 0", ("at_least = 3", "at_least = 0"), "quality_gates[1].at_least"),
    ("at_least true", ("at_least = 3", "at_least = true"), "quality_gates[1].at_least"),
    ("version a table", ('version = "2026.1"', "version = { a = 1 }"), "ruleset.version"),
]  # fmt: skip
WEIGHTED_BAD = [
    ("multiplier 1e308", ("multiplier = 1.05", "multiplier = 1e308"), "bonus.multiplier"),
    ("multiplier 0", ("multiplier = 1.05", "multiplier = 0"), "bonus.multiplier"),
    ("above inf", ("above = 0", "above = inf"), "bonus.above"),
    ("band min 1e308", ("{ min = 5000000, score = 100 }", "{ min = 1e308, score = 100 }"),
     "indicators[0].bands[5].min"),
    ("band score 1e7", ("{ min = 5000000, score = 100 }", "{ min = 5000000, score = 1e7 }"),
     "indicators[0].bands[5].score"),
    ("band score 3 decimals", ("{ min = 5000000, score = 100 }",
                               "{ min = 5000000, score = 99.999 }"),
     "indicators[0].bands[5].score"),
    ("weight true", ("weight = 0.5\nbands", "weight = true\nbands"), "indicators[0].weight"),
    ("weight 7 decimals", ("weight = 0.5\nbands", "weight = 0.4999999\nbands"),
     "indicators[0].weight"),
    # compiled: Q = weights' 2 x 100 x the multiplier's 20: 90.00001 x 4000 is not whole
    ("tier bound not whole on Q", ("min = 90", "min = 90.00001"), "tiers[0].min"),
]  # fmt: skip
PYRAMID_BAD = [
    ("top_share 7 decimals", ("top_share = 0.01", "top_share = 0.0100001"), "tiers[0].top_share"),
    ("top_share 1e308", ("top_share = 0.50", "top_share = 1e308"), "tiers[2].top_share"),
]  # fmt: skip
BAD = [(case, ICBC, edit, key) for case, edit, key in ICBC_BAD]
BAD += [(case, WEIGHTED, edit, key) for case, edit, key in WEIGHTED_BAD]
BAD += [(case, PYRAMID, edit, key) for case, edit, key in PYRAMID_BAD]


@pytest.mark.parametrize(("case", "text", "edit", "key"), BAD, ids=[b[0] for b in BAD])
def test_out_of_bounds_numbers_name_file_and_key(
    tmp_path: Path, case: str, text: str, edit: tuple[str, str], key: str
) -> None:
    path = rule_file(tmp_path, edited(text, *edit))
    error = rejected(path)
    assert (error.file, error.key) == (str(path), key), case
    assert str(error).startswith(f"{path}: {key}: "), case


@pytest.mark.parametrize(
    ("value", "said"),
    [("1" + "0" * 5000, "not valid TOML: Exceeds the limit"),
     ("[" * 100_000 + "]" * 100_000, "not valid TOML: nested too deeply")],
    ids=["5001-digit integer", "nested 100,000 deep"],
)  # fmt: skip
def test_what_the_toml_reader_cannot_take_is_invalid_toml(
    tmp_path: Path, value: str, said: str
) -> None:
    path = rule_file(tmp_path, edited(ICBC, "rate = 135", f"rate = {value}"))
    with pytest.raises(ConfigError) as caught:
        load_rules(str(path))
    assert str(caught.value).startswith(f"{path}: {said}")


def test_bounds_are_said_in_the_message(tmp_path: Path) -> None:
    error = rejected(rule_file(tmp_path, edited(ICBC, "rate = 135", "rate = 1e30")))
    assert "must be >= 0 and <= 1,000,000, at most 6 decimal places" in str(error)
    error = rejected(rule_file(tmp_path, edited(ICBC, "rate = 135", "rate = true")))
    assert str(error).endswith("must be a number")


def test_largest_rate_and_tier_bound_are_scored_exactly(tmp_path: Path) -> None:
    """rate 1,000,000 per yuan and a tier at 10**18 points: the largest amount times the
    largest fee ratio below 1, a customer exactly on the bound and one a cent below."""
    rules = rule_file(tmp_path, one_component("1000000", top="1000000000000000000"))
    txns: list[Row] = [
        ("MAX", "2026-03-01", "POS", MAX_AMOUNT, None, "0.999999"),
        ("ON", "2026-03-01", "POS", "1000000000000.00"),
        ("BELOW", "2026-03-01", "POS", "999999999999.99"),
    ]
    got = by_id(score(tmp_path, rules, txns))
    largest = Fraction(MAX_AMOUNT) * Fraction("0.999999") * 10**6
    assert got["MAX"]["points"] == cents(largest)
    assert got["MAX"]["spend_amount"] == cents(Fraction(MAX_AMOUNT) * Fraction("0.999999"))
    assert got["MAX"]["tier"] == "TOP"
    assert (got["ON"]["points"], got["ON"]["tier"]) == (Decimal(10**18), "TOP")
    assert got["BELOW"]["tier"] == "REST"
    assert got["BELOW"]["points_to_next"] == Decimal("10000.00")


def test_tier_bound_with_eight_decimals_is_exact(tmp_path: Path) -> None:
    """A bound of 8 decimals is whole on Q = 10**8 x D x L at any window."""
    rules = rule_file(tmp_path, one_component("1", top="0.00000001"))
    got = by_id(score(tmp_path, rules, [("A", "2026-03-01", "POS", "0.01")]))
    assert got["A"]["tier"] == "TOP"


# 2. capacity: bounds that hold together, and a run too large stops -----------------

# unit 0.01 and rate 46486.66: 4,648,666 points per yuan, the most that scores
# CAPACITY_YUAN exactly in the longest window (see plan._check_capacity)
MOST = NUMERATOR_LIMIT // (CENTS * RATIO_SCALE * MAX_WINDOW_DAYS * CAPACITY_YUAN)
EDGE = one_component("46486.66", unit="0.01")


def test_the_edge_rate_is_the_most_that_fits() -> None:
    assert MOST == 4_648_666
    assert MOST * CENTS * RATIO_SCALE * MAX_WINDOW_DAYS * CAPACITY_YUAN <= NUMERATOR_LIMIT
    assert (MOST + 1) * CENTS * RATIO_SCALE * MAX_WINDOW_DAYS * CAPACITY_YUAN > NUMERATOR_LIMIT


def test_one_part_more_is_rejected_when_compiled(tmp_path: Path) -> None:
    path = rule_file(tmp_path, one_component("46486.67", unit="0.01"))
    load_rules(str(path))  # every key is within its own bounds
    error = rejected(path)
    assert error.key == "components[0].rate"
    assert "4,648,667 parts; at most 4,648,666" in str(error)


def test_a_rate_with_many_decimals_raises_the_others(tmp_path: Path) -> None:
    """0.000001 per yuan puts every rate over 10**6: 5 per yuan becomes 5,000,000 parts."""
    extra = '\n[[components]]\nid = "tiny"\nsource = "balances"\nrate = 0.000001\ncodes = ["T"]\n'
    path = rule_file(tmp_path, one_component("5", extra=extra))
    assert rejected(path).key == "components[0].rate"
    path = rule_file(tmp_path, one_component("4", extra=extra))
    compile_plan(load_rules(str(path)), longest_window())


def test_tier_bound_beyond_what_the_rates_can_score(tmp_path: Path) -> None:
    """Unit 1,000,000 and rate 0.000001: Q carries 10**12, and 10**12 points x Q in the
    longest window would pass the limit, though every key alone is in bounds."""
    path = rule_file(tmp_path, one_component("0.000001", unit="1000000", top="1000000000000"))
    error = rejected(path)
    assert error.key == "tiers[0].min"
    assert "more than can be scored exactly" in str(error)


def test_capacity_is_scored_exactly_in_the_longest_window(tmp_path: Path) -> None:
    """100 rows of the largest amount (just under CAPACITY_YUAN) at the edge rate, in
    3,660 days: points, tier and the summary's sum, exactly."""
    rules = rule_file(tmp_path, EDGE)
    rows: list[Row] = [("BIG", "2005-06-01", "POS", MAX_AMOUNT)] * 100
    result = score(tmp_path, rules, rows, window=LONGEST)
    expected = Fraction(MAX_AMOUNT) * 100 * MOST
    assert by_id(result)["BIG"]["points"] == cents(expected)
    assert result.summary["tiers"][0]["points"] == str(cents(expected))


@pytest.mark.parametrize(
    ("customers", "count"),
    [(1, 101), (101, 101), (1, 1000), (1000, 1000)],
    ids=["one-customer", "many-customers", "one-would-wrap", "many-would-wrap"],
)
def test_a_run_past_capacity_stops_instead_of_wrapping(
    tmp_path: Path, customers: int, count: int
) -> None:
    """101 rows of the largest amount: one customer's numerator, or the sum over 101
    customers, would pass the limit: the run stops (exit 2) and nothing is scored.
    At 1,000 rows 128 bits would wrap: unchecked, the points came out negative."""
    rules = rule_file(tmp_path, EDGE)
    rows: list[Row] = [(f"C{i % customers}", "2005-06-01", "POS", MAX_AMOUNT) for i in range(count)]
    with pytest.raises(InputError, match="more than 128-bit integers score exactly"):
        score(tmp_path, rules, rows, window=LONGEST)


def test_a_measure_past_the_limit_names_its_component(tmp_path: Path) -> None:
    """A measure times its indicator factor is checked too, even at rate 0."""
    plan = compile_plan(load_rules(str(rule_file(tmp_path, one_component("0")))), H1)
    most = NUMERATOR_LIMIT // plan.day_count  # a transactions value x D
    values = pl.DataFrame(
        {"customer_id": ["A", "B"], "spend": [most // 2, most - most // 2]},
        schema={"customer_id": pl.String, "spend": pl.Int128},
    )
    under = values.with_columns(pl.col("spend") * 99 // 100)
    assert within_range(plan, under) is under  # the totals are taken in floats: a margin
    over = values.with_columns(pl.col("spend") * 101 // 100)
    with pytest.raises(InputError, match="the measures of spend add up"):
        within_range(plan, over)
    with pytest.raises(InputError):  # also when the lazy query that computes points runs
        with_numerator(plan, over.lazy()).collect()


def test_near_next_is_exact_with_a_fine_percent(tmp_path: Path) -> None:
    """--near 7.123456 (a denominator of 62,500): 928,765.44 points is within 7.123456%
    of 1,000,000, a cent less is not."""
    rules = rule_file(tmp_path, one_component("1"))
    txns: list[Row] = [
        ("IN", "2026-03-01", "POS", "928765.44"),
        ("OUT", "2026-03-01", "POS", "928765.43"),
    ]
    got = by_id(score(tmp_path, rules, txns, near=Fraction("7.123456")))
    assert (got["IN"]["near_next"], got["OUT"]["near_next"]) == (True, False)


def test_a_window_longer_than_scored_stops(tmp_path: Path) -> None:
    rules = load_rules("icbc-star")
    longer = Window(date(2000, 1, 1), date(2010, 1, 8), "x")
    with pytest.raises(ConfigError, match="3,661 days; at most 3,660"):
        compile_plan(rules, longer)
    assert compile_plan(rules, LONGEST).q > 0


# 3. what would make scoring ambiguous ----------------------------------------------

SHAPE = [
    ("id with a dash", ('id = "mortgage"', 'id = "mort-gage"'), "components[2].id"),
    ("id not ASCII", ('id = "mortgage"', 'id = "按揭"'), "components[2].id"),
    ("id of an internal column", ('id = "mortgage"', 'id = "_n"'), "components[2].id"),
    ("id customer_id", ('id = "mortgage"', 'id = "customer_id"'), "components[2].id"),
    ("id of a scores column", ('id = "mortgage"', 'id = "Quality"'), "components[2].id"),
    ("ids differing in case", ('id = "mortgage"', 'id = "Long_Term_Assets"'),
     "components[2].id"),
    ("empty codes", ('codes = ["MORTGAGE"]', "codes = []"), "components[2].codes"),
    ("empty code", ('codes = ["MORTGAGE"]', 'codes = [""]'), "components[2].codes"),
    ("code with a space", ('codes = ["MORTGAGE"]', 'codes = ["MORTGAGE "]'),
     "components[2].codes"),
    ("code with a zero-width space", ('codes = ["MORTGAGE"]', 'codes = ["MORT\\u200bGAGE"]'),
     "components[2].codes"),
    ("tier label new", ('label = "准星级"', 'label = "New"'), "tiers[5].label"),
    ("tier label with a space at the end", ('label = "准星级"', 'label = "五星级 "'),
     "tiers[5].label"),
    ("tier labels one file apart", ('label = "准星级"', 'label = "三星级/"'), "tiers[5].label"),
    ("tier labels one file apart by case", ('label = "六星级"', 'label = "GOLD"'),
     "tiers[1].label"),
    ("tier label with a newline", ('label = "准星级"', 'label = "准\\n星级"'), "tiers[5].label"),
    ("gate id unknown", ('id = "overdue_90d"', 'id = "Unknown"'), "quality_gates[0].id"),
    ("gate column customer_id", ('column = "overdue_90d"', 'column = "customer_id"'),
     "quality_gates[0].column"),
    ("gate column internal", ('column = "overdue_90d"', 'column = "_tier"'),
     "quality_gates[0].column"),
    ("gate column of scores", ('column = "overdue_90d"', 'column = "tier"'),
     "quality_gates[0].column"),
    ("gate column of a component", ('column = "overdue_90d"', 'column = "mortgage_points"'),
     "quality_gates[0].column"),
    ("gate column branch", ('column = "overdue_90d"', 'column = "branch"'),
     "quality_gates[0].column"),
    ("gate column a flag and a count", ('column = "missed_consecutive"',
                                        'column = "overdue_90d"'), "quality_gates[1].column"),
]  # fmt: skip


@pytest.mark.parametrize(("case", "edit", "key"), SHAPE, ids=[s[0] for s in SHAPE])
def test_ambiguous_rule_files_are_rejected(
    tmp_path: Path, case: str, edit: tuple[str, str], key: str
) -> None:
    text = edited(ICBC, *edit)
    if case == "tier labels one file apart":  # 三星级_ and 三星级/ are both 三星级_.csv
        text = edited(text, 'label = "三星级"', 'label = "三星级_"')
    if case == "tier labels one file apart by case":
        text = edited(text, 'label = "七星级"', 'label = "gold"')
    path = rule_file(tmp_path, text)
    error = rejected(path)
    assert (error.file, error.key) == (str(path), key), (case, str(error))


def test_huge_code_lists_are_rejected(tmp_path: Path) -> None:
    codes = ", ".join(f'"C{i}"' for i in range(100_001))
    path = rule_file(tmp_path, edited(ICBC, 'codes = ["MORTGAGE"]', f"codes = [{codes}]"))
    error = rejected(path)
    assert error.key == "components" and "at most 100,000 codes" in str(error)


def test_a_customers_column_named_like_a_component_stops(tmp_path: Path) -> None:
    """Joined beside the component's values, it would show them in its place."""
    people = tmp_path / "customers.csv"
    people.write_text(
        "customer_id,overdue_90d,missed_consecutive,missed_total,mortgage\nA,false,0,0,x\n",
        encoding="utf-8",
    )
    with pytest.raises(InputError) as caught:
        score(tmp_path, "icbc-star", [("A", "2026-03-01", "POS", "1.00")], customers=str(people))
    assert caught.value.key == "mortgage"


# 4. rules check finds what score would ----------------------------------------------

PARITY = [
    ("rate 1e30", edited(ICBC, "rate = 135", "rate = 1e30")),
    ("rate 1e308", edited(ICBC, "rate = 135", "rate = 1e308")),
    ("cap 1e308", edited(ICBC, "cap = 10000.00", "cap = 1e308")),
    ("tier min 1e308", edited(ICBC, "min = 80000", "min = 1e308")),
    ("rate true", edited(ICBC, "rate = 135", "rate = true")),
    ("at_least 1e308", edited(ICBC, "at_least = 3", "at_least = 1e308")),
    ("gate id unknown", edited(ICBC, 'id = "overdue_90d"', 'id = "unknown"')),
    ("multiplier 1e308", edited(WEIGHTED, "multiplier = 1.05", "multiplier = 1e308")),
    ("compiled: capacity", one_component("46486.67", unit="0.01")),
    ("compiled: tier bound", one_component("0.000001", unit="1000000", top="1000000000000")),
    ("compiled: weighted bound", edited(WEIGHTED, "min = 90", "min = 90.00001")),
]


def cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str]:
    """Exit code and what the command printed to stderr (its error lines alone if any)."""
    code = _outcome(lambda: app(list(args), prog_name="tierscore"), verbose=False)
    said = capsys.readouterr().err
    errors = [line for line in said.splitlines() if line.startswith("error: ")]
    return code, "\n".join(errors) if errors else said


@pytest.mark.parametrize(("case", "text"), PARITY, ids=[p[0] for p in PARITY])
def test_rules_check_and_score_stop_alike(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], case: str, text: str
) -> None:
    path = rule_file(tmp_path, text)
    bal = write_csv(tmp_path / "bal.csv", BAL_COLUMNS, [])
    txn = write_csv(tmp_path / "txn.csv", TXN_COLUMNS, [])
    checked = cli(capsys, "rules", "check", str(path))
    out = tmp_path / "out"
    scored = cli(capsys, "score", "--balances", str(bal), "--transactions", str(txn),
                 "--period", "2026H1", "--rules", str(path), "--out", str(out))  # fmt: skip
    assert checked[0] == scored[0] == 2, case
    assert checked[1].startswith(f"error: {path}: "), checked[1]
    assert checked[1] == scored[1], case
    assert not out.exists() or not [p for p in out.iterdir() if not p.name.startswith(".")]


def test_rules_check_accepts_the_edge_and_every_shipped_set(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    for rules in [str(rule_file(tmp_path, EDGE)), "icbc-star", "icbc-star-strict", "card-tier",
                  "pyramid", "weighted-grade"]:  # fmt: skip
        code, said = cli(capsys, "rules", "check", rules)
        assert code == 0, said


def test_rules_check_shows_labels_as_written(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Rich reads table cells as markup: "[/b]" would have stopped the command."""
    path = rule_file(tmp_path, edited(ICBC, 'label = "短期资产"', 'label = "[/b]短期[red]"'))
    code = _outcome(lambda: app(["rules", "check", str(path)], prog_name="tierscore"), False)
    said = capsys.readouterr().out  # the answer, on stdout
    assert code == 0, said
    assert "[/b]短期[red]" in said


def test_rate_1e30_on_the_command_line(tmp_path: Path) -> None:
    """End to end: both commands exit 2 with the file and key; nothing is written."""
    path = rule_file(tmp_path, edited(ICBC, "rate = 135", "rate = 1e30"))
    bal = write_csv(tmp_path / "bal.csv", BAL_COLUMNS, [("A", "X", "CURRENT", "2026-01-01", "1")])
    txn = write_csv(tmp_path / "txn.csv", TXN_COLUMNS, [])
    out = tmp_path / "out"
    runs = [
        ["rules", "check", str(path)],
        ["score", "--balances", str(bal), "--transactions", str(txn),
         "--period", "2026H1", "--rules", str(path), "--out", str(out), "--quiet"],
    ]  # fmt: skip
    said = []
    for args in runs:
        done = tierscore_here(*args)
        assert done.returncode == 2, done.stderr
        assert "Traceback" not in done.stderr
        said.append(done.stderr.strip().splitlines()[-1])
    assert said[0] == said[1]
    assert said[0].startswith(f"error: {path}: components[0].rate: must be >= 0")
    assert not (out / "scores.csv").exists()


# 5. gates fail closed -----------------------------------------------------------

GATE_HEADER = "customer_id,branch,overdue_90d,missed_consecutive,missed_total"
RICH = "50000.00"  # 2,000 card points: 五星级, a quality tier


def gate_inputs(tmp_path: Path) -> tuple[Path, Path, Path]:
    """Every customer 五星级; their customers rows:

    A  flag mistyped ("ture")               -> unknown
    B  clean                                -> quality
    C  not in the file                      -> quality (no known blemish)
    D  two rows that conflict                -> unknown
    E  a count that is not a number          -> unknown
    F  a clean row and a mistyped one        -> unknown
    G  the same clean row twice (duplicate)  -> quality
    H  clean but 90 days overdue             -> overdue_90d
    L  mistyped, and a low tier              -> unknown, tier kept
    and a row with no id, which is no one's.
    """
    people = tmp_path / "customers.csv"
    people.write_text(
        f"{GATE_HEADER}\nA,b1,ture,0,0\nB,b1,false,0,0\nD,b1,false,0,0\nD,b2,false,0,0\n"
        "E,b1,false,x,0\nF,b1,false,0,0\nF,b1,ture,0,0\nG,b2,no,0,0\nG,b2,no,0,0\n"
        "H,b2,true,0,0\nL,b2,ture,0,0\n,b2,true,9,9\n",
        encoding="utf-8",
    )
    txns: list[Row] = [(c, "2026-03-01", "POS", RICH) for c in "ABCDEFGH"]
    txns.append(("L", "2026-03-01", "POS", "1.00"))
    bal = write_csv(tmp_path / "bal.csv", BAL_COLUMNS, [])
    txn = write_csv(tmp_path / "txn.csv", TXN_COLUMNS, txn_rows(txns))
    return bal, txn, people


EXPECTED_BLOCKED = {
    "A": "unknown", "B": None, "C": None, "D": "unknown", "E": "unknown", "F": "unknown",
    "G": None, "H": "overdue_90d", "L": "unknown",
}  # fmt: skip


def test_unusable_customers_rows_fail_closed_on_the_command_line(tmp_path: Path) -> None:
    bal, txn, people = gate_inputs(tmp_path)
    out = tmp_path / "out"
    done = tierscore_here(
        "score", "--balances", str(bal), "--transactions", str(txn),
        "--customers", str(people), "--period", "2026H1", "--out", str(out), "--quiet",
        "--max-reject-rate", "1",
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    scores = pl.read_csv(out / "scores.csv", infer_schema=False)
    rows = {r["customer_id"]: r for r in scores.iter_rows(named=True)}
    assert {c: r["quality_blocked_by"] for c, r in rows.items()} == EXPECTED_BLOCKED
    quality = {c for c, r in rows.items() if r["quality"] == "true"}
    assert quality == {"B", "C", "G"}
    assert rows["L"]["tier"] != "五星级"
    assert UNUSABLE not in scores.columns
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    gates = summary["quality_gates"]
    assert gates["by_gate"] == {
        "overdue_90d": 1, "missed_consecutive": 0, "missed_total": 0, "unknown": 5,
    }  # fmt: skip
    assert gates["blocked_customers"] == 6
    assert summary["quality_customers"] == 3
    # rows are accounted as before: A, E, F's second row, L and the row with no id are
    # rejected, and both of D's; F's first row is used (then outweighed by its second)
    assert summary["rows"]["customers"] == {
        "read": 12, "used": 4, "excluded": 0, "unmapped": 0, "outside_window": 0,
        "duplicate": 1, "rejected": 7,
    }  # fmt: skip


def test_unusable_customers_have_no_attributes(tmp_path: Path) -> None:
    """Which of D's branches is right is unknowable: neither is shown (nor grouped by)."""
    bal, txn, people = gate_inputs(tmp_path)
    result = run(Job(str(bal), str(txn), H1, customers=str(people)))
    got = by_id(result)
    assert got["D"]["branch"] is None and got["D"]["overdue_90d"] is None
    assert got["A"]["branch"] is None
    assert (got["B"]["branch"], got["B"]["overdue_90d"]) == ("b1", False)
    assert got["C"]["branch"] is None and got["C"]["quality"] is True
    assert UNUSABLE not in result.scores.columns


def test_gates_read_from_parquet_fail_closed_too(tmp_path: Path) -> None:
    """A typed file: a negative count is as unusable as a mistyped one."""
    bal, txn, _ = gate_inputs(tmp_path)
    people = tmp_path / "customers.parquet"
    pl.DataFrame(
        {"customer_id": ["A", "B"], "overdue_90d": [False, False],
         "missed_consecutive": [-1, 0], "missed_total": [0, 0]},
    ).write_parquet(people)  # fmt: skip
    got = by_id(run(Job(str(bal), str(txn), H1, customers=str(people))))
    assert (got["A"]["quality"], got["A"]["quality_blocked_by"]) == (False, "unknown")
    assert (got["B"]["quality"], got["B"]["quality_blocked_by"]) == (True, None)


@pytest.mark.spark
def test_spark_fails_closed_alike(tmp_path: Path, spark: Any) -> None:
    from tierscore.scoring import spark_engine

    bal, txn, people = gate_inputs(tmp_path)
    job = Job(str(bal), str(txn), H1, customers=str(people))
    local, remote = run(job), spark_engine.run(job, spark=spark)
    assert remote.scores.equals(local.scores)
    assert remote.summary == local.summary
    assert remote.summary["quality_gates"]["by_gate"]["unknown"] == 5
