"""Rich output for the terminal.

A command's answer (``rules``, ``validate``, ``explain``) goes to stdout, so it can be
piped or saved; ``score``'s run report and every message go to stderr (``err``), so
``score --out -`` can carry CSV on stdout.

Text from the data or a rule file (codes, rejected values, labels) is shown ``plain``: rich
passes escape sequences through, so a code holding ``ESC]0;…`` would retitle or
repaint the operator's terminal; and one huge value would scroll it for minutes.
"""

from __future__ import annotations

import errno
import json
import os
import re
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import polars as pl
from rich.cells import cell_len
from rich.console import Console
from rich.table import Table
from rich.text import Text

from .errors import err, is_broken_pipe, stdout_closed

SHOWN_CHARS = 200  # a longer value is cut in the middle; the files have it whole
# C0 and C1 controls, DEL, and the bidirectional overrides that reorder what is shown
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def inert(value: object) -> str:
    """``value`` as text that cannot drive the terminal: controls written as escapes."""
    return _CONTROL.sub(lambda m: ascii(m.group())[1:-1], str(value))


def plain(value: object) -> str:
    """A value from the data as inert text, cut to ``SHOWN_CHARS``."""
    text = inert(value)
    if len(text) <= SHOWN_CHARS:
        return text
    half = SHOWN_CHARS // 2
    return f"{text[:half]}…{text[-(SHOWN_CHARS - half - 1) :]}"


def cell(value: object) -> Text:
    """A table cell from the data: ``plain``, and never read as rich markup (a cell
    ``[link=…]`` would otherwise be a live link in the terminal)."""
    return Text(plain(value))


# --- a command's answer, on stdout ---------------------------------------------------

WIDE = 160  # stdout that is no terminal and no COLUMNS (a file, a pipe): long lines
PROSE_FOLD = 10  # a label may be broken past this many cells; ids, codes, numbers never
_PAD = 2  # a cell's padding: rich's one space either side
# JSON leaves these raw with ensure_ascii=False; as \\u escapes they are the same JSON
_JSON_INERT = re.compile("[\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def terminal() -> Console:
    """The console for a command's answer, on stdout, sized when the command runs: the
    terminal's width, or ``COLUMNS`` when given (``COLUMNS=80 tierscore …``), else
    ``WIDE``: a pipe has no width, and rich would otherwise assume 80."""
    sized = sys.stdout.isatty() or os.environ.get("COLUMNS", "").isdigit()
    return _Answer(highlight=False, emoji=False, width=None if sized else WIDE)


class _Answer(Console):
    def on_broken_pipe(self) -> None:
        """Rich's own ends the process with exit 1; ``answering`` ends it with 0, as
        ``score --out - | head`` does: the reader had what it wanted."""
        raise BrokenPipeError(errno.EPIPE, "the reader of stdout went away")


@contextmanager
def answering() -> Iterator[None]:
    """Print a command's answer; when the reader of stdout goes away (``| head``), stop
    quietly, as ``score --out -`` does, rather than end in "unexpected error"."""
    try:
        yield
    except OSError as exc:
        if not is_broken_pipe(exc):
            raise
        stdout_closed()


def print_json(data: object) -> None:
    """One JSON document on stdout. Chinese stays readable (no ``\\u`` for it), but the
    C1 controls and bidi overrides JSON allows raw are escaped: the document is as inert
    on a terminal as the tables are. Decimals are expected as strings already."""
    text = json.dumps(data, ensure_ascii=False, indent=2)
    sys.stdout.write(_JSON_INERT.sub(lambda m: f"\\u{ord(m.group()):04x}", text) + "\n")
    sys.stdout.flush()


@dataclass(frozen=True)
class Col:
    """A column of ``fitted``: ``whole`` text (ids, codes, numbers) is never broken inside
    a word; prose (a label) may be, past ``PROSE_FOLD`` cells. Numbers go ``right``."""

    header: str
    right: bool = False
    whole: bool = True


def fitted(
    width: int,
    title: str,
    cols: Sequence[Col],
    rows: Sequence[Sequence[object]],
    caption: str | None = None,
) -> Table:
    """A table of ``width`` columns at most that cuts no number, id or code.

    As it is when it fits; else with columns narrowed, wrapping at spaces only, when
    each still holds its longest word (a label first whole, then folded past
    ``PROSE_FOLD``); else each row stacked as field/value lines. Left to itself, rich
    narrows the widest column below its longest word, and folds or ellipsizes
    ``12345.67`` into ``1234…``. Cells are made ``inert`` here, not cut: a caller cuts
    values from the data with ``plain``."""
    cells = [[inert("" if v is None else v) for v in row] for row in rows]
    room = width - len(cols) - 1  # the borders
    widths: list[int | None] = [None] * len(cols)
    spans = [_span(col, [row[i] for row in cells], False) for i, col in enumerate(cols)]
    if sum(most for _, most in spans) > room:
        if sum(least for least, _ in spans) > room:  # a label may fold, then
            spans = [_span(col, [row[i] for row in cells], True) for i, col in enumerate(cols)]
        if sum(least for least, _ in spans) > room:
            return _stacked(width, title, cols, cells, caption)
        widths = list(_share(spans, room))
    table = _framed(min(width, _widest(title, caption) + 4), title, caption)
    for col, fixed in zip(cols, widths, strict=True):
        table.add_column(Text(col.header), justify="right" if col.right else "left",
                         overflow="fold", width=fixed)  # fmt: skip
    for row in cells:
        table.add_row(*(Text(value) for value in row))
    return table


def _span(col: Col, texts: list[str], fold: bool) -> tuple[int, int]:
    """The narrowest and widest the column can be, padding included: its longest word
    (of a label, at most ``PROSE_FOLD`` when it may ``fold``) and header word; its
    longest cell."""
    word = max((cell_len(w) for text in texts for w in text.split()), default=0)
    word = min(word, PROSE_FOLD) if fold and not col.whole else word
    least = max(word, *(cell_len(w) for w in col.header.split()), 1)
    most = max(cell_len(text) for text in [col.header, *texts])
    return least + _PAD, max(least, most) + _PAD


def _share(spans: list[tuple[int, int]], room: int) -> list[int]:
    """Content widths: each column its least, and the room left shared in proportion to
    what each would take beyond it (which adds up to more than the room)."""
    spare = room - sum(least for least, _ in spans)
    slack = [most - least for least, most in spans]
    extra = [spare * s // sum(slack) for s in slack]
    for i in sorted(range(len(spans)), key=lambda i: -slack[i])[: spare - sum(extra)]:
        extra[i] += 1  # the remainder of the division, to the widest first
    return [least + more - _PAD for (least, _), more in zip(spans, extra, strict=True)]


def _stacked(
    width: int, title: str, cols: Sequence[Col], cells: list[list[str]], caption: str | None
) -> Table:
    """Each row as field/value lines, rows apart: what fits when the columns cannot
    stand side by side. As wide as its longest line, title and caption, up to ``width``;
    empty fields are left out."""
    key = max(cell_len(col.header) for col in cols)
    value = max((cell_len(text) for row in cells for text in row), default=0)
    table = _framed(min(width, max(key + value + 7, _widest(title, caption) + 4)), title,
                    caption, stacked=True)  # fmt: skip
    table.add_column(width=key, style="bold")
    table.add_column(overflow="fold", ratio=1)  # the rest of the table's width
    for i, row in enumerate(cells):
        if i:
            table.add_section()
        for col, text in zip(cols, row, strict=True):
            if text:
                table.add_row(Text(col.header), Text(text))
    return table


def _widest(title: str, caption: str | None) -> int:
    return max(cell_len(title), cell_len(caption or ""))


def _framed(least: int, title: str, caption: str | None, stacked: bool = False) -> Table:
    """A table ``least`` wide at least (rich wraps the title and caption at the table's
    width, a short table would set a title one word a line); a ``stacked`` one that
    wide exactly, its value column taking what the field names leave."""
    return Table(title=Text(inert(title)), caption=Text(inert(caption)) if caption else None,
                 show_header=not stacked, min_width=least,
                 width=least if stacked else None)  # fmt: skip


def tier_table(summary: dict[str, Any]) -> Table:
    window = summary["window"]
    title = (
        f"{summary['ruleset']['name']} {window['label']} "
        f"({window['start']}..{window['end']}, {window['days']} days)"
    )
    table = Table(title=cell(title))
    table.add_column("tier")
    for name in ("customers", "share", "points", "daily-average assets"):
        table.add_column(name, justify="right")
    for row in summary["tiers"]:
        table.add_row(
            cell(row["tier"]),
            f"{row['customers']:,}",
            f"{row['share']:.2%}",
            _money(row["points"]),
            _money(row["assets_daily_average"]),
        )
    table.add_section()
    table.add_row("total", f"{summary['customers']:,}", "", "", "")
    return table


def _money(text: str) -> str:
    whole, _, cents = text.partition(".")
    return f"{int(whole):,}.{cents or '00'}"


def show_run(summary: dict[str, Any], files: dict[str, Path] | None, rejects: int) -> None:
    err.print(tier_table(summary))
    rows = summary["rows"]
    for name, counts in rows.items():
        err.print(
            f"{name}: {counts['read']:,} rows read, {counts['used']:,} used, "
            f"{counts['outside_window']:,} outside the window, {counts['excluded']:,} excluded, "
            f"{counts['unmapped']:,} unmapped, {counts['duplicate']:,} duplicate, "
            f"{counts['rejected']:,} rejected",
            markup=False,
        )
    _show_checks(summary)
    _show_unmapped(summary, files or {})
    if rejects:
        err.print(f"{rejects:,} problem(s) in rejected rows", markup=False)
    _show_views(summary)
    _show_files(files or {})


def _show_checks(summary: dict[str, Any]) -> None:
    """Overdrawn account-days counted as 0 (``negative_balances = "zero"``), and the
    run's warnings, as summary.json has them."""
    overdrawn = summary.get("overdrawn")
    if overdrawn:
        err.print(
            f"overdrawn: {overdrawn['account_days']:,} account-days of "
            f"{overdrawn['accounts']:,} accounts counted as 0",
            markup=False,
        )
    for warning in summary.get("warnings") or []:
        err.print(f"warning: {warning}", markup=False)


def _show_unmapped(summary: dict[str, Any], files: dict[str, Path]) -> None:
    """The codes summary.json names (most rows first), and how many more there are."""
    rest = summary.get("unmapped_codes_rest") or {}
    where = files.get("unmapped_codes.csv")
    for name, codes in summary["unmapped_codes"].items():
        more = rest.get(name) or {"codes": 0, "rows": 0}
        if not codes and not more["codes"]:
            continue
        listed = ", ".join(f"{plain(code)} ({n:,})" for code, n in codes.items())
        if more["codes"]:
            listed += f", and {more['codes']:,} more codes ({more['rows']:,} rows)"
            listed += f": every code is in {where}" if where else ""
        err.print(f"unmapped {name} codes (scored nothing): {listed}", markup=False)


def _show_views(summary: dict[str, Any]) -> None:
    if "migration" in summary:
        moved = summary["migration"]["movement"]
        listed = ", ".join(f"{n:,} {kind}" for kind, n in moved.items())
        err.print(f"against {summary['migration']['previous']}: {listed}", markup=False)
    near = summary.get("upgrade")
    if near and near["customers"]:
        err.print(
            f"{near['customers']:,} customer(s) within {near['pct']}% of the next tier",
            markup=False,
        )


def _show_files(files: dict[str, Path]) -> None:
    """One line per file, but one line per split folder (it may hold hundreds)."""
    folders: dict[str, int] = {}
    for name, path in files.items():
        if "/" in name:
            top = name.split("/", 1)[0]
            folders[top] = folders.get(top, 0) + 1
            continue
        err.print(f"wrote {name}: {path}", markup=False)
    for top, count in folders.items():
        err.print(f"wrote {count:,} list(s) under {top}/", markup=False)


COUNTS = ("read", "valid", "duplicate", "rejected")


def show_inspection(counts: dict[str, dict[str, int]], rejects: pl.DataFrame, limit: int) -> None:
    """``validate``'s answer, on stdout: rows per input and the first rejects."""
    console = terminal()
    cols = [Col("input"), *(Col(name, right=True) for name in COUNTS)]
    rows = [[plain(name), *(f"{row[k]:,}" for k in COUNTS)] for name, row in counts.items()]
    console.print(fitted(console.width, "inputs", cols, rows))
    if not rejects.height:
        console.print("no rejected rows")
        return
    title = f"first {min(limit, rejects.height):,} of {rejects.height:,} problems"
    cols = [Col(name, right=name == "line", whole=name != "reason") for name in rejects.columns]
    rows = [[plain("" if v is None else v) for v in row] for row in rejects.head(limit).rows()]
    console.print(fitted(console.width, title, cols, rows))


def inspection_data(
    counts: dict[str, dict[str, int]], rejects: pl.DataFrame, limit: int, breaches: list[str]
) -> dict[str, Any]:
    """``validate --json``: the counts, the first ``limit`` rejects as ``rejects.csv`` has
    them (line a number, the value as read or null), and the reject-limit breaches."""
    return {
        "inputs": {name: {k: row[k] for k in COUNTS} for name, row in counts.items()},
        "rejects": {"total": rejects.height, "first": rejects.head(limit).to_dicts()},
        "over_limit": breaches,
    }
