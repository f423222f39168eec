"""Output streams and narrow terminals (issue #23).

``rules list|show|check`` and ``validate`` answer on stdout (tables, or one JSON document
with ``--json``); stderr carries only messages. At 80 or 60 columns, ``rules show`` and
``explain`` cut no number, id or code: whatever is whole at 400 columns is whole there.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from rich.cells import cell_len

from tierscore.cli.display import WIDE, Col, fitted
from tierscore.cli.errors import _outcome
from tierscore.cli.main import app
from tierscore.scoring.explain import explain
from tierscore.scoring.pipeline import Job, inspect
from tierscore.scoring.rules import load_rules, shipped_rule_files
from tierscore.scoring.window import parse_window

from .conftest import BAL_COLUMNS, TXN_COLUMNS, tierscore_here, write_csv

ROOT = Path(__file__).resolve().parent.parent
TIERSCORE = Path(sys.executable).with_name("tierscore")
SAMPLE = ROOT / "sample_data"
INPUTS = [
    "--balances",
    str(SAMPLE / "balances.csv"),
    "--transactions",
    str(SAMPLE / "transactions.csv"),
]
ICBC = (ROOT / "rules" / "icbc-star.toml").read_text(encoding="utf-8")
SHIPPED = sorted(shipped_rule_files())
CHECK_KEYS = {"ok", "file", "name", "version", "sha256", "error"}
RULE_KEYS = {
    "name",
    "version",
    "title",
    "file",
    "sha256",
    "unit",
    "tier_by",
    "negative_balances",
    "quality_tier",
    "summary_assets",
    "components",
    "excluded",
    "indicators",
    "bonus",
    "tiers",
    "key_group",
    "gates",
    "service",
}
COMPONENT_KEYS = {
    "id",
    "label",
    "source",
    "measure",
    "sign",
    "rate",
    "codes",
    "cap",
    "caps",
    "requires_fee",
}
GATE_KEYS = {"id", "label", "kind", "column", "at_least", "measure", "bar"}


def cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    """Exit code, stdout and stderr of one command, run in this process."""
    code = _outcome(lambda: app(list(args), prog_name="tierscore"), verbose=False)
    got = capsys.readouterr()
    return code, got.out, got.err


def answer(capsys: pytest.CaptureFixture[str], *args: str) -> Any:
    """The JSON document of a command that must succeed and say nothing on stderr."""
    code, out, err = cli(capsys, *args, "--json")
    assert (code, err) == (0, ""), err
    return json.loads(out)


def no_floats(value: Any) -> None:
    """Money and rates are strings: a float anywhere would be a rounded number."""
    assert not isinstance(value, float), value
    for item in (
        value.values() if isinstance(value, dict) else (value if isinstance(value, list) else [])
    ):
        no_floats(item)


def bad_inputs(tmp_path: Path) -> list[str]:
    """One good and one bad balance row (half rejected: over the default limit)."""
    bal = write_csv(
        tmp_path / "bal.csv",
        BAL_COLUMNS,
        [
            ("C1", "A1", "CURRENT", "2026-01-31", "100.00"),
            ("C1", "A2", "CURRENT", "2026-13-01", "5.00"),
        ],
    )
    txn = write_csv(tmp_path / "txn.csv", TXN_COLUMNS, [])
    return ["--balances", str(bal), "--transactions", str(txn)]


# --- stdout for the answer, stderr for messages -----------------------------------------


@pytest.mark.parametrize(
    ("args", "said"),
    [
        (["rules", "list"], SHIPPED),
        (["rules", "show", "icbc-star"], ["short_term_assets", "INTERBANK_REMIT", "七星级"]),
        (["rules", "check", "icbc-star"], ["settlement", "ok: ", "icbc-star.toml"]),
        (["validate", *INPUTS], ["inputs", "3,621", "6,281", "no rejected rows"]),
    ],
    ids=["list", "show", "check", "validate"],
)
def test_the_answer_is_on_stdout(
    capsys: pytest.CaptureFixture[str], args: list[str], said: list[str]
) -> None:
    code, out, err = cli(capsys, *args)
    assert (code, err) == (0, ""), err
    for text in said:
        assert text in out, text
    data = answer(capsys, *args)  # and as JSON, on stdout too
    assert isinstance(data, dict) and data
    no_floats(data)


def test_validate_over_the_limit_answers_then_errs(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = cli(capsys, "validate", *bad_inputs(tmp_path))
    assert code == 3
    assert "not a valid date" in out and "first 1 of 1 problems" in out
    assert err.splitlines() == [
        "error: too many rejected rows: balances: 1 of 2 rows (50.00%) rejected, limit 0.10%"
    ]
    code, out, err = cli(capsys, "validate", *bad_inputs(tmp_path), "--json")
    assert code == 3 and err.startswith("error: too many rejected rows")
    data = json.loads(out)
    assert data["over_limit"] == ["balances: 1 of 2 rows (50.00%) rejected, limit 0.10%"]


def test_validate_json_is_what_inspect_found(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    args = bad_inputs(tmp_path)
    found = inspect(args[1], args[3])
    data = answer(capsys, "validate", *args, "--max-reject-rate", "1", "--show", "5")
    assert set(data) == {"inputs", "rejects", "over_limit"}
    assert data["inputs"] == found.counts
    assert data["inputs"]["balances"] == {"read": 2, "valid": 1, "duplicate": 0, "rejected": 1}
    assert data["rejects"] == {
        "total": 1,
        "first": [
            {
                "file": args[1],
                "line": 3,
                "column": "date",
                "value": "2026-13-01",
                "reason": "not a valid date",
            }
        ],
    }
    assert data["over_limit"] == []
    shown = answer(capsys, "validate", *args, "--max-reject-rate", "1", "--show", "0")
    assert shown["rejects"] == {"total": 1, "first": []}
    code, out, err = cli(capsys, "validate", *args, "--show", "-1", "--json")
    assert (code, out) == (2, "") and err.startswith("error: --show: ")  # not head(-1)


def test_rules_check_json_passes_and_fails_with_the_same_keys(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    good = tmp_path / "good.toml"
    good.write_text(ICBC, encoding="utf-8")
    data = answer(capsys, "rules", "check", str(good))
    assert data == {
        "ok": True,
        "file": str(good),
        "name": "icbc-star",
        "version": "2026.1",
        "sha256": hashlib.sha256(good.read_bytes()).hexdigest(),
        "error": None,
    }
    bad = tmp_path / "bad.toml"
    bad.write_text(ICBC.replace("rate = 135", "rate = -1"), encoding="utf-8")
    code, out, err = cli(capsys, "rules", "check", str(bad))
    assert code == 2 and out == "" and err.startswith(f"error: {bad}: components[0].rate")
    code, out, err = cli(capsys, "rules", "check", str(bad), "--json")
    assert code == 2
    assert err.startswith(f"error: {bad}: components[0].rate")  # the message, for a log
    data = json.loads(out)
    assert set(data) == CHECK_KEYS
    assert (data["ok"], data["file"], data["name"], data["sha256"]) == (False, str(bad), None, None)
    assert data["error"]["message"] == err.removeprefix("error: ").strip()
    assert (data["error"]["file"], data["error"]["key"]) == (str(bad), "components[0].rate")
    code, out, _ = cli(capsys, "rules", "check", "no-such-set", "--json")
    assert code == 2 and json.loads(out)["error"]["message"].endswith(
        "(shipped: " + ", ".join(SHIPPED) + ")"
    )


def test_the_split_end_to_end(tmp_path: Path) -> None:
    """The installed command: answers on stdout, errors on stderr, and a reader that
    went away (``| head``) ends nothing in an error."""
    run = [str(TIERSCORE), "rules", "check", "icbc-star"]
    done = subprocess.run(run, capture_output=True, text=True, encoding="utf-8", timeout=60)
    assert (done.returncode, done.stderr) == (0, "")
    assert done.stdout.rstrip().endswith("icbc-star.toml") and "ok: " in done.stdout
    run = [str(TIERSCORE), "validate", *bad_inputs(tmp_path), "--json"]
    done = subprocess.run(run, capture_output=True, text=True, encoding="utf-8", timeout=60)
    assert done.returncode == 3
    assert json.loads(done.stdout)["rejects"]["total"] == 1
    assert done.stderr.startswith("error: too many rejected rows") and "{" not in done.stderr
    for args in (["rules", "show", "icbc-star"], ["rules", "list", "--json"]):
        proc = subprocess.Popen(
            [str(TIERSCORE), *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        assert proc.stdout is not None and proc.stderr is not None
        proc.stdout.close()  # before it writes: its first write meets a closed pipe
        said = proc.stderr.read()
        assert proc.wait(timeout=60) == 0, said
        assert said == ""


# --- --json: the rule set as data ---------------------------------------------------------


def test_rules_list_json(capsys: pytest.CaptureFixture[str]) -> None:
    data = answer(capsys, "rules", "list")
    assert [r["name"] for r in data["rule_sets"]] == SHIPPED
    for row in data["rule_sets"]:
        rules = load_rules(row["name"])
        assert row == {
            "name": row["name"],
            "title": rules.title,
            "version": rules.version,
            "file": rules.source,
            "sha256": rules.sha256,
            "tiers": [t.label for t in rules.tiers],
        }


@pytest.mark.parametrize("name", SHIPPED)
def test_rules_show_json_is_the_file(capsys: pytest.CaptureFixture[str], name: str) -> None:
    data = answer(capsys, "rules", "show", name)
    rules = load_rules(name)
    no_floats(data)
    assert set(data) == RULE_KEYS
    assert (data["name"], data["sha256"], data["tier_by"]) == (
        rules.name,
        rules.sha256,
        rules.tier_by,
    )
    assert Decimal(data["unit"]) == rules.unit
    for shown, comp in zip(data["components"], rules.components, strict=True):
        assert set(shown) == COMPONENT_KEYS
        assert (shown["id"], shown["codes"], shown["sign"]) == (
            comp.id,
            list(comp.codes),
            comp.sign,
        )
        assert Decimal(shown["rate"]) == comp.rate
    assert [t["label"] for t in data["tiers"]] == [t.label for t in rules.tiers]
    assert [Decimal(t["bound"]) for t in data["tiers"]] == [t.bound for t in rules.tiers]
    assert all(set(g) == GATE_KEYS for g in data["gates"])
    assert [g["id"] for g in data["gates"]] == [g.id for g in rules.gates]


def test_icbc_star_json(capsys: pytest.CaptureFixture[str]) -> None:
    data = answer(capsys, "rules", "show", "icbc-star")
    comps = {c["id"]: c for c in data["components"]}
    settlement = comps["settlement"]
    assert settlement["rate"] == "200" and settlement["requires_fee"] is True
    assert settlement["caps"] == dict.fromkeys(settlement["codes"], "10000.00")
    assert comps["card_spending"]["caps"] == {"POS": None}  # a code without a cap
    assert comps["short_term_assets"]["caps"] is None  # balances: no caps at all
    assert [t["quality"] for t in data["tiers"]] == [True, True, True, False, False, False, False]
    assert data["quality_tier"] == "五星级" and data["key_group"] is None
    assert {g["kind"] for g in data["gates"]} == {"flag", "count"}
    assert "LTKX_BUY" in data["excluded"]


def test_pyramid_json_has_its_key_group(capsys: pytest.CaptureFixture[str]) -> None:
    data = answer(capsys, "rules", "show", "pyramid")
    assert data["key_group"] == {"label": "关键客户", "tiers": ["重要客户", "次要客户"]}
    assert data["tier_by"] == "rank"
    assert [t["bound"] for t in data["tiers"]] == ["0.01", "0.20", "0.50", "1"]
    assert data["tiers"][0]["service"] == "dedicated relationship manager"


def test_strict_json_has_its_measure_gates(capsys: pytest.CaptureFixture[str]) -> None:
    gates = {g["id"]: g for g in answer(capsys, "rules", "show", "icbc-star-strict")["gates"]}
    assert gates["deposits_300k"] == {
        "id": "deposits_300k",
        "label": "存款余额30万元以上 (deposits of 300,000 yuan)",
        "kind": "measure",
        "column": None,
        "at_least": None,
        "measure": ["short_term_assets", "long_term_assets"],
        "bar": "300000",
    }
    assert gates["missed_total"]["kind"] == "count" and gates["missed_total"]["at_least"] == 6
    assert gates["overdue_90d"]["kind"] == "flag" and gates["overdue_90d"]["measure"] == []


def test_seed003_json_reads_customers_columns(capsys: pytest.CaptureFixture[str]) -> None:
    data = answer(capsys, "rules", "show", "seed003-grade")
    history = data["indicators"][0]
    assert (history["id"], history["components"], history["columns"]) == (
        "history",
        [],
        ["历史销售额"],
    )
    assert history["weight"] == "0.5"
    assert history["bands"][:2] == [{"min": "0", "score": "0"}, {"min": "100000", "score": "60"}]
    assert data["bonus"] == {
        "multiplier": "1.05",
        "component": None,
        "column": "历史销售额",
        "above": "1000000",
    }


def test_a_signed_rule_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "signed.toml"
    path.write_text(
        ICBC.replace('codes = ["MORTGAGE"]', 'codes = ["MORTGAGE"]\nsign = "negative"').replace(
            'name = "icbc-star"', 'name = "signed"'
        ),
        encoding="utf-8",
    )
    data = answer(capsys, "rules", "show", str(path))
    signs = {c["id"]: c["sign"] for c in data["components"]}
    assert signs["mortgage"] == "negative" and signs["short_term_assets"] == "positive"
    assert (data["name"], data["file"]) == ("signed", str(path))
    assert data["sha256"] == hashlib.sha256(path.read_bytes()).hexdigest()
    code, out, _ = cli(capsys, "rules", "show", str(path))
    assert code == 0 and "(sign" in out and "negative)" in out  # wrapped at 160 columns


def test_json_and_tables_keep_hostile_data_inert(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A rejected value that would drive the terminal (ESC, the C1 CSI, a bidi override)
    or read as markup: escaped in the table, and in the JSON as \\u escapes only."""
    value = "9[red]x\x1b]0;pwn\x07\x9b2J\u202eY"
    bal = write_csv(
        tmp_path / "bal.csv", BAL_COLUMNS, [("C1", "A1", "CURRENT", "2026-01-31", value)]
    )
    txn = write_csv(tmp_path / "txn.csv", TXN_COLUMNS, [])
    args = [
        "validate",
        "--balances",
        str(bal),
        "--transactions",
        str(txn),
        "--max-reject-rate",
        "1",
    ]
    code, out, _ = cli(capsys, *args, "--json")
    assert code == 0
    assert not any(ch in out for ch in "\x1b\x07\x9b\u202e")
    assert json.loads(out)["rejects"]["first"][0]["value"] == value  # the same text
    code, out, _ = cli(capsys, *args)
    assert code == 0 and not any(ch in out for ch in "\x1b\x07\x9b\u202e")
    assert "9[red]x\\x1b]0;pwn\\x07\\x9b2J\\u202eY" in out


# --- narrow terminals -----------------------------------------------------------------------


def assert_nothing_cut(narrow: str, wide: str, tokens: set[str], width: int) -> None:
    """Every token shown at 400 columns is as often whole at ``width``, no line is wider
    (rich would crop it), and nothing is ellipsized."""
    assert max(cell_len(line) for line in narrow.splitlines()) <= width
    assert "…" not in narrow
    for token in tokens:
        assert token in wide, token
        assert narrow.count(token) >= wide.count(token), (token, width)


def rule_tokens(data: dict[str, Any]) -> set[str]:
    """The ids, codes and numbers of a rule set, as ``rules show`` writes them."""
    tokens = {data["name"], data["version"], data["unit"], *data["excluded"]}
    for c in data["components"]:
        tokens |= {c["id"], c["rate"], *c["codes"], *(v for v in (c["caps"] or {}).values() if v)}
    for t in data["tiers"][:-1] if data["tier_by"] == "rank" else data["tiers"]:
        rank = data["tier_by"] == "rank"
        tokens.add(f"{Decimal(t['bound']):.2%}" if rank else t["bound"])
    for g in data["gates"]:
        tokens |= {g["id"], g["column"] or "+".join(g["measure"])}
        if g["kind"] != "flag":
            tokens.add(str(g["at_least"]) if g["bar"] is None else f"{Decimal(g['bar']):,}")
    for i in data["indicators"]:
        tokens |= {
            i["id"],
            i["weight"],
            *i["components"],
            *(f"{b['min']}:{b['score']}" for b in i["bands"]),
        }
    if data["bonus"]:
        tokens |= {data["bonus"]["multiplier"], data["bonus"]["above"]}
    if data["service"]:
        tokens |= {
            *data["service"]["rating_days"],
            *(f["column"] for f in data["service"]["floors"]),
        }
    return {t for t in tokens if t}


def explain_tokens(data: dict[str, Any]) -> set[str]:
    """The ids and numbers ``explain`` shows of one customer."""
    tokens = {data["customer_id"], data["points"], data["points_to_next"] or ""}
    for c in data["components"]:
        if c["parts"] or c["amount"] not in ("0.00", None):
            tokens |= {c["id"], c["amount"], c["rate"], c["points"]}
            tokens |= {str(v) for part in c["parts"] for v in part.values() if v is not None}
    for lever in data["levers"]:
        tokens |= {lever["yuan"], lever.get("each") or "", lever["component"]}
    return {t for t in tokens if t}


def shown_at(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, width: int, *args: str
) -> str:
    monkeypatch.setenv("COLUMNS", str(width))
    code, out, err = cli(capsys, *args)
    assert (code, err) == (0, ""), err
    return out


@pytest.mark.parametrize("width", [80, 60])
@pytest.mark.parametrize("name", SHIPPED)
def test_rules_show_cuts_nothing_when_narrow(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, name: str, width: int
) -> None:
    tokens = rule_tokens(answer(capsys, "rules", "show", name))
    wide = shown_at(capsys, monkeypatch, 400, "rules", "show", name)
    narrow = shown_at(capsys, monkeypatch, width, "rules", "show", name)
    assert_nothing_cut(narrow, wide, tokens, width)


@pytest.mark.parametrize("width", [80, 60])
@pytest.mark.parametrize("customer", ["C1", "C0008", "C0195"])
def test_explain_cuts_nothing_when_narrow(
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    customer: str,
    width: int,
) -> None:
    job = Job(INPUTS[1], INPUTS[3], parse_window("2026H1"), "icbc-star")
    tokens = explain_tokens(explain(job, customer))
    args = ["explain", customer, *INPUTS, "--period", "2026H1"]
    wide = shown_at(capsys, monkeypatch, 400, *args)
    narrow = shown_at(capsys, monkeypatch, width, *args)
    assert_nothing_cut(narrow, wide, tokens, width)


def test_narrow_end_to_end(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """``COLUMNS=80 tierscore …`` through a pipe, as a user would try it (the wide
    answer it is held against is made in this process)."""
    runs = {
        "rules": ["rules", "show", "icbc-star-strict"],
        "explain": ["explain", "C1", *INPUTS, "--period", "2026H1"],
    }
    tokens = {
        "rules": rule_tokens(answer(capsys, *runs["rules"])),
        "explain": explain_tokens(answer(capsys, *runs["explain"])),
    }
    monkeypatch.setenv("COLUMNS", "400")
    for kind, args in runs.items():
        wide = tierscore_here(*args)
        done = subprocess.run(
            [str(TIERSCORE), *args],
            capture_output=True,
            text=True,
            encoding="utf-8",
            env={**os.environ, "COLUMNS": "80"},
            timeout=120,
        )
        for one in (wide, done):
            assert (one.returncode, one.stderr) == (0, ""), one.stderr
        assert_nothing_cut(done.stdout, wide.stdout, tokens[kind], 80)


def test_without_a_terminal_or_columns_lines_are_long(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A pipe with no COLUMNS: the components side by side, not stacked to rich's 80."""
    monkeypatch.delenv("COLUMNS", raising=False)
    code, out, _ = cli(capsys, "rules", "show", "icbc-star")
    assert code == 0
    assert max(cell_len(line) for line in out.splitlines()) == WIDE
    assert any(line.startswith("│ settlement ") and "10000.00" in line for line in out.splitlines())


LONG_ID = "customer_" + "9" * 24
ROWS = [
    [LONG_ID, "活期存款账户 (current)", "123456789012.34", "REMOTE_CASH, REMOTE_REMIT", "0"],
    ["C2", "定期", "0.01", "INTERBANK_REMIT", "181"],
]
COLS = [
    Col("account_id"),
    Col("label", whole=False),
    Col("daily_average", right=True),
    Col("codes"),
    Col("days", right=True),
]


def rendered(width: int) -> str:
    from rich.console import Console

    console = Console(width=width, record=True, file=open(os.devnull, "w"))  # noqa: SIM115
    console.print(
        fitted(
            width,
            "a title long enough to wrap: 12345.67 yuan",
            COLS,
            ROWS,
            caption="codes REMOTE_CASH at 10000.00",
        )
    )
    console.file.close()
    return console.export_text()


def test_fitted_at_every_width() -> None:
    """As is, narrowed or stacked, whichever the width allows: never a cut token, down
    to the width where the longest one still fits beside its field name."""
    tokens = {w for row in ROWS for i, cell in enumerate(row) if i != 1 for w in cell.split()}
    tokens |= {"12345.67", "REMOTE_CASH", "10000.00"}
    wide = rendered(400)
    layouts = set()
    for width in range(len(LONG_ID) + len("daily_average") + 7, 121):
        shown = rendered(width)
        assert_nothing_cut(shown, wide, tokens, width)
        layouts.add("┃" in shown)  # a header row: side by side, not stacked
    assert layouts == {True, False}


def test_check_never_folds_the_path(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """CI's checkout lives deep (``/check/work/main/.venv/…``): at 80 columns the path on
    ``ok:`` was folded across two lines, and a script reading it back got half a path."""
    deep = tmp_path.joinpath(*["a_rather_long_folder_name"] * 5)
    deep.mkdir(parents=True)
    rules = deep / "icbc-star.toml"
    rules.write_text(ICBC, encoding="utf-8")
    monkeypatch.setenv("COLUMNS", "80")
    code, out, err = cli(capsys, "rules", "check", str(rules))
    assert (code, err) == (0, ""), err
    assert len(str(rules)) > 80
    assert out.rstrip().splitlines()[-1] == f"ok: {rules}"
