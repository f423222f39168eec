"""Every command the README shows runs here, so the documentation cannot rot."""

from __future__ import annotations

import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from .conftest import Ran, tierscore_here

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text(encoding="utf-8")
TIERSCORE = Path(sys.executable).with_name("tierscore")


def _bash_blocks() -> list[str]:
    return re.findall(r"```bash\n(.*?)```", README, flags=re.S)


def _tierscore_commands() -> list[str]:
    commands = []
    for block in _bash_blocks():
        for line in block.splitlines():
            for part in line.split("&&"):
                part = part.strip()
                if re.match(r"^(\.venv/bin/)?tierscore\s", part):
                    commands.append(part)
    return commands


def test_readme_opens_with_exactly_two_commands() -> None:
    intro = README.split("\n## ", 1)[0]
    blocks = re.findall(r"```bash\n(.*?)```", intro, flags=re.S)
    assert len(blocks) == 2
    assert all(len(b.strip().splitlines()) == 1 for b in blocks)
    assert "pip install ." in blocks[0] and "tierscore score" in blocks[0]
    assert "pip install '.[test]'" in blocks[1] and "pytest" in blocks[1]


def test_ci_runs_the_readme_test_command() -> None:
    test_command = _bash_blocks()[1].strip()
    assert test_command in (ROOT / ".ci" / "run").read_text(encoding="utf-8")


def test_readme_shows_commands() -> None:
    assert len(_tierscore_commands()) >= 5


def test_own_rule_set_example_is_valid(workdir: Path) -> None:
    done = tierscore_here("rules", "check", "my-bank.toml", cwd=workdir)
    assert done.returncode == 0, done.stderr
    assert "my-bank-star" in done.stdout  # the answer; stderr is for messages


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One folder for all commands, run in README order (a later one may use an earlier one's
    output)."""
    path = tmp_path_factory.mktemp("readme")
    shutil.copytree(ROOT / "sample_data", path / "sample_data")
    # the files the "Writing your own rule set" walk-through refers to
    for block in re.findall(r"```toml\n(# (\S+\.toml)\n.*?)```", README, flags=re.S):
        (path / block[1]).write_text(block[0], encoding="utf-8")
    for folder, name in (("bal", "balances.csv"), ("txn", "transactions.csv")):
        (path / "exports" / folder).mkdir(parents=True)
        shutil.copy(ROOT / "sample_data" / name, path / "exports" / folder / name)
    return path


SPARK = "--engine spark"


@pytest.mark.parametrize("command", [c for c in _tierscore_commands() if SPARK not in c])
def test_readme_command_runs(command: str, workdir: Path) -> None:
    """In this process (``conftest.tierscore_here``: a process each cost the suite a
    second or two), except a command that names the installed one, ``.venv/bin/tierscore``,
    which runs as a process: the entry point a user runs is checked too."""
    argv = shlex.split(command)
    done: Ran | subprocess.CompletedProcess[str]
    if argv[0] == "tierscore":
        done = tierscore_here(*argv[1:], cwd=workdir)
    else:
        argv[0] = str(TIERSCORE)
        done = subprocess.run(argv, cwd=workdir, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    if "--out -" in command:
        assert done.stdout.startswith("customer_id,")
    elif argv[1] == "sample":
        out = workdir / argv[argv.index("--out") + 1]
        assert (out / "balances").is_dir() and (out / "transactions").is_dir()
    elif "--out" in command:
        out = workdir / argv[argv.index("--out") + 1]
        assert (out / "manifest.json").is_file()


@pytest.mark.spark
@pytest.mark.parametrize("command", [c for c in _tierscore_commands() if SPARK in c])
def test_readme_spark_command_runs(command: str, spark: Any, tmp_path: Path) -> None:
    """The README's Spark commands, in this process on the shared session (a JVM of
    their own cost 45-70 s of the suite's time; a fresh process's start is the Spark
    failure test's), in a copy of the sample data. Each writes the files the same
    command writes on the polars engine (this was test_spark_engine's own Spark run of the
    sample, with --no-report)."""
    shutil.copytree(ROOT / "sample_data", tmp_path / "sample_data")
    argv = shlex.split(command)[1:]
    out = argv.index("--out") + 1
    assert tierscore_here(*argv, cwd=tmp_path).returncode == 0
    spark_out = tmp_path / argv[out]
    assert (spark_out / "manifest.json").is_file()
    engine = argv.index("--engine")
    polars = [*argv[:engine], *argv[engine + 2 :]]
    polars[polars.index("--out") + 1] = "out-polars"
    assert tierscore_here(*polars, cwd=tmp_path).returncode == 0
    for name in ("scores.csv", "summary.json", "rejects.csv"):
        polars_file = tmp_path / "out-polars" / name
        assert (spark_out / name).read_bytes() == polars_file.read_bytes(), name
