"""Make ``previous_scores.csv``: the scores of an earlier run, for ``--previous``.

It is tierscore's own 2025H2 scores of this sample, edited so that every kind of
movement occurs: customers C0271..C0285 are left out (they show as ``new``) and
three customers who have since left the bank are added (C0901..C0903, ``gone``).

    tierscore score --balances sample_data/balances.csv \\
        --transactions sample_data/transactions.csv --period 2025H2 --out - \\
        | python sample_data/make_previous.py > sample_data/previous_scores.csv

A test runs exactly this and compares the result with the committed file.
"""

from __future__ import annotations

import csv
import sys

NEW = {f"C{n:04d}" for n in range(271, 286)}
GONE = {"C0901": "C0013", "C0902": "C0038", "C0903": "C0002"}  # gone id: row it copies


def main() -> None:
    reader = csv.DictReader(sys.stdin)
    rows = list(reader)
    by_id = {row["customer_id"]: row for row in rows}
    kept = [row for row in rows if row["customer_id"] not in NEW]
    kept += [{**by_id[source], "customer_id": gone} for gone, source in GONE.items()]
    kept.sort(key=lambda row: row["customer_id"])
    writer = csv.DictWriter(sys.stdout, fieldnames=reader.fieldnames, lineterminator="\n")
    writer.writeheader()
    writer.writerows(kept)


if __name__ == "__main__":
    main()
