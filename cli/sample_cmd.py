"""``tierscore sample``: write a synthetic export to try or benchmark tierscore on."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated

import typer

from tierscore.scoring.errors import ConfigError
from tierscore.scoring.sample import write_sample

from .errors import err


def sample(
    customers: Annotated[int, typer.Option(help="How many customers.")],
    out: Annotated[Path, typer.Option(help="Folder for balances/ and transactions/.")],
    format_: Annotated[str, typer.Option("--format", help="parquet or csv.")] = "parquet",
    seed: Annotated[int, typer.Option(help="Random seed: same seed, same files.")] = 1,
    rules: Annotated[str, typer.Option(help="Rule set whose codes to use.")] = "icbc-star",
) -> None:
    """Generate a synthetic 2026H1 export (score it with --period 2026H1)."""
    if format_ not in ("parquet", "csv"):
        raise ConfigError("must be parquet or csv", key="--format")
    if customers < 1:
        raise ConfigError("must be at least 1", key="--customers")
    clock = time.perf_counter()
    counts = write_sample(out, customers, format_, seed, rules=rules)
    err.print(
        f"wrote {counts['customers']:,} customers, {counts['balances']:,} balance rows and "
        f"{counts['transactions']:,} transactions to {out} in {time.perf_counter() - clock:.1f}s",
        markup=False,
    )
