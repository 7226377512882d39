"""Reading files: encodings (reported), delimiters, quoting, CRLF, Excel row numbers, xlsx, unusable files."""

from __future__ import annotations

from pathlib import Path

import pytest

from registry.importer.headers import match_headers, normalise_header
from registry.importer.read import FileProblem, open_table, sniff_delimiter
from registry.kinds import FacilityKind

TEXT = "编号,名称,经度,纬度\r\nA1,金水书房,113.66,34.78\r\nA2,\"多行\r\n名称, 有逗号\",113.67,34.79\r\n\r\nA3,三,113.68,34.80\r\n"


def write(tmp_path: Path, name: str, data: bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


def rows_of(path: Path) -> list[tuple[int, list[str]]]:
    table = open_table(path)
    return [(int(n), row) for chunk in table.chunks(2) for n, row in zip(chunk.row_numbers, chunk.rows)]


@pytest.mark.parametrize("encoding,bom,label", [("utf-8", b"", "UTF-8"), ("utf-8", b"\xef\xbb\xbf", "UTF-8 (BOM)"),
                                                ("gbk", b"", "GBK/GB18030"), ("gb18030", b"", "GBK/GB18030")])
def test_encoding_is_detected_and_reported(tmp_path: Path, encoding: str, bom: bytes, label: str) -> None:
    path = write(tmp_path, "f.csv", bom + TEXT.encode(encoding))
    table = open_table(path)
    assert table.encoding_label == label
    assert table.headers == ["编号", "名称", "经度", "纬度"]
    assert rows_of(path)[0] == (2, ["A1", "金水书房", "113.66", "34.78"])


def test_undecodable_file_is_unusable_with_a_clear_message(tmp_path: Path) -> None:
    path = write(tmp_path, "f.csv", "名称,经度\n".encode("utf-8") + b"\x81\x30\xff\xfe\x80\n")
    with pytest.raises(FileProblem) as err:
        open_table(path)
    assert err.value.code == "encoding"
    assert "UTF-8" in err.value.en and "GB18030" in err.value.en and "GBK" in err.value.zh


def test_row_numbers_are_excel_rows_even_with_multiline_cells_and_blank_lines(tmp_path: Path) -> None:
    rows = rows_of(write(tmp_path, "f.csv", TEXT.encode("utf-8")))
    assert [n for n, _ in rows] == [2, 3, 4, 5]
    assert rows[1][1][1] == "多行\r\n名称, 有逗号"
    assert rows[2][1] == []  # the blank line is row 4, as in Excel
    assert rows[3][1][0] == "A3"


@pytest.mark.parametrize("delim", [",", "\t", ";"])
def test_delimiters(tmp_path: Path, delim: str) -> None:
    text = TEXT.replace(",", delim).replace(f"名称{delim} 有逗号", "名称, 有逗号")
    table = open_table(write(tmp_path, "f.txt", text.encode("utf-8")))
    assert table.delimiter == delim
    assert table.headers == ["编号", "名称", "经度", "纬度"]


def test_sniffer_refuses_a_single_column() -> None:
    with pytest.raises(FileProblem) as err:
        sniff_delimiter("名称\n甲\n乙\n")
    assert err.value.code == "delimiter"


def test_empty_and_legacy_files_are_unusable(tmp_path: Path) -> None:
    with pytest.raises(FileProblem) as err:
        open_table(write(tmp_path, "empty.csv", b""))
    assert err.value.code == "empty"
    with pytest.raises(FileProblem) as err:
        open_table(write(tmp_path, "old.xls", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 100))
    assert err.value.code == "xls"


def test_utf16_excel_unicode_text(tmp_path: Path) -> None:
    table = open_table(write(tmp_path, "f.txt", TEXT.replace(",", "\t").encode("utf-16")))
    assert table.encoding_label == "UTF-16 (BOM)" and table.delimiter == "\t"


def test_xlsx_rows_keep_sheet_row_numbers_and_cell_types(tmp_path: Path) -> None:
    import datetime as dt

    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    ws.append(["名称", "经度", "纬度", "开放日期", "座位数"])
    ws.append(["甲", 113.66, 34.78, dt.datetime(2019, 6, 30), 15.0])
    ws.append([])
    ws.append(["乙", 113.67, 34.79, None, 20])
    path = tmp_path / "f.xlsx"
    wb.save(path)
    table = open_table(path)
    assert table.format == "xlsx" and table.encoding_label == "xlsx"
    rows = [(int(n), r) for c in table.chunks() for n, r in zip(c.row_numbers, c.rows)]
    assert rows[0] == (2, ["甲", "113.66", "34.78", "2019-06-30", "15"])
    assert rows[-1][0] == 4 and rows[-1][1][0] == "乙"


def test_headers_match_aliases_and_report_unknown() -> None:
    headers = ["名称", "lng", "LATITUDE", "座位数（个）", "建筑面积(㎡)", "备注", "所在区"]
    match = match_headers(headers, [FacilityKind.STUDY_ROOM])
    cols = match.kinds[FacilityKind.STUDY_ROOM]
    assert {n: c.index for n, c in cols.common.items()} == {"name": 0, "lon": 1, "lat": 2, "district": 6}
    assert cols.fields["seats"].index == 3 and cols.fields["floor_area_m2"].index == 4
    assert match.unknown_columns() == [5]
    assert normalise_header("＊名称 ") == "名称"


def test_direct_header_beats_alias_when_both_present() -> None:
    match = match_headers(["名称", "类别", "停车场类型"], [FacilityKind.PARKING_LOT])
    assert match.kinds[FacilityKind.PARKING_LOT].fields["parking_type"].header == "停车场类型"
    assert match.duplicates
