"""Forums, threads and conversations for the message tests, made through the API, and
the answers the API gives (Relay IDs, coded errors, refusals)."""

from __future__ import annotations

from typing import Any

from models.accounts import User
from models.forums import Forum
from schema import ids
from tests.support.documents import CREATE_THREAD, POST, SEND, START
from tests.support.harness import Client


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
