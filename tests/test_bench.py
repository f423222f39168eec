"""The README's benchmark command runs (on a tiny sample) and the DuckDB peer agrees.

Timings are only printed, never asserted: speed is measured by the benchmark."""

from __future__ import annotations

import json
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

pytest.importorskip("duckdb")


def test_readme_benchmark_command_on_a_small_sample(tmp_path: Path) -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    line = next(x for x in re.findall(r"^.*bench/bench\.py.*$", readme, flags=re.M))
    argv = shlex.split(line.split("&&", 1)[1])
    assert argv[:2] == ["python", "bench/bench.py"]
    argv[0] = sys.executable
    argv[argv.index("--customers") + 1] = "1500"
    argv[argv.index("--workdir") + 1] = str(tmp_path)
    done = subprocess.run([*argv, "--repeat", "1"], cwd=ROOT, capture_output=True, text=True,
                          timeout=600)  # fmt: skip
    assert done.returncode == 0, done.stderr
    results = json.loads((tmp_path / "results-1500-parquet.json").read_text(encoding="utf-8"))
    agreement = json.dumps(results)
    assert '"differ_tier": 0' in agreement and '"differ_points": 0' in agreement


def test_steps_script_times_every_step(tmp_path: Path) -> None:
    from tierscore.scoring.sample import write_sample

    write_sample(tmp_path, customers=300, seed=3)
    done = subprocess.run([sys.executable, "bench/steps.py", str(tmp_path)], cwd=ROOT,
                          capture_output=True, text=True, timeout=600)  # fmt: skip
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["customers"] > 0
    steps = {"balances: validate, measure, fold", "transactions: validate, measure, fold",
             "scores and summaries"}  # fmt: skip
    assert steps <= set(report["seconds"])
