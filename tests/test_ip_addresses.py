"""Client IP addresses: kept encrypted for abuse handling, taken only from trusted
proxies, and never shown to anyone (SECURITY.md rows I1-I7)."""

from __future__ import annotations

import itertools
import logging
import re
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from graphql import introspection_from_schema
from tortoise import Tortoise, connections

from models.accounts import EmailToken, PendingRegistration, User
from models.base import IpRecord
from models.policy import Consent
from models.sessions import Session
from resolvers.policy import current_policy
from schema import build_schema
from services.addresses import AddressVault
from services.settings import Settings
from tests.support.documents import SIGN_UP
from tests.support.harness import PASSWORD, TEST_IP, Client, Server, assert_no_ip, ip_pattern
from tests.support.harness import test_settings as make_settings
from tests.support.mail import Mailbox
from tests.support.members import confirmed_member

SCHEMA_FILE = Path(__file__).resolve().parent.parent / "schema.graphql"
CHANGE_EMAIL = "mutation($i: ChangeEmailInput!) { changeEmail(input: $i) { userErrors { code } } }"
CLIENT = "198.51.100.9"  # the client behind our proxy
SPOOFED = "198.51.100.1"  # what the client claims to be
OUR_PROXIES = "203.0.113.0/24"  # TEST_IP, the harness's peer, is one of them
# Words in a schema name that would mean it carries a network address.
ADDRESS_WORDS = {"ip", "ips", "ipv4", "ipv6", "ipaddr", "remote", "forwarded", "xff", "peer"}
ADDRESS_MENTION = re.compile(
    r"(?i)\bip(v4|v6|s)?\b|\bx-forwarded|\bremote[ _-]?addr|\bclient[ _-]?addr"
)
DENIAL = re.compile(r"(?i)\b(no|never|not|nor|without)\b")


def words(name: str) -> list[str]:
    """The lower-cased words of a camelCase, PascalCase or snake_case name."""
    return [word.lower() for word in re.findall(r"[A-Z]+(?![a-z])|[A-Z]?[a-z0-9]+", name)]


def names_an_address(name: str) -> bool:
    """Does a schema name say it holds an IP or network address?"""
    parts = words(name)
    pairs = set(itertools.pairwise(parts))
    return bool(ADDRESS_WORDS & set(parts)) or bool(
        {("client", "address"), ("client", "addr"), ("remote", "address")} & pairs
    )


def mentions_an_address(description: str) -> bool:
    """Does a description say something carries an IP address (not that nothing does)?"""
    for clause in re.split(r"[.;:()]", description):
        mention = ADDRESS_MENTION.search(clause)
        if mention and not DENIAL.search(clause[: mention.start()]):
            return True
    return False


def schema_names_and_descriptions() -> list[tuple[str, str, str]]:
    """(where, name, description) for every type, field, argument, input field and enum value."""
    found = []
    for kind in introspection_from_schema(build_schema()._schema)["__schema"]["types"]:
        if kind["name"].startswith("__"):
            continue
        found.append((kind["name"], kind["name"], kind["description"] or ""))
        members = (kind["fields"] or []) + (kind["inputFields"] or []) + (kind["enumValues"] or [])
        for member in members:
            where = f"{kind['name']}.{member['name']}"
            found.append((where, member["name"], member["description"] or ""))
            for argument in member.get("args") or []:
                found.append(
                    (
                        f"{where}({argument['name']})",
                        argument["name"],
                        argument["description"] or "",
                    )
                )
    return found


async def register_from(gql: Client, username: str, headers: dict[str, str]) -> dict:
    """Register a member with extra request headers; return the response."""
    variables = {
        "username": username,
        "email": f"{username}@example.org",
        "password": PASSWORD,
        "dateOfBirth": "1990-05-17",
        "acceptPolicyVersion": (await current_policy()).version,
    }
    return await gql(SIGN_UP, {"input": variables}, headers=headers)


RECORDS = (User, Session, Consent, EmailToken, PendingRegistration)


async def stored_ips(vault: AddressVault) -> set[str]:
    """Every address kept in the database, decrypted."""
    found = set()
    for model in RECORDS:
        for sealed in await model.all().values_list("ip_cipher", flat=True):
            found.add(vault.open(sealed))
    return found


async def database_text() -> str:
    """Every row of every table, as text."""
    rows = []
    for model in Tortoise.apps["models"].values():
        rows += [repr(row) for row in await model.all().values()]
    return "\n".join(rows)


@pytest.fixture
def vault(settings: Settings) -> AddressVault:
    """The server's own address vault (same key)."""
    return AddressVault(settings.address_key)


@pytest.fixture
async def ada(gql: Client, mailbox: Mailbox) -> str:
    """A confirmed, signed-in member who asked to move to another address, and a newcomer
    whose registration waits for its link: every kind of account address record exists."""
    token = await confirmed_member(gql, mailbox, "ada_l")
    move = {"password": PASSWORD, "newEmail": "ada.new@example.org"}
    moving = await gql(CHANGE_EMAIL, {"i": move}, as_member="ada_l")
    assert moving == {"data": {"changeEmail": {"userErrors": []}}}
    assert await register_from(gql, "grace_h", {}) == {"data": {"register": {"userErrors": []}}}
    await mailbox.wait_for("grace_h@example.org")  # the last mail: the outbox is done
    return token


@pytest.fixture
async def proxied(tmp_path: Path, database_url: str) -> AsyncIterator[Client]:
    """A client behind one of our trusted proxies."""
    settings = make_settings(tmp_path, database_url, trusted_proxies=[OUR_PROXIES])
    async with Server(settings) as client:
        client.ips.update({CLIENT, SPOOFED})
        yield client


# ------------------------------------------------------------------ I6: the schema


def test_no_schema_name_refers_to_an_ip_address() -> None:
    offenders = [
        where for where, name, _ in schema_names_and_descriptions() if names_an_address(name)
    ]

    assert offenders == []


@pytest.mark.parametrize(
    ("name", "flagged"),
    [
        ("ip", True),
        ("ipAddress", True),
        ("lastIp", True),
        ("IPAddress", True),
        ("remoteAddr", True),
        ("clientAddress", True),
        ("x_forwarded_for", True),
        ("emailAddress", False),
        ("accountsSharingAddress", False),
        ("membership", False),
        ("zipCode", False),
    ],
)
def test_the_name_check_tells_address_names_from_others(name: str, flagged: bool) -> None:
    assert names_an_address(name) is flagged


def test_no_schema_description_mentions_an_ip_address() -> None:
    offenders = [
        (where, description)
        for where, _, description in schema_names_and_descriptions()
        if mentions_an_address(description)
    ]

    assert offenders == []


@pytest.mark.parametrize(
    ("description", "flagged"),
    [
        ("The IP address this session signed in from.", True),
        ("Last known IPv4 of the member.", True),
        ("Where the request came from (X-Forwarded-For).", True),
        ("A browser signed in to your account. Never shows an IP address.", False),
        ("Everything held about you, as one JSON document (no IP addresses).", False),
        ("Where the confirmation link goes: an email address. Never shown.", False),
        ("A zip file of your data.", False),
    ],
)
def test_the_description_check_tells_exposure_from_denial(description: str, flagged: bool) -> None:
    assert mentions_an_address(description) is flagged


def test_the_checked_in_schema_never_mentions_an_ip_address() -> None:
    text = SCHEMA_FILE.read_text()

    names = re.findall(r"^\s*(\w+)\s*[:(]", text, re.MULTILINE) + re.findall(
        r"^(?:type|input|enum|interface|scalar|union)\s+(\w+)", text, re.MULTILINE
    )

    assert "User" in names
    assert "login" in names
    assert [name for name in names if names_an_address(name)] == []
    assert [line for line in text.splitlines() if mentions_an_address(line)] == []


# ------------------------------------------------------------------ storage


@pytest.mark.parametrize("model", RECORDS)
async def test_each_record_keeps_the_client_ip_encrypted(
    gql: Client, ada: str, vault: AddressVault, model: type[IpRecord]
) -> None:
    rows = await model.all()

    assert rows
    for row in rows:
        assert row.ip_cipher is not None
        assert TEST_IP not in row.ip_cipher
        assert vault.open(row.ip_cipher) == TEST_IP
        assert row.ip_hash == vault.fingerprint(TEST_IP)


async def test_the_same_address_is_sealed_differently_each_time(gql: Client, ada: str) -> None:
    # The account and its first consent keep the registration's record as it was sealed
    # then (one sighting, moved); every other write seals its own.
    sealed_once = (User, Session, EmailToken, PendingRegistration)
    ciphers = [row.ip_cipher for model in sealed_once for row in await model.all()]

    assert len(set(ciphers)) == len(ciphers)


async def test_no_table_holds_a_readable_ip(gql: Client, ada: str) -> None:
    assert_no_ip(await database_text(), gql.ips)


async def test_the_database_file_holds_no_readable_ip(
    gql: Client, ada: str, settings: Settings
) -> None:
    if not settings.is_sqlite:
        pytest.skip("reads the SQLite file")
    await gql("{ viewer { username } }", as_member="ada_l")
    database = Path(settings.db_url.removeprefix("sqlite://").split("?")[0])

    files = [path for path in (database, Path(f"{database}-wal")) if path.exists()]

    assert database in files
    for path in files:
        assert_no_ip(path.read_bytes().decode("latin-1"), gql.ips)


# ------------------------------------------------------------------ I1-I3: who the client is


@pytest.mark.parametrize(
    "headers",
    [
        {"x-forwarded-for": CLIENT},
        {"x-forwarded-for": f"{SPOOFED}, {CLIENT}"},
        {"forwarded": f"for={CLIENT}"},
        {"x-real-ip": CLIENT},
    ],
)
async def test_forwarding_headers_are_ignored_without_trusted_proxies(
    gql: Client, vault: AddressVault, headers: dict[str, str]
) -> None:
    gql.ips.update({CLIENT, SPOOFED})

    assert await register_from(gql, "ada_l", headers) == {"data": {"register": {"userErrors": []}}}

    assert await stored_ips(vault) == {TEST_IP}


@pytest.mark.parametrize(
    "forwarded_for",
    [
        CLIENT,
        f"{SPOOFED}, {CLIENT}",  # the left-most hop is the client's own claim
        f"{SPOOFED}, {CLIENT}, 203.0.113.5",  # a second proxy of ours in the chain
        f" {CLIENT} ",
    ],
)
async def test_the_right_most_untrusted_hop_is_the_client_behind_a_trusted_proxy(
    proxied: Client, vault: AddressVault, forwarded_for: str
) -> None:
    response = await register_from(proxied, "ada_l", {"x-forwarded-for": forwarded_for})

    assert response == {"data": {"register": {"userErrors": []}}}
    assert await stored_ips(vault) == {CLIENT}


@pytest.mark.parametrize(
    "forwarded_for",
    [
        "<script>alert(1)</script>",
        "'; DROP TABLE users; --",
        "," * 8192,
        "unknown",
        "x" * 8192,
        f"{CLIENT}, unknown",
        "999.1.1.1",
        "",
    ],
)
async def test_a_malformed_x_forwarded_for_falls_back_to_the_peer(
    proxied: Client, vault: AddressVault, forwarded_for: str
) -> None:
    response = await register_from(proxied, "ada_l", {"x-forwarded-for": forwarded_for})

    assert response == {"data": {"register": {"userErrors": []}}}
    assert await stored_ips(vault) == {TEST_IP}


# ------------------------------------------------------------------ I4, A4: nothing shows an IP


async def test_the_graphiql_page_shows_no_ip_and_loads_nothing_from_elsewhere(
    proxied: Client,
) -> None:
    response = await proxied.request(
        "GET", "/graphql", headers={"accept": "text/html", "x-forwarded-for": CLIENT}
    )

    assert response.status_code == 200
    assert not ip_pattern(proxied.ips).search(response.text)
    assert (
        re.findall(
            r"<(?:script|link)\b[^>]*\b(?:src|href)\s*=\s*[\"']?(?:https?:)?//", response.text
        )
        == []
    )
    assert "https://" not in response.text


async def test_a_refusal_shows_no_ip(proxied: Client) -> None:
    await register_from(proxied, "ada_l", {"x-forwarded-for": CLIENT})

    response = await register_from(proxied, "ada_l", {"x-forwarded-for": CLIENT})

    assert response == {
        "data": {
            "register": {
                "userErrors": [
                    {
                        "field": ["username"],
                        "message": "That username is taken.",
                        "code": "USERNAME_TAKEN",
                    }
                ]
            }
        }
    }


# ------------------------------------------------------------------ I5: logs


@pytest.mark.parametrize(
    ("table", "query"),
    [
        ("policy_versions", "{ privacyPolicy { version } }"),
        ("pending_registrations", None),  # fails while holding the newcomer's name
    ],
)
async def test_a_failing_request_logs_no_ip(
    proxied: Client, caplog: pytest.LogCaptureFixture, table: str, query: str | None
) -> None:
    for name in ("", "tortoise", "tortoise.db_client", "aiosqlite", "asyncpg", "strawberry"):
        caplog.set_level(logging.DEBUG, logger=name or None)
    await connections.get("default").execute_script(f"DROP TABLE {table}")

    if query is None:
        response = await register_from(proxied, "ada_l", {"x-forwarded-for": CLIENT})
    else:
        response = await proxied(query, headers={"x-forwarded-for": CLIENT})

    request_id = response["errors"][0]["extensions"]["requestId"]
    faults = [r for r in caplog.records if r.name == "forum.graphql" and r.levelno == logging.ERROR]
    assert [request_id in record.getMessage() for record in faults] == [True]
    assert_no_ip(caplog.text, proxied.ips)
    for record in caplog.records:
        assert_no_ip(record.getMessage(), proxied.ips)
        assert_no_ip(repr(record.args), proxied.ips)
