"""docs/IMPORT.md is generated from the specs and must not drift."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_import_docs_are_current() -> None:
    proc = subprocess.run([sys.executable, str(ROOT / "scripts" / "make_import_docs.py"), "--check"])
    assert proc.returncode == 0, "docs/IMPORT.md is stale: run scripts/make_import_docs.py"


def test_every_field_header_is_documented() -> None:
    from registry.kinds import COMMON_FIELDS, KIND_SPECS

    text = (ROOT / "docs" / "IMPORT.md").read_text(encoding="utf-8")
    for spec in KIND_SPECS.values():
        for field in (*COMMON_FIELDS, *spec.fields):
            for header in field.headers:
                assert f"`{header}`" in text, header
