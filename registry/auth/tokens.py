"""API bearer tokens: random 256-bit secrets, stored only as SHA-256.

A token looks like ``rgt_<43 url-safe characters>``; it is shown once when
issued (account page, ``POST /api/auth/tokens`` or ``registry user token``)
and afterwards only its first characters (``prefix``) are displayed.  Because
the secret has 256 bits of entropy a fast hash is enough: an attacker holding
the table cannot search that space (passwords, which are guessable, get Argon2id).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import secrets

from sqlalchemy import select
from sqlalchemy.orm import Session

from registry.models import ApiToken, User

TOKEN_PREFIX = "rgt_"
DEFAULT_LIFETIME_DAYS = 90
MAX_LIFETIME_DAYS = 366
_TOUCH_EVERY = dt.timedelta(minutes=5)
TOUCHED = "registry.token_touched"


def token_digest(plaintext: str) -> str:
    """SHA-256 (hex) of a token, as stored."""
    return hashlib.sha256(plaintext.encode("utf-8")).hexdigest()


def generate_token() -> str:
    """A new random token string."""
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def issue_token(session: Session, user: User, name: str, lifetime_days: int | None = DEFAULT_LIFETIME_DAYS
                ) -> tuple[ApiToken, str]:
    """Create a token for ``user``; return the row and the plaintext (shown once).

    Parameters
    ----------
    name : str
        What the token is for (``"nightly export"``); 1-100 characters.
    lifetime_days : int or None
        Days until it expires (1-366); ``None`` for no expiry.

    Raises
    ------
    ValueError
        On an empty/long name or a lifetime out of range.
    """
    name = (name or "").strip()
    if not name or len(name) > 100:
        raise ValueError("token name must be 1-100 characters")
    if lifetime_days is not None and not 1 <= lifetime_days <= MAX_LIFETIME_DAYS:
        raise ValueError(f"token lifetime must be 1-{MAX_LIFETIME_DAYS} days")
    plaintext = generate_token()
    token = ApiToken(
        user_id=user.id,
        name=name,
        token_hash=token_digest(plaintext),
        prefix=plaintext[: len(TOKEN_PREFIX) + 6],
        expires_at=None if lifetime_days is None else _now() + dt.timedelta(days=lifetime_days),
    )
    session.add(token)
    session.flush()
    return token, plaintext


def authenticate_token(session: Session, plaintext: str, now: dt.datetime | None = None) -> User | None:
    """The active user owning a valid (unrevoked, unexpired) token, else ``None``."""
    if not plaintext.startswith(TOKEN_PREFIX) or len(plaintext) > 200:
        return None
    digest = token_digest(plaintext)
    token = session.scalar(select(ApiToken).where(ApiToken.token_hash == digest))
    if token is None or not hmac.compare_digest(token.token_hash, digest):
        return None
    now = now or _now()
    if token.revoked_at is not None or (token.expires_at is not None and token.expires_at <= now):
        return None
    if not token.user.is_active:
        return None
    if token.last_used_at is None or now - token.last_used_at > _TOUCH_EVERY:
        token.last_used_at = now
        session.flush()
        session.info[TOUCHED] = True  # the caller commits (registry.auth.identity does, per request)
    return token.user


def list_tokens(session: Session, user: User) -> list[ApiToken]:
    """The tokens of ``user``, newest first (revoked ones included)."""
    return list(session.scalars(select(ApiToken).where(ApiToken.user_id == user.id)
                                .order_by(ApiToken.created_at.desc(), ApiToken.id.desc())))


def revoke_token(session: Session, token: ApiToken) -> bool:
    """Revoke ``token``; return False if it was already revoked."""
    if token.revoked_at is not None:
        return False
    token.revoked_at = _now()
    session.flush()
    return True
