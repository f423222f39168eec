"""Finding and opening input files: paths, globs and folders of CSV or Parquet.

Every file is opened as a LazyFrame with its canonical column names, the file
name and each row's physical line (CSV: header = line 1; Parquet: row index),
so that a rejected row can be traced back to where it came from. Many files of
one input that share a header (CSV) or schema (Parquet) are read by one scan
that still gives every row its own file and line (``Reader.open_all``).
"""

from __future__ import annotations

import glob
import hashlib
import re
import sys
import tempfile
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO
from urllib.parse import unquote

import polars as pl

from . import csv_bytes
from .errors import ConfigError, InputError
from .layouts import ALL_COLUMNS, KEY_COLUMNS, LAYOUT_COLUMNS, detect_layout

CSV_SUFFIXES = {".csv", ".txt", ".tsv", ".dat"}  # delimited text (``csv_bytes.DELIMITERS``)
PARQUET_SUFFIXES = {".parquet", ".pq"}
# A text file may be compressed (``x.csv.gz``); it is read from a decompressed copy.
COMPRESSIONS = {".gz": "gzip", ".zst": "zstd"}
TAB_SUFFIXES = {".tsv"}  # tab-separated whatever the header looks like (no sniffing)
FILE_COL = "_file"
LINE_COL = "_line"
EXTRA_COL = "_extra"  # CSV: a field beyond the header's (see _scan_csv)
SHORT_COL = "_short"  # CSV: "5 of 7" for a row with fewer fields than the header
# An input of this many files or more reads those that share a header or schema by one
# scan (``Reader.open_all``); fewer are read one scan a file, as they always were.
MANY_FILES = 32
# Such files, if of as few rows as this in all and on average, are read into memory at once
# (``_small``).
HOLD_ROWS = 1 << 20
HOLD_FILE_ROWS = 1000
MAX_FILES = 1 << 16  # file ids are UInt16 (``FILE_COL``: a number, not a string per row)
_ROW = "_tierscore_row"  # a scan of many files: the row's index in the scan
_PATH = "_tierscore_path"  # ... and the file it comes from, as the scan names it
_AT = "_tierscore_at"  # ... and its place in the files' breakpoints (``_Breaks``)


@dataclass(frozen=True)
class TableSpec:
    """What one input table must contain; ``optional`` columns may be missing."""

    name: str
    required: tuple[str, ...]
    optional: tuple[str, ...] = ()
    carry_rest: bool = False  # keep every other column under its own header
    strict: bool = False  # a CSV row with another field count stops the run
    # The spec a file's columns choose (balance layouts: ``layouts.detect_layout``),
    # given the canonical names present and the file as shown; None: this spec.
    detect: Callable[[set[str], str], TableSpec] | None = None


ATTRIBUTES = ("branch", "manager")  # named customer attributes the reports group by


def balances_spec(layout: str | None = None) -> TableSpec:
    """The balances of one layout (``layouts.LAYOUT_COLUMNS``), or (None) of the layout
    their columns say: ``BALANCES``, whose optional columns are every layout's, so
    that ``--columns`` may map any of them."""
    if layout is None:
        return BALANCES
    return TableSpec("balances", KEY_COLUMNS + LAYOUT_COLUMNS[layout], ("currency",))


def _detected(present: set[str], shown: str) -> TableSpec:
    return balances_spec(detect_layout(present, shown))


BALANCES = TableSpec("balances", KEY_COLUMNS, (*ALL_COLUMNS, "currency"), detect=_detected)


def customers_spec(columns: tuple[str, ...]) -> TableSpec:
    """Customer attributes: an id, the columns the rule set's gates read, branch and
    manager when present, and any other column as it is (carried into scores)."""
    optional = tuple(a for a in ATTRIBUTES if a not in columns)
    return TableSpec("customers", ("customer_id", *columns), optional, carry_rest=True)


def previous_spec() -> TableSpec:
    """An earlier run's scores file: only who was in which tier is needed."""
    return TableSpec("previous", ("customer_id", "tier"), strict=True)


TRANSACTIONS = TableSpec(
    "transactions",
    ("customer_id", "txn_id", "date", "txn_type", "amount"),
    ("fee", "fee_ratio", "currency"),
)
# ``--fx``: yuan per unit of a currency, from a date on (``fx``)
FX = TableSpec("fx", ("date", "currency", "rate"), strict=True)
# ``--parties``: each customer number's party (a person) and household (``parties``)
PARTIES = TableSpec("parties", ("customer_id", "party_id"), ("household_id",))


@dataclass
class InputFile:
    path: str
    format: str
    encoding: str | None = None
    sha256: str = ""
    rows: int = 0
    # rows known before polars reads them, when they are (CSV: counted in its bytes;
    # Parquet read with many others: from its footer); polars must read as many
    records: int | None = None
    delimiter: str | None = None  # text: what its fields are cut by (given or sniffed)
    compression: str | None = None  # "gzip", "zstd": sha256 is of the compressed bytes
    layout: str | None = None  # balances: how they hold their history (``layouts``)
    # bytes read, where ``path``'s are not (stdin, a compressed file: the plain copy's)
    size: int | None = None

    def as_dict(self) -> dict[str, object]:
        out: dict[str, object] = {
            "path": self.path,
            "format": self.format,
            "sha256": self.sha256,
            "rows": self.rows,
        }
        if self.encoding:
            out["encoding"] = self.encoding
        if self.delimiter:
            out["delimiter"] = self.delimiter
        if self.compression:
            out["compression"] = self.compression
        if self.layout:
            out["layout"] = self.layout
        return out


STDIN = "-"  # an input read from standard input (CSV only), named so in rejects and manifest
# ``key=value`` folders whose value is a row's date when its file has no date column
DATE_PARTITIONS = ("dt", "date", "data_date", "etl_date")
_NULL_PARTITION = "__HIVE_DEFAULT_PARTITION__"  # Hive's and Spark's folder for a null value
Given = str | Sequence[str]  # an input's option as given: once, or each occurrence
Partitions = tuple[tuple[str, str | None], ...]
_NOT_TEXT = (b"PAR1", b"\x1f\x8b", b"\x28\xb5\x2f\xfd")  # Parquet, gzip, zstd: not for stdin


@dataclass(frozen=True)
class Located:
    """A file of an input: where it is (None: standard input, copied when opened), the
    name its rows and messages give it, and the ``key=value`` folders it lies in below
    the folder given (Hive-style partitions: the value as text, None for Hive's null)."""

    path: Path | None
    shown: str
    partitions: Partitions = ()


@dataclass
class Listing:
    """Every file of one input, and the files of an unknown type its folders and globs
    hold: listed on the terminal and in the manifest, never passed over unsaid."""

    files: list[Located] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)


def given_specs(given: Given) -> tuple[str, ...]:
    """An input as its option's occurrences (a library caller's plain string: one)."""
    return (given,) if isinstance(given, str) else tuple(given)


def locate(given: Given, option: str) -> Listing:
    """Every file of an input: the occurrences in the order given, each one's files
    sorted. A file found twice (the same inode: one path twice, two globs, a folder and
    a file in it, a link) stops the run: its rows would count twice."""
    specs = given_specs(given)
    if not specs:
        raise InputError("no file given", key=option)
    listing = Listing()
    seen: dict[object, str] = {}
    for spec in specs:
        for one in _located(spec, option, listing.skipped):
            ident = _identity(one)
            if ident in seen:
                also = f" (also as {seen[ident]})" if seen[ident] != one.shown else ""
                raise InputError(f"the same file is given twice{also}", file=one.shown, key=option)
            seen[ident] = one.shown
            listing.files.append(one)
    listing.skipped = list(dict.fromkeys(listing.skipped))
    return listing


def resolve_paths(given: Given, option: str) -> list[Path]:
    """The files of an input read only from files (``--previous``, ``--overrides``): no
    standard input, and a folder holds nothing else (no one would see it passed over)."""
    listing = locate(given, option)
    if listing.skipped:
        raise InputError(f"not an input file: {cut(', '.join(listing.skipped))}", key=option)
    paths = [one.path for one in listing.files if one.path is not None]
    if len(paths) < len(listing.files):
        raise InputError("standard input (-) is read only by --balances, --transactions "
                         "or --customers", key=option)  # fmt: skip
    return paths


def _located(spec: str, option: str, skipped: list[str]) -> list[Located]:
    """One occurrence: standard input, a folder (searched recursively), a glob or a file."""
    if spec == STDIN:
        return [Located(None, STDIN)]
    if not spec.strip():
        raise InputError("is empty: give a file, glob or folder", key=option)
    path, before = Path(spec), len(skipped)
    if path.is_dir():
        found = _walked(path, path, skipped)
    elif _is_glob(spec):
        found = _globbed(spec, skipped)
    elif path.is_file():
        if not _format_of(path):
            raise InputError(refusal(path), file=spec, key=option)
        return [Located(path, spec)]
    else:
        raise InputError("no such file or folder", file=spec, key=option)
    if not found:
        unknown = sorted(set(skipped[before:]))
        also = f"; of other types: {cut(', '.join(unknown))}" if unknown else ""
        raise InputError(f"no CSV or Parquet files found{also}", file=spec, key=option)
    return found


def _is_glob(spec: str) -> bool:
    return any(ch in spec for ch in "*?[")


def _passed_over(name: str) -> bool:
    """Hidden files and folders (``.x``), and what Hadoop, Spark and Hive write beside
    the data: markers (``_SUCCESS``, ``_committed_…``), work folders (``_temporary``)
    and checksums (``x.crc``)."""
    return name.startswith((".", "_")) or name.lower().endswith(".crc")


def _walked(folder: Path, base: Path, skipped: list[str]) -> list[Located]:
    """A folder's input files, at any depth, with the partitions of the folders below
    ``base`` they lie in; what ``_passed_over`` names is left out, any other file of an
    unknown type goes to ``skipped``. A folder reached twice (a link) is read once."""
    files: list[Path] = []
    pending, visited = [folder], set()
    while pending:
        current = pending.pop()
        st = current.stat()
        if (st.st_dev, st.st_ino) in visited:
            continue
        visited.add((st.st_dev, st.st_ino))
        for entry in current.iterdir():
            if _passed_over(entry.name):
                continue
            if entry.is_dir():
                pending.append(entry)
            elif entry.is_file() and _format_of(entry):
                files.append(entry)
            else:  # another type, or no file at all (a broken link, a socket)
                skipped.append(str(entry))
    return [Located(p, str(p), _partitions(p, base)) for p in sorted(files)]


def _globbed(spec: str, skipped: list[str]) -> list[Located]:
    """A glob's files, and the files of the folders it matches; partitions are the
    ``key=value`` folders below its fixed part (``data/bal`` of ``data/bal/dt=*``)."""
    parts = Path(spec).parts
    fixed = next((i for i, part in enumerate(parts) if _is_glob(part)), len(parts))
    base = Path(*parts[:fixed])
    found: dict[object, Located] = {}
    for match in sorted(glob.glob(spec, recursive=True)):
        path = Path(match)
        if any(_passed_over(part) for part in path.relative_to(base).parts):
            continue
        if path.is_dir():
            ones = _walked(path, base, skipped)
        elif path.is_file() and _format_of(path):
            ones = [Located(path, match, _partitions(path, base))]
        else:
            skipped.append(match)
            continue
        for one in ones:  # ``**`` matches a file and the folders above it
            found.setdefault(_identity(one), one)
    return sorted(found.values(), key=lambda one: Path(one.shown))


def _partitions(path: Path, base: Path) -> Partitions:
    """The ``key=value`` folders between ``base`` and the file, escapes undone as Hive
    writes them (``%3A``); a key twice is ambiguous and stops the run."""
    found: dict[str, str | None] = {}
    for segment in path.relative_to(base).parts[:-1]:
        key, sep, value = segment.partition("=")
        if not sep or not key:
            continue
        key = unquote(key)
        if key in found:
            raise InputError(f"the partition {key!r} is twice in the path", file=str(path))
        found[key] = None if value == _NULL_PARTITION else unquote(value)
    return tuple(found.items())


def _identity(one: Located) -> object:
    """What makes two names one file: its device and inode (standard input: itself)."""
    if one.path is None:
        return STDIN
    st = one.path.stat()
    return (st.st_dev, st.st_ino)


def is_uri(given: str) -> bool:
    """``hdfs://…``, ``s3a://…``, ``file://…``: a place the Spark engine reads or writes."""
    return re.match(r"^[A-Za-z][A-Za-z0-9+.-]*://", given) is not None


def _format_of(path: Path) -> str | None:
    """What a file is read as: "csv" for delimited text (``CSV_SUFFIXES``, compressed
    too: ``x.txt.gz``), "parquet", or None: another kind, or compressed Parquet."""
    suffix = _inner_suffix(path)
    if suffix in CSV_SUFFIXES:
        return "csv"
    if suffix in PARQUET_SUFFIXES and compression_of(path) is None:
        return "parquet"
    return None


def compression_of(path: Path) -> str | None:
    """The file's compression by its last suffix ("gzip", "zstd"), or None."""
    return COMPRESSIONS.get(path.suffix.lower())


def suffix_delimiter(path: Path) -> str | None:
    """The delimiter a file's suffix says (.tsv: tab), or None: its header says."""
    return "\t" if _inner_suffix(path) in TAB_SUFFIXES else None


def _inner_suffix(path: Path) -> str:
    """The suffix that says the format: of ``x.csv.gz``, ``.csv``."""
    inner = Path(path.stem) if compression_of(path) else path
    return inner.suffix.lower()


def refusal(path: Path) -> str:
    """Why a file of no known format (``_format_of`` None) is not read."""
    if compression_of(path) and _inner_suffix(path) in PARQUET_SUFFIXES:
        return (
            "a compressed Parquet file: Parquet compresses its own pages; give the "
            ".parquet file itself"
        )
    known = sorted(CSV_SUFFIXES | PARQUET_SUFFIXES)
    return f"not a {', '.join(known)} file (text may be .gz or .zst)"


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        while chunk := fh.read(1 << 22):
            digest.update(chunk)
    return digest.hexdigest()


Stamp = tuple[int, int, int, int]


def _stamp(path: Path) -> Stamp | None:
    """Size, modification time (ns), inode and device: what changes when a file is
    written or replaced. None: the file is gone."""
    try:
        st = path.stat()
    except OSError:
        return None
    return (st.st_size, st.st_mtime_ns, st.st_ino, st.st_dev)


@dataclass
class _Opened:
    """A file the run reads: to tell whether it changed, and to read it again when a
    query fails (``Reader.blame``)."""

    path: Path
    shown: str
    stamp: Stamp | None
    source: Path  # what polars reads: the file, or its UTF-8 copy
    shape: csv_bytes.Shape | None = None  # CSV only


@dataclass
class _Found:
    """A file opened and checked (hashed, shaped) but not yet scanned."""

    opened: _Opened
    info: InputFile
    key: tuple[object, ...] | None  # files of one key can be read by one scan; None: not
    parquet: pl.LazyFrame | None = None  # Parquet: the file's own scan (its footer read)


@dataclass
class Batch:
    """Files of one input as one LazyFrame of canonical columns, ``FILE_COL`` and
    ``LINE_COL`` (and the CSV marks): one file, or many read by one scan."""

    frame: pl.LazyFrame
    files: list[InputFile]
    sizes: pl.LazyFrame  # rows read: one file's ``pl.len()``, or rows by ``_PATH`` (many)
    paths: list[str] = field(default_factory=list)  # many: each file as the scan names it

    @property
    def typed(self) -> bool:
        """Parquet (a batch holds one format)."""
        return self.files[0].format == "parquet"

    def take_rows(self, sizes: pl.DataFrame) -> None:
        """Each file's rows read, from ``sizes`` collected (a file with none is not in a
        group-by's rows)."""
        if not self.paths:
            self.files[0].rows = int(sizes.item())
            return
        read = dict(sizes.iter_rows())
        for info, path in zip(self.files, self.paths, strict=True):
            info.rows = int(read.get(path, 0))


class Reader:
    """Opens input files; keeps transcoded copies alive until ``close``, and has every
    file's checksum by then.

    Parquet files' checksums are taken on a thread while the run reads and measures
    (hashlib lets go of the GIL while it hashes): hashing first cost a quarter of a
    second a gigabyte before any row was read. A CSV file is hashed as its bytes are
    checked (``csv_bytes.scan``).

    Used as a context manager, it is also where a failure of the run meets its inputs:
    on leaving, every file must be as it was when opened (size, modification time),
    or the checksums and row counts would describe other files than the ones scored;
    and a polars error that one input file causes on its own becomes an
    ``InputError`` naming it (``blame``).
    """

    def __init__(
        self,
        encoding: str | None = None,
        mapping: dict[str, dict[str, str]] | None = None,
        delimiter: str | None = None,
    ):
        self.codec = csv_bytes.codec_of(encoding) if encoding else None
        self.encoding = encoding
        self.mapping = mapping or {}
        # every text file's delimiter (``--delimiter``), or None: sniffed (``delimiter_of``)
        self.delimiter = csv_bytes.delimiter_of(delimiter) if delimiter else None
        self.names: list[str] = []  # file names by FILE_COL id
        self._tmp: tempfile.TemporaryDirectory[str] | None = None
        self._hashing: list[tuple[InputFile, Future[str]]] = []
        self._pool: ThreadPoolExecutor | None = None
        self._opened: list[_Opened] = []
        self._copies = 0  # files made in the work folder (``_copy``)
        # each file's partition columns (``Located``), by its name: filled in by _canonical
        self.partitions: dict[str, dict[str, str | None]] = {}
        self.skipped: dict[str, list[str]] = {}  # files of an unknown type, by input
        self.stdin: BinaryIO | None = None  # what - reads (default: the process's stdin)
        self._stdin_by: str | None = None  # the option that read it: it is read once
        self.stdin_sha256 = ""  # of its bytes, taken as they were read (``stdin_copy``)

    def close(self) -> None:
        """Fill in the checksums (waiting for them) and remove transcoded copies."""
        try:
            self._hashed()
        finally:
            if self._tmp is not None:
                self._tmp.cleanup()
                self._tmp = None

    def _hashed(self) -> None:
        if self._pool is None:
            return
        self._pool.shutdown(wait=True)
        self._pool = None
        hashing, self._hashing = self._hashing, []
        for info, digest in hashing:
            try:
                info.sha256 = digest.result()
            except OSError:
                raise InputError(csv_bytes.CHANGED, file=info.path) from None

    def verify(self) -> None:
        """Every file opened is as it was then (see the class)."""
        self._hashed()
        for opened in self._opened:
            if _stamp(opened.path) != opened.stamp:
                raise InputError(csv_bytes.CHANGED, file=opened.shown)

    def __enter__(self) -> Reader:
        return self

    def __exit__(self, kind: object, exc: BaseException | None, tb: object) -> None:
        try:
            if exc is None:
                self.verify()
                return
            blamed = self.blame(exc)
        finally:
            self.close()
        if blamed is not None:
            raise blamed from None

    def blame(self, exc: BaseException) -> InputError | None:
        """The input a failure comes from, as an ``InputError``, or None (a failure of
        tierscore itself, exit 1). An input that changed is to blame for anything;
        else a polars error is blamed on the first input that fails when read again on
        its own (error path only: each input is read whole once more)."""
        if not isinstance(exc, (pl.exceptions.PolarsError, OSError)) and not _panic(exc):
            return None
        for opened in self._opened:
            if _stamp(opened.path) != opened.stamp:
                return InputError(csv_bytes.CHANGED, file=opened.shown)
        if isinstance(exc, OSError):
            return None
        for opened in self._opened:
            problem = _unreadable(opened)
            if problem is not None:
                return InputError(f"cannot be read: {problem}", file=opened.shown)
        return None

    def _workdir(self) -> Path:
        if self._tmp is None:
            self._tmp = tempfile.TemporaryDirectory(prefix="tierscore-")
        return Path(self._tmp.name)

    def open_input(
        self, spec: TableSpec, given: Given, option: str | None = None
    ) -> tuple[list[InputFile], list[Batch]]:
        """Every file of an input as given (``locate``: files, globs, folders, ``-``),
        opened by ``open_all``; its files of an unknown type are kept in ``skipped``."""
        option = option or f"--{spec.name}"
        listing = locate(given, option)
        self.skipped[spec.name] = listing.skipped
        paths = [self.local_path(one, option) for one in listing.files]
        files, batches = self.open_all(spec, paths, [one.shown for one in listing.files])
        for info, path in zip(files, paths, strict=True):
            if info.path == STDIN:  # (its copy's, the same bytes: as they were read)
                info.sha256, info.size = self.stdin_sha256, path.stat().st_size
        return files, batches

    def local_path(self, one: Located, option: str) -> Path:
        """The file to read for ``one`` (standard input: its copy, ``stdin_copy``); its
        partition columns are kept for ``_canonical``, by its name."""
        self.partitions[one.shown] = dict(one.partitions)
        return one.path if one.path is not None else self.stdin_copy(option)

    def stdin_copy(self, option: str) -> Path:
        """Standard input copied into the work folder as it is read, and hashed on the
        way: a pipe is read once, and the checks, counts and scans read the bytes again.
        One input a run reads it; it is CSV (Parquet and compressed bytes are refused:
        give such a file by its path)."""
        if self._stdin_by is not None:
            raise InputError(f"standard input is already read by {self._stdin_by}",
                             file=STDIN, key=option)  # fmt: skip
        self._stdin_by = option
        stream = self.stdin or getattr(sys.stdin, "buffer", None)
        if stream is None or stream.isatty():
            raise InputError("standard input is not a pipe: give - with a file piped in",
                             file=STDIN, key=option)  # fmt: skip
        target, digest, first = self._copy("stdin.csv"), hashlib.sha256(), True
        with target.open("wb") as out:
            while chunk := stream.read(1 << 22):
                if first and chunk.startswith(_NOT_TEXT):
                    why = "standard input is read as plain CSV: give this file by its path"
                    raise InputError(why, file=STDIN, key=option)
                first = False
                digest.update(chunk)
                out.write(chunk)
        self.stdin_sha256 = digest.hexdigest()
        return target

    def open(self, spec: TableSpec, path: Path, shown: str) -> tuple[pl.LazyFrame, InputFile]:
        """One file as a LazyFrame of canonical columns plus ``_file`` (an id; see
        ``file_names``) and ``_line``."""
        found = self._find(spec, path, shown)
        lf = self._frame_of(spec, found)
        file_id = pl.lit(self._number([shown]), pl.UInt16)  # a number, not a string per row
        return lf.with_columns(file_id.alias(FILE_COL)), found.info

    def open_all(
        self, spec: TableSpec, paths: list[Path], shown: list[str] | None = None
    ) -> tuple[list[InputFile], list[Batch]]:
        """Every file of one input (in order), and the batches that read them.

        Fewer than ``MANY_FILES`` files are opened one by one (``open``). Of more, the
        files that share a header as written and an encoding (CSV, whose header is one
        line) or a schema (Parquet) are read by one scan (``_together``), in the order
        of their first file: a plan of thousands of scans, each with its own checks,
        cost polars far more than their rows (5,000 one-row files a minute each).
        Every file is still hashed, shaped and checked on its own, and its rows keep
        its own file id and line. ``shown``: the files' names (default: their paths);
        files of other partition columns (``partitions``) are not read together."""
        names = shown or [str(path) for path in paths]
        if len(paths) < MANY_FILES:
            batches = []
            for path, name in zip(paths, names, strict=True):
                lf, info = self.open(spec, path, name)
                batches.append(Batch(lf, [info], lf.select(pl.len())))
            return [b.files[0] for b in batches], batches
        found = [self._find(spec, p, n, count=True) for p, n in zip(paths, names, strict=True)]
        first = self._number([f.opened.shown for f in found])
        groups: dict[object, list[int]] = {}
        for index, one in enumerate(found):
            key = (one.key, *self.partitions.get(one.opened.shown, {}))
            groups.setdefault(key if one.key is not None else index, []).append(index)
        batches = []
        for members in groups.values():
            part, ids = [found[i] for i in members], [first + i for i in members]
            if len(part) == 1:
                lf = self._frame_of(spec, part[0])
                lf = lf.with_columns(pl.lit(ids[0], pl.UInt16).alias(FILE_COL))
                batches.append(Batch(lf, [part[0].info], lf.select(pl.len())))
            else:
                batches.append(self._together(spec, part, ids))
        return [f.info for f in found], batches

    def _number(self, shown: list[str]) -> int:
        """Give files the next ids (``names``); the first one's."""
        first = len(self.names)
        if first + len(shown) > MAX_FILES:
            raise InputError(f"more than {MAX_FILES:,} input files in one run", file=shown[0])
        self.names += shown
        return first

    def _find(self, spec: TableSpec, path: Path, shown: str, count: bool = False) -> _Found:
        """Open a file: a CSV file's bytes are hashed, checked and shaped (``count``: its
        records counted too), a Parquet file's footer read and its hash begun."""
        fmt = _format_of(path) or "csv"
        info = InputFile(path=shown, format=fmt)
        opened = _Opened(path, shown, _stamp(path), path)
        self._opened.append(opened)
        if fmt == "parquet":
            self._hash_later(info, path)
            lf, schema = _parquet_file(path, shown)
            return _Found(opened, info, ("parquet", *schema.items()), lf)
        opened.source = self.text_source(spec, path, shown, info)
        scanned = self._checked_csv(spec, opened, info, count)
        shape = scanned.shape
        together = shape.header_lines == 1 and shape.records is not None
        key = ("csv", scanned.encoding, shape.delimiter, shape.header)
        return _Found(opened, info, key if together else None)

    def text_source(self, spec: TableSpec, path: Path, shown: str, info: InputFile) -> Path:
        """What to read of a text file: the file, or a decompressed copy of it (its
        compression in ``info``, and the compressed bytes' SHA-256, which the manifest
        names: they are the file given); and the delimiter it is cut by, into ``info``
        (``--delimiter``, else sniffed from its header, ``_sniffed``). Both engines
        read a compressed file from this copy: every check of its bytes and every line
        a reject names is then as in the plain file."""
        compression = compression_of(path)
        source = path
        if compression is not None:
            if _inner_suffix(path) in PARQUET_SUFFIXES:
                raise InputError(refusal(path), file=shown)
            source = self._copy(path.stem)
            info.sha256 = csv_bytes.decompress(path, shown, compression, source)
            info.compression = compression
            info.size = source.stat().st_size  # parts are sized by the text, not the gzip
        info.delimiter = self.delimiter or self._sniffed(spec, source, path)
        return source

    def _sniffed(self, spec: TableSpec, source: Path, path: Path) -> str:
        """The delimiter of a file without ``--delimiter``: tab for .tsv, else the one that
        cuts its header into the most names the table knows (canonical, or as
        ``--columns`` maps them; ``csv_bytes.sniff``), comma on a tie or none."""
        fixed = suffix_delimiter(path)
        if fixed is not None:
            return fixed
        names = self.mapping.get(spec.name, {})
        known = {names.get(c, c) for c in spec.required + spec.optional} | set(names.values())
        return csv_bytes.sniff(source, known, ",", self.codec)

    def _copy(self, name: str) -> Path:
        """A new file in the work folder, for a copy of an input (its name kept in it)."""
        self._copies += 1
        return self._workdir() / f"{self._copies}-{name}"

    def _frame_of(self, spec: TableSpec, found: _Found) -> pl.LazyFrame:
        """One file found, as canonical columns with its lines (no file id yet)."""
        opened = found.opened
        if found.parquet is not None:
            lf = found.parquet.with_row_index(LINE_COL)
        else:
            assert opened.shape is not None
            lf = _scan_csv(opened.source, opened.shape, opened.shown)
        return self._canonical_of(spec, lf, opened.shown)

    def _together(self, spec: TableSpec, part: list[_Found], ids: list[int]) -> Batch:
        """Files of one key (``open_all``) as one scan (``_csv_scan``, ``_parquet_scan``),
        every row with its file and line (``_Breaks``: from a CSV file's shape and
        records, or a Parquet file's rows), and the rows polars reads of each file (by
        the path it names each row's file with), which for CSV must be the records
        counted in its bytes, or the lines would be another file's
        (``_Input.take_sizes``).

        Files of few rows (``_small``) are read into memory at once, in one chunk:
        streamed, each file is a morsel of its own through every operator of every
        pass (5,000 one-row files: 7 s to measure, against 0.02 s held)."""
        first = part[0].opened
        csv = first.shape is not None
        scan, paths = _csv_scan(part) if csv else _parquet_scan(part)
        self._canonical_of(spec, scan.drop(_ROW, _PATH), first.shown)  # before a row is read
        sizes = scan.select(_PATH).group_by(_PATH).len()
        if csv:
            counts = [f.opened.shape.records or 0 for f in part if f.opened.shape is not None]
        else:  # what polars reads of each file, from their footers
            read = dict(sizes.collect().iter_rows())
            counts = [int(read.get(path, 0)) for path in paths]
            sizes = pl.LazyFrame({_PATH: paths, "len": counts})
        rows = scan.drop(_PATH)
        if _small(counts) and csv:
            held = scan.collect(engine="streaming")
            rows, sizes = held.drop(_PATH).rechunk().lazy(), held.group_by(_PATH).len().lazy()
        elif _small(counts):
            rows = rows.collect(engine="streaming").rechunk().lazy()
        breaks = _Breaks()
        for one, count, file_id in zip(part, counts, ids, strict=True):
            one.info.records = count
            breaks.add(file_id, count, one.opened.shape)
        wanted = first.shape.fields if csv and EXTRA_COL in scan.collect_schema() else None
        lf = self._canonical_of(spec, breaks.marked(rows, wanted), first.shown)
        return Batch(lf, [f.info for f in part], sizes, paths)

    def _canonical_of(self, spec: TableSpec, lf: pl.LazyFrame, shown: str) -> pl.LazyFrame:
        try:
            return self._canonical(spec, lf, shown)
        except pl.exceptions.PolarsError as exc:
            raise InputError(f"cannot be read: {cut(exc)}", file=shown) from None

    def _checked_csv(
        self, spec: TableSpec, opened: _Opened, info: InputFile, count: bool
    ) -> csv_bytes.Scanned:
        """Hash, check and shape the bytes (``csv_bytes.scan``), and decode them to a
        UTF-8 copy if they are not UTF-8, for polars to scan with what the shape says."""
        source, shown = opened.source, opened.shown
        scanned = csv_bytes.scan(source, shown, self.codec, count, info.delimiter or ",")
        info.sha256 = info.sha256 or scanned.sha256  # (a compressed file's: already taken)
        info.records = scanned.shape.records
        info.encoding = self.encoding or scanned.encoding
        if scanned.encoding != "utf-8":
            target = self._copy(f"utf8-{source.name}")
            forced = self.codec is not None
            csv_bytes.transcode(source, shown, scanned, target, forced)
            opened.source = target
        opened.shape = scanned.shape
        if spec.strict and scanned.shape.first_odd is not None:
            line, fields = scanned.shape.first_odd
            wanted = scanned.shape.fields
            raise InputError(
                f"line {line} has {fields} fields, the header {wanted}", file=opened.shown
            )
        return scanned

    def _hash_later(self, info: InputFile, path: Path) -> None:
        if self._pool is None:
            self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="tierscore-sha256")
        self._hashing.append((info, self._pool.submit(sha256_of, path)))

    def file_names(self, frame: pl.DataFrame, column: str = "file") -> pl.DataFrame:
        """Turn ``column``'s file ids back into the names as given."""
        names = dict(enumerate(self.names))
        return frame.with_columns(pl.col(column).replace_strict(names, return_dtype=pl.String))

    def _canonical(self, spec: TableSpec, lf: pl.LazyFrame, shown: str) -> pl.LazyFrame:
        """The canonical columns, after the marks; a scan of many files keeps its file
        ids, last (where one file's are added)."""
        names = lf.collect_schema().names()
        marks = [c for c in (LINE_COL, EXTRA_COL, SHORT_COL) if c in names]
        ids = [pl.col(FILE_COL)] if FILE_COL in names else []
        lf, added = self._with_partitions(lf, names, shown)
        found = [c for c in names if c not in marks and c != FILE_COL] + added
        select = [pl.col(c) for c in marks]
        for header, canon in canonical_columns(spec, found, self.mapping, shown, added):
            column = pl.col(header) if header is not None else pl.lit(None, dtype=pl.String)
            select.append(column.alias(canon))
        return lf.select(*select, *ids)

    def _with_partitions(
        self, lf: pl.LazyFrame, names: list[str], shown: str
    ) -> tuple[pl.LazyFrame, list[str]]:
        """The partition columns (``Located``) the file lacks, as text, and their names: a
        column of the file's own of that name wins. One file's are its values; a scan of
        many (with ``FILE_COL``) looks each row's up by its file id (``open_all`` reads
        together only files of the same partition columns)."""
        header = {c.strip() for c in names}
        parts = {k: v for k, v in self.partitions.get(shown, {}).items() if k not in header}
        if not parts:
            return lf, []
        if FILE_COL not in names:
            values = [pl.lit(v, pl.String).alias(k) for k, v in parts.items()]
        else:
            by_id = [self.partitions.get(name, {}) for name in self.names]
            values = [
                pl.lit(pl.Series([p.get(k) for p in by_id], dtype=pl.String))
                .gather(pl.col(FILE_COL))
                .alias(k)
                for k in parts
            ]
        return lf.with_columns(values), [*parts]


def cut(exc: BaseException | str, limit: int = 200) -> str:
    """A message's first line, at most ``limit`` characters: a polars parse error quotes
    the rest of the file, which holds customer data that logs must not keep."""
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _panic(exc: BaseException) -> bool:
    """polars' Rust panics arrive as pyo3's PanicException, not an Exception."""
    return type(exc).__name__ == "PanicException"


def _parquet_file(path: Path, shown: str) -> tuple[pl.LazyFrame, pl.Schema]:
    try:
        lf = pl.scan_parquet(path)
        schema = lf.collect_schema()  # the footer: a file cut short or not Parquet fails here
    except pl.exceptions.PolarsError as exc:
        raise InputError(f"not a readable Parquet file: {cut(exc)}", file=shown) from None
    return lf, schema


def _unreadable(opened: _Opened) -> str | None:
    """Why the file fails when read whole on its own (every value decoded), or None."""
    if opened.shape is not None:
        lf = _scan_csv(opened.source, opened.shape, opened.shown)
    else:
        lf = pl.scan_parquet(opened.source)
    try:
        lf.select(pl.all().cast(pl.String, strict=False).max()).collect(engine="streaming")
    except pl.exceptions.PolarsError as exc:
        return cut(exc)
    except BaseException as exc:  # a Rust panic reading the file: the file is to blame
        if not _panic(exc):
            raise
        return cut(exc)
    return None


def _scan_csv(source: Path, shape: csv_bytes.Shape, shown: str) -> pl.LazyFrame:
    """All columns as text, by position under the file's own header.

    ``shape`` (``csv_bytes.Shape``) says which rows have more or fewer fields than
    the header and where a row's line is not its index + 2 (after a newline inside
    quotes); in a plain file neither, and polars reads nothing more. Otherwise, by
    the row index: ``LINE_COL`` is the physical line, ``SHORT_COL`` says "5 of 7" for a
    row with fewer fields (which cell is missing is unknowable: an unquoted "1,000.00"
    in a row that leaves out its optional last fields fills them) and ``EXTRA_COL``
    holds the first field beyond the header's for a row with more, so that such rows
    are rejected rather than read shifted."""
    schema = dict.fromkeys(_header_of(source, shape, shown), pl.String)
    if shape.odd:
        schema[EXTRA_COL] = pl.String
    skip = {"skip_rows": 1} if shape.header_lines == 1 else {"skip_lines": shape.header_lines}
    lf = pl.scan_csv(
        source,
        has_header=False,
        schema=schema,
        missing_columns="insert",  # (as polars takes the first row for the file's width)
        extra_columns="ignore",
        truncate_ragged_lines=True,
        row_index_name=LINE_COL,
        row_index_offset=2 if shape.plain else 0,
        encoding="utf8",
        separator=shape.delimiter,
        **skip,  # type: ignore[arg-type]
    )
    if shape.plain:
        return lf
    return lf.with_columns(_marks(shape))


def _header_of(source: Path, shape: csv_bytes.Shape, shown: str) -> list[str]:
    """The header as polars reads it, which must have the fields the bytes have."""
    try:
        header = pl.read_csv(
            source, n_rows=0, infer_schema=False, encoding="utf8", separator=shape.delimiter
        ).columns
    except pl.exceptions.PolarsError as exc:
        raise InputError(f"cannot read the header: {cut(exc)}", file=shown) from None
    if len(header) != shape.header_fields:
        raise InputError(
            f"the header has {shape.header_fields} fields but polars reads {len(header)}",
            file=shown,
        )
    return header


def _marks(shape: csv_bytes.Shape) -> list[pl.Expr]:
    """``LINE_COL`` and, if some rows have other field counts, ``SHORT_COL`` and
    ``EXTRA_COL``, looked up by row index in the shape's few breakpoints."""
    index = pl.col(LINE_COL)
    at = pl.lit(pl.Series(shape.starts, dtype=pl.UInt32)).search_sorted(index, side="right") - 1
    shift = pl.lit(pl.Series(shape.shifts, dtype=pl.Int64)).gather(at)
    marks = [(index.cast(pl.Int64) + 2 + shift).alias(LINE_COL)]
    if shape.odd:
        fields = pl.lit(pl.Series(shape.counts, dtype=pl.Int64)).gather(at)
        marks += _field_marks(fields, shape.fields)
    return marks


def _field_marks(fields: pl.Expr, wanted: int) -> list[pl.Expr]:
    """``SHORT_COL`` and ``EXTRA_COL`` of a row with ``fields`` fields (0: the header's)."""
    short = pl.format("{} of {}", fields, pl.lit(wanted))
    return [
        pl.when((fields > 0) & (fields < wanted)).then(short).alias(SHORT_COL),
        pl.when(fields > wanted).then(pl.col(EXTRA_COL).fill_null("")).alias(EXTRA_COL),
    ]


@dataclass
class _Breaks:
    """A scan of many files, by the scan's row index: where each file's rows start, and
    within a CSV file where its shape's breakpoints are (``csv_bytes.Shape``), each
    with its file id, what to add to the row index for the row's line, and its field
    count: one lookup in a table of a few entries a file gives any row what ``_marks``
    gives the rows of one file."""

    starts: list[int] = field(default_factory=list)
    files: list[int] = field(default_factory=list)
    lines: list[int] = field(default_factory=list)
    counts: list[int] = field(default_factory=list)
    rows: int = 0  # rows of the files so far

    def add(self, file_id: int, rows: int, shape: csv_bytes.Shape | None = None) -> None:
        """The next file: ``rows`` rows, and a CSV file's shape (line = its row index + 2
        + shift) or none (Parquet: line = its row index)."""
        points = [(0, 0, -2)]
        if shape is not None:
            points = list(zip(shape.starts, shape.counts, shape.shifts, strict=True))
        for start, count, shift in points:
            self.starts.append(self.rows + start)
            self.files.append(file_id)
            self.lines.append(2 + shift - self.rows)
            self.counts.append(count)
        self.rows += rows

    def marked(self, scan: pl.LazyFrame, wanted: int | None = None) -> pl.LazyFrame:
        """The scan with ``FILE_COL`` and ``LINE_COL`` (``wanted``: and, for rows with
        another field count than the header's ``wanted``, the CSV marks)."""
        index = pl.col(_ROW).cast(pl.Int64)
        at = pl.lit(pl.Series(self.starts, dtype=pl.Int64)).search_sorted(index, side="right")
        found = scan.with_columns((at - 1).alias(_AT))

        def each(values: list[int], dtype: pl.DataType) -> pl.Expr:
            return pl.lit(pl.Series(values, dtype=dtype)).gather(pl.col(_AT))

        marks = [
            each(self.files, pl.UInt16()).alias(FILE_COL),
            (index + each(self.lines, pl.Int64())).alias(LINE_COL),
        ]
        if wanted is not None:
            marks += _field_marks(each(self.counts, pl.Int64()), wanted)
        return found.with_columns(marks).drop(_ROW, _AT)


def _csv_scan(part: list[_Found]) -> tuple[pl.LazyFrame, list[str]]:
    """CSV files of one header (``Reader.open_all``) as one scan, read as ``_scan_csv``
    reads one (by position under the header, which every file skips), with each
    row's index in the scan and its file as the scan names it (``paths``)."""
    first = part[0].opened
    assert first.shape is not None
    schema = dict.fromkeys(_header_of(first.source, first.shape, first.shown), pl.String)
    if any(f.opened.shape is not None and f.opened.shape.odd for f in part):
        schema[EXTRA_COL] = pl.String
    paths = [str(f.opened.source) for f in part]
    scan = pl.scan_csv(
        paths,
        has_header=False,
        schema=schema,
        missing_columns="insert",
        extra_columns="ignore",
        truncate_ragged_lines=True,
        row_index_name=_ROW,
        encoding="utf8",
        separator=first.shape.delimiter,  # (one key, ``_find``: one delimiter)
        skip_rows=1,  # in each file
        include_file_paths=_PATH,
        glob=False,
    )
    return scan, paths


def _parquet_scan(part: list[_Found]) -> tuple[pl.LazyFrame, list[str]]:
    """Parquet files of one schema as one scan, as ``_csv_scan``."""
    paths = [str(f.opened.path) for f in part]
    scan = pl.scan_parquet(
        paths, row_index_name=_ROW, include_file_paths=_PATH, hive_partitioning=False, glob=False
    )
    return scan, paths


def _small(rows: list[int]) -> bool:
    """Whether files of these rows are few enough, in all and on average, to be held in
    memory as read (``HOLD_ROWS``, ``HOLD_FILE_ROWS``). Streamed, a file costs about
    a millisecond in all passes, whatever its rows; held, a row costs about a
    microsecond more, and its memory: files of a thousand rows or so are as fast
    either way (200,000 customers in 40 Parquet files: 5 s streamed, 13 s and
    2.8 GiB held)."""
    return sum(rows) <= HOLD_ROWS and sum(rows) <= HOLD_FILE_ROWS * len(rows)


def canonical_columns(
    spec: TableSpec,
    found: list[str],
    mapping: dict[str, dict[str, str]],
    shown: str,
    partitions: Sequence[str] = (),
) -> list[tuple[str | None, str]]:
    """(header in the file, or None when absent; canonical name) for every column to read.
    ``partitions``: those of ``found`` that are the file's folders' (``key=value``).

    Engine-neutral, so that both engines accept the same headers and mappings and
    stop on the same missing column with the same message.
    """
    names = mapping.get(spec.name, {})
    header_of = {canon: names.get(canon, canon) for canon in spec.required + spec.optional}
    stripped = {c.strip(): c for c in found}
    _partition_date(spec.name, header_of, names, stripped, partitions, shown)
    if spec.detect is not None:  # balances: the layout the file's own columns say
        own = {c for c, h in header_of.items() if h in stripped and h not in partitions}
        spec = spec.detect(own, shown)
        header_of = {canon: names.get(canon, canon) for canon in spec.required + spec.optional}
        _partition_date(spec.name, header_of, names, stripped, partitions, shown)
    missing = [c for c in spec.required if header_of[c] not in stripped]
    if missing:
        named = ", ".join(f"{c} (as {header_of[c]!r})" if header_of[c] != c else c for c in missing)
        raise InputError(
            f"missing required column(s): {named}; found: {cut(', '.join(found))}",
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


def _partition_date(
    table: str,
    header_of: dict[str, str],
    names: dict[str, str],
    stripped: dict[str, str],
    partitions: Sequence[str],
    shown: str,
) -> None:
    """A file with no date column of its own, in date-partitioned folders, takes its
    folder's date: ``dt=``, ``date=``, ``data_date=`` or ``etl_date=`` (``DATE_PARTITIONS``),
    unless ``--columns`` names the date's header; two of them are not chosen between."""
    if "date" not in header_of or "date" in names or "date" in stripped:
        return
    dates = [key for key in DATE_PARTITIONS if key in partitions]
    if len(dates) > 1:
        raise InputError(
            f"the folders give {len(dates)} dates ({', '.join(dates)}): name the one "
            f'that is the rows\' date in --columns ([{table}] date = "{dates[0]}")',
            file=shown,
            key=table,
        )
    if dates:
        header_of["date"] = dates[0]


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


# inputs whose columns ``--columns`` may map by table
MAPPED = [BALANCES, TRANSACTIONS, FX, PARTIES]


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
    for spec in MAPPED:
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
            f"unknown table (known: {', '.join(s.name for s in MAPPED)}, customers)",
            file=path,
            key=extra,
        )
    return result
