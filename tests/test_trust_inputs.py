"""Inputs that are at fault stop the run with exit 2 and a short message naming the file
and the line or byte, never exit 1 and never row content in the log; rows whose fields
do not match the header are rejected; line numbers are physical lines; a file that
mixes encodings or changes while read is never scored (issue #17: never silently wrong).
"""

from __future__ import annotations

import itertools
import random
import subprocess
import sys
from pathlib import Path

import polars as pl
import pytest

from tierscore.scoring import csv_bytes
from tierscore.scoring.errors import ConfigError, InputError
from tierscore.scoring.pipeline import Job, inspect, run
from tierscore.scoring.sources import BALANCES, LINE_COL, Reader, _scan_csv
from tierscore.scoring.window import parse_window

from .conftest import Ran, random_csv, tierscore_here

TIERSCORE = Path(sys.executable).with_name("tierscore")
H1 = parse_window("2026H1")
BAL = "customer_id,account_id,product,date,balance"
TXN = "customer_id,txn_id,date,txn_type,amount,fee,fee_ratio"
CUS = "customer_id,branch,manager,overdue_90d,missed_consecutive,missed_total"
SECRET = "S" * 10_000  # a customer id that must never reach stderr
_OUTS = itertools.count()


def write(path: Path, text: str | bytes, encoding: str = "utf-8") -> Path:
    path.write_bytes(text if isinstance(text, bytes) else text.encode(encoding))
    return path


def inputs(folder: Path) -> tuple[Path, Path]:
    bal = write(folder / "good_bal.csv", f"{BAL}\nC1,A1,CURRENT,2025-12-31,100.00\n")
    txn = write(folder / "good_txn.csv", f"{TXN}\nC1,T1,2026-03-05,POS,10.00,,\n")
    return bal, txn


def tierscore(*args: str) -> Ran:
    """The CLI in this process (``conftest.tierscore_here``); one test below runs the
    installed command, for the exit code a process ends with."""
    return tierscore_here(*args)


def score(folder: Path, *args: str) -> tuple[Ran, Path]:
    """``tierscore score`` with the good inputs unless ``args`` replaces them, into a
    fresh --out folder that does not exist yet."""
    bal, txn = inputs(folder)
    given = dict(zip(args[::2], args[1::2], strict=True))
    given = {"--balances": str(bal), "--transactions": str(txn), **given}
    out = folder / f"out{next(_OUTS)}"
    assert not out.exists()
    flat = [item for pair in given.items() for item in pair]
    return tierscore("score", *flat, "--period", "2026H1", "--out", str(out), "--quiet"), out


def assert_stopped(
    done: Ran | subprocess.CompletedProcess[str], bad: Path, out: Path | None
) -> None:
    """Exit 2, one short line naming the file, no row content, nothing published."""
    assert done.returncode == 2, done.stderr
    assert str(bad) in done.stderr
    assert len(done.stderr) < 1000, done.stderr[:300]
    assert "Traceback" not in done.stderr and SECRET[:50] not in done.stderr
    if out is not None:
        assert not out.exists() or not [p for p in out.rglob("*") if p.is_file()]


# --- files that cannot be read at all: exit 2, not 1 ---------------------------------

BROKEN = {
    "empty.csv": b"",
    "random.csv": random.Random(7).randbytes(20_000),
    "random_no_nul.csv": bytes(b or 1 for b in random.Random(8).randbytes(20_000)),
    "gbk_cut.csv": f"{BAL}\n张三,A1,CURRENT,2025-12-31,1.00\n王".encode("gbk")[:-1],
    "quote.csv": f'{BAL}\nC1,"A1,CURRENT,2025-12-31,1.00\n{SECRET},A2,T,2025-12-31,1\n'.encode(),
    "stray_quote.csv": f'{BAL}\nC1,A"1,CURRENT,2025-12-31,1\n{SECRET},A2,T,2025-12-31,1\n'.encode(),
    "utf16.csv": f"{BAL}\nC1,A1,CURRENT,2025-12-31,1.00\n".encode("utf-16"),
    "utf16_no_bom.csv": f"{BAL}\nC1,A1,CURRENT,2025-12-31,1.00\n".encode("utf-16-le"),
    "cut.parquet": None,  # filled in below: a real file cut in half
    "not.parquet": b"this is not parquet",
    "empty.parquet": b"",
}


def broken_file(folder: Path, name: str) -> Path:
    path = folder / name
    if name == "cut.parquet":
        frame = pl.DataFrame({"customer_id": ["C1"] * 1000, "account_id": ["A1"] * 1000})
        frame.write_parquet(path)
        path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
        return path
    data = BROKEN[name]
    assert data is not None
    return write(path, data)


@pytest.mark.parametrize("name", sorted(BROKEN))
def test_an_unreadable_balances_file_is_exit_2(tmp_path: Path, name: str) -> None:
    bad = broken_file(tmp_path, name)
    done, out = score(tmp_path, "--balances", str(bad))
    assert_stopped(done, bad, out)


def test_the_installed_command_ends_with_exit_2(tmp_path: Path) -> None:
    """The process, not only ``_outcome``: an unreadable input ends it with 2."""
    bad = broken_file(tmp_path, "quote.csv")
    txn = inputs(tmp_path)[1]
    out = tmp_path / "out"
    done = subprocess.run([str(TIERSCORE), "score", "--balances", str(bad), "--transactions",
                           str(txn), "--period", "2026H1", "--out", str(out), "--quiet"],
                          capture_output=True, text=True)  # fmt: skip
    assert_stopped(done, bad, out)
    assert "line 2: a quoted field is never closed" in done.stderr


@pytest.mark.parametrize("name", ["empty.csv", "quote.csv", "utf16.csv", "gbk_cut.csv"])
def test_customers_previous_and_validate_stop_alike(tmp_path: Path, name: str) -> None:
    bad = broken_file(tmp_path, name)
    done, out = score(tmp_path, "--customers", str(bad))
    assert_stopped(done, bad, out)
    done, out = score(tmp_path, "--previous", str(bad))
    assert_stopped(done, bad, out)
    bal, txn = inputs(tmp_path)
    for args in (["--balances", str(bad), "--transactions", str(txn)],
                 ["--balances", str(bal), "--transactions", str(bad)]):  # fmt: skip
        assert_stopped(tierscore("validate", *args), bad, None)


def test_an_unbalanced_quote_names_its_line_and_leaks_no_row(tmp_path: Path) -> None:
    bad = broken_file(tmp_path, "quote.csv")
    done, _ = score(tmp_path, "--balances", str(bad))
    assert "line 2: a quoted field is never closed" in done.stderr
    stray = broken_file(tmp_path, "stray_quote.csv")
    with pytest.raises(InputError, match="line 2: a quote inside an unquoted field"):
        inspect(str(stray), str(inputs(tmp_path)[1]))


def test_an_unknown_or_utf16_encoding_is_exit_2(tmp_path: Path) -> None:
    for encoding, said in (("bogus", "unknown encoding 'bogus'"), ("utf-16", "UTF-16"),
                           ("base64", "not a text encoding")):  # fmt: skip
        done, out = score(tmp_path, "--encoding", encoding)
        assert done.returncode == 2 and said in done.stderr and "--encoding" in done.stderr
        assert not out.exists()
    bal, txn = inputs(tmp_path)
    done = tierscore("validate", "--balances", str(bal), "--transactions", str(txn),
                     "--encoding", "bogus")  # fmt: skip
    assert done.returncode == 2 and "unknown encoding" in done.stderr


def test_a_header_only_file_is_zero_rows(tmp_path: Path) -> None:
    bal, _ = inputs(tmp_path)
    txn = write(tmp_path / "txn_empty.csv", TXN)  # no newline either
    result = run(Job(str(bal), str(txn), H1))
    assert result.summary["rows"]["transactions"]["read"] == 0
    assert result.scores["customer_id"].to_list() == ["C1"]


def test_a_forced_encoding_does_not_decode_with_replacement(tmp_path: Path) -> None:
    gbk = write(tmp_path / "gbk.csv", f"{BAL}\n张三,A1,CURRENT,2025-12-31,1.00\n", "gbk")
    done, out = score(tmp_path, "--balances", str(gbk), "--encoding", "utf-8")
    assert_stopped(done, gbk, out)
    at = len(BAL) + 1  # the first byte of line 2
    assert f"not UTF-8 at byte {at} (line 2)" in done.stderr
    with pytest.raises(InputError, match=f"not ascii at byte {at}"):
        inspect(str(gbk), str(inputs(tmp_path)[1]), encoding="ascii")


# --- rows with another field count -------------------------------------------------


def test_an_unquoted_thousands_separator_in_a_short_row_is_rejected(tmp_path: Path) -> None:
    """The export leaves out the optional fee columns; an unquoted 1,000.00 then fills
    one of them: amount 1, fee 000.00. The row has fewer fields than the header."""
    bal = write(tmp_path / "bal.csv", f"{BAL}\nC1,A1,CURRENT,2025-12-31,100.00\n")
    txn = write(tmp_path / "txn.csv", f"{TXN}\nC1,T1,2026-01-05,POS,1,000.00\n"
                "C1,T2,2026-01-05,POS,5.00,,\nC1,T3,2026-01-05,POS,7.00,,,\n"
                "C1,T4,2026-01-05,POS,1,000.00,,\n")  # fmt: skip
    result = run(Job(str(bal), str(txn), H1))
    rejects = result.rejects.select("line", "column", "value", "reason").rows()
    # a row ending in one more, empty field is only fine where the header ends so too:
    # else T4 (amount 1, fee 000.00, ratio empty, then "") would pass as 1 yuan
    assert rejects == [
        (2, "(fields)", "6 of 7", "fewer fields than the header"),
        (4, "(beyond the header)", "", "more fields than the header"),
        (5, "(beyond the header)", "", "more fields than the header"),
    ]
    assert str(result.scores["card_spending_amount"][0]) == "5.00"  # T2 only, not T4's 1
    out = tmp_path / "out"
    done = tierscore("score", "--balances", str(bal), "--transactions", str(txn), "--period",
                     "2026H1", "--out", str(out), "--max-reject-rate", "1")  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "2,(fields),6 of 7,fewer fields than the header" in (out / "rejects.csv").read_text()


def test_field_counts_everywhere_in_a_file(tmp_path: Path) -> None:
    """Short runs, long rows, blank lines, a trailing comma, quoted fields, past the
    first chunk: every odd row is found, at its line, and no other."""
    lines = [BAL]
    odd = {}
    for i in range(2, 60_000):
        row = f"C{i},A{i},CURRENT,2025-12-31,1.00"
        if i % 7919 == 0:
            row, odd[i] = f"C{i},A{i}", "2 of 5"
        elif i % 9973 == 0:
            row, odd[i] = row + ",x", "x"
        elif i % 10007 == 0:
            row, odd[i] = "", "1 of 5"
        elif 30_000 <= i < 30_100:
            row, odd[i] = f"C{i},A{i},CURRENT,2025-12-31", "4 of 5"  # a run of short rows
        elif i % 1000 == 0:
            row, odd[i] = f'"C{i}","A,{i}",CURRENT,2025-12-31,"1.00",', ""  # trailing comma
        lines.append(row)
    bal = write(tmp_path / "bal.csv", "\r\n".join(lines) + "\r\n")
    found = inspect(str(bal), str(inputs(tmp_path)[1]), None).rejects
    shape = found.filter(pl.col("column").is_in(["(fields)", "(beyond the header)"]))
    assert dict(shape.select("line", "value").rows()) == odd
    assert found.filter(pl.col("line") % 1000 == 0, ~pl.col("line").is_in(odd)).height == 0


def test_the_previous_scores_file_must_be_well_formed(tmp_path: Path) -> None:
    prev = write(tmp_path / "prev.csv", "customer_id,tier\nC1,三星级\nC2\n")
    done, out = score(tmp_path, "--previous", str(prev))
    assert_stopped(done, prev, out)
    assert "line 3 has 1 fields, the header 2" in done.stderr


# --- line numbers ------------------------------------------------------------------


def test_lines_after_quoted_newlines_are_physical_lines(tmp_path: Path) -> None:
    txn = write(tmp_path / "txn.csv", "\n".join([
        '"customer\nid",txn_id,date,txn_type,amount,fee,fee_ratio',  # header: lines 1-2
        'C1,"T1\n\nsplit",2026-01-05,POS,5.00,,',  # lines 3-5
        "C1,T2,2026-01-05,POS,-1.00,,",  # line 6: rejected
        'C1,T3,2026-01-05,"P\nOS",5.00,,',  # lines 7-8
        "C1,T4,2026-01-05,POS,abc,,",  # line 9: rejected
    ]) + "\n")  # fmt: skip
    mapping = write(tmp_path / "columns.toml", '[transactions]\ncustomer_id = """customer\nid"""\n')
    bal = inputs(tmp_path)[0]
    out = tmp_path / "out"
    done = tierscore("score", "--balances", str(bal), "--transactions", str(txn), "--columns",
                     str(mapping), "--period", "2026H1", "--out", str(out),
                     "--max-reject-rate", "1")  # fmt: skip
    assert done.returncode == 0, done.stderr
    rejects = pl.read_csv(out / "rejects.csv", infer_schema=False)
    assert rejects.select("line", "column").rows() == [("6", "amount"), ("9", "amount")]


def test_line_numbers_survive_chunks_and_many_quoted_newlines(tmp_path: Path) -> None:
    lines, bad = [BAL], []
    line = 2
    for i in range(120_000):  # about 5 MiB: more than one chunk
        if i % 5000 == 1:
            lines.append(f'C{i},"A\n{i}",CURRENT,2025-12-31,1.00')
            line += 2
        elif i % 5000 == 2:
            lines.append(f"C{i},A{i},CURRENT,2025-12-31,-1.00")
            bad.append(line)
            line += 1
        else:
            lines.append(f"C{i},A{i},CURRENT,2025-12-31,1.00")
            line += 1
    bal = write(tmp_path / "bal.csv", "\n".join(lines) + "\n")
    found = inspect(str(bal), str(inputs(tmp_path)[1])).rejects
    assert found["line"].to_list() == bad


# --- encodings ---------------------------------------------------------------------


def test_mixed_encodings_stop_the_run_both_ways(tmp_path: Path) -> None:
    head = f"{BAL}\n".encode()
    gbk = [f"张{i}三,A{i},CURRENT,2025-12-31,1.00\n".encode("gbk") for i in range(50)]
    utf8 = [f"王{i}五,B{i},CURRENT,2025-12-31,1.00\n".encode() for i in range(50)]
    mostly_gbk = write(tmp_path / "mostly_gbk.csv", head + b"".join(gbk) + utf8[0])
    mostly_utf8 = write(tmp_path / "mostly_utf8.csv", head + b"".join(utf8) + gbk[0])
    for bad, said in ((mostly_gbk, "line 52 is UTF-8 but line 2 is not"),
                      (mostly_utf8, "line 2 is UTF-8 but line 52 is not")):  # fmt: skip
        done, out = score(tmp_path, "--balances", str(bad))
        assert_stopped(done, bad, out)
        assert said in done.stderr and "mixes encodings" in done.stderr
    forced = write(tmp_path / "utf8.csv", head + b"".join(utf8))
    with pytest.raises(InputError, match="line 2 is UTF-8, not gb18030"):
        inspect(str(forced), str(inputs(tmp_path)[1]), encoding="gb18030")


def test_a_single_utf8_row_in_a_gbk_file_is_found(tmp_path: Path) -> None:
    rows = [f"C{i},A{i},CURRENT,2025-12-31,1.00\n".encode() for i in range(20_000)]
    rows[0] = "张三,A,CURRENT,2025-12-31,1.00\n".encode("gbk")
    rows[15_000] = "客户王五六,A,CURRENT,2025-12-31,1.00\n".encode()
    bad = write(tmp_path / "bal.csv", f"{BAL}\n".encode() + b"".join(rows))
    with pytest.raises(InputError, match="line 15002 is UTF-8 but line 2 is not"):
        inspect(str(bad), str(inputs(tmp_path)[1]))


def _gbk_chars(common: bool) -> list[str]:
    """Chinese characters GBK encodes; ``common``: those of GB2312, else the others."""
    chars = []
    for code in range(0x4E00, 0xA000):
        char = chr(code)
        if _encodes(char, "gbk") and _encodes(char, "gb2312") == common:
            chars.append(char)
    return chars


def _encodes(char: str, encoding: str) -> bool:
    try:
        char.encode(encoding)
    except UnicodeEncodeError:
        return False
    return True


@pytest.mark.parametrize("rare_share", [0.0, 0.05])
def test_a_large_genuine_gbk_export_is_not_taken_for_mixed(
    tmp_path: Path, rare_share: float
) -> None:
    """200,000 rows of random names and branches (GB2312 only, and with 1 character in
    20 outside it): many lines are valid UTF-8 by chance, none may stop the run."""
    rng = random.Random(17)
    common, rare = _gbk_chars(True), _gbk_chars(False)

    def word(length: int) -> str:
        return "".join(
            rng.choice(rare) if rng.random() < rare_share else rng.choice(common)
            for _ in range(length)
        )

    names = [word(rng.choice((2, 3))) for _ in range(5000)]
    branches = [word(rng.choice((2, 4))) + "支行" for _ in range(500)]
    lines = [f"{BAL},name,branch"]
    lines += [  # every other row without a branch: a line with just a name is more
        # often valid UTF-8 by chance
        f"C{i},A{i},CURRENT,2025-12-31,1.00,{rng.choice(names)},"
        + (rng.choice(branches) if i % 2 else "")
        for i in range(200_000)
    ]
    text = ("\n".join(lines) + "\n").encode("gbk")
    path = write(tmp_path / "gbk.csv", text)
    assert sum(1 for line in text.split(b"\n") if not line.isascii() and _utf8(line)) > 0
    with Reader() as reader:
        _, info = reader.open(BALANCES, path, str(path))
    assert info.encoding == "gb18030"


def _utf8(line: bytes) -> bool:
    try:
        line.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def test_gbk_lines_that_happen_to_be_utf8_are_decoded_as_gbk(tmp_path: Path) -> None:
    """A short name can be valid UTF-8 in GBK bytes (浣犲 is UTF-8 for 你): the file is
    read as GB18030, the name as written."""
    name = "浣犲ソ"
    assert name.encode("gbk").decode("utf-8") == "你好"
    path = write(tmp_path / "bal.csv", f"{BAL}\n{name},A1,CURRENT,2025-12-31,1.00\n"
                 "张三,A2,CURRENT,2025-12-31,1.00\n", "gbk")  # fmt: skip
    result = run(Job(str(path), str(inputs(tmp_path)[1]), H1))
    assert sorted(result.scores["customer_id"]) == sorted([name, "张三", "C1"])


# --- a file that changes while the run reads it ------------------------------------


class _Appender:
    """An observer that appends to a file when the compute stage starts (as an export
    still being written would)."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def started(self, stage: str, detail: str) -> None:
        if stage == "compute":
            with self.path.open("ab") as fh:
                fh.write(self.path.read_bytes()[-40:])

    def finished(self, stage: str, seconds: float, detail: str) -> None:
        pass


def test_a_file_that_changes_during_the_run_is_not_scored(tmp_path: Path) -> None:
    bal, txn = inputs(tmp_path)
    with pytest.raises(InputError, match="changed while the run read it") as caught:
        run(Job(str(bal), str(txn), H1), _Appender(txn))
    assert caught.value.file == str(txn)
    parquet = tmp_path / "bal.parquet"
    pl.read_csv(bal, infer_schema=False).write_parquet(parquet)
    with pytest.raises(InputError, match="changed while the run read it") as caught:
        run(Job(str(parquet), str(txn), H1), _Appender(parquet))
    assert caught.value.file == str(parquet)
    pl.read_csv(bal, infer_schema=False).write_parquet(parquet)
    assert run(Job(str(parquet), str(txn), H1)).scores.height == 1  # unchanged: fine


def test_a_gbk_file_is_hashed_from_the_bytes_decoded(tmp_path: Path) -> None:
    path = write(tmp_path / "bal.csv", f"{BAL}\n张三,A1,CURRENT,2025-12-31,1.00\n", "gbk")
    scanned = csv_bytes.scan(path, str(path), None)
    path.write_bytes(path.read_bytes().replace(b"1.00", b"9.00"))
    with pytest.raises(InputError, match="changed while"):
        csv_bytes.transcode(path, str(path), scanned, tmp_path / "copy.csv", forced=False)


# --- polars errors at compute time -------------------------------------------------


def test_a_corrupt_parquet_page_is_blamed_on_its_file(tmp_path: Path) -> None:
    bal = tmp_path / "bal.parquet"
    frame = pl.DataFrame({
        "customer_id": [f"C{i % 997}" for i in range(200_000)],
        "account_id": [f"A{i}" for i in range(200_000)],
        "product": ["CURRENT"] * 200_000,
        "date": ["2025-12-31"] * 200_000,
        "balance": [f"{i}.00" for i in range(200_000)],
    })  # fmt: skip
    frame.write_parquet(bal, compression="zstd")
    data = bytearray(bal.read_bytes())
    for i in range(len(data) // 10, len(data) * 8 // 10):  # the pages, not the footer
        data[i] ^= 0x5A
    bal.write_bytes(bytes(data))
    done, out = score(tmp_path, "--balances", str(bal))
    assert_stopped(done, bal, out)
    assert "cannot be read" in done.stderr


def test_polars_reading_another_row_count_is_an_input_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Lines and field counts found in the bytes apply to polars' rows only if both
    read the same records: a different count stops the run."""
    real = csv_bytes._Shaper.finish

    def miscounted(self: csv_bytes._Shaper) -> csv_bytes.Shape:
        shape = real(self)
        shape.records = 99
        return shape

    monkeypatch.setattr(csv_bytes._Shaper, "finish", miscounted)
    bal, txn = inputs(tmp_path)
    with pytest.raises(InputError, match="99 records in the file but 1 rows read"):
        run(Job(str(bal), str(txn), H1))


def test_a_bug_is_not_blamed_on_an_input(tmp_path: Path) -> None:
    bal, _ = inputs(tmp_path)
    with pytest.raises(pl.exceptions.InvalidOperationError), Reader() as reader:
        reader.open(BALANCES, bal, str(bal))
        pl.DataFrame({"x": ["a"]}).select(pl.col("x").cast(pl.Int64))
    with pytest.raises(ConfigError):
        Reader("no-such-codec")


# --- the shape of a file, whatever its chunks --------------------------------------


def _random_csv(rng: random.Random) -> tuple[bytes, list[tuple[int, int, bool]]]:
    """A well-formed CSV of 4 columns whose rows have 1 to 6 fields, some quoted (with
    commas, doubled quotes and newlines inside), some blank, LF or CRLF; with each
    data record's (fields, first line, last field empty) as Python's csv module reads
    them."""
    import csv
    import io

    text = random_csv(rng, 40)
    reader = csv.reader(io.StringIO(text, newline=""))
    expected = []
    line = 1
    for number, record in enumerate(reader):
        if number:
            record = record or [""]  # a blank line: one empty field, as polars reads it
            expected.append((len(record), line, record[-1] == ""))
        line = reader.line_num + 1
    return text.encode(), expected


@pytest.mark.parametrize("seed", range(40))
def test_the_shape_is_the_same_in_any_chunks(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, seed: int
) -> None:
    rng = random.Random(seed)
    for number in range(10):
        data, expected = _random_csv(rng)
        path = write(tmp_path / f"{number}.csv", data)
        whole = csv_bytes.scan(path, str(path), None).shape
        monkeypatch.setattr(csv_bytes, "CHUNK", rng.randint(1, 40))
        assert csv_bytes.scan(path, str(path), None).shape == whole
        monkeypatch.undo()
        for index, (fields, line, _last_empty) in enumerate(expected):
            at = max(i for i, start in enumerate(whole.starts) if start <= index)
            assert index + 2 + whole.shifts[at] == line, (data, index)
            fine = fields == 4  # the header ends in no empty field: rows may not either
            assert (whole.counts[at] == 0) == fine, (data, index)
            assert whole.counts[at] in (0, fields)
        assert whole.records in (None, len(expected))
        rows = _scan_csv(path, whole, str(path)).collect()  # and polars reads the same rows
        assert rows[LINE_COL].to_list() == [line for _, line, _ in expected]


def test_a_short_customers_row_is_rejected_not_read_as_no_blemish(tmp_path: Path) -> None:
    """Left out, a flag would read as blank, which means "no blemish"."""
    bal, txn = inputs(tmp_path)
    customers = write(tmp_path / "customers.csv", f"{CUS}\nC1,BR1,M1,true,0,0\nC2,BR1,M1\n")
    job = Job(str(bal), str(txn), H1, customers=str(customers))
    rejects = run(job).rejects.filter(pl.col("file") == str(customers))
    assert rejects.select("line", "column", "value").rows() == [(3, "(fields)", "3 of 6")]


@pytest.mark.parametrize("end", ["\n", "\r\n"])
def test_quote_all_exports_are_read_fast_and_checked(tmp_path: Path, end: str) -> None:
    """Every field quoted, as some exports write: plain if every quote is around a
    field; a quote with text on both sides anywhere stops the run at its line."""
    rows = [f'"C{i}","A{i}","CURRENT","2025-12-31","{i}.00"' for i in range(60_000)]
    good = write(tmp_path / "good.csv", end.join([BAL, *rows]) + end)
    shape = csv_bytes.scan(good, str(good), None).shape
    assert shape.plain and shape.records is None  # no row looked at on its own
    found = inspect(str(good), str(inputs(tmp_path)[1]))
    assert found.counts["balances"]["valid"] == 60_000
    for broken, why in (('"C1"x', "text after a closing quote"), ('C"1', "inside an unquoted")):
        rows[40_000] = f'{broken},"A","CURRENT","2025-12-31","1.00"'
        bad = write(tmp_path / "bad.csv", end.join([BAL, *rows]) + end)
        with pytest.raises(InputError, match=f"line 40002: .*{why}"):
            csv_bytes.scan(bad, str(bad), None)


def test_rows_may_end_in_an_empty_field_where_the_header_does(tmp_path: Path) -> None:
    """An export that ends every line, header included, with a comma: its rows read as
    the header's fields; an unquoted 1,000.00 there is still one field too many."""
    bal = write(tmp_path / "bal.csv", f"{BAL},\nC1,A1,CURRENT,2025-12-31,100.00,\n"
                "C1,A2,CURRENT,2025-12-31,1,000.00,\n")  # fmt: skip
    found = inspect(str(bal), str(inputs(tmp_path)[1]), None)
    assert found.rejects.select("line", "column").rows() == [(3, "(beyond the header)")]
    assert found.counts["balances"]["rejected"] == 1
