"""The forum's command line and its settings wiring (the application is web/app.py).

python server.py COMMAND (or the console script `forum COMMAND`); --help on each.
"""

from __future__ import annotations

import argparse
import asyncio
import getpass
import logging
import sqlite3
import sys
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path

from asyncpg import PostgresError
from pydantic import ValidationError
from starlette.applications import Starlette
from tortoise.exceptions import ConfigurationError, DBConnectionError

import models
from resolvers.keys import KeyMismatch, RotationRefused, check_keys
from resolvers.policy import ensure_initial_policy
from schema import build_schema
from services import passwords
from services.addresses import AddressVault
from services.logs import configure_logging, logging_config
from services.markdown import Renderer
from services.settings import Settings, production_warnings
from web.app import UVICORN_OPTIONS, create_app

SCHEMA_FILE = Path(__file__).resolve().parent / "schema.graphql"
DATABASE_FAILURES = (OSError, ConfigurationError, DBConnectionError, PostgresError, sqlite3.Error)
"""What opening an unreachable, refusing or misnamed database raises."""


def app_from_env() -> Starlette:
    """uvicorn's factory for `serve`: migrations already ran once, before the workers."""
    return create_app(Settings(), migrate=False)


# ---------------------------------------------------------------- command line


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; return the process exit code."""
    parser = _parser()
    args = parser.parse_args(argv)
    try:
        args.settings = Settings()
    except ValidationError as error:
        print(f"error: {_setting_problem(error)}", file=sys.stderr)
        return 2
    configure_logging(args.settings.log_level)
    models.quiet_sql_logs()
    try:
        return int(args.run(args) or 0)
    except KeyboardInterrupt:
        return 130
    except StartupError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except CommandError as error:
        print(f"error: {error}", file=sys.stderr)
        return error.code


class CommandError(Exception):
    """A failure to report in one line, without a traceback, and its exit code (1, or 2
    for a command used where it does not belong)."""

    def __init__(self, message: str, code: int = 1) -> None:
        super().__init__(message)
        self.code = code


class StartupError(CommandError):
    """A setting or the database keeps the server from starting (exit code 2)."""


def _setting_problem(error: ValidationError) -> str:
    """The first invalid setting, named as the environment spells it, and what is wrong."""
    problem = error.errors()[0]
    name = str(problem["loc"][0]).upper() if problem["loc"] else "settings"
    # The message only, never the value: it may be a key or a password.
    return f"{name}: {problem['msg']}"


def _prog() -> str:
    """`python server.py` or `python -m forum` when run so, else the console script's name."""
    name = Path(sys.argv[0]).name
    if name == "forum.py":
        return "python -m forum"
    return "python server.py" if name in ("server.py", "-c", "") else name


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=_prog(), description="The forum's GraphQL server and its tools."
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    serve = sub.add_parser("serve", help="migrate the database, then serve the site")
    serve.add_argument(
        "--no-migrate", action="store_true", help="serve without applying migrations"
    )
    serve.add_argument("--host", default="127.0.0.1", help="address to listen on")
    serve.add_argument("--port", type=int, default=8000, help="port to listen on")
    serve.add_argument("--workers", type=int, default=1, help="worker processes (PostgreSQL)")
    serve.set_defaults(run=_serve)

    migrate = sub.add_parser("migrate", help="create or upgrade the database schema")
    migrate.set_defaults(run=_migrate)

    seed = sub.add_parser(
        "seed",
        help="fill an empty database with demo forum data",
        description="Demo data: members of each role, forums, threads and a conversation. "
        "Refuses (exit code 2) a database that already has members, unless --force. The "
        "demo staff's passwords are random and printed (the admin's is --demo-password if "
        "given).",
    )
    seed.add_argument("--if-empty", action="store_true", help="do nothing if members exist")
    seed.add_argument("--force", action="store_true", help="seed even if members exist")
    seed.add_argument("--demo-password", help="the demo admin's password (default: random)")
    seed.set_defaults(run=lambda args: asyncio.run(_with_db(args.settings, lambda: _seed(args))))

    create = sub.add_parser("createuser", help="create a confirmed account")
    create.add_argument("--username", required=True)
    create.add_argument("--email", required=True)
    create.add_argument("--role", choices=["member", "moderator", "admin"], default="member")
    create.add_argument("--password", help="prompted for when left out")
    create.set_defaults(run=_createuser)

    forum = sub.add_parser(
        "createforum",
        help="create a forum",
        description="Create a forum, for operators who script a new site. Exit code 1 with "
        "a one-line error when a value is refused.",
    )
    forum.add_argument("--slug", required=True, help="2-60 of a-z, 0-9 and single hyphens")
    forum.add_argument("--title", required=True, help="1-120 characters")
    forum.add_argument("--description", help="at most 2,000 characters")
    forum.add_argument("--position", type=int, help="place in the forum list (default 0)")
    forum.set_defaults(run=_createforum)

    purge = sub.add_parser(
        "purge-ip", help="drop stored addresses older than the retention windows"
    )
    purge.add_argument("--days", type=int, help="raw addresses (default IP_RETENTION_DAYS)")
    purge.add_argument("--hash-days", type=int, help="keyed hashes (IP_HASH_RETENTION_DAYS)")
    purge.set_defaults(run=_purge_ip)

    retention = sub.add_parser(
        "purge",
        help="delete expired sessions, tokens, registrations, old mail, counters and activity",
        description="Delete what the retention rules no longer keep (README, Operating it), "
        "in batches; print how many rows of each kind went.",
    )
    retention.set_defaults(run=_purge)

    reveal = sub.add_parser(
        "reveal-ip",
        help="operators only: print a member's stored addresses (audited)",
        description="Decrypt and print every stored IP address of one member. Needs the "
        "database and IP_KEY; the reading is written to the audit log with the reason.",
    )
    reveal.add_argument("--username", required=True, help="the member")
    reveal.add_argument("--reason", required=True, help="why (e.g. a court order reference)")
    reveal.set_defaults(run=_reveal_ip)

    rotate = sub.add_parser(
        "rotate-keys",
        help="start a key rotation (new key first in SECRET_KEY or IP_KEY), or --finish it",
        description="Without --finish: record the new keys listed first in SECRET_KEY and "
        "IP_KEY (the current ones after them, comma-separated); new data then uses them. "
        "With --finish (once every host runs with those lists): move stored addresses, "
        "their hashes and the /out links in messages onto the new keys, then forget the "
        "old ones. Safe to run again after a crash. README, Operating it, Key rotation.",
    )
    rotate.add_argument(
        "--finish", action="store_true", help="re-encrypt and re-sign, then drop the old keys"
    )
    rotate.add_argument(
        "--batch", type=int, default=500, help="rows per transaction for --finish (500)"
    )
    rotate.set_defaults(run=_rotate_keys)

    backup = sub.add_parser(
        "backup",
        help="copy the SQLite database while it serves (on PostgreSQL: print the pg_dump line)",
    )
    backup.add_argument("--output", type=Path, required=True, help="the file to write")
    backup.set_defaults(run=_backup)

    export = sub.add_parser("export-schema", help="write the GraphQL schema (SDL)")
    export.add_argument("--output", type=Path, default=SCHEMA_FILE, help="file, or - for stdout")
    export.add_argument("--check", action="store_true", help="fail if the file is out of date")
    export.set_defaults(run=_export_schema)
    return parser


async def _with_db(
    settings: Settings, work: Callable[[], Awaitable[int | None]], *, migrate: bool = True
) -> int:
    passwords.configure(settings.argon2_time_cost, settings.argon2_memory_kib)
    await _connect(settings, migrate=migrate)
    try:
        try:
            await check_keys(settings.shared_keys)
        except KeyMismatch as mismatch:
            raise StartupError(str(mismatch)) from mismatch
        await ensure_initial_policy()
        return int(await work() or 0)
    finally:
        await models.close_db()


async def _connect(settings: Settings, *, migrate: bool) -> list[str]:
    """Open the database (migrating it unless told not to); the migrations applied."""
    try:
        return await models.init_db(settings.db_url, migrate=migrate)
    except DATABASE_FAILURES as error:
        # The class only: the driver's message may quote the URL with its password.
        raise StartupError(
            f"DATABASE_URL: cannot open the database ({type(error).__name__})"
        ) from error


def _migrate(args: argparse.Namespace) -> int:
    async def report() -> int:
        applied = await _connect(args.settings, migrate=True)
        try:
            await ensure_initial_policy()
        finally:
            await models.close_db()
        if applied:
            print(f"applied {len(applied)} migrations: {', '.join(applied)}")
        else:
            print("database is up to date: no migration to apply")
        return 0

    return asyncio.run(report())


def _serve(args: argparse.Namespace) -> int:
    import uvicorn

    settings: Settings = args.settings
    if args.workers > 1 and settings.is_sqlite:
        raise CommandError("several workers need PostgreSQL (set DATABASE_URL)")
    for warning in production_warnings(settings):
        logging.getLogger("forum").warning(warning)
    if settings.metrics == "on" and args.workers > 1:
        _share_metrics(settings)
    # Migrate once here, before the workers start; --no-migrate still checks the database.
    if args.no_migrate:
        asyncio.run(_require_migrated(settings))
    asyncio.run(_with_db(settings, _noop, migrate=not args.no_migrate))
    uvicorn.run(
        "server:app_from_env",
        factory=True,
        host=args.host,
        port=args.port,
        workers=args.workers,
        log_config=logging_config(settings.log_level),
        **UVICORN_OPTIONS,
    )
    return 0


def _share_metrics(settings: Settings) -> None:
    """Give the workers a fresh folder for their metric files (prometheus-client's
    multiprocess mode, which each worker enters as it imports the client)."""
    import os
    import shutil

    folder = (settings.data_dir / "metrics").resolve()
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(folder)


async def _require_migrated(settings: Settings) -> None:
    """Refuse to serve a database that lacks migrations (`serve --no-migrate`)."""
    await _connect(settings, migrate=False)
    try:
        pending = await models.pending_migrations(settings.db_url)
    finally:
        await models.close_db()
    if pending:
        raise StartupError(
            f"DATABASE_URL: the database lacks {len(pending)} migrations: run `migrate` first"
        )


async def _noop() -> int:
    return 0


async def _seed(args: argparse.Namespace) -> int:
    import demo
    from resolvers.common import Refused

    if await demo.has_members() and not args.force:
        if args.if_empty:
            print("demo data: the database already has members; nothing to do")
            return 0
        message = "the database already has members; seed is for demo data (--force adds it)"
        raise CommandError(message, code=2)
    settings = args.settings
    try:
        accounts = await demo.seed(Renderer(settings.public_url, settings.key), args.demo_password)
    except Refused as refused:  # a taken demo username, or a weak --demo-password
        raise CommandError("; ".join(p.message for p in refused.problems)) from refused
    print("Demo accounts (sign in with `login` in GraphiQL at /graphql):")
    for username, role, password in accounts:
        print(f"  {username:<10} {role:<10} password: {password}")
    return 0


def _createuser(args: argparse.Namespace) -> int:
    from models.base import Role
    from resolvers.accounts import create_member
    from resolvers.common import Refused

    password = args.password or getpass.getpass("Password: ")
    if args.password is None and password != getpass.getpass("Password (again): "):
        raise CommandError("the passwords differ")

    async def create() -> int:
        try:
            user = await create_member(args.username, args.email, password, Role(args.role))
        except Refused as refused:
            raise CommandError("; ".join(p.message for p in refused.problems)) from refused
        print(f"created {args.role} {user.username}")
        return 0

    return asyncio.run(_with_db(args.settings, create))


def _createforum(args: argparse.Namespace) -> int:
    from resolvers.common import Refused
    from resolvers.forums import ForumChange, new_forum

    change = ForumChange(args.slug, args.title, args.description, args.position)

    async def create() -> int:
        try:
            forum, _ = await new_forum(change)
        except Refused as refused:
            raise CommandError("; ".join(p.message for p in refused.problems)) from refused
        print(f"created forum {forum.slug} (position {forum.position})")
        return 0

    return asyncio.run(_with_db(args.settings, create))


def _purge_ip(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from resolvers.addresses import HOLDERS, purge

    settings: Settings = args.settings
    raw_days = args.days if args.days is not None else settings.ip_retention_days
    hash_days = args.hash_days if args.hash_days is not None else settings.ip_hash_retention_days
    if raw_days < 1 or hash_days < 1:
        raise CommandError("retention windows are at least one day")

    async def work() -> int:
        with tqdm(total=len(HOLDERS), unit="table", desc="purging", file=sys.stderr) as bar:

            def step(table: str, count: int) -> None:
                bar.set_postfix_str(f"{table}: {count}")
                bar.update()

            changed = await purge(raw_days, hash_days, step)
        print(
            f"purged {sum(changed.values())} address records "
            f"(raw older than {raw_days} days, hashes older than {hash_days} days)"
        )
        return 0

    return asyncio.run(_with_db(args.settings, work))


def _purge(args: argparse.Namespace) -> int:
    from datetime import UTC, datetime

    from tqdm import tqdm

    from resolvers.retention import Windows, due_counts, purge

    settings: Settings = args.settings
    windows = Windows.of(settings)

    async def work() -> int:
        now = datetime.now(UTC)
        due = await due_counts(windows, now)
        with tqdm(total=sum(due.values()), unit="row", desc="purging", file=sys.stderr) as bar:

            def step(kind: str, count: int) -> None:
                bar.set_postfix_str(kind)
                bar.update(count)

            deleted = await purge(windows, now, step)
        for kind, count in deleted.items():
            print(f"{kind}: {count}")
        return 0

    return asyncio.run(_with_db(settings, work))


def _reveal_ip(args: argparse.Namespace) -> int:
    from resolvers.accounts import user_by_username
    from resolvers.addresses import reveal

    if len(args.reason.strip()) < 3:
        raise CommandError("give a reason of at least three characters")
    vault = AddressVault(args.settings.address_key, args.settings.ip_keys[1:])

    async def work() -> int:
        user = await user_by_username(args.username)
        if user is None:
            raise CommandError("no member has that username")
        for row in await reveal(user, args.reason.strip(), vault.open):
            print(f"{row.at.isoformat()}\t{row.table}\t{row.address}")
        return 0

    return asyncio.run(_with_db(args.settings, work))


def _rotate_keys(args: argparse.Namespace) -> int:
    from resolvers.keys import start_rotation

    settings: Settings = args.settings
    if args.finish:
        return _finish_rotation(args)

    async def start() -> int:
        await _connect(settings, migrate=True)
        try:
            rotated = await start_rotation(settings.shared_keys)
        except RotationRefused as refused:
            raise StartupError(str(refused)) from refused
        finally:
            await models.close_db()
        for setting, prints in rotated.items():
            old = ", ".join(prints[1:])
            print(f"{setting}: new data uses the key {prints[0]}; still read: {old}")
        print(
            "next: give every host these settings and restart it, then run `rotate-keys --finish`"
        )
        return 0

    return asyncio.run(start())


def _finish_rotation(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from resolvers.rotation import NothingToFinish, Rotation

    settings: Settings = args.settings
    if args.batch < 1:
        raise CommandError("--batch is at least 1")
    try:
        rotation = Rotation.of(settings)
    except NothingToFinish as nothing:
        raise CommandError(str(nothing), code=2) from nothing

    async def work() -> int:
        with tqdm(total=await rotation.due(), unit="row", desc="rotating", file=sys.stderr) as bar:

            def step(table: str, count: int) -> None:
                bar.set_postfix_str(table)
                bar.update(count)

            done = await rotation.finish(settings, args.batch, step)
        print(f"addresses re-encrypted: {done.addresses}")
        print(f"address hashes re-computed: {done.hashes}")
        print(f"hashes without their address, cleared: {done.cleared_hashes}")
        print(f"addresses under no listed key, left: {done.unreadable}")
        print(f"messages with /out links signed anew: {done.messages}")
        keep = " and ".join(f"{name} ({mine})" for name, mine in done.current.items())
        print(f"done: keep only the first key of {keep} on every host")
        return 0

    return asyncio.run(_with_db(settings, work))


def _backup(args: argparse.Namespace) -> int:
    from services.backup import backup_sqlite, pg_dump_command, sqlite_path

    settings: Settings = args.settings
    output: Path = args.output.resolve()
    if not settings.is_sqlite:
        print("On PostgreSQL, back up with pg_dump (keep SECRET_KEY and IP_KEY with it):")
        print(pg_dump_command(settings.db_url, output))
        return 0
    source = sqlite_path(settings.db_url)
    if not source.exists():
        raise StartupError("DATABASE_URL: there is no database file to back up")
    if output.exists():
        raise CommandError(f"{output} exists; name a new file")
    if not output.parent.is_dir():
        raise CommandError(f"{output.parent} is not a folder")
    verdict = backup_sqlite(source, output)
    if verdict != "ok":
        raise CommandError(f"the copy failed its integrity check: {verdict}")
    print(f"backed up to {output} ({output.stat().st_size} bytes, integrity ok)")
    return 0


def _export_schema(args: argparse.Namespace) -> int:
    sdl = build_schema().as_str() + "\n"
    if args.check:
        if not args.output.exists() or args.output.read_text() != sdl:
            raise CommandError(
                f"{args.output} is out of date: run `python server.py export-schema`"
            )
        print(f"{args.output} is up to date")
        return 0
    if str(args.output) == "-":
        sys.stdout.write(sdl)
    else:
        args.output.write_text(sdl)
        print(f"wrote {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
