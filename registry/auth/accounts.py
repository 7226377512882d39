"""Accounts: create users, change roles, district limits, passwords — validated and audited.

Shared by the admin pages and the ``registry user`` commands.  Errors are
``ValueError`` with a message for the person at the keyboard.  No password
value ever reaches the audit trail, only the time it was changed.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from registry import audit
from registry.auth import passwords
from registry.auth.permissions import ROLES
from registry.models import District, User

USERNAME_RE = re.compile(r"^[a-z0-9][a-z0-9_.@-]{1,63}$")
KEEP: Any = object()
"""Default of :func:`update_user` arguments: leave that attribute as it is."""


def normalise_username(username: str) -> str:
    """Lower-case, stripped user name; raises ``ValueError`` when it is not acceptable.

    >>> normalise_username("  Zhang.San ")
    'zhang.san'
    """
    name = (username or "").strip().lower()
    if not USERNAME_RE.match(name):
        raise ValueError(f"user name {username!r} must be 2-64 characters: letters, digits, '.', '_', '-', '@' "
                         "(用户名须为 2-64 个字母、数字或 . _ - @)")
    return name


def _role(role: str) -> str:
    if role not in ROLES:
        raise ValueError(f"role {role!r} is not one of {', '.join(ROLES)} (角色无效)")
    return role


def _district(session: Session, code: str | None) -> str | None:
    if code is None or code == "":
        return None
    exists = session.scalar(select(District.adcode).where(District.adcode == code, District.level == "county"))
    if exists is None:
        raise ValueError(f"district {code!r} is not a county-level district code (区县代码无效)")
    return code


def find_user(session: Session, username: str) -> User | None:
    """The user called ``username`` (case-insensitive), if any."""
    return session.scalar(select(User).where(User.username == (username or "").strip().lower()))


def count_active_admins(session: Session) -> int:
    """How many enabled admin accounts exist."""
    return session.scalar(select(func.count()).select_from(User)
                          .where(User.role == "admin", User.is_active.is_(True))) or 0


def create_user(session: Session, username: str, role: str, password: str, district_code: str | None,
                actor: audit.Actor, display_name: str | None = None) -> User:
    """Create an account; the password must pass :func:`~registry.auth.passwords.password_problem`."""
    name = normalise_username(username)
    role = _role(role)
    if find_user(session, name) is not None:
        raise ValueError(f"user {name!r} already exists (用户已存在)")
    problem = passwords.password_problem(password, name)
    if problem:
        raise ValueError(problem)
    user = User(username=name, role=role, district_code=_district(session, district_code),
                display_name=(display_name or "").strip() or None, password_hash=passwords.hash_password(password),
                password_changed_at=dt.datetime.now(dt.UTC), is_active=True, session_version=0)
    session.add(user)
    session.flush()
    audit.record_event(session, actor, "user.create", "user", user.id,
                       {"username": (None, name), "role": (None, role), "district_code": (None, user.district_code)})
    return user


def set_password(session: Session, user: User, new_password: str, actor: audit.Actor) -> None:
    """Store a new password hash and sign every session of ``user`` out (audited without the value)."""
    problem = passwords.password_problem(new_password, user.username)
    if problem:
        raise ValueError(problem)
    before = user.password_changed_at
    user.password_hash = passwords.hash_password(new_password)
    user.password_changed_at = dt.datetime.now(dt.UTC)
    user.session_version += 1
    session.flush()
    audit.record_event(session, actor, "user.password", "user", user.id,
                       {"password_changed_at": (before, user.password_changed_at)})


def update_user(session: Session, user: User, actor: audit.Actor, *, role: Any = KEEP, district_code: Any = KEEP,
                is_active: Any = KEEP, new_password: Any = KEEP) -> None:
    """Change some attributes of ``user``; never leaves the registry without an enabled admin."""
    changes: dict[str, tuple[Any, Any]] = {}
    new_role = user.role if role is KEEP or role is None else _role(role)
    new_active = user.is_active if is_active is KEEP or is_active is None else bool(is_active)
    if user.role == "admin" and user.is_active and (new_role != "admin" or not new_active) \
            and count_active_admins(session) <= 1:
        raise ValueError("cannot demote or disable the last enabled admin (不能移除最后一位管理员)")
    if new_role != user.role:
        changes["role"] = (user.role, new_role)
        user.role = new_role
    if new_active != user.is_active:
        changes["is_active"] = (user.is_active, new_active)
        user.is_active = new_active
    if district_code is not KEEP:
        code = _district(session, district_code)
        if code != user.district_code:
            changes["district_code"] = (user.district_code, code)
            user.district_code = code
    if changes:
        user.session_version += 1  # rights changed: sessions start over
        session.flush()
        audit.record_event(session, actor, "user.update", "user", user.id, changes)
    if new_password is not KEEP and new_password:
        set_password(session, user, new_password, actor)
