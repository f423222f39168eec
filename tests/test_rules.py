"""Rule files: the shipped set as SPEC declares it, and malformed files stopping with file + key."""

from __future__ import annotations

import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pytest

from tierscore.scoring.errors import ConfigError
from tierscore.scoring.rules import load_rules

ROOT = Path(__file__).resolve().parent.parent
SHIPPED = (ROOT / "rules" / "icbc-star.toml").read_text(encoding="utf-8")
TIERSCORE = Path(sys.executable).with_name("tierscore")


def test_shipped_icbc_star() -> None:
    rules = load_rules("icbc-star")
    rates = {c.id: c.rate for c in rules.components}
    assert rates == {
        "short_term_assets": 135, "long_term_assets": 100, "mortgage": 100, "other_loans": 200,
        "card_overdraft": 200, "investment": 200, "card_spending": 400, "settlement": 200,
    }  # fmt: skip
    settlement = rules.components[-1]
    assert settlement.requires_fee and settlement.cap == Decimal("10000.00")
    assert [t.label for t in rules.tiers] == [
        "七星级", "六星级", "五星级", "四星级", "三星级", "准星级", "非星级",
    ]  # fmt: skip
    assert rules.quality_tier == "五星级"
    assert rules.excluded == {"MMF_BUY", "LTKX_BUY", "CROSS_BORDER_REMIT"}


BROKEN = [
    ("unknown top-level key", ('[ruleset]', '[rulesets]'), "rulesets"),
    ("unknown component key", ("rate = 135", "rat = 135"), "components[0].rat"),
    ("missing rate", ("rate = 135\n", ""), "components[0].rate"),
    ("code in two components", ('codes = ["MORTGAGE"]', 'codes = ["MORTGAGE", "TIME"]'),
     "components[2].codes"),
    ("code also excluded", ('codes = ["POS"]', 'codes = ["POS", "MMF_BUY"]'), "excluded.codes"),
    ("tiers not highest first", ("min = 10000", "min = 100000"), "tiers[1].min"),
    ("last tier not min 0", ('[[tiers]]\nlabel = "非星级"\nmin = 0\n', ""), "tiers[5]"),
    ("quality not a tier", ('quality_tier = "五星级"', 'quality_tier = "金卡"'),
     "ruleset.quality_tier"),
    ("negative rate", ("rate = 400", "rate = -400"), "components[6].rate"),
    ("bad source", ('source = "balances"', 'source = "ledger"'), "components[0].source"),
]  # fmt: skip


@pytest.mark.parametrize(("case", "edit", "key"), BROKEN, ids=[b[0] for b in BROKEN])
def test_malformed_rule_file_names_file_and_key(
    tmp_path: Path, case: str, edit: tuple[str, str], key: str
) -> None:
    old, new = edit
    assert old in SHIPPED, case
    path = tmp_path / "bad.toml"
    path.write_text(SHIPPED.replace(old, new, 1), encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_rules(str(path))
    assert str(path) in str(caught.value)
    assert caught.value.key == key


def test_invalid_toml_and_unknown_name(tmp_path: Path) -> None:
    path = tmp_path / "bad.toml"
    path.write_text("[ruleset\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_rules(str(path))
    with pytest.raises(ConfigError, match="no rule set named 'nope'"):
        load_rules("nope")


def test_rules_check_cli(tmp_path: Path) -> None:
    ok = subprocess.run([str(TIERSCORE), "rules", "check", "icbc-star"], capture_output=True,
                        text=True)  # fmt: skip
    assert ok.returncode == 0, ok.stderr
    assert "settlement" in ok.stderr and "七星级" in ok.stderr
    bad = tmp_path / "bad.toml"
    bad.write_text(SHIPPED.replace("rate = 135", "rat = 135"), encoding="utf-8")
    done = subprocess.run([str(TIERSCORE), "rules", "check", str(bad)], capture_output=True,
                          text=True)  # fmt: skip
    assert done.returncode == 2
    assert str(bad) in done.stderr and "components[0].rat" in done.stderr
    assert "Traceback" not in done.stderr


def test_score_with_bad_rules_publishes_nothing(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text(SHIPPED.replace("rate = 135", "rat = 135"), encoding="utf-8")
    out = tmp_path / "out"
    done = subprocess.run(
        [str(TIERSCORE), "score", "--balances", str(ROOT / "sample_data" / "balances.csv"),
         "--transactions", str(ROOT / "sample_data" / "transactions.csv"), "--period", "2026H1",
         "--rules", str(bad), "--out", str(out)],
        capture_output=True, text=True,
    )  # fmt: skip
    assert done.returncode == 2
    assert "components[0].rat" in done.stderr
    assert not out.exists()


PYRAMID = (ROOT / "rules" / "pyramid.toml").read_text(encoding="utf-8")

BROKEN_RANK = [
    ("shares not rising", ("top_share = 0.20", "top_share = 0.005"), "tiers[1].top_share"),
    ("share above 1", ("top_share = 0.50", "top_share = 1.5"), "tiers[2].top_share"),
    ("min in a rank tier", ("top_share = 0.01", "min = 5"), "tiers[0]"),
    ("last tier with a share", ('label = "小客户"', 'label = "小客户"\ntop_share = 1'),
     "tiers[3].top_share"),
    ("unknown tier_by", ('tier_by = "rank"', 'tier_by = "size"'), "ruleset.tier_by"),
    ("empty follow_up", ('follow_up = "每月 (monthly)"', 'follow_up = ""'), "tiers[1].follow_up"),
]  # fmt: skip


@pytest.mark.parametrize(("case", "edit", "key"), BROKEN_RANK, ids=[b[0] for b in BROKEN_RANK])
def test_malformed_rank_tiers(tmp_path: Path, case: str, edit: tuple[str, str], key: str) -> None:
    old, new = edit
    assert old in PYRAMID, case
    path = tmp_path / "bad.toml"
    path.write_text(PYRAMID.replace(old, new, 1), encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_rules(str(path))
    assert caught.value.key == key


def test_top_share_only_for_rank_tiers(tmp_path: Path) -> None:
    path = tmp_path / "bad.toml"
    path.write_text(SHIPPED.replace("min = 80000", "min = 80000\ntop_share = 0.1"), "utf-8")
    with pytest.raises(ConfigError) as caught:
        load_rules(str(path))
    assert caught.value.key == "tiers[0].top_share"
