"""What each measuring path saves: one export measured by every path it can take.

    python bench/paths.py /tmp/bench/data-1000000-parquet-customer

Each run is ``pipeline.run`` with ``Job.strategies`` naming a path per input
(``measures.STRATEGIES``; none: the path a first look chooses), in a fresh
subprocess, so that its wall time and peak RSS (``wait4``) are its own. The
export should be in key order (``bench.py --layout customer``): only there can
every path be taken, and only there does the one pass have anything to save.
Every run must give the same scores (their sha256 is compared).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time

RUNS = [  # (balances, transactions): None is the path chosen
    (None, None),
    ("sorted", None),
    (None, "ids searched"),
]

CHILD = """
import hashlib, json, sys
from tierscore.scoring.pipeline import Job, run
from tierscore.scoring.window import parse_window
folder, balances, transactions = sys.argv[1], sys.argv[2], sys.argv[3]
job = Job(folder + "/balances", folder + "/transactions", parse_window("2026H1"))
job.strategies = {k: v for k, v in (("balances", balances), ("transactions", transactions)) if v}
result = run(job)
digest = hashlib.sha256(result.scores.write_csv().encode()).hexdigest()
print(json.dumps({"measuring": result.measuring, "compute": result.timings["compute"],
                  "scores": digest}))
"""


def measure(folder: str, balances: str | None, transactions: str | None) -> dict[str, object]:
    """One run in its own process: wall time, peak RSS and what it reported."""
    args = [sys.executable, "-c", CHILD, folder, balances or "", transactions or ""]
    start = time.perf_counter()
    child = subprocess.Popen(args, stdout=subprocess.PIPE, text=True)
    _, status, usage = os.wait4(child.pid, 0)
    wall = time.perf_counter() - start
    assert child.stdout is not None
    out = json.loads(child.stdout.read())
    if status != 0:
        raise SystemExit(f"run failed: {balances}, {transactions}")
    return {**out, "wall": wall, "rss_gib": usage.ru_maxrss / 2**20}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", help="an export with balances/ and transactions/ folders")
    folder = parser.parse_args().folder
    digests = set()
    print("| balances | transactions | wall | compute | peak RSS |")
    print("|---|---|---|---|---|")
    for balances, transactions in RUNS:
        found = measure(folder, balances, transactions)
        digests.add(found["scores"])
        how = found["measuring"]
        print(
            f"| {how['balances']} | {how['transactions']} | {found['wall']:.2f} s "
            f"| {found['compute']:.2f} s | {found['rss_gib']:.2f} GiB |"
        )
    if len(digests) != 1:
        raise SystemExit("the paths gave different scores")
    print("\nevery path gave the same scores")


if __name__ == "__main__":
    main()
