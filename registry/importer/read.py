"""Reading a clerk's file: bytes → encoding → delimiter → rows, in chunks.

CSV/TSV text is decoded *strictly*: UTF-8 (with or without BOM) first, then
GB18030 (a superset of GBK); UTF-16 with a BOM (Excel's "Unicode text") is
recognised too.  The chosen encoding is reported, never guessed silently, and
a file that decodes as neither is refused.  The delimiter (comma, tab,
semicolon or bar) is sniffed from the first records.  ``.xlsx`` workbooks
are read with openpyxl in read-only mode.

Rows are numbered as the clerk sees them in Excel: the header is row 1, the
first data row is row 2, and a quoted value spanning several lines is still
one row.  Rows are yielded in chunks of columns (numpy object arrays of
``str``) so a million-row file is never held in memory at once.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

FIELD_SIZE_LIMIT = 10 * 1024 * 1024
"""Largest single CSV field the reader accepts before calling the file unusable (10 MiB)."""

DELIMITERS = (",", "\t", ";", "|")
DELIMITER_NAMES = {",": "逗号 comma", "\t": "制表符 tab", ";": "分号 semicolon", "|": "竖线 bar"}
ENCODING_LABELS = {
    "utf-8": "UTF-8",
    "utf-8-sig": "UTF-8 (BOM)",
    "gb18030": "GBK/GB18030",
    "utf-16": "UTF-16 (BOM)",
}
_BLOCK = 1 << 20


class FileProblem(Exception):
    """The file as a whole cannot be used (exit code 2); ``zh``/``en`` explain why and what to do."""

    def __init__(self, code: str, zh: str, en: str) -> None:
        super().__init__(f"{code}: {en}")
        self.code = code
        self.zh = zh
        self.en = en


@dataclass
class RawChunk:
    """Up to ``chunk_size`` data rows of the file.

    Attributes
    ----------
    row_numbers : numpy.ndarray of int64
        Excel row number of each row (header = 1).
    columns : list of numpy.ndarray
        One object array of ``str`` per header column (short rows padded with ``""``).
    rows : list of list of str
        The original cells of each row, for the error report.
    overflow : dict
        Row index → number of values when a row has non-empty values beyond the header.
    bytes_read : int
        Bytes of the file consumed so far (for progress bars).
    """

    row_numbers: np.ndarray
    columns: list[np.ndarray]
    rows: list[list[str]]
    overflow: dict[int, int]
    bytes_read: int
    blank: np.ndarray | None = None  # rows whose every cell is empty or white space

    def __len__(self) -> int:
        return len(self.rows)


@dataclass
class TableFile:
    """A readable table file and what was found out about it."""

    path: Path
    filename: str
    format: str  # csv | xlsx
    size: int
    checksum: str
    headers: list[str]
    encoding: str | None = None
    delimiter: str | None = None
    sheet: str | None = None
    notes: list[tuple[str, str]] = field(default_factory=list)

    @property
    def encoding_label(self) -> str:
        """Human name of the encoding (``GBK/GB18030``, ``UTF-8 (BOM)``, ``xlsx``)."""
        if self.format == "xlsx":
            return "xlsx"
        return ENCODING_LABELS.get(self.encoding or "", self.encoding or "?")

    @property
    def delimiter_label(self) -> str:
        return DELIMITER_NAMES.get(self.delimiter or "", "")

    def chunks(self, chunk_size: int = 50_000) -> Iterator[RawChunk]:
        """Yield the data rows in chunks (see :class:`RawChunk`)."""
        if self.format == "xlsx":
            yield from _xlsx_chunks(self, chunk_size)
        else:
            yield from _csv_chunks(self, chunk_size)


# --------------------------------------------------------------------------- opening
def open_table(path: str | Path, filename: str | None = None) -> TableFile:
    """Inspect ``path``: format, encoding, delimiter, checksum and header row.

    Raises
    ------
    FileProblem
        Empty file, unknown encoding, legacy ``.xls``, no header or no delimiter.
    """
    path = Path(path)
    filename = filename or path.name
    size = path.stat().st_size
    if size == 0:
        raise FileProblem("empty", "文件是空的（0 字节）。", "The file is empty (0 bytes).")
    with path.open("rb") as fh:
        head = fh.read(8)
    if head.startswith(b"\xd0\xcf\x11\xe0"):
        raise FileProblem("xls", "不支持旧版 Excel .xls 文件，请另存为 .xlsx 或 CSV（UTF-8）。",
                          "Legacy Excel .xls is not supported; save it as .xlsx or CSV (UTF-8).")
    if head.startswith(b"PK\x03\x04"):
        return _open_xlsx(path, filename, size)
    return _open_csv(path, filename, size)


def detect_encoding(path: Path) -> tuple[str, str]:
    """Decode the whole file strictly and return ``(codec, sha256)``.

    UTF-16 with a BOM, then UTF-8 (BOM optional), then GB18030 are tried; the
    first that decodes every byte wins.

    Raises
    ------
    FileProblem
        If no candidate decodes the file, or it holds NUL bytes (a binary file).
    """
    with path.open("rb") as fh:
        head = fh.read(4)
    if head[:2] in (b"\xff\xfe", b"\xfe\xff"):
        candidates = ["utf-16"]
    else:
        candidates = ["utf-8-sig", "gb18030"]
    failures: list[str] = []
    for codec in candidates:
        digest = hashlib.sha256()
        decoder = __import__("codecs").getincrementaldecoder(codec)(errors="strict")
        offset = 0
        try:
            with path.open("rb") as fh:
                while block := fh.read(_BLOCK):
                    digest.update(block)
                    text = decoder.decode(block)
                    if codec != "utf-16" and "\x00" in text:
                        raise FileProblem("binary", "文件含有空字节，不是文本表格（CSV）。",
                                          "The file contains NUL bytes: it is not a text (CSV) table.")
                    offset += len(block)
                decoder.decode(b"", final=True)
        except UnicodeDecodeError as exc:
            failures.append(f"{codec} @ byte {offset + exc.start}")
            continue
        if codec == "utf-8-sig" and head.startswith(b"\xef\xbb\xbf"):
            return "utf-8-sig", digest.hexdigest()
        return ("utf-8" if codec == "utf-8-sig" else codec), digest.hexdigest()
    raise FileProblem(
        "encoding",
        "无法识别文件编码：既不是 UTF-8 也不是 GBK/GB18030（" + "；".join(failures) + "）。"
        "请在 Excel 中另存为“CSV UTF-8（逗号分隔）”。",
        "Cannot read the file's encoding: it is neither UTF-8 nor GBK/GB18030 (" + "; ".join(failures) + "). "
        "Save it from Excel as 'CSV UTF-8 (comma delimited)'.",
    )


def sniff_delimiter(sample: str, prefer_tab: bool = False) -> str:
    """The delimiter among comma, tab, semicolon and bar that splits the sample most consistently.

    >>> sniff_delimiter("名称;经度;纬度\\n甲;113.6;34.7\\n")
    ';'
    """
    lines = sample.splitlines(keepends=True)
    if len(lines) > 1 and not sample.endswith(("\n", "\r")):
        lines = lines[:-1]  # the sample may cut the last record
    text = "".join(lines[:200])
    best: tuple[float, int, int, str] | None = None
    for rank, delim in enumerate(DELIMITERS):
        records = [r for r in csv.reader(io.StringIO(text), delimiter=delim) if r]
        if not records or len(records[0]) < 2:
            continue
        width = len(records[0])
        body = records[1:51] or records[:1]
        consistent = sum(1 for r in body if len(r) == width) / len(body)
        bonus = 1 if prefer_tab and delim == "\t" else 0
        key = (consistent + bonus, width, -rank, delim)
        if best is None or key > best:
            best = key
    if best is None:
        raise FileProblem("delimiter", "找不到列分隔符：文件应为逗号、制表符或分号分隔的表格，且至少有两列。",
                          "No column delimiter found: the file should be a comma-, tab- or semicolon-separated "
                          "table with at least two columns.")
    return best[3]


def _open_csv(path: Path, filename: str, size: int) -> TableFile:
    codec, checksum = detect_encoding(path)
    with path.open(encoding=codec, newline="") as fh:
        sample = fh.read(64 * 1024)
    delimiter = sniff_delimiter(sample, prefer_tab=filename.lower().endswith((".tsv", ".tab", ".txt")))
    csv.field_size_limit(FIELD_SIZE_LIMIT)
    with path.open(encoding=codec, newline="") as fh:
        reader = csv.reader(fh, delimiter=delimiter)
        try:
            headers = next(reader, None)
        except csv.Error as exc:
            raise _csv_problem(exc, 1) from None
    if headers is None or not any(h.strip() for h in headers):
        raise FileProblem("no_header", "第 1 行（表头）是空的。", "Row 1 (the header row) is empty.")
    table = TableFile(path=path, filename=filename, format="csv", size=size, checksum=checksum,
                      headers=[h.strip().lstrip("\ufeff") for h in headers], encoding=codec, delimiter=delimiter)
    return table


def _csv_problem(exc: csv.Error, row: int) -> FileProblem:
    if "field larger than field limit" in str(exc):
        mib = FIELD_SIZE_LIMIT // (1024 * 1024)
        return FileProblem("field_too_large",
                           f"第 {row} 行有一个超过 {mib} MB 的单元格，文件无法读取（是否有未闭合的引号，把后面的行都并进了一个单元格？）。",
                           f"Row {row} holds a cell larger than {mib} MB; the file cannot be read (an unclosed quote "
                           "that swallowed the following rows?).")
    return FileProblem("csv", f"第 {row} 行附近的 CSV 格式无法读取：{exc}（例如超过 10 MB 的单元格或未闭合的引号）。",
                       f"Cannot read the CSV near row {row}: {exc} (e.g. a cell over 10 MB or an unclosed quote).")


class _CountingRaw(io.RawIOBase):
    """A raw reader that counts the bytes consumed (for progress bars)."""

    def __init__(self, fh: io.BufferedReader) -> None:
        self._fh = fh
        self.count = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:  # type: ignore[no-untyped-def]
        n = self._fh.readinto(buffer)
        self.count += n or 0
        return n

    def close(self) -> None:
        self._fh.close()
        super().close()


def _csv_chunks(table: TableFile, chunk_size: int) -> Iterator[RawChunk]:
    width = len(table.headers)
    raw = _CountingRaw(table.path.open("rb"))
    text = io.TextIOWrapper(io.BufferedReader(raw, _BLOCK), encoding=table.encoding, newline="")
    try:
        reader = csv.reader(text, delimiter=table.delimiter or ",")
        row_no = 1
        try:
            next(reader)
        except csv.Error as exc:
            raise _csv_problem(exc, 1) from None
        rows: list[list[str]] = []
        numbers: list[int] = []
        while True:
            try:
                record = next(reader)
            except StopIteration:
                break
            except csv.Error as exc:
                raise _csv_problem(exc, row_no + 1) from None
            row_no += 1
            rows.append(record)
            numbers.append(row_no)
            if len(rows) >= chunk_size:
                yield _make_chunk(rows, numbers, width, raw.count)
                rows, numbers = [], []
        if rows:
            yield _make_chunk(rows, numbers, width, raw.count)
    finally:
        text.close()


def _make_chunk(rows: list[list[str]], numbers: list[int], width: int, bytes_read: int) -> RawChunk:
    overflow: dict[int, int] = {}
    fitted: list[list[str]] = []
    blank = np.fromiter((not "".join(r).strip() for r in rows), dtype=bool, count=len(rows))
    for i, row in enumerate(rows):
        n = len(row)
        if n == width:
            fitted.append(row)
        elif n < width:
            fitted.append(row + [""] * (width - n))
        else:
            if any(v.strip() for v in row[width:]):
                overflow[i] = n
            fitted.append(row[:width])
    columns = [np.array(col, dtype=object) for col in zip(*fitted)] if fitted else \
        [np.empty(0, dtype=object) for _ in range(width)]
    return RawChunk(row_numbers=np.array(numbers, dtype=np.int64), columns=columns, rows=rows,
                    overflow=overflow, bytes_read=bytes_read, blank=blank)


# --------------------------------------------------------------------------- xlsx
def _open_xlsx(path: Path, filename: str, size: int) -> TableFile:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        while block := fh.read(_BLOCK):
            digest.update(block)
    workbook = _load_workbook(path)
    try:
        sheet, headers = None, None
        skipped: list[str] = []
        for ws in workbook.worksheets:
            first = next(ws.iter_rows(min_row=1, max_row=1, values_only=True), None)
            if first and any(v not in (None, "") for v in first):
                if sheet is None:
                    sheet, headers = ws.title, [_cell_text(v).strip() for v in first]
                    continue
            if sheet is not None:
                skipped.append(ws.title)
    finally:
        workbook.close()
    if sheet is None or headers is None:
        raise FileProblem("no_header", "工作簿中没有表头（所有工作表的第 1 行都是空的）。",
                          "The workbook has no header row (row 1 of every sheet is empty).")
    while headers and headers[-1] == "":
        headers.pop()
    table = TableFile(path=path, filename=filename, format="xlsx", size=size, checksum=digest.hexdigest(),
                      headers=headers, sheet=sheet)
    if skipped:
        table.notes.append((f"只读取了工作表“{sheet}”，忽略：{'、'.join(skipped)}。",
                            f"Only sheet '{sheet}' was read; ignored: {', '.join(skipped)}."))
    return table


def _load_workbook(path: Path):  # type: ignore[no-untyped-def]
    import openpyxl

    try:
        return openpyxl.load_workbook(path, read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, OSError, ValueError) as exc:
        raise FileProblem("xlsx", f"无法打开 Excel 文件：{exc}。", f"Cannot open the Excel file: {exc}.") from None


def _cell_text(value: object) -> str:
    """Text of an Excel cell as a clerk would read it (dates ISO, whole numbers without ``.0``)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dt.datetime):
        if value.time() == dt.time(0, 0):
            return value.date().isoformat()
        return value.isoformat(sep=" ", timespec="minutes")
    if isinstance(value, (dt.date, dt.time)):
        return value.isoformat()[:10] if isinstance(value, dt.date) else value.strftime("%H:%M")
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() and abs(value) < 1e15 else repr(value)
    return str(value)


def _xlsx_chunks(table: TableFile, chunk_size: int) -> Iterator[RawChunk]:
    width = len(table.headers)
    workbook = _load_workbook(table.path)
    try:
        ws = workbook[table.sheet]
        rows: list[list[str]] = []
        numbers: list[int] = []
        for row_no, values in enumerate(ws.iter_rows(min_row=2, values_only=True), start=2):
            rows.append([_cell_text(v) for v in values])
            numbers.append(row_no)
            if len(rows) >= chunk_size:
                yield _make_chunk(_trim(rows, width), numbers, width, int(table.size * 0.5))
                rows, numbers = [], []
        while rows and not any(v.strip() for v in rows[-1]):  # trailing formatting-only rows
            rows.pop()
            numbers.pop()
        if rows:
            yield _make_chunk(_trim(rows, width), numbers, width, table.size)
    finally:
        workbook.close()


def _trim(rows: list[list[str]], width: int) -> list[list[str]]:
    """Drop empty cells beyond the header width (Excel pads rows to the sheet's used range)."""
    out = []
    for row in rows:
        while len(row) > width and row[-1] == "":
            row.pop()
        out.append(row)
    return out


Progress = Callable[[int], None]
