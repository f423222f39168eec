"""The Spark engine rejects and stops on hostile CSV exactly as the polars engine does.

A local CSV file is checked on the driver by the polars engine's own byte-level
code, and what that finds (short and long rows, lines after a newline inside
quotes, blank lines Spark's reader skips) reaches the Spark tasks. Each case here
runs both engines on the same files: a row with fewer fields than the header (an
unquoted ``1,000.00`` there must never read as 1 yuan), one with more, lines after a
quoted newline, blank lines, CRLF, GB18030; and the files that stop the run (mixed
encodings, UTF-16, unbalanced quotes, …) stop both with the same message. The
shared session (see conftest) reads CSV in 64 KiB splits, so marks are also placed
across splits.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import polars as pl
import pytest

from tierscore.cli.errors import _outcome
from tierscore.cli.main import app
from tierscore.scoring.errors import InputError
from tierscore.scoring.pipeline import Job, Result, run
from tierscore.scoring.window import parse_window

from .conftest import spark_runs_kept

pytestmark = pytest.mark.spark

H1 = parse_window("2026H1")
BAL = "customer_id,account_id,product,date,balance"
TXN = "customer_id,txn_id,date,txn_type,amount,fee,fee_ratio"
SHORT_1000 = "C1,TS1,2026-03-05,DEP,1,000.00"  # 6 of 7: never amount 1 and fee 000.00
LONG_1000 = "C2,TL1,2026-03-05,DEP,1,000.00,2.00,0.001"  # 8 of 7


def _spark_run(job: Job, spark: Any) -> Result:
    from tierscore.scoring import spark_engine

    return spark_engine.run(job, spark=spark)


def _assert_same(local: Result, remote: Result) -> None:
    assert remote.scores.equals(local.scores)
    assert remote.rejects.equals(local.rejects)
    assert remote.summary == local.summary
    for name, files in local.inputs.items():
        assert [f.as_dict() for f in remote.inputs[name]] == [f.as_dict() for f in files]


def _problems(result: Result, name: str, line: int) -> set[tuple[str, str, str]]:
    rows = result.rejects.filter(pl.col("file").str.ends_with(name) & (pl.col("line") == line))
    return {(r["column"], r["value"], r["reason"]) for r in rows.iter_rows(named=True)}


def _txn(i: int) -> str:
    return f"C{i % 40},T{i:05d},2026-03-{1 + i % 28:02d},DEP,{10 + i % 90}.50,,"


def _write(path: Path, lines: list[str], newline: str = "\n", encoding: str = "utf-8") -> str:
    path.write_bytes((newline.join(lines) + newline).encode(encoding))
    return str(path)


def _hostile_inputs(root: Path) -> tuple[str, str, dict[str, int]]:
    """Balances (CRLF, blank lines, a short row) and a folder of transactions files:
    plain UTF-8 read in many splits, one with a newline inside quotes (read whole), and
    GB18030. Returns the two inputs and the lines of the rows the cases are about."""
    at: dict[str, int] = {}
    bal = [BAL] + [f"C{i},A{i},SAV,2026-0{1 + i % 6}-01,{100 + i}.00" for i in range(40)]
    bal[10:10] = ["", "C9,A9,SAV,2026-02-01", " \t"]  # blank, 4 of 5, white space
    bal.append("C3,A3,SAV,2026-04-01,1,000.00")  # 6 of 5
    at["bal_short"], at["bal_long"] = 12, len(bal)
    balances = _write(root / "bal.csv", [*bal, ""], newline="\r\n")
    folder = root / "txn"
    folder.mkdir()
    plain = [TXN] + [_txn(i) for i in range(3000)]  # about 120 KiB: several splits
    plain[1500] = SHORT_1000
    plain[2200] = LONG_1000
    plain[2600:2600] = ["", "   "]  # blank lines, which Spark's reader skips
    plain[2700] = '"C""7",TQ1,2026-03-09,DEP,7.00,,'  # a doubled quote inside quotes
    plain[2800] = "C8,TC1,2026-03-09,DEP,8.00,,,"  # ends in a comma: 7 fields, as read
    at["short"], at["long"], at["blank"] = 1501, 2201, 2601
    _write(folder / "a.csv", plain)
    quoted = [TXN] + [_txn(i) for i in range(3000, 3400)]
    quoted[5] = 'C5,"T\nQ",2026-03-05,DEP,5.00,,'  # lines 6-7
    quoted[200] = SHORT_1000.replace("TS1", "TS2")  # line 201 + 1 after the newline
    quoted[300:300] = [""]
    at["quoted_short"], at["quoted_blank"] = 202, 302
    _write(folder / "b.csv", [*quoted, ""])  # ends in a blank line
    gb = [TXN] + [_txn(i) for i in range(3400, 3500)]
    gb[50] = "张三,TG1,2026-03-05,DEP,1,000.00"
    at["gb_short"] = 51
    _write(folder / "c.csv", gb, newline="\r\n", encoding="gb18030")
    return balances, str(folder), at


def _assert_hostile_rejected(remote: Result, at: dict[str, int]) -> None:
    """Each hostile row of ``_hostile_inputs`` rejected at its line, and no other."""
    short = ("(fields)", "6 of 7", "fewer fields than the header")
    assert short in _problems(remote, "a.csv", at["short"])
    assert short in _problems(remote, "b.csv", at["quoted_short"])
    assert short in _problems(remote, "c.csv", at["gb_short"])
    long = ("(beyond the header)", "0.001", "more fields than the header")
    assert long in _problems(remote, "a.csv", at["long"])
    blank = ("(fields)", "1 of 7", "fewer fields than the header")
    for line in (at["blank"], at["blank"] + 1, at["quoted_blank"]):
        assert blank in _problems(remote, "a.csv" if line != at["quoted_blank"] else "b.csv", line)
    assert ("(fields)", "4 of 5", "fewer fields than the header") in _problems(
        remote, "bal.csv", at["bal_short"]
    )
    assert ("(beyond the header)", "000.00", "more fields than the header") in _problems(
        remote, "bal.csv", at["bal_long"]
    )
    quoted_ok = remote.rejects.filter(pl.col("file").str.ends_with("b.csv"), pl.col("line") < 8)
    assert quoted_ok.is_empty()  # the id with a newline inside quotes is data
    assert not _problems(remote, "a.csv", 2701)  # so is a doubled quote inside quotes
    assert 'C"7' in set(remote.scores["customer_id"])
    assert remote.inputs["transactions"][2].encoding == "gb18030"


def _stop(job: Job, spark: Any) -> tuple[str, str]:
    with pytest.raises(InputError) as polars_stop:
        run(job)
    with pytest.raises(InputError) as spark_stop:
        _spark_run(job, spark)
    return str(polars_stop.value), str(spark_stop.value)


def test_unreadable_files_stop_both_engines_alike(spark: Any, tmp_path: Path) -> None:
    """Each stops on the driver, before Spark reads a row: the same InputError (exit 2),
    naming the file and line, with no more than a line of it."""
    good = _write(tmp_path / "good.csv", [TXN, _txn(1)])
    gb_row = "张三,A1,SAV,2026-01-01,1.00"
    cases: dict[str, tuple[bytes, str | None, str]] = {
        "mixed": ((f"{BAL}\n{gb_row}\n").encode("gb18030") + "李四,A2,SAV,2026-01-01,1\n".encode(),
                  None, "mixes encodings"),
        "forced": ((f"{BAL}\n{gb_row}\n").encode(), "gbk", "line 2 is UTF-8, not gbk"),
        "utf16": (f"{BAL}\nC1,A1,SAV,2026-01-01,1\n".encode("utf-16"), None, "UTF-16"),
        "nul": (f"{BAL}\nC1,A1,SAV,2026-01-01,1\x00\n".encode(), None, "NUL byte"),
        "bytes": (f"{BAL}\nC1,A1,SAV,2026-01-01,1".encode() + b"\xff\xfe\n", None, "not gb18030"),
        "open": (f'{BAL}\nC1,"A1,SAV,2026-01-01,1\nC2,A2,SAV,2026-01-01,1\n'.encode(), None,
                 "line 2: a quoted field is never closed"),
        "bare": (f'{BAL}\nC1,A"1,SAV,2026-01-01,1\n'.encode(), None, "line 2: a quote inside"),
    }  # fmt: skip
    for name, (data, encoding, said) in cases.items():
        path = tmp_path / f"{name}.csv"
        path.write_bytes(data + b"C9,A9,SAV,2026-01-01,1\n" * 5000)  # rows no message may show
        polars_said, spark_said = _stop(Job(str(path), good, H1, encoding=encoding), spark)
        assert spark_said == polars_said, name
        assert spark_said.startswith(f"{path}: ") and said in spark_said, (name, spark_said)
        assert len(spark_said) - len(str(path)) <= 220 and "C9" not in spark_said, name


def _cli(*args: str) -> int:
    return _outcome(lambda: app(list(args), prog_name="tierscore"), verbose=False)


def test_hostile_rows_are_rejected_alike(
    spark: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """End to end: ``--engine spark`` writes the polars engine's scores, summary and
    rejects.csv for the hostile files, its run (kept on the way) is the polars engine's
    and rejects each hostile row at its line, and a file mixing encodings is exit 2."""
    runs = spark_runs_kept(monkeypatch)
    balances, transactions, at = _hostile_inputs(tmp_path)
    common = ["score", "--balances", balances, "--transactions", transactions, "--period",
              "2026H1", "--no-report", "--quiet", "--max-reject-rate", "1"]  # fmt: skip
    assert _cli(*common, "--out", str(tmp_path / "p")) == 0
    assert _cli(*common, "--out", str(tmp_path / "s"), "--engine", "spark") == 0
    [remote] = runs
    _assert_same(run(Job(balances, transactions, H1)), remote)
    _assert_hostile_rejected(remote, at)
    for name in ("scores.csv", "summary.json", "rejects.csv"):
        assert (tmp_path / "s" / name).read_bytes() == (tmp_path / "p" / name).read_bytes(), name
    rejects = pl.read_csv(tmp_path / "s" / "rejects.csv", infer_schema=False)
    short = rejects.filter(pl.col("line") == str(at["short"]), pl.col("column") == "(fields)")
    assert short["value"].to_list() == ["6 of 7"]
    summary = json.loads((tmp_path / "s" / "summary.json").read_text(encoding="utf-8"))
    assert summary["customers"] > 0
    mixed = tmp_path / "mixed.csv"
    mixed.write_bytes(f"{BAL}\n张三,A1,SAV,2026-01-01,1\n".encode("gb18030") + "李四,A2\n".encode())
    spark_args = ["--engine", "spark", "--out", str(tmp_path / "m")]
    assert _cli("score", "--balances", str(mixed), *common[3:], *spark_args) == 2
    assert not (tmp_path / "m" / "scores.csv").exists()
