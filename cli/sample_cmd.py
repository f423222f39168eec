"""``tierscore sample``: write a synthetic export to try or benchmark tierscore on."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated

import typer

from tierscore.scoring.errors import ConfigError
from tierscore.scoring.sample import write_sample

from .errors import err
from .options import one_of

Count = Annotated[int, typer.Option(metavar="N", help="How many customers.")]
Folder = Annotated[
    Path, typer.Option("--out", "-o", metavar="DIR", help="Folder for balances/ and transactions/.")
]
Format = Annotated[
    str, typer.Option("--format", **one_of("--format", "parquet", "csv"), help="File format.")
]
Seed = Annotated[int, typer.Option(metavar="N", help="Random seed: same seed, same files.")]
Codes = Annotated[
    str, typer.Option("--rules", "-r", metavar="NAME|FILE", help="Rule set whose codes to use.")
]


def sample(
    customers: Count,
    out: Folder,
    format_: Format = "parquet",
    seed: Seed = 1,
    rules: Codes = "icbc-star",
) -> None:
    """Generate a synthetic 2026H1 export (score it with --period 2026H1)."""
    if customers < 1:
        raise ConfigError("must be at least 1", key="--customers")
    clock = time.perf_counter()
    counts = write_sample(out, customers, format_, seed, rules=rules)
    err.print(
        f"wrote {counts['customers']:,} customers, {counts['balances']:,} balance rows and "
        f"{counts['transactions']:,} transactions to {out} in {time.perf_counter() - clock:.1f}s",
        markup=False,
    )
