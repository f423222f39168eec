"""The examples every command's help ends with, kept in one table.

Each runs as written from the repository root on ``sample_data`` (and the shipped rule
sets), and tests/test_cli_conventions.py runs them all from the help text itself, so an
example cannot rot. They are wrapped with shell line continuations to fit 80 columns,
so that a copied example still runs.
"""

from __future__ import annotations

_IN = "-b sample_data/balances.csv -t sample_data/transactions.csv"
_CUSTOMERS = "--customers sample_data/customers.csv"

EXAMPLES: dict[str, list[str]] = {
    "": [
        f"tierscore score {_IN} -p 2026H1 -o out",
        f"tierscore explain C1 {_IN} -p 2026H1",
        "tierscore rules list",
    ],
    "score": [
        f"tierscore score {_IN} -p 2026H1 -o out",
        f"tierscore score {_IN} -p 2026-06 --months 3 -r pyramid -q -o -",
        f"tierscore score {_IN} {_CUSTOMERS} --previous sample_data/previous_scores.csv "
        "-p 2026H1 --split branch --xlsx -o out-analyst",
    ],
    "explain": [
        f"tierscore explain C1 {_IN} -p 2026H1",
        f"tierscore explain C1 {_IN} -p 2026h1 -r card-tier --json",
    ],
    "validate": [
        f"tierscore validate {_IN}",
        f"tierscore validate {_IN} -r icbc-star --show 5",
    ],
    "compare": [
        f"tierscore compare -r icbc-star -r icbc-star-strict {_IN} -p 2026H1 -o out-compare",
        f"tierscore compare -r icbc-star -r pyramid {_IN} {_CUSTOMERS} -p 2026H1 "
        "-o out-compare-branches",
    ],
    "accumulate": [
        f"tierscore accumulate {_IN} --month 2026-01 --ledger ledger",
        f"tierscore accumulate {_IN} --month 2026-02 --to 2026-02-15 --ledger ledger -r icbc-star",
    ],
    "ledger": [
        f"tierscore accumulate {_IN} --month 2026-01 --ledger ledger",
        "tierscore ledger status ledger",
    ],
    "ledger status": [
        f"tierscore accumulate {_IN} --month 2026-01 --ledger ledger",
        "tierscore ledger status ledger --json",
    ],
    "rules": ["tierscore rules list", "tierscore rules show pyramid"],
    "rules list": ["tierscore rules list", "tierscore rules show icbc-star"],
    "rules show": ["tierscore rules show icbc-star", "tierscore rules show rules/pyramid.toml"],
    "rules check": [
        "tierscore rules check icbc-star",
        "tierscore rules check rules/card-tier.toml",
    ],
    "sample": [
        "tierscore sample --customers 2000 -o synthetic",
        "tierscore score -b synthetic/balances -t synthetic/transactions -p 2026H1 "
        "-o synthetic-scores",
        "tierscore sample --customers 500 --format csv --seed 7 -o synthetic-csv",
    ],
    "version": ["tierscore version", "tierscore -V"],
}

# 80 columns, less the help's padding (1 each side) and the " \" of a continued line
_WIDTH = 76


def wrapped(command: str) -> str:
    """One example as shell lines of at most 78 characters, continued with a backslash; an
    option stays on the line of its value."""
    lines: list[str] = []
    for unit in _units(command.split()):
        if lines and len(lines[-1]) + 1 + len(unit) <= _WIDTH:
            lines[-1] += f" {unit}"
        else:
            lines.append(("      " if lines else "  ") + unit)
    return " \\\n".join(lines)


def _units(words: list[str]) -> list[str]:
    """The words, an option joined with the value after it (``-o -`` included)."""
    units: list[str] = []
    for word in words:
        joins = units and units[-1].startswith("-") and " " not in units[-1]
        if joins and (word == "-" or not word.startswith("-")):
            units[-1] += f" {word}"
        else:
            units.append(word)
    return units


def epilog(command: str, *before: str) -> str:
    """The help's closing text: ``before`` (paragraphs, e.g. the exit codes), then the
    command's examples. It starts with an empty line: typer dedents the text as a
    docstring (the lines after the first), which would take the examples' indent."""
    examples = "\n".join(wrapped(example) for example in EXAMPLES[command])
    return "\n" + "\n\n".join([*before, "Examples:", examples])
