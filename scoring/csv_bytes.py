"""A CSV file's bytes, read once before polars parses it: checksum, encoding and shape.

polars reads CSV fast but cannot say where a file went wrong: a row with fewer
fields than the header is padded with empty cells (an unquoted ``1,000.00`` in a row
that leaves out its optional last fields reads as amount 1 and fee 000.00), a row
number is not a line number after a quoted newline, and a file it cannot parse stops
it with the rest of the file in the message. The bytes are read here anyway, for the
checksum (on a thread), so each chunk is also checked, at C speed: no NUL byte or
UTF-16 mark, UTF-8 or not, and the shape of its records (``_Shaper``): every line
with the header's field count, or else where not and why. Only a record that is
not a one-line record of the header's fields (another field count, a newline inside
quotes, broken quoting) is looked at in Python. polars then reads the file with
what was found (``Shape``): no second parse.

A file that is not UTF-8 is decoded (strictly: a byte that is not of the encoding
stops the run) into a UTF-8 copy for polars, in a second read that hashes again, so
that the checksum is of the bytes parsed (``transcode``).
"""

from __future__ import annotations

import codecs
import hashlib
import io
import os
import re
from collections import deque
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

from .errors import ConfigError, InputError

CHUNK = 1 << 22
MAX_RECORD = 1 << 24  # a record (a line, or lines inside quotes) longer than this is broken
UTF16 = "UTF-16 is not supported; re-export as UTF-8 or GB18030"
GB_CODECS = ("gb18030", "gbk", "gb2312")
_BOM = b"\xef\xbb\xbf"

DELIMITERS = (",", "|", ";", "\t")  # what a delimited text file may be cut by

# A quoted field may hold delimiters, newlines and doubled quotes; a bare field holds
# none of them. polars reads the same: a quote inside a bare field is not CSV.
_QUOTED = rb'"(?:[^"]|"")*+"'


class Syntax:
    """The patterns that shape records cut by one delimiter (``DELIMITERS``), compiled once
    per delimiter (``syntax_of``). Quoting is CSV's whatever the delimiter: a field in
    double quotes may hold the delimiter, newlines and doubled quotes."""

    def __init__(self, delimiter: str) -> None:
        if delimiter not in DELIMITERS:
            raise ConfigError(f"unknown delimiter {delimiter!r}", key="--delimiter")
        sep = delimiter.encode("ascii")
        self.sep, self.delimiter = sep, delimiter
        bare = rb'[^%s\n"]*+' % re.escape(sep)
        self.field = rb'(?:"(?:[^"]|"")*+"|%s)' % bare
        self.field_line = rb'(?:"[^"\n]*+(?:""[^"\n]*+)*+"|%s)' % bare  # without a newline
        self.record = re.compile(rb"%s(?:%s%s)*+\r?\n" % (self.field, re.escape(sep), self.field))
        marks = sep + b'"\n'
        self.not_marks = bytes(b for b in range(256) if b not in marks)  # all but the marks
        self.as_text = bytes(b if b in marks + b"\r" else ord("x") for b in range(256))
        self.fields_before = re.compile(rb"(?:%s%s)*+" % (self.field_line, re.escape(sep)))
        self._runs: dict[tuple[int, bool], re.Pattern[bytes]] = {}

    def record_of(self, fields: int, trailing: bool) -> bytes:
        """A one-line record of exactly ``fields`` fields (``trailing``: or one more, empty:
        an export that ends every row with a delimiter)."""
        sep = re.escape(self.sep)
        more = rb"(?:%s%s){%d}" % (sep, self.field_line, fields - 1) if fields > 1 else b""
        end = sep + b"?+" if trailing else b""
        return rb"%s%s%s\r?\n" % (self.field_line, more, end)

    def run_of(self, fields: int, trailing: bool) -> re.Pattern[bytes]:
        """A run of such records."""
        if (fields, trailing) not in self._runs:
            pattern = rb"(?:%s)*+" % self.record_of(fields, trailing)
            self._runs[fields, trailing] = re.compile(pattern)
        return self._runs[fields, trailing]

    def fields(self, record: bytes) -> tuple[int, int, bool]:
        """(fields, newlines inside quoted fields, last field empty) of one whole record."""
        body = record[:-1]
        if body.endswith(b"\r"):
            body = body[:-1]
        bare = re.sub(_QUOTED, lambda m: b"q" if len(m.group()) > 2 else b"", body)
        sep = self.sep
        return bare.count(sep) + 1, body.count(b"\n"), bare.endswith(sep) or not bare


_SYNTAX: dict[str, Syntax] = {}


def syntax_of(delimiter: str) -> Syntax:
    """The delimiter's ``Syntax``, compiled on first use."""
    if delimiter not in _SYNTAX:
        _SYNTAX[delimiter] = Syntax(delimiter)
    return _SYNTAX[delimiter]


_NAMED = {"\\t": "\t", "tab": "\t", "pipe": "|", "comma": ",", "semicolon": ";"}


def delimiter_of(given: str) -> str:
    """``--delimiter`` as the character it names: ``,`` ``|`` ``;`` or a tab (as a tab,
    the two characters ``\\t``, or ``tab``). Anything else stops the run: a file cut by
    another character would be read as one column, or worse, shifted."""
    found = _NAMED.get(given.lower(), given)
    if found not in DELIMITERS:
        raise ConfigError(
            f"{given!r} is not a delimiter tierscore reads: one of , | ; or \\t (tab)",
            key="--delimiter",
        )
    return found


def sniff(path: Path, known: set[str], default: str, codec: str | None) -> str:
    """The delimiter (``DELIMITERS``) that cuts the header line into the most ``known``
    column names; ``default`` when none cuts out any, or two cut out as many: the header
    says how a file is cut, and where it does not say it clearly the file's suffix
    does (a wrong one then stops the run on a missing column, never reads shifted)."""
    text = _header_text(_first_line(path), codec)
    found = {d: sum(f.strip() in known for f in _split(text, d)) for d in DELIMITERS}
    best = max(found.values())
    winners = [d for d, n in found.items() if n == best]
    return winners[0] if best > 0 and len(winners) == 1 else default


def _first_line(path: Path) -> bytes:
    """The file's first line (at most ``CHUNK`` bytes of it), without its newline."""
    with path.open("rb") as fh:
        head = fh.read(CHUNK)
    return head.split(b"\n", 1)[0].removesuffix(b"\r").removeprefix(_BOM)


def _header_text(line: bytes, codec: str | None) -> str:
    """The header line as text, for its names only: in ``codec``, else UTF-8 or GB18030
    (as ``scan`` detects); a byte neither decodes is replaced (it is no known name)."""
    for name in (codec,) if codec else ("utf-8", "gb18030"):
        try:
            return line.decode(name)
        except UnicodeDecodeError:
            continue
    return line.decode(codec or "utf-8", errors="replace")


def _split(text: str, delimiter: str) -> list[str]:
    """A header line's fields cut by ``delimiter``, with CSV's quoting; none of a line
    that is no CSV (a stray carriage return, a NUL: ``scan`` then says what is wrong)."""
    import csv

    try:
        return next(csv.reader([text], delimiter=delimiter, quotechar='"'), [])
    except csv.Error:
        return []


class _Hashed(io.RawIOBase):
    """A file read through: the SHA-256 of every byte read, as it is read."""

    def __init__(self, fh: BinaryIO) -> None:
        self.fh = fh
        self.digest = hashlib.sha256()

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        data = self.fh.read(len(buffer))
        self.digest.update(data)
        buffer[: len(data)] = data
        return len(data)


def decompress(path: Path, shown: str, compression: str, target: Path) -> str:
    """Decompress ``path`` (``compression``: "gzip" or "zstd") into ``target``, streamed,
    and the SHA-256 of the compressed bytes, which are what the manifest names. A file
    that is cut short or not of its compression stops the run naming it: the rows read
    so far would be a silent part of the export."""
    import pyarrow as pa

    with path.open("rb") as raw, target.open("wb") as dst:
        hashed = _Hashed(raw)
        with pa.CompressedInputStream(pa.PythonFile(hashed, mode="r"), compression) as src:
            while chunk := _read_some(src, compression, shown):
                dst.write(chunk)  # (a full disk is no fault of the file's)
    return hashed.digest.hexdigest()


def _read_some(src: Any, compression: str, shown: str) -> bytes:
    """The next chunk decompressed: the decompressor's errors are the file's."""
    import pyarrow as pa

    try:
        return bytes(src.read(CHUNK))
    except (OSError, pa.ArrowException) as exc:
        why = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise InputError(
            f"not a readable {compression} file ({why}): it may be cut short or corrupt",
            file=shown,
        ) from None


def codec_of(encoding: str) -> str:
    """The codec's own name for ``--encoding``; one Python does not know, or one that does
    not write commas, quotes and newlines as ASCII does (UTF-16), stops the run."""
    try:
        name = codecs.lookup(encoding).name
    except LookupError:
        raise ConfigError(f"unknown encoding {encoding!r}", key="--encoding") from None
    if name.startswith(("utf-16", "utf-32")):
        raise ConfigError(UTF16, key="--encoding")
    if name == "utf-8-sig":  # polars takes the byte order mark itself
        return "utf-8"
    try:
        ascii_compatible = 'a,"\r\n'.encode(name) == b'a,"\r\n'
    except (LookupError, TypeError, UnicodeError):
        ascii_compatible = False
    if not ascii_compatible:
        raise ConfigError(
            f"{encoding!r} is not a text encoding that writes commas, quotes and newlines "
            "as ASCII does",
            key="--encoding",
        )
    return name


@dataclass
class Shape:
    """A file's records as ``_Shaper`` found them. By data record (0 = the row after the
    header, polars' row index): from ``starts[i]`` on, records have ``counts[i]`` fields
    (0: as many as the header) and follow ``shifts[i]`` newlines inside quoted fields,
    which polars does not count as rows (a record's line is its row index + 2 + shift).
    """

    fields: int  # fields a row must have: the header's, less a trailing empty one
    header_fields: int  # the header row's fields as written
    header_lines: int = 1
    starts: list[int] = field(default_factory=lambda: [0])
    counts: list[int] = field(default_factory=lambda: [0])
    shifts: list[int] = field(default_factory=lambda: [0])
    records: int | None = None  # data records, when they were counted
    first_odd: tuple[int, int] | None = None  # (line, fields) of the first odd row
    header: bytes = b""  # the header record as written (no byte order mark)
    delimiter: str = ","  # what its fields are cut by (``DELIMITERS``)

    @property
    def odd(self) -> bool:
        """Some row has more or fewer fields than the header."""
        return any(self.counts)

    @property
    def plain(self) -> bool:
        """Every row has the header's fields and its line is its row index + 2."""
        return not self.odd and not any(self.shifts)

    def mark(self, record: int, count: int, shift: int) -> None:
        """From ``record`` on, records have ``count`` fields and follow ``shift``."""
        if self.starts[-1] == record:
            self.counts[-1], self.shifts[-1] = count, shift
            if len(self.starts) > 1 and (self.counts[-2], self.shifts[-2]) == (count, shift):
                del self.starts[-1], self.counts[-1], self.shifts[-1]  # no change after all
        elif (self.counts[-1], self.shifts[-1]) != (count, shift):
            self.starts.append(record)
            self.counts.append(count)
            self.shifts.append(shift)


class _Shaper:
    """Finds the records of a file fed in chunks; see ``Shape``.

    Fast case, at C speed: a stretch of lines is reduced to its commas, quotes and
    newlines (``bytes.translate``), which must be one line's pattern repeated: as many
    commas as the header's, and quotes (if any) only around fields, the same ones on
    every line (``_alike``). Where that fails, a regular expression matches the
    stretch's well-formed one-line records (a line with quotes at a time where quotes
    are few), up to a record that is not one: ``_odd`` takes it (another field count,
    a newline inside quotes, broken quoting), with the run of records as short as it
    after it (an export that leaves out trailing columns on every row is a handful of
    steps, not one a row). Where a record is in the file (its index, its line) needs
    the newlines before it: they are only counted once something is found (the file's
    start is then read again), so that a plain file is never counted.
    """

    def __init__(self, path: Path, shown: str, count: bool = False, delimiter: str = ","):
        self.path, self.shown = path, shown
        self.syntax = syntax_of(delimiter)
        self.tail = b""  # the start of a record that goes on in the next chunk
        self.offset = 0  # the file offset of ``tail``
        self.shape: Shape | None = None
        self.fast: re.Pattern[bytes] | None = None
        self.inside = 0  # newlines inside quoted fields of the records so far
        # newlines before ``offset``, once counting (``count``: from the start, so that
        # the records are counted in any file)
        self.newlines: int | None = 0 if count else None
        self._cursor = (0, 0)  # (position in the buffer, newlines before it)
        self.one: re.Pattern[bytes] | None = None  # one such record
        self.unit = b""  # a line of the header's fields, reduced to its delimiters
        self.trail = False  # the header ends in an empty field: rows may too
        self._mixed_to = 0  # in this buffer: _alike failed on the stretch up to here
        self._odd_to = 0  # in this buffer: the quote-free stretch up to here has odd lines
        self._start = 0  # where in this buffer ``offset`` is

    def feed(self, chunk: bytes, final: bool = False) -> None:
        """Take the next chunk of the file (``final``: the file has ended). A chunk is read
        where it lies; only the line carried over from the one before is joined to the
        start of it (joining megabytes a chunk costs as much as checking them)."""
        if final:
            last = self.tail + (b"\n" if self.tail and not self.tail.endswith(b"\n") else b"")
            self._scan(last, 0, final=True)  # an unterminated last line is a record too
        elif not self.tail:
            self._scan(chunk, 0)
        elif self.shape is None:  # the header is not whole yet
            self._scan(self.tail + chunk, 0)
        elif (cut := chunk.find(b"\n") + 1) == 0:
            self._grow(chunk)
        else:
            self._scan(self.tail + chunk[:cut], 0)
            if self.tail:  # a quoted field goes on past that line: keep the rest with it
                self._grow(chunk[cut:])
            else:
                self._scan(chunk, cut)

    def _grow(self, more: bytes) -> None:
        self.tail += more
        if len(self.tail) > MAX_RECORD:
            raise self._too_long(line_at(self.path, self.offset), waiting=True)

    def _scan(self, buf: bytes, start: int, final: bool = False) -> None:
        """The records of ``buf`` from ``start`` (at file offset ``self.offset``) up to its
        last newline; the rest is carried to the next chunk."""
        self._start = start
        end = len(buf) if final else buf.rfind(b"\n") + 1
        if self.newlines is not None:
            self._cursor = (start, self.newlines)
        self._mixed_to = self._odd_to = 0
        pos, waiting = start, False
        if self.shape is None:
            header = self._header(buf, end, final)
            waiting, pos = header is None, header or 0
        while not waiting and pos < end:
            pos = self._regular(buf, pos, end)
            if pos < end:
                after = self._odd(buf, pos, end, final)
                waiting, pos = after is None, after or pos
        self._carry(buf, pos, final, waiting)

    def finish(self) -> Shape:
        self.feed(b"", final=True)
        if self.shape is None:
            raise InputError("no header row", file=self.shown)
        if self.newlines is not None:
            self.shape.records = self.newlines - 1 - self.inside
        return self.shape

    def _header(self, buf: bytes, end: int, final: bool) -> int | None:
        start = len(_BOM) if buf.startswith(_BOM) else 0
        syntax = self.syntax
        found = syntax.record.match(buf, start, end)
        if found is None:
            return self._unfinished(buf, start, end, final)
        fields, inside, last_empty = syntax.fields(buf[start : found.end()])
        wanted = fields - 1 if last_empty and fields > 1 else fields
        header = buf[start : found.end()]
        self.shape = Shape(wanted, fields, 1 + inside, shifts=[inside], header=header)
        self.shape.delimiter = syntax.delimiter
        self.inside = inside
        # Rows may end in one more, empty field only where the header does too: else an
        # unquoted "1,000.00" in a row ending in "," would pass as amount 1, fee 000.00.
        self.trail = last_empty and fields > 1
        self.fast = syntax.run_of(wanted, trailing=self.trail)
        self.one = re.compile(syntax.record_of(wanted, trailing=self.trail))
        self.unit = syntax.sep * (wanted - 1) + b"\n"
        return found.end()

    def _regular(self, buf: bytes, pos: int, end: int) -> int:
        """How far from ``pos`` the records are one-line ones with the header's fields."""
        if pos >= self._mixed_to:
            if self._alike(buf, pos, end):
                return end
            self._mixed_to = end
        assert self.fast is not None and self.one is not None
        while pos < end:
            quote = buf.find(b'"', pos, end)
            stop = end if quote < 0 else buf.rfind(b"\n", pos, quote) + 1
            if stop > pos:
                if pos < self._odd_to or not self._alike(buf, pos, stop):
                    self._odd_to = stop
                    reached = self.fast.match(buf, pos, stop).end()  # type: ignore[union-attr]
                    if reached < stop:
                        return reached
                pos = stop
            if quote < 0:
                return pos
            record = self.one.match(buf, pos, end)
            if record is None:
                return pos
            pos = record.end()
        return pos

    def _alike(self, buf: bytes, pos: int, stop: int) -> bool:
        """Whether every line of the stretch has the same commas and quotes, and those are
        a record of the header's fields (see the class)."""
        assert self.shape is not None
        if pos < 1 << 16 and stop == buf.rfind(b"\n") + 1:  # most of a chunk: no copy of it
            marks = buf.translate(None, self.syntax.not_marks)
            before = len(buf[:pos].translate(None, self.syntax.not_marks))
            marks = marks[before : marks.rfind(b"\n") + 1]
        else:
            marks = buf[pos:stop].translate(None, self.syntax.not_marks)
        if b'"' in marks:
            return self._quoted_alike(buf, pos, stop, marks)
        lines = marks.count(b"\n")
        if marks == self.unit * lines:
            return True
        if not self.trail:
            return False
        # one more delimiter: the last field must be empty (an export ending rows with ",")
        sep = self.syntax.sep
        ended = buf.count(sep + b"\n", pos, stop) + buf.count(sep + b"\r\n", pos, stop)
        return ended == lines and marks == (sep + self.unit) * lines

    def _quoted_alike(self, buf: bytes, pos: int, stop: int, marks: bytes) -> bool:
        """Every line's marks are the first line's, every field in it bare or quoted with
        no comma, quote or newline inside, and no quote of the stretch has text on both
        sides (``x"x`` once all text is ``x``): a quote inside a bare field, or text
        before or after a quoted one."""
        assert self.shape is not None
        unit = marks[: marks.find(b"\n") + 1]
        if not unit or len(marks) % len(unit) or marks != unit * (len(marks) // len(unit)):
            return False
        parts = unit[:-1].split(self.syntax.sep)
        if len(parts) != self.shape.fields or not set(parts) <= {b"", b'""'}:
            return False
        if pos < 1 << 16:  # most of a chunk: no copy of it
            return buf.translate(self.syntax.as_text).find(b'x"x', pos, stop) < 0
        return buf[pos:stop].translate(self.syntax.as_text).find(b'x"x') < 0

    def _odd(self, buf: bytes, pos: int, end: int, final: bool) -> int | None:
        """One record the fast match did not take, and a run of rows as short after it."""
        assert self.shape is not None
        found = self.syntax.record.match(buf, pos, end)
        if found is None:
            return self._unfinished(buf, pos, end, final)
        fields, inside, last_empty = self.syntax.fields(buf[pos : found.end()])
        wanted = self.shape.fields
        trailing = fields == wanted + 1 and last_empty and self.trail
        count = 0 if fields == wanted or trailing else fields
        self.shape.mark(self._record(buf, pos), count, self.inside)
        if count and self.shape.first_odd is None:
            self.shape.first_odd = (self._nl(buf, pos) + 1, fields)
        self.inside += inside
        pos = found.end()
        if 0 < count < wanted and not inside:  # (after newlines inside, the shift is new)
            pos = self._run(count).match(buf, pos, end).end()  # type: ignore[union-attr]
        self.shape.mark(self._record(buf, pos), 0, self.inside)
        return pos

    def _unfinished(self, buf: bytes, pos: int, end: int, final: bool) -> None:
        """A record that does not match: a quoted field going on in the next chunk (None:
        wait for it), or broken quoting."""
        if pos >= end:  # no whole line yet
            return None
        if buf.count(b'"', pos, end) % 2 == 0:
            why = "a quote inside an unquoted field, or text after a closing quote"
            raise InputError(f"line {self._nl(buf, pos) + 1}: {why}", file=self.shown)
        if final:
            bare = self.syntax.fields_before.match(buf, pos).end()  # type: ignore[union-attr]
            why = (
                "a quoted field is never closed (an unbalanced quote)"
                if buf[bare : bare + 1] == b'"'
                else "a quote inside an unquoted field"
            )
            raise InputError(f"line {self._nl(buf, pos) + 1}: {why}", file=self.shown)
        return None

    def _carry(self, buf: bytes, pos: int, final: bool, waiting: bool) -> None:
        if self.newlines is not None:
            self.newlines = self._nl(buf, pos)
        self.tail = b"" if final else buf[pos:]
        self.offset += pos - self._start
        if len(self.tail) > MAX_RECORD:
            raise self._too_long(self._nl(buf, pos) + 1, waiting)

    def _too_long(self, line: int, waiting: bool) -> InputError:
        why = "a quoted field is not closed" if waiting else "a line is that long"
        return InputError(
            f"line {line}: a record longer than {MAX_RECORD >> 20} MiB ({why})", file=self.shown
        )

    def _run(self, fields: int) -> re.Pattern[bytes]:
        return self.syntax.run_of(fields, trailing=False)

    def _record(self, buf: bytes, pos: int) -> int:
        """The data record index of the record that starts at ``pos``."""
        return self._nl(buf, pos) - 1 - self.inside

    def _nl(self, buf: bytes, pos: int) -> int:
        """Newlines in the file before ``pos`` of ``buf``; the first call counts those
        before the buffer, reading the file's start again."""
        if self.newlines is None:
            self.newlines = count_newlines(self.path, self.offset)
            self._cursor = (self._start, self.newlines)
        at, before = self._cursor
        if pos < at:
            at, before = self._start, self.newlines
        before += buf.count(b"\n", at, pos)
        self._cursor = (pos, before)
        return before


def count_newlines(path: Path, upto: int) -> int:
    """Newlines in the first ``upto`` bytes of the file (for a line number)."""
    seen = 0
    with path.open("rb") as fh:
        while upto > 0 and (chunk := fh.read(min(CHUNK, upto))):
            seen += chunk.count(b"\n")
            upto -= len(chunk)
    return seen


def line_at(path: Path, offset: int) -> int:
    return count_newlines(path, offset) + 1


class _Hasher:
    """SHA-256 of the chunks in order, on a thread (hashlib lets go of the GIL) while
    the main thread checks them; at most two chunks wait. A file of one chunk is
    hashed as it is read: a thread for each of thousands of small files cost more
    than their hashing."""

    def __init__(self, threaded: bool = True) -> None:
        self._digest = hashlib.sha256()
        self._pool = (
            ThreadPoolExecutor(max_workers=1, thread_name_prefix="tierscore-sha256")
            if threaded
            else None
        )
        self._pending: deque[Future[None]] = deque()

    def update(self, chunk: bytes) -> None:
        if self._pool is None:
            self._digest.update(chunk)
            return
        self._pending.append(self._pool.submit(self._digest.update, chunk))
        while len(self._pending) > 2:
            self._pending.popleft().result()

    def hexdigest(self) -> str:
        self.close()
        return self._digest.hexdigest()

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True)
        while self._pending:
            self._pending.popleft().result()


@dataclass
class Scanned:
    """What reading a CSV file's bytes found."""

    sha256: str
    size: int
    encoding: str  # the codec to read it with: "utf-8" needs no copy
    shape: Shape
    not_utf8_at: int | None = None  # the first byte that is not UTF-8, if any


def scan(
    path: Path, shown: str, encoding: str | None, count: bool = False, delimiter: str = ","
) -> Scanned:
    """Hash, check and shape a CSV file in one read; ``encoding`` None: detect UTF-8
    (with or without a byte order mark) or else GB18030 (GBK's superset, the
    encoding of Chinese core-banking exports). ``count``: count the records of any
    file (``Shape.records``; else only of a file with an odd record). ``delimiter``:
    what its fields are cut by (``DELIMITERS``)."""
    check_utf8 = encoding is None or encoding == "utf-8"
    decoder = codecs.getincrementaldecoder("utf-8")() if check_utf8 else None
    not_utf8_at: int | None = None
    shaper, size = _Shaper(path, shown, count, delimiter), 0
    with path.open("rb") as fh:
        hasher = _Hasher(threaded=os.fstat(fh.fileno()).st_size > CHUNK)
        try:
            while chunk := fh.read(CHUNK):
                hasher.update(chunk)
                _check_bytes(path, shown, chunk, size)
                if decoder is not None and not_utf8_at is None:
                    not_utf8_at = _utf8_error(decoder, chunk, size)
                    if not_utf8_at is not None and encoding == "utf-8":
                        raise _not_utf8(path, shown, not_utf8_at)
                shaper.feed(chunk)
                size += len(chunk)
            if size == 0:
                raise InputError("empty file: no header row", file=shown)
            if decoder is not None and not_utf8_at is None:
                not_utf8_at = _utf8_error(decoder, b"", size, final=True)
                if not_utf8_at is not None and encoding == "utf-8":
                    raise _not_utf8(path, shown, not_utf8_at)
            shape = shaper.finish()
            digest = hasher.hexdigest()
        finally:
            hasher.close()
    codec = encoding or ("utf-8" if not_utf8_at is None else "gb18030")
    return Scanned(digest, size, codec, shape, not_utf8_at)


def _check_bytes(path: Path, shown: str, chunk: bytes, offset: int) -> None:
    if offset == 0 and chunk.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise InputError(f"starts with a UTF-16 byte order mark: {UTF16}", file=shown)
    nul = chunk.find(b"\x00")
    if nul >= 0:
        where = f"byte {offset + nul} (line {line_at(path, offset + nul)})"
        raise InputError(f"a NUL byte at {where}: not a text file ({UTF16})", file=shown)


def _utf8_error(
    decoder: codecs.IncrementalDecoder, chunk: bytes, offset: int, final: bool = False
) -> int | None:
    """The file offset of the first byte that is not UTF-8, or None (so far)."""
    pending = decoder.getstate()[0]
    if chunk.isascii() and not pending and not final:
        return None
    try:
        decoder.decode(chunk, final=final)
    except UnicodeDecodeError as exc:
        return offset - len(pending) + exc.start
    return None


def _not_utf8(path: Path, shown: str, offset: int) -> InputError:
    where = f"byte {offset} (line {line_at(path, offset)})"
    return InputError(f"not UTF-8 at {where}, as --encoding says it is", file=shown)


def transcode(path: Path, shown: str, scanned: Scanned, target: Path, forced: bool) -> None:
    """Decode the file strictly into a UTF-8 copy, hashing it again: a byte the encoding
    does not have stops the run (never a replacement character), and so does a file
    whose bytes are no longer those ``scan`` hashed. A GB file is checked for lines
    that are UTF-8 (``Utf8Lines``)."""
    codec = scanned.encoding
    digest = hashlib.sha256()
    lines = Utf8Lines() if codec in GB_CODECS else None
    carry, offset = b"", 0
    with path.open("rb") as src, target.open("wb") as dst:
        while True:
            chunk = src.read(CHUNK)
            digest.update(chunk)
            buf = carry + chunk
            cut = len(buf) if not chunk else buf.rfind(b"\n") + 1
            block, carry = buf[:cut], buf[cut:]
            try:
                text = block.decode(codec)
            except UnicodeDecodeError as exc:
                where = (offset, block, not chunk)
                raise _undecodable(path, shown, scanned, where, exc, forced) from None
            if lines is not None:
                found = lines.check(block, offset)
                if found is not None:
                    raise _mixed(path, shown, scanned, found, forced)
            dst.write(text.encode("utf-8"))
            offset += cut
            if not chunk:
                break
    weak = lines.weak_enough() if lines is not None else None
    if weak is not None:
        raise _mixed(path, shown, scanned, weak, forced)
    if digest.hexdigest() != scanned.sha256:
        raise InputError(CHANGED, file=shown)


CHANGED = (
    "the file changed while the run read it: its checksum and row count would describe "
    "another file than the one scored; run again once it is complete"
)


def _undecodable(
    path: Path,
    shown: str,
    scanned: Scanned,
    where: tuple[int, bytes, bool],
    exc: UnicodeDecodeError,
    forced: bool,
) -> InputError:
    """Why a block (at file offset ``offset``; ``last``: the file's end) does not decode:
    a UTF-8 line in it, a character cut short at the end, or a byte the encoding lacks."""
    offset, block, last = where
    at = offset + exc.start
    start = block.rfind(b"\n", 0, exc.start) + 1
    stop = block.find(b"\n", exc.start)
    line = block[start : stop if stop >= 0 else len(block)]
    if not line.isascii() and _is_utf8(line):
        return _mixed(path, shown, scanned, offset + start, forced)
    place = f"byte {at} (line {line_at(path, at)})"
    if last and ("incomplete" in exc.reason or exc.end >= len(block)):
        return InputError(
            f"ends in the middle of a {scanned.encoding} character at {place}: the file "
            "was cut short",
            file=shown,
        )
    said = "as --encoding says it is" if forced else "and not UTF-8 either"
    return InputError(f"not {scanned.encoding} at {place}, {said}", file=shown)


def _mixed(path: Path, shown: str, scanned: Scanned, at: int, forced: bool) -> InputError:
    line = line_at(path, at)
    if forced:
        why = f"line {line} is UTF-8, not {scanned.encoding}"
    else:
        other = scanned.not_utf8_at or 0
        why = f"line {line} is UTF-8 but line {line_at(path, other)} is not"
    return InputError(
        f"{why}: the file mixes encodings, and some rows would be read as the wrong "
        "characters; re-export it in one encoding",
        file=shown,
    )


def _is_utf8(data: bytes) -> bool:
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


# A 3-byte UTF-8 sequence (Chinese characters are U+4E00-9FFF: lead E4-E9) with a
# continuation byte in 80-A0: GB2312 never writes a byte below A1 in a character.
_UTF8_SIGN = re.compile(rb"[\xe0-\xef](?:[\x80-\xa0][\x80-\xbf]|[\xa1-\xbf][\x80-\xa0])")
_NOT_LOW = bytes(b for b in range(256) if not 0x80 <= b <= 0xA0)
_LOW_TO_NUL = bytes(0 if 0x80 <= b <= 0xA0 else b for b in range(256))
_CJK = re.compile(r"[\u2000-\u206f\u3000-\u303f\u3400-\u4dbf\u4e00-\u9fff\uff00-\uffef]")


class Utf8Lines:
    """Lines of a GB18030/GBK file that are UTF-8: a file that mixes the two.

    A GB file is decoded as GB18030, and a UTF-8 line in it comes out as the wrong
    characters without any error (UTF-8 bytes are mostly valid GB18030). But a GBK
    line can also be valid UTF-8 by chance (a short name of two characters is, about
    one time in a hundred), so "valid UTF-8" alone would stop genuine exports. A
    line counts as UTF-8 only on evidence GB text does not give:

    - its UTF-8 sequences include a continuation byte in 80-A0 (``_UTF8_SIGN``):
      about three Chinese characters in four have one in UTF-8, and GB2312 (the
      common characters) has no byte below A1 at all, so a GB2312 export never has
      such a line, however large;
    - the whole line is valid UTF-8, and every non-ASCII character it decodes to is
      Chinese or CJK punctuation;
    - more of its characters are common (in GB2312) read as UTF-8 than read as
      GB18030: UTF-8 read as GB18030 gives rare characters, a GBK line read as UTF-8
      gives random ones.

    With two such sequences in the line it is UTF-8 (strong); a GBK line needs two
    rare (non-GB2312) characters in just the right places to pass, which random
    names drawn from all of GBK did about 2 times in a million lines, and names with
    1 rare character in 20, none in 2 million. A line with one sequence (weak, about
    1 in 100,000 such names) only counts when weak lines are at least 2 and one in
    a thousand lines: a mixed file has many UTF-8 rows, a genuine one a stray few.
    Rows of a UTF-8 file with a few GBK rows are not valid GB18030 or are strong.
    """

    def __init__(self) -> None:
        self.lines = 0
        self.weak = 0
        self.first_weak: int | None = None

    def check(self, block: bytes, offset: int) -> int | None:
        """The file offset of a line of ``block`` that is surely UTF-8, or None. Only
        lines with a byte in 80-A0 can be: none in GB2312 text (found at C speed); where
        such bytes are few, each is gone to (``bytes.find``), else the block searched."""
        lines = block.count(b"\n")
        self.lines += lines
        low = len(block.translate(None, _NOT_LOW))
        if not low:
            return None
        if low * 8 > lines:
            return self._lines(block, offset, _UTF8_SIGN.finditer(block))
        marked = block.translate(_LOW_TO_NUL)  # (a file with a NUL byte never gets here)
        return self._lines(block, offset, _at_nul(marked))

    def _lines(
        self, block: bytes, offset: int, places: Iterator[re.Match[bytes] | int]
    ) -> int | None:
        stop = -1
        for place in places:
            at = place if isinstance(place, int) else place.start()
            if at <= stop:
                continue  # a line already looked at
            start = block.rfind(b"\n", 0, at) + 1
            stop = block.find(b"\n", at)
            stop = len(block) if stop < 0 else stop
            strength = _utf8_strength(block[start:stop])
            if strength == 2:
                return offset + start
            if strength == 1:
                self.weak += 1
                self.first_weak = offset + start if self.first_weak is None else self.first_weak
        return None

    def weak_enough(self) -> int | None:
        """The first weak line when weak lines are too many to be chance."""
        if self.weak >= 2 and self.weak * 1000 >= self.lines:
            return self.first_weak
        return None


def _at_nul(marked: bytes) -> Iterator[int]:
    at = marked.find(b"\0")
    while at >= 0:
        yield at
        at = marked.find(b"\0", at + 1)


def _utf8_strength(line: bytes) -> int:
    """0: not UTF-8 evidence; 1: weak; 2: strong (see ``Utf8Lines``)."""
    signs = len(_UTF8_SIGN.findall(line))
    if not signs:
        return 0
    try:
        text = line.decode("utf-8")
    except UnicodeDecodeError:
        return 0
    wide = [c for c in text if c >= "\x80"]
    if not all(_CJK.match(c) for c in wide):
        return 0
    try:
        other = line.decode("gb18030")
    except UnicodeDecodeError:
        return 2
    if _common_share(wide) <= _common_share([c for c in other if c >= "\x80"]):
        return 0
    return 2 if signs >= 2 else 1


def _common_share(chars: list[str]) -> float:
    common = 0
    for c in chars:
        try:
            c.encode("gb2312")
            common += 1
        except UnicodeEncodeError:
            pass
    return common / len(chars) if chars else 1.0
