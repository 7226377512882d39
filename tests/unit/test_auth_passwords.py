"""Password hashing (Argon2id) and the password policy."""

from __future__ import annotations

from registry.auth import passwords


def test_hash_is_argon2id_salted_and_verifies() -> None:
    first = passwords.hash_password("correct horse battery")
    second = passwords.hash_password("correct horse battery")
    assert first.startswith("$argon2id$")
    assert first != second  # random salt
    assert passwords.verify_password(first, "correct horse battery")
    assert not passwords.verify_password(first, "correct horse battery ")
    assert not passwords.needs_rehash(first)


def test_bad_hashes_and_huge_inputs_are_just_false() -> None:
    assert not passwords.verify_password("not a hash", "whatever123")
    assert not passwords.verify_password(passwords.hash_password("x" * 12), "x" * 5000)
    assert passwords.needs_rehash("$2b$12$legacybcrypt")


def test_policy() -> None:
    assert passwords.password_problem("short") is not None
    assert passwords.password_problem("aaaaaaaaaaaa") is not None  # too repetitive
    assert passwords.password_problem("zhangsan123", "ZhangSan123") is not None
    assert passwords.password_problem("x" * 2000) is not None
    assert passwords.password_problem("river lantern 2019") is None
