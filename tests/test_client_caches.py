"""The schema as client caches need it: every Node type answers `node(id:)` and
`nodes(ids:)`, by the same access rules as its other paths."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from models.accounts import User
from models.audit import AuditEntry
from models.base import Role
from models.sessions import Session
from resolvers.policy import current_policy
from services.tokens import new_token, token_hash
from tests.support.forum import coded_error, gid, new_forum, open_thread, start_conversation
from tests.support.harness import PASSWORD, Client
from tests.support.members import member
from tests.support.sqlcount import count_statements

NODE = "query($id: ID!) { node(id: $id) { __typename id } }"
NODES = "query($ids: [ID!]!) { nodes(ids: $ids) { __typename id } }"

REPORT = """
mutation($i: ReportMessageInput!) {
  reportMessage(input: $i) { report { id } userErrors { code } }
}
"""
CORRECTION = """
mutation($i: RequestCorrectionInput!) {
  requestCorrection(input: $i) { correctionRequest { id } userErrors { code } }
}
"""
LEAVE = """
mutation($i: ConversationInput!) {
  leaveConversation(input: $i) { userErrors { code } }
}
"""


async def cast(gql: Client) -> dict[str, User]:
    """Ada and Bob (members), Mod (a moderator), Root (an admin), all signed in."""
    return {
        "ada": await member(gql, "ada"),
        "bob": await member(gql, "bob"),
        "mod": await member(gql, "mod", role=Role.MODERATOR),
        "root": await member(gql, "root", role=Role.ADMIN),
    }


async def report(gql: Client, reporter: str, message_id: str) -> str:
    """`reporter` reports a message through the API; return the report's ID."""
    variables = {"i": {"messageId": message_id, "reason": "This is spam."}}
    response = await gql(REPORT, variables, as_member=reporter)
    assert response["data"]["reportMessage"]["userErrors"] == [], response
    return response["data"]["reportMessage"]["report"]["id"]


async def correction(gql: Client, asker: str) -> str:
    """`asker` asks for a username correction; return the request's ID."""
    variables = {"i": {"field": "username", "proposedValue": f"{asker}_x", "reason": "Typo."}}
    response = await gql(CORRECTION, variables, as_member=asker)
    assert response["data"]["requestCorrection"]["userErrors"] == [], response
    return response["data"]["requestCorrection"]["correctionRequest"]["id"]


async def audit_entry(actor: User, subject: User) -> str:
    """An entry of `actor` reading `subject`'s profile, as privilegedProfile writes it."""
    row = await AuditEntry.create(
        actor_id=actor.id,
        action="READ_PRIVATE_PROFILE",
        subject_id=subject.id,
        fields_read=["email"],
        reason="Spam check",
    )
    return gid("AuditEntry", row.id)


def node(type_name: str, global_id: str, visible: bool) -> dict[str, Any]:
    """The answer to NODE."""
    found = {"__typename": type_name, "id": global_id} if visible else None
    return {"data": {"node": found}}


VIEWERS = ["ada", "bob", "mod", "root", None]


@pytest.mark.parametrize(
    ("viewer", "visible"),
    [("ada", True), ("bob", False), ("mod", False), ("root", True), (None, False)],
)
async def test_node_answers_an_audit_entry_to_admins_and_its_subject(
    gql: Client, viewer: str | None, visible: bool
) -> None:
    people = await cast(gql)
    entry = await audit_entry(people["mod"], people["ada"])

    response = await gql(NODE, {"id": entry}, as_member=viewer)

    assert response == node("AuditEntry", entry, visible)


@pytest.mark.parametrize(
    ("viewer", "visible"),
    [("ada", True), ("bob", False), ("mod", True), ("root", True), (None, False)],
)
async def test_node_answers_a_correction_request_to_its_member_and_staff(
    gql: Client, viewer: str | None, visible: bool
) -> None:
    await cast(gql)
    request = await correction(gql, "ada")

    response = await gql(NODE, {"id": request}, as_member=viewer)

    assert response == node("CorrectionRequest", request, visible)


@pytest.mark.parametrize(
    ("viewer", "visible"),
    [("ada", True), ("bob", False), ("mod", True), ("root", True), (None, False)],
)
async def test_node_answers_a_report_to_staff_and_its_reporter(
    gql: Client, viewer: str | None, visible: bool
) -> None:
    await cast(gql)
    _, message = await open_thread(gql, "bob", await new_forum())
    made = await report(gql, "ada", message)

    response = await gql(NODE, {"id": made}, as_member=viewer)

    assert response == node("Report", made, visible)


async def test_node_hides_a_report_from_a_reporter_who_left_its_conversation(
    gql: Client,
) -> None:
    people = await cast(gql)
    conversation, message = await start_conversation(gql, "bob", [people["ada"]])
    made = await report(gql, "ada", message)
    left = await gql(LEAVE, {"i": {"conversationId": conversation}}, as_member="ada")
    assert left["data"]["leaveConversation"]["userErrors"] == []

    response = await gql(NODE, {"id": made}, as_member="ada")

    assert response == node("Report", made, visible=False)


async def test_node_still_answers_a_report_to_staff_after_the_reporter_left(
    gql: Client,
) -> None:
    people = await cast(gql)
    conversation, message = await start_conversation(gql, "bob", [people["ada"]])
    made = await report(gql, "ada", message)
    await gql(LEAVE, {"i": {"conversationId": conversation}}, as_member="ada")

    response = await gql(NODE, {"id": made}, as_member="mod")

    assert response == node("Report", made, visible=True)


async def test_nodes_answers_in_order_with_null_for_missing_and_hidden_objects(
    gql: Client,
) -> None:
    people = await cast(gql)
    thread, message = await open_thread(gql, "bob", await new_forum())
    conversation, private = await start_conversation(gql, "bob", [people["mod"]])
    hidden_entry = await audit_entry(people["mod"], people["bob"])
    own_entry = await audit_entry(people["mod"], people["ada"])
    asked = [
        message,
        gid("User", people["bob"].id),
        private,  # a conversation ada is not in
        gid("Message", 999_999),  # none
        thread,
        conversation,
        hidden_entry,
        own_entry,
        gid("Nothing", 1),  # no such type
    ]

    response = await gql(NODES, {"ids": asked}, as_member="ada")

    assert response == {
        "data": {
            "nodes": [
                {"__typename": "Message", "id": message},
                {"__typename": "User", "id": gid("User", people["bob"].id)},
                None,
                None,
                {"__typename": "Thread", "id": thread},
                None,
                None,
                {"__typename": "AuditEntry", "id": own_entry},
                None,
            ]
        }
    }


async def test_nodes_answers_an_empty_list_for_no_ids(gql: Client) -> None:
    response = await gql(NODES, {"ids": []})

    assert response == {"data": {"nodes": []}}


async def test_nodes_refuses_more_than_100_ids(gql: Client) -> None:
    response = await gql(NODES, {"ids": [gid("User", n) for n in range(1, 102)]})

    assert response == {
        "data": None,
        "errors": [
            {
                "message": "Ask for at most 100 IDs at a time.",
                "locations": [{"line": 1, "column": 23}],
                "path": ["nodes"],
                "extensions": {"code": "BAD_USER_INPUT"},
            }
        ],
    }


async def test_nodes_takes_exactly_100_ids(gql: Client) -> None:
    response = await gql(NODES, {"ids": [gid("User", n) for n in range(1, 101)]})

    assert response == {"data": {"nodes": [None] * 100}}


async def test_nodes_refuses_a_malformed_id_like_node(gql: Client) -> None:
    response = await gql(NODES, {"ids": [gid("User", 1), "not an id!"]})

    assert response == {
        "data": None,
        "errors": [
            {
                "message": "That is not a valid ID.",
                "locations": [{"line": 1, "column": 23}],
                "path": ["nodes"],
                "extensions": {"code": "BAD_USER_INPUT"},
            }
        ],
    }


async def _one_of_each_type(gql: Client, people: dict[str, User], n: int) -> list[str]:
    """IDs of a new object of every Node type that an admin (root) may see."""
    forum = await new_forum(slug=f"f{n}")
    thread, message = await open_thread(gql, "ada", forum)
    conversation, private = await start_conversation(gql, "ada", [people["root"]])
    return [
        gid("Forum", forum.id),
        thread,
        message,
        conversation,
        private,
        gid("User", people["bob"].id),
        await report(gql, "root", message),
        await audit_entry(people["mod"], people["ada"]),
        await correction(gql, "ada" if n % 2 else "root"),
    ]


async def _statements(gql: Client, asked: list[str]) -> int:
    with count_statements() as statements:
        response = await gql(NODES, {"ids": asked}, as_member="root")
    assert len(response["data"]["nodes"]) == len(asked)
    assert None not in response["data"]["nodes"], response
    return statements.count


async def test_nodes_reads_each_type_in_one_batch_however_many_ids(gql: Client) -> None:
    people = await cast(gql)
    sets = [await _one_of_each_type(gql, people, n) for n in range(4)]

    few = await _statements(gql, sets[0])
    many = await _statements(gql, [global_id for found in sets for global_id in found])

    assert many == few


# ------------------------------------------- removals name what they removed

SESSIONS = "{ viewer { sessions { id current } } }"
REVOKE = """
mutation($i: RevokeSessionInput!) {
  revokeSession(input: $i) { sessionId userErrors { code } }
}
"""
REVOKE_OTHERS = "mutation { revokeOtherSessions { sessionIds userErrors { code } } }"
LOGOUT = "mutation { logout { sessionId userErrors { code } } }"
CHANGE_PASSWORD = """
mutation($i: ChangePasswordInput!) {
  changePassword(input: $i) { sessionIds userErrors { code } }
}
"""
DELETE_ACCOUNT = """
mutation($i: DeleteAccountInput!) {
  deleteAccount(input: $i) { userId userErrors { code } }
}
"""
LEAVE_NAMING = """
mutation($i: ConversationInput!) {
  leaveConversation(input: $i) { conversationId userErrors { code } }
}
"""


async def other_session(user: User) -> str:
    """A second signed-in session of `user` (another browser); return its global ID."""
    now = datetime.now(UTC)
    row = await Session.create(
        user=user,
        token_hash=token_hash(new_token()),
        last_used_at=now,
        expires_at=now + timedelta(days=1),
    )
    return gid("Session", row.id)


async def current_session(gql: Client, username: str) -> str:
    """The global ID of the session `username` signs in with on `gql`."""
    response = await gql(SESSIONS, as_member=username)
    (current,) = [s["id"] for s in response["data"]["viewer"]["sessions"] if s["current"]]
    return current


async def test_leave_conversation_names_the_conversation_left(gql: Client) -> None:
    people = await cast(gql)
    conversation, _ = await start_conversation(gql, "bob", [people["ada"]])

    response = await gql(LEAVE_NAMING, {"i": {"conversationId": conversation}}, as_member="ada")

    assert response == {
        "data": {"leaveConversation": {"conversationId": conversation, "userErrors": []}}
    }


async def test_leave_conversation_names_nothing_when_refused(gql: Client) -> None:
    people = await cast(gql)
    conversation, _ = await start_conversation(gql, "bob", [people["ada"]])

    response = await gql(LEAVE_NAMING, {"i": {"conversationId": conversation}}, as_member="mod")

    assert response == {
        "data": {
            "leaveConversation": {
                "conversationId": None,
                "userErrors": [{"code": "CONVERSATION_NOT_FOUND"}],
            }
        }
    }


async def test_revoke_session_names_the_session_ended(gql: Client) -> None:
    ada = await member(gql, "ada")
    other = await other_session(ada)

    response = await gql(REVOKE, {"i": {"sessionId": other}}, as_member="ada")

    assert response == {"data": {"revokeSession": {"sessionId": other, "userErrors": []}}}


async def test_revoke_session_names_nothing_for_a_session_that_is_not_yours(
    gql: Client,
) -> None:
    await member(gql, "ada")
    other = await other_session(await member(gql, "bob"))

    response = await gql(REVOKE, {"i": {"sessionId": other}}, as_member="ada")

    assert response == {
        "data": {
            "revokeSession": {"sessionId": None, "userErrors": [{"code": "SESSION_NOT_FOUND"}]}
        }
    }


async def test_revoke_other_sessions_names_every_session_ended(gql: Client) -> None:
    ada = await member(gql, "ada")
    others = [await other_session(ada), await other_session(ada)]

    response = await gql(REVOKE_OTHERS, as_member="ada")

    assert response == {"data": {"revokeOtherSessions": {"sessionIds": others, "userErrors": []}}}


async def test_revoke_other_sessions_names_none_when_there_are_none(gql: Client) -> None:
    await member(gql, "ada")

    response = await gql(REVOKE_OTHERS, as_member="ada")

    assert response == {"data": {"revokeOtherSessions": {"sessionIds": [], "userErrors": []}}}


async def test_change_password_names_the_sessions_it_signed_out(gql: Client) -> None:
    ada = await member(gql, "ada")
    other = await other_session(ada)
    new = {"currentPassword": PASSWORD, "newPassword": "a fresh sturdy passphrase 42"}

    response = await gql(CHANGE_PASSWORD, {"i": new}, as_member="ada")

    assert response == {"data": {"changePassword": {"sessionIds": [other], "userErrors": []}}}


async def test_logout_names_the_session_it_ended(gql: Client) -> None:
    await member(gql, "ada")
    current = await current_session(gql, "ada")

    response = await gql(LOGOUT, as_member="ada")

    assert response == {"data": {"logout": {"sessionId": current, "userErrors": []}}}


async def test_logout_names_no_session_when_signed_out(gql: Client) -> None:
    response = await gql(LOGOUT)

    assert response == {"data": {"logout": {"sessionId": None, "userErrors": []}}}


async def test_delete_account_names_the_deleted_account(gql: Client) -> None:
    ada = await member(gql, "ada")

    response = await gql(DELETE_ACCOUNT, {"i": {"password": PASSWORD}}, as_member="ada")

    assert response == {
        "data": {"deleteAccount": {"userId": gid("User", ada.id), "userErrors": []}}
    }


async def test_delete_account_names_nothing_with_a_wrong_password(gql: Client) -> None:
    await member(gql, "ada")

    response = await gql(DELETE_ACCOUNT, {"i": {"password": "not it at all"}}, as_member="ada")

    assert response == {
        "data": {"deleteAccount": {"userId": None, "userErrors": [{"code": "WRONG_PASSWORD"}]}}
    }


# ------------------------------- changed objects reachable from an object with an id

UPDATE_PRIVACY = """
mutation {
  updatePrivacySettings(input: {email: MEMBERS}) {
    user { id privacySettings { email } } userErrors { code }
  }
}
"""
SET_CONSENT = """
mutation {
  setConsent(input: {kind: ANALYTICS, granted: false}) {
    user { id consents { kind granted } } userErrors { code }
  }
}
"""
ACCEPT_POLICY = """
mutation($v: String!) {
  acceptPrivacyPolicy(input: {version: $v}) { user { id policyAccepted } userErrors { code } }
}
"""
REQUEST_CORRECTION = """
mutation {
  requestCorrection(input: {field: "username", proposedValue: "ada_l", reason: "Typo."}) {
    user { id correctionRequests { proposedValue } } userErrors { code }
  }
}
"""
RESOLVE_CORRECTION = """
mutation($id: ID!) {
  resolveCorrection(input: {requestId: $id, apply: true}) {
    user { id username } userErrors { code }
  }
}
"""


async def test_update_privacy_settings_returns_the_member_whose_settings_changed(
    gql: Client,
) -> None:
    ada = await member(gql, "ada")

    response = await gql(UPDATE_PRIVACY, as_member="ada")

    user = {"id": gid("User", ada.id), "privacySettings": {"email": "MEMBERS"}}
    assert response == {"data": {"updatePrivacySettings": {"user": user, "userErrors": []}}}


async def test_set_consent_returns_the_member_whose_consents_changed(gql: Client) -> None:
    ada = await member(gql, "ada")

    response = await gql(SET_CONSENT, as_member="ada")

    user = {"id": gid("User", ada.id), "consents": [{"kind": "ANALYTICS", "granted": False}]}
    assert response == {"data": {"setConsent": {"user": user, "userErrors": []}}}


async def test_set_consent_returns_no_member_when_refused(gql: Client) -> None:
    await member(gql, "ada")
    refused = SET_CONSENT.replace("ANALYTICS", "PRIVACY_POLICY")

    response = await gql(refused, as_member="ada")

    assert response == {
        "data": {"setConsent": {"user": None, "userErrors": [{"code": "USE_ACCEPT_POLICY"}]}}
    }


async def test_accept_privacy_policy_returns_the_member_who_accepted(gql: Client) -> None:
    ada = await member(gql, "ada")
    policy = await current_policy()

    response = await gql(ACCEPT_POLICY, {"v": policy.version}, as_member="ada")

    user = {"id": gid("User", ada.id), "policyAccepted": True}
    assert response == {"data": {"acceptPrivacyPolicy": {"user": user, "userErrors": []}}}


async def test_request_correction_returns_the_member_with_the_request(gql: Client) -> None:
    ada = await member(gql, "ada")

    response = await gql(REQUEST_CORRECTION, as_member="ada")

    user = {"id": gid("User", ada.id), "correctionRequests": [{"proposedValue": "ada_l"}]}
    assert response == {"data": {"requestCorrection": {"user": user, "userErrors": []}}}


async def test_resolve_correction_returns_the_member_it_changed(gql: Client) -> None:
    people = await cast(gql)
    request = await correction(gql, "ada")

    response = await gql(RESOLVE_CORRECTION, {"id": request}, as_member="mod")

    user = {"id": gid("User", people["ada"].id), "username": "ada_x"}
    assert response == {"data": {"resolveCorrection": {"user": user, "userErrors": []}}}


# ------------------------------------- a refused root field nulls only itself

STAFF_AND_PUBLIC = "{ forums { slug } reports(first: 5) { edges { node { id } } } }"
MINE_AND_PUBLIC = "{ forums { slug } conversations(first: 5) { edges { node { id } } } }"
MUTATIONS = """
mutation($v: String!) {
  acceptPrivacyPolicy(input: {version: $v}) { user { username } userErrors { code } }
  requestPasswordReset(input: {email: "nobody@example.org"}) { userErrors { code } }
}
"""


async def test_a_forbidden_root_field_is_null_beside_a_public_one(gql: Client) -> None:
    await member(gql, "ada")
    await new_forum()

    response = await gql(STAFF_AND_PUBLIC, as_member="ada")

    assert response == {
        "data": {"forums": [{"slug": "general"}], "reports": None},
        "errors": [
            coded_error(STAFF_AND_PUBLIC, "reports", "You are not allowed to do this.", "FORBIDDEN")
        ],
    }


async def test_a_signed_out_root_field_is_null_beside_a_public_one(gql: Client) -> None:
    await new_forum()

    response = await gql(MINE_AND_PUBLIC)

    assert response == {
        "data": {"forums": [{"slug": "general"}], "conversations": None},
        "errors": [
            coded_error(MINE_AND_PUBLIC, "conversations", "Sign in to do this.", "UNAUTHENTICATED")
        ],
    }


async def test_a_signed_out_mutation_is_null_beside_a_public_one(gql: Client) -> None:
    policy = await current_policy()

    response = await gql(MUTATIONS, {"v": policy.version})

    assert response == {
        "data": {
            "acceptPrivacyPolicy": None,
            "requestPasswordReset": {"userErrors": []},
        },
        "errors": [
            coded_error(MUTATIONS, "acceptPrivacyPolicy", "Sign in to do this.", "UNAUTHENTICATED")
        ],
    }


async def test_nodes_is_priced_at_its_100_ids(gql: Client) -> None:
    # 100 IDs, each a member's followers page of 100 and, per follower, 2 more: the
    # price is 100 + 100 * (100 + 100 * 2) = 30,100 items, over the 20,000 limit.
    query = """query($ids: [ID!]!) { nodes(ids: $ids) { ... on User {
      followers(first: 100) { edges { node { following(first: 2) { edges { cursor } } } } }
    } } }"""

    response = await gql(query, {"ids": [gid("User", n) for n in range(1, 3)]})

    assert response == {
        "data": None,
        "errors": [
            {
                "message": "This query could return 30100 items; the limit is 20000. "
                "Ask for smaller pages (`first`/`last`).",
                "locations": [{"line": 1, "column": 1}],
                "extensions": {"code": "BAD_USER_INPUT"},
            }
        ],
    }
