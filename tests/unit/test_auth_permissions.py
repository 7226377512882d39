"""The permission table itself (no database)."""

from __future__ import annotations

from itertools import pairwise

import pytest

from registry.auth.permissions import (
    ANONYMOUS,
    DEFAULT_READ_PERMISSION,
    DEFAULT_WRITE_PERMISSION,
    ENDPOINT_PERMISSIONS,
    PERMISSIONS,
    PUBLIC,
    ROLE_PERMISSIONS,
    ROLES,
    endpoint_permission,
    permissions_of,
    require,
    role_allows,
)


def test_each_role_holds_the_previous_roles_permissions() -> None:
    for lower, higher in pairwise(ROLES):
        assert ROLE_PERMISSIONS[lower] < ROLE_PERMISSIONS[higher], (lower, higher)


def test_roles_match_the_issue() -> None:
    assert {"facility.read", "coverage.read"} <= ROLE_PERMISSIONS["viewer"]
    assert "analysis.save" not in ROLE_PERMISSIONS["viewer"]
    assert "analysis.save" in ROLE_PERMISSIONS["analyst"]
    assert "facility.write" not in ROLE_PERMISSIONS["analyst"]
    assert {"facility.write", "facility.import"} <= ROLE_PERMISSIONS["clerk"]
    assert "user.admin" not in ROLE_PERMISSIONS["clerk"] and "rules.admin" not in ROLE_PERMISSIONS["clerk"]
    assert {"user.admin", "rules.admin", "system.admin"} <= ROLE_PERMISSIONS["admin"]
    assert set(PERMISSIONS) == set().union(*ROLE_PERMISSIONS.values())


def test_anonymous_reads_only_when_enabled() -> None:
    assert permissions_of(None, anonymous_read=True) == ROLE_PERMISSIONS[ANONYMOUS]
    assert permissions_of(ANONYMOUS, anonymous_read=False) == frozenset()
    assert not any(p.endswith((".write", ".import", ".admin", ".save")) for p in ROLE_PERMISSIONS[ANONYMOUS])
    assert role_allows(None, PUBLIC, anonymous_read=False)
    assert not role_allows(None, "facility.read", anonymous_read=False)


def test_unknown_role_holds_nothing() -> None:
    assert permissions_of("superuser") == frozenset()
    assert not role_allows("superuser", "facility.read")


def test_endpoint_resolution_order() -> None:
    def view() -> str:
        return ""

    assert endpoint_permission("auth.admin_users", "POST") == "user.admin"
    assert endpoint_permission("auth.admin_users", "GET") == "user.admin"
    assert endpoint_permission("imports.upload", "POST") == "facility.import"  # blueprint wildcard
    assert endpoint_permission("imports.report", "GET") == DEFAULT_READ_PERMISSION  # wildcard is for writes
    assert endpoint_permission("nobody.knows", "DELETE") == DEFAULT_WRITE_PERMISSION
    assert endpoint_permission("nobody.knows", "GET") == DEFAULT_READ_PERMISSION
    assert endpoint_permission("nobody.knows", "OPTIONS") == PUBLIC
    decorated = require("analysis.save")(view)
    assert endpoint_permission("nobody.knows", "PUT", decorated) == "analysis.save"
    assert DEFAULT_WRITE_PERMISSION in ROLE_PERMISSIONS["admin"]
    assert all(DEFAULT_WRITE_PERMISSION not in ROLE_PERMISSIONS[r] for r in (ANONYMOUS, "viewer", "analyst", "clerk"))


def test_require_rejects_unknown_permission() -> None:
    with pytest.raises(ValueError, match="unknown permission"):
        require("facility.delete")


def test_every_listed_permission_exists() -> None:
    for endpoint, permission in ENDPOINT_PERMISSIONS.items():
        assert permission == PUBLIC or permission in PERMISSIONS, endpoint
