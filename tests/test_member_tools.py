"""Members, by staff: suspensions until lifted, warnings (recorded, mailed, read by the
member and staff only) and a member's public messages, newest first and batched."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from models.accounts import User
from models.forums import Forum
from models.moderation import Warning
from tests.support.forum import gid, new_forum, open_thread, refused, reply
from tests.support.harness import Client
from tests.support.mail import Mailbox
from tests.support.members import member
from tests.support.sqlcount import count_statements
from tests.support.staff import WARN, audit_log, staff_cast

REASON = "Personal attacks in the recipes forum"
SUSPEND = """mutation($i: SuspendMemberInput!) {
  suspendMember(input: $i) { user { suspendedUntil suspended } userErrors { field message code } }
}"""
POST = """mutation($i: PostMessageInput!) {
  postMessage(input: $i) { message { body } userErrors { field message code } }
}"""
STATE = "query($u: String!) { user(username: $u) { suspended suspendedUntil } }"
WARNINGS = "query($u: String!) { user(username: $u) { warnings { reason } } }"
MESSAGES = """query($u: String!, $after: String) {
  user(username: $u) {
    messages(first: 2, after: $after) { edges { node { body } } pageInfo { hasNextPage endCursor } }
  }
}"""
HIDE = "mutation($i: HideMessageInput!) { hideMessage(input: $i) { userErrors { code } } }"
DELETE = "mutation($i: DeleteMessageInput!) { deleteMessage(input: $i) { userErrors { code } } }"


@pytest.fixture
async def cast(gql: Client) -> dict[str, User]:
    """ada and bob (members), grace (moderator) and root (admin), signed in."""
    return await staff_cast(gql)


@pytest.fixture
async def forum(cast: dict[str, User]) -> Forum:
    """A forum to write in."""
    return await new_forum()


async def suspend(gql: Client, user: User, **fields: object) -> dict:
    variables = {"i": {"userId": gid("User", user.id), "reason": REASON, **fields}}
    return await gql(SUSPEND, variables, as_member="grace")


# ---------------------------------------------------------------- until lifted


@pytest.mark.parametrize("until", ["left out", None])
async def test_a_suspension_without_an_end_lasts_until_lifted(
    gql: Client, cast: dict[str, User], until: object
) -> None:
    fields = {} if until == "left out" else {"until": until}

    response = await suspend(gql, cast["ada"], **fields)

    user = {"suspendedUntil": None, "suspended": True}
    assert response == {"data": {"suspendMember": {"user": user, "userErrors": []}}}


async def test_a_member_suspended_until_lifted_is_told_so(
    gql: Client, cast: dict[str, User], forum: Forum
) -> None:
    thread_id, _ = await open_thread(gql, "bob", forum)
    await suspend(gql, cast["ada"])

    response = await gql(POST, {"i": {"threadId": thread_id, "body": "Hi"}}, as_member="ada")

    message = f"Your account is suspended until it is lifted: {REASON}"
    errors = refused("SUSPENDED", message)
    assert response == {"data": {"postMessage": {"message": None, "userErrors": errors}}}


async def test_lifting_an_open_ended_suspension_lets_the_member_write(
    gql: Client, cast: dict[str, User], forum: Forum
) -> None:
    thread_id, _ = await open_thread(gql, "bob", forum)
    await suspend(gql, cast["ada"])
    await gql(
        "mutation($i: UnsuspendMemberInput!) { unsuspendMember(input: $i) { userErrors { code } } "
        "}",
        {"i": {"userId": gid("User", cast["ada"].id)}},
        as_member="grace",
    )

    response = await gql(POST, {"i": {"threadId": thread_id, "body": "Hi"}}, as_member="ada")

    assert response == {"data": {"postMessage": {"message": {"body": "Hi"}, "userErrors": []}}}


@pytest.mark.parametrize(
    ("viewer", "seen"), [("ada", True), ("grace", True), ("bob", None), (None, None)]
)
async def test_only_the_member_and_staff_know_of_a_suspension(
    gql: Client, cast: dict[str, User], viewer: str | None, seen: bool | None
) -> None:
    await suspend(gql, cast["ada"])

    response = await gql(STATE, {"u": "ada"}, as_member=viewer)

    assert response == {"data": {"user": {"suspended": seen, "suspendedUntil": None}}}


async def test_a_suspension_ending_in_the_past_is_refused(
    gql: Client, cast: dict[str, User]
) -> None:
    past = (datetime.now(UTC) - timedelta(minutes=1)).isoformat()

    response = await suspend(gql, cast["ada"], until=past)

    message = "Suspend until a time in the future (with zone)."
    errors = refused("UNTIL_IN_PAST", message, "until")
    assert response == {"data": {"suspendMember": {"user": None, "userErrors": errors}}}
    await cast["ada"].refresh_from_db()
    assert cast["ada"].suspended_until is None


async def test_an_open_ended_suspension_is_audited_as_such(
    gql: Client, cast: dict[str, User]
) -> None:
    await suspend(gql, cast["ada"])

    assert await audit_log(gql) == [
        {
            "actor": {"username": "grace"},
            "action": "SUSPEND_MEMBER",
            "subject": {"username": "ada"},
            "fields": ["until lifted"],
            "reason": REASON,
        }
    ]


# ---------------------------------------------------------------- warnings


async def warn(gql: Client, user: User, reason: str = REASON) -> dict:
    variables = {"i": {"userId": gid("User", user.id), "reason": reason}}
    return await gql(WARN, variables, as_member="grace")


async def test_a_moderator_warns_a_member(gql: Client, cast: dict[str, User]) -> None:
    response = await warn(gql, cast["ada"])

    payload = {"warning": {"reason": REASON}, "userErrors": []}
    assert response == {"data": {"warnMember": payload}}


async def test_a_warned_member_is_told_by_mail(
    gql: Client, cast: dict[str, User], mailbox: Mailbox
) -> None:
    await warn(gql, cast["ada"])

    (mail,) = await mailbox.wait_for("ada@example.org")
    assert mail["Subject"] == "A warning from the moderators"
    assert REASON in mail.get_content()


@pytest.mark.parametrize(
    ("viewer", "seen"),
    [
        ("ada", [{"reason": "First"}, {"reason": "Second"}]),
        ("grace", [{"reason": "First"}, {"reason": "Second"}]),
        ("bob", None),
        (None, None),
    ],
)
async def test_the_member_and_staff_read_the_warnings_oldest_first(
    gql: Client, cast: dict[str, User], viewer: str | None, seen: list | None
) -> None:
    await warn(gql, cast["ada"], "First")
    await warn(gql, cast["ada"], "Second")

    response = await gql(WARNINGS, {"u": "ada"}, as_member=viewer)

    assert response == {"data": {"user": {"warnings": seen}}}


@pytest.mark.parametrize("reason", ["", "  ", "x" * 501])
async def test_a_warning_needs_a_reason(gql: Client, cast: dict[str, User], reason: str) -> None:
    response = await warn(gql, cast["ada"], reason)

    errors = refused("REASON_INVALID", "Give a reason of 3 to 500 characters.", "reason")
    assert response == {"data": {"warnMember": {"warning": None, "userErrors": errors}}}
    assert await Warning.all().count() == 0


async def test_warning_nobody_is_refused(gql: Client, cast: dict[str, User]) -> None:
    variables = {"i": {"userId": gid("User", 999), "reason": REASON}}

    response = await gql(WARN, variables, as_member="grace")

    errors = refused("USER_NOT_FOUND", "There is no such member.", "userId")
    assert response == {"data": {"warnMember": {"warning": None, "userErrors": errors}}}


async def test_a_warning_is_audited(gql: Client, cast: dict[str, User]) -> None:
    await warn(gql, cast["ada"])

    (warning,) = await Warning.all()
    assert await audit_log(gql) == [
        {
            "actor": {"username": "grace"},
            "action": "WARN_MEMBER",
            "subject": {"username": "ada"},
            "fields": [f"warning:{warning.id}"],
            "reason": REASON,
        }
    ]


# ---------------------------------------------------------------- a member's messages


@pytest.fixture
async def written(gql: Client, cast: dict[str, User], forum: Forum) -> list[str]:
    """ada's public messages m1..m4 (m2 hidden, m3 deleted) and one private one."""
    thread_id, first = await open_thread(gql, "ada", forum, "Soup", "m1")
    ids = [first] + [await reply(gql, "ada", thread_id, f"m{n}") for n in (2, 3, 4)]
    await gql(HIDE, {"i": {"messageId": ids[1], "reason": "Rude reply"}}, as_member="grace")
    await gql(DELETE, {"i": {"messageId": ids[2]}}, as_member="ada")
    await gql(
        "mutation($i: StartConversationInput!) { startConversation(input: $i) "
        "{ userErrors { code } } }",
        {
            "i": {
                "recipientIds": [gid("User", cast["bob"].id)],
                "title": "Private",
                "body": "secret",
            }
        },
        as_member="ada",
    )
    return ids


async def all_pages(gql: Client, viewer: str | None) -> list[str]:
    bodies: list[str] = []
    after = None
    while True:
        response = await gql(MESSAGES, {"u": "ada", "after": after}, as_member=viewer)
        page = response["data"]["user"]["messages"]
        bodies += [edge["node"]["body"] for edge in page["edges"]]
        if not page["pageInfo"]["hasNextPage"]:
            return bodies
        after = page["pageInfo"]["endCursor"]


@pytest.mark.parametrize("viewer", [None, "bob", "ada"])
async def test_members_see_a_members_public_messages_newest_first(
    gql: Client, written: list[str], viewer: str | None
) -> None:
    assert await all_pages(gql, viewer) == ["m4", "m1"]


@pytest.mark.parametrize("viewer", ["grace", "root"])
async def test_staff_also_see_hidden_ones_but_never_deleted_ones(
    gql: Client, written: list[str], viewer: str
) -> None:
    # a hidden message's body reads as empty, as on every path
    assert await all_pages(gql, viewer) == ["m4", "", "m1"]


async def test_a_users_page_with_their_messages_costs_no_statement_per_member(
    gql: Client, cast: dict[str, User], forum: Forum
) -> None:
    query = (
        "{ users(first: 20) { edges { node { username "
        "messages(first: 5) { edges { node { body } } } } } } }"
    )
    thread_id, _ = await open_thread(gql, "ada", forum, "Soup", "m1")
    with count_statements() as few:
        await gql(query, as_member="grace")
    for n in range(4):
        writer = await member(gql, f"writer{n}")
        await reply(gql, writer.username, thread_id, f"w{n}")

    with count_statements() as many:
        response = await gql(query, as_member="grace")

    assert len(response["data"]["users"]["edges"]) == 8
    assert many.count == few.count, str(many)
