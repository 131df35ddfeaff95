"""Plain rows (models/rows.py), which pages read instead of models: every column reads
exactly as the model's attribute does (the same value, of the same type, in the same
time zone), on SQLite and on PostgreSQL, and what a page never shows is not read."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from tortoise.models import Model

from models.base import Role
from models.conversations import Conversation
from models.forums import Forum
from models.messages import Message, Thread
from models.privacy import Audience, PrivacySettings
from models.profiles import Profile
from models.rows import (
    AccountRow,
    ConversationRow,
    MessageRow,
    ProfileRow,
    SettingsRow,
    Shape,
    ThreadRow,
)
from models.sql import fetch
from tests.support.harness import Client
from tests.support.members import member

AT = datetime(2026, 3, 1, 12, 30, 15, 250000, tzinfo=UTC)


async def read(shape: Shape[Any], table: str, key_column: str, key: int) -> Any:
    """One row of `table` read as the plain row a page builds."""
    alias = shape.alias or ""
    where = f"{alias}.{key_column}" if alias else key_column
    sql = f"SELECT {shape.select_list()} FROM {table} {alias} WHERE {where} = {{0}}"  # noqa: S608
    (found,) = await fetch(sql, [key])
    return shape.build(found)


def as_read(row: Any, model: Model) -> tuple[dict[str, str], dict[str, str]]:
    """Each column's repr (value, type and time zone) in the row and in the model."""
    names = row._fields
    return (
        {name: repr(getattr(row, name)) for name in names},
        {name: repr(getattr(model, name)) for name in names},
    )


async def test_an_account_row_reads_as_the_user_model(gql: Client) -> None:
    ada = await member(None, "ada", Role.MODERATOR, last_seen_at=AT, newsletter=True)
    await ada.__class__.filter(id=ada.id).update(suspended_until=AT + timedelta(days=3))

    row = await read(Shape(AccountRow, type(ada), "u"), "users", "id", ada.id)

    mine, models = as_read(row, await type(ada).get(id=ada.id))
    assert mine == models
    assert row.confirmed is True


async def test_a_profile_row_reads_as_the_profile_model(gql: Client) -> None:
    ada = await member(None, "ada")
    await Profile.create(
        user=ada, bio="Hi", location=None, start_weight_kg=Decimal("92.5"), goal_weight_kg=70
    )

    row = await read(Shape(ProfileRow, Profile, "p"), "profiles", "user_id", ada.id)

    mine, models = as_read(row, await Profile.get(user_id=ada.id))
    assert mine == models


async def test_a_settings_row_reads_as_the_privacy_settings_model(gql: Client) -> None:
    ada = await member(None, "ada")
    await PrivacySettings.create(
        user=ada, email=Audience.EVERYONE, bio=Audience.FOLLOWING, listed_in_members=False
    )

    row = await read(
        Shape(SettingsRow, PrivacySettings, "s"), "privacy_settings", "user_id", ada.id
    )

    mine, models = as_read(row, await PrivacySettings.get(user_id=ada.id))
    assert mine == models
    assert row.bio is Audience.FOLLOWING  # the member itself: `can_view` compares by identity


@pytest.fixture
async def thread(gql: Client) -> Thread:
    """A locked thread by ada."""
    ada = await member(None, "ada")
    forum = await Forum.create(slug="general", title="General", position=0)
    return await Thread.create(forum=forum, author=ada, title="Hello", locked=True)


async def test_a_thread_row_reads_as_the_thread_model(thread: Thread) -> None:
    row = await read(Shape(ThreadRow, Thread), "threads", "id", thread.id)

    mine, models = as_read(row, await Thread.get(id=thread.id))
    assert mine == models


async def test_a_message_row_reads_as_the_message_model(thread: Thread) -> None:
    message = await Message.create(
        thread=thread,
        author_id=thread.author_id,  # type: ignore[attr-defined]
        body="*Hi*",
        body_html="<p><em>Hi</em></p>",
        edited_at=AT,
    )
    await Message.filter(id=message.id).update(hidden_at=AT + timedelta(minutes=1))

    row = await read(Shape(MessageRow, Message), "messages", "id", message.id)

    mine, models = as_read(row, await Message.get(id=message.id))
    assert mine == models


async def test_a_conversation_row_reads_as_the_conversation_model(gql: Client) -> None:
    ada = await member(None, "ada")
    conversation = await Conversation.create(title="Just us", created_by=ada, last_message_id=7)

    row = await read(
        Shape(ConversationRow, Conversation, "c"), "conversations", "id", conversation.id
    )

    mine, models = as_read(row, await Conversation.get(id=conversation.id))
    assert mine == models


async def test_a_stored_value_no_enum_member_is_refused_as_the_model_refuses_it(
    gql: Client,
) -> None:
    ada = await member(None, "ada")
    await fetch("UPDATE users SET role = 'wizard' WHERE id = {0}", [ada.id])

    with pytest.raises(ValueError, match="'wizard' is not a valid Role"):
        await type(ada).get(id=ada.id)
    with pytest.raises(ValueError, match="'wizard' is not a valid Role"):
        await read(Shape(AccountRow, type(ada), "u"), "users", "id", ada.id)


def test_no_plain_row_holds_a_password_hash_or_a_client_address() -> None:
    secret = {"password_hash", "ip_cipher", "ip_hash", "user_agent", "email_key"}
    kinds = (AccountRow, ProfileRow, SettingsRow, MessageRow, ThreadRow, ConversationRow)

    assert {kind.__name__: secret & set(kind._fields) for kind in kinds} == {
        kind.__name__: set() for kind in kinds
    }
