"""Stored client addresses: every table that keeps one holds it encrypted next to a keyed
hash, and no dump of the database, SQLite or PostgreSQL, shows one in plain text."""

from __future__ import annotations

import asyncio
import hashlib
import shutil
import sqlite3
import subprocess
from collections.abc import AsyncIterator
from datetime import date
from pathlib import Path

import pytest
from cryptography.exceptions import InvalidTag
from tortoise import Tortoise

from models.base import Role
from models.forums import Forum
from resolvers.accounts import create_member
from resolvers.addresses import HOLDERS
from resolvers.policy import current_policy
from schema import ids
from services.addresses import AddressVault
from services.settings import Settings
from tests.conftest import CONFIRM
from tests.harness import PASSWORD, TEST_IP, Client, Mailbox, Server, assert_no_ip, token_in
from tests.harness import test_settings as make_settings

# One address per kind of write, so each row can be traced to the request that made it.
ADA = {
    "register": "198.51.100.11",
    "confirm": "198.51.100.12",
    "login": "198.51.100.13",
    "consent": "198.51.100.14",
    "thread": "198.51.100.15",
    "post": "2001:db8::16",
    "edit": "198.51.100.17",
    "conversation": "198.51.100.18",
    "report": "198.51.100.19",
    "correction": "198.51.100.20",
    "page view": "2001:db8:0:0::21",  # stored in its short form, 2001:db8::21
    "email change": "198.51.100.23",
}
BOB = "198.51.100.22"
NEWCOMER = "198.51.100.24"  # registered, and has not opened the link yet
ADDRESSES = {*ADA.values(), "2001:db8::21", BOB, NEWCOMER}
# What each table holds afterwards: the address of every row, in row order. ada's account
# and first consent keep where she registered, not where she opened the link.
EXPECTED = {
    "users": [ADA["register"], None],  # bob was made by the operator's command: no client
    "sessions": [ADA["login"], BOB],
    "email_tokens": [ADA["email change"]],
    "consents": [ADA["register"], ADA["consent"]],
    "threads": [ADA["thread"]],
    "conversations": [ADA["conversation"]],
    "messages": [ADA["thread"], ADA["post"], BOB, ADA["conversation"]],
    "message_edits": [ADA["edit"]],
    "reports": [ADA["report"]],
    "correction_requests": [ADA["correction"]],
    "visits": ["2001:db8::21"],
    "pending_registrations": [NEWCOMER],
}

REGISTER = "mutation($i: RegisterInput!) { register(input: $i) { userErrors { code } } }"
LOGIN = "mutation($i: LoginInput!) { login(input: $i) { userErrors { code } } }"
CONSENT = "mutation($i: SetConsentInput!) { setConsent(input: $i) { userErrors { code } } }"
THREAD = """mutation($i: CreateThreadInput!) {
  createThread(input: $i) { thread { id } userErrors { code } }
}"""
POST = """mutation($i: PostMessageInput!) {
  postMessage(input: $i) { message { id } userErrors { code } }
}"""
EDIT = "mutation($i: EditMessageInput!) { editMessage(input: $i) { userErrors { code } } }"
CONVERSATION = """mutation($i: StartConversationInput!) {
  startConversation(input: $i) { userErrors { code } }
}"""
REPORT = "mutation($i: ReportMessageInput!) { reportMessage(input: $i) { userErrors { code } } }"
CORRECTION = """mutation($i: RequestCorrectionInput!) {
  requestCorrection(input: $i) { userErrors { code } }
}"""
PAGE_VIEW = """mutation($i: RecordPageViewInput!) {
  recordPageView(input: $i) { userErrors { code } }
}"""
CHANGE_EMAIL = "mutation($i: ChangeEmailInput!) { changeEmail(input: $i) { userErrors { code } } }"


def behind_proxy(tmp_path: Path, database_url: str) -> Settings:
    """Settings with TEST_IP, the harness's peer, as our proxy: X-Forwarded-For counts."""
    return make_settings(tmp_path, database_url, trusted_proxies=[f"{TEST_IP}/32"])


@pytest.fixture
def settings(tmp_path: Path, database_url: str) -> Settings:
    return behind_proxy(tmp_path, database_url)


@pytest.fixture
async def gql(settings: Settings) -> AsyncIterator[Client]:
    async with Server(settings) as client:
        client.ips.update(ADDRESSES)
        yield client


async def write(gql: Client, address: str, query: str, i: dict, member: str | None) -> dict:
    """One mutation from `address`; its payload, which must carry no userErrors."""
    headers = {"x-forwarded-for": address}
    response = await gql.post(query, {"i": i}, as_member=member, headers=headers)
    (payload,) = response.json()["data"].values()
    assert payload["userErrors"] == [], response.text
    if "session" in response.cookies:
        gql.cookies[i["login"]] = response.cookies["session"]
    return payload


async def ada_joins(gql: Client, mailbox: Mailbox, addresses: dict[str, str]) -> None:
    """ada registers, confirms her address and signs in, each from its own address."""
    policy = await current_policy()
    await write(
        gql,
        addresses["register"],
        REGISTER,
        {"username": "ada", "email": "ada@example.org", "password": PASSWORD,
         "dateOfBirth": "1990-05-17", "acceptPolicyVersion": policy.version},
        None,
    )  # fmt: skip
    (mail,) = await mailbox.wait_for("ada@example.org")
    headers = {"x-forwarded-for": addresses["confirm"]}
    confirmed = await gql(CONFIRM, {"t": token_in(mail)}, headers=headers)
    assert confirmed["data"]["confirmEmail"]["userErrors"] == []
    await write(gql, addresses["login"], LOGIN, {"login": "ada", "password": PASSWORD}, None)


async def every_kind_of_write(
    gql: Client,
    mailbox: Mailbox,
    addresses: dict[str, str] = ADA,
    bob: str = BOB,
    newcomer: str = NEWCOMER,
) -> None:
    """ada joins and writes one of everything, each from its own address; bob (made by
    the operator's command) signs in and posts once, so ada has something to report; a
    newcomer registers and has not opened the link yet."""
    await ada_joins(gql, mailbox, addresses)
    bob_row = await create_member("bob", "bob@example.org", PASSWORD, Role.MEMBER, date(1985, 1, 2))
    await write(gql, bob, LOGIN, {"login": "bob", "password": PASSWORD}, None)
    await write(gql, addresses["consent"], CONSENT, {"kind": "NEWSLETTER", "granted": True}, "ada")
    forum = await Forum.create(slug="general", title="General")
    opening = {"forumId": ids.encode("Forum", forum.id), "title": "Hello there", "body": "Hi!"}
    thread = (await write(gql, addresses["thread"], THREAD, opening, "ada"))["thread"]["id"]
    reply = {"threadId": thread, "body": "Me again"}
    mine = (await write(gql, addresses["post"], POST, reply, "ada"))["message"]["id"]
    spam = {"threadId": thread, "body": "Cheap watches"}
    theirs = (await write(gql, bob, POST, spam, "bob"))["message"]["id"]
    await write(gql, addresses["edit"], EDIT, {"messageId": mine, "body": "Me, again"}, "ada")
    talk = {"recipientIds": [ids.encode("User", bob_row.id)], "title": "Hi bob", "body": "Hello"}
    await write(gql, addresses["conversation"], CONVERSATION, talk, "ada")
    report = {"messageId": theirs, "reason": "Advertising"}
    await write(gql, addresses["report"], REPORT, report, "ada")
    fix = {"field": "dateOfBirth", "proposedValue": "1990-05-18", "reason": "Typo at sign-up"}
    await write(gql, addresses["correction"], CORRECTION, fix, "ada")
    view = {"path": "/threads/1", "referrer": None, "title": "Hello there"}
    await write(gql, addresses["page view"], PAGE_VIEW, view, "ada")
    move = {"password": PASSWORD, "newEmail": "ada.new@example.org"}
    await write(gql, addresses["email change"], CHANGE_EMAIL, move, "ada")
    policy = await current_policy()
    await write(
        gql,
        newcomer,
        REGISTER,
        {"username": "carol", "email": "carol@example.org", "password": PASSWORD,
         "dateOfBirth": "1991-06-07", "acceptPolicyVersion": policy.version},
        None,
    )  # fmt: skip
    await mailbox.wait_for("carol@example.org")  # the last mail: the outbox is done


@pytest.fixture
async def written(gql: Client, mailbox: Mailbox) -> None:
    """Every kind of write has happened once."""
    await every_kind_of_write(gql, mailbox)


async def stored(vault: AddressVault) -> dict[str, list[str]]:
    """Each address-holding table's addresses, decrypted, in row order; checks each hash."""
    found: dict[str, list[str]] = {}
    for holder in HOLDERS:
        rows = await holder.model.all().order_by("id").values_list("ip_cipher", "ip_hash")
        addresses = [vault.open(cipher) if cipher else None for cipher, _ in rows]
        assert [digest for _, digest in rows] == [a and vault.fingerprint(a) for a in addresses]
        found[holder.model._meta.db_table] = addresses
    return found


async def test_every_table_keeps_each_writes_address_encrypted_with_its_keyed_hash(
    written: None, settings: Settings
) -> None:
    assert await stored(AddressVault(settings.address_key)) == EXPECTED


async def test_every_table_that_keeps_addresses_is_listed_as_a_holder(gql: Client) -> None:
    with_addresses = {
        model._meta.db_table
        for model in Tortoise.apps["models"].values()
        if "ip_cipher" in model._meta.fields_map
    }

    assert with_addresses == set(EXPECTED)
    assert {holder.model._meta.db_table for holder in HOLDERS} == with_addresses


async def test_a_cipher_needs_the_key(written: None, settings: Settings) -> None:
    cipher = await HOLDERS[0].model.get(username="ada").values_list("ip_cipher", flat=True)
    other = AddressVault(b"another-key-" + b"z" * 32)

    with pytest.raises(InvalidTag):
        other.open(cipher)
    assert other.fingerprint(ADA["register"]) != AddressVault(settings.address_key).fingerprint(
        ADA["register"]
    )


# ------------------------------------------------------------------ dumps


def unkeyed_hashes() -> list[str]:
    """Plain digests of the addresses: a hash anyone can compute would be no protection."""
    return [
        hashlib.new(name, address.encode()).hexdigest()
        for address in ADDRESSES
        for name in ("md5", "sha1", "sha256")
    ]


def assert_no_address(text: str) -> None:
    """Fail if the text holds any test address, or an unkeyed hash of one."""
    assert_no_ip(text, ADDRESSES | {TEST_IP})
    assert [digest for digest in unkeyed_hashes() if digest in text] == []


def sqlite_file(settings: Settings) -> Path:
    if not settings.is_sqlite:
        pytest.skip("reads the SQLite database file")
    return Path(settings.db_url.removeprefix("sqlite://").split("?")[0])


async def test_the_sqlite_file_and_its_wal_hold_no_readable_address(
    written: None, settings: Settings
) -> None:
    database = sqlite_file(settings)

    files = [path for path in (database, Path(f"{database}-wal")) if path.exists()]

    assert files[0] == database
    for path in files:
        assert_no_address(path.read_bytes().decode("latin-1"))


async def test_a_sqlite_dump_holds_no_readable_address(written: None, settings: Settings) -> None:
    database = sqlite_file(settings)
    with sqlite3.connect(f"file:{database}?mode=ro", uri=True) as connection:
        dump = "\n".join(connection.iterdump())

    assert 'INSERT INTO "visits"' in dump
    assert_no_address(dump)


def pg_dump() -> str:
    found = shutil.which("pg_dump") or "/usr/lib/postgresql/15/bin/pg_dump"
    if not Path(found).exists():
        pytest.skip("pg_dump is not installed (apt-get install postgresql-client)")
    return found


async def test_a_postgresql_dump_holds_no_readable_address(
    written: None, settings: Settings
) -> None:
    if settings.is_sqlite:
        pytest.skip("dumps a PostgreSQL database; run under scripts/with-postgres")
    result = await asyncio.to_thread(
        subprocess.run,
        [pg_dump(), "--no-owner", "--inserts", settings.database_url],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )

    assert result.returncode == 0, result.stderr
    assert "INSERT INTO public.visits" in result.stdout
    assert_no_address(result.stdout)
