"""End-to-end runs of the ``tierscore`` command on small files written here.

The fixture holds the SPEC worked example (customer C1: 3,870.00 points, 五星级)
and a few customers around the 五星级 bound, written out of customer order. The
reference run (``good``), the pipe, Ctrl-C and the allocator's setting run the installed
command as a process; the other runs run it in this process (``conftest.tierscore_here``),
a second or so a run cheaper.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from importlib.metadata import version
from pathlib import Path

import polars as pl
import pytest

from .conftest import Ran, tierscore_here

TIERSCORE = Path(sys.executable).with_name("tierscore")
ROOT = Path(__file__).resolve().parent.parent
RULES_FILE = ROOT / "rules" / "icbc-star.toml"

BALANCES = """\
customer_id,account_id,product,date,balance
C1,A2,TIME,2026-04-01,362000.00
C1,A1,CURRENT,2025-12-31,100000.00
"""
TRANSACTIONS = """\
customer_id,txn_id,date,txn_type,amount,fee,fee_ratio
C2,T10,2026-05-01,POS,50000.00,,
C1,T01,2026-02-03,POS,10000.00,,
C10,T20,2026-03-01,MMF_BUY,5000.00,,
C1,T02,2026-03-04,INTERBANK_REMIT,50000.00,50.00,
C4,T30,2026-05-02,POS,49999.88,,
C1,T03,2026-03-05,INTERBANK_REMIT,50000.00,0.00,
C1,T04,2026-06-30,POS,2500.00,,
C1,T05,2026-07-01,POS,99999.00,,
"""
COMPONENTS = ["short_term_assets", "long_term_assets", "mortgage", "other_loans",
              "card_overdraft", "investment", "card_spending", "settlement"]  # fmt: skip
HEADER = [
    "customer_id",
    *[f"{c}_{part}" for c in COMPONENTS for part in ("amount", "points")],
    "points", "tier",
    # icbc-star's [service]: the service tier and the watch list's hold
    "service_tier", "service_since", "below_since", "downgrade_on", "service_reason", "hold_yuan",
    "quality", "next_tier", "points_to_next", "near_next",
]  # fmt: skip
PUBLISHED = [
    "manifest.json",
    "rejects.csv",
    "report.html",
    "scores.csv",
    "summary.json",
    "unmapped_codes.csv",
]
LAYOUT = {".runs", "current"}  # the versions, and the link to the one shown


def tierscore(*args: str) -> Ran:
    return tierscore_here(*args)


def installed(*args: str) -> subprocess.CompletedProcess[str]:
    """The installed command, as a process."""
    return subprocess.run(
        [str(TIERSCORE), *args], capture_output=True, text=True, encoding="utf-8", timeout=60
    )


def write_inputs(folder: Path, balances: str = BALANCES, transactions: str = TRANSACTIONS) -> list:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "bal.csv").write_text(balances, encoding="utf-8")
    (folder / "txn.csv").write_text(transactions, encoding="utf-8")
    return ["--balances", str(folder / "bal.csv"), "--transactions", str(folder / "txn.csv")]


def snapshot(folder: Path) -> dict[str, bytes]:
    """What a reader of --out sees: each name and its bytes (through the links)."""
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir()) if p.name not in LAYOUT}


def published(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name not in LAYOUT)


def staging_left(folder: Path) -> list[str]:
    """Staging folders anywhere below (in an --out's .runs), or beside --out (older)."""
    return [p.name for p in [*folder.rglob(".staging-*"), *folder.glob(".tierscore-*")]]


def read_scores(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


@pytest.fixture(scope="module")
def inputs(tmp_path_factory: pytest.TempPathFactory) -> list[str]:
    return write_inputs(tmp_path_factory.mktemp("inputs"))


@pytest.fixture(scope="module")
def good(
    inputs: list[str], tmp_path_factory: pytest.TempPathFactory
) -> tuple[Path, subprocess.CompletedProcess[str]]:
    """One successful run of the installed command into a folder: the reference for
    most tests."""
    out = tmp_path_factory.mktemp("good") / "out"
    done = installed("score", *inputs, "--period", "2026H1", "--out", str(out))
    assert done.returncode == 0, done.stderr
    return out, done


@pytest.fixture
def previous(good: tuple, tmp_path: Path) -> tuple[Path, dict[str, bytes]]:
    """A copy of a good run's --out folder and its bytes, for runs that must not touch it."""
    out = tmp_path / "prev"
    shutil.copytree(good[0], out, symlinks=True)
    return out, snapshot(out)


# ---- a successful run ----


def test_score_publishes_the_four_files(good: tuple) -> None:
    out, _ = good
    assert published(out) == PUBLISHED
    assert staging_left(out.parent) == []


def test_worked_example_c1(good: tuple) -> None:
    out, _ = good
    rows = {r["customer_id"]: r for r in read_scores((out / "scores.csv").read_text("utf-8"))}
    c1 = rows["C1"]
    assert c1["points"] == "3870.00"
    assert (c1["tier"], c1["quality"]) == ("五星级", "true")
    assert (c1["next_tier"], c1["points_to_next"]) == ("六星级", "6130.00")
    assert c1["short_term_assets_amount"] == "100000.00"
    assert c1["short_term_assets_points"] == "1350.00"
    # 362,000 x 91 / 181 days
    assert c1["long_term_assets_amount"] == "182000.00"
    assert c1["long_term_assets_points"] == "1820.00"
    # 10,000 + 2,500 inside the window; the 2026-07-01 one is outside it
    assert (c1["card_spending_amount"], c1["card_spending_points"]) == ("12500.00", "500.00")
    # 50,000 with a fee, capped at 10,000; the fee-0 one does not count
    assert (c1["settlement_amount"], c1["settlement_points"]) == ("10000.00", "200.00")
    assert c1["mortgage_amount"] == "0.00" and c1["investment_points"] == "0.00"


def test_tier_bound_is_exact(good: tuple) -> None:
    out, _ = good
    rows = {r["customer_id"]: r for r in read_scores((out / "scores.csv").read_text("utf-8"))}
    # exactly 2,000 points is 五星级
    assert (rows["C2"]["points"], rows["C2"]["tier"], rows["C2"]["quality"]) == (
        "2000.00", "五星级", "true",
    )  # fmt: skip
    # 1,999.9952 shows as 2000.00 but stays 四星级
    assert (rows["C4"]["points"], rows["C4"]["tier"], rows["C4"]["quality"]) == (
        "2000.00", "四星级", "false",
    )  # fmt: skip
    assert rows["C4"]["next_tier"] == "五星级"
    # only excluded transactions: a customer with no points
    assert (rows["C10"]["points"], rows["C10"]["tier"], rows["C10"]["quality"]) == (
        "0.00", "非星级", "false",
    )  # fmt: skip


def test_scores_sorted_with_columns_in_rule_order(good: tuple) -> None:
    out, _ = good
    text = (out / "scores.csv").read_text("utf-8")
    assert text.splitlines()[0] == ",".join(HEADER)
    ids = [r["customer_id"] for r in read_scores(text)]
    assert ids == ["C1", "C10", "C2", "C4"]  # sorted as text; the inputs were not


def test_tier_table_on_stderr_nothing_on_stdout(good: tuple) -> None:
    _, done = good
    assert done.stdout == ""
    assert "五星级" in done.stderr and "非星级" in done.stderr
    assert "181 days" in done.stderr
    assert "wrote scores.csv" in done.stderr


def test_summary_counts_tiers(good: tuple) -> None:
    out, _ = good
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    assert summary["customers"] == 4 and summary["quality_customers"] == 2
    tiers = {t["tier"]: t for t in summary["tiers"]}
    assert [t["tier"] for t in summary["tiers"]][:3] == ["七星级", "六星级", "五星级"]
    assert tiers["五星级"]["customers"] == 2 and tiers["五星级"]["points"] == "5870.00"
    assert tiers["四星级"]["customers"] == 1 and tiers["非星级"]["customers"] == 1
    assert summary["rows"]["transactions"]["excluded"] == 1
    assert summary["rows"]["transactions"]["outside_window"] == 1


def test_out_dash_writes_only_csv_to_stdout(inputs: list[str], good: tuple) -> None:
    out, _ = good
    done = tierscore("score", *inputs, "--period", "2026H1", "--out", "-")
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[0] == ",".join(HEADER)
    frame = pl.read_csv(io.StringIO(done.stdout), infer_schema=False)
    assert frame.columns == HEADER and frame.height == 4
    assert frame.filter(pl.col("customer_id") == "C1")["points"].to_list() == ["3870.00"]
    assert done.stdout == (out / "scores.csv").read_text("utf-8")
    assert "五星级" in done.stderr  # the tier table went to stderr
    assert "wrote" not in done.stderr and "│" not in done.stdout


def test_parquet_has_the_csv_values(inputs: list[str], good: tuple, tmp_path: Path) -> None:
    out, _ = good
    done = tierscore("score", *inputs, "--period", "2026H1", "--out", str(tmp_path / "pq"),
                     "--format", "parquet", "--quiet")  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert done.stderr == "" and done.stdout == ""
    names = published(tmp_path / "pq")
    assert names == [
        "manifest.json",
        "rejects.csv",
        "report.html",
        "scores.parquet",
        "summary.json",
        "unmapped_codes.csv",
    ]
    parquet = pl.read_parquet(tmp_path / "pq" / "scores.parquet")
    assert parquet.columns == HEADER
    c1 = parquet.filter(pl.col("customer_id") == "C1").row(0, named=True)
    assert str(c1["points"]) == "3870.00" and c1["tier"] == "五星级"
    from_csv = pl.read_csv(out / "scores.csv", infer_schema=False)
    as_text = parquet.with_columns(pl.all().cast(pl.String))
    assert as_text.with_columns(pl.col("quality").str.to_lowercase()).equals(from_csv)


def test_manifest_makes_the_run_auditable(good: tuple, inputs: list[str]) -> None:
    out, _ = good
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["tool"]["name"] == "tierscore"
    assert manifest["tool"]["version"] == version("tierscore")
    ruleset = manifest["ruleset"]
    assert (ruleset["name"], ruleset["version"]) == ("icbc-star", "2026.1")
    assert ruleset["sha256"] == hashlib.sha256(RULES_FILE.read_bytes()).hexdigest()
    assert ruleset["sha256"] == hashlib.sha256(Path(ruleset["file"]).read_bytes()).hexdigest()
    assert manifest["window"] == {"label": "2026H1", "start": "2026-01-01",
                                  "end": "2026-06-30", "days": 181}  # fmt: skip
    given = {"balances": (Path(inputs[1]), 2), "transactions": (Path(inputs[3]), 8)}
    for table, (path, rows) in given.items():
        [entry] = manifest["inputs"][table]
        assert entry["path"] == str(path)
        assert entry["sha256"] == hashlib.sha256(path.read_bytes()).hexdigest()
        assert entry["rows"] == rows
    outputs = {o["file"]: o for o in manifest["outputs"]}
    assert set(outputs) == {
        "scores.csv",
        "summary.json",
        "rejects.csv",
        "report.html",
        "unmapped_codes.csv",
    }
    for name, entry in outputs.items():
        data = (out / name).read_bytes()
        assert entry["sha256"] == hashlib.sha256(data).hexdigest(), name
        assert entry["bytes"] == len(data)
    assert manifest["counts"]["customers"] == 4 and manifest["counts"]["rejects"] == 0
    assert manifest["counts"]["rows"]["transactions"]["read"] == 8
    assert set(manifest["timings_s"]) == {"read", "compute", "write"}
    assert all(isinstance(s, (int, float)) and s >= 0 for s in manifest["timings_s"].values())


def test_two_runs_are_byte_identical(inputs: list[str], good: tuple, tmp_path: Path) -> None:
    out, _ = good
    done = tierscore("score", *inputs, "--period", "2026H1", "--out", str(tmp_path), "--quiet")
    assert done.returncode == 0, done.stderr
    for name in ("scores.csv", "summary.json", "rejects.csv"):
        assert (tmp_path / name).read_bytes() == (out / name).read_bytes(), name


def test_row_order_does_not_change_scores(good: tuple, tmp_path: Path) -> None:
    out, _ = good
    head, *rows = TRANSACTIONS.splitlines()
    shuffled = "\n".join([head, *reversed(rows)]) + "\n"
    bal_head, *bal_rows = BALANCES.splitlines()
    args = write_inputs(tmp_path / "in", "\n".join([bal_head, *reversed(bal_rows)]) + "\n",
                        shuffled)  # fmt: skip
    done = tierscore("score", *args, "--period", "2026H1", "--out", str(tmp_path / "o"), "--quiet")
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "o" / "scores.csv").read_bytes() == (out / "scores.csv").read_bytes()


def test_explicit_range_scores_like_the_half_year(inputs: list[str], good: tuple) -> None:
    out, _ = good
    done = tierscore("score", *inputs, "--from", "2026-01-01", "--to", "2026-06-30",
                     "--out", "-", "--quiet")  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert done.stdout == (out / "scores.csv").read_text("utf-8")


# ---- failures: exit 2 ----


def bad_column_inputs(folder: Path) -> list[str]:
    return write_inputs(folder, BALANCES.replace("account_id", "acct", 1))


def _missing_balances(d: Path, ok: list[str]) -> list[str]:
    return ["--balances", str(d / "nope.csv"), *ok[2:], "--period", "2026H1"]


def _missing_transactions(d: Path, ok: list[str]) -> list[str]:
    return [*ok[:2], "--transactions", str(d / "nope.csv"), "--period", "2026H1"]


def _missing_column(d: Path, ok: list[str]) -> list[str]:
    return [*bad_column_inputs(d / "in"), "--period", "2026H1"]


def _with(*extra: str) -> Callable[[Path, list[str]], list[str]]:
    return lambda d, ok: [*ok, *extra]


CONFIG_ERRORS: dict[str, tuple[Callable[[Path, list[str]], list[str]], list[str]]] = {
    "missing balances file": (
        _missing_balances,
        ["nope.csv", "--balances", "no such file or folder"],
    ),
    "missing transactions file": (
        _missing_transactions,
        ["nope.csv", "--transactions", "no such file or folder"],
    ),
    "missing column": (
        _missing_column,
        [
            "bal.csv",
            "missing required column(s): account_id",
            "found: customer_id, acct, product, date, balance",
        ],
    ),
    "bad period": (_with("--period", "2026Q1"), ["--period", "'2026Q1'"]),
    "bad from date": (
        _with("--from", "2026-13-01", "--to", "2026-06-30"),
        ["--from", "'2026-13-01'"],
    ),
    "months with a half-year": (_with("--period", "2026H1", "--months", "6"), ["--months"]),
    "format xlsx": (
        _with("--period", "2026H1", "--format", "xlsx"),
        ["--format", "csv or parquet"],
    ),
    "unknown rule set": (
        _with("--period", "2026H1", "--rules", "nope"),
        ["--rules", "no rule set named 'nope'"],
    ),
}


@pytest.mark.parametrize("case", list(CONFIG_ERRORS))
def test_configuration_error_exits_2_and_publishes_nothing(
    case: str, inputs: list[str], tmp_path: Path
) -> None:
    make_args, words = CONFIG_ERRORS[case]
    out = tmp_path / "out"
    done = tierscore("score", *make_args(tmp_path, inputs), "--out", str(out))
    assert done.returncode == 2, done.stderr
    assert done.stderr.startswith("error: ") or "\nerror: " in done.stderr
    for word in words:
        assert word in done.stderr, word
    assert "Traceback" not in done.stderr
    assert done.stdout == ""
    assert not out.exists()
    assert staging_left(tmp_path) == []


@pytest.mark.parametrize("case", ["missing balances file", "missing column", "format xlsx"])
def test_configuration_error_keeps_previous_out_folder(
    case: str, inputs: list[str], previous: tuple, tmp_path: Path
) -> None:
    out, before = previous
    make_args, _ = CONFIG_ERRORS[case]
    done = tierscore("score", *make_args(tmp_path, inputs), "--out", str(out))
    assert done.returncode == 2
    assert snapshot(out) == before


def test_missing_column_on_stdout_mode(tmp_path: Path) -> None:
    args = bad_column_inputs(tmp_path)
    done = tierscore("score", *args, "--period", "2026H1", "--out", "-")
    assert done.returncode == 2
    assert "missing required column(s): account_id" in done.stderr
    assert done.stdout == ""


# ---- failures: exit 3, too many rejected rows ----


def rejecting_inputs(folder: Path) -> list[str]:
    # 1 of 3 balance rows rejected: far above the default 0.1%
    return write_inputs(folder, BALANCES + "C9,A9,CURRENT,2026-01-05,not-money\n")


def test_reject_limit_exits_3_without_scores(tmp_path: Path) -> None:
    args = rejecting_inputs(tmp_path / "in")
    out = tmp_path / "out"
    done = tierscore("score", *args, "--period", "2026H1", "--out", str(out))
    assert done.returncode == 3, done.stderr
    assert "too many rejected rows" in done.stderr and "balances: 1 of 3 rows" in done.stderr
    assert published(out) == ["manifest.json", "rejects.csv"]
    rejects = read_scores((out / "rejects.csv").read_text("utf-8"))
    assert [(r["file"], r["line"], r["column"], r["value"]) for r in rejects] == [
        (args[1], "4", "balance", "not-money"),
    ]  # fmt: skip
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    assert [o["file"] for o in manifest["outputs"]] == ["rejects.csv"]
    assert manifest["counts"]["rejects"] == 1
    assert staging_left(tmp_path) == []


def test_reject_limit_keeps_previous_scores(tmp_path: Path, previous: tuple) -> None:
    out, before = previous
    args = rejecting_inputs(tmp_path / "in")
    done = tierscore("score", *args, "--period", "2026H1", "--out", str(out), "--quiet")
    assert done.returncode == 3
    after = snapshot(out)
    assert after["scores.csv"] == before["scores.csv"]
    assert after["summary.json"] == before["summary.json"]
    assert after["rejects.csv"] != before["rejects.csv"]  # the new rejects are there to read


def test_reject_limit_on_stdout_mode_writes_no_scores(tmp_path: Path) -> None:
    args = rejecting_inputs(tmp_path)
    done = tierscore("score", *args, "--period", "2026H1", "--out", "-")
    assert done.returncode == 3
    assert done.stdout == ""
    assert "too many rejected rows" in done.stderr


def test_max_reject_rate_1_publishes(tmp_path: Path, good: tuple) -> None:
    args = rejecting_inputs(tmp_path / "in")
    out = tmp_path / "out"
    done = tierscore("score", *args, "--period", "2026H1", "--out", str(out),
                     "--max-reject-rate", "1", "--quiet")  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert published(out) == PUBLISHED
    # the rejected row scores nothing: the scores are those of the clean inputs
    assert (out / "scores.csv").read_bytes() == (good[0] / "scores.csv").read_bytes()
    assert len(read_scores((out / "rejects.csv").read_text("utf-8"))) == 1


# ---- pipes, help, interrupts ----


def test_pipe_into_head_ends_quietly(tmp_path: Path) -> None:
    # enough customers that the CSV is far larger than a pipe's buffer
    rows = [f"K{i:05d},A{i},CURRENT,2026-01-01,{i}.00" for i in range(20000)]
    args = write_inputs(tmp_path, "customer_id,account_id,product,date,balance\n"
                        + "\n".join(rows) + "\n")  # fmt: skip
    command = (
        f"set +o pipefail; '{TIERSCORE}' score {' '.join(args)} --period 2026H1 --out - "
        '| head -1; echo "status=${PIPESTATUS[0]}" >&2'
    )
    done = subprocess.run(["bash", "-c", command], capture_output=True, text=True,
                          encoding="utf-8", timeout=60)  # fmt: skip
    assert done.returncode == 0
    assert done.stdout == ",".join(HEADER) + "\n"
    assert "Traceback" not in done.stderr
    assert "BrokenPipe" not in done.stderr and "unexpected error" not in done.stderr
    assert "status=1\n" not in done.stderr
    assert "五星级" in done.stderr  # the run itself did report


@pytest.mark.parametrize("args", [[], ["score"]])
def test_help_documents_exit_codes(args: list[str]) -> None:
    done = tierscore(*args, "--help")
    assert done.returncode == 0, done.stderr
    text = " ".join(done.stdout.split())
    assert "Exit codes" in text
    for phrase in ("0 scored and published", "1 unexpected error",
                   "2 usage or configuration error", "3 too many rejected rows",
                   "130 interrupted"):  # fmt: skip
        assert phrase in text, phrase


def test_ctrl_c_exits_130_and_publishes_nothing(tmp_path: Path, inputs: list[str]) -> None:
    rows = 4_000_000
    pl.DataFrame(
        {
            "customer_id": pl.int_range(rows, eager=True).cast(pl.String),
            "account_id": pl.int_range(rows, eager=True).cast(pl.String),
            "product": pl.repeat("CURRENT", rows, eager=True),
            "date": pl.repeat("2026-01-05", rows, eager=True),
            "balance": pl.repeat("100.00", rows, eager=True),
        }
    ).write_csv(tmp_path / "bal.csv")
    out = tmp_path / "out"
    proc = subprocess.Popen(
        [str(TIERSCORE), "score", "--balances", str(tmp_path / "bal.csv"), *inputs[2:],
         "--period", "2026H1", "--out", str(out)],
        stderr=subprocess.PIPE, text=True, encoding="utf-8",
    )  # fmt: skip
    assert proc.stderr is not None
    for line in proc.stderr:  # wait until scoring has started
        if "read done" in line:
            break
    time.sleep(0.3)
    proc.send_signal(signal.SIGINT)
    started = time.monotonic()
    code = proc.wait(timeout=30)
    assert code == 130
    assert time.monotonic() - started < 5
    assert not (out / "scores.csv").exists()


# ---- bugs found by these tests, now fixed ----


def test_out_is_a_file_exits_2(inputs: list[str], tmp_path: Path) -> None:
    target = tmp_path / "a-file"
    target.write_text("keep me\n", encoding="utf-8")
    done = tierscore("score", *inputs, "--period", "2026H1", "--out", str(target))
    assert target.read_text(encoding="utf-8") == "keep me\n"
    assert done.returncode == 2, done.stderr


@pytest.mark.parametrize("rate", ["-1", "nan"])
def test_max_reject_rate_out_of_range_exits_2(inputs: list[str], rate: str) -> None:
    done = tierscore("score", *inputs, "--period", "2026H1", "--out", "-", "--quiet",
                     "--max-reject-rate", rate)  # fmt: skip
    assert done.returncode == 2, done.stderr


def test_long_error_message_stays_on_one_line(tmp_path: Path) -> None:
    folder = tmp_path / ("x" * 150)
    args = bad_column_inputs(folder)
    done = tierscore("score", *args, "--period", "2026H1", "--out", "-")
    assert done.returncode == 2
    [line] = [ln for ln in done.stderr.splitlines() if ln.startswith("error: ")]
    assert "found: customer_id, acct, product, date, balance" in line


def test_parquet_to_stdout_is_refused(tmp_path: Path) -> None:
    done = tierscore("score", "--balances", str(ROOT / "sample_data" / "balances.csv"),
                     "--transactions", str(ROOT / "sample_data" / "transactions.csv"),
                     "--period", "2026H1", "--out", "-", "--format", "parquet")  # fmt: skip
    assert done.returncode == 2
    assert done.stdout == ""
    assert "--format" in done.stderr


@pytest.mark.parametrize("given", [None, "", "dirty_decay_ms:1000"])
def test_allocator_setting_only_where_the_operator_set_none(given: str | None) -> None:
    """The command keeps freed memory for reuse (see ``tierscore.cli``): its setting
    is there before polars loads, which appends it to its own; an operator's own
    setting, even an empty one (polars' alone), is left as it is."""
    env = {k: v for k, v in os.environ.items() if k != "_RJEM_MALLOC_CONF"}
    if given is not None:
        env["_RJEM_MALLOC_CONF"] = given
    code = "import os, tierscore.cli.main; print(os.environ['_RJEM_MALLOC_CONF'])"
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    from tierscore.cli import MALLOC_CONF

    setting = done.stdout.strip()  # polars' own, then what it found, which wins
    assert setting.endswith(MALLOC_CONF if given is None else given)
    assert (MALLOC_CONF in setting) == (given is None)
