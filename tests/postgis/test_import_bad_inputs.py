"""Every bad-input class of issue #4, end to end: a clear message each (row, column, value, what was expected,
in Chinese and English) and nothing written when the file is rejected (reject-file mode)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import Connection, text

from registry.importer import ImportOptions, run_import
from registry.importer.read import FIELD_SIZE_LIMIT

pytestmark = pytest.mark.postgis

HEAD = "编号,名称,地址,所属区县,经度,纬度,状态,座位数,开放日期,无线网络,产权形式\n"
OK_ROW = "B1,金水测试书房,花园路1号,金水区,113.6654,34.7802,开放,20,2019-06-30,是,租赁\n"


@dataclass
class Case:
    """One bad input: the file's bytes, the issue code expected, and what its message must name."""

    name: str
    data: bytes
    code: str
    exit_code: int
    row: int | None = None
    column: str | None = None
    zh: tuple[str, ...] = ()
    en: tuple[str, ...] = ()
    kind: str | None = "study_room"
    filename: str = "bad.csv"


def _csv(body: str, encoding: str = "utf-8") -> bytes:
    return body.encode(encoding)


CASES = [
    Case("encoding", _csv(HEAD) + b"B1,\x81\x30\xff\xfe\x80,x,,113.66,34.78,,,,,\n", "encoding", 2,
         zh=("GBK",), en=("UTF-8", "GB18030")),
    Case("delimiter", _csv("名称\n金水书房\n二七书房\n"), "delimiter", 2, zh=("分隔符",), en=("delimiter",)),
    Case("header_no_name", _csv("编号,地址,经度,纬度\nB1,花园路1号,113.66,34.78\n"), "no_name_column", 2,
         zh=("名称",), en=("name column",)),
    Case("header_one_coordinate", _csv("编号,名称,经度\nB1,甲,113.66\n"), "coordinate_column", 2,
         zh=("纬度",), en=("latitude",)),
    Case("header_only", _csv(HEAD), "no_rows", 2, zh=("没有数据行",), en=("no data rows",)),
    Case("empty_file", b"", "empty", 2, zh=("空",), en=("empty",)),
    Case("coordinate", _csv(HEAD + OK_ROW + "B2,二七书房,大学路2号,二七区,abc,34.72,开放,20,,,\n"),
         "coordinate", 1, row=3, column="经度", zh=("abc", "经度"), en=("abc", "numeric longitude")),
    Case("coordinate_swapped", _csv(HEAD + OK_ROW + "B2,二七书房,大学路2号,二七区,34.72,113.64,开放,20,,,\n"),
         "swapped", 1, row=3, zh=("填反",), en=("swapped",)),
    Case("type", _csv(HEAD + OK_ROW + "B2,二七书房,大学路2号,二七区,113.6430,34.7230,开放,很多,,,\n"),
         "integer", 1, row=3, column="座位数", zh=("很多", "座位数"), en=("很多", "whole number")),
    Case("range", _csv(HEAD + OK_ROW + "B2,二七书房,大学路2号,二七区,113.6430,34.7230,开放,-3,,,\n"),
         "range", 1, row=3, column="座位数", zh=("-3",), en=("-3",)),
    Case("enum", _csv(HEAD + OK_ROW + "B2,二七书房,大学路2号,二七区,113.6430,34.7230,开放,20,,,别的\n"),
         "enum", 1, row=3, column="产权形式", zh=("别的", "租赁"), en=("别的",)),
    Case("bool", _csv(HEAD + OK_ROW + "B2,二七书房,大学路2号,二七区,113.6430,34.7230,开放,20,,也许,\n"),
         "bool", 1, row=3, column="无线网络", zh=("也许", "是/否"), en=("也许",)),
    Case("date", _csv(HEAD + OK_ROW + "B2,二七书房,大学路2号,二七区,113.6430,34.7230,开放,20,2019年13月1日,,\n"),
         "date", 1, row=3, column="开放日期", zh=("2019年13月1日",), en=("2019年13月1日", "expected a date")),
    Case("duplicate", _csv(HEAD + OK_ROW + OK_ROW.replace("金水测试书房", "另一个书房")), "duplicate_id", 1, row=3,
         column="编号", zh=("B1", "第 2 行"), en=("B1", "row 2")),
    Case("huge_text", _csv(HEAD + OK_ROW + f"B2,二七书房,{'长' * 5000},二七区,113.6430,34.7230,开放,20,,,\n"),
         "too_long", 1, row=3, column="地址", zh=("5000",), en=("5000",)),
    Case("huge_field", _csv(HEAD + OK_ROW + f'B2,二七书房,"{"x" * (FIELD_SIZE_LIMIT + 10)}",二七区,1,2,,,,,\n'),
         "field_too_large", 2, zh=("第 3 行", "10 MB"), en=("Row 3", "10 MB")),
    Case("wrong_kind_headers", _csv("编号,名称,经度,纬度,所有制,类别,国家等级,免费开放,年观众量\n"
                                    "M1,某馆,113.66,34.78,国有,综合性,一级,是,1000\n"), "wrong_kind", 2,
         zh=("博物馆", "城市书房"), en=("Museum", "City study room"), kind="study_room"),
    Case("wrong_kind_row", _csv("类型,编号,名称,经度,纬度\n城市书房,K1,书房甲,113.6654,34.7802\n"
                                "博物馆,K2,博物馆乙,113.6700,34.7600\n"), "wrong_kind", 1, row=3, column="类型",
         zh=("博物馆",), en=("study_room",)),
    Case("kind_missing", _csv("编号,名称,经度,纬度\nK1,书房甲,113.6654,34.7802\n"), "kind_required", 2, kind=None,
         zh=("类型",), en=("kind",)),
]


def counts(conn: Connection) -> tuple[int, ...]:
    return tuple(conn.execute(text(f"SELECT count(*) FROM {t}")).scalar_one()
                 for t in ("facility", "import_batch", "import_change", "review_flag", "study_room", "museum"))


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_bad_input_has_a_clear_message_and_nothing_is_written(connection: Connection, tmp_path: Path,
                                                                case: Case) -> None:
    path = tmp_path / case.filename
    path.write_bytes(case.data)
    before = counts(connection)
    result = run_import(connection, path, ImportOptions(crs="wgs84", kind=case.kind, source="bad-input",
                                                        created_by="pytest", mode="reject-file"))
    assert result.exit_code == case.exit_code, [i.as_dict() for i in result.issues.all()]
    assert not result.committed and result.batch_id is None
    assert counts(connection) == before, "a rejected file must write nothing"
    issues = [i for i in result.issues.all() if i.code == case.code]
    assert issues, f"no '{case.code}' issue in {[i.code for i in result.issues.all()]}"
    issue = issues[0]
    assert issue.row == case.row
    if case.column is not None:
        assert issue.column == case.column
    for part in case.zh:
        assert part in issue.zh, issue.zh
    for part in case.en:
        assert part in issue.en, issue.en
    assert issue.zh != issue.en and issue.zh.strip() and issue.en.strip()
    if case.row is not None:  # the rejected row is in the error report, as uploaded, with its message
        assert result.report_csv is not None
        report = result.report_csv.decode("utf-8-sig").splitlines()
        assert any(line.startswith(f"{case.row},") and issue.zh[:10] in line for line in report)


def test_formula_cells_are_stored_as_text_flagged_and_neutralised_in_reports(connection: Connection,
                                                                              tmp_path: Path) -> None:
    """A cell a spreadsheet would run (=, +, -, @) is imported as plain text with a warning; every CSV we
    hand back (error report, export) prefixes it with ' so Excel shows it instead of running it."""
    from sqlalchemy.orm import Session

    from registry.exporter import ExportFilter, export_csv

    formula = '=HYPERLINK("http://evil.example","点我")'
    body = (HEAD + f'F1,"{formula.replace(chr(34), chr(34) * 2)}",@SUM(1),金水区,113.6654,34.7802,开放,20,,,\n'
            + "F2,坏行,,金水区,abc,34.7802,开放,20,,,\n")
    path = tmp_path / "formula.csv"
    path.write_text(body, encoding="utf-8")
    before = counts(connection)
    blocked = run_import(connection, path, ImportOptions(crs="wgs84", kind="study_room", source="formula"))
    assert blocked.blocked and counts(connection) == before
    warned = [i for i in blocked.issues.row_issues if i.code == "formula"]
    assert {(i.row, i.column) for i in warned} == {(2, "名称"), (2, "地址")}
    assert "公式" in warned[0].zh and "formula" in warned[0].en
    report = blocked.report_csv.decode("utf-8-sig")
    assert "F2,坏行" in report and "abc" in report

    done = run_import(connection, path, ImportOptions(crs="wgs84", kind="study_room", source="formula",
                                                      mode="import-valid"))
    assert done.committed and done.n_created == 1
    stored = connection.execute(text("SELECT name, address FROM facility WHERE source = 'formula'")).one()
    assert stored == (formula, "@SUM(1)")
    session = Session(bind=connection, join_transaction_mode="create_savepoint")
    exported = export_csv(session, ExportFilter(kind="study_room", batch_id=done.batch_id)).decode("utf-8-sig")
    assert "'=HYPERLINK" in exported and "'@SUM(1)" in exported
    assert ',=HYPERLINK' not in exported and ',"=HYPERLINK' not in exported
