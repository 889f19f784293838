"""Password hashing with argon2id, and the rules a new password must meet."""

from __future__ import annotations

import secrets
import string

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from safecity.core.errors import InvalidInput

_hasher = PasswordHasher()
MIN_LENGTH = 12
# Compared against when the user does not exist, so timing does not reveal usernames.
_DUMMY_HASH = _hasher.hash("timing-equaliser-not-a-password")


def hash_password(password: str) -> str:
    check_password_rules(password)
    return _hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    try:
        return _hasher.verify(password_hash or _DUMMY_HASH, password) and password_hash is not None
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    return _hasher.check_needs_rehash(password_hash)


def check_password_rules(password: str) -> None:
    if len(password) < MIN_LENGTH:
        raise InvalidInput(f"password must be at least {MIN_LENGTH} characters", field="password")
    if password.lower() == password or password.upper() == password or password.isalpha():
        raise InvalidInput(
            "password must mix upper- and lower-case letters and a digit or symbol",
            field="password",
        )


def generate_password(length: int = 16) -> str:
    """A random password that the rules above accept (for generated accounts)."""
    alphabet = string.ascii_letters + string.digits
    while True:
        candidate = "".join(secrets.choice(alphabet) for _ in range(length))
        if (
            any(c.isdigit() for c in candidate)
            and candidate.lower() != candidate != candidate.upper()
        ):
            return candidate
