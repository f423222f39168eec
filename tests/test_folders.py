"""Inputs as a bank's warehouse writes them: an option given several times, standard
input, and folders of ``key=value`` partitions at any depth (issue #19)."""

from __future__ import annotations

import hashlib
import io
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import polars as pl
import pytest

from tierscore.scoring.errors import InputError
from tierscore.scoring.pipeline import Job, Result, run
from tierscore.scoring.sources import BALANCES, Reader, locate, resolve_paths
from tierscore.scoring.window import parse_window

ROOT = Path(__file__).resolve().parent.parent
TIERSCORE = Path(sys.executable).with_name("tierscore")
SAMPLE = ROOT / "sample_data"
BAL, TXN = SAMPLE / "balances.csv", SAMPLE / "transactions.csv"
H1 = parse_window("2026H1")
HEADER = "customer_id,account_id,product,date,balance"


def _cli(*args: str) -> int:
    """The CLI in this process, its exit code as ``main`` maps it."""
    from tierscore.cli.errors import _outcome
    from tierscore.cli.main import app

    return _outcome(lambda: app(list(args), prog_name="tierscore"), verbose=False)


def _halves(src: Path, folder: Path) -> tuple[Path, Path]:
    """``src`` cut in two files of the same header."""
    lines = src.read_text(encoding="utf-8").splitlines()
    middle = len(lines) // 2
    first, second = folder / f"a-{src.name}", folder / f"b-{src.name}"
    first.write_text("\n".join(lines[:middle]) + "\n", encoding="utf-8")
    second.write_text("\n".join([lines[0], *lines[middle:]]) + "\n", encoding="utf-8")
    return first, second


def _partitioned(src: Path, folder: Path, days: int | None = None) -> Path | None:
    """``src``'s rows in ``folder/dt=<date>/part-0.csv`` or ``.parquet`` (by turns; money
    typed in Parquet), without their date column; ``days``: only the first so many
    dates, the other rows left in a flat file (returned) that keeps its dates."""
    frame = pl.read_csv(src, infer_schema=False)
    dates = frame["date"].unique(maintain_order=True).to_list()
    shown = dates if days is None else dates[:days]
    for i, day in enumerate(shown):
        part = frame.filter(pl.col("date") == day).drop("date")
        where = folder / f"dt={day}"
        where.mkdir(parents=True)
        if i % 2:
            money = [c for c in ("balance", "amount") if c in part.columns]
            part.with_columns(pl.col(money).cast(pl.Decimal(18, 2))).write_parquet(
                where / "part-0.parquet"
            )
        else:
            part.write_csv(where / "part-0.csv")
    if days is None:
        return None
    rest = folder.parent / f"rest-{src.name}"
    frame.filter(~pl.col("date").is_in(shown)).write_csv(rest)
    return rest


def _same_scores(a: Result, b: Result) -> None:
    assert a.scores.equals(b.scores)
    assert a.summary["rows"] == b.summary["rows"]
    assert a.rejects.height == b.rejects.height


@pytest.fixture(scope="module")
def flat() -> Result:
    return run(Job(str(BAL), str(TXN), H1))


def test_two_occurrences_score_as_one_file(tmp_path: Path, flat: Result) -> None:
    bal = _halves(BAL, tmp_path)
    txn = _halves(TXN, tmp_path)
    both = run(Job(tuple(map(str, bal)), tuple(map(str, txn)), H1))
    _same_scores(both, flat)
    assert [f.path for f in both.inputs["balances"]] == [str(p) for p in bal]


def test_same_file_twice_stops(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    folder = tmp_path / "bal"
    folder.mkdir()
    one = folder / "x.csv"
    one.write_text(f"{HEADER}\n", encoding="utf-8")
    (tmp_path / "link.csv").symlink_to(one)
    for given in [
        (str(one), str(one)),
        (str(folder), str(one)),  # a folder and a file in it
        (str(tmp_path / "*" / "x.csv"), str(tmp_path / "b*")),  # two globs
        (str(one), str(tmp_path / "link.csv")),  # a link to it
        ("-", "-"),
    ]:
        with pytest.raises(InputError, match="the same file is given twice") as caught:
            locate(given, "--balances")
        assert caught.value.key == "--balances"
    code = _cli("score", "-b", str(one), "-b", f"{folder}/", "-t", str(TXN), "-p", "2026H1",
                "-o", str(tmp_path / "out"))  # fmt: skip
    said = capsys.readouterr().err
    assert code == 2
    assert "--balances" in said and "the same file is given twice" in said and "x.csv" in said
    assert not (tmp_path / "out" / "scores.csv").exists()


def test_stdin_end_to_end(tmp_path: Path) -> None:
    """A pipe into ``-b -``: scored, hashed as read, named ``-`` in manifest and rejects."""
    data = BAL.read_bytes() + b"C1,C1-CUR,CURRENT,2026-02-30,5.00\n"
    lines = data.count(b"\n")
    out = tmp_path / "out"
    done = subprocess.run(
        [str(TIERSCORE), "score", "-b", "-", "-t", str(TXN), "-p", "2026H1", "-o", str(out),
         "--max-reject-rate", "1"],
        input=data, capture_output=True, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr.decode()
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    (given,) = manifest["inputs"]["balances"]
    assert given["path"] == "-" and given["sha256"] == hashlib.sha256(data).hexdigest()
    assert given["rows"] == lines - 1
    rejects = pl.read_csv(out / "rejects.csv", infer_schema=False)
    bad = rejects.filter(pl.col("value") == "2026-02-30")
    assert bad.select("file", "line").rows() == [("-", str(lines))]


def test_stdin_once_a_run_and_only_csv(capsys: pytest.CaptureFixture[str]) -> None:
    assert _cli("validate", "-b", "-", "-t", "-") == 2  # said before anything is read
    assert "standard input is read once, not by --balances and --transactions" in (
        capsys.readouterr().err
    )
    args = ["-t", str(TXN), "-p", "2026H1", "-r", "icbc-star", "-r", "pyramid", "-o", "x"]
    assert _cli("compare", "-b", "-", *args) == 2  # it runs twice: a pipe is read once
    assert "compare reads its inputs twice" in capsys.readouterr().err
    reader = Reader()
    reader.stdin = io.BytesIO(f"{HEADER}\n".encode())
    reader.open_input(BALANCES, "-")
    with pytest.raises(InputError, match="already read by --balances") as caught:
        reader.open_input(BALANCES, "-", "--transactions")
    assert caught.value.key == "--transactions"
    reader.close()
    parquet = Reader()
    parquet.stdin = io.BytesIO(b"PAR1" + bytes(100))
    with pytest.raises(InputError, match="read as plain CSV"):
        parquet.open_input(BALANCES, "-")
    parquet.close()
    with pytest.raises(InputError, match="standard input"):
        resolve_paths("-", "--previous")


def test_partitioned_folders_score_as_flat_files(tmp_path: Path, flat: Result) -> None:
    """Balances in a dt= folder a day (402 files: read together, each row its folder's
    date), transactions in 20 dt= folders and a flat file beside (read one by one)."""
    _partitioned(BAL, tmp_path / "bal")
    rest = _partitioned(TXN, tmp_path / "txn", days=20)
    for marker in ("_SUCCESS", "dt=2026-01-05/.part-0.csv.crc", "dt=x/_temporary/p.csv"):
        (tmp_path / "txn" / marker).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / "txn" / marker).write_text("not,an\ninput,file\n", encoding="utf-8")
    (tmp_path / "txn" / ".hidden.csv").write_text("junk\n", encoding="utf-8")
    result = run(Job(str(tmp_path / "bal"), (str(tmp_path / "txn"), str(rest)), H1))
    _same_scores(result, flat)
    days = pl.read_csv(BAL, infer_schema=False)["date"].n_unique()
    assert len(result.inputs["balances"]) == days > 32  # (``sources.MANY_FILES``)
    assert len(result.inputs["transactions"]) == 21 and result.skipped == {}
    first = result.inputs["balances"][0]
    assert first.path == str(tmp_path / "bal" / "dt=2025-03-01" / "part-0.csv")


def test_partition_values_checked_like_cells(tmp_path: Path) -> None:
    """A bad folder date rejects its rows (never guessed); Hive's null is empty; a file's
    own date wins over its folder's; a glob's partitions are below its fixed part."""
    bal = tmp_path / "bal"
    for folder, rows in {
        "dt=2026-13-01": ["C1,A1,CURRENT,100.00"],
        "dt=__HIVE_DEFAULT_PARTITION__": ["C2,A2,CURRENT,100.00"],
        "dt=2026-01-01": ["C3,A3,CURRENT,100.00"],
    }.items():
        (bal / folder).mkdir(parents=True)
        (bal / folder / "p.csv").write_text(
            "customer_id,account_id,product,balance\n" + "\n".join(rows) + "\n", encoding="utf-8"
        )
    (bal / "dt=2020-01-01").mkdir()  # the file's own date wins
    (bal / "dt=2020-01-01" / "own.csv").write_text(f"{HEADER}\nC4,A4,CURRENT,2026-01-01,1.00\n")
    result = run(Job(str(bal), str(TXN), H1))
    rejects = result.rejects.select("file", "column", "value", "reason").rows()
    assert (str(bal / "dt=2026-13-01" / "p.csv"), "date", "2026-13-01", "not a valid date") in (
        rejects
    )
    assert any(f.endswith("p.csv") and r == "empty date" for f, _, _, r in rejects)
    assert len(rejects) == 2
    days = run(Job(str(tmp_path / "b*" / "dt=2026-01-01" / "*.csv"), str(TXN), H1))
    assert days.summary["rows"]["balances"]["read"] == 1  # type: ignore[index]
    assert not days.rejects.height


def test_date_partitions_named_or_refused(tmp_path: Path) -> None:
    """Two date folders are not chosen between; --columns names the one, or another."""
    where = tmp_path / "bal" / "etl_date=2026-06-01" / "dt=2026-01-01"
    where.mkdir(parents=True)
    (where / "p.csv").write_text("customer_id,account_id,product,balance\nC1,A1,TIME,9000000\n")
    with pytest.raises(InputError, match=r"2 dates \(dt, etl_date\)"):
        run(Job(str(tmp_path / "bal"), str(TXN), H1))
    for header, day in (("dt", "2026-01-01"), ("etl_date", "2026-06-01")):
        flat = tmp_path / f"{header}.csv"
        flat.write_text(f"{HEADER}\nC1,A1,TIME,{day},9000000\n", encoding="utf-8")
        job = Job(str(tmp_path / "bal"), str(TXN), H1, mapping={"balances": {"date": header}})
        _same_scores(run(job), run(Job(str(flat), str(TXN), H1)))


def test_unknown_files_listed(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bal = tmp_path / "bal"
    bal.mkdir()
    (bal / "all.csv").write_bytes(BAL.read_bytes())
    (bal / "sub").mkdir()
    (bal / "sub" / "notes.json").write_text("{}", encoding="utf-8")
    out = tmp_path / "out"
    code = _cli("score", "-b", str(bal), "-t", str(TXN), "-p", "2026H1", "-o", str(out))
    said = capsys.readouterr().err
    assert code == 0, said
    assert "warning: --balances: not read, of an unknown type:" in said and "notes.json" in said
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["skipped"] == {"balances": [str(bal / "sub" / "notes.json")]}
    with pytest.raises(InputError, match=r"not an input file: .*notes\.json"):
        resolve_paths(str(bal), "--previous")  # where no one would see it passed over
    (bal / "all.csv").unlink()
    with pytest.raises(InputError, match=r"no CSV or Parquet files found; of other types: .*notes"):
        locate(str(bal), "--balances")


def test_folder_links_and_broken_links(tmp_path: Path) -> None:
    """A link back up the tree is read once; a broken link is listed, not passed over."""
    bal = tmp_path / "bal"
    (bal / "a").mkdir(parents=True)
    (bal / "a" / "x.csv").write_text(f"{HEADER}\n", encoding="utf-8")
    os.symlink(bal, bal / "a" / "up")
    os.symlink(tmp_path / "nowhere.csv", bal / "gone.csv")
    listing = locate(str(bal), "--balances")
    assert [f.shown for f in listing.files] == [str(bal / "a" / "x.csv")]
    assert listing.skipped == [str(bal / "gone.csv")]


def test_uris_of_one_kind() -> None:
    """Several URIs are read by Spark as one input of one kind, never beside local files
    (whose checks a URI's rows would not have had), and none twice."""
    from tierscore.scoring.errors import ConfigError
    from tierscore.scoring.spark_engine import _open_uris

    job = Job("", "", H1)
    for given, error in [
        (("hdfs://n/a.csv", str(BAL)), "URIs or local files, not both"),
        (("hdfs://n/a", "hdfs://n/a/"), "the same URI is given twice"),
        (("hdfs://n/a.csv", "hdfs://n/b.parquet"), "other formats or delimiters"),
        (("hdfs://n/a.csv", "hdfs://n/b.tsv"), "other formats or delimiters"),
    ]:
        with pytest.raises((ConfigError, InputError), match=error):
            _open_uris(None, Reader(), BALANCES, given, job)  # type: ignore[arg-type]


@pytest.mark.spark
def test_partitions_and_occurrences_on_spark(spark: Any, tmp_path: Path) -> None:
    """The Spark engine reads dt= folders (CSV and Parquet, blank lines too) and an
    option given twice as the polars engine does."""
    from tests.test_spark_engine import assert_same

    bal = tmp_path / "bal"
    small = pl.read_csv(BAL, infer_schema=False)
    days = small["date"].unique(maintain_order=True).to_list()[:4]
    src = tmp_path / "few.csv"
    small.filter(pl.col("date").is_in(days)).write_csv(src)
    _partitioned(src, bal)
    first = bal / f"dt={days[0]}" / "part-0.csv"
    first.write_text(first.read_text(encoding="utf-8") + "\n\nC9,C9-CUR,CURRENT,x\n")
    txn = _halves(TXN, tmp_path)
    remote = assert_same(Job(str(bal), tuple(map(str, txn)), H1), spark)
    assert remote.rejects.filter(pl.col("column") == "(fields)").height == 2  # blank lines
    assert len(remote.inputs["transactions"]) == 2


def test_customers_given_twice_reads_both_files(tmp_path: Path) -> None:
    """--customers may repeat like the inputs (it silently kept only the last file:
    the first file's customers lost their branch and gates' columns)."""
    sample = Path(__file__).resolve().parent.parent / "sample_data"
    lines = (sample / "customers.csv").read_text(encoding="utf-8").splitlines(keepends=True)
    half = len(lines) // 2
    (tmp_path / "c1.csv").write_text("".join(lines[:half]), encoding="utf-8")
    (tmp_path / "c2.csv").write_text(lines[0] + "".join(lines[half:]), encoding="utf-8")
    given = ["score", "-b", str(sample / "balances.csv"), "-t", str(sample / "transactions.csv"),
             "-p", "2026H1", "--no-report"]  # fmt: skip
    whole = ["--customers", str(sample / "customers.csv"), "-o", str(tmp_path / "whole")]
    split = ["--customers", str(tmp_path / "c1.csv"), "--customers", str(tmp_path / "c2.csv")]
    assert _cli(*given, *whole) == 0
    assert _cli(*given, *split, "-o", str(tmp_path / "split")) == 0
    scores = [(tmp_path / o / "scores.csv").read_bytes() for o in ("whole", "split")]
    assert scores[0] == scores[1]
    manifest = json.loads((tmp_path / "split" / "manifest.json").read_text(encoding="utf-8"))
    assert [f["path"] for f in manifest["inputs"]["customers"]] == [
        str(tmp_path / "c1.csv"), str(tmp_path / "c2.csv")]  # fmt: skip
