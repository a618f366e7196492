import gzip
import json
from pathlib import Path

import polars as pl
import pytest
import xlsxwriter

from pipelines.readers import FileRejected, Mapping, canonicalise, read_any
from pipelines.schema import BY_TABLE

TICKETS = BY_TABLE["complaints__tickets"]
GRIDS = BY_TABLE["registry__grids"]
PERSONS = BY_TABLE["registry__persons"]

ROWS = [
    ["工单编号", "来源", "诉求类型", "上报时间", "诉求内容"],
    ["T1", "12345", "噪音扰民", "2026-01-05 08:00:00", "楼上装修，噪音很大"],
    ["T2", "你拍我办", "垃圾分类", "2026/1/6 9:30", '含,逗号的"内容"'],
]


def write_csv(path: Path, rows, encoding: str, sep: str, gz: bool) -> Path:
    def q(v):
        return '"' + v.replace('"', '""') + '"' if (sep in v or '"' in v) else v

    text = "\n".join(sep.join(q(v) for v in r) for r in rows) + "\n"
    data = text.encode("utf-8-sig" if encoding == "utf-8-sig" else encoding)
    if gz:
        path = path.with_name(path.name + ".gz")
        data = gzip.compress(data)
    path.write_bytes(data)
    return path


@pytest.mark.parametrize("gz", [False, True])
@pytest.mark.parametrize("sep", [",", "\t"])
@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gbk", "gb18030"])
def test_csv_encodings_delimiters_gzip(tmp_path, encoding, sep, gz):
    path = write_csv(tmp_path / "t.csv", ROWS, encoding, sep, gz)
    df = read_any(path, TICKETS)
    assert df.columns[:5] == ROWS[0]
    assert df["诉求内容"].to_list() == [ROWS[1][4], ROWS[2][4]]
    assert df["__row"].to_list() == [2, 3]
    assert df["__bad"].null_count() == 2


def test_csv_quoted_newlines_keep_line_numbers(tmp_path):
    path = tmp_path / "t.csv"
    path.write_text('工单编号,诉求内容\nT1,"第一行\n第二行"\nT2,正常\n', encoding="utf-8")
    df = read_any(path, TICKETS)
    assert df["诉求内容"].to_list() == ["第一行\n第二行", "正常"]
    assert df["__row"].to_list() == [2, 4]


def test_csv_undecodable_rows_are_marked_not_dropped(tmp_path):
    rows = [*ROWS[:2], ["T2", "你拍我办", "垃圾分类", "2026/1/6 9:30", "无"]]
    text = "\n".join(",".join(r) for r in rows) + "\n"
    data = text.encode("gbk").replace(b"T2", b"T2\xff", 1)
    path = tmp_path / "t.csv"
    path.write_bytes(data)
    df = read_any(path, TICKETS)
    assert df.height == 2
    assert df["__bad"].to_list() == [None, "bad_encoding_row"]
    assert df["诉求类型"].to_list() == ["噪音扰民", "垃圾分类"]  # the rest still decodes as GBK


@pytest.mark.parametrize("encoding", ["utf-8", "gb18030"])
def test_big_file_encoding_told_on_its_first_mib_as_on_the_whole(tmp_path, encoding):
    """A file past the first MiB (readers.DECODE_SAMPLE_BYTES) with one undecodable row near its end: a
    GB18030 file is told as GB18030 by its first MiB, a UTF-8 one as UTF-8 by the whole; both keep every
    row, mark the broken one and decode the others as they were written."""
    from pipelines.readers import DECODE_SAMPLE_BYTES, decode

    rows = [ROWS[0]] + [[f"T{i}", "12345", "噪音扰民", "2026-01-05 08:00:00", f"楼上装修，噪音很大{i}"] for i in range(40_000)]
    text = "\n".join(",".join(r) for r in rows) + "\n"
    data = text.encode(encoding).replace(b"T39990,", b"T39990\xff,", 1)  # 0xff is neither UTF-8 nor GB18030
    assert len(data) > 2 * DECODE_SAMPLE_BYTES and data.index(b"\xff") > DECODE_SAMPLE_BYTES
    assert decode(data)[1] == encoding
    path = tmp_path / "t.csv"
    path.write_bytes(data)
    df = read_any(path, TICKETS)
    assert df.height == 40_000
    assert df.filter(pl.col("__bad").is_not_null())["__row"].to_list() == [39_992]  # T39990's line
    assert df["诉求内容"][12_345] == "楼上装修，噪音很大12345"


def test_csv_ragged_row_is_malformed_row(tmp_path):
    path = tmp_path / "t.csv"
    path.write_text(
        "工单编号,来源,诉求类型,上报时间\nT1,12345,噪音,2026-01-05\nT2,12345,噪音,2026-01-05,多余,字段\n",
        encoding="utf-8",
    )
    df = read_any(path, TICKETS)
    assert df["__bad"].to_list() == [None, "malformed_row"]
    assert df["__row"].to_list() == [2, 3]
    assert "多余" in df["__raw"][1]


def write_xlsx(path: Path, rows, title_rows: int) -> Path:
    wb = xlsxwriter.Workbook(str(path))
    ws = wb.add_worksheet()
    for i in range(title_rows):
        ws.write(i, 0, "瑞金二路街道人口信息表" if i == 0 else "")
    for r, row in enumerate(rows):
        for c, v in enumerate(row):
            ws.write_string(r + title_rows, c, v)
    wb.close()
    return path


@pytest.mark.parametrize("title_rows", [0, 1, 3, 9])
def test_xlsx_finds_header_below_title_rows(tmp_path, title_rows):
    df = read_any(write_xlsx(tmp_path / "t.xlsx", ROWS, title_rows), TICKETS)
    assert df["工单编号"].to_list() == ["T1", "T2"]
    # Excel row numbers: the header sits on row title_rows + 1
    assert df["__row"].to_list() == [title_rows + 2, title_rows + 3]


def test_xlsx_without_known_header_is_rejected(tmp_path):
    path = write_xlsx(tmp_path / "t.xlsx", [["a", "b"], ["1", "2"]], 0)
    with pytest.raises(FileRejected, match="t.xlsx.*header"):
        read_any(path, TICKETS)


def test_header_row_beyond_ten_rows_is_rejected(tmp_path):
    path = write_xlsx(tmp_path / "t.xlsx", ROWS, 11)
    with pytest.raises(FileRejected, match="first 10 rows"):
        read_any(path, TICKETS)


def test_english_aliases_and_unknown_columns(tmp_path):
    path = tmp_path / "t.csv"
    path.write_text(
        "ticket_id,SOURCE,category,reported_at,备注\nT1,12345,噪音,2026-01-05,x\n", encoding="utf-8"
    )
    df, ignored = canonicalise(read_any(path, TICKETS), TICKETS, Mapping(), path)
    assert ignored == ["备注"]
    assert df.select("ticket_id", "source", "category").row(0) == ("T1", "12345", "噪音")
    assert df["urgency"].to_list() == [None]  # optional columns exist, empty


def test_missing_required_column_names_file_and_column(tmp_path):
    path = tmp_path / "platform_2026-01.csv"
    path.write_text("工单编号,来源,诉求类型\nT1,12345,噪音\n", encoding="utf-8")
    with pytest.raises(FileRejected) as e:
        canonicalise(read_any(path, TICKETS), TICKETS, Mapping(), path)
    assert (
        "platform_2026-01.csv" in str(e.value)
        and "上报时间" in str(e.value)
        and "reported_at" in str(e.value)
    )


def test_mapping_toml_headers_values_defaults(tmp_path):
    (tmp_path / "mapping.toml").write_text(
        '[columns]\nSRNumber = "ticket_id"\nType = "诉求类型"\nCreated = "reported_at"\nState = "status"\n'
        '[values.status]\nClosed = "已办结"\nOpen = "处理中"\n'
        '[defaults]\nsource = "12345"\n[formats]\nreported_at = "%m/%d/%Y %I:%M:%S %p"\n',
        encoding="utf-8",
    )
    path = tmp_path / "vendor.csv"
    path.write_text(
        "SRNumber,Type,Created,State\n1-1,Noise,12/29/2017 11:58:00 PM,Closed\n", encoding="utf-8"
    )
    m = Mapping.load(tmp_path)
    df, _ = canonicalise(read_any(path, TICKETS), TICKETS, m, path)
    assert df.select("ticket_id", "category", "status", "source").row(0) == (
        "1-1",
        "Noise",
        "已办结",
        "12345",
    )
    assert m.formats["reported_at"] == "%m/%d/%Y %I:%M:%S %p"


def test_bad_mapping_toml_is_a_clear_error(tmp_path):
    (tmp_path / "mapping.toml").write_text("[columns\n", encoding="utf-8")
    with pytest.raises(FileRejected, match="mapping.toml"):
        Mapping.load(tmp_path)


def test_jsonl_bad_line_is_malformed_row(tmp_path):
    path = tmp_path / "events.jsonl.gz"
    lines = [
        json.dumps({"设备编号": "D1", "事件时间": "2026-01-05T08:00:00Z", "事件类型": "心跳"}),
        "{not json",
        "",
    ]
    path.write_bytes(gzip.compress("\n".join(lines).encode()))
    df = read_any(path, BY_TABLE["sensors__events"])
    assert df["__bad"].to_list() == [None, "malformed_row"]
    assert df["__row"].to_list() == [1, 2]


def test_open311_real_responses_load(real_data):
    path = real_data / "open311" / "bloomington_georeport_v2_requests_2012.json"
    df, ignored = canonicalise(read_any(path, TICKETS), TICKETS, Mapping(), path)
    assert df.height == 21
    assert set(df["source"].to_list()) == {"12345"}
    assert set(df["status"].drop_nulls().to_list()) <= {"处理中", "已办结"}
    closed = df.filter(pl.col("status") == "已办结")
    assert (closed["resolved_at"] == closed["updated_at"]).all()
    assert "service_code" in ignored


def test_open311_repeated_keys_keep_the_real_timestamp(real_data):
    """SF's export repeats updated_datetime with a "null" second copy: the first real value is kept."""
    path = real_data / "open311" / "sf311_2010_closed_requests_slice.json"
    df, _ = canonicalise(read_any(path, TICKETS), TICKETS, Mapping(), path)
    assert df.height == 327
    assert df["updated_at"].null_count() == 0
    assert df["reported_at"].null_count() == 0


def test_truncated_json_is_refused_whole(real_data, tmp_path):
    text = (real_data / "open311" / "chicago_georeport_v2_requests_2014.json").read_text(encoding="utf-8")
    path = tmp_path / "requests.json"
    path.write_text(text[: len(text) // 2], encoding="utf-8")
    with pytest.raises(FileRejected, match="requests.json.*truncated"):
        read_any(path, TICKETS)


def test_corrupt_gzip_is_refused(tmp_path):
    path = tmp_path / "t.csv.gz"
    path.write_bytes(gzip.compress(b"a,b\n1,2\n" * 100)[:30])
    with pytest.raises(FileRejected, match="gzip"):
        read_any(path, TICKETS)


@pytest.mark.parametrize("piece", [1 << 20, 5, 7])  # pieces of 5 or 7 bytes: every boundary case of the line scan
def test_jsonl_fast_path_equals_line_by_line(tmp_path, monkeypatch, piece):
    import pipelines.readers as readers
    from pipelines.readers import _read_jsonl_fast, _read_jsonl_lines

    monkeypatch.setattr(readers, "SCAN_PIECE_BYTES", piece)
    rows = [
        {"设备编号": "D1", "事件时间": "2026-01-05T08:00:00Z", "事件类型": "读数", "数值": 100.25},
        {"设备编号": "D2", "事件时间": "2026-01-05 08:00:00", "事件类型": "告警", "处置结果": "误报"},
        {"设备编号": "D3", "事件时间": "null", "事件类型": "心跳", "数值": 7.0},
        {"设备编号": "D4", "事件时间": "2026-01-05 09:00:00", "事件类型": "读数", "数值": 1e5, "备注": None},
    ]
    text = "\n".join(json.dumps(r, ensure_ascii=False) for r in rows) + "\n\n"  # blank lines at the end are no records

    def fast(data: bytes, name: str = "events.jsonl"):
        path = tmp_path / name
        path.write_bytes(gzip.compress(data) if name.endswith(".gz") else data)
        return _read_jsonl_fast(path)

    slow = _read_jsonl_lines(text)
    for name in ("events.jsonl", "events.jsonl.gz"):
        got = fast(text.encode(), name)
        assert got is not None
        # every key, in order of first appearance: 处置结果 first shows on line 2, 备注 on line 4
        assert got.columns == ["设备编号", "事件时间", "事件类型", "数值", "处置结果", "备注", "__row", "__bad", "__raw"]
        assert got.columns == slow.columns
        assert got.equals(slow)  # numbers as the careful path writes them: 7.0 is "7.0", 1e5 "100000.0"
        assert got["__row"].to_list() == [1, 2, 3, 4]
    data = text.encode()
    assert fast(data + b"{broken\n") is None  # a malformed line takes the careful path
    assert fast(data.replace("误报".encode(), b"\xff\xfe")) is None  # so does a byte that is not UTF-8
    assert fast(data.replace(b"\n", b"\r\n")) is None
    assert fast(data.replace(b"\n", b"\n\n", 1)) is None  # a blank line would shift line numbers
    assert fast(data.replace(b"\n", b"\n  \n", 1)) is None  # a line of spaces too
    assert fast(b"\xef\xbb\xbf" + data) is None
    assert fast(b'{"a": "x", "a": null}\n') is None  # a repeated key: the careful path keeps the first real value
    assert fast(b"[1, 2]\n") is None
    assert fast(b"") is None


@pytest.mark.parametrize(
    "text, rows, values",
    [
        ("a,b\n1,2\n3,4\n", [2, 3], [("1", "2"), ("3", "4")]),  # the fast path
        ("a,b\n1,2\n,\n3,4\n", [2, 3, 4], [("1", "2"), (None, None), ("3", "4")]),  # empty fields are a record
        ("a,b\n1,2\n\n3,4\n", [2, 4], [("1", "2"), ("3", "4")]),  # a blank line is none, and numbers shift
        ("a,b\n1,2\n\n\n3,4\n", [2, 5], [("1", "2"), ("3", "4")]),
        ("a,b\n1,2\n3,4\n\n", [2, 3], [("1", "2"), ("3", "4")]),  # blank lines at the end
        ("a,b\n\n1,2\n", [3], [("1", "2")]),
        ("a,b\r\n1,2\r\n\r\n3,4\r\n", [2, 4], [("1", "2"), ("3", "4")]),  # CRLF, with a blank line
        ("a,b\r\n1,2\r\n3,4\r\n", [2, 3], [("1", "2"), ("3", "4")]),
    ],
)
def test_csv_records_keep_their_line_numbers_whichever_path_reads_them(tmp_path, text, rows, values):
    """The fast CSV path searches for a blank line only when the parse gives a row of nulls (a blank line
    does, and so does a row of empty fields), and for CRLF blank lines only when the file has a CR: every
    case must come out as the careful path reads it."""
    for name, data in (("t.csv", text.encode()), ("t.csv.gz", gzip.compress(text.encode()))):
        path = tmp_path / name
        path.write_bytes(data)
        df = read_any(path, BY_TABLE["complaints__tickets"])
        assert df["__row"].to_list() == rows, (name, text)
        assert [tuple(r) for r in df.select("a", "b").rows()] == values, (name, text)
