"""Staff console accounts and their signed-in sessions.

An account is an office worker: an admin (manages accounts) or an officer (sessions,
attendance, exports). Only a password's hash is stored (bot/support/passwords.py). A disabled
account keeps its row, so the audit log still says who did what, and loses its sessions.
A console session is stored server-side by the digest of its token (the cookie holds the
token), so signing out, a new password or disabling the account ends it at once.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime

from bot.domain.store import Database, utc_now

ROLES = ("admin", "officer")
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{1,39}")
_COLUMNS = "id, name, role, created_at, disabled_at"


class AccountError(Exception):
    """A name taken, malformed or unknown; the message says which, in plain words."""


@dataclass(frozen=True)
class Account:
    id: int
    name: str
    role: str
    created_at: str
    disabled_at: str | None = None

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"


def _account(row) -> Account:
    return Account(row["id"], row["name"], row["role"], row["created_at"], row["disabled_at"])


def check_name(name: str) -> str:
    if not _NAME.fullmatch(name):
        raise AccountError(
            f"{name!r} cannot be an account name: 2 to 40 letters, digits, '.', '_' or '-',"
            " starting with a letter or digit (for example: rina.bp3mi)"
        )
    return name


async def add_account(db: Database, name: str, role: str, password_hash: str) -> Account:
    if role not in ROLES:
        raise AccountError(f"{role!r} is not a role: admin or officer")
    rows = await db.write_one(
        "INSERT INTO staff_accounts (name, role, password_hash, created_at) VALUES (?, ?, ?, ?)"
        f" ON CONFLICT (name) DO NOTHING RETURNING {_COLUMNS}",
        (check_name(name), role, password_hash, utc_now()),
    )
    if not rows:
        raise AccountError(f"there is already an account named {name!r}")
    return _account(rows[0])


async def accounts(db: Database) -> list[Account]:
    rows = await db.fetchall(f"SELECT {_COLUMNS} FROM staff_accounts ORDER BY name")
    return [_account(r) for r in rows]


async def with_password(db: Database, name: str) -> tuple[Account, str] | None:
    """An account that may sign in (not disabled) and its password hash."""
    row = await db.fetchone(
        f"SELECT {_COLUMNS}, password_hash FROM staff_accounts"
        " WHERE name = ? AND disabled_at IS NULL",
        (name,),
    )
    return (_account(row), row["password_hash"]) if row else None


async def set_password(db: Database, name: str, password_hash: str) -> Account:
    """A new password; every session of the account ends."""
    async with db.write() as conn:
        rows = await conn.execute_fetchall(
            f"UPDATE staff_accounts SET password_hash = ? WHERE name = ? RETURNING {_COLUMNS}",
            (password_hash, name),
        )
        if not rows:
            raise AccountError(f"there is no account named {name!r}")
        [row] = rows
        await conn.execute("DELETE FROM console_sessions WHERE account_id = ?", (row["id"],))
    return _account(row)


async def disable(db: Database, name: str) -> Account:
    """The account can no longer sign in; its sessions end now."""
    async with db.write() as conn:
        rows = await conn.execute_fetchall(
            "UPDATE staff_accounts SET disabled_at = coalesce(disabled_at, ?) WHERE name = ?"
            f" RETURNING {_COLUMNS}",
            (utc_now(), name),
        )
        if not rows:
            raise AccountError(f"there is no account named {name!r}")
        [row] = rows
        await conn.execute("DELETE FROM console_sessions WHERE account_id = ?", (row["id"],))
    return _account(row)


# -- signed-in sessions ------------------------------------------------------------------------


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="seconds")


async def start_session(
    db: Database, account_id: int, token_digest: str, expires: datetime
) -> None:
    """A new session at sign-in (a fresh token each time: an old cookie is worth nothing);
    expired ones of anybody are cleared on the way."""
    async with db.write() as conn:
        await conn.execute(
            "DELETE FROM console_sessions WHERE expires_at <= ?", (_iso(datetime.now(UTC)),)
        )
        await conn.execute(
            "INSERT INTO console_sessions (token_digest, account_id, created_at, expires_at)"
            " VALUES (?, ?, ?, ?)",
            (token_digest, account_id, utc_now(), _iso(expires)),
        )


async def session_account(db: Database, token_digest: str, now: datetime) -> Account | None:
    """Whose session this is, while it has not expired and the account is not disabled."""
    row = await db.fetchone(
        f"SELECT a.{_COLUMNS.replace(', ', ', a.')} FROM console_sessions s"
        " JOIN staff_accounts a ON a.id = s.account_id"
        " WHERE s.token_digest = ? AND s.expires_at > ? AND a.disabled_at IS NULL",
        (token_digest, _iso(now)),
    )
    return _account(row) if row else None


async def end_session(db: Database, token_digest: str) -> None:
    await db.write_one("DELETE FROM console_sessions WHERE token_digest = ?", (token_digest,))
