"""Staff passwords: hashed with argon2id (argon2-cffi, its recommended parameters), never
kept or logged as typed; a generated one is long enough to need no rules."""

from __future__ import annotations

import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

_HASHER = PasswordHasher()
MIN_LENGTH = 10  # a passphrase of a few words; no rules about digits or symbols
GENERATED_BYTES = 12  # 16 characters of URL-safe base64


def hash_password(password: str) -> str:
    return _HASHER.hash(password)


def password_matches(stored_hash: str, password: str) -> bool:
    """In constant time for a given hash; False for a malformed hash too."""
    try:
        return _HASHER.verify(stored_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(stored_hash: str) -> bool:
    """The parameters were raised since this hash was made: hash it again at sign-in."""
    return _HASHER.check_needs_rehash(stored_hash)


def generated_password() -> str:
    return secrets.token_urlsafe(GENERATED_BYTES)


def too_weak(password: str) -> str | None:
    """Why a chosen password is refused, in words for the command line; None if it is fine."""
    if len(password) < MIN_LENGTH:
        return f"a password needs at least {MIN_LENGTH} characters"
    if not password.strip() or password != password.strip():
        return "a password may not start or end with spaces"
    return None
