"""`desabot staff add | list | disable | password`: the staff console's accounts, for the
admin on the server. A password is read from standard input with --password-stdin (one line),
or generated and printed once; only its argon2 hash is kept.
"""

from __future__ import annotations

import argparse
import asyncio
import sys

from bot.cli.common import EXIT_OK, EXIT_PROBLEMS, cli_actor, fail, with_config
from bot.config import Config
from bot.domain import accounts, audit
from bot.domain.accounts import AccountError
from bot.domain.store import Database
from bot.support.passwords import generated_password, hash_password, too_weak


def add_parser(commands: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    staff = commands.add_parser(
        "staff",
        parents=[common],
        help="staff console accounts",
        description="accounts of the staff console (the office's web workplace)",
    )
    staff.set_defaults(handler=with_config(main))
    actions = staff.add_subparsers(dest="staff_command", required=True, metavar="ACTION")
    add = actions.add_parser(
        "add", parents=[common], help="create an account", description="create an account"
    )
    add.add_argument("name", help="what the person signs in with, e.g. rina.bp3mi")
    add.add_argument("--role", choices=accounts.ROLES, required=True)
    _password_option(add)
    actions.add_parser("list", parents=[common], help="every account", description="every account")
    disable = actions.add_parser(
        "disable",
        parents=[common],
        help="stop an account signing in (its sessions end now)",
        description="stop an account signing in (its sessions end now)",
    )
    disable.add_argument("name")
    password = actions.add_parser(
        "password",
        parents=[common],
        help="set a new password (the account's sessions end)",
        description="set a new password (the account's sessions end)",
    )
    password.add_argument("name")
    _password_option(password)


def _password_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--password-stdin",
        action="store_true",
        help="read the password from standard input (default: generate one and print it)",
    )


def main(config: Config, args: argparse.Namespace) -> int:
    return asyncio.run(_main(config, args))


async def _main(config: Config, args: argparse.Namespace) -> int:
    db = await Database.open(config.database)
    try:
        return await ACTIONS[args.staff_command](db, args)
    except AccountError as exc:
        return fail(exc, EXIT_PROBLEMS)
    finally:
        await db.close()


def _password(args: argparse.Namespace) -> tuple[str, bool] | str:
    """(password, generated), or why the one given is refused."""
    if not args.password_stdin:
        return generated_password(), True
    password = sys.stdin.readline().rstrip("\n")
    return too_weak(password) or (password, False)


async def _add(db: Database, args: argparse.Namespace) -> int:
    chosen = _password(args)
    if isinstance(chosen, str):
        return fail(chosen, EXIT_PROBLEMS)
    password, generated = chosen
    account = await accounts.add_account(db, args.name, args.role, hash_password(password))
    await audit.record(db, cli_actor(), "console_account_add", f"{account.name} {account.role}")
    print(f"account {account.name} ({account.role}) created")
    _show_generated(password, generated)
    return EXIT_OK


async def _list(db: Database, args: argparse.Namespace) -> int:
    listing = await accounts.accounts(db)
    if not listing:
        print("no accounts yet: desabot staff add NAME --role admin")
    for account in listing:
        state = f"disabled {account.disabled_at[:10]}" if account.disabled_at else "active"
        print(f"{account.name:<24} {account.role:<8} {state:<20} since {account.created_at[:10]}")
    return EXIT_OK


async def _disable(db: Database, args: argparse.Namespace) -> int:
    account = await accounts.disable(db, args.name)
    await audit.record(db, cli_actor(), "console_account_disable", account.name)
    print(f"account {account.name} disabled; its sessions have ended")
    return EXIT_OK


async def _set_password(db: Database, args: argparse.Namespace) -> int:
    chosen = _password(args)
    if isinstance(chosen, str):
        return fail(chosen, EXIT_PROBLEMS)
    password, generated = chosen
    account = await accounts.set_password(db, args.name, hash_password(password))
    await audit.record(db, cli_actor(), "console_account_password", account.name)
    print(f"new password set for {account.name}; its sessions have ended")
    _show_generated(password, generated)
    return EXIT_OK


def _show_generated(password: str, generated: bool) -> None:
    if generated:  # shown once: it is not kept anywhere
        print(f"password (shown only now, give it to the person): {password}")


ACTIONS = {"add": _add, "list": _list, "disable": _disable, "password": _set_password}
