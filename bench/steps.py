"""Where a run's time goes: each step of the polars engine timed on its own.

    python bench/steps.py /tmp/bench/data-1000000-parquet [--rules icbc-star]
        [--strategy balances=sorted] [--strategy "transactions=one pass"]

Runs the steps ``pipeline.run`` runs for one part (read; then each input's
measuring, ``measures.measure_in_steps`` itself: usually one pass that
validates, measures and folds; then scores and summaries) with a clock around
each, and prints seconds per step as JSON. For finding what to make faster;
``bench.py`` is what measures a run end to end.
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Iterator
from contextlib import contextmanager

from tierscore.scoring import pipeline
from tierscore.scoring.plan import Plan, compile_plan
from tierscore.scoring.rules import load_rules
from tierscore.scoring.sources import Reader
from tierscore.scoring.window import parse_window


class Clock:
    """Wall seconds per step, and CPU seconds (both cores together: a step whose CPU
    is near twice its wall keeps both cores busy)."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}
        self.cpu: dict[str, float] = {}

    @contextmanager
    def step(self, name: str) -> Iterator[None]:
        start, cpu = time.perf_counter(), time.process_time()
        yield
        self.seconds[name] = round(time.perf_counter() - start, 2)
        self.cpu[name] = round(time.process_time() - cpu, 2)


def measure(name: str, plan: Plan, read: pipeline._Input, clock: Clock) -> pipeline.Measured:
    with clock.step(f"{name}: validate, measure, fold"):  # the long way too, if taken
        folded, bad = read.measure(name, plan)
        folded = pipeline.exact_folds(plan, name, read, folded)
    return pipeline.Measured(folded, bad, read.files)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("data", help="a folder with balances/ and transactions/ (bench.py's export)")
    ap.add_argument("--rules", default="icbc-star")
    ap.add_argument("--period", default="2026H1")
    ap.add_argument(
        "--strategy",
        action="append",
        default=[],
        metavar="INPUT=PATH",
        help="measure an input by this path (measures.STRATEGIES), not the one chosen",
    )
    args = ap.parse_args()
    plan = compile_plan(load_rules(args.rules), parse_window(args.period))
    clock = Clock()
    with Reader(None, None) as reader:
        with clock.step("read: open, checksum"):
            inputs = pipeline.read_inputs(
                reader, f"{args.data}/balances", f"{args.data}/transactions"
            )
        for name, path in (given.split("=", 1) for given in args.strategy):
            inputs[name].named = path
        measured = {name: measure(name, plan, read, clock) for name, read in inputs.items()}
        with clock.step("scores and summaries"):
            result = pipeline.result_of(plan, measured)
    clock.seconds["total"] = round(sum(clock.seconds.values()), 2)
    clock.cpu["total"] = round(sum(clock.cpu.values()), 2)
    out = {"customers": result.scores.height, "seconds": clock.seconds, "cpu_seconds": clock.cpu}
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
