"""Many small files of one input (issue #17) are read by one scan per header or schema,
and give what the same rows in one file give: the same scores and summary, and the
same rejects at each file's own lines; every file hashed, counted and in the manifest."""

from __future__ import annotations

import hashlib
import json
import random
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import polars as pl
import pytest

from tierscore.scoring import csv_bytes, sources
from tierscore.scoring.errors import InputError
from tierscore.scoring.pipeline import Job, Result, read_inputs, run
from tierscore.scoring.sources import FILE_COL, LINE_COL, Reader, TableSpec
from tierscore.scoring.window import parse_window

from .conftest import random_csv, tierscore_here

SAMPLE = Path(__file__).resolve().parents[1] / "sample_data"
H1 = parse_window("2026H1")
BAL = ("customer_id", "account_id", "product", "date", "balance")
TXN = ("customer_id", "txn_id", "date", "txn_type", "amount", "fee", "fee_ratio")

# A record: its fields in the canonical order, or a line as written (an odd row).
Record = tuple[str, ...] | str


@dataclass
class Split:
    """One input as many files and as one file of the same rows, and where each line of
    the one file is in the many: (file, line)."""

    folder: Path
    whole: Path
    files: list[Path] = field(default_factory=list)
    rows: list[int] = field(default_factory=list)  # data rows of each file
    lines: dict[int, tuple[str, int]] = field(default_factory=dict)


def _quoted(value: str) -> str:
    return '"' + value.replace('"', '""') + '"' if any(c in value for c in ',"\n') else value


def _render(record: Record, order: list[int]) -> str:
    return record if isinstance(record, str) else ",".join(_quoted(record[i]) for i in order)


def _pool(name: str, columns: tuple[str, ...]) -> list[Record]:
    frame = pl.read_csv(SAMPLE / f"{name}.csv", infer_schema=False).select(columns)
    return [tuple(v or "" for v in row) for row in frame.iter_rows()]


def _with_edges(per_file: list[list[Record]], columns: tuple[str, ...]) -> None:
    """Rows a file can go wrong with, each in a file of its own (see ``_csv_split``)."""
    width, id_col = len(columns), 1  # account_id or txn_id
    last = columns.index("balance" if "balance" in columns else "amount")
    date = columns.index("date")

    def changed(record: Record, index: int, value: str) -> tuple[str, ...]:
        assert not isinstance(record, str)
        return tuple(value if i == index else v for i, v in enumerate(record))

    per_file[6].clear()  # a header and no row
    seven = per_file[7]  # an id with a newline inside quotes, then a bad row below it
    seven[0] = changed(seven[0], id_col, "X-\nQUOTED")
    seven[2] = changed(seven[2], last, "-5.00x")
    eight = per_file[8]  # a short first row, a row with a field too many
    eight[0] = ",".join(eight[0][:3])
    eight[3] = ",".join([*eight[3], "EXTRA"])
    nine = per_file[9]
    nine[1] = changed(nine[1], date, "2026-13-01")
    nine[2] = changed(nine[2], 0, "  ")
    per_file[10][0] = changed(per_file[10][0], 0, "客户甲")  # the file is GB18030
    # one key, two files, two values: both rows conflict
    per_file[11].append(changed(per_file[11][0], id_col, "DUP-KEY"))
    per_file[12].append(changed(per_file[11][-1], last, "7.00"))
    per_file[13].insert(1, "")  # a blank line: a row of one field
    assert all(len(r) == width for f in (10, 11, 12) for r in per_file[f])


def _csv_split(tmp: Path, name: str, columns: tuple[str, ...], files: int) -> Split:
    """The sample's rows in ``files`` files in order, some with odd rows (``_with_edges``),
    some as written by other exports: CRLF (3), a byte order mark (4), no newline at
    the end (5), GB18030 (10), and every 7th its columns in another order."""
    rows = _pool(name, columns)
    size = -(-len(rows) // files)
    per_file = [rows[i * size : (i + 1) * size] for i in range(files)]
    _with_edges(per_file, columns)
    split = Split(tmp / name, tmp / f"{name}-whole.csv")
    split.folder.mkdir()
    whole_line = 2
    canonical = list(range(len(columns)))
    for index, records in enumerate(per_file):
        plain = all(not isinstance(r, str) for r in records) and index not in range(6, 14)
        order = canonical[::-1] if index % 7 == 2 and plain else canonical
        end = "\r\n" if index == 3 else "\n"
        texts = [_render(r, order) for r in records]
        text = end.join([",".join(columns[i] for i in order), *texts])
        text = ("\ufeff" if index == 4 else "") + text + ("" if index == 5 else end)
        path = split.folder / f"part-{index:04d}.csv"
        path.write_bytes(text.encode("gb18030" if index == 10 else "utf-8"))
        split.files.append(path)
        split.rows.append(len(records))
        line = 2
        for record in texts:
            split.lines[whole_line] = (str(path), line)
            line += 1 + record.count("\n")
            whole_line += 1 + record.count("\n")
    every = [_render(r, canonical) for records in per_file for r in records]
    split.whole.write_text("\n".join([",".join(columns), *every]) + "\n", encoding="utf-8")
    return split


def _typed(frame: pl.DataFrame) -> pl.DataFrame:
    money = [c for c in ("balance", "amount", "fee") if c in frame.columns]
    ratio = [pl.col("fee_ratio").cast(pl.Decimal(9, 6))] if "fee_ratio" in frame.columns else []
    return frame.with_columns(
        pl.col("date").str.slice(0, 10).str.to_date(), pl.col(money).cast(pl.Decimal(18, 2)), *ratio
    )


def _parquet_split(tmp: Path, name: str, columns: tuple[str, ...], files: int) -> Split:
    """The sample's rows as typed Parquet in ``files`` files: every 7th with money as
    floats (another schema), a header-only file (6), and bad values (empty ids, a
    null date, a negative amount or a ratio above 1) in some others."""
    frame = pl.read_csv(SAMPLE / f"{name}.csv", infer_schema=False).select(columns)
    frame = _typed(frame).with_row_index("_n")
    bad = pl.col("_n").is_in([15, 16, 700, 2201, 2202])
    value = "amount" if "amount" in columns else "customer_id"
    worse = {"customer_id": pl.lit(""), "amount": -pl.col("amount")}[value]
    frame = frame.with_columns(
        pl.when(bad).then(worse).otherwise(pl.col(value)).alias(value),
        pl.when(pl.col("_n") == 41).then(None).otherwise(pl.col("date")).alias("date"),
    ).drop("_n")
    size = -(-frame.height // files)
    parts = [frame.slice(i * size, size) for i in range(files)]
    parts[6] = parts[6].head(0)
    split = Split(tmp / name, tmp / f"{name}-whole.parquet")
    split.folder.mkdir()
    whole_line = 0
    for index, part in enumerate(parts):
        path = split.folder / f"part-{index:04d}.parquet"
        floats = index % 7 == 2 and not part.select(pl.any_horizontal(bad_cells(part))).item()
        money = [c for c in ("balance", "amount", "fee") if c in columns]
        (part.with_columns(pl.col(money).cast(pl.Float64)) if floats else part).write_parquet(path)
        split.files.append(path)
        split.rows.append(part.height)
        for line in range(part.height):
            split.lines[whole_line] = (str(path), line)
            whole_line += 1
    pl.concat(parts).write_parquet(split.whole)
    return split


def bad_cells(part: pl.DataFrame) -> list[pl.Expr]:
    """A Float64 file shows a bad cell otherwise (1.5, not 1.50): none go in one."""
    checks = [(pl.col("customer_id") == "").any(), pl.col("date").is_null().any()]
    if "amount" in part.columns:
        checks.append((pl.col("amount") <= 0).any())
    return checks


def _splits(tmp: Path, fmt: str, files: int) -> tuple[Split, Split]:
    make = _csv_split if fmt == "csv" else _parquet_split
    return make(tmp, "balances", BAL, files), make(tmp, "transactions", TXN, files)


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _rejects(result: Result) -> list[tuple[Any, ...]]:
    return sorted(result.rejects.iter_rows())


def _mapped(result: Result, splits: tuple[Split, Split]) -> list[tuple[Any, ...]]:
    """The one-file run's rejects at the lines of the many files."""
    out = []
    for file, line, *rest in result.rejects.iter_rows():
        split = next(s for s in splits if str(s.whole) == file)
        out.append((*split.lines[line], *rest))
    return sorted(out)


def _runs(splits: tuple[Split, Split]) -> tuple[Result, Result]:
    bal, txn = splits
    many = run(Job(str(bal.folder), str(txn.folder), H1))
    whole = run(Job(str(bal.whole), str(txn.whole), H1))
    return many, whole


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
@pytest.mark.parametrize("held", [True, False])
def test_300_files_score_as_their_rows_in_one_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fmt: str, held: bool
) -> None:
    """Scores, summary and rejects alike, held in memory or streamed; every file with its
    own checksum and rows."""
    if not held:
        monkeypatch.setattr(sources, "HOLD_ROWS", 0)
    splits = _splits(tmp_path, fmt, 300)
    many, whole = _runs(splits)
    assert many.scores.equals(whole.scores)
    assert many.summary == whole.summary
    assert len(many.rejects) > 10
    assert _rejects(many) == _mapped(whole, splits)
    for split, name in zip(splits, ("balances", "transactions"), strict=True):
        files = many.inputs[name]
        assert [f.path for f in files] == [str(p) for p in split.files]
        assert [f.rows for f in files] == split.rows
        assert [f.sha256 for f in files] == [_sha256(p) for p in split.files]


def test_the_csv_edges_are_where_they_should_be(tmp_path: Path) -> None:
    """The rejects the edges make, at the lines a person finds them on (not only alike
    in both runs): after a quoted newline, a short first row, a blank line, a conflict
    across two files."""
    splits = _splits(tmp_path, "csv", 40)
    many, _ = _runs(splits)
    balances = {str(p) for p in splits[0].files}
    seen = {(Path(f).name, line, col) for f, line, col, *_ in _rejects(many) if f in balances}
    assert ("part-0007.csv", 5, "balance") in seen  # line 4 + the newline inside quotes
    assert ("part-0008.csv", 2, "(fields)") in seen  # a short first row
    assert ("part-0008.csv", 5, "(beyond the header)") in seen
    assert ("part-0013.csv", 3, "(fields)") in seen  # the blank line
    assert ("part-0009.csv", 3, "date") in seen
    assert ("part-0009.csv", 4, "customer_id") in seen
    rows = splits[0].rows
    assert ("part-0011.csv", rows[11] + 1, "balance") in seen  # the conflict, in both files
    assert ("part-0012.csv", rows[12] + 1, "balance") in seen


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_one_scan_gives_what_a_scan_a_file_gives(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fmt: str
) -> None:
    """The same result, to the rejects' files and lines and every file's manifest entry,
    whether 40 files are read one scan a file (as below ``MANY_FILES``) or together."""
    splits = _splits(tmp_path, fmt, 40)
    bal, txn = (str(s.folder) for s in splits)
    together = run(Job(bal, txn, H1))
    monkeypatch.setattr(sources, "MANY_FILES", 10**6)
    alone = run(Job(bal, txn, H1))
    assert together.scores.equals(alone.scores)
    assert together.rejects.equals(alone.rejects)
    assert together.summary == alone.summary
    manifest = [
        {n: [f.as_dict() for f in files] for n, files in r.inputs.items()}
        for r in (together, alone)
    ]
    assert manifest[0] == manifest[1]


def test_files_of_one_header_are_one_scan(tmp_path: Path) -> None:
    """300 CSV files are a scan for each header as written (the columns' order, the line
    end) and encoding, in the order of their first file; Parquet files a scan for each
    schema."""
    for fmt in ("csv", "parquet"):
        (tmp_path / fmt).mkdir()
        bal, txn = _splits(tmp_path / fmt, fmt, 300)
        with Reader() as reader:
            read = read_inputs(reader, str(bal.folder), str(txn.folder))
        batches = read["balances"].batches
        firsts = [Path(b.files[0].path).name for b in batches]
        sizes = [len(b.files) for b in batches]
        if fmt == "csv":  # 42 in reverse order, one CRLF, one GB18030; the BOM is no matter
            assert (firsts, sizes) == (["part-0000.csv", "part-0002.csv", "part-0003.csv",
                                        "part-0010.csv"], [256, 42, 1, 1])  # fmt: skip
        else:  # 43 with money as floats
            assert (firsts, sizes) == (["part-0000.parquet", "part-0002.parquet"], [257, 43])
        files = [f.path for b in batches for f in b.files]
        assert sorted(files) == [str(p) for p in bal.files]


def _cli(bal: Path, txn: Path, out: Path) -> Path:
    args = ["--balances", str(bal), "--transactions", str(txn), "--period", "2026H1"]
    done = tierscore_here(
        "score", *args, "--out", str(out), "--quiet", "--no-report", "--max-reject-rate", "0.01"
    )
    assert done.returncode == 0, done.stderr
    return out


def test_the_cli_scores_300_files_and_lists_them_in_the_manifest(tmp_path: Path) -> None:
    splits = _splits(tmp_path, "csv", 300)
    many = _cli(splits[0].folder, splits[1].folder, tmp_path / "many")
    whole = _cli(splits[0].whole, splits[1].whole, tmp_path / "whole")
    outs = [many, whole]
    assert (many / "scores.csv").read_bytes() == (whole / "scores.csv").read_bytes()
    summaries = [json.loads((o / "summary.json").read_text()) for o in outs]
    for summary in summaries:
        summary.pop("started_at", None)
    assert summaries[0] == summaries[1]
    rejects = pl.read_csv(many / "rejects.csv", infer_schema=False)
    assert rejects.height > 10 and set(rejects["file"]) <= {str(p) for s in splits for p in s.files}
    manifest = json.loads((many / "manifest.json").read_text())
    for split, name in zip(splits, ("balances", "transactions"), strict=True):
        listed = manifest["inputs"][name]
        assert len(listed) == 300
        assert [(e["path"], e["rows"]) for e in listed] == list(
            zip(map(str, split.files), split.rows, strict=True)
        )
        for entry, path in zip(listed, split.files, strict=True):
            assert entry["sha256"] == _sha256(path)
    assert manifest["inputs"]["balances"][10]["encoding"] == "gb18030"


# --- the lines of random files, one scan against a scan a file -------------------------


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("held", [True, False])
def test_random_files_read_together_as_one_by_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, seed: int, held: bool
) -> None:
    """Each row's file, line, field-count marks and cells are what reading its file on
    its own gives, whatever the quoting, field counts and line ends of its file and of
    the files before it. (A header with a newline inside quotes is read on its own.)"""
    if not held:
        monkeypatch.setattr(sources, "HOLD_ROWS", 0)
    rng = random.Random(seed)
    paths = []
    for index in range(40):
        path = tmp_path / f"{index:03d}.csv"
        text = random_csv(rng, 12)
        if index == 17:
            text = '"h\n0"' + text[2:]
        path.write_bytes(text.encode())
        paths.append(path)
    spec = TableSpec("t", ("h2", "h3", "h4"), ("h1",))
    with Reader() as reader:
        files, batches = reader.open_all(spec, paths)
        assert len(batches) < 40  # (files of one header and line end go together)
        alone_17 = [b for b in batches if b.files[0].path == str(paths[17])]
        assert len(alone_17) == 1 and len(alone_17[0].files) == 1
        together = pl.concat([b.frame for b in batches], how="diagonal_relaxed").collect()
    with Reader() as reader:
        alone = pl.concat(
            [reader.open(spec, p, str(p))[0] for p in paths], how="diagonal_relaxed"
        ).collect()
    columns = sorted(set(alone.columns) | set(together.columns))
    ordered = [FILE_COL, LINE_COL]
    together = together.select(
        pl.col(c) if c in together.columns else pl.lit(None) for c in columns
    )
    alone = alone.select(pl.col(c) if c in alone.columns else pl.lit(None) for c in columns)
    assert together.sort(ordered).equals(alone.sort(ordered).cast(together.schema))
    assert all(f.records is not None for f in files)  # (counted, to number the rows by)


# --- what must still stop the run ---------------------------------------------------


def _folder(tmp: Path, files: int) -> tuple[Path, Path]:
    bal, txn = tmp / "bal", tmp / "txn"
    bal.mkdir()
    txn.mkdir()
    for i in range(files):
        (bal / f"b{i:03d}.csv").write_text(f"{','.join(BAL)}\nC{i},A{i},CURRENT,2026-01-01,1.00\n")
        (txn / f"t{i:03d}.csv").write_text(f"{','.join(TXN)}\nC{i},T{i},2026-02-01,POS,5.00,,\n")
    return bal, txn


@pytest.mark.parametrize("held", [True, False])
def test_another_row_count_in_one_of_many_files_stops_the_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, held: bool
) -> None:
    """One scan gives rows their files and lines by each file's records: if polars read
    another count in one file, every file after it would be misnumbered."""
    if not held:
        monkeypatch.setattr(sources, "HOLD_ROWS", 0)
    bal, txn = _folder(tmp_path, 40)
    real = csv_bytes._Shaper.finish

    def miscounted(self: csv_bytes._Shaper) -> csv_bytes.Shape:
        shape = real(self)
        if self.shown.endswith("b007.csv"):
            shape.records = 2
        return shape

    monkeypatch.setattr(csv_bytes._Shaper, "finish", miscounted)
    with pytest.raises(InputError, match="2 records in the file but 1 rows read") as caught:
        run(Job(str(bal), str(txn), H1))
    assert caught.value.file == str(bal / "b007.csv")


def test_one_of_many_files_changing_during_the_run_stops_it(tmp_path: Path) -> None:
    bal, txn = _folder(tmp_path, 40)
    changed = txn / "t033.csv"

    class Appender:
        def started(self, stage: str, detail: str) -> None:
            if stage == "compute":
                with changed.open("a") as fh:
                    fh.write("C9,T9,2026-02-01,POS,5.00,,\n")

        def finished(self, stage: str, seconds: float, detail: str) -> None:
            pass

    with pytest.raises(InputError, match="changed while the run read it") as caught:
        run(Job(str(bal), str(txn), H1), Appender())
    assert caught.value.file == str(changed)


def test_more_files_than_ids_stop_the_run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sources, "MAX_FILES", 70)
    bal, txn = _folder(tmp_path, 40)
    with pytest.raises(InputError, match="more than 70 input files"):
        run(Job(str(bal), str(txn), H1))


def test_a_missing_column_in_many_files_names_a_file(tmp_path: Path) -> None:
    bal, txn = _folder(tmp_path, 40)
    for path in bal.iterdir():
        path.write_text(path.read_text().replace("balance", "amount", 1))
    with pytest.raises(InputError, match="missing required column") as caught:
        run(Job(str(bal), str(txn), H1))
    assert caught.value.file == str(bal / "b000.csv")


def test_the_bench_script_runs_and_checks_its_outputs(tmp_path: Path) -> None:
    """``bench/many_files.py`` (the 5,000-file timing), on 40 files."""
    script = Path(__file__).resolve().parents[1] / "bench" / "many_files.py"
    done = subprocess.run(
        [sys.executable, str(script), "--files", "40", "--workdir", str(tmp_path)],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr
    assert "40 + 40 csv files: " in done.stdout and "same outputs: True" in done.stdout
