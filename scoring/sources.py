"""Finding and opening input files: paths, globs and folders of CSV or Parquet.

Every file is opened as a LazyFrame with its canonical column names, the file
name and each row's physical line (CSV: header = line 1; Parquet: row index),
so that a rejected row can be traced back to where it came from.
"""

from __future__ import annotations

import codecs
import glob
import hashlib
import re
import tempfile
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from .errors import ConfigError, InputError

CSV_SUFFIXES = {".csv", ".txt"}
PARQUET_SUFFIXES = {".parquet", ".pq"}
FILE_COL = "_file"
LINE_COL = "_line"
EXTRA_COL = "_extra"  # CSV: a field beyond the header's (see _scan_csv)
_SNIFF_BYTES = 1 << 24


@dataclass(frozen=True)
class TableSpec:
    """What one input table must contain; ``optional`` columns may be missing."""

    name: str
    required: tuple[str, ...]
    optional: tuple[str, ...] = ()
    carry_rest: bool = False  # keep every other column under its own header


ATTRIBUTES = ("branch", "manager")  # named customer attributes the reports group by


BALANCES = TableSpec("balances", ("customer_id", "account_id", "product", "date", "balance"))


def customers_spec(columns: tuple[str, ...]) -> TableSpec:
    """Customer attributes: an id, the columns the rule set's gates read, branch and
    manager when present, and any other column as it is (carried into scores)."""
    optional = tuple(a for a in ATTRIBUTES if a not in columns)
    return TableSpec("customers", ("customer_id", *columns), optional, carry_rest=True)


def previous_spec() -> TableSpec:
    """An earlier run's scores file: only who was in which tier is needed."""
    return TableSpec("previous", ("customer_id", "tier"))


TRANSACTIONS = TableSpec(
    "transactions",
    ("customer_id", "txn_id", "date", "txn_type", "amount"),
    ("fee", "fee_ratio"),
)


@dataclass
class InputFile:
    path: str
    format: str
    encoding: str | None = None
    sha256: str = ""
    rows: int = 0

    def as_dict(self) -> dict[str, object]:
        out: dict[str, object] = {
            "path": self.path,
            "format": self.format,
            "sha256": self.sha256,
            "rows": self.rows,
        }
        if self.encoding:
            out["encoding"] = self.encoding
        return out


def resolve_paths(spec: str, option: str) -> list[Path]:
    """A file, a glob or a folder, as a sorted list of CSV/Parquet files."""
    path = Path(spec)
    if path.is_dir():
        files = [p for p in path.iterdir() if _format_of(p)]
    elif any(ch in spec for ch in "*?["):
        files = [Path(p) for p in glob.glob(spec, recursive=True) if _format_of(Path(p))]
    elif path.is_file():
        if not _format_of(path):
            raise InputError("not a .csv or .parquet file", file=spec, key=option)
        files = [path]
    else:
        raise InputError("no such file or folder", file=spec, key=option)
    if not files:
        raise InputError("no .csv or .parquet files found", file=spec, key=option)
    return sorted(files)


def is_uri(given: str) -> bool:
    """``hdfs://…``, ``s3a://…``, ``file://…``: a place the Spark engine reads or writes."""
    return re.match(r"^[A-Za-z][A-Za-z0-9+.-]*://", given) is not None


def _format_of(path: Path) -> str | None:
    suffix = path.suffix.lower()
    if suffix in CSV_SUFFIXES:
        return "csv"
    if suffix in PARQUET_SUFFIXES:
        return "parquet"
    return None


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        while chunk := fh.read(1 << 22):
            digest.update(chunk)
    return digest.hexdigest()


def detect_encoding(path: Path) -> str:
    """UTF-8 (with or without BOM) when the whole file decodes as UTF-8, else GB18030.

    Chinese core-banking exports are often GBK; GB18030 is its superset. The
    whole file is checked (a GBK name can first appear deep into an export);
    ``--encoding`` skips the check.
    """
    decoder = codecs.getincrementaldecoder("utf-8")()
    try:
        with path.open("rb") as fh:
            while chunk := fh.read(_SNIFF_BYTES):
                decoder.decode(chunk, final=False)
        decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        return "gb18030"
    return "utf-8"


def _transcode(path: Path, encoding: str, workdir: Path) -> Path:
    """Copy a non-UTF-8 CSV to UTF-8 so polars' native reader can take it."""
    target = workdir / f"{len(list(workdir.iterdir()))}-{path.name}"
    decoder = codecs.getincrementaldecoder(encoding)()
    with path.open("rb") as src, target.open("w", encoding="utf-8", newline="") as dst:
        while chunk := src.read(1 << 22):
            dst.write(decoder.decode(chunk))
        dst.write(decoder.decode(b"", final=True))
    return target


class Reader:
    """Opens input files; keeps transcoded copies alive until ``close``, and has every
    file's checksum by then.

    Parquet files' checksums are taken on a thread while the run reads and measures
    (hashlib lets go of the GIL while it hashes): hashing first cost a quarter of a
    second a gigabyte before any row was read.
    """

    def __init__(
        self, encoding: str | None = None, mapping: dict[str, dict[str, str]] | None = None
    ):
        self.encoding = encoding
        self.mapping = mapping or {}
        self.names: list[str] = []  # file names by FILE_COL id
        self._tmp: tempfile.TemporaryDirectory[str] | None = None
        self._hashing: list[tuple[InputFile, Future[str]]] = []
        self._pool: ThreadPoolExecutor | None = None

    def close(self) -> None:
        """Fill in the checksums (waiting for them) and remove transcoded copies."""
        if self._pool is not None:
            self._pool.shutdown(wait=True)
            self._pool = None
            hashing, self._hashing = self._hashing, []
            for info, digest in hashing:
                info.sha256 = digest.result()
        if self._tmp is not None:
            self._tmp.cleanup()
            self._tmp = None

    def __enter__(self) -> Reader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _workdir(self) -> Path:
        if self._tmp is None:
            self._tmp = tempfile.TemporaryDirectory(prefix="tierscore-")
        return Path(self._tmp.name)

    def open(self, spec: TableSpec, path: Path, shown: str) -> tuple[pl.LazyFrame, InputFile]:
        """One file as a LazyFrame of canonical columns plus ``_file`` (an id; see
        ``file_names``) and ``_line``."""
        fmt = _format_of(path) or "csv"
        info = InputFile(path=shown, format=fmt)
        if fmt == "parquet":
            self._hash_later(info, path)
            lf = pl.scan_parquet(path).with_row_index(LINE_COL)
        else:
            # here, not on the thread: checking the encoding decodes the file in Python,
            # and the two threads would take turns at the GIL (the read stage of 1M
            # customers' CSV went from 3.6 s to 20 s)
            info.sha256 = sha256_of(path)
            encoding = self.encoding or detect_encoding(path)
            info.encoding = encoding
            source = path
            if codecs.lookup(encoding).name != "utf-8":
                source = _transcode(path, encoding, self._workdir())
            lf = _scan_csv(source)
        lf = self._canonical(spec, lf, shown)
        self.names.append(shown)
        file_id = pl.lit(len(self.names) - 1, pl.UInt16)  # a number, not a string per row
        return lf.with_columns(file_id.alias(FILE_COL)), info

    def _hash_later(self, info: InputFile, path: Path) -> None:
        if self._pool is None:
            self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="tierscore-sha256")
        self._hashing.append((info, self._pool.submit(sha256_of, path)))

    def file_names(self, frame: pl.DataFrame, column: str = "file") -> pl.DataFrame:
        """Turn ``column``'s file ids back into the names as given."""
        names = dict(enumerate(self.names))
        return frame.with_columns(pl.col(column).replace_strict(names, return_dtype=pl.String))

    def _canonical(self, spec: TableSpec, lf: pl.LazyFrame, shown: str) -> pl.LazyFrame:
        names = lf.collect_schema().names()
        found = [c for c in names if c not in (LINE_COL, EXTRA_COL)]
        select = [pl.col(LINE_COL), *([pl.col(EXTRA_COL)] if EXTRA_COL in names else [])]
        for header, canon in canonical_columns(spec, found, self.mapping, shown):
            column = pl.col(header) if header is not None else pl.lit(None, dtype=pl.String)
            select.append(column.alias(canon))
        return lf.select(select)


def _scan_csv(source: Path) -> pl.LazyFrame:
    """All columns as text, by position under the file's own header, plus ``EXTRA_COL``:
    the first field beyond the header's, so that a row with too many fields (an
    unquoted "1,000.00") is rejected rather than read shifted or stopping the run."""
    header = pl.read_csv(source, n_rows=0, infer_schema=False, encoding="utf8").columns
    return pl.scan_csv(
        source,
        has_header=False,
        skip_rows=1,
        schema={**dict.fromkeys(header, pl.String), EXTRA_COL: pl.String},
        missing_columns="insert",
        truncate_ragged_lines=True,
        row_index_name=LINE_COL,
        row_index_offset=2,
        encoding="utf8",
    )


def canonical_columns(
    spec: TableSpec, found: list[str], mapping: dict[str, dict[str, str]], shown: str
) -> list[tuple[str | None, str]]:
    """(header in the file, or None when absent; canonical name) for every column to read.

    Engine-neutral, so that both engines accept the same headers and mappings and
    stop on the same missing column with the same message.
    """
    names = mapping.get(spec.name, {})
    header_of = {canon: names.get(canon, canon) for canon in spec.required + spec.optional}
    stripped = {c.strip(): c for c in found}
    missing = [c for c in spec.required if header_of[c] not in stripped]
    if missing:
        named = ", ".join(f"{c} (as {header_of[c]!r})" if header_of[c] != c else c for c in missing)
        raise InputError(
            f"missing required column(s): {named}; found: {', '.join(found)}",
            file=shown,
            key=spec.name,
        )
    if spec.carry_rest:
        return _carried_columns(header_of, stripped, names)
    out: list[tuple[str | None, str]] = []
    for canon in spec.required + spec.optional:
        header = header_of[canon]
        out.append((stripped[header], canon) if header in stripped else (None, canon))
    return out


def _carried_columns(
    header_of: dict[str, str], stripped: dict[str, str], names: dict[str, str]
) -> list[tuple[str | None, str]]:
    """Every column of the file, in the file's order: the named ones under their
    canonical names, the others under the name the mapping gives them or their own."""
    canon_of = {h: c for c, h in header_of.items()}
    name_of = {h: c for c, h in names.items()}
    out: list[tuple[str | None, str]] = []
    for header, original in stripped.items():
        if not header or (header in header_of and header_of[header] != header):
            continue  # a canonical name used as a header of its own while mapped elsewhere
        out.append((original, canon_of.get(header) or name_of.get(header, header)))
    return out


def parse_mapping(path: str) -> dict[str, dict[str, str]]:
    """A ``--columns`` TOML file: per input, canonical name = export's header."""
    import tomllib

    try:
        data = tomllib.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError("mapping file not found", file=path) from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"not valid TOML: {exc}", file=path) from None
    result: dict[str, dict[str, str]] = {}
    customers = data.pop("customers", {})
    if not isinstance(customers, dict) or not all(isinstance(v, str) for v in customers.values()):
        raise ConfigError("must be a table of column = header", file=path, key="customers")
    result["customers"] = dict(customers)
    for spec in (BALANCES, TRANSACTIONS):
        table = data.pop(spec.name, {})
        if not isinstance(table, dict):
            raise ConfigError("must be a table", file=path, key=spec.name)
        allowed = set(spec.required + spec.optional)
        for key, header in table.items():
            if key not in allowed:
                raise ConfigError(
                    f"unknown column (known: {', '.join(sorted(allowed))})",
                    file=path,
                    key=f"{spec.name}.{key}",
                )
            if not isinstance(header, str) or not header:
                raise ConfigError("must be a header name", file=path, key=f"{spec.name}.{key}")
        result[spec.name] = dict(table)
    for extra in data:
        raise ConfigError(
            "unknown table (known: balances, transactions, customers)", file=path, key=extra
        )
    return result
