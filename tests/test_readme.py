"""Every command the README shows runs here, so the documentation cannot rot."""

from __future__ import annotations

import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

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


@pytest.mark.parametrize("command", _tierscore_commands())
def test_readme_command_runs(command: str, tmp_path: Path) -> None:
    shutil.copytree(ROOT / "sample_data", tmp_path / "sample_data")
    argv = shlex.split(command)
    argv[0] = str(TIERSCORE)
    done = subprocess.run(argv, cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    if "--out -" in command:
        assert done.stdout.startswith("customer_id,")
    elif "--out" in command:
        out = tmp_path / argv[argv.index("--out") + 1]
        assert (out / "manifest.json").is_file()
