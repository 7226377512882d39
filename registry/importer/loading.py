"""Getting validated rows to the server fast: ``COPY`` text, point EWKB, and the writer thread.

* :func:`copy_text` turns a chunk's column arrays into PostgreSQL ``COPY``
  text format; clean text columns (no backslash, tab or line break, which one
  scan of the joined column tells) are used as they are, other columns convert
  each distinct value once.
* :func:`ewkb_points_hex` builds the hex EWKB of the points with numpy (exact
  doubles, no geometry objects).
* :class:`ChunkWriter` is the thread that owns the database connection while
  a file streams: the caller parses and validates chunk *n + 1* while the
  server loads and writes chunk *n* (psycopg releases the GIL while it waits
  on the server), so the two cores work at the same time.

>>> copy_text([np.array([2, 3]), np.array(["甲", None], dtype=object)])
b'2\\t\\xe7\\x94\\xb2\\n3\\t\\\\N\\n'
"""

from __future__ import annotations

import datetime as dt
import queue
import re
import threading
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

_COPY_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})
_COPY_SPECIAL = re.compile(r"[\\\t\n\r]")
NULL = "\\N"


def copy_value(value: Any) -> str:
    """One value in PostgreSQL ``COPY`` text format."""
    if value is None:
        return NULL
    if value is True:
        return "t"
    if value is False:
        return "f"
    if isinstance(value, str):
        return value.translate(_COPY_ESCAPES)
    if isinstance(value, (dt.date, dt.time)):
        return value.isoformat()
    return repr(value) if isinstance(value, float) else str(value)


def copy_column(values: np.ndarray) -> np.ndarray:
    """A column in ``COPY`` text format (object array of ``str``)."""
    if values.dtype.kind in "iu":
        return values.astype(str).astype(object)
    values = np.asarray(values, dtype=object)
    if len(values) and pd.api.types.infer_dtype(values, skipna=True) == "string":
        missing = pd.isna(values)
        present = values[~missing] if missing.any() else values
        if not _COPY_SPECIAL.search("".join(present)):
            if present is values:
                return values
            out = values.copy()
            out[missing] = NULL
            return out
    codes, uniques = pd.factorize(values, use_na_sentinel=True)
    texts = np.array([copy_value(u) for u in uniques] + [NULL], dtype=object)
    return texts[codes]


def copy_text(columns: list[Any]) -> bytes:
    """Rows in ``COPY`` text format (UTF-8) from column arrays of equal length."""
    texts = [copy_column(col if isinstance(col, np.ndarray) else np.asarray(col, dtype=object)) for col in columns]
    return ("\n".join(map("\t".join, zip(*texts))) + "\n").encode("utf-8")


_EWKB_POINT = np.dtype([("order", "u1"), ("type", "<u4"), ("srid", "<u4"), ("x", "<f8"), ("y", "<f8")])
"""Little-endian EWKB of a 2D point with SRID (25 bytes, packed)."""


def ewkb_points_hex(lon: np.ndarray, lat: np.ndarray, srid: int) -> np.ndarray:
    """Hex EWKB of ``POINT(lon lat)`` with ``srid`` for each pair (object array of ``str``)."""
    buf = np.empty(len(lon), dtype=_EWKB_POINT)
    buf["order"], buf["type"], buf["srid"] = 1, 0x20000001, srid
    buf["x"], buf["y"] = lon, lat
    text = buf.tobytes().hex()
    width = 2 * _EWKB_POINT.itemsize
    return np.array([text[i:i + width] for i in range(0, len(text), width)], dtype=object)


class ChunkWriter:
    """Runs the database work of each chunk, in order, in one background thread.

    While it runs, only this thread may use the connection.  The queue holds at
    most ``depth`` chunks, which bounds memory.  The first error stops the
    work: it is raised to the caller by the next :meth:`submit` or by :meth:`stop`.
    """

    def __init__(self, depth: int = 2) -> None:
        self._queue: queue.Queue[Callable[[], None] | None] = queue.Queue(maxsize=depth)
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="import-chunk-writer", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while (task := self._queue.get()) is not None:
            if self._error is None:
                try:
                    task()
                except BaseException as exc:  # noqa: BLE001 - handed to the caller's thread
                    self._error = exc

    def submit(self, task: Callable[[], None]) -> None:
        """Queue ``task`` (blocks while ``depth`` chunks wait); raise the worker's error if it failed."""
        if self._error is not None:
            raise self._error
        self._queue.put(task)

    def stop(self) -> BaseException | None:
        """Wait for the queued work to finish; return the worker's error, if any."""
        self._queue.put(None)
        self._thread.join()
        return self._error


__all__ = ["ChunkWriter", "copy_column", "copy_text", "copy_value", "ewkb_points_hex"]
