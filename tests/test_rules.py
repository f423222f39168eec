"""Rule files: the shipped set as SPEC declares it, and malformed files stopping with file + key."""

from __future__ import annotations

import hashlib
from decimal import Decimal
from pathlib import Path

import pytest

from tierscore.scoring.errors import ConfigError
from tierscore.scoring.rules import load_rules, shipped_rule_files

from .conftest import Ran, tierscore_here

ROOT = Path(__file__).resolve().parent.parent
SHIPPED_FILE = ROOT / "rules" / "icbc-star.toml"
SHIPPED = SHIPPED_FILE.read_text(encoding="utf-8")

COMPONENTS = [
    ("short_term_assets", "balances", 135),
    ("long_term_assets", "balances", 100),
    ("mortgage", "balances", 100),
    ("other_loans", "balances", 200),
    ("card_overdraft", "balances", 200),
    ("investment", "transactions", 200),
    ("card_spending", "transactions", 400),
    ("settlement", "transactions", 200),
]
TIERS = [
    ("七星级", 80000, False),
    ("六星级", 10000, False),
    ("五星级", 2000, False),
    ("四星级", 500, False),
    ("三星级", 50, False),
    ("准星级", 0, True),  # > 0
    ("非星级", 0, False),
]


def tierscore(*args: str) -> Ran:
    return tierscore_here(*args)


def edited(tmp_path: Path, old: str, new: str) -> Path:
    """The shipped rule file with one piece of text replaced, written to tmp_path."""
    assert SHIPPED.count(old) >= 1, f"{old!r} is not in the shipped rule file"
    path = tmp_path / "bad.toml"
    path.write_text(SHIPPED.replace(old, new, 1), encoding="utf-8")
    return path


def test_shipped_icbc_star_components() -> None:
    rules = load_rules("icbc-star")
    assert rules.name == "icbc-star" and rules.version == "2026.1"
    assert rules.unit == Decimal(10000)
    assert len(rules.components) == 8
    assert [(c.id, c.source, c.rate) for c in rules.components] == COMPONENTS
    assert [c.rate for c in rules.components] == [135, 100, 100, 200, 200, 200, 400, 200]
    measures = {c.id: c.measure for c in rules.components}
    assert measures["short_term_assets"] == "daily_average"
    assert measures["card_spending"] == "cumulative"
    by_id = {c.id: c for c in rules.components}
    assert by_id["short_term_assets"].codes == ("CURRENT", "CUSTODY", "LTKX", "MMF", "CC_DEPOSIT")
    assert by_id["card_spending"].codes == ("POS",)
    assert rules.excluded == {"MMF_BUY", "LTKX_BUY", "CROSS_BORDER_REMIT"}


def test_shipped_settlement_requires_fee_and_caps() -> None:
    rules = load_rules("icbc-star")
    settlement = rules.components[-1]
    assert settlement.id == "settlement"
    assert settlement.requires_fee is True
    assert settlement.cap == Decimal("10000")
    for code in ("REMOTE_CASH", "REMOTE_REMIT", "INTERBANK_REMIT", "EXPRESS_REMIT"):
        assert settlement.cap_for(code) == Decimal("10000")
    others = [c for c in rules.components if c.id != "settlement"]
    assert not any(c.requires_fee for c in others)
    assert all(c.cap is None for c in others)


def test_shipped_tiers_and_quality() -> None:
    rules = load_rules("icbc-star")
    assert [(t.label, t.bound, t.exclusive) for t in rules.tiers] == TIERS
    assert rules.tier_by == "points"
    assert rules.quality_tier == "五星级"
    assert rules.quality_index == 2  # 七星级, 六星级, 五星级 are quality


def test_shipped_by_name_is_the_file_and_hashes_it() -> None:
    by_name = load_rules("icbc-star")
    by_path = load_rules(str(SHIPPED_FILE))
    assert "icbc-star" in shipped_rule_files()
    assert by_name.sha256 == hashlib.sha256(SHIPPED_FILE.read_bytes()).hexdigest()
    assert by_path.sha256 == by_name.sha256
    assert by_path.components == by_name.components and by_path.tiers == by_name.tiers


LAST_TWO_TIERS = '[[tiers]]\nlabel = "准星级"\nabove = 0\n\n[[tiers]]\nlabel = "非星级"\nmin = 0\n'
BROKEN = [
    ("unknown top-level key", ("[ruleset]", 'colour = "red"\n[ruleset]'), "colour"),
    ("unknown key in ruleset", ('version = "2026.1"', 'versoin = "2026.1"'), "ruleset.versoin"),
    ("unknown component key", ("rate = 135", "rat = 135"), "components[0].rat"),
    ("missing rate", ("rate = 135\n", ""), "components[0].rate"),
    ("code in two components", ('codes = ["MORTGAGE"]', 'codes = ["MORTGAGE", "TIME"]'),
     "components[2].codes"),
    ("code also excluded", ('codes = ["MMF_BUY"', 'codes = ["POS", "MMF_BUY"'),
     "excluded.codes"),
    ("tiers not highest first", ("min = 10000", "min = 100000"), "tiers[1].min"),
    ("tiers with equal bounds", ("min = 2000", "min = 10000"), "tiers[2].min"),
    ("last tier not min 0", (LAST_TWO_TIERS, ""), "tiers[4]"),
    ("last tier exclusive", ('[[tiers]]\nlabel = "非星级"\nmin = 0\n', ""), "tiers[5]"),
    ("quality not a tier", ('quality_tier = "五星级"', 'quality_tier = "金卡"'),
     "ruleset.quality_tier"),
    ("duplicate tier", ('label = "六星级"', 'label = "七星级"'), "tiers[1].label"),
    ("negative rate", ("rate = 400", "rate = -400"), "components[6].rate"),
    ("rate not a number", ("rate = 400", 'rate = "400"'), "components[6].rate"),
    ("zero cap", ("cap = 10000.00", "cap = 0"), "components[7].cap"),
    ("bad source", ('source = "balances"', 'source = "ledger"'), "components[0].source"),
]  # fmt: skip


@pytest.mark.parametrize(("case", "edit", "key"), BROKEN, ids=[b[0] for b in BROKEN])
def test_malformed_rule_file_names_file_and_key(
    tmp_path: Path, case: str, edit: tuple[str, str], key: str
) -> None:
    path = edited(tmp_path, *edit)
    with pytest.raises(ConfigError) as caught:
        load_rules(str(path))
    assert caught.value.file == str(path), case
    assert caught.value.key == key, case
    assert str(caught.value).startswith(f"{path}: {key}: "), case


def test_code_in_two_components_names_both(tmp_path: Path) -> None:
    path = edited(tmp_path, 'codes = ["MORTGAGE"]', 'codes = ["MORTGAGE", "TIME"]')
    with pytest.raises(ConfigError, match=r"'TIME'.*long_term_assets and mortgage"):
        load_rules(str(path))


def test_code_also_excluded_names_the_code(tmp_path: Path) -> None:
    path = edited(tmp_path, 'codes = ["MMF_BUY"', 'codes = ["POS", "MMF_BUY"')
    with pytest.raises(ConfigError, match="'POS' is also in a component"):
        load_rules(str(path))


def test_invalid_toml_names_the_file(tmp_path: Path) -> None:
    path = edited(tmp_path, "[ruleset]", "[ruleset")
    with pytest.raises(ConfigError) as caught:
        load_rules(str(path))
    assert caught.value.file == str(path)
    assert str(caught.value).startswith(f"{path}: not valid TOML")


def test_not_utf8_is_invalid_toml(tmp_path: Path) -> None:
    path = tmp_path / "gbk.toml"
    path.write_bytes(SHIPPED.encode("gb18030"))
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_rules(str(path))


def test_unknown_rule_set_name_lists_the_shipped_ones() -> None:
    with pytest.raises(ConfigError) as caught:
        load_rules("nope")
    assert caught.value.key == "--rules"
    assert "no rule set named 'nope'" in str(caught.value)
    assert "icbc-star" in str(caught.value)


def test_missing_rule_file(tmp_path: Path) -> None:
    missing = tmp_path / "missing.toml"
    with pytest.raises(ConfigError) as caught:
        load_rules(str(missing))
    assert caught.value.file == str(missing)
    assert "not found" in str(caught.value)


# ---- through the CLI ----


@pytest.mark.parametrize(
    ("edit", "key"),
    [
        (("rate = 135", "rat = 135"), "components[0].rat"),
        (("min = 10000", "min = 100000"), "tiers[1].min"),
        (('quality_tier = "五星级"', 'quality_tier = "金卡"'), "ruleset.quality_tier"),
    ],
)
def test_rules_check_bad_file_exits_2(tmp_path: Path, edit: tuple[str, str], key: str) -> None:
    bad = edited(tmp_path, *edit)
    done = tierscore("rules", "check", str(bad))
    assert done.returncode == 2, done.stderr
    assert f"{bad}: {key}: " in done.stderr
    assert "Traceback" not in done.stderr
    assert "ok:" not in done.stderr
    assert done.stdout == ""


def test_rules_check_invalid_toml_exits_2(tmp_path: Path) -> None:
    bad = edited(tmp_path, "[ruleset]", "[ruleset")
    done = tierscore("rules", "check", str(bad))
    assert done.returncode == 2
    assert f"{bad}: not valid TOML" in done.stderr
    assert "Traceback" not in done.stderr


def test_rules_check_shipped_exits_0() -> None:
    done = tierscore("rules", "check", "icbc-star")
    assert done.returncode == 0, done.stderr
    assert "ok: " in done.stdout and "icbc-star.toml" in done.stdout
    assert done.stderr == ""
    for cid, _, _ in COMPONENTS:
        assert cid in done.stdout
    for label, _, _ in TIERS:
        assert label in done.stdout


def test_rules_check_unknown_name_exits_2() -> None:
    done = tierscore("rules", "check", "nope")
    assert done.returncode == 2
    assert "no rule set named 'nope'" in done.stderr


def test_score_with_bad_rules_exits_2_and_writes_nothing(tmp_path: Path) -> None:
    bad = edited(tmp_path, "rate = 135", "rat = 135")
    bal = tmp_path / "bal.csv"
    bal.write_text(
        "customer_id,account_id,product,date,balance\nC1,A1,CURRENT,2026-01-01,100.00\n",
        encoding="utf-8",
    )
    txn = tmp_path / "txn.csv"
    txn.write_text(
        "customer_id,txn_id,date,txn_type,amount\nC1,T1,2026-01-02,POS,10.00\n", encoding="utf-8"
    )
    out = tmp_path / "out"
    args = ["score", "--balances", str(bal), "--transactions", str(txn), "--period", "2026H1"]
    done = tierscore(*args, "--rules", str(bad), "--out", str(out))
    assert done.returncode == 2
    assert f"{bad}: components[0].rat: " in done.stderr
    assert "Traceback" not in done.stderr
    assert not out.exists() or list(out.iterdir()) == []
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".tierscore-")]
    # the same inputs with the shipped rules do score: the rule file was the only fault
    assert tierscore(*args, "--out", str(out), "--quiet").returncode == 0
    assert (out / "scores.csv").is_file()


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
