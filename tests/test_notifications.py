"""Notifications, watched threads and mentions: who is told, what they are shown."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

import pytest

from models.accounts import User
from models.base import Role
from models.blocks import Block
from models.messages import Message
from models.notifications import Notification, NotificationSetting, ThreadWatch
from tests.support.documents import POST, PUBLIC
from tests.support.forum import (
    gid,
    new_forum,
    open_thread,
    pk,
    refused,
    reply,
    send,
    start_conversation,
)
from tests.support.harness import Client
from tests.support.members import follow, member, set_audiences
from tests.support.privacy import global_id
from tests.support.sqlcount import count_statements

LIST = """query($unread: Boolean) { notifications(first: 20, unreadOnly: $unread) { edges { node {
  kind readAt actor { username } thread { title } message { body hidden }
  conversation { title } text
} } } }"""
IDS = "{ notifications(first: 50) { edges { node { id } } } }"
COUNT = "query($u: String!) { user(username: $u) { unreadNotificationCount } }"
MARK = """mutation($i: MarkNotificationsReadInput!) { markNotificationsRead(input: $i) {
  unreadNotificationCount userErrors { field message code } } }"""
SETTINGS = "{ viewer { notificationSettings { kind inApp email } } }"
UPDATE_SETTING = """mutation($i: UpdateNotificationSettingInput!) {
  updateNotificationSetting(input: $i) { notificationSetting { kind inApp email }
  userErrors { field message code } } }"""
WATCH = """mutation($i: WatchThreadInput!) { watchThread(input: $i) {
  thread { title viewerIsWatching } userErrors { field message code } } }"""
UNWATCH = WATCH.replace("watchThread(", "unwatchThread(")
WATCHING = "query($t: ID!) { thread(id: $t) { viewerIsWatching } }"
BODY_HTML = "query($m: ID!) { node(id: $m) { ... on Message { bodyHtml } } }"
EDIT = """mutation($i: EditMessageInput!) { editMessage(input: $i) { userErrors { code } } }"""
FOLLOW = "mutation($i: FollowInput!) { follow(input: $i) { userErrors { code } } }"
LEAVE = "mutation($i: ConversationInput!) { leaveConversation(input: $i) { userErrors { code } } }"
NEW_FOLLOWER = """{ notifications { edges { node { kind actor {
  username email followers(first: 5) { edges { node { username } } } } } } } }"""


def note(
    kind: str,
    actor: str | None,
    thread: str | None = None,
    body: str | None = None,
    conversation: str | None = None,
    hidden: bool = False,
) -> dict[str, Any]:
    """One notification as LIST reads it (unread)."""
    return {
        "node": {
            "kind": kind,
            "readAt": None,
            "actor": {"username": actor} if actor else None,
            "thread": {"title": thread} if thread else None,
            "message": {"body": body, "hidden": hidden} if body is not None else None,
            "conversation": {"title": conversation} if conversation else None,
            "text": None,
        }
    }


def listed(*notes: dict[str, Any]) -> dict[str, Any]:
    """LIST's answer."""
    return {"data": {"notifications": {"edges": list(notes)}}}


async def test_a_reply_notifies_the_member_who_started_the_thread(gql: Client) -> None:
    await member(gql, "ada")
    await member(gql, "bob")
    thread_id, _ = await open_thread(gql, "ada", await new_forum(), title="Runs")

    await reply(gql, "bob", thread_id, "Me too")

    assert await gql(LIST, as_member="ada") == listed(note("REPLY", "bob", "Runs", "Me too"))
    assert await gql(LIST, as_member="bob") == listed()


async def test_replying_watches_the_thread_and_later_replies_notify(gql: Client) -> None:
    await member(gql, "ada")
    await member(gql, "bob")
    await member(gql, "carol")
    thread_id, _ = await open_thread(gql, "ada", await new_forum(), title="Runs")
    await reply(gql, "bob", thread_id, "Me too")

    await reply(gql, "carol", thread_id, "And me")

    watching = await gql(WATCHING, {"t": thread_id}, as_member="bob")
    assert watching == {"data": {"thread": {"viewerIsWatching": True}}}
    assert await gql(LIST, as_member="bob") == listed(note("REPLY", "carol", "Runs", "And me"))


async def test_signed_out_readers_watch_nothing(gql: Client) -> None:
    await member(gql, "ada")
    thread_id, _ = await open_thread(gql, "ada", await new_forum())

    assert await gql(WATCHING, {"t": thread_id}) == {
        "data": {"thread": {"viewerIsWatching": False}}
    }


async def test_watching_a_thread_notifies_its_replies_until_unwatched(gql: Client) -> None:
    await member(gql, "ada")
    await member(gql, "bob")
    await member(gql, "carol")
    thread_id, _ = await open_thread(gql, "ada", await new_forum(), title="Runs")

    watched = await gql(WATCH, {"i": {"threadId": thread_id}}, as_member="carol")
    await reply(gql, "bob", thread_id, "One")
    unwatched = await gql(UNWATCH, {"i": {"threadId": thread_id}}, as_member="carol")
    await reply(gql, "bob", thread_id, "Two")

    assert watched == {
        "data": {
            "watchThread": {"thread": {"title": "Runs", "viewerIsWatching": True}, "userErrors": []}
        }
    }
    assert unwatched == {
        "data": {
            "unwatchThread": {
                "thread": {"title": "Runs", "viewerIsWatching": False},
                "userErrors": [],
            }
        }
    }
    assert await gql(LIST, as_member="carol") == listed(note("REPLY", "bob", "Runs", "One"))


@pytest.mark.parametrize("mutation", [WATCH, UNWATCH])
async def test_watching_an_unknown_thread_is_refused(gql: Client, mutation: str) -> None:
    await member(gql, "ada")
    name = "watchThread" if mutation == WATCH else "unwatchThread"

    response = await gql(mutation, {"i": {"threadId": gid("Thread", 999)}}, as_member="ada")

    errors = refused("THREAD_NOT_FOUND", "There is no such thread.", "threadId")
    assert response == {"data": {name: {"thread": None, "userErrors": errors}}}


async def test_a_mention_links_the_profile_and_notifies_once_as_a_mention(gql: Client) -> None:
    await member(gql, "ada")
    await member(gql, "bob")
    thread_id, _ = await open_thread(gql, "ada", await new_forum(), title="Runs")

    message_id = await reply(gql, "bob", thread_id, "Hi @Ada and @nobody")

    html = await gql(BODY_HTML, {"m": message_id})
    link = f'<a href="{PUBLIC}/members/ada" class="mention">@Ada</a>'
    assert html == {"data": {"node": {"bodyHtml": f"<p>Hi {link} and @nobody</p>\n"}}}
    mention = note("MENTION", "bob", "Runs", "Hi @Ada and @nobody")
    assert await gql(LIST, as_member="ada") == listed(mention)


@pytest.mark.parametrize(
    ("setting", "blocked"),
    [("ONLY_ME", False), ("FOLLOWING", False), ("MEMBERS", True)],
)
async def test_a_mention_from_outside_who_can_mention_notifies_nobody(
    gql: Client, setting: str, blocked: bool
) -> None:
    ada = await member(gql, "ada")
    bob = await member(gql, "bob")
    await member(gql, "carol")
    await set_audiences(ada, who_can_mention=setting)
    if blocked:
        await Block.create(blocker_id=ada.id, blocked_id=bob.id)
    thread_id, _ = await open_thread(gql, "carol", await new_forum())

    await reply(gql, "bob", thread_id, "Hi @ada")

    assert await gql(LIST, as_member="ada") == listed()
    assert await Notification.filter(recipient_id=ada.id).count() == 0


async def test_a_mention_by_a_followed_member_notifies_a_following_audience(gql: Client) -> None:
    ada = await member(gql, "ada")
    bob = await member(gql, "bob")
    await member(gql, "carol")
    await set_audiences(ada, who_can_mention="FOLLOWING")
    await follow(ada, bob)
    thread_id, _ = await open_thread(gql, "carol", await new_forum(), title="Runs")

    await reply(gql, "bob", thread_id, "Hi @ada")

    assert await gql(LIST, as_member="ada") == listed(note("MENTION", "bob", "Runs", "Hi @ada"))


async def test_a_message_notifies_at_most_ten_mentioned_members(gql: Client) -> None:
    names = [f"m{i:02}" for i in range(12)]
    for name in names:
        await member(gql, name)
    await member(gql, "bob")
    thread_id, _ = await open_thread(gql, "bob", await new_forum())

    await reply(gql, "bob", thread_id, " ".join(f"@{name}" for name in names))

    told = await Notification.filter(kind="mention").order_by("recipient_id")
    recipients = await User.filter(id__in=[n.recipient_id for n in told]).order_by("id")  # type: ignore[attr-defined]
    assert [user.username for user in recipients] == names[:10]


async def test_a_mention_added_by_an_edit_notifies_once(gql: Client) -> None:
    await member(gql, "ada")
    await member(gql, "bob")
    await member(gql, "carol")
    thread_id, _ = await open_thread(gql, "carol", await new_forum(), title="Runs")
    message_id = await reply(gql, "bob", thread_id, "Hello")

    for body in ("Hello @ada", "Hello again @ada"):
        await gql(EDIT, {"i": {"messageId": message_id, "body": body}}, as_member="bob")

    mention = note("MENTION", "bob", "Runs", "Hello again @ada")
    assert await gql(LIST, as_member="ada") == listed(mention)


async def test_a_conversation_message_notifies_every_participant_but_a_blocker(
    gql: Client,
) -> None:
    ada = await member(gql, "ada")
    bob = await member(gql, "bob")
    await member(gql, "carol")
    conversation_id, _ = await start_conversation(gql, "carol", [ada, bob], title="Plans")
    await Block.create(blocker_id=ada.id, blocked_id=bob.id)

    await send(gql, "bob", conversation_id, "Bob here")

    first = note("CONVERSATION_MESSAGE", "carol", body="Hi", conversation="Plans")
    from_bob = note("CONVERSATION_MESSAGE", "bob", body="Bob here", conversation="Plans")
    assert await gql(LIST, as_member="ada") == listed(first)
    assert await gql(LIST, as_member="carol") == listed(from_bob)


async def test_a_conversation_the_recipient_left_reads_null(gql: Client) -> None:
    ada = await member(gql, "ada")
    await member(gql, "carol")
    conversation_id, _ = await start_conversation(gql, "carol", [ada], title="Plans")

    await gql(LEAVE, {"i": {"conversationId": conversation_id}}, as_member="ada")

    assert await gql(LIST, as_member="ada") == listed(note("CONVERSATION_MESSAGE", "carol"))


async def test_a_message_since_hidden_reads_hidden_and_empty(gql: Client) -> None:
    await member(gql, "ada")
    await member(gql, "bob")
    thread_id, _ = await open_thread(gql, "ada", await new_forum(), title="Runs")
    message_id = await reply(gql, "bob", thread_id, "Rude words")

    await Message.filter(id=pk(message_id)).update(hidden_at=datetime.now(UTC))

    hidden = note("REPLY", "bob", "Runs", "", hidden=True)
    assert await gql(LIST, as_member="ada") == listed(hidden)


async def test_notifications_from_a_member_blocked_later_are_not_shown(gql: Client) -> None:
    ada = await member(gql, "ada")
    bob = await member(gql, "bob")
    thread_id, _ = await open_thread(gql, "ada", await new_forum())
    await reply(gql, "bob", thread_id, "Hi")

    await Block.create(blocker_id=ada.id, blocked_id=bob.id)

    assert await gql(LIST, as_member="ada") == listed()
    assert await gql(COUNT, {"u": "ada"}, as_member="ada") == {
        "data": {"user": {"unreadNotificationCount": 0}}
    }


async def test_a_new_follower_is_named_without_anything_private(gql: Client) -> None:
    ada = await member(gql, "ada")
    bob = await member(gql, "bob")
    await set_audiences(bob, followers="ONLY_ME")
    await follow(await member(gql, "carol"), bob)

    await gql(FOLLOW, {"i": {"userId": global_id(ada)}}, as_member="bob")

    actor = {"username": "bob", "email": None, "followers": None}
    edge = {"node": {"kind": "NEW_FOLLOWER", "actor": actor}}
    assert await gql(NEW_FOLLOWER, as_member="ada") == {
        "data": {"notifications": {"edges": [edge]}}
    }


async def test_following_twice_notifies_once(gql: Client) -> None:
    ada = await member(gql, "ada")
    await member(gql, "bob")

    for _ in range(2):
        await gql(FOLLOW, {"i": {"userId": global_id(ada)}}, as_member="bob")

    assert await gql(LIST, as_member="ada") == listed(note("NEW_FOLLOWER", "bob"))


async def test_marking_read_counts_down_and_unread_only_leaves_them_out(gql: Client) -> None:
    await member(gql, "ada")
    await member(gql, "bob")
    thread_id, _ = await open_thread(gql, "ada", await new_forum(), title="Runs")
    await reply(gql, "bob", thread_id, "One")
    await reply(gql, "bob", thread_id, "Two")
    ids = [
        edge["node"]["id"]
        for edge in (await gql(IDS, as_member="ada"))["data"]["notifications"]["edges"]
    ]

    marked = await gql(MARK, {"i": {"ids": ids[:1]}}, as_member="ada")

    assert marked == {
        "data": {"markNotificationsRead": {"unreadNotificationCount": 1, "userErrors": []}}
    }
    unread = await gql(LIST, {"unread": True}, as_member="ada")
    assert unread == listed(note("REPLY", "bob", "Runs", "One"))


async def test_marking_another_members_notifications_marks_nothing_like_unknown_ids(
    gql: Client,
) -> None:
    await member(gql, "ada")
    await member(gql, "bob")
    await member(gql, "carol")
    thread_id, _ = await open_thread(gql, "ada", await new_forum())
    await reply(gql, "bob", thread_id, "One")
    ada_ids = [
        edge["node"]["id"]
        for edge in (await gql(IDS, as_member="ada"))["data"]["notifications"]["edges"]
    ]

    others = await gql(MARK, {"i": {"ids": ada_ids}}, as_member="carol")
    unknown = await gql(MARK, {"i": {"ids": [gid("Notification", 999)]}}, as_member="carol")

    answer = {"data": {"markNotificationsRead": {"unreadNotificationCount": 0, "userErrors": []}}}
    assert others == unknown == answer
    assert await Notification.filter(read_at__isnull=False).count() == 0


async def test_marking_all_read(gql: Client) -> None:
    await member(gql, "ada")
    await member(gql, "bob")
    thread_id, _ = await open_thread(gql, "ada", await new_forum())
    await reply(gql, "bob", thread_id, "One")
    await reply(gql, "bob", thread_id, "Two")

    marked = await gql(MARK, {"i": {"all": True}}, as_member="ada")

    assert marked == {
        "data": {"markNotificationsRead": {"unreadNotificationCount": 0, "userErrors": []}}
    }


@pytest.mark.parametrize("given", [{}, {"ids": [], "all": True}])
async def test_marking_read_needs_either_ids_or_all(gql: Client, given: dict[str, Any]) -> None:
    await member(gql, "ada")

    response = await gql(MARK, {"i": given}, as_member="ada")

    errors = refused("IDS_OR_ALL", "Pass either `ids` (at most 100) or `all: true`.", "ids")
    assert response == {
        "data": {"markNotificationsRead": {"unreadNotificationCount": None, "userErrors": errors}}
    }


async def test_notifications_signed_out_are_unauthenticated(gql: Client) -> None:
    response = await gql(IDS)

    assert response["data"] == {"notifications": None}
    assert response["errors"][0]["extensions"] == {"code": "UNAUTHENTICATED"}


async def test_unread_count_and_settings_are_the_owners_alone(gql: Client) -> None:
    await member(gql, "ada")
    await member(gql, "bob")
    query = (
        'query { user(username: "ada") { unreadNotificationCount notificationSettings { kind } } }'
    )

    answers = [await gql(query, as_member=name) for name in ("bob", None)]

    nothing = {"data": {"user": {"unreadNotificationCount": None, "notificationSettings": None}}}
    assert answers == [nothing, nothing]


async def test_settings_default_to_in_app_without_email(gql: Client) -> None:
    await member(gql, "ada")

    response = await gql(SETTINGS, as_member="ada")

    kinds = ["REPLY", "MENTION", "CONVERSATION_MESSAGE", "NEW_FOLLOWER", "MODERATION"]
    settings = [{"kind": kind, "inApp": True, "email": False} for kind in kinds]
    assert response == {"data": {"viewer": {"notificationSettings": settings}}}


async def test_a_kind_turned_off_in_the_app_is_not_listed(gql: Client) -> None:
    await member(gql, "ada")
    await member(gql, "bob")
    thread_id, _ = await open_thread(gql, "ada", await new_forum())

    changed = await gql(UPDATE_SETTING, {"i": {"kind": "REPLY", "inApp": False}}, as_member="ada")
    await reply(gql, "bob", thread_id, "One")

    setting = {"kind": "REPLY", "inApp": False, "email": False}
    assert changed == {
        "data": {"updateNotificationSetting": {"notificationSetting": setting, "userErrors": []}}
    }
    assert await gql(LIST, as_member="ada") == listed()


@pytest.mark.parametrize("given", [{}, {"inApp": None, "email": None}])
async def test_a_setting_change_that_names_no_channel_is_refused_and_changes_nothing(
    gql: Client, given: dict[str, Any]
) -> None:
    await member(gql, "ada")

    response = await gql(UPDATE_SETTING, {"i": {"kind": "REPLY", **given}}, as_member="ada")

    errors = refused("NOTHING_TO_CHANGE", "Say inApp, email or both.")
    assert response == {
        "data": {"updateNotificationSetting": {"notificationSetting": None, "userErrors": errors}}
    }
    settings = (await gql(SETTINGS, as_member="ada"))["data"]["viewer"]["notificationSettings"]
    assert settings[0] == {"kind": "REPLY", "inApp": True, "email": False}


async def test_a_notifications_page_costs_the_same_statements_at_any_length(
    gql: Client,
) -> None:
    await member(gql, "ada")
    writers = [await member(gql, f"writer{i}") for i in range(5)]
    forum = await new_forum()
    short_id, _ = await open_thread(gql, "ada", forum, title="Short")
    await reply(gql, "writer0", short_id, "One")

    costs = []
    for _ in range(2):
        with count_statements() as statements:
            await gql(LIST, as_member="ada")
        costs.append(statements.count)
        long_id, _ = await open_thread(gql, "ada", forum, title="Long")
        for writer in writers:
            await reply(gql, writer.username, long_id, f"From {writer.username}")

    assert costs[0] == costs[1]


async def _watchers(gql: Client, thread_id: str, author: User, count: int, start: int) -> None:
    """`count` more members watching the thread, told in every way a setting allows: one
    blocked the author, one wants mail as well, one turned REPLY off in the app."""
    for i in range(start, start + count):
        watcher = await member(gql, f"watcher{i}")
        await gql(WATCH, {"i": {"threadId": thread_id}}, as_member=watcher.username)
        if i == start:
            await Block.create(blocker_id=watcher.id, blocked_id=author.id)
        elif i == start + 1:
            await NotificationSetting.create(user_id=watcher.id, kind="reply", email=True)
        elif i == start + 2:
            await NotificationSetting.create(user_id=watcher.id, kind="reply", in_app=False)


async def test_a_reply_costs_five_statements_however_many_watch_the_thread(
    gql: Client,
) -> None:
    await member(gql, "ada")
    bob = await member(gql, "bob")
    thread_id, _ = await open_thread(gql, "ada", await new_forum())
    await reply(gql, "bob", thread_id, "First")  # bob watches the thread from now on

    costs = []
    for round_ in range(2):
        with count_statements() as statements:
            await reply(gql, "bob", thread_id, "More")
        costs.append([sql.split()[0] for sql in statements.sql])
        await _watchers(gql, thread_id, bob, 5, start=5 * round_)

    # The session, the thread, the message, the thread's newest message, the
    # notifications (the watchers, their blocks and settings read by the insert itself).
    assert costs == [["SELECT", "SELECT", "INSERT", "UPDATE", "INSERT"]] * 2


async def test_a_first_reply_costs_one_statement_more_for_the_watch(gql: Client) -> None:
    await member(gql, "ada")
    await member(gql, "bob")
    thread_id, _ = await open_thread(gql, "ada", await new_forum())

    with count_statements() as first:
        await reply(gql, "bob", thread_id, "First")
    with count_statements() as second:
        await reply(gql, "bob", thread_id, "Second")

    assert first.count == second.count + 1
    assert "INSERT INTO thread_watches" in first.sql[-2]


async def test_a_reply_costs_the_same_statements_for_one_mention_or_ten(gql: Client) -> None:
    await member(gql, "ada")
    for i in range(10):
        await member(gql, f"named{i}")
    thread_id, _ = await open_thread(gql, "ada", await new_forum())
    await reply(gql, "ada", thread_id, "Hello")

    costs = []
    for names in (["named0"], [f"named{i}" for i in range(10)]):
        body = "Thanks " + " ".join(f"@{name}" for name in names)
        with count_statements() as statements:
            await reply(gql, "ada", thread_id, body)
        costs.append(statements.count)

    assert costs[0] == costs[1]
    assert await Notification.filter(kind="mention").count() == 11


async def test_a_conversation_message_costs_six_statements_for_any_number_of_participants(
    gql: Client,
) -> None:
    ada = await member(gql, "ada")
    others = [await member(gql, f"friend{i}") for i in range(5)]
    small, _ = await start_conversation(gql, "ada", others[:1], title="Two of us")
    large, _ = await start_conversation(gql, "ada", others, title="Six of us")
    await Block.create(blocker_id=others[4].id, blocked_id=ada.id)
    await NotificationSetting.create(user_id=others[3].id, kind="conversation_message", email=True)

    costs = []
    for conversation_id in (small, large):
        with count_statements() as statements:
            await send(gql, "ada", conversation_id, "On my way")
        costs.append(statements.count)

    # The session, the participation, the message, the conversation's newest message,
    # every participant's place, the notifications.
    assert costs == [6, 6]


async def test_replies_and_watches_at_once_leave_one_watch_per_member(gql: Client) -> None:
    ada = await member(gql, "ada")
    bob = await member(gql, "bob")
    carol = await member(gql, "carol")
    thread_id, _ = await open_thread(gql, "ada", await new_forum())
    post = {"i": {"threadId": thread_id, "body": "Me too"}}
    watch = {"i": {"threadId": thread_id}}

    answers = await asyncio.gather(
        *(
            gql(document, variables, as_member=name)
            for name in ("bob", "carol")
            for document, variables in [(POST, post), (WATCH, watch), (POST, post), (POST, post)]
        )
    )

    assert [answer.get("errors") for answer in answers] == [None] * 8
    assert [next(iter(answer["data"].values()))["userErrors"] for answer in answers] == [[]] * 8
    watchers = await ThreadWatch.filter(thread_id=pk(thread_id)).values_list("user_id", flat=True)
    assert sorted(watchers) == [ada.id, bob.id, carol.id]


MODERATION = (
    "{ notifications { edges { node { kind actor { username } text message { hidden } } } } }"
)
HIDE = """mutation($i: HideMessageInput!) { hideMessage(input: $i) { userErrors { code } } }"""
SUSPEND = (
    """mutation($i: SuspendMemberInput!) { suspendMember(input: $i) { userErrors { code } } }"""
)
REPORT = """mutation($i: ReportMessageInput!) { reportMessage(input: $i) {
  report { id } userErrors { code } } }"""
WARN = """mutation($i: WarnMemberInput!) { warnMember(input: $i) { userErrors { code } } }"""
RESOLVE = (
    """mutation($i: ResolveReportInput!) { resolveReport(input: $i) { userErrors { code } } }"""
)


def moderation(*texts: tuple[str, bool | None]) -> dict[str, Any]:
    """MODERATION's answer: (text, message hidden or None for no message), newest first."""
    edges = [
        {
            "node": {
                "kind": "MODERATION",
                "actor": None,
                "text": text,
                "message": {"hidden": hidden} if hidden is not None else None,
            }
        }
        for text, hidden in texts
    ]
    return {"data": {"notifications": {"edges": edges}}}


async def test_hiding_a_message_tells_its_author_why_without_naming_the_moderator(
    gql: Client,
) -> None:
    await member(gql, "ada")
    await member(gql, "mod", Role.MODERATOR)
    thread_id, message_id = await open_thread(gql, "ada", await new_forum())
    await gql(WATCH, {"i": {"threadId": thread_id}}, as_member="mod")

    await gql(HIDE, {"i": {"messageId": message_id, "reason": "Spam links"}}, as_member="mod")

    answer = await gql(MODERATION, as_member="ada")
    assert answer == moderation(("A moderator hid your message: Spam links", True))


UNHIDE = (
    """mutation($i: UnhideMessageInput!) { unhideMessage(input: $i) { userErrors { code } } }"""
)


async def test_unhiding_a_message_tells_its_author_once(gql: Client) -> None:
    await member(gql, "ada")
    await member(gql, "mod", Role.MODERATOR)
    _, message_id = await open_thread(gql, "ada", await new_forum())
    await gql(HIDE, {"i": {"messageId": message_id, "reason": "Spam links"}}, as_member="mod")
    shown = {"i": {"messageId": message_id, "reason": "Appeal upheld"}}

    await gql(UNHIDE, shown, as_member="mod")
    await gql(UNHIDE, shown, as_member="mod")  # already shown: nothing to tell

    answer = await gql(MODERATION, as_member="ada")
    assert answer == moderation(
        ("A moderator showed your message again: Appeal upheld", False),
        ("A moderator hid your message: Spam links", False),
    )


async def test_a_suspension_tells_the_member_until_when_and_why(gql: Client) -> None:
    ada = await member(gql, "ada")
    await member(gql, "mod", Role.MODERATOR)

    variables = {
        "i": {
            "userId": global_id(ada),
            "until": "2099-01-02T03:04:00+00:00",
            "reason": "Abuse of others",
        }
    }
    await gql(SUSPEND, variables, as_member="mod")

    text = "Your account is suspended until 2099-01-02 03:04 UTC: Abuse of others"
    assert await gql(MODERATION, as_member="ada") == moderation((text, None))


async def test_a_warning_tells_the_member_why_without_naming_the_moderator(
    gql: Client,
) -> None:
    ada = await member(gql, "ada")
    await member(gql, "mod", Role.MODERATOR)

    variables = {"i": {"userId": global_id(ada), "reason": "Personal attacks"}}
    await gql(WARN, variables, as_member="mod")

    text = "A moderator warned you: Personal attacks"
    assert await gql(MODERATION, as_member="ada") == moderation((text, None))


async def test_a_resolved_report_tells_the_reporter_and_the_hidden_messages_author(
    gql: Client,
) -> None:
    await member(gql, "ada")
    await member(gql, "bob")
    await member(gql, "mod", Role.MODERATOR)
    thread_id, _ = await open_thread(gql, "ada", await new_forum())
    message_id = await reply(gql, "bob", thread_id, "Nasty words")
    await gql(MARK, {"i": {"all": True}}, as_member="ada")
    report = await gql(
        REPORT, {"i": {"messageId": message_id, "reason": "Insulting me"}}, as_member="ada"
    )
    report_id = report["data"]["reportMessage"]["report"]["id"]

    await gql(RESOLVE, {"i": {"reportId": report_id, "action": "HIDE_MESSAGE"}}, as_member="mod")

    told = {
        name: await gql(
            MODERATION.replace("notifications {", "notifications(unreadOnly: true) {"),
            as_member=name,
        )
        for name in ("ada", "bob")
    }
    assert told == {
        "ada": moderation(("Your report was resolved: the message was hidden.", True)),
        "bob": moderation(("A moderator hid your message after a report.", True)),
    }


async def test_a_notification_reads_through_node_for_its_recipient_alone(gql: Client) -> None:
    await member(gql, "ada")
    await member(gql, "bob")
    thread_id, _ = await open_thread(gql, "ada", await new_forum())
    await reply(gql, "bob", thread_id, "Hi")
    (edge,) = (await gql(IDS, as_member="ada"))["data"]["notifications"]["edges"]
    query = "query($n: ID!) { node(id: $n) { ... on Notification { kind } } }"

    answers = [
        await gql(query, {"n": edge["node"]["id"]}, as_member=name) for name in ("ada", "bob", None)
    ]

    assert answers == [
        {"data": {"node": {"kind": "REPLY"}}},
        {"data": {"node": None}},
        {"data": {"node": None}},
    ]


async def test_a_blocked_members_follow_and_reply_notify_the_blocker_of_nothing(
    gql: Client,
) -> None:
    ada = await member(gql, "ada")
    bob = await member(gql, "bob")
    thread_id, _ = await open_thread(gql, "ada", await new_forum())
    await Block.create(blocker_id=ada.id, blocked_id=bob.id)

    await gql(FOLLOW, {"i": {"userId": global_id(ada)}}, as_member="bob")
    await reply(gql, "bob", thread_id, "Hello @ada")

    assert await Notification.filter(recipient_id=ada.id).count() == 0
    assert await gql(LIST, as_member="ada") == listed()


async def test_a_name_in_code_or_inside_a_link_is_no_mention(gql: Client) -> None:
    await member(gql, "ada")
    await member(gql, "bob")
    thread_id, _ = await open_thread(gql, "bob", await new_forum())

    message_id = await reply(gql, "bob", thread_id, "`@ada` and [@ada](/rules)")

    html = '<p><code>@ada</code> and <a href="/rules">@ada</a></p>\n'
    assert await gql(BODY_HTML, {"m": message_id}) == {"data": {"node": {"bodyHtml": html}}}
    assert await Notification.filter(kind="mention").count() == 0


async def test_a_mention_in_a_conversation_links_without_a_mention_notification(
    gql: Client,
) -> None:
    ada = await member(gql, "ada")
    await member(gql, "bob")
    conversation_id, _ = await start_conversation(gql, "bob", [ada], title="Plans")

    message_id = await send(gql, "bob", conversation_id, "Hi @ada")

    html = await gql(BODY_HTML, {"m": message_id}, as_member="ada")
    link = f'<a href="{PUBLIC}/members/ada" class="mention">@ada</a>'
    assert html == {"data": {"node": {"bodyHtml": f"<p>Hi {link}</p>\n"}}}
    kinds = await Notification.filter(recipient_id=ada.id).values_list("kind", flat=True)
    assert kinds == ["conversation_message", "conversation_message"]
