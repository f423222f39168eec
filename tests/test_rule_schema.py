"""The rule file's schema, declared once (issue #18): every table and key of
``scoring.rule_schema`` is documented in the README's field list, and the one checker
that walks the declaration rejects an unknown key, a value of the wrong type and one
out of range, naming file and key as ``file: table[i].key: message``.
"""

from __future__ import annotations

import re
import subprocess
import sys
import tomllib
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from tierscore.cli.errors import _outcome
from tierscore.cli.main import app
from tierscore.scoring.errors import ConfigError
from tierscore.scoring.rule_schema import (
    Anything,
    ComponentTable,
    Invalid,
    RuleFile,
    RulesetTable,
    Tables,
    check,
    rules_of,
    tables,
)
from tierscore.scoring.rules import load_rules

ROOT = Path(__file__).resolve().parent.parent
TIERSCORE = Path(sys.executable).with_name("tierscore")
README = (ROOT / "README.md").read_text(encoding="utf-8")
ICBC = (ROOT / "rules" / "icbc-star.toml").read_text(encoding="utf-8")
PYRAMID = (ROOT / "rules" / "pyramid.toml").read_text(encoding="utf-8")
WEIGHTED = (ROOT / "rules" / "weighted-grade.toml").read_text(encoding="utf-8")
HEADING = "### The rule file, field by field"

# Every table of the declaration, each with its required keys: it need not load (a
# bonus and a [service] do not go together), only pass the checker, whose type and
# range errors come before any check across keys.
SINK = """
[ruleset]
name = "sink"
title = "Sink"
version = "1"
description = "every table"
unit = 1
tier_by = "points"
quality_tier = "A"
key_group = ["A"]
key_group_label = "key"
negative_balances = "zero"

[summary]
assets = ["dep"]

[[components]]
id = "dep"
label = "Deposits"
source = "balances"
measure = "daily_average"
rate = 1
codes = ["CUR"]
sign = "negative"
description = "d"

[[components]]
id = "pay"
source = "transactions"
rate = 1
codes = ["POS"]
cap = 100
caps = { POS = 50 }
requires_fee = true

[excluded]
codes = ["X"]
description = "d"

[[tiers]]
label = "A"
min = 100
follow_up = "weekly"
service = "gold"
description = "d"

[[tiers]]
label = "B"
min = 0

[[quality_gates]]
id = "g"
label = "G"
column = "flag"
is_true = true
description = "d"

[[indicators]]
id = "ind"
label = "I"
components = ["dep"]
columns = ["sales"]
weight = 1
bands = [{ min = 0, score = 0 }]
description = "d"

[bonus]
multiplier = 1.05
component = "dep"
above = 0
description = "d"

[service]
rating_days = ["06-30"]
buffer_months = { A = 6 }
description = "d"

[fx]
convert = "window_end"
description = "d"

[[service.floors]]
column = "pb"
tier = "A"
is_true = true
description = "d"
"""


def where(path: str) -> tuple[list[str | int], str]:
    """A declared table's first occurrence in a document: the steps to it (a list of
    tables is entered at [0]) and its key path as messages write it."""
    steps: list[str | int] = []
    key, spec = "", RuleFile
    for name in path.split(".") if path else []:
        kind = rules_of(spec)[name].kind
        steps.append(name)
        key = f"{key}.{name}" if key else name
        if isinstance(kind, Tables):
            steps.append(0)
            key += "[0]"
        spec = kind.spec  # type: ignore[attr-defined]
    return steps, key


def table_in(data: dict[str, Any], steps: list[str | int]) -> dict[str, Any]:
    node: Any = data
    for step in steps:
        node = node[step]
    return node


def sink() -> dict[str, Any]:
    return tomllib.loads(SINK, parse_float=Decimal)


def refused(data: dict[str, Any]) -> Invalid:
    with pytest.raises(Invalid) as caught:
        check(RuleFile, data, "")
    return caught.value


FIELDS = [(path, name) for path, spec in tables() for name in rules_of(spec)]


def rule_of(path: str, name: str) -> Any:
    spec = dict(tables())[path]
    return rules_of(spec)[name]


TYPED = [(p, n) for p, n in FIELDS if not isinstance(rule_of(p, n).kind, Anything)]
REQUIRED = [(p, n) for p, n in FIELDS if rule_of(p, n).required]


# --- the README documents every field --------------------------------------------------


def field_list() -> str:
    """The README's rule-file field list: from its heading to the next heading, so that a
    key documented in another section (the service tier's, say) does not count."""
    start = README.index(HEADING) + len(HEADING)
    following = re.search(r"^#{2,6} ", README[start:], flags=re.MULTILINE)
    assert following is not None
    return README[start : start + following.start()]


def blocks(section: str) -> dict[str, tuple[str, str]]:
    """Each table's block of the field list, by path: (its header as written, e.g.
    ``[[components]]``, and its text). A block starts at a line opening with the
    header in backquotes and ends at a blank line followed by a line that is neither a
    list item nor indented (the next paragraph)."""
    found: dict[str, tuple[str, str]] = {}
    current: str | None = None
    previous = ""
    for line in section.splitlines():
        header = re.match(r"`(\[\[?)([\w.]+)(\]\]?)`", line)
        if header:
            current = header[2]
            found[current] = (header[0].strip("`"), "")
        elif current and previous == "" and line and not line.startswith(("- ", "  ")):
            current = None
        if current:
            found[current] = (found[current][0], found[current][1] + line + "\n")
        previous = line
    return found


def documented(text: str, name: str) -> bool:
    """``name`` in backquotes, alone or as ``name = …``."""
    return re.search(rf"`{re.escape(name)}[` =]", text) is not None


def test_the_field_list_is_its_own_section() -> None:
    section = field_list()
    assert "`[ruleset]`" in section and "#### Bounds on every number" not in section
    assert "hold_yuan" not in section  # documented in the service tier's section only
    assert set(blocks(section)) >= {"ruleset", "components", "tiers", "service"}


@pytest.mark.parametrize(("path", "spec"), list(tables())[1:], ids=[p for p, _ in tables()][1:])
def test_every_table_has_its_block_in_the_field_list(path: str, spec: type) -> None:
    """A top-level table, or one with a header of its own (``[[service.floors]]``), has a
    block, its brackets saying whether it is one table or a list of them."""
    found = blocks(field_list())
    if "." in path and path not in found:
        return  # a nested table without a header (bands): documented in its parent's block
    assert path in found, f"no block for {path} in the README's field list"
    many = isinstance(rule_of(path.rpartition(".")[0], path.rpartition(".")[2]).kind, Tables)
    assert found[path][0] == (f"[[{path}]]" if many else f"[{path}]")


@pytest.mark.parametrize(("path", "name"), FIELDS, ids=[f"{p or 'file'}.{n}" for p, n in FIELDS])
def test_every_field_is_documented_in_its_tables_block(path: str, name: str) -> None:
    found = blocks(field_list())
    if path == "":  # the file's own keys are its tables: each has a block
        assert name in found, f"no block for [{name}] in the README's field list"
        return
    block = path if path in found else path.rpartition(".")[0]
    assert block in found, f"no block for {path} in the README's field list"
    assert documented(found[block][1], name), f"{path}.{name} is not in the README's field list"


def test_only_notes_and_the_quality_tier_go_unchecked() -> None:
    """The declaration checks every other key's type: a key left free by mistake would
    take any value silently. quality_tier is matched against the tiers afterwards."""
    free = {(p, n) for p, n in FIELDS if isinstance(rule_of(p, n).kind, Anything)}
    notes = {(p, n) for p, n in FIELDS if n == "description"}
    assert free == notes | {("ruleset", "quality_tier")}


def test_every_field_has_a_one_line_doc() -> None:
    for path, name in FIELDS:
        doc = rule_of(path, name).doc
        assert doc.strip() and "\n" not in doc, f"{path}.{name}"


# --- the one checker, walking the declaration -------------------------------------------


def test_the_sink_holds_every_table_and_passes_the_checker() -> None:
    """So that the tests below, which break the sink key by key, reach every table."""
    data = sink()
    for path, _ in tables():
        steps, _ = where(path)
        assert isinstance(table_in(data, steps), dict), path
    checked = check(RuleFile, data, "")
    assert checked.service is not None and checked.service.floors[0].tier == "A"
    assert checked.indicators[0].bands[0].score == 0


@pytest.mark.parametrize(("path", "name"), TYPED, ids=[f"{p or 'file'}.{n}" for p, n in TYPED])
def test_a_value_of_no_kind_is_refused_at_its_key(path: str, name: str) -> None:
    """A TOML date is none of the kinds (text, number, flag, list, table): every key
    but a free note refuses it, naming exactly that key."""
    data = sink()
    steps, key = where(path)
    table_in(data, steps)[name] = date(2026, 1, 1)
    error = refused(data)
    assert error.key == (f"{key}.{name}" if key else name)


@pytest.mark.parametrize(
    ("path", "name"), REQUIRED, ids=[f"{p or 'file'}.{n}" for p, n in REQUIRED]
)
def test_a_required_key_left_out_is_named(path: str, name: str) -> None:
    data = sink()
    steps, key = where(path)
    del table_in(data, steps)[name]
    error = refused(data)
    assert (error.key, error.message) == (
        f"{key}.{name}" if key else name,
        rule_of(path, name).missing,
    )


@pytest.mark.parametrize("path", [p for p, _ in tables()], ids=[p or "file" for p, _ in tables()])
def test_an_unknown_key_in_any_table_is_named(path: str) -> None:
    data = sink()
    steps, key = where(path)
    table_in(data, steps)["colour"] = "red"
    error = refused(data)
    assert (error.key, error.message) == (f"{key}.colour" if key else "colour", "unknown key")


def test_a_table_where_a_value_belongs_and_a_value_where_a_table_belongs() -> None:
    data = sink()
    data["components"][1]["caps"] = {"POS": {"amount": 50}}
    assert (refused(data).key, refused(data).message) == (
        "components[1].caps.POS",
        "must be a number",
    )
    data = sink()
    data["indicators"][0]["bands"] = [5]
    assert (refused(data).key, refused(data).message) == (
        "indicators[0].bands[0]",
        "must be a table",
    )


def test_absent_keys_take_the_declared_defaults() -> None:
    """The defaults are declared once: a minimal file loads with the declaration's."""
    data = {"ruleset": {"name": "m"}, "components": [{"id": "a", "source": "balances",
            "rate": 1, "codes": ["C"]}], "tiers": [{"label": "T", "min": 0}]}  # fmt: skip
    checked = check(RuleFile, data, "")
    head, comp = checked.ruleset, checked.components[0]
    assert (head.unit, head.version, head.tier_by) == (Decimal(1), "0", "points")
    assert (head.negative_balances, head.key_group_label) == ("reject", "关键客户")
    assert (comp.sign, comp.requires_fee, comp.caps, comp.cap) == ("positive", False, {}, None)
    assert checked.given == {"ruleset", "components", "tiers"} and head.given == {"name"}
    assert RulesetTable().unit == head.unit and ComponentTable().sign == comp.sign


# --- through load_rules and the CLI: file and key in the message ------------------------

MESSAGES = [
    # unknown keys
    (ICBC, ("rate = 135", "rat = 135"), "components[0].rat", "unknown key"),
    (ICBC, ('label = "七星级"', 'label = "七星级"\ncolour = "gold"'), "tiers[0].colour",
     "unknown key"),
    (WEIGHTED, ("{ min = 0, score = 0 }", "{ min = 0, score = 0, note = 1 }"),
     "indicators[0].bands[0].note", "unknown key"),
    (ICBC, ('tier = "七星级"', 'tier = "七星级"\nlevel = 1'), "service.floors[0].level",
     "unknown key"),
    (ICBC, ('assets = ["short_term_assets", "long_term_assets"]',
            'assets = ["short_term_assets"]\ndescription = "x"'), "summary.description",
     "unknown key"),
    # wrong types
    (ICBC, ("requires_fee = true", 'requires_fee = "yes"'), "components[7].requires_fee",
     "must be true or false"),
    (ICBC, ("min = 80000", 'min = "80000"'), "tiers[0].min", "must be a number"),
    (ICBC, ('codes = ["MORTGAGE"]', 'codes = "MORTGAGE"'), "components[2].codes",
     "must be a list of non-empty strings"),
    (ICBC, ('rating_days = ["06-30", "12-31"]', 'rating_days = "06-30"'), "service.rating_days",
     'must be a non-empty list of "MM-DD" days, e.g. ["06-30"]'),
    (ICBC, ("is_true = true", "is_true = 1"), "quality_gates[0].is_true", "must be true"),
    (PYRAMID, ('key_group = ["重要客户", "次要客户"]', 'key_group = "重要客户"'),
     "ruleset.key_group", "must be a non-empty list of tier labels"),
    # out of range
    (ICBC, ("rate = 135", "rate = -1"), "components[0].rate",
     "must be >= 0 and <= 1,000,000, at most 6 decimal places"),
    (ICBC, ("unit = 10000", "unit = 0"), "ruleset.unit",
     "must be >= 0.01 and <= 1,000,000, at most 2 decimal places"),
    (PYRAMID, ("top_share = 0.50", "top_share = 1.5"), "tiers[2].top_share",
     "must be > 0 and <= 1, at most 6 decimal places"),
    (ICBC, ('"五星级" = 6', '"五星级" = 1201'), "service.buffer_months.五星级",
     "must be >= 0 and <= 1,200, whole"),
    (WEIGHTED, ("multiplier = 1.05", "multiplier = 0"), "bonus.multiplier",
     "must be > 0 and <= 1,000,000, at most 6 decimal places"),
    (ICBC, ("at_least = 3", "at_least = 0"), "quality_gates[1].at_least",
     "must be >= 1 and <= 1,000,000,000,000,000,000, whole"),
    (ICBC, ('source = "balances"', 'source = "ledger"'), "components[0].source",
     "must be 'balances' or 'transactions'"),
]  # fmt: skip


def rule_file(tmp_path: Path, text: str, edit: tuple[str, str]) -> Path:
    old, new = edit
    assert old in text, old
    path = tmp_path / "rules.toml"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    return path


@pytest.mark.parametrize(("text", "edit", "key", "message"), MESSAGES,
                         ids=[m[2] for m in MESSAGES])  # fmt: skip
def test_the_message_names_file_and_key(
    tmp_path: Path, text: str, edit: tuple[str, str], key: str, message: str
) -> None:
    path = rule_file(tmp_path, text, edit)
    with pytest.raises(ConfigError) as caught:
        load_rules(str(path))
    assert (caught.value.file, caught.value.key) == (str(path), key)
    assert str(caught.value) == f"{path}: {key}: {message}"


def test_rules_check_stops_with_exit_2_in_process(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = rule_file(tmp_path, ICBC, ("requires_fee = true", 'requires_fee = "yes"'))
    code = _outcome(lambda: app(["rules", "check", str(path)], prog_name="tierscore"), False)
    said = capsys.readouterr()
    assert code == 2 and said.out == ""
    assert f"error: {path}: components[7].requires_fee: must be true or false" in said.err


def test_rules_check_stops_with_exit_2_on_the_command_line(tmp_path: Path) -> None:
    path = rule_file(tmp_path, PYRAMID, ("top_share = 0.50", "top_share = true"))
    done = subprocess.run([str(TIERSCORE), "rules", "check", str(path)], capture_output=True,
                          text=True, encoding="utf-8", timeout=120)  # fmt: skip
    assert done.returncode == 2, done.stderr
    assert done.stderr.strip().splitlines()[-1] == (
        f"error: {path}: tiers[2].top_share: must be a number"
    )
    assert done.stdout == ""
