"""``tierscore compare``: two rule sets on the same inputs, and who moves (issue #24).

The hand-built case knows its matrix: customers who move up, down or stay, one whose
only row the candidate's sign declaration turns into a loan it scores (new: only B
scores it) and one whose only row it rejects (gone: only A scores it).
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from tierscore.cli.errors import _outcome
from tierscore.cli.main import app
from tierscore.scoring import compare as compare_module
from tierscore.scoring.compare import compare, publish_comparison
from tierscore.scoring.compare_report import render_comparison
from tierscore.scoring.errors import ConfigError, InputError
from tierscore.scoring.pipeline import Job, Result, run
from tierscore.scoring.window import parse_window

from .conftest import BAL_COLUMNS, tierscore_here, write_csv

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "sample_data"
ICBC = (ROOT / "rules" / "icbc-star.toml").read_text(encoding="utf-8")
H1 = parse_window("2026H1")
LABELS = ["七星级", "六星级", "五星级", "四星级", "三星级", "准星级", "非星级"]
# customer -> (product, balance): TIME yuan / 100 are the points, MORTGAGE likewise
ROWS = {
    "W": ("TIME", "1000000.00"),  # 10000 points: 六星级 under both
    "Q": ("TIME", "300000.00"),  # 3000: 五星级 under both; quality only under A
    "U": ("TIME", "150000.00"),  # 1500: 四星级 -> 五星级 (B's bound is 1000): up
    "D": ("TIME", "60000.00"),  # 600: 四星级 -> 三星级 (B's bound is 800): down
    "S": ("TIME", "10000.00"),  # 100: 三星级 under both
    "Z": ("TIME", "0.00"),  # 0: 非星级 under both
    "N": ("MORTGAGE", "-100000.00"),  # a loan only B reads as one: new, 五星级 under B
    "G": ("MORTGAGE", "100000.00"),  # B rejects a positive loan: gone, 四星级 under A
}
BRANCHES = {"W": "北", "Q": "北", "N": "北", "U": "南", "D": "南", "G": "南", "Z": ""}
# S has no row in the customers file, Z an empty branch: both are 未分配


def variant(tmp_path: Path, name: str, *edits: tuple[str, str]) -> str:
    """icbc-star with ``edits`` (old, new) applied, each of which must apply once; without
    its [service] table, which names tiers some edits rename (a comparison of rule sets
    compares tiers, not service tiers)."""
    text = ICBC[: ICBC.index("\n# The service tier")]
    text = text.replace('name = "icbc-star"', f'name = "{name}"')
    for old, new in edits:
        assert text.count(old) == 1, old
        text = text.replace(old, new)
    path = tmp_path / f"{name}.toml"
    path.write_text(text, encoding="utf-8")
    return str(path)


def candidate(tmp_path: Path) -> str:
    """B: lower 五星级, higher 四星级, quality from 六星级, mortgages stored negative."""
    return variant(
        tmp_path,
        "candidate",
        ("min = 2000", "min = 1000"),
        ("min = 500", "min = 800"),
        ('quality_tier = "五星级"', 'quality_tier = "六星级"'),
        ('codes = ["MORTGAGE"]', 'codes = ["MORTGAGE"]\nsign = "negative"'),
    )


def write_inputs(tmp_path: Path, branches: bool = False) -> Job:
    rows = [(c, f"{c}1", p, "2025-12-31", v) for c, (p, v) in ROWS.items()]
    bal = write_csv(tmp_path / "bal.csv", BAL_COLUMNS, rows)
    txn = tmp_path / "txn.csv"
    txn.write_text("customer_id,txn_id,date,txn_type,amount\n", encoding="utf-8")
    job = Job(str(bal), str(txn), H1)
    if branches:
        gates = ("overdue_90d", "missed_consecutive", "missed_total")
        people = [(c, b, "false", 0, 0) for c, b in BRANCHES.items()]
        columns = ("customer_id", "branch", *gates)
        job.customers = str(write_csv(tmp_path / "customers.csv", columns, people))
    return job


def matrix(cells: dict[tuple[int, int], int], rows: int = 8, columns: int = 8) -> list[list[int]]:
    out = [[0] * columns for _ in range(rows)]
    for (i, j), n in cells.items():
        out[i][j] = n
    return out


NEW_GONE = 7  # the "new" row and the "gone" column of an 8 x 8 matrix
KNOWN = {(1, 1): 1, (2, 2): 1, (3, 2): 1, (3, 4): 1, (4, 4): 1, (6, 6): 1, (7, 2): 1, (3, 7): 1}


def test_a_hand_built_case_gives_its_known_matrix(tmp_path: Path) -> None:
    done = compare(write_inputs(tmp_path), ["icbc-star", candidate(tmp_path)])
    summary = done.summary
    migration = summary["migration"]
    assert migration["rows"] == [*LABELS, "new"]
    assert migration["columns"] == [*LABELS, "gone"]
    assert migration["counts"] == matrix(KNOWN)
    assert migration["movement"] == {"up": 1, "down": 1, "same": 4, "new": 1, "gone": 1}
    assert summary["same_tiers"] is True
    assert summary["customers"] == {"both": 6, "new": 1, "gone": 1}
    assert summary["quality"] == {
        "a": 2, "b": 1, "kept": 1, "lost": 1, "gained": 0, "neither": 4,
        "lost_by_a_tier": {label: int(label == "五星级") for label in LABELS},
    }  # fmt: skip
    assert [summary[k]["ruleset"]["name"] for k in ("a", "b")] == ["icbc-star", "candidate"]
    assert all(len(summary[k]["ruleset"]["sha256"]) == 64 for k in ("a", "b"))
    assert summary["a"]["customers"] == 7 and summary["b"]["customers"] == 7
    assert "by_branch" not in summary  # no customers file, no branches


def test_the_same_rule_set_twice_moves_nobody(tmp_path: Path) -> None:
    done = compare(write_inputs(tmp_path), ["icbc-star", "icbc-star"])
    counts = done.summary["migration"]["counts"]
    assert all(n == 0 for i, line in enumerate(counts) for j, n in enumerate(line) if i != j)
    assert done.summary["migration"]["movement"]["same"] == 7
    assert done.summary["quality"]["lost"] == done.summary["quality"]["gained"] == 0


def test_per_branch_matrices_add_up_to_the_whole(tmp_path: Path) -> None:
    done = compare(write_inputs(tmp_path, branches=True), ["icbc-star", candidate(tmp_path)])
    summary = done.summary
    assert summary["migration"]["counts"] == matrix(KNOWN)
    by_branch = {e["branch"]: e for e in summary["by_branch"]}
    assert list(by_branch) == ["北", "南", "未分配"]  # in name order
    assert by_branch["北"]["counts"] == matrix({(1, 1): 1, (2, 2): 1, (NEW_GONE, 2): 1})
    assert by_branch["南"]["counts"] == matrix({(3, 2): 1, (3, 4): 1, (3, NEW_GONE): 1})
    assert by_branch["未分配"]["counts"] == matrix({(4, 4): 1, (6, 6): 1})
    assert by_branch["南"]["movement"] == {"up": 1, "down": 1, "same": 0, "new": 0, "gone": 1}
    assert by_branch["北"]["quality"] == {"kept": 1, "lost": 1, "gained": 0, "neither": 0}
    assert [e["customers"] for e in by_branch.values()] == [3, 3, 2]
    assert summary["by_branch_rest"] == {"groups": 0, "customers": 0}


def test_per_branch_is_bounded_with_a_rest(tmp_path: Path, monkeypatch: Any) -> None:
    monkeypatch.setattr(compare_module, "GROUPS_LISTED", 1)
    done = compare(write_inputs(tmp_path, branches=True), ["icbc-star", candidate(tmp_path)])
    assert [e["branch"] for e in done.summary["by_branch"]] == ["北"]  # 3 customers, by name
    assert done.summary["by_branch_rest"] == {"groups": 2, "customers": 5}


def test_different_tier_lists_give_the_matrix_and_no_up_or_down(tmp_path: Path) -> None:
    tiers = ICBC[ICBC.index("[[tiers]]") : ICBC.index("# Quality gates")]
    three = '[[tiers]]\nlabel = "金"\nmin = 1000\n\n[[tiers]]\nlabel = "银"\nabove = 0\n\n' \
        '[[tiers]]\nlabel = "普"\nmin = 0\n\n'  # fmt: skip
    b = variant(
        tmp_path, "three", (tiers, three), ('quality_tier = "五星级"', 'quality_tier = "金"')
    )
    done = compare(write_inputs(tmp_path), ["icbc-star", b])
    migration = done.summary["migration"]
    assert done.summary["same_tiers"] is False
    assert migration["movement"] is None and "not defined" in migration["note"]
    assert migration["columns"] == ["金", "银", "普", "gone"]
    # W, Q, U, G -> 金 (G's loan is positive again); D, S -> 银; Z -> 普; N: rejected
    expected = {(1, 0): 1, (2, 0): 1, (3, 0): 2, (3, 1): 1, (4, 1): 1, (6, 2): 1}
    assert migration["counts"] == matrix(expected, 8, 4)
    html = render_comparison(done.summary, {}, "en")
    assert "not defined" in html and "Movement from A to B" not in html


def test_the_same_labels_in_another_order_are_different_tier_lists(tmp_path: Path) -> None:
    swapped = variant(
        tmp_path,
        "swapped",
        ('label = "七星级"', 'label = "X"'),
        ('label = "六星级"', 'label = "七星级"'),
        ('label = "X"', 'label = "六星级"'),
    )
    done = compare(write_inputs(tmp_path), ["icbc-star", swapped])
    assert done.summary["same_tiers"] is False
    assert done.summary["migration"]["movement"] is None
    migration = done.summary["migration"]
    assert migration["columns"][:2] == ["六星级", "七星级"]
    assert migration["counts"][1][1] == 1  # W: 六星级 under A, B's second tier, "七星级"


def test_an_input_that_changes_between_the_runs_stops_the_comparison(tmp_path: Path) -> None:
    job = write_inputs(tmp_path)
    calls: list[Result] = []

    def runner(one: Job) -> Result:
        if calls:  # the export grows while the comparison runs
            with open(one.balances, "a", encoding="utf-8") as fh:
                fh.write("X,X1,TIME,2025-12-31,5.00\n")
        calls.append(run(one))
        return calls[-1]

    with pytest.raises(InputError, match="changed between"):
        compare(job, ["icbc-star", "icbc-star"], runner)


def test_the_library_wants_two_rule_sets_and_no_previous(tmp_path: Path) -> None:
    job = write_inputs(tmp_path)
    for rules in ([], ["icbc-star"], ["icbc-star"] * 3):
        with pytest.raises(ConfigError, match="exactly two --rules"):
            compare(job, rules)
    job.previous = str(SAMPLE / "previous_scores.csv")
    with pytest.raises(ConfigError, match="not an earlier run"):
        compare(job, ["icbc-star", "icbc-star"])


# --- the command --------------------------------------------------------------------


def cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str]:
    code = _outcome(lambda: app(["compare", *args], prog_name="tierscore"), verbose=False)
    return code, capsys.readouterr().err


def inputs(job: Job, rate: str | None = "1") -> list[str]:
    """The options naming ``job``'s inputs; N's loan is a rejected row under icbc-star, so
    the reject limit is lifted unless ``rate`` is None."""
    given = ["--balances", job.balances, "--transactions", job.transactions, "--period", "2026H1"]
    return given + (["--max-reject-rate", rate] if rate else [])


@pytest.mark.parametrize("count", [0, 1, 3])
def test_not_two_rules_is_exit_2_and_nothing_is_made(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], count: int
) -> None:
    out = tmp_path / "out"
    rules = [arg for _ in range(count) for arg in ("--rules", "icbc-star")]
    code, said = cli(capsys, *inputs(write_inputs(tmp_path)), *rules, "--out", str(out))
    assert code == 2
    assert "give exactly two --rules" in said and f"got {count}" in said
    assert not out.exists()


def test_stdout_and_uris_are_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    args = [*inputs(write_inputs(tmp_path)), "--rules", "icbc-star", "--rules", "icbc-star"]
    for out in ("-", "s3://bucket/x", " "):
        code, said = cli(capsys, *args, "--out", out)
        assert code == 2 and "--out" in said


def test_too_many_rejected_rows_is_exit_3_and_nothing_is_published(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    job = write_inputs(tmp_path)
    out = tmp_path / "out"
    rules = ["--rules", "icbc-star", "--rules", candidate(tmp_path)]
    code, said = cli(capsys, *inputs(job, None), *rules, "--out", str(out), "--quiet")
    assert code == 3 and "comparison not published" in said
    assert not out.exists()
    code, _ = cli(capsys, *inputs(job), *rules, "--out", str(out))
    assert code == 0 and (out / "summary.json").is_file()


def current(out: Path) -> str:
    return os.readlink(out / "current")


def test_a_second_run_replaces_the_first_whole(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    job = write_inputs(tmp_path, branches=True)
    out = tmp_path / "out"
    base = [*inputs(job), "--customers", str(job.customers), "--out", str(out), "--quiet"]
    assert cli(capsys, *base, "--rules", "icbc-star", "--rules", "icbc-star")[0] == 0
    first = current(out)
    assert json.loads((out / "summary.json").read_text())["migration"]["movement"]["same"] == 7
    b = candidate(tmp_path)
    assert cli(capsys, *base, "--rules", "icbc-star", "--rules", b)[0] == 0
    assert current(out) != first
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    assert summary["migration"]["counts"] == matrix(KNOWN)
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["command"] == "compare"
    assert [o["file"] for o in manifest["outputs"]] == ["report.html", "summary.json"]
    for listed in manifest["outputs"]:
        data = (out / listed["file"]).read_bytes()
        assert len(data) == listed["bytes"]
        assert hashlib.sha256(data).hexdigest() == listed["sha256"]
    names = sorted(p.name for p in out.iterdir())
    assert names == [".runs", "current", "manifest.json", "report.html", "summary.json"]
    assert not [n for n in os.listdir(out / ".runs") if n.startswith(".staging")]


def test_a_scores_folder_becomes_a_comparison_and_a_foreign_one_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    job = write_inputs(tmp_path)
    out = tmp_path / "out"
    score = ["score", *inputs(job), "--out", str(out), "--quiet"]
    assert _outcome(lambda: app(score, prog_name="tierscore"), verbose=False) == 0
    rules = ["--rules", "icbc-star", "--rules", "icbc-star", "--quiet"]
    assert cli(capsys, *inputs(job), *rules, "--out", str(out))[0] == 0
    assert not os.path.lexists(out / "scores.csv")  # the folder shows one run, whole
    foreign = tmp_path / "mine"
    foreign.mkdir()
    (foreign / "notes.txt").write_text("keep me", encoding="utf-8")
    code, said = cli(capsys, *inputs(job), *rules, "--out", str(foreign))
    assert code == 2 and "refusing to publish there" in said
    assert os.listdir(foreign) == ["notes.txt"]
    assert (foreign / "notes.txt").read_text(encoding="utf-8") == "keep me"


def test_publishing_goes_through_the_locked_folder(tmp_path: Path) -> None:
    from tierscore.scoring.outdir import claim

    done = compare(write_inputs(tmp_path), ["icbc-star", "icbc-star"])
    out = tmp_path / "out"
    with claim(out):  # another process holding it would make this wait or fail
        files = publish_comparison(done, out, report=False)
    assert sorted(files) == ["manifest.json", "summary.json"]
    assert (out / "current").is_symlink()


def test_the_report_escapes_labels_and_branches_and_names_its_axes(tmp_path: Path) -> None:
    b = variant(
        tmp_path,
        "odd",
        ('label = "七星级"', 'label = "current tier"'),
        ('label = "六星级"', 'label = "<i>six</i>"'),
    )
    job = write_inputs(tmp_path, branches=True)
    people = Path(job.customers).read_text(encoding="utf-8").replace("北", "<script>x</script>")
    Path(job.customers).write_text(people, encoding="utf-8")
    done = compare(job, ["icbc-star", b])
    html = render_comparison(done.summary, {}, "en")
    assert "<i>six" not in html and "&lt;i&gt;six&lt;/i&gt;" in html
    assert "<script>" not in html and "&lt;script&gt;" in html
    assert html.count(">tier under A</text>") == html.count(">tier under B</text>") == 1
    assert ">current tier</text>" in html  # B's tier label, left as it is
    assert "previous tier" not in html


# --- on the sample, end to end ---------------------------------------------------------


def test_the_command_on_the_sample(tmp_path: Path) -> None:
    b = variant(tmp_path, "stricter", ("min = 2000", "min = 2500"))
    out = tmp_path / "out"
    done = tierscore_here(
        "compare", "--rules", "icbc-star", "--rules", b,
        "--balances", "sample_data/balances.csv", "--transactions", "sample_data/transactions.csv",
        "--customers", "sample_data/customers.csv", "--period", "2026H1", "--out", str(out),
        cwd=ROOT,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "icbc-star (rows) -> stricter (columns)" in done.stderr
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    counts = summary["migration"]["counts"]
    assert sum(map(sum, counts)) == 285 == summary["customers"]["both"]
    moved = summary["migration"]["movement"]
    assert moved["up"] == 0 and moved["down"] > 0 and moved["new"] == moved["gone"] == 0
    assert counts[2][3] == moved["down"]  # only 五星级 -> 四星级 can happen
    quality = summary["quality"]  # only 五星级 -> 四星级 changes quality: it is lost
    assert quality["gained"] == 0 and 0 < quality["lost"] <= moved["down"]
    assert quality["lost_by_a_tier"]["五星级"] == quality["lost"]
    assert quality["a"] - quality["lost"] == quality["b"] == quality["kept"]
    branches = sum(e["customers"] for e in summary["by_branch"])
    assert branches == 285 and len(summary["by_branch"]) > 1
    html = (out / "report.html").read_text(encoding="utf-8")
    assert '<section id="branches">' in html and "stricter" in html


def test_icbc_star_strict_on_the_sample_moves_no_tier_and_takes_quality(tmp_path: Path) -> None:
    """The issue's own case: icbc-star-strict adds two measure gates, so tiers stay and
    quality is lost; checked against the two score runs joined independently."""
    out = tmp_path / "out"
    sample = ["--balances", "sample_data/balances.csv", "--transactions",
              "sample_data/transactions.csv", "--customers", "sample_data/customers.csv",
              "--period", "2026H1"]  # fmt: skip
    argv = ["compare", "--rules", "icbc-star", "--rules", "icbc-star-strict", *sample]
    done = tierscore_here(*argv, "--out", str(out), cwd=ROOT)
    assert done.returncode == 0, done.stderr
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    counts = summary["migration"]["counts"]
    assert summary["migration"]["movement"] == {
        "up": 0,
        "down": 0,
        "same": 285,
        "new": 0,
        "gone": 0,
    }
    assert sum(counts[i][i] for i in range(len(LABELS))) == 285
    job = Job(str(SAMPLE / "balances.csv"), str(SAMPLE / "transactions.csv"), H1)
    job.customers = str(SAMPLE / "customers.csv")
    a, b = (run(replace(job, rules=r)).scores for r in ("icbc-star", "icbc-star-strict"))
    kept_a = set(a.filter("quality")["customer_id"])
    kept_b = set(b.filter("quality")["customer_id"])
    quality = summary["quality"]
    assert quality["lost"] == len(kept_a - kept_b) > 0
    assert quality["gained"] == len(kept_b - kept_a) == 0
    assert (quality["a"], quality["b"]) == (len(kept_a), len(kept_b))
    gates = summary["b"]["quality_gates"]["by_gate"]
    assert gates["deposits_300k"] > 0 and gates["card_spending_50k"] > 0
    assert summary["b"]["ruleset"]["name"] == "icbc-star-strict"
    html = (out / "report.html").read_text(encoding="utf-8")
    assert "存款余额30万元以上 (deposits of 300,000 yuan)" in html  # gates by label
    assert "失去优质的客户（按 A 下等级）" in html  # Chinese tiers: a zh page


@pytest.mark.spark
def test_spark_gives_the_same_comparison(tmp_path: Path, spark: Any) -> None:
    from tierscore.scoring import spark_engine

    job = Job(str(SAMPLE / "balances.csv"), str(SAMPLE / "transactions.csv"), H1)
    job.customers = str(SAMPLE / "customers.csv")
    b = variant(tmp_path, "stricter", ("min = 2000", "min = 2500"), ("min = 500", "min = 400"))
    local = compare(job, ["icbc-star", b])
    remote = compare(job, ["icbc-star", b], lambda one: spark_engine.run(one, spark=spark))
    assert remote.summary == local.summary
    assert remote.summary["migration"]["movement"]["up"] > 0
    for side in ("a", "b"):
        mine, theirs = getattr(local, side).scores, getattr(remote, side).scores
        assert theirs.select("customer_id", "tier", "quality").equals(
            mine.select("customer_id", "tier", "quality")
        )


def test_a_bad_second_rule_set_stops_before_anything_is_scored(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text(ICBC.replace("rate = 135", "rate = -1"), encoding="utf-8")
    calls: list[str] = []

    def runner(one: Job) -> Result:
        calls.append(one.rules)
        return run(one)

    with pytest.raises(ConfigError, match="rate"):
        compare(write_inputs(tmp_path), ["icbc-star", str(bad)], runner)
    assert calls == []
