"""Password hashing: Argon2id (argon2-cffi, RFC 9106 parameters).

Hashes are self-describing PHC strings (``$argon2id$v=19$m=65536,t=3,p=4$...``)
so parameters can be raised later: :func:`needs_rehash` tells the login code
to re-hash a password with the current parameters after a successful check.
No password, default or otherwise, is ever written in the code.
"""

from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

MIN_LENGTH = 10
MAX_LENGTH = 1024  # bound the work an attacker can make us do per attempt

_HASHER = PasswordHasher()  # argon2id, time_cost=3, memory_cost=64 MiB, parallelism=4
_DUMMY_HASH = _HASHER.hash("not a password: equalises the time of unknown-user logins")


def hash_password(password: str) -> str:
    """Argon2id hash (PHC string) of ``password``."""
    return _HASHER.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    """True when ``password`` matches ``password_hash``; never raises on a bad hash."""
    if len(password) > MAX_LENGTH:
        return False
    try:
        return _HASHER.verify(password_hash, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def dummy_verify(password: str) -> None:
    """Spend the time of one verification (for unknown users, so timing does not tell)."""
    verify_password(_DUMMY_HASH, password[:MAX_LENGTH])


def needs_rehash(password_hash: str) -> bool:
    """True when the hash was made with other parameters than the current ones."""
    try:
        return _HASHER.check_needs_rehash(password_hash)
    except InvalidHashError:
        return True


def password_problem(password: str, username: str | None = None) -> str | None:
    """Why ``password`` is not acceptable as a new password, or ``None`` if it is.

    Examples
    --------
    >>> password_problem("short")
    'password must be at least 10 characters (密码至少 10 个字符)'
    >>> password_problem("correct horse battery") is None
    True
    """
    if len(password) < MIN_LENGTH:
        return f"password must be at least {MIN_LENGTH} characters (密码至少 {MIN_LENGTH} 个字符)"
    if len(password) > MAX_LENGTH:
        return f"password must be at most {MAX_LENGTH} characters (密码至多 {MAX_LENGTH} 个字符)"
    if username and password.strip().lower() == username.strip().lower():
        return "password must not be the user name (密码不能与用户名相同)"
    if len(set(password)) < 4:
        return "password is too repetitive (密码过于简单)"
    return None
