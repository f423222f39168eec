"""Bad rows, real-world exports and safe publishing (issue: bad input, exit codes, safe outputs)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import polars as pl
import pytest

from tierscore.scoring import pipeline
from tierscore.scoring import publish as publish_module
from tierscore.scoring.errors import InputError
from tierscore.scoring.pipeline import Job, inspect, run
from tierscore.scoring.publish import publish
from tierscore.scoring.window import parse_window

from .conftest import tierscore_here

TIERSCORE = Path(sys.executable).with_name("tierscore")
H1 = parse_window("2026H1")

BAL_HEADER = "customer_id,account_id,product,date,balance"
TXN_HEADER = "customer_id,txn_id,date,txn_type,amount,fee,fee_ratio"


def write(path: Path, header: str, rows: list[str], encoding: str = "utf-8") -> Path:
    path.write_text("\n".join([header, *rows]) + "\n", encoding=encoding)
    return path


@pytest.fixture
def files(tmp_path: Path) -> tuple[Path, Path]:
    bal = write(
        tmp_path / "bal.csv",
        BAL_HEADER,
        [
            "C1,A1,CURRENT,2025-12-31,100000.00",  # line 2: fine
            "C1,A2,TIME,2026-02-30,5.00",  # 3: impossible date
            "C1,A3,TIME,2026-13-01,5.00",  # 4: month 13
            "C2,A4,CURRENT,,5.00",  # 5: empty date
            "C2,A5,CURRENT,2026-01-01,abc",  # 6: not a number
            "C2,A6,CURRENT,2026-01-01,-1.00",  # 7: negative balance
            ",A7,CURRENT,2026-01-01,1.00",  # 8: empty customer
            "C3,,CURRENT,2026-01-01,1.00",  # 9: empty account
            "C3,A8,CURRENT,2026-01-01,1e400",  # 10: non-finite
            "C4,A9,CURRENT,2026-01-01,100.00",  # 11: conflict with 12
            "C4,A9,CURRENT,2026-01-01,200.00",  # 12
            "C4,A9,CURRENT,2025-12-01,50.00",  # 13: carries on through the conflict
            "C5,A10,CURRENT,2026-01-01,70.00",  # 14: exact duplicate of 15
            "C5,A10,CURRENT,2026-01-01,70.00",  # 15
            "C5,A11,CURRENT,2026-07-05,70.00",  # 16: after the window
            "C5,A12,ZZZ,2026-01-01,70.00",  # 17: unmapped product
        ],
    )
    txn = write(
        tmp_path / "txn.csv",
        TXN_HEADER,
        [
            "C1,T1,2026-03-05 14:22:10,POS,100.00,,",  # 2: timestamp, fine
            "C1,T2,2026-03-05,POS,-5.00,,",  # 3: negative amount
            "C1,T3,2026-03-05,POS,0,,",  # 4: zero amount
            "C1,,2026-03-05,POS,5.00,,",  # 5: empty txn_id
            "C1,T4,2026-03-05,POS,5.00,,1.5",  # 6: fee_ratio > 1
            "C1,T5,2026-03-05,POS,5.00,,-0.1",  # 7: fee_ratio < 0
            "C6,T6,2026-03-05,POS,10.00,,",  # 8: conflict with 9
            "C6,T6,2026-03-06,POS,10.00,,",  # 9
            "C6,T7,2026-03-05,POS,20.00,,",  # 10: exact duplicate of 11
            "C6,T7,2026-03-05,POS,20.00,,",  # 11
            "C6,T8,2025-12-31,POS,20.00,,",  # 12: outside the window
            "C6,T9,2026-03-05,MMF_BUY,20.00,,",  # 13: excluded
            "C6,T10,2026-03-05,ATM_QUERY,20.00,,",  # 14: unmapped
        ],
    )
    return bal, txn


def test_rejects_name_file_line_column_and_reason(files: tuple[Path, Path]) -> None:
    bal, txn = files
    result = run(Job(str(bal), str(txn), H1))
    got = {(Path(f).name, line, col): reason for f, line, col, _, reason in result.rejects.rows()}
    expected = {
        ("bal.csv", 3, "date"): "not a valid date",
        ("bal.csv", 4, "date"): "not a valid date",
        ("bal.csv", 5, "date"): "empty date",
        ("bal.csv", 6, "balance"): "not a number",
        ("bal.csv", 7, "balance"): "negative balance",
        ("bal.csv", 8, "customer_id"): "empty customer_id",
        ("bal.csv", 9, "account_id"): "empty account_id",
        ("bal.csv", 10, "balance"): "not a number",
        ("bal.csv", 11, "balance"): "conflicting rows for the same account_id and date",
        ("bal.csv", 12, "balance"): "conflicting rows for the same account_id and date",
        ("txn.csv", 3, "amount"): "amount must be > 0",
        ("txn.csv", 4, "amount"): "amount must be > 0",
        ("txn.csv", 5, "txn_id"): "empty txn_id",
        ("txn.csv", 6, "fee_ratio"): "fee_ratio outside [0, 1]",
        ("txn.csv", 7, "fee_ratio"): "fee_ratio outside [0, 1]",
        ("txn.csv", 8, "txn_id"): "conflicting rows for the same txn_id",
        ("txn.csv", 9, "txn_id"): "conflicting rows for the same txn_id",
    }
    assert got == expected
    values = {(Path(f).name, line): value for f, line, _, value, _ in result.rejects.rows()}
    assert values[("bal.csv", 6)] == "abc"
    assert values[("bal.csv", 10)] == "1e400"
    assert values[("bal.csv", 11)] == "100.00" and values[("bal.csv", 12)] == "200.00"
    assert values[("txn.csv", 8)] == "T6"
    inspected = inspect(str(bal), str(txn)).rejects
    assert inspected.equals(result.rejects)


def test_valid_rows_keep_being_scored(files: tuple[Path, Path]) -> None:
    bal, txn = files
    scores = run(Job(str(bal), str(txn), H1)).scores
    by_id = {r["customer_id"]: r for r in scores.iter_rows(named=True)}
    assert str(by_id["C1"]["short_term_assets_amount"]) == "100000.00"
    assert str(by_id["C1"]["card_spending_amount"]) == "100.00"
    # the conflicting 2026-01-01 rows are dropped: the 2025-12-01 balance carries on
    assert str(by_id["C4"]["short_term_assets_amount"]) == "50.00"
    # the duplicate counts once
    assert str(by_id["C5"]["short_term_assets_amount"]) == "70.00"
    assert str(by_id["C6"]["card_spending_amount"]) == "20.00"


def test_accounting_closes(files: tuple[Path, Path]) -> None:
    bal, txn = files
    rows = run(Job(str(bal), str(txn), H1)).summary["rows"]
    assert rows["balances"] == {
        "read": 16, "used": 3, "excluded": 0, "unmapped": 1, "outside_window": 1,
        "duplicate": 1, "rejected": 10,
    }  # fmt: skip
    assert rows["transactions"] == {
        "read": 13, "used": 2, "excluded": 1, "unmapped": 1, "outside_window": 1,
        "duplicate": 1, "rejected": 7,
    }  # fmt: skip
    for counts in rows.values():
        parts = sum(v for k, v in counts.items() if k != "read")
        assert counts["read"] == parts


def test_manifest_carries_the_identity(files: tuple[Path, Path], tmp_path: Path) -> None:
    bal, txn = files
    out = tmp_path / "out"
    done = tierscore_here("score", "--balances", str(bal), "--transactions", str(txn),
                          "--period", "2026H1", "--out", str(out),
                          "--max-reject-rate", "1")  # fmt: skip
    assert done.returncode == 0, done.stderr
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    for name, counts in manifest["counts"]["rows"].items():
        assert counts["read"] == sum(v for k, v in counts.items() if k != "read"), name
        assert counts["read"] == sum(f["rows"] for f in manifest["inputs"][name])


def test_inspect_counts_without_a_window(files: tuple[Path, Path]) -> None:
    bal, txn = files
    found = inspect(str(bal), str(txn))
    assert found.counts["balances"] == {"read": 16, "valid": 5, "duplicate": 1, "rejected": 10}
    assert found.counts["transactions"] == {"read": 13, "valid": 5, "duplicate": 1, "rejected": 7}


def test_validate_command_exit_codes(files: tuple[Path, Path]) -> None:
    bal, txn = files
    args = ["validate", "--balances", str(bal), "--transactions", str(txn)]
    strict = tierscore_here(*args)
    assert strict.returncode == 3
    assert "not a valid date" in strict.stdout  # the rejects table is the answer
    assert "too many rejected rows" in strict.stderr
    lenient = tierscore_here(*args, "--max-reject-rate", "1")
    assert lenient.returncode == 0, lenient.stderr


def test_gb18030_with_chinese_headers_and_mapping(tmp_path: Path) -> None:
    bal = write(
        tmp_path / "余额.csv",
        "客户号,账号,产品代码,日期,余额",
        ["张三,A1,CURRENT,2025-12-31,100000.00"],
        encoding="gb18030",
    )
    txn = write(
        tmp_path / "交易.csv",
        "客户号,交易流水号,交易日期,交易类型,交易金额,手续费,费率折扣",
        ["张三,T1,2026-03-05 10:00:00,POS,12500.00,,"],
        encoding="gb18030",
    )
    mapping = tmp_path / "columns.toml"
    mapping.write_text(
        '[balances]\ncustomer_id = "客户号"\naccount_id = "账号"\nproduct = "产品代码"\n'
        'date = "日期"\nbalance = "余额"\n[transactions]\ncustomer_id = "客户号"\n'
        'txn_id = "交易流水号"\ndate = "交易日期"\ntxn_type = "交易类型"\namount = "交易金额"\n'
        'fee = "手续费"\nfee_ratio = "费率折扣"\n',
        encoding="utf-8",
    )
    done = tierscore_here("score", "--balances", str(bal), "--transactions", str(txn),
                          "--columns", str(mapping), "--period", "2026H1",
                          "--out", "-")  # fmt: skip
    assert done.returncode == 0, done.stderr
    text = done.stdout
    row = text.splitlines()[1].split(",")
    assert row[0] == "张三"
    assert "1850.00" in row  # 1350 short-term + 500 card spending
    manifest_free = [line for line in text.splitlines() if "manifest" in line]
    assert manifest_free == []


def test_missing_column_names_missing_and_found(tmp_path: Path) -> None:
    bal = write(tmp_path / "bal.csv", "customer_id,account,product,date,balance", [])
    txn = write(tmp_path / "txn.csv", TXN_HEADER, [])
    with pytest.raises(InputError) as caught:
        run(Job(str(bal), str(txn), H1))
    message = str(caught.value)
    assert "account_id" in message and "found: customer_id, account, product" in message
    assert str(bal) in message


# A bug of tierscore's own (not an input's fault: a broken Parquet file is exit 2, see
# test_trust_inputs), planted in the installed CLI.
BUG = (
    "import sys, tierscore.scoring.pipeline as p\n"
    "def bug(*a, **k): raise ZeroDivisionError('planted')\n"
    "p.result_of = bug\n"
    "from tierscore.cli.main import main\n"
    "main()\n"
)


def test_unexpected_error_exits_1_without_traceback(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The installed entry point's ``main`` as a process; with --verbose in this process."""
    bal = write(tmp_path / "bal.csv", BAL_HEADER, ["C1,A1,CURRENT,2025-12-31,1.00"])
    txn = write(tmp_path / "txn.csv", TXN_HEADER, [])
    args = [sys.executable, "-c", BUG, "score", "--balances", str(bal), "--transactions",
            str(txn), "--period", "2026H1", "--out", str(tmp_path / "out"), "--quiet"]  # fmt: skip
    done = subprocess.run(args, capture_output=True, text=True)
    assert done.returncode == 1
    assert "Traceback" not in done.stderr
    assert len([line for line in done.stderr.splitlines() if line.strip()]) <= 2
    monkeypatch.setattr(pipeline, "result_of", _planted_bug)
    verbose = tierscore_here(*args[3:], "--verbose")
    assert verbose.returncode == 1 and "Traceback" in verbose.stderr
    assert "ZeroDivisionError: planted" in verbose.stderr
    assert not (tmp_path / "out" / "scores.csv").exists()


def _planted_bug(*_: object, **__: object) -> None:
    raise ZeroDivisionError("planted")


def test_failure_while_writing_leaves_previous_output(
    files: tuple[Path, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    bal, txn = files
    out = tmp_path / "out"
    result = run(Job(str(bal), str(txn), H1))
    publish(result, out)
    before = {p.name: p.read_bytes() for p in out.iterdir() if p.is_file()}  # via current/

    def broken_json(path: Path, data: object) -> None:
        path.write_text("{half", encoding="utf-8")
        raise OSError("disk full")

    monkeypatch.setattr(publish_module, "_json", broken_json)
    with pytest.raises(OSError, match="disk full"):
        publish(result, out)
    assert {p.name: p.read_bytes() for p in out.iterdir() if p.is_file()} == before
    assert len(before) == 6 and list(out.glob(".runs/.staging-*")) == []


def test_same_inputs_give_identical_bytes(files: tuple[Path, Path], tmp_path: Path) -> None:
    bal, txn = files
    outputs = []
    for name in ("a", "b"):
        out = tmp_path / name
        publish(run(Job(str(bal), str(txn), H1)), out)
        outputs.append((out / "scores.csv").read_bytes() + (out / "rejects.csv").read_bytes())
    assert outputs[0] == outputs[1]


def test_parquet_rejects_use_row_index(tmp_path: Path) -> None:
    bal = tmp_path / "bal.parquet"
    pl.DataFrame(
        {
            "customer_id": ["C1", "C2"],
            "account_id": ["A1", "A2"],
            "product": ["CURRENT", "CURRENT"],
            "date": ["2026-01-01", "2026-01-01"],
            "balance": [10.0, -3.0],
        }
    ).with_columns(pl.col("date").str.to_date()).write_parquet(bal)
    txn = write(tmp_path / "txn.csv", TXN_HEADER, [])
    rejects = run(Job(str(bal), str(txn), H1)).rejects
    assert rejects.select("line", "column", "reason").rows() == [(1, "balance", "negative balance")]


@pytest.mark.parametrize("encoding", ["utf-8-sig", "gb18030", "gbk"])
def test_encodings_are_detected(tmp_path: Path, encoding: str) -> None:
    rows = ["甲客户,A1,CURRENT,2025-12-31,100000.00"] + [
        f"C{i},B{i},CURRENT,2025-12-31,1.00" for i in range(2000)
    ]
    rows.append("乙客户,A2,TIME,2025-12-31,100000.00")  # non-ASCII far from the start too
    bal = write(tmp_path / "bal.csv", BAL_HEADER, rows, encoding=encoding)
    txn = write(tmp_path / "txn.csv", TXN_HEADER, [])
    result = run(Job(str(bal), str(txn), H1))
    by_id = {r["customer_id"]: r for r in result.scores.iter_rows(named=True)}
    assert str(by_id["甲客户"]["points"]) == "1350.00"
    assert str(by_id["乙客户"]["points"]) == "1000.00"
    assert result.inputs["balances"][0].encoding == ("gb18030" if "gb" in encoding else "utf-8")


def test_encoding_option_overrides_detection(tmp_path: Path) -> None:
    bal = write(tmp_path / "bal.csv", BAL_HEADER, ["甲,A1,CURRENT,2025-12-31,1.00"], "gb18030")
    txn = write(tmp_path / "txn.csv", TXN_HEADER, [])
    forced = run(Job(str(bal), str(txn), H1, encoding="gb18030"))
    assert forced.scores["customer_id"].to_list() == ["甲"]
    done = tierscore_here("score", "--balances", str(bal), "--transactions", str(txn),
                          "--period", "2026H1", "--out", "-", "--encoding", "gb18030",
                          "--quiet")  # fmt: skip
    assert done.returncode == 0
    assert done.stdout.splitlines()[1].startswith("甲,")


def test_too_many_or_too_few_fields_reject_the_row(tmp_path: Path) -> None:
    """An unquoted "1,000.00" splits into two fields: reading it shifted would take
    1.00 for the balance, so the row is rejected; so is a row with fewer fields than
    the header (which one is missing is unknowable: see test_trust_inputs), even if
    what it lacks is optional, and a trailing empty field the header lacks; quoted
    commas are fine."""
    bal = write(tmp_path / "bal.csv", BAL_HEADER, [
        "C1,A1,CURRENT,2026-01-01,10.00",
        "C2,A2,CURRENT,2026-01-01,1,000.00",  # line 3: one field too many
        "C3,A3,CURRENT,2026-01-01,5.00,",  # line 4: a trailing field the header lacks
        '"C4","A,4",CURRENT,2026-01-01,"7.00"',  # quoted comma
        "C5,A5",  # line 6: too few
    ])  # fmt: skip
    txn = write(tmp_path / "txn.csv", TXN_HEADER, ["C1,T1,2026-03-05,POS,100.00"])  # no fee cols
    result = run(Job(str(bal), str(txn), H1))
    rows = result.rejects.select("line", "column", "value", "reason").rows()
    assert rows == [
        (3, "(beyond the header)", "000.00", "more fields than the header"),
        (4, "(beyond the header)", "", "more fields than the header"),
        (6, "product", "", "empty product"),
        (6, "date", "", "empty date"),
        (6, "balance", "", "empty balance"),
        (6, "(fields)", "2 of 5", "fewer fields than the header"),
        (2, "(fields)", "5 of 7", "fewer fields than the header"),  # txn.csv
    ]
    assert sorted(result.scores["customer_id"]) == ["C1", "C4"]  # C2, C3, C5: no usable row
    assert result.summary["rows"]["balances"] == {
        "read": 5, "used": 2, "excluded": 0, "unmapped": 0, "outside_window": 0,
        "duplicate": 0, "rejected": 3,
    }  # fmt: skip
