"""docs/SECURITY.md carries the permission tables exactly as the code has them."""

from __future__ import annotations

import re
from pathlib import Path

from registry.auth.permissions import (
    CLI_PERMISSIONS,
    PERMISSIONS,
    ROLE_PERMISSIONS,
    cli_table_markdown,
    roles_table_markdown,
)

DOC = (Path(__file__).resolve().parents[2] / "docs" / "SECURITY.md").read_text(encoding="utf-8")


def _block(name: str) -> str:
    match = re.search(rf"<!-- {name}:[^\n]*-->\n(.*?)\n<!-- /{name} -->", DOC, re.DOTALL)
    assert match, f"no {name} block in docs/SECURITY.md"
    return match.group(1)


def test_roles_table_is_the_generated_one() -> None:
    assert _block("roles-table") == roles_table_markdown(), \
        "regenerate with registry.auth.permissions.roles_table_markdown()"


def test_generated_roles_table_matches_the_role_permissions() -> None:
    rows = [line for line in roles_table_markdown().splitlines()[2:]]
    assert len(rows) == len(PERMISSIONS)
    columns = ("anonymous", "viewer", "analyst", "clerk", "admin")
    for row in rows:
        cells = [c.strip() for c in row.strip("|").split("|")]
        perm = cells[0].strip("`")
        for role, cell in zip(columns, cells[1:6], strict=True):
            assert cell.startswith("✓") == (perm in ROLE_PERMISSIONS[role]), (perm, role)


def test_cli_table_is_the_generated_one() -> None:
    assert _block("cli-table") == cli_table_markdown()
    assert len(cli_table_markdown().splitlines()) == len(CLI_PERMISSIONS) + 2
