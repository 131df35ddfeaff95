"""Members, forums, threads and conversations for the message tests (no tests here).

Registering through the API costs Argon2 work per member; these tests need many
members, so a member is written as `create_member` leaves one (confirmed, one shared
password hash) and given a session the way `login` does, its cookie kept on the client.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from functools import cache
from typing import Any

from models.accounts import User
from models.base import Role
from models.forums import Forum
from models.privacy import Audience, PrivacySettings
from models.profiles import Follow, Profile
from models.sessions import Session
from schema import ids
from services import usernames
from services.passwords import hash_password
from services.tokens import new_token, token_hash
from tests.harness import PASSWORD, Client


@cache
def password_hash() -> str:
    """One real hash of PASSWORD for every quick member, so `login` works for them too."""
    return hash_password(PASSWORD)


async def member(
    gql: Client | None,
    username: str,
    *,
    role: Role = Role.MEMBER,
    confirmed: bool = True,
    signed_in: bool = True,
) -> User:
    """A member row, signed in on `gql` under their username unless asked otherwise."""
    address = f"{username.lower()}@example.org"
    user = await User.create(
        username=username,
        username_key=usernames.lookalike_key(username),
        email=address,
        email_key=address,
        password_hash=password_hash(),
        date_of_birth=date(1990, 5, 17),
        role=role,
        email_confirmed_at=datetime.now(UTC) if confirmed else None,
    )
    if gql is not None and signed_in:
        token = new_token()
        now = datetime.now(UTC)
        await Session.create(
            user=user, token_hash=token_hash(token), last_used_at=now, expires_at=now + timedelta(1)
        )
        gql.cookies[username] = token
    return user


async def suspend(user: User, reason: str, until: datetime | None = None) -> datetime:
    """Suspend a member as suspendMember would; return the end of the suspension."""
    user.suspended_until = until or datetime(2099, 1, 2, 3, 4, tzinfo=UTC)
    user.suspension_reason = reason
    await user.save(update_fields=["suspended_until", "suspension_reason"])
    return user.suspended_until


async def set_audiences(user: User, **values: str) -> None:
    """Store privacy settings as updatePrivacySettings would (GraphQL enum names)."""
    row, _ = await PrivacySettings.get_or_create(user_id=user.id)
    for name, value in values.items():
        setattr(row, name, Audience[value])
    await row.save()


async def set_profile(user: User, **values: Any) -> None:
    """Store profile fields as updateProfile would."""
    row, _ = await Profile.get_or_create(user_id=user.id)
    for name, value in values.items():
        setattr(row, name, value)
    await row.save()


async def follow(follower: User, followee: User) -> None:
    """`follower` follows `followee`."""
    await Follow.create(follower_id=follower.id, followee_id=followee.id)


async def new_forum(slug: str = "general", title: str = "General", position: int = 0) -> Forum:
    """A forum, made as the seed makes them."""
    return await Forum.create(slug=slug, title=title, position=position)


def gid(type_name: str, pk: int) -> str:
    """The Relay ID of a row."""
    return ids.encode(type_name, pk)


def pk(global_id: str) -> int:
    """The row id inside a Relay ID."""
    return int(ids.decode(global_id)[1])


# ---------------------------------------------------------------- API calls

CREATE_THREAD = """
mutation($i: CreateThreadInput!) {
  createThread(input: $i) {
    thread { id title messages(first: 1) { edges { node { id } } } }
    userErrors { field message code }
  }
}
"""

POST = """
mutation($i: PostMessageInput!) {
  postMessage(input: $i) { message { id } userErrors { field message code } }
}
"""

START = """
mutation($i: StartConversationInput!) {
  startConversation(input: $i) {
    conversation { id messages(first: 1) { edges { node { id } } } }
    userErrors { field message code }
  }
}
"""

SEND = """
mutation($i: SendMessageInput!) {
  sendMessage(input: $i) { message { id } userErrors { field message code } }
}
"""


async def open_thread(
    gql: Client, author: str, forum: Forum, title: str = "Hello there", body: str = "First!"
) -> tuple[str, str]:
    """Open a thread through the API; return its ID and its first message's ID."""
    variables = {"i": {"forumId": gid("Forum", forum.id), "title": title, "body": body}}
    response = await gql(CREATE_THREAD, variables, as_member=author)
    payload = response["data"]["createThread"]
    assert payload["userErrors"] == [], response
    thread = payload["thread"]
    return thread["id"], thread["messages"]["edges"][0]["node"]["id"]


async def reply(gql: Client, author: str, thread_id: str, body: str) -> str:
    """Post in a thread through the API; return the message ID."""
    response = await gql(POST, {"i": {"threadId": thread_id, "body": body}}, as_member=author)
    payload = response["data"]["postMessage"]
    assert payload["userErrors"] == [], response
    return payload["message"]["id"]


async def start_conversation(
    gql: Client, author: str, recipients: list[User], title: str = "Just us", body: str = "Hi"
) -> tuple[str, str]:
    """Start a conversation through the API; return its ID and its first message's ID."""
    variables = {
        "i": {"recipientIds": [gid("User", r.id) for r in recipients], "title": title, "body": body}
    }
    response = await gql(START, variables, as_member=author)
    payload = response["data"]["startConversation"]
    assert payload["userErrors"] == [], response
    conversation = payload["conversation"]
    return conversation["id"], conversation["messages"]["edges"][0]["node"]["id"]


async def send(gql: Client, author: str, conversation_id: str, body: str) -> str:
    """Write in a conversation through the API; return the message ID."""
    variables = {"i": {"conversationId": conversation_id, "body": body}}
    response = await gql(SEND, variables, as_member=author)
    payload = response["data"]["sendMessage"]
    assert payload["userErrors"] == [], response
    return payload["message"]["id"]


def coded_error(query: str, field: str, message: str, code: str) -> dict[str, Any]:
    """The GraphQL error a top-level `field` of `query` answers with, as the API shows it."""
    before, _, _ = query.partition(field + "(" if field + "(" in query else field)
    line = before.count("\n") + 1
    column = len(before) - (before.rfind("\n") + 1) + 1
    return {
        "message": message,
        "locations": [{"line": line, "column": column}],
        "path": [field],
        "extensions": {"code": code},
    }


def refused(code: str, message: str, *field: str) -> list[dict[str, Any]]:
    """The userErrors of a refusal with one problem."""
    return [{"field": list(field) if field else None, "message": message, "code": code}]
