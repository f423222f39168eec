"""Compressed and delimited text exports (issue #19): a .gz or .zst file scores as the
plain file it holds, its manifest names the compressed bytes' checksum, and a rejected
row names the file as given with the line in the plain text; pipe-, semicolon- and
tab-delimited files score as their comma twins, with the delimiter given or sniffed
from the header and recorded in the manifest."""

from __future__ import annotations

import csv
import gzip
import hashlib
import io
import json
import random
from dataclasses import replace
from pathlib import Path
from typing import Any

import polars as pl
import pyarrow as pa
import pytest

from tierscore.cli.errors import _outcome
from tierscore.cli.main import app
from tierscore.scoring import csv_bytes
from tierscore.scoring.errors import ConfigError, InputError
from tierscore.scoring.pipeline import Job, Result, inspect, run
from tierscore.scoring.sources import (
    BALANCES,
    InputFile,
    Reader,
    TableSpec,
    _format_of,
    customers_spec,
    resolve_paths,
)
from tierscore.scoring.window import parse_window

from .conftest import BAL_COLUMNS, TXN_COLUMNS, tierscore_here

H1 = parse_window("2026H1")
TRICKY = 'A,|;\t"x"\n2'  # an account id holding every delimiter, quotes and a newline
BAL_ROWS: list[list[str]] = [
    ["C1", TRICKY, "CURRENT", "2025-12-31", "100000.00"],
    ["C1", "A2", "TIME", "2026-02-01", "362000.00"],
    ["C2", "B1", "CURRENT", "2026-01-05", "not money"],  # rejected: its line must be right
    ["C2", "B2", "CURRENT", "2026-01-05", "5000.00", "extra"],  # more fields than the header
    ["C3", "D1", "CURRENT"],  # fewer
    ["C3", "D2", "CURRENT", "2026-03-01", "88000.50"],
]
TXN_ROWS: list[list[str]] = [
    ["C1", "T1", "2026-03-05", "POS", "1200.00", "", ""],
    ["C2", "T2", "2026-03-06", "INTERBANK_REMIT", "2500.00", "25.00", ""],
    ["C3", "T3", "2026-13-06", "POS", "10.00", "", ""],  # rejected: no such date
]


def export(path: Path, columns: tuple[str, ...], rows: list[list[str]], sep: str = ",") -> Path:
    """Rows as a bank's unload writes them: cut by ``sep``, quoted where needed; a
    ``.gz``/``.zst`` path is compressed (zstd: in two frames, as a streaming writer
    leaves it)."""
    text = io.StringIO()
    writer = csv.writer(text, delimiter=sep, lineterminator="\n")
    writer.writerow(columns)
    writer.writerows(rows)
    data = text.getvalue().encode("utf-8")
    if path.suffix == ".gz":
        data = gzip.compress(data[:40]) + gzip.compress(data[40:])  # two members
    elif path.suffix == ".zst":
        codec = pa.Codec("zstd")
        data = codec.compress(data[:40], asbytes=True) + codec.compress(data[40:], asbytes=True)
    path.write_bytes(data)
    return path


def scored(folder: Path, bal: str, txn: str, **job: Any) -> Result:
    return run(Job(str(folder / bal), str(folder / txn), H1, **job))


def plain(folder: Path) -> Result:
    export(folder / "b.csv", BAL_COLUMNS, BAL_ROWS)
    export(folder / "t.csv", TXN_COLUMNS, TXN_ROWS)
    return scored(folder, "b.csv", "t.csv")


def assert_same_as(reference: Result, other: Result, names: dict[str, str]) -> None:
    """Same scores and summary; the same rejects, at the same lines, of the files named."""
    assert other.scores.equals(reference.scores)
    assert other.summary == reference.summary
    renamed = reference.rejects.with_columns(pl.col("file").replace(names))
    assert other.rejects.equals(renamed)


@pytest.mark.parametrize("suffix", [".gz", ".zst"])
def test_a_compressed_file_scores_as_the_plain_file(tmp_path: Path, suffix: str) -> None:
    reference = plain(tmp_path)
    bal = export(tmp_path / f"b.csv{suffix}", BAL_COLUMNS, BAL_ROWS)
    txn = export(tmp_path / f"t.txt{suffix}", TXN_COLUMNS, TXN_ROWS)
    result = scored(tmp_path, bal.name, txn.name)
    names = {str(tmp_path / "b.csv"): str(bal), str(tmp_path / "t.csv"): str(txn)}
    assert_same_as(reference, result, names)
    lines = result.rejects.filter(pl.col("file") == str(bal)).get_column("line").to_list()
    assert sorted(set(lines)) == [5, 6, 7]  # the header, a record of two lines, the bad rows
    compression = "gzip" if suffix == ".gz" else "zstd"
    for info, path in (
        (result.inputs["balances"][0], bal),
        (result.inputs["transactions"][0], txn),
    ):
        entry = info.as_dict()
        assert entry["sha256"] == hashlib.sha256(path.read_bytes()).hexdigest()
        assert (entry["compression"], entry["delimiter"], entry["path"]) == (
            compression,
            ",",
            str(path),
        )
    assert result.inputs["balances"][0].rows == len(BAL_ROWS)
    # parts are sized by the text read, not by the gzip (10 times smaller at scale)
    plain_size = (tmp_path / "b.csv").stat().st_size
    assert result.inputs["balances"][0].size == plain_size != bal.stat().st_size


@pytest.mark.parametrize(("sep", "name"), [("|", "b.txt"), (";", "b.dat"), ("\t", "b.tsv")])
def test_each_delimiter_scores_as_the_comma_file(tmp_path: Path, sep: str, name: str) -> None:
    """Quoted fields hold the delimiter; rows of other field counts are rejected at their
    lines as in the comma file (the shape checks are the delimiter's)."""
    reference = plain(tmp_path)
    bal = export(tmp_path / name, BAL_COLUMNS, BAL_ROWS, sep)
    txn = export(tmp_path / f"t{Path(name).suffix}", TXN_COLUMNS, TXN_ROWS, sep)
    assert sep.encode() in bal.read_bytes().split(b"\n")[1]  # quoted, inside a field
    for given in (None, sep):  # sniffed (.tsv: by its suffix), or given
        result = scored(tmp_path, bal.name, txn.name, delimiter=given)
        names = {str(tmp_path / "b.csv"): str(bal), str(tmp_path / "t.csv"): str(txn)}
        assert_same_as(reference, result, names)
        assert {f.delimiter for files in result.inputs.values() for f in files} == {sep}


def test_a_compressed_pipe_file_of_many_chunks_keeps_every_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """In a file of many chunks (decompressed and checked in 64 KiB ones here), one odd
    row among many is found at its line (``_Shaper``'s fast path, cut by ``|``)."""
    monkeypatch.setattr(csv_bytes, "CHUNK", 1 << 16)
    rows = [[f"C{i}", f"A{i}", "CURRENT", "2026-01-05", f"{i}.00"] for i in range(20_000)]
    rows[15_000] = ["C9", "A|9", "CURRENT", "2026-01-05"]  # fewer fields, a quoted pipe
    bal = export(tmp_path / "b.txt.gz", BAL_COLUMNS, rows, "|")
    txn = export(tmp_path / "t.txt", TXN_COLUMNS, [], "|")
    found = inspect(str(bal), str(txn))
    assert found.counts["balances"]["read"] == 20_000
    assert set(found.rejects.select("file", "line").rows()) == {(str(bal), 15_002)}


def test_sniffing_counts_known_names(tmp_path: Path) -> None:
    def sniffed(header: str | bytes, name: str = "b.txt", spec: TableSpec = BALANCES,
                **reader: Any) -> str | None:  # fmt: skip
        path = tmp_path / name
        path.write_bytes(header if isinstance(header, bytes) else header.encode() + b"\n")
        info = InputFile(name, "csv")
        Reader(**reader).text_source(spec, path, name, info)
        return info.delimiter

    assert sniffed("customer_id|account_id|product|date|balance") == "|"
    assert sniffed('"customer_id";"account;id";product;date;balance') == ";"
    assert sniffed("customer_id\taccount_id\tproduct,date\tbalance") == "\t"  # 4 against 1
    # ambiguous: as many known names either way, or none: the suffix's default
    assert sniffed("customer_id|account_id,product|date,balance") == ","  # 1 and 1
    assert sniffed("a|b|c") == ","
    assert sniffed("customer_id|account_id", "b.tsv") == "\t"  # .tsv is tab, never sniffed
    assert sniffed("customer_id|account_id", "b.tsv", delimiter="|") == "|"
    mapping = {"balances": {"customer_id": "客户号", "balance": "余额"}}
    assert sniffed("客户号;账号;余额", mapping=mapping) == ";"
    assert sniffed("客户号|余额\r\n".encode("gb18030"), mapping=mapping) == "|"
    assert sniffed("\ufeffcustomer_id;branch", "c.csv", customers_spec(("overdue_90d",))) == ";"
    assert sniffed(b"\x00\r\x00|") == ","  # no CSV at all: scan says what is wrong


def test_an_ambiguous_header_is_read_with_the_default_and_stops_on_a_column(
    tmp_path: Path,
) -> None:
    """customer_id|account_id,product|date,balance: one known name by comma, one by
    pipe: no guess, so comma, and the required columns are missing (exit 2)."""
    bal = tmp_path / "b.csv"
    bal.write_text("customer_id|account_id,product|date,balance\nC1|A1,X|2026-01-01,1\n")
    txn = export(tmp_path / "t.csv", TXN_COLUMNS, TXN_ROWS, "|")
    with pytest.raises(InputError, match="missing required column") as caught:
        inspect(str(bal), str(txn))
    assert "found: customer_id|account_id, product|date, balance" in str(caught.value)
    assert caught.value.file == str(bal)


@pytest.mark.parametrize("given", [":", " ", "||", ",,", "tabs", "\\n", ""])
def test_an_unknown_delimiter_is_refused(given: str) -> None:
    with pytest.raises(ConfigError) as caught:
        csv_bytes.delimiter_of(given)
    assert caught.value.key == "--delimiter"
    with pytest.raises(ConfigError):
        Reader(delimiter=given or "x")


def test_delimiter_names() -> None:
    assert [csv_bytes.delimiter_of(d) for d in ("\\t", "\t", "TAB", "pipe", ";", ",")] == [
        "\t",
        "\t",
        "\t",
        "|",
        ";",
        ",",
    ]


@pytest.mark.parametrize("damage", ["cut", "flip", "not"])
@pytest.mark.parametrize("suffix", [".gz", ".zst"])
def test_a_broken_compressed_file_stops_the_run(tmp_path: Path, damage: str, suffix: str) -> None:
    good = export(tmp_path / f"b.csv{suffix}", BAL_COLUMNS, BAL_ROWS * 50)
    data = good.read_bytes()
    if damage == "cut":
        data = data[: len(data) * 2 // 3]
    elif damage == "flip":
        at = len(data) - 40  # inside the last member's compressed data (or its checksum)
        data = data[:at] + bytes([data[at] ^ 0xFF]) + data[at + 1 :]
    else:
        data = b"customer_id,account_id\n"
    good.write_bytes(data)
    txn = export(tmp_path / "t.csv", TXN_COLUMNS, TXN_ROWS)
    with pytest.raises(InputError) as caught:
        inspect(str(good), str(txn))
    assert caught.value.file == str(good)
    assert "C1" not in str(caught.value)  # no row content


def test_compressed_parquet_is_refused(tmp_path: Path) -> None:
    pq = tmp_path / "b.parquet.gz"
    pq.write_bytes(gzip.compress(b"PAR1"))
    assert _format_of(pq) is None
    with pytest.raises(InputError, match="compressed Parquet"):
        resolve_paths(str(pq), "--balances")
    with pytest.raises(InputError, match="compressed Parquet"):
        Reader().open(BALANCES, pq, str(pq))


def test_format_of_every_suffix() -> None:
    text = ["x.csv", "x.TXT", "x.tsv", "x.dat", "x.csv.gz", "x.txt.zst", "a.b.dat.GZ"]
    assert [_format_of(Path(p)) for p in text] == ["csv"] * len(text)
    assert _format_of(Path("x.parquet")) == _format_of(Path("x.pq")) == "parquet"
    assert [_format_of(Path(p)) for p in ("x.gz", "x.json", "x.parquet.zst", "x.zip")] == [None] * 4


def test_the_cli_scores_a_compressed_pipe_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """End to end: --delimiter on the command line, the manifest as published, and a
    --delimiter tierscore does not read is exit 2 naming it."""
    bal = export(tmp_path / "b.txt.gz", BAL_COLUMNS, BAL_ROWS[:2], "|")
    txn = export(tmp_path / "t.txt", TXN_COLUMNS, TXN_ROWS[:2], "|")
    out = tmp_path / "out"
    args = ["score", "-b", str(bal), "-t", str(txn), "-p", "2026H1", "-q"]
    done = tierscore_here(*args, "--delimiter", "pipe", "--out", str(out))
    assert done.returncode == 0, done.stderr
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    [entry] = manifest["inputs"]["balances"]
    assert entry["sha256"] == hashlib.sha256(bal.read_bytes()).hexdigest()
    assert (entry["delimiter"], entry["compression"], entry["rows"]) == ("|", "gzip", 2)
    assert manifest["inputs"]["transactions"][0]["delimiter"] == "|"
    bad = [*args, "--delimiter", ":", "--out", str(out / "x")]
    assert _outcome(lambda: app(bad, prog_name="tierscore"), verbose=False) == 2
    assert "--delimiter" in capsys.readouterr().err and not (out / "x").exists()


@pytest.mark.spark
def test_spark_reads_a_compressed_pipe_file_as_polars_does(tmp_path: Path, spark: Any) -> None:
    from tierscore.scoring import spark_engine

    bal = export(tmp_path / "b.txt.gz", BAL_COLUMNS, BAL_ROWS, "|")
    txn = export(tmp_path / "t.csv.zst", TXN_COLUMNS, TXN_ROWS, ";")
    job = Job(str(bal), str(txn), H1)
    local, remote = run(job), spark_engine.run(job, spark=spark)
    assert remote.scores.equals(local.scores)
    assert remote.rejects.equals(local.rejects)
    assert remote.summary == local.summary
    for name, files in local.inputs.items():
        assert [f.as_dict() for f in remote.inputs[name]] == [f.as_dict() for f in files]
    assert set(remote.rejects.get_column("file")) == {str(bal), str(txn)}


def test_spark_stops_on_a_line_of_only_tabs(tmp_path: Path) -> None:
    """Spark's reader skips a line of tabs and blanks (Java's trim), which polars reads
    and rejects: the Spark engine stops on it, on the driver, before Spark reads."""
    from tierscore.scoring.spark_engine import _scan_csv

    tabs = tmp_path / "b.tsv"
    head = "\t".join(BAL_COLUMNS) + "\nC1\tA1\tCURRENT\t2026-01-05\t10.00\n"
    tabs.write_text(head + " \t\t\t\t\r\n", encoding="utf-8")
    txn = export(tmp_path / "t.csv", TXN_COLUMNS, TXN_ROWS)
    rejected = run(Job(str(tabs), str(txn), H1)).rejects.filter(pl.col("file") == str(tabs))
    assert rejected.get_column("line").unique().to_list() == [3]
    with pytest.raises(InputError, match="line 3 holds only tabs"), Reader() as reader:
        _scan_csv(tabs, reader, BALANCES)
    for fine in (head + "\n", head + " \n", head + '"\t"\t\t\t\t\n'):  # Spark's own
        tabs.write_text(fine, encoding="utf-8")
        with Reader() as reader:
            _scan_csv(tabs, reader, BALANCES)


def _random_rows(rng: random.Random) -> tuple[list[list[str]], str]:
    """Rows of 1 to 6 cells under a header of 4 (or 4 and a trailing empty one): bare
    cells hold no delimiter of any kind, quoted ones every delimiter, quotes, newlines."""

    def cell() -> str:
        if rng.random() < 0.6:
            return rng.choice(["", "a", "12.5", "客户", "x y"])
        inside = rng.choice(["", "a,b|c;d\te", 'say ""hi""', "two\nlines", "\n", "\t|\n;"])
        return f'"{inside}"'

    header = ["h1", "h2", "h3", "h4"] + ([""] if rng.random() < 0.2 else [])
    rows = [header]
    for _ in range(rng.randint(0, 12)):
        rows.append([cell() for _ in range(rng.choice([4, 4, 4, 4, 1, 2, 3, 5, 6]))])
    return rows, rng.choice(["\n", "\r\n"])


@pytest.mark.parametrize("seed", range(4))
def test_every_delimiter_shapes_and_reads_as_the_comma(tmp_path: Path, seed: int) -> None:
    """Random files cut by each delimiter: the same shape (odd rows, their lines and
    field counts, newlines inside quotes) and the same rows read as the comma file."""
    rng = random.Random(seed)
    spec = TableSpec("t", ("h1",), ("h2", "h3", "h4"))
    for case in range(20):
        rows, end = _random_rows(rng)
        seen = []
        for sep in csv_bytes.DELIMITERS:
            path = tmp_path / f"{case}-{ord(sep)}.txt"
            text = end.join(sep.join(row) for row in rows) + end
            path.write_bytes(text.encode("utf-8"))
            shape = csv_bytes.scan(path, path.name, None, count=True, delimiter=sep).shape
            with Reader(delimiter=sep) as reader:
                frame = reader.open(spec, path, "x")[0].collect()
            seen.append((replace(shape, delimiter=",", header=b""), frame))
        for shape, frame in seen[1:]:
            assert shape == seen[0][0], (seed, case)
            assert frame.equals(seen[0][1]), (seed, case)


def test_a_compressed_gb18030_file_is_decoded_after_decompression(tmp_path: Path) -> None:
    """Decompressed, then detected and decoded as any GB18030 export; the manifest names
    the compressed bytes, their encoding and their delimiter."""
    reference = plain(tmp_path)
    text = (tmp_path / "b.csv").read_text(encoding="utf-8").replace("C1", "客户1")
    text = text.replace(",", "|").replace('"A|', '"A,')  # (TRICKY's own comma back)
    zst = tmp_path / "b.dat.zst"
    zst.write_bytes(pa.Codec("zstd").compress(text.encode("gb18030"), asbytes=True))
    result = scored(tmp_path, zst.name, "t.csv")
    [info] = result.inputs["balances"]
    assert (info.encoding, info.delimiter, info.compression) == ("gb18030", "|", "zstd")
    assert info.sha256 == hashlib.sha256(zst.read_bytes()).hexdigest()
    assert result.rejects.filter(pl.col("file") == str(zst)).equals(
        reference.rejects.filter(pl.col("file") == str(tmp_path / "b.csv")).with_columns(
            pl.lit(str(zst)).alias("file")
        )
    )
    assert "客户1" in result.scores.get_column("customer_id").to_list()


def test_many_files_of_several_delimiters_and_compressions(tmp_path: Path) -> None:
    """A folder of more files than are read one scan each (``Reader.open_all``): those of
    one delimiter are read together, never another delimiter's rows by their scan."""
    folder = tmp_path / "bal"
    folder.mkdir()
    rows = [[f"C{i}", f"A{i}", "CURRENT", "2026-01-05", f"{1000 + i}.00"] for i in range(40)]
    kinds = [("csv", ","), ("txt.gz", "|"), ("dat.zst", ";"), ("tsv", "\t")]
    for i, row in enumerate(rows):
        suffix, sep = kinds[i % 4]
        export(folder / f"part-{i:02d}.{suffix}", BAL_COLUMNS, [row, row[:3]], sep)
    export(tmp_path / "all.csv", BAL_COLUMNS, [r for row in rows for r in (row, row[:3])])
    txn = export(tmp_path / "t.csv", TXN_COLUMNS, TXN_ROWS)
    many = run(Job(str(folder), str(txn), H1))
    one = run(Job(str(tmp_path / "all.csv"), str(txn), H1))
    assert many.scores.equals(one.scores)
    assert {f.delimiter for f in many.inputs["balances"]} == {",", "|", ";", "\t"}
    short = many.rejects.filter(pl.col("file").str.contains("part-"))
    assert sorted(set(short.select("file", "line").rows())) == [
        (str(folder / f"part-{i:02d}.{kinds[i % 4][0]}"), 3) for i in range(40)
    ]
