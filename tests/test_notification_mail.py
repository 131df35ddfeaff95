"""Notification mail: off by default, batched per member and kind, sent through the
outbox, with a one-click unsubscribe (RFC 8058) for that kind that needs no sign-in."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from pathlib import Path

import pytest

from models.blocks import Block
from models.mail import OutboxMail
from models.notifications import Notification
from resolvers.notification_mail import send_due
from services.settings import Settings
from tests.support.forum import new_forum, open_thread, reply
from tests.support.harness import Client, Server, test_settings
from tests.support.mail import Mailbox
from tests.support.members import member, set_audiences
from tests.support.privacy import global_id

EMAIL_ON = """mutation($k: NotificationKind!) {
  updateNotificationSetting(input: {kind: $k, email: true}) { userErrors { code } } }"""
FOLLOW = "mutation($i: FollowInput!) { follow(input: $i) { userErrors { code } } }"
SETTINGS = "{ viewer { notificationSettings { kind email } } }"
ONE_CLICK = {
    "content": b"List-Unsubscribe=One-Click",
    "headers": {"content-type": "application/x-www-form-urlencoded"},
}
LINK = re.compile(
    r"<http://localhost:8000(/notifications/unsubscribe\?u=\d+&k=\w+&sig=[0-9a-f]{32})>"
)
LATER = timedelta(hours=1)  # past any delay


def unsubscribe_path(mail: OutboxMail | EmailMessage) -> str:
    """The path of a mail's List-Unsubscribe link."""
    header = (
        mail.headers["List-Unsubscribe"]
        if isinstance(mail, OutboxMail)
        else mail["List-Unsubscribe"]
    )
    match = LINK.fullmatch(str(header))
    assert match, header
    return match.group(1)


async def test_no_mail_is_sent_by_default(gql: Client, settings: Settings) -> None:
    await member(gql, "ada")
    await member(gql, "bob")
    thread_id, _ = await open_thread(gql, "ada", await new_forum())
    await reply(gql, "bob", thread_id, "Hi")

    assert await send_due(settings, datetime.now(UTC) + LATER) == 0
    assert await OutboxMail.all().count() == 0


async def test_a_members_notifications_of_one_kind_go_out_as_one_mail_after_the_delay(
    gql: Client, settings: Settings, mailbox: Mailbox
) -> None:
    await member(gql, "ada")
    await member(gql, "bob")
    await gql(EMAIL_ON, {"k": "REPLY"}, as_member="ada")
    thread_id, _ = await open_thread(gql, "ada", await new_forum(), title="Runs")
    await reply(gql, "bob", thread_id, "One")
    await reply(gql, "bob", thread_id, "Two")

    early = await send_due(settings, datetime.now(UTC))
    late = await send_due(settings, datetime.now(UTC) + LATER)
    again = await send_due(settings, datetime.now(UTC) + 2 * LATER)

    assert (early, late, again) == (0, 1, 0)
    # Read as delivered: the server's sender may deliver it (and empty the outbox row's
    # body) at any moment after send_due queued it.
    (mail,) = await mailbox.wait_for("ada@example.org")
    assert mail["Subject"] == "New replies in threads you watch"
    body = mail.get_content()
    assert body.startswith('Hello ada,\n\n- bob replied in "Runs"\n- bob replied in "Runs"\n')
    assert mail["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert unsubscribe_path(mail).startswith(
        f"/notifications/unsubscribe?u={(await Notification.first()).recipient_id}&k=reply&sig="
    )  # type: ignore[union-attr,attr-defined]


async def test_the_mail_never_carries_a_message_or_a_conversation_title(
    gql: Client, settings: Settings
) -> None:
    ada = await member(gql, "ada")
    await member(gql, "bob")
    await gql(EMAIL_ON, {"k": "MENTION"}, as_member="ada")
    thread_id, _ = await open_thread(gql, "bob", await new_forum(), title="Runs")

    await reply(gql, "bob", thread_id, "Secret words for @ada")
    await send_due(settings, datetime.now(UTC) + LATER)

    (mail,) = await OutboxMail.all()
    assert "Secret words" not in mail.body
    assert '- bob mentioned you in "Runs"\n' in mail.body
    del ada


@pytest.mark.parametrize("reason", ["blocked", "outside whoCanMention"])
async def test_no_mail_reaches_a_member_from_someone_they_blocked_or_outside_their_audience(
    gql: Client, settings: Settings, reason: str
) -> None:
    ada = await member(gql, "ada")
    bob = await member(gql, "bob")
    for kind in ("MENTION", "REPLY"):
        await gql(EMAIL_ON, {"k": kind}, as_member="ada")
    if reason == "blocked":
        await Block.create(blocker_id=ada.id, blocked_id=bob.id)
    else:
        await set_audiences(ada, who_can_mention="ONLY_ME")
    thread_id, _ = await open_thread(gql, "bob", await new_forum())

    await reply(gql, "bob", thread_id, "Hey @ada")
    await send_due(settings, datetime.now(UTC) + LATER)

    assert await OutboxMail.all().count() == 0


async def test_the_one_click_post_stops_that_kind_only_without_signing_in(
    gql: Client, settings: Settings
) -> None:
    await member(gql, "ada")
    await member(gql, "bob")
    for kind in ("REPLY", "NEW_FOLLOWER"):
        await gql(EMAIL_ON, {"k": kind}, as_member="ada")
    thread_id, _ = await open_thread(gql, "ada", await new_forum())
    await reply(gql, "bob", thread_id, "Hi")
    await send_due(settings, datetime.now(UTC) + LATER)
    (mail,) = await OutboxMail.all()

    response = await gql.request("POST", unsubscribe_path(mail), **ONE_CLICK)  # type: ignore[arg-type]

    assert response.status_code == 200
    emails = {
        s["kind"]: s["email"]
        for s in (await gql(SETTINGS, as_member="ada"))["data"]["viewer"]["notificationSettings"]
    }
    assert emails == {
        "REPLY": False,
        "MENTION": False,
        "CONVERSATION_MESSAGE": False,
        "NEW_FOLLOWER": True,
        "MODERATION": False,
    }


@pytest.mark.parametrize("tamper", ["sig=0", "k=mention", "u=9"])
async def test_an_unsubscribe_link_that_was_not_made_here_changes_nothing(
    gql: Client, settings: Settings, tamper: str
) -> None:
    ada = await member(gql, "ada")
    await member(gql, "bob")
    await gql(EMAIL_ON, {"k": "REPLY"}, as_member="ada")
    thread_id, _ = await open_thread(gql, "ada", await new_forum())
    await reply(gql, "bob", thread_id, "Hi")
    await send_due(settings, datetime.now(UTC) + LATER)
    (mail,) = await OutboxMail.all()
    name, _, value = tamper.partition("=")
    path = re.sub(
        rf"{name}=[^&]*",
        lambda m: m.group(0)[: len(name) + 1] + value if name != "sig" else f"sig={'0' * 32}",
        unsubscribe_path(mail),
    )

    response = await gql.request("POST", path, **ONE_CLICK)  # type: ignore[arg-type]

    assert response.status_code == 400
    assert await Notification.filter(recipient_id=ada.id).count() == 1
    settings_now = (await gql(SETTINGS, as_member="ada"))["data"]["viewer"]["notificationSettings"]
    assert {"kind": "REPLY", "email": True} in settings_now


async def test_the_server_mails_a_batch_once_its_delay_has_passed(
    tmp_path: Path, database_url: str, mailbox: Mailbox
) -> None:
    quick = test_settings(tmp_path, database_url, notification_mail_delay_seconds=0)
    async with Server(quick) as gql:
        ada = await member(gql, "ada")
        await member(gql, "bob")
        await gql(EMAIL_ON, {"k": "NEW_FOLLOWER"}, as_member="ada")
        await gql(FOLLOW, {"i": {"userId": global_id(ada)}}, as_member="bob")

        (mail,) = await mailbox.wait_for("ada@example.org")

    assert mail["Subject"] == "New followers"
    assert "- bob started following you\n" in mail.get_content()
    assert unsubscribe_path(mail).startswith(
        f"/notifications/unsubscribe?u={ada.id}&k=new_follower&"
    )
