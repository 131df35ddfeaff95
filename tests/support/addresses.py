"""Every kind of write the API takes, each sent from its own client address (by ada, bob
and a newcomer): what the address-at-rest and retention tests then look for."""

from __future__ import annotations

from datetime import date

from models.base import Role
from models.forums import Forum
from resolvers.accounts import create_member
from resolvers.policy import current_policy
from schema import ids
from tests.support.documents import CONFIRM_TOKEN
from tests.support.harness import PASSWORD, Client
from tests.support.mail import Mailbox, token_in

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
    confirmed = await gql(CONFIRM_TOKEN, {"t": token_in(mail)}, headers=headers)
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
