"""Login throttling, stored in the database so every gunicorn worker sees the same counts.

Policy (see docs/SECURITY.md):

* a user name with :data:`MAX_USER_FAILURES` failed sign-ins within
  :data:`WINDOW` (since its last success) is locked until the oldest of those failures
  leaves the window, whatever the password (refused attempts are neither
  checked nor counted) — this stops guessing one account from many addresses;
* a client address with :data:`MAX_ADDR_FAILURES` failures within the window
  is refused for any user name — this stops spraying many accounts.

Attempts older than :data:`KEEP` are purged as new ones are recorded.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from registry.models import LoginAttempt

MAX_USER_FAILURES = 5
MAX_ADDR_FAILURES = 20
WINDOW = dt.timedelta(minutes=15)
KEEP = dt.timedelta(days=1)


@dataclass(frozen=True)
class ThrottleDecision:
    """Whether a sign-in may be attempted now, and if not, for how long to wait."""

    allowed: bool
    retry_after: int = 0  # seconds
    reason: str | None = None  # "user" | "address"


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def normalise_username(username: str) -> str:
    """User names are compared case-insensitively and without surrounding blanks."""
    return (username or "").strip().lower()[:64]


def check_login(session: Session, username: str, remote_addr: str | None, now: dt.datetime | None = None,
                max_user_failures: int = MAX_USER_FAILURES, max_addr_failures: int = MAX_ADDR_FAILURES,
                window: dt.timedelta = WINDOW) -> ThrottleDecision:
    """Decide whether ``username`` from ``remote_addr`` may try to sign in now."""
    now = now or _now()
    since = now - window
    name = normalise_username(username)
    last_ok = session.scalar(select(func.max(LoginAttempt.created_at))
                             .where(LoginAttempt.username == name, LoginAttempt.succeeded.is_(True),
                                    LoginAttempt.created_at > since))
    start = max(since, last_ok) if last_ok else since
    user_fail = session.execute(
        select(func.count(), func.min(LoginAttempt.created_at))
        .where(LoginAttempt.username == name, LoginAttempt.succeeded.is_(False), LoginAttempt.created_at > start)
    ).one()
    if user_fail[0] >= max_user_failures:
        return ThrottleDecision(False, _seconds_until(user_fail[1] + window, now), "user")
    if remote_addr:
        addr_fail = session.execute(
            select(func.count(), func.min(LoginAttempt.created_at))
            .where(LoginAttempt.remote_addr == remote_addr, LoginAttempt.succeeded.is_(False),
                   LoginAttempt.created_at > since)
        ).one()
        if addr_fail[0] >= max_addr_failures:
            return ThrottleDecision(False, _seconds_until(addr_fail[1] + window, now), "address")
    return ThrottleDecision(True)


def record_attempt(session: Session, username: str, remote_addr: str | None, succeeded: bool,
                   now: dt.datetime | None = None) -> None:
    """Store one attempt (and purge attempts older than :data:`KEEP`)."""
    now = now or _now()
    session.add(LoginAttempt(username=normalise_username(username), remote_addr=remote_addr,
                             succeeded=succeeded, created_at=now))
    session.execute(delete(LoginAttempt).where(LoginAttempt.created_at < now - KEEP))
    session.flush()


def _seconds_until(moment: dt.datetime, now: dt.datetime) -> int:
    return max(1, math.ceil((moment - now).total_seconds()))
