"""The files behind every table's 导出 CSV / 导出 Excel buttons: Chinese headers, the rows shown, and
a CSV that Excel opens as UTF-8 (a BOM)."""

import io
from datetime import date

import polars as pl

from cockpit import ui

FRAME = pl.DataFrame({"grid_code": ["G001", "G002"], "month": [date(2026, 10, 1), date(2026, 11, 1)], "tickets": [3, 5]})


def test_csv_has_a_bom_and_chinese_headers():
    data = ui.csv_bytes(FRAME)
    assert data.startswith(b"\xef\xbb\xbf")
    lines = data.decode("utf-8-sig").splitlines()
    assert lines[0] == "网格编码,月份,诉求量"
    assert lines[1:] == ["G001,2026-10,3", "G002,2026-11,5"]


def test_excel_reads_back():
    back = pl.read_excel(io.BytesIO(ui.excel_bytes(ui.zh(FRAME), "诉求")), sheet_name="诉求")
    assert back.columns == ["网格编码", "月份", "诉求量"]
    assert back["诉求量"].to_list() == [3, 5]
