"""Issue 14, extending SECURITY.md D9 (session revoked mid-stream) to every operation on a
socket: queries and mutations sent as `subscribe` run as the session's current state, and
a socket whose session ends is closed with 4401 "Session ended" at once (the change is
pushed on the member's broker topic) or, failing that, at its next operation. Tried over
real sockets against a real uvicorn, for every way a session or a member's powers end."""

from __future__ import annotations

import contextlib
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from websockets.exceptions import ConnectionClosed

from models.accounts import User
from models.base import Role
from models.sessions import Session
from tests.support.documents import LOGOUT_CODE
from tests.support.forum import coded_error, gid, pk
from tests.support.harness import PASSWORD
from tests.support.mail import Mailbox, token_in
from tests.support.members import member, suspend
from tests.support.websockets import (
    REVOKE_OTHERS,
    THREAD_ADDED,
    Site,
    Socket,
    next_message,
    opened,
)

pytestmark = pytest.mark.e2e


ENDED = ([], 4401, "Session ended")  # no message at all, then the close frame
NEW_PASSWORD = "a brand new passphrase 77"
VIEWER_EMAIL = "query { viewer { email } }"
SESSIONS = "{ viewer { sessions { id current } } }"
REVOKE_SESSION = """mutation($i: RevokeSessionInput!) {
  revokeSession(input: $i) { userErrors { code } }
}"""
CHANGE_PASSWORD = """mutation($i: ChangePasswordInput!) {
  changePassword(input: $i) { userErrors { code } }
}"""
REQUEST_RESET = """mutation($i: RequestPasswordResetInput!) {
  requestPasswordReset(input: $i) { userErrors { code } }
}"""
RESET = """mutation($i: ResetPasswordInput!) {
  resetPassword(input: $i) { userErrors { code } }
}"""
DELETE = """mutation($i: DeleteAccountInput!) {
  deleteAccount(input: $i) { userErrors { code } }
}"""
POST = """mutation($i: PostMessageInput!) {
  postMessage(input: $i) { message { body } userErrors { code } }
}"""
SUSPEND = """mutation($i: SuspendMemberInput!) {
  suspendMember(input: $i) { userErrors { code } }
}"""
UNSUSPEND = """mutation($i: UnsuspendMemberInput!) {
  unsuspendMember(input: $i) { userErrors { code } }
}"""
SET_ROLE = """mutation($i: SetRoleInput!) {
  setRole(input: $i) { userErrors { code } }
}"""
PRIVILEGED = """query($id: ID!) {
  privilegedProfile(userId: $id, reason: "Report 12") { email }
}"""


async def on_socket(site: Site, sockets: list[Socket], username: str) -> tuple[str, Socket]:
    """A password sign-in over HTTP and an acknowledged socket carrying its cookie."""
    token = await site.live.http.sign_in(username)
    return token, await opened(site.live, sockets, token)


async def listening(site: Site, socket: Socket, thread: str) -> None:
    """An open subscription stream on the socket (to see that it ends with the session)."""
    await socket.subscribe("1", THREAD_ADDED, {"id": thread})
    await site.subscribers(f"thread:{pk(thread)}", 1)


async def ok(site: Site, query: str, variables: dict[str, Any], cookie: str | None) -> None:
    """Run a mutation over HTTP and check it changed what it should (no userErrors)."""
    answer = await site.live.http(query, variables, cookie=cookie)
    (payload,) = answer["data"].values()
    assert payload == {"userErrors": []}, answer


async def session_id(site: Site, token: str) -> str:
    """The global ID of the session a token belongs to."""
    answer = await site.live.http(SESSIONS, cookie=token)
    (current,) = [s for s in answer["data"]["viewer"]["sessions"] if s["current"]]
    return current["id"]


async def end_session(site: Site, how: str, token: str, mailbox: Mailbox) -> None:
    """End ada's session `token` over HTTP, the way `how` names."""
    if how == "logout":
        await ok(site, LOGOUT_CODE, {}, token)
        return
    if how == "deleteAccount":
        await ok(site, DELETE, {"i": {"password": PASSWORD}}, token)
        return
    if how == "resetPassword":
        await ok(site, REQUEST_RESET, {"i": {"email": "ada@example.org"}}, None)
        (mail,) = await mailbox.wait_for("ada@example.org")
        await ok(site, RESET, {"i": {"token": token_in(mail), "newPassword": NEW_PASSWORD}}, None)
        return
    other = await site.live.http.sign_in("ada")  # a second browser
    if how == "revokeSession":
        await ok(site, REVOKE_SESSION, {"i": {"sessionId": await session_id(site, token)}}, other)
    elif how == "revokeOtherSessions":
        await ok(site, REVOKE_OTHERS, {}, other)
    else:
        change = {"currentPassword": PASSWORD, "newPassword": NEW_PASSWORD}
        await ok(site, CHANGE_PASSWORD, {"i": change}, other)


# ------------------------------------------------------------------ sessions that end


@pytest.mark.parametrize(
    "how",
    [
        "logout",
        "revokeSession",
        "revokeOtherSessions",
        "changePassword",
        "resetPassword",
        "deleteAccount",
    ],
)
async def test_D9_a_session_ended_over_http_closes_its_socket_4401_at_once(
    site: Site, thread: str, sockets: list[Socket], mailbox: Mailbox, how: str
) -> None:
    token, socket = await on_socket(site, sockets, "ada")
    await listening(site, socket, thread)

    await end_session(site, how, token, mailbox)

    # Nothing sent on the socket since: the change was pushed to it, and its stream ended.
    assert await socket.ending() == ENDED


@pytest.mark.parametrize("how", ["logout", "revokeOtherSessions", "deleteAccount"])
async def test_D9_an_operation_sent_as_the_session_ends_never_runs_as_the_old_member(
    site: Site, cast: dict[str, User], sockets: list[Socket], mailbox: Mailbox, how: str
) -> None:
    token, socket = await on_socket(site, sockets, "ada")

    await end_session(site, how, token, mailbox)
    with contextlib.suppress(ConnectionClosed):  # the push may have closed it already
        await socket.subscribe("2", VIEWER_EMAIL, {})

    assert await socket.ending() == ENDED  # never ada@example.org


@pytest.mark.parametrize("ended", ["revoked", "expired"])
async def test_D9_a_session_ended_outside_the_api_closes_its_socket_at_the_next_operation(
    site: Site, cast: dict[str, User], sockets: list[Socket], ended: str
) -> None:
    _, socket = await on_socket(site, sockets, "ada")
    past = datetime.now(UTC) - timedelta(minutes=1)
    change = {"revoked_at": past} if ended == "revoked" else {"expires_at": past}
    # As an operator's SQL or the clock would: nothing is pushed to the socket.
    await Session.filter(user_id=cast["ada"].id).update(**change)

    await socket.subscribe("2", VIEWER_EMAIL, {})

    assert await socket.ending() == ENDED


async def test_D9_a_live_session_keeps_its_socket_and_sees_its_own_data(
    site: Site, cast: dict[str, User], sockets: list[Socket]
) -> None:
    _, socket = await on_socket(site, sockets, "ada")

    await socket.subscribe("2", VIEWER_EMAIL, {})

    assert [await socket.receive(), await socket.receive()] == [
        next_message("2", "viewer", {"email": "ada@example.org"}),
        {"id": "2", "type": "complete"},
    ]


# ------------------------------------------------------------------ powers that change


async def test_D9_a_member_suspended_over_http_is_refused_posting_over_her_socket(
    site: Site, cast: dict[str, User], thread: str, sockets: list[Socket]
) -> None:
    await member(None, "mod", role=Role.MODERATOR)
    moderator = await site.live.http.sign_in("mod")
    _, socket = await on_socket(site, sockets, "ada")
    until = "2099-01-02T03:04:00+00:00"
    suspension = {"userId": gid("User", cast["ada"].id), "until": until, "reason": "Spam"}
    await ok(site, SUSPEND, {"i": suspension}, moderator)

    await socket.subscribe("2", POST, {"i": {"threadId": thread, "body": "Still here"}})

    payload = {"message": None, "userErrors": [{"code": "SUSPENDED"}]}
    assert [await socket.receive(), await socket.receive()] == [
        next_message("2", "postMessage", payload),
        {"id": "2", "type": "complete"},
    ]


async def test_D9_a_suspension_lifted_over_http_lets_her_socket_post_again(
    site: Site, cast: dict[str, User], thread: str, sockets: list[Socket]
) -> None:
    await member(None, "mod", role=Role.MODERATOR)
    moderator = await site.live.http.sign_in("mod")
    await suspend(cast["ada"], "Spam")
    _, socket = await on_socket(site, sockets, "ada")  # read as suspended when it connected
    await ok(site, UNSUSPEND, {"i": {"userId": gid("User", cast["ada"].id)}}, moderator)

    await socket.subscribe("2", POST, {"i": {"threadId": thread, "body": "Back again"}})

    payload = {"message": {"body": "Back again"}, "userErrors": []}
    assert [await socket.receive(), await socket.receive()] == [
        next_message("2", "postMessage", payload),
        {"id": "2", "type": "complete"},
    ]


async def test_D9_a_demoted_moderator_reads_no_privileged_profile_over_her_socket(
    site: Site, cast: dict[str, User], sockets: list[Socket]
) -> None:
    from resolvers.sessions import member_changed  # what a role change calls once it commits

    moderator = await member(None, "mod", role=Role.MODERATOR)
    _, socket = await on_socket(site, sockets, "mod")
    ada = {"id": gid("User", cast["ada"].id)}
    await socket.subscribe("2", PRIVILEGED, ada)
    before = [await socket.receive(), await socket.receive()]

    await User.filter(id=moderator.id).update(role=Role.MEMBER)
    await member_changed(site.broker, moderator.id)
    await socket.subscribe("3", PRIVILEGED, ada)

    assert before == [
        next_message("2", "privilegedProfile", {"email": "ada@example.org"}),
        {"id": "2", "type": "complete"},
    ]
    forbidden = coded_error(
        PRIVILEGED, "privilegedProfile", "You are not allowed to do this.", "FORBIDDEN"
    )
    assert [await socket.receive(), await socket.receive()] == [
        {
            "id": "3",
            "type": "next",
            "payload": {"data": {"privilegedProfile": None}, "errors": [forbidden]},
        },
        {"id": "3", "type": "complete"},
    ]


async def test_D9_a_moderator_demoted_by_set_role_reads_no_privileged_profile_over_her_socket(
    site: Site, cast: dict[str, User], sockets: list[Socket]
) -> None:
    moderator = await member(None, "mod", role=Role.MODERATOR)
    await member(None, "root", role=Role.ADMIN)
    admin = await site.live.http.sign_in("root")
    _, socket = await on_socket(site, sockets, "mod")
    ada = {"id": gid("User", cast["ada"].id)}
    demote = {"userId": gid("User", moderator.id), "role": "MEMBER", "reason": "Stepped down"}

    await ok(site, SET_ROLE, {"i": demote}, admin)
    await socket.subscribe("2", PRIVILEGED, ada)

    forbidden = coded_error(
        PRIVILEGED, "privilegedProfile", "You are not allowed to do this.", "FORBIDDEN"
    )
    assert [await socket.receive(), await socket.receive()] == [
        {
            "id": "2",
            "type": "next",
            "payload": {"data": {"privilegedProfile": None}, "errors": [forbidden]},
        },
        {"id": "2", "type": "complete"},
    ]


async def test_D9_a_change_to_another_member_leaves_the_socket_open(
    site: Site, cast: dict[str, User], sockets: list[Socket], mailbox: Mailbox
) -> None:
    _, socket = await on_socket(site, sockets, "ada")
    bob = await site.live.http.sign_in("bob")

    await end_session(site, "logout", bob, mailbox)
    await socket.subscribe("2", VIEWER_EMAIL, {})

    assert await socket.receive() == next_message("2", "viewer", {"email": "ada@example.org"})


# ------------------------------------------------------------------ sessions on the socket itself

LOGIN_AS = """mutation($i: LoginInput!) {
  login(input: $i) { user { username } userErrors { code } }
}"""
SIGN_IN_OVER_HTTP = "Sign in over HTTP: a WebSocket cannot set the session cookie."


@pytest.mark.parametrize("signed_in_as", ["ada", None])
async def test_D9_login_over_a_socket_is_forbidden_and_starts_no_session(
    site: Site, cast: dict[str, User], sockets: list[Socket], signed_in_as: str | None
) -> None:
    token = await site.live.http.sign_in(signed_in_as) if signed_in_as else None
    socket = await opened(site.live, sockets, token)
    before = await Session.filter(user_id=cast["bob"].id).count()

    await socket.subscribe("2", LOGIN_AS, {"i": {"login": "bob", "password": PASSWORD}})
    answer = await socket.receive()
    await socket.subscribe("3", VIEWER_EMAIL, {})

    error = coded_error(LOGIN_AS, "login", SIGN_IN_OVER_HTTP, "FORBIDDEN")
    assert answer == {"id": "2", "type": "next", "payload": {"data": None, "errors": [error]}}
    assert await socket.receive() == {"id": "2", "type": "complete"}
    email = {"email": "ada@example.org"} if signed_in_as else None
    assert await socket.receive() == next_message("3", "viewer", email)
    assert await Session.filter(user_id=cast["bob"].id).count() == before


@pytest.mark.parametrize("how", ["logout", "deleteAccount"])
async def test_D9_a_session_ended_by_an_operation_on_its_own_socket_closes_it_4401(
    site: Site, cast: dict[str, User], sockets: list[Socket], how: str
) -> None:
    _, socket = await on_socket(site, sockets, "ada")
    ending = LOGOUT_CODE if how == "logout" else DELETE
    variables = {} if how == "logout" else {"i": {"password": PASSWORD}}

    await socket.subscribe("2", ending, variables)
    messages, code, reason = await socket.ending()

    # The ending operation's own answer may or may not get out before the pushed change
    # closes the socket; the socket never goes on as a signed-out one.
    answer = [next_message("2", how, {"userErrors": []}), {"id": "2", "type": "complete"}]
    assert messages in (answer, answer[:1], [])
    assert (code, reason) == (4401, "Session ended")
