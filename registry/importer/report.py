"""Row-numbered, bilingual messages and the downloadable error report.

Every :class:`Issue` names the row as the clerk sees it in Excel (header =
row 1), the column as written in the file, the value and what was expected,
in Chinese and in English.  The error report is a CSV (UTF-8 with BOM, so
Excel opens it) holding each rejected row *as it was* plus a ``错误 error``
column: fix the cells, delete the two added columns or not (they are ignored
on import), and upload it again.
"""

from __future__ import annotations

import csv
import gzip
import io
import tempfile
from collections import Counter
from dataclasses import dataclass, field
from typing import IO

ERROR = "error"
WARNING = "warning"
INFO = "info"

REPORT_ROW_HEADER = "原行号 row"
REPORT_ERROR_HEADER = "错误 error"
MAX_SHOWN_VALUE = 60
MAX_KEPT_ISSUES = 5000


def shorten(value: str | None, limit: int = MAX_SHOWN_VALUE) -> str:
    """``value`` cut to ``limit`` characters with its full length shown (huge cells stay readable)."""
    if value is None:
        return ""
    if len(value) <= limit:
        return value
    return f"{value[:limit]}…（共 {len(value)} 字符 / {len(value)} chars）"


@dataclass
class Issue:
    """One finding about the file or one of its rows.

    Attributes
    ----------
    severity : str
        ``error`` (the row is rejected), ``warning`` (imported, but look at it) or ``info``.
    code : str
        Stable identifier (``encoding``, ``date``, ``swapped``, ``near_duplicate``...).
    zh, en : str
        The full message in Chinese and in English.
    row : int or None
        Excel row number (header = 1); ``None`` for file-level findings.
    column : str or None
        The header as written in the file.
    value : str or None
        The offending cell text.
    """

    severity: str
    code: str
    zh: str
    en: str
    row: int | None = None
    column: str | None = None
    value: str | None = None

    def text(self, lang: str = "zh") -> str:
        return self.en if lang == "en" else self.zh

    @property
    def bilingual(self) -> str:
        return f"{self.zh} / {self.en}"

    def as_dict(self) -> dict[str, object]:
        return {"severity": self.severity, "code": self.code, "row": self.row, "column": self.column,
                "value": self.value, "zh": self.zh, "en": self.en}


def cell_issue(row: int, header: str, field_en: str, value: str, code: str, expected_zh: str,
               expected_en: str, severity: str = ERROR) -> Issue:
    """A message about one cell: row, column, value and what was expected."""
    shown = shorten(value)
    return Issue(
        severity, code,
        zh=f"第 {row} 行「{header}」列的值「{shown}」无效：应为{expected_zh}。",
        en=f"Row {row}, column '{header}' ({field_en}): '{shown}' is not valid; expected {expected_en}.",
        row=row, column=header, value=value,
    )


def row_issue(row: int, code: str, zh: str, en: str, severity: str = ERROR, column: str | None = None,
              value: str | None = None) -> Issue:
    """A message about a whole row (prefixed with its row number)."""
    return Issue(severity, code, zh=f"第 {row} 行：{zh}", en=f"Row {row}: {en}", row=row, column=column,
                 value=value)


@dataclass
class IssueLog:
    """Issues of one import: all counted, the first :data:`MAX_KEPT_ISSUES` row issues kept."""

    file_issues: list[Issue] = field(default_factory=list)
    row_issues: list[Issue] = field(default_factory=list)
    counts: Counter = field(default_factory=Counter)  # (severity, code) -> n
    dropped: int = 0

    def add(self, issue: Issue) -> None:
        self.counts[(issue.severity, issue.code)] += 1
        if issue.row is None:
            self.file_issues.append(issue)
        elif len(self.row_issues) < MAX_KEPT_ISSUES:
            self.row_issues.append(issue)
        else:
            self.dropped += 1

    def count(self, severity: str) -> int:
        return sum(n for (sev, _), n in self.counts.items() if sev == severity)

    def all(self) -> list[Issue]:
        return self.file_issues + sorted(self.row_issues, key=lambda i: (i.row or 0))


class RejectSpool:
    """Rejected rows, spooled to a temporary file as they are found (constant memory)."""

    def __init__(self) -> None:
        self._fh: IO[str] = tempfile.TemporaryFile("w+", encoding="utf-8", newline="")
        self._writer = csv.writer(self._fh)
        self.count = 0
        self.row_numbers: list[int] = []

    def add(self, row_no: int, messages: list[str], cells: list[str]) -> None:
        self._writer.writerow([row_no, " | ".join(messages), *cells])
        self.count += 1
        self.row_numbers.append(row_no)

    def report_csv(self, headers: list[str]) -> bytes:
        """The error report: UTF-8 with BOM, original columns plus row number and error columns."""
        self._fh.flush()
        self._fh.seek(0)
        rows = sorted(csv.reader(self._fh), key=lambda r: int(r[0]))
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\r\n")
        writer.writerow([REPORT_ROW_HEADER, REPORT_ERROR_HEADER, *headers])
        from registry.exporter import neutralise

        for row in rows:
            writer.writerow([row[0], neutralise(row[1]), *(neutralise(c) for c in row[2:])])
        self._fh.seek(0, io.SEEK_END)
        return ("\ufeff" + out.getvalue()).encode("utf-8")

    def close(self) -> None:
        self._fh.close()


def compress(data: bytes) -> bytes:
    return gzip.compress(data, compresslevel=6)


def decompress(data: bytes) -> bytes:
    return gzip.decompress(data)
