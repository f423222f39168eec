"""CLI conventions (issue 23): -V/--version, -h, short flags, completion, case-insensitive
choices and periods, --encoding checked up front, -q/-v on explain and validate, help
panels, metavars, examples that run, and help that reads at 80 columns."""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
import sys
from collections.abc import Iterator
from importlib.metadata import version
from itertools import pairwise
from pathlib import Path
from typing import Any

import pytest
import typer
from typer.testing import CliRunner

import tierscore.cli.main as main_module
from tierscore.cli import explain_cmd
from tierscore.cli.errors import _outcome
from tierscore.cli.examples import EXAMPLES, wrapped
from tierscore.cli.main import app, wants_verbose
from tierscore.scoring.publish import SCORES_FORMATS
from tierscore.scoring.sample import write_sample

ROOT = Path(__file__).resolve().parent.parent
TIERSCORE = Path(sys.executable).with_name("tierscore")
SAMPLE = ROOT / "sample_data"
BAL, TXN = str(SAMPLE / "balances.csv"), str(SAMPLE / "transactions.csv")
COMMANDS = [[], ["score"], ["validate"], ["explain"], ["compare"], ["sample"], ["version"],
            ["rules"], ["rules", "list"], ["rules", "show"], ["rules", "check"],
            ["accumulate"], ["ledger"], ["ledger", "status"]]  # fmt: skip
SHORT = {"-o": "--out", "-q": "--quiet", "-v": "--verbose", "-r": "--rules", "-p": "--period",
         "-b": "--balances", "-t": "--transactions", "-h": "--help", "-V": "--version"}  # fmt: skip
PANELS = ("Inputs", "Window", "Rules", "Outputs", "Analyst views", "Engine")


def cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = _outcome(lambda: app(list(args), prog_name="tierscore"), verbose=False)
    said = capsys.readouterr()
    return code, said.out, said.err


def help_of(path: list[str], columns: int = 80) -> str:
    done = CliRunner().invoke(app, [*path, "--help"], env={"COLUMNS": str(columns)},
                              prog_name="tierscore")  # fmt: skip
    assert done.exit_code == 0, done.output
    return done.output


def commands() -> Iterator[tuple[list[str], Any, list[Any]]]:
    """Every command and group of the app, with its path and its options, -h/--help
    included as the command gets it (from the contexts above it)."""
    root = typer.main.get_command(app)
    todo = [([], root, root.make_context("tierscore", [], resilient_parsing=True))]
    while todo:
        path, command, ctx = todo.pop(0)
        yield path, command, [*command.params, command.get_help_option(ctx)]
        for name, sub in getattr(command, "commands", {}).items():
            sub_ctx = sub.make_context(name, [], parent=ctx, resilient_parsing=True)
            todo.append(([*path, name], sub, sub_ctx))


# ---- version, help, short flags, completion ----


@pytest.mark.parametrize("flag", ["-V", "--version"])
def test_version_flag_prints_the_version(flag: str) -> None:
    done = CliRunner().invoke(app, [flag])
    assert done.exit_code == 0 and done.output == version("tierscore") + "\n"
    assert CliRunner().invoke(app, ["version"]).output == done.output  # the command stays


@pytest.mark.parametrize("path", COMMANDS, ids=lambda p: " ".join(p) or "tierscore")
def test_h_is_help_on_every_command(path: list[str]) -> None:
    short = CliRunner().invoke(app, [*path, "-h"], env={"COLUMNS": "100"}, prog_name="tierscore")
    assert short.exit_code == 0, short.output
    assert short.output == help_of(path, 100)
    assert "Usage: " in short.output and "-h" in short.output


def test_every_command_is_checked_here() -> None:
    """A new command gets -h, examples and the 80-column check, or this fails."""
    assert sorted(path for path, _, _ in commands()) == sorted(COMMANDS)


def test_short_flags_are_the_same_option_everywhere_and_never_clash() -> None:
    for path, _, params in commands():
        options = [p for p in params if p.param_type_name == "option"]
        names = [n for p in options for n in (*p.opts, *p.secondary_opts)]
        assert len(names) == len(set(names)), (path, names)  # click takes the last one
        for param in options:
            for name in param.opts:
                if len(name) == 2:
                    assert SHORT.get(name) in param.opts, (path, name, param.opts)
        longs = {n for p in options for n in p.opts}
        for short, long in SHORT.items():
            if long in longs:
                assert short in names, (path, long)


def test_short_flags_score_as_the_long_ones_do(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    long = ["score", "--balances", BAL, "--transactions", TXN, "--period", "2026H1",
            "--rules", "pyramid", "--quiet", "--out", str(tmp_path / "long")]  # fmt: skip
    short = ["score", "-b", BAL, "-t", TXN, "-p", "2026H1", "-r", "pyramid", "-q",
             "-o", str(tmp_path / "short")]  # fmt: skip
    assert cli(capsys, *long)[0] == 0
    code, _, said = cli(capsys, *short)
    assert code == 0 and said == ""  # -q: quiet indeed
    scores = [(tmp_path / d / "scores.csv").read_bytes() for d in ("long", "short")]
    assert scores[0] == scores[1] and scores[0].count(b"\n") > 100
    summary = json.loads((tmp_path / "short" / "summary.json").read_text(encoding="utf-8"))
    assert summary["ruleset"]["name"] == "pyramid"  # -r was read as --rules


def test_short_flags_explain_and_validate_as_the_long_ones_do(
    capsys: pytest.CaptureFixture[str],
) -> None:
    long = cli(capsys, "explain", "C1", "--balances", BAL, "--transactions", TXN,
               "--period", "2026H1", "--rules", "card-tier", "--json")  # fmt: skip
    short = cli(capsys, "explain", "C1", "-b", BAL, "-t", TXN, "-p", "2026H1", "-r",
                "card-tier", "--json")  # fmt: skip
    assert long == short and long[0] == 0
    assert json.loads(short[1])["ruleset"].startswith("card-tier")
    long = cli(capsys, "validate", "--balances", BAL, "--transactions", TXN, "--rules", "pyramid")
    short = cli(capsys, "validate", "-b", BAL, "-t", TXN, "-r", "pyramid")
    assert long == short and long[0] == 0


def test_completion_and_version_end_to_end() -> None:
    env = {**os.environ, "_TIERSCORE_COMPLETE": "complete_bash",
           "COMP_WORDS": "tierscore score --for", "COMP_CWORD": "2"}  # fmt: skip
    done = subprocess.run([str(TIERSCORE)], env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0 and done.stdout.split() == ["--format"], done.stderr
    env["COMP_WORDS"], env["COMP_CWORD"] = "tierscore score --format ", "3"
    done = subprocess.run([str(TIERSCORE)], env=env, capture_output=True, text=True, timeout=60)
    assert done.stdout.split() == ["csv", "parquet"]
    done = subprocess.run([str(TIERSCORE), "--show-completion", "bash"], capture_output=True,
                          text=True, timeout=60)  # fmt: skip
    assert done.returncode == 0 and "_TIERSCORE_COMPLETE" in done.stdout
    done = subprocess.run([str(TIERSCORE), "-V"], capture_output=True, text=True, timeout=60)
    assert (done.returncode, done.stdout) == (0, version("tierscore") + "\n")


# ---- choices and periods in any case; bad values exit 2 ----


def test_period_and_choices_in_any_case(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    base = ["score", "-b", BAL, "-t", TXN, "-q"]
    assert cli(capsys, *base, "-p", "2026H1", "-o", str(tmp_path / "upper"))[0] == 0
    code, _, said = cli(capsys, *base, "-p", " 2026h1 ", "--format", "CSV", "--split", "Tier",
                        "--engine", "POLARS", "-o", str(tmp_path / "lower"))  # fmt: skip
    assert code == 0, said
    upper, lower = tmp_path / "upper", tmp_path / "lower"
    assert (upper / "scores.csv").read_bytes() == (lower / "scores.csv").read_bytes()
    summary = json.loads((lower / "summary.json").read_text(encoding="utf-8"))
    assert summary["window"]["label"] == "2026H1"
    assert (lower / "by_tier").is_dir()  # --split Tier is tier
    code, _, said = cli(capsys, *base, "-p", "2026h2", "--format", "Parquet",
                        "-o", str(tmp_path / "pq"))  # fmt: skip
    assert code == 0, said
    assert (tmp_path / "pq" / "scores.parquet").is_file()
    assert json.loads((tmp_path / "pq" / "summary.json").read_text("utf-8"))["window"] == {
        "label": "2026H2", "start": "2026-07-01", "end": "2026-12-31", "days": 184}  # fmt: skip


def test_choices_complete() -> None:
    params = {p.name: p for p in typer.main.get_command(app).commands["score"].params}
    assert params["format_"].metavar == "|".join(SCORES_FORMATS)  # the formats written
    ctx = typer.main.get_command(app).make_context("tierscore", [], resilient_parsing=True)
    for typed, offered in (("", ["polars", "spark"]), ("sp", ["spark"]), ("x", [])):
        done = [item.value for item in params["engine"].shell_complete(ctx, typed)]
        assert done == offered


@pytest.mark.parametrize(
    ("args", "said"),
    [
        (["-p", "2026h3"], "--period"),
        (["-p", "2026-6", "--months", "6"], "--period"),
        (["-p", "2026-O6", "--months", "6"], "--period"),
        (["-p", "２０２６h1"], "--period"),
        (["-p", "2026hh1"], "--period"),
        (["-p", "h1"], "--period"),
        (["-p", "2026H1", "--format", "xml"], "error: --format: must be csv or parquet, not 'xml'"),
        (["-p", "2026H1", "--format", "csv "], "--format: must be csv or parquet, not 'csv '"),
        (["-p", "2026H1", "--format", "ｃｓｖ"], "--format: must be csv or parquet"),
        (["-p", "2026H1", "--split", "manager"], "--split: must be tier or branch"),
        (["-p", "2026H1", "--engine", "duckdb"], "--engine: must be polars or spark"),
    ],
)
def test_bad_values_still_exit_2(
    args: list[str], said: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "out"
    code, _, err = cli(capsys, "score", "-b", BAL, "-t", TXN, *args, "-o", str(out))
    assert code == 2 and said in err, err
    assert err.count("\n") == 1, err  # one line, as in a cron log
    assert not out.exists()


def test_sample_format_in_any_case(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli(capsys, "sample", "--customers", "5", "--format", "CSV", "-o", str(tmp_path))[0] == 0
    assert list((tmp_path / "balances").glob("*.csv"))
    code, _, err = cli(capsys, "sample", "--customers", "5", "--format", "xlsx",
                       "-o", str(tmp_path / "x"))  # fmt: skip
    assert code == 2 and "--format: must be parquet or csv, not 'xlsx'" in err


# ---- --encoding: an unknown one stops every command before anything is read ----

ENCODING_RUNS = {
    "score": ["score", "-p", "2026H1", "-o", "{out}"],
    "validate": ["validate"],
    "explain": ["explain", "C1", "-p", "2026H1"],
    "compare": ["compare", "-r", "icbc-star", "-r", "pyramid", "-p", "2026H1", "-o", "{out}"],
}


@pytest.fixture(scope="module")
def parquet_inputs(tmp_path_factory: pytest.TempPathFactory) -> list[str]:
    folder = tmp_path_factory.mktemp("parquet")
    write_sample(folder, 20, "parquet", 1)
    return ["-b", str(folder / "balances"), "-t", str(folder / "transactions")]


@pytest.mark.parametrize("command", ENCODING_RUNS)
@pytest.mark.parametrize(("encoding", "said"),
                         [("bogus", "unknown encoding 'bogus'"), ("utf-16", "UTF-16")])  # fmt: skip
def test_an_unknown_encoding_is_exit_2_for_every_command(
    command: str,
    encoding: str,
    said: str,
    tmp_path: Path,
    parquet_inputs: list[str],
    capsys: pytest.CaptureFixture[str],
) -> None:
    out = tmp_path / "out"
    args = [a.format(out=out) for a in ENCODING_RUNS[command]]
    for inputs in (["-b", BAL, "-t", TXN], parquet_inputs):  # Parquet: no CSV to apply it to
        code, stdout, err = cli(capsys, *args, *inputs, "--encoding", encoding)
        assert code == 2 and said in err and "--encoding" in err, err
        assert stdout == "" and not out.exists()


def test_an_unknown_encoding_stops_before_spark_starts(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def no_run(*_: object, **__: object) -> None:
        raise AssertionError("the run started")

    monkeypatch.setattr(main_module, "run_on", no_run)
    code, _, err = cli(capsys, "score", "-b", BAL, "-t", TXN, "-p", "2026H1", "--engine",
                       "spark", "--encoding", "nope", "-o", str(tmp_path / "out"))  # fmt: skip
    assert code == 2 and "unknown encoding 'nope'" in err


# ---- -q and -v on explain and validate ----


def test_quiet_keeps_the_answer_of_explain_and_validate(
    capsys: pytest.CaptureFixture[str],
) -> None:
    for command in (["explain", "C1", "-p", "2026H1"], ["validate"]):
        loud = cli(capsys, *command, "-b", BAL, "-t", TXN)
        for quiet in ("-q", "--quiet"):
            code, out, err = cli(capsys, *command, "-b", BAL, "-t", TXN, quiet)
            assert code == 0 and out == loud[1] and out.strip(), command
            assert err == "", err
        assert cli(capsys, *command, "-b", BAL, "-t", TXN, "-v")[:2] == loud[:2]


@pytest.mark.parametrize("command", ["explain", "validate"])
def test_verbose_shows_the_traceback_of_explain_and_validate(
    command: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def broken(*_: object, **__: object) -> None:
        raise RuntimeError("boom inside")

    monkeypatch.setattr(explain_cmd, "explain_customer", broken)
    monkeypatch.setattr(main_module, "inspect", broken)
    args = ["explain", "C1", "-p", "2026H1"] if command == "explain" else ["validate"]
    for flag, traceback in (("-v", True), ("--verbose", True), ("-qv", True), ("-q", False)):
        monkeypatch.setattr(sys, "argv", ["tierscore", *args, "-b", BAL, "-t", TXN, flag])
        with pytest.raises(SystemExit) as ended:
            main_module.main()
        err = capsys.readouterr().err
        assert ended.value.code == 1 and "boom inside" in err
        assert ("Traceback" in err) is traceback, (flag, err)
        assert ("run again with --verbose" in err) is not traceback


def test_verbose_is_read_from_flags_only() -> None:
    for argv in (["-v"], ["--verbose"], ["-qv"], ["-vq"], ["-vo", "x"], ["score", "-o", "x", "-v"]):
        assert wants_verbose(argv), argv
    for argv in (["-V"], ["--version"], ["-b", "v"], ["-bv"], ["-qbv"], ["--", "-v"], ["--verb"]):
        assert not wants_verbose(argv), argv


# ---- help: panels, metavars, examples, 80 columns ----


def test_score_help_is_grouped_into_panels() -> None:
    text = help_of(["score"])
    titles = re.findall(r"╭─ (.+?) ─", text)
    assert titles == ["Options", *PANELS]
    panel = {}
    for block in re.split(r"(?=╭─ )", text)[1:]:
        panel[re.match(r"╭─ (.+?) ─", block).group(1)] = block  # type: ignore[union-attr]
    for title, names in (("Inputs", ["--balances", "--customers", "--encoding"]),
                         ("Window", ["--period", "--months", "--from", "--to"]),
                         ("Rules", ["--rules"]), ("Outputs", ["--out", "--format", "--report"]),
                         ("Analyst views", ["--previous", "--near", "--split", "--xlsx"]),
                         ("Engine", ["--engine", "--spark-conf", "--balances-table"]),
                         ("Options", ["--quiet", "--verbose", "--help"])):  # fmt: skip
        for name in names:
            assert re.search(rf"{name}(?![\w-])", panel[title]), (title, name)


def test_options_have_real_metavars() -> None:
    real = re.compile(r"[A-Z_]+(\|[A-Z_]+)*|[a-z]+(\|[a-z]+)+|KEY=VALUE")
    for path, command, _ in commands():
        for param in command.params:
            if getattr(param, "is_flag", False):
                continue
            assert param.metavar is not None and real.fullmatch(param.metavar), (path, param.name)
    text = help_of(["score"]) + help_of(["compare"]) + help_of(["validate"])
    for metavar in ("FILE", "DIR", "PATH", "PERIOD", "PCT", "N", "DATE", "NAME|FILE", "SHARE"):
        assert re.search(rf"(?<![\w|]){re.escape(metavar)}(?![\w|])", text), metavar
    assert "<str>" not in text and "TEXT" not in text and "<float>" not in text


def examples_in(text: str) -> list[str]:
    """The examples a help ends with, continuation lines joined; fails if anything but
    examples follows the "Examples:" line."""
    lines = [line.strip() for line in text.split("Examples:", 1)[1].splitlines()]
    joined = "\n".join(line for line in lines if line).replace(" \\\n", " ")
    found = joined.splitlines()
    assert all(line.startswith("tierscore ") for line in found), found
    return found


@pytest.mark.parametrize("path", COMMANDS, ids=lambda p: " ".join(p) or "tierscore")
def test_every_help_ends_with_examples_that_run(
    path: list[str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    found = examples_in(help_of(path))
    assert 2 <= len(found) <= 3
    assert found == EXAMPLES[" ".join(path)]  # wrapped and joined back whole
    for name in ("sample_data", "rules"):
        shutil.copytree(ROOT / name, tmp_path / name)
    monkeypatch.chdir(tmp_path)
    for example in found:
        code, out, err = cli(capsys, *shlex.split(example)[1:])
        assert code == 0, (example, err)
        assert out or err, example  # each says something


def test_examples_wrap_as_the_shell_reads_them() -> None:
    for commands_ in EXAMPLES.values():
        for example in commands_:
            lines = wrapped(example).splitlines()
            assert all(len(line) <= 78 for line in lines), lines
            assert shlex.split(" ".join(line.rstrip("\\") for line in lines)) == shlex.split(
                example
            )
            words = example.split()
            for option, value in pairwise(words):
                if option.startswith("-") and (value == "-" or not value.startswith("-")):
                    assert any(f"{option} {value}" in line for line in lines), (option, lines)


@pytest.mark.parametrize("path", COMMANDS, ids=lambda p: " ".join(p) or "tierscore")
def test_help_reads_at_80_columns(path: list[str]) -> None:
    text = help_of(path, 80)
    assert max(len(line) for line in text.splitlines()) <= 80
    assert "…" not in text  # rich's mark of a cut cell
    params = {tuple(p): params for p, _, params in commands()}[tuple(path)]
    for param in params:
        for name in (*param.opts, *param.secondary_opts):
            if param.param_type_name == "option":  # an argument shows its metavar
                assert re.search(rf"(?<![\w-]){re.escape(name)}(?![\w-])", text), (path, name)
        if param.metavar:
            assert re.search(rf"(?<![\w|]){re.escape(param.metavar)}(?![\w|])", text)


def test_score_help_at_80_columns_end_to_end() -> None:
    env = {**os.environ, "COLUMNS": "80"}
    env.pop("TERMINAL_WIDTH", None)
    done = subprocess.run([str(TIERSCORE), "score", "-h"], env=env, capture_output=True,
                          text=True, encoding="utf-8", timeout=60)  # fmt: skip
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert max(len(line) for line in lines) <= 80 and "…" not in done.stdout
    assert "--transactions-table" in done.stdout and "--max-reject-rate" in done.stdout
    assert "Exit codes" in done.stdout and examples_in(done.stdout) == EXAMPLES["score"]
