"""Issue 14, "deletion leaves address records behind" (SECURITY.md I4, taken to deletion):
after deleteAccount no row of any table still holds the member's client address (its
cipher or keyed hash), user agent or email address.

The tables are found from the models, not from a list kept by hand: every table with an
address column (ip_cipher, ip_hash, user_agent) or an email-address column (a text column
named for an email or an address). The member first leaves rows in every one of them, so
a new table of that kind fails this test until deletion handles it and the test writes it.

The cast: ada (ada_l@example.org) does everything from 198.51.100.41 with her own browser;
bob, from 198.51.100.42, is there to be written to and reported.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from tortoise import Tortoise
from tortoise.fields import CharField, TextField
from tortoise.models import Model

from models.forums import Forum
from resolvers.policy import current_policy
from schema import ids
from services.addresses import AddressVault
from services.settings import Settings
from tests.support.accounts import all_delivered, settled
from tests.support.harness import PASSWORD, TEST_IP, Client, Server
from tests.support.harness import test_settings as make_settings
from tests.support.mail import Mailbox, token_in

ADA_IP, BOB_IP = "198.51.100.41", "198.51.100.42"
ADA_AGENT, BOB_AGENT = "Ada's browser/1.0", "Bob's browser/2.0"
ADA_ADDRESSES = {"ada_l@example.org", "ada.new@example.org"}  # hers, and the one she asked for
ADDRESS_COLUMNS = {"ip_cipher", "ip_hash", "user_agent"}


def mutation(name: str, returns: str = "") -> str:
    """A one-mutation document taking `$i` of the mutation's input type."""
    kind = name[0].upper() + name[1:] + "Input"
    return f"mutation($i: {kind}!) {{ {name}(input: $i) {{ {returns} userErrors {{ code }} }} }}"


def email_columns(model: type[Model]) -> set[str]:
    """A model's text columns named for an email or an address (not a client's)."""
    found = set()
    for name, column in model._meta.fields_db_projection.items():
        field = model._meta.fields_map[name]
        text = isinstance(field, CharField | TextField) and not hasattr(field, "enum_type")
        named = ("email" in column or "address" in column) and not column.startswith("ip_")
        if text and named:
            found.add(column)
    return found


def personal_tables() -> dict[type[Model], set[str]]:
    """Every model with address, user-agent or email-address columns, and those columns."""
    found = {}
    for model in Tortoise.apps["models"].values():
        columns = (ADDRESS_COLUMNS & set(model._meta.db_fields)) | email_columns(model)
        if columns:
            found[model] = columns
    return found


def is_adas(row: dict[str, Any], vault: AddressVault) -> bool:
    """Does the row hold ada's address (sealed or hashed), user agent or email?"""
    cipher = row.get("ip_cipher")
    return (
        (cipher is not None and vault.open(cipher) == ADA_IP)
        or row.get("ip_hash") == vault.fingerprint(ADA_IP)
        or row.get("user_agent") == ADA_AGENT
        or any(
            str(value).lower() in ADA_ADDRESSES
            for column, value in row.items()
            if column not in ADDRESS_COLUMNS and value is not None
        )
    )


async def adas_rows(vault: AddressVault) -> dict[str, int]:
    """Per personal table, how many rows hold something of ada's."""
    counts = {}
    for model, columns in personal_tables().items():
        rows = await model.all().values(*sorted(columns))
        counts[model._meta.db_table] = sum(is_adas(row, vault) for row in rows)
    return counts


@pytest.fixture
def settings(tmp_path: Path, database_url: str) -> Settings:
    """TEST_IP, the harness's peer, is our proxy: X-Forwarded-For names each client."""
    return make_settings(tmp_path, database_url, trusted_proxies=f"{TEST_IP}/32")


@pytest.fixture
async def gql(settings: Settings, mailbox: Mailbox) -> AsyncIterator[Client]:
    # The mailbox: its scan runs once this app has stopped.
    async with Server(settings) as client:
        client.ips.update({ADA_IP, BOB_IP})
        yield client


async def send(
    gql: Client, who: str | None, document: str, i: dict[str, Any], signed_in: str | None = None
) -> dict[str, Any]:
    """One mutation from ada's or bob's client; its payload, which must carry no userErrors."""
    ip, agent = (ADA_IP, ADA_AGENT) if who == "ada" else (BOB_IP, BOB_AGENT)
    headers = {"x-forwarded-for": ip, "user-agent": agent}
    response = await gql.post(document, {"i": i}, as_member=signed_in, headers=headers)
    (payload,) = response.json()["data"].values()
    assert payload["userErrors"] == [], response.text
    if "session" in response.cookies:
        gql.cookies[i["login"]] = response.cookies["session"]
    return payload


async def join(gql: Client, mailbox: Mailbox, who: str, username: str) -> None:
    """Register, open the link and sign in, all from `who`'s client."""
    policy = await current_policy()
    address = f"{username}@example.org"
    fields = {"username": username, "email": address, "password": PASSWORD}
    fields |= {"dateOfBirth": "1990-05-17", "acceptPolicyVersion": policy.version}
    await send(gql, who, mutation("register"), fields)
    (mail,) = await mailbox.wait_for(address)
    await send(gql, who, mutation("confirmEmail", "user { id }"), {"token": token_in(mail)})
    await send(gql, who, mutation("login"), {"login": username, "password": PASSWORD})


async def ada_writes_everywhere(gql: Client, mailbox: Mailbox) -> None:
    """ada joins and leaves a row of hers in every table that can hold one; bob joins."""
    await join(gql, mailbox, "ada", "ada_l")
    await join(gql, mailbox, "bob", "bob_k")
    bob_id = (await gql('{ user(username: "bob_k") { id } }'))["data"]["user"]["id"]
    await send(gql, "ada", mutation("setConsent"), {"kind": "ANALYTICS", "granted": True}, "ada_l")
    forum = await Forum.create(slug="general", title="General")
    opening = {"forumId": ids.encode("Forum", forum.id), "title": "Engines", "body": "Hello"}
    thread = await send(gql, "ada", mutation("createThread", "thread { id }"), opening, "ada_l")
    reply = {"threadId": thread["thread"]["id"], "body": "Me again"}
    mine = await send(gql, "ada", mutation("postMessage", "message { id }"), reply, "ada_l")
    edit = {"messageId": mine["message"]["id"], "body": "Me, again"}
    await send(gql, "ada", mutation("editMessage"), edit, "ada_l")
    theirs = await send(gql, "bob", mutation("postMessage", "message { id }"), reply, "bob_k")
    talk = {"recipientIds": [bob_id], "title": "Hi bob", "body": "Hello"}
    await send(gql, "ada", mutation("startConversation"), talk, "ada_l")
    report = {"messageId": theirs["message"]["id"], "reason": "Advertising"}
    await send(gql, "ada", mutation("reportMessage"), report, "ada_l")
    fix = {"field": "dateOfBirth", "proposedValue": "1990-05-18", "reason": "Typo at sign-up"}
    await send(gql, "ada", mutation("requestCorrection"), fix, "ada_l")
    await send(gql, "ada", mutation("recordPageView"), {"path": "/forums"}, "ada_l")
    move = {"password": PASSWORD, "newEmail": "ada.new@example.org"}
    await send(gql, "ada", mutation("changeEmail"), move, "ada_l")
    await send(gql, "ada", mutation("requestPasswordReset"), {"email": "ada_l@example.org"})
    # Signed out, she registers again with her own address: a registration without a link.
    again = {"username": "ada_again", "email": "ada_l@example.org", "password": PASSWORD}
    again |= {"dateOfBirth": "1990-05-17", "acceptPolicyVersion": (await current_policy()).version}
    await send(gql, "ada", mutation("register"), again)
    await settled()
    await all_delivered()


async def test_I4_after_deletion_no_table_holds_the_members_address_user_agent_or_email(
    gql: Client, mailbox: Mailbox, settings: Settings
) -> None:
    vault = AddressVault(settings.address_key)
    await ada_writes_everywhere(gql, mailbox)
    before = await adas_rows(vault)
    # Every table of the kind has rows of ada's, or this test would prove nothing for it.
    assert [table for table, count in before.items() if count == 0] == []

    await send(gql, "ada", mutation("deleteAccount"), {"password": PASSWORD}, "ada_l")

    assert await adas_rows(vault) == dict.fromkeys(before, 0)


async def test_I4_deletion_leaves_other_members_records_alone(
    gql: Client, mailbox: Mailbox, settings: Settings
) -> None:
    vault = AddressVault(settings.address_key)
    await ada_writes_everywhere(gql, mailbox)

    def bobs(rows: list[dict[str, Any]]) -> int:
        return sum(row["ip_hash"] == vault.fingerprint(BOB_IP) for row in rows)

    tables = [model for model, columns in personal_tables().items() if "ip_hash" in columns]
    before = {model: bobs(await model.all().values("ip_hash")) for model in tables}

    await send(gql, "ada", mutation("deleteAccount"), {"password": PASSWORD}, "ada_l")

    after = {model._meta.db_table: bobs(await model.all().values("ip_hash")) for model in tables}
    assert after == {model._meta.db_table: count for model, count in before.items()}
    # bob's account, its consent, his session and his message.
    assert {table for table, count in after.items() if count} == {
        "users",
        "consents",
        "sessions",
        "messages",
    }
