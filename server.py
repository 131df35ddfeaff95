"""The forum's command line and its settings wiring (the application is web/app.py).

python server.py serve | migrate | seed | createuser | createforum | export-schema
(--help on each)
"""

from __future__ import annotations

import argparse
import asyncio
import getpass
import logging
import sys
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path

from starlette.applications import Starlette

import models
from resolvers.policy import ensure_initial_policy
from schema import build_schema
from services import passwords
from services.addresses import AddressVault
from services.markdown import Renderer
from services.settings import Settings
from web.app import UVICORN_OPTIONS, create_app

SCHEMA_FILE = Path(__file__).resolve().parent / "schema.graphql"


def app_from_env() -> Starlette:
    """uvicorn's factory for `serve`: migrations already ran once, before the workers."""
    return create_app(Settings(), migrate=False)


# ---------------------------------------------------------------- command line


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; return the process exit code."""
    parser = _parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    models.quiet_sql_logs()
    try:
        return int(args.run(args) or 0)
    except KeyboardInterrupt:
        return 130
    except CommandError as error:
        print(f"error: {error}", file=sys.stderr)
        return error.code


class CommandError(Exception):
    """A failure to report in one line, without a traceback, and its exit code (1, or 2
    for a command used where it does not belong)."""

    def __init__(self, message: str, code: int = 1) -> None:
        super().__init__(message)
        self.code = code


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python server.py", description="The forum's GraphQL server and its tools."
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    serve = sub.add_parser("serve", help="migrate the database, then serve the site")
    serve.add_argument("--host", default="127.0.0.1", help="address to listen on")
    serve.add_argument("--port", type=int, default=8000, help="port to listen on")
    serve.add_argument("--workers", type=int, default=1, help="worker processes (PostgreSQL)")
    serve.set_defaults(run=_serve)

    migrate = sub.add_parser("migrate", help="create or upgrade the database schema")
    migrate.set_defaults(run=lambda _: asyncio.run(_with_db(lambda: _noop())))

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
    seed.set_defaults(run=lambda args: asyncio.run(_with_db(lambda: _seed(args))))

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

    reveal = sub.add_parser(
        "reveal-ip",
        help="operators only: print a member's stored addresses (audited)",
        description="Decrypt and print every stored IP address of one member. Needs the "
        "database and IP_KEY; the reading is written to the audit log with the reason.",
    )
    reveal.add_argument("--username", required=True, help="the member")
    reveal.add_argument("--reason", required=True, help="why (e.g. a court order reference)")
    reveal.set_defaults(run=_reveal_ip)

    export = sub.add_parser("export-schema", help="write the GraphQL schema (SDL)")
    export.add_argument("--output", type=Path, default=SCHEMA_FILE, help="file, or - for stdout")
    export.add_argument("--check", action="store_true", help="fail if the file is out of date")
    export.set_defaults(run=_export_schema)
    return parser


async def _with_db(work: Callable[[], Awaitable[int | None]]) -> int:
    settings = Settings()
    passwords.configure(settings.argon2_time_cost, settings.argon2_memory_kib)
    await models.init_db(settings.db_url)
    try:
        await ensure_initial_policy()
        return int(await work() or 0)
    finally:
        await models.close_db()


async def _noop() -> int:
    print("database is up to date")
    return 0


def _serve(args: argparse.Namespace) -> int:
    import uvicorn

    settings = Settings()
    if args.workers > 1 and settings.is_sqlite:
        raise CommandError("several workers need PostgreSQL (set DATABASE_URL)")
    asyncio.run(_with_db(_noop_quiet))
    uvicorn.run(
        "server:app_from_env",
        factory=True,
        host=args.host,
        port=args.port,
        workers=args.workers,
        log_level="info",
        **UVICORN_OPTIONS,
    )
    return 0


async def _noop_quiet() -> int:
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
    settings = Settings()
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

    return asyncio.run(_with_db(create))


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

    return asyncio.run(_with_db(create))


def _purge_ip(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from resolvers.addresses import HOLDERS, purge

    settings = Settings()
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

    return asyncio.run(_with_db(work))


def _reveal_ip(args: argparse.Namespace) -> int:
    from resolvers.accounts import user_by_username
    from resolvers.addresses import reveal

    if len(args.reason.strip()) < 3:
        raise CommandError("give a reason of at least three characters")
    settings = Settings()
    vault = AddressVault(settings.address_key)

    async def work() -> int:
        user = await user_by_username(args.username)
        if user is None:
            raise CommandError("no member has that username")
        for row in await reveal(user, args.reason.strip(), vault.open):
            print(f"{row.at.isoformat()}\t{row.table}\t{row.address}")
        return 0

    return asyncio.run(_with_db(work))


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
