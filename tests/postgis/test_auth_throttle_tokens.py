"""Login throttling (in the database) and API tokens (stored hashed)."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from registry.auth import throttle, tokens
from registry.models import ApiToken, LoginAttempt

pytestmark = pytest.mark.postgis

T0 = dt.datetime(2026, 1, 5, 9, 0, tzinfo=dt.UTC)


def _fail(session: Session, n: int, user: str = "wang", addr: str = "10.1.1.1", start: dt.datetime = T0) -> None:
    for i in range(n):
        throttle.record_attempt(session, user, addr, False, now=start + dt.timedelta(seconds=i))


def test_user_is_locked_after_five_failures_until_the_window_passes(session: Session) -> None:
    _fail(session, 4)
    assert throttle.check_login(session, "wang", "10.1.1.1", now=T0 + dt.timedelta(seconds=10)).allowed
    _fail(session, 1, start=T0 + dt.timedelta(seconds=20))
    locked = throttle.check_login(session, "WANG ", "10.9.9.9", now=T0 + dt.timedelta(seconds=30))
    assert not locked.allowed and locked.reason == "user"  # from any address, any spelling
    assert 14 * 60 < locked.retry_after <= 15 * 60
    assert throttle.check_login(session, "li", "10.1.1.1", now=T0 + dt.timedelta(seconds=30)).allowed
    later = T0 + throttle.WINDOW + dt.timedelta(seconds=5)
    assert throttle.check_login(session, "wang", "10.1.1.1", now=later).allowed


def test_a_success_resets_the_user_count(session: Session) -> None:
    _fail(session, 4)
    throttle.record_attempt(session, "wang", "10.1.1.1", True, now=T0 + dt.timedelta(seconds=5))
    _fail(session, 4, start=T0 + dt.timedelta(seconds=6))
    assert throttle.check_login(session, "wang", "10.1.1.1", now=T0 + dt.timedelta(seconds=20)).allowed


def test_an_address_spraying_many_names_is_refused(session: Session) -> None:
    for i in range(throttle.MAX_ADDR_FAILURES):
        throttle.record_attempt(session, f"user{i}", "10.2.2.2", False, now=T0 + dt.timedelta(seconds=i))
    decision = throttle.check_login(session, "someone-new", "10.2.2.2", now=T0 + dt.timedelta(minutes=1))
    assert not decision.allowed and decision.reason == "address"
    assert throttle.check_login(session, "someone-new", "10.3.3.3", now=T0 + dt.timedelta(minutes=1)).allowed


def test_old_attempts_are_purged(session: Session) -> None:
    _fail(session, 3)
    throttle.record_attempt(session, "zhao", None, True, now=T0 + throttle.KEEP + dt.timedelta(minutes=1))
    names = session.scalars(select(LoginAttempt.username).where(LoginAttempt.created_at >= T0)).all()
    assert names == ["zhao"]


def test_tokens_are_stored_hashed_and_expire_and_revoke(session: Session, make_user) -> None:  # type: ignore[no-untyped-def]
    user = make_user("analyst")
    row, plaintext = tokens.issue_token(session, user, "script", lifetime_days=30)
    assert plaintext.startswith("rgt_") and len(plaintext) > 40
    stored = session.scalar(select(ApiToken).where(ApiToken.id == row.id))
    assert stored is not None and plaintext not in (stored.token_hash, stored.prefix)
    assert stored.token_hash == tokens.token_digest(plaintext) and plaintext.startswith(stored.prefix)
    assert tokens.authenticate_token(session, plaintext) is user
    assert row.last_used_at is not None
    assert tokens.authenticate_token(session, plaintext + "x") is None
    assert tokens.authenticate_token(session, "Bearer " + plaintext) is None
    assert tokens.authenticate_token(session, plaintext, now=row.expires_at + dt.timedelta(seconds=1)) is None
    user.is_active = False
    assert tokens.authenticate_token(session, plaintext) is None
    user.is_active = True
    assert tokens.revoke_token(session, row) and not tokens.revoke_token(session, row)
    assert tokens.authenticate_token(session, plaintext) is None
    with pytest.raises(ValueError):
        tokens.issue_token(session, user, "", 30)
    with pytest.raises(ValueError):
        tokens.issue_token(session, user, "forever-ish", 5000)
