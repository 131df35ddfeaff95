"""Correction requests: a member asks, a moderator applies (validated as registration
would) or rejects with an answer the member sees; every decision is audited."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from models.accounts import User
from models.base import Role
from models.rights import CorrectionRequest, CorrectionStatus
from resolvers.accounts import create_member
from schema import ids
from services.addresses import AddressVault
from services.settings import Settings
from tests.support.harness import PASSWORD, TEST_IP, Client
from tests.support.members import member

REQUEST = """
mutation($i: RequestCorrectionInput!) {
  requestCorrection(input: $i) {
    correctionRequest { field proposedValue reason status response resolvedAt }
    userErrors { field message code }
  }
}
"""
MINE = """
query {
  viewer { correctionRequests { field proposedValue status response } }
}
"""
OPEN = """
query {
  correctionRequests(status: OPEN) { edges { node { id field proposedValue reason status } } }
}
"""
RESOLVE = """
mutation($i: ResolveCorrectionInput!) {
  resolveCorrection(input: $i) {
    correctionRequest { field status response } userErrors { field message code }
  }
}
"""
AUDIT = """
query {
  auditLog { edges { node { actor { username } action subject { username } fields reason } } }
}
"""
WHO = '{ viewer { username dateOfBirth } user(username: "ada_l") { username } }'

RENAME = {"field": "username", "proposedValue": "ada_lovelace", "reason": "I married."}
TEN_YEARS_AGO = (datetime.now(UTC).date() - timedelta(days=3653)).isoformat()


def error(path: str, message: str, code: str) -> dict:
    """The answer to an operation refused with a GraphQL error (its field on line 3)."""
    located = {"message": message, "locations": [{"line": 3, "column": 3}], "path": [path]}
    return {"data": {path: None}, "errors": [{**located, "extensions": {"code": code}}]}


@pytest.fixture
async def ada(gql: Client) -> User:
    return await member(gql, "ada_l", by_login=True)


@pytest.fixture
async def moderator(gql: Client) -> User:
    return await member(gql, "mod_m", Role.MODERATOR, by_login=True)


async def request(gql: Client, **fields: str) -> dict:
    return await gql(REQUEST, {"i": {**RENAME, **fields}}, as_member="ada_l")


async def resolve(gql: Client, apply: bool, response: str | None = None) -> dict:
    (row,) = await CorrectionRequest.all()
    data = {"requestId": ids.encode("CorrectionRequest", row.id), "apply": apply}
    return await gql(RESOLVE, {"i": {**data, "response": response}}, as_member="mod_m")


def resolved(field: str, status: str, response: str | None) -> dict:
    return {
        "data": {
            "resolveCorrection": {
                "correctionRequest": {"field": field, "status": status, "response": response},
                "userErrors": [],
            }
        }
    }


# ------------------------------------------------------------------ asking


async def test_a_member_files_a_correction_request(gql: Client, ada: User) -> None:
    response = await request(gql)

    assert response == {
        "data": {
            "requestCorrection": {
                "correctionRequest": {
                    "field": "username",
                    "proposedValue": "ada_lovelace",
                    "reason": "I married.",
                    "status": "OPEN",
                    "response": None,
                    "resolvedAt": None,
                },
                "userErrors": [],
            }
        }
    }


async def test_a_request_records_the_client_address_encrypted(
    gql: Client, ada: User, settings: Settings
) -> None:
    await request(gql)

    (row,) = await CorrectionRequest.all()
    assert TEST_IP not in row.ip_cipher
    assert AddressVault(settings.address_key).open(row.ip_cipher) == TEST_IP


@pytest.mark.parametrize(
    ("fields", "field", "message", "code"),
    [
        ({"field": " "}, "field", "Name the field in 1 to 40 characters.", "FIELD_INVALID"),
        ({"field": "x" * 41}, "field", "Name the field in 1 to 40 characters.", "FIELD_INVALID"),
        (
            {"proposedValue": ""},
            "proposedValue",
            "Give the correct value in 1 to 500 characters.",
            "VALUE_LENGTH",
        ),
        (
            {"field": "bio", "proposedValue": "x" * 501},
            "proposedValue",
            "Give the correct value in 1 to 500 characters.",
            "VALUE_LENGTH",
        ),
        ({"reason": "no"}, "reason", "Explain in 3 to 1000 characters.", "REASON_LENGTH"),
        ({"reason": "x" * 1001}, "reason", "Explain in 3 to 1000 characters.", "REASON_LENGTH"),
        (
            {"proposedValue": "admin"},
            "proposedValue",
            "That username is reserved.",
            "USERNAME_RESERVED",
        ),
        ({"proposedValue": "bob_k"}, "proposedValue", "That username is taken.", "USERNAME_TAKEN"),
        (
            {"proposedValue": "a b"},
            "proposedValue",
            "Usernames use only letters A-Z, digits and _ - . (no spaces).",
            "USERNAME_INVALID",
        ),
        (
            {"field": "dateOfBirth", "proposedValue": "17 May 1990"},
            "proposedValue",
            "Write the date as YYYY-MM-DD.",
            "DATE_INVALID",
        ),
        (
            {"field": "dateOfBirth", "proposedValue": "2999-01-01"},
            "proposedValue",
            "Enter your real date of birth.",
            "DATE_OF_BIRTH_INVALID",
        ),
        (
            {"field": "dateOfBirth", "proposedValue": TEN_YEARS_AGO},
            "proposedValue",
            "Members must be at least 13 years old.",
            "TOO_YOUNG",
        ),
    ],
)
async def test_a_request_is_checked_before_it_is_filed(
    gql: Client, ada: User, fields: dict, field: str, message: str, code: str
) -> None:
    await create_member("bob_k", "bob_k@example.org", PASSWORD, Role.MEMBER)

    response = await request(gql, **fields)

    assert response == {
        "data": {
            "requestCorrection": {
                "correctionRequest": None,
                "userErrors": [{"field": [field], "message": message, "code": code}],
            }
        }
    }
    assert await CorrectionRequest.all().count() == 0


async def test_asking_needs_a_signed_in_member(gql: Client) -> None:
    response = await gql(REQUEST, {"i": RENAME})

    assert response == error("requestCorrection", "Sign in to do this.", "UNAUTHENTICATED")


async def test_the_member_sees_their_requests(gql: Client, ada: User) -> None:
    await request(gql, field="location", proposedValue="London")
    await request(gql)

    response = await gql(MINE, as_member="ada_l")

    assert response == {
        "data": {
            "viewer": {
                "correctionRequests": [
                    {
                        "field": "username",
                        "proposedValue": "ada_lovelace",
                        "status": "OPEN",
                        "response": None,
                    },
                    {
                        "field": "location",
                        "proposedValue": "London",
                        "status": "OPEN",
                        "response": None,
                    },
                ]
            }
        }
    }


# ------------------------------------------------------------------ deciding


async def test_moderators_list_the_open_requests(gql: Client, ada: User, moderator: User) -> None:
    await request(gql)

    response = await gql(OPEN, as_member="mod_m")

    (row,) = await CorrectionRequest.all()
    assert response == {
        "data": {
            "correctionRequests": {
                "edges": [
                    {
                        "node": {
                            "id": ids.encode("CorrectionRequest", row.id),
                            "field": "username",
                            "proposedValue": "ada_lovelace",
                            "reason": "I married.",
                            "status": "OPEN",
                        }
                    }
                ]
            }
        }
    }


async def test_a_resolved_request_leaves_the_open_list(
    gql: Client, ada: User, moderator: User
) -> None:
    await request(gql)
    await resolve(gql, apply=False)

    assert await gql(OPEN, as_member="mod_m") == {"data": {"correctionRequests": {"edges": []}}}


async def test_applying_a_username_correction_renames_the_member(
    gql: Client, ada: User, moderator: User
) -> None:
    await request(gql)

    response = await resolve(gql, apply=True, response="Done.")

    assert response == resolved("username", "APPLIED", "Done.")
    assert await gql(WHO, as_member="ada_l") == {
        "data": {"viewer": {"username": "ada_lovelace", "dateOfBirth": "1990-05-17"}, "user": None}
    }


async def test_applying_a_date_of_birth_correction_changes_it(
    gql: Client, ada: User, moderator: User
) -> None:
    await request(gql, field="dateOfBirth", proposedValue="1991-12-10")

    response = await resolve(gql, apply=True)

    assert response == resolved("dateOfBirth", "APPLIED", None)
    assert await gql(WHO, as_member="ada_l") == {
        "data": {
            "viewer": {"username": "ada_l", "dateOfBirth": "1991-12-10"},
            "user": {"username": "ada_l"},
        }
    }


async def test_a_name_taken_since_the_request_is_refused_and_the_request_stays_open(
    gql: Client, ada: User, moderator: User
) -> None:
    await request(gql)
    await create_member("Ada_Lovelace", "other@example.org", PASSWORD, Role.MEMBER)

    response = await resolve(gql, apply=True)

    assert response == {
        "data": {
            "resolveCorrection": {
                "correctionRequest": None,
                "userErrors": [
                    {
                        "field": ["proposedValue"],
                        "message": "That username is taken.",
                        "code": "USERNAME_TAKEN",
                    }
                ],
            }
        }
    }
    assert (await CorrectionRequest.get()).status is CorrectionStatus.OPEN
    assert await gql(WHO, as_member="ada_l") == {
        "data": {
            "viewer": {"username": "ada_l", "dateOfBirth": "1990-05-17"},
            "user": {"username": "ada_l"},
        }
    }


async def test_a_reserved_name_is_never_applied_and_the_request_stays_open(
    gql: Client, ada: User, moderator: User
) -> None:
    # Filed before the name was reserved, say: the decision checks it again.
    await CorrectionRequest.create(
        user=ada, field="username", proposed_value="moderator", reason="I like it."
    )

    response = await resolve(gql, apply=True)

    assert response == {
        "data": {
            "resolveCorrection": {
                "correctionRequest": None,
                "userErrors": [
                    {
                        "field": ["proposedValue"],
                        "message": "That username is reserved.",
                        "code": "USERNAME_RESERVED",
                    }
                ],
            }
        }
    }
    assert (await CorrectionRequest.get()).status is CorrectionStatus.OPEN
    assert await User.exists(id=ada.id, username="ada_l")


async def test_a_rejection_and_its_answer_reach_the_member(
    gql: Client, ada: User, moderator: User
) -> None:
    await request(gql)

    response = await resolve(gql, apply=False, response="Please send proof first.")

    assert response == resolved("username", "REJECTED", "Please send proof first.")
    assert await gql(MINE, as_member="ada_l") == {
        "data": {
            "viewer": {
                "correctionRequests": [
                    {
                        "field": "username",
                        "proposedValue": "ada_lovelace",
                        "status": "REJECTED",
                        "response": "Please send proof first.",
                    }
                ]
            }
        }
    }
    assert await User.exists(id=ada.id, username="ada_l")


@pytest.mark.parametrize("apply", [True, False])
async def test_a_request_is_decided_once(
    gql: Client, ada: User, moderator: User, apply: bool
) -> None:
    await request(gql)
    await resolve(gql, apply=False, response="No.")

    response = await resolve(gql, apply=apply)

    assert response == {
        "data": {
            "resolveCorrection": {
                "correctionRequest": None,
                "userErrors": [
                    {
                        "field": ["requestId"],
                        "message": "There is no such open request.",
                        "code": "REQUEST_NOT_OPEN",
                    }
                ],
            }
        }
    }
    assert (await CorrectionRequest.get()).response == "No."


@pytest.mark.parametrize(
    ("viewer", "message", "code"),
    [
        (None, "Sign in to do this.", "UNAUTHENTICATED"),
        ("ada_l", "You are not allowed to do this.", "FORBIDDEN"),
    ],
)
async def test_members_cannot_list_requests(
    gql: Client, ada: User, viewer: str | None, message: str, code: str
) -> None:
    await request(gql)

    response = await gql(OPEN, as_member=viewer)

    assert response == error("correctionRequests", message, code)


@pytest.mark.parametrize(
    ("viewer", "message", "code"),
    [
        (None, "Sign in to do this.", "UNAUTHENTICATED"),
        ("ada_l", "You are not allowed to do this.", "FORBIDDEN"),
    ],
)
async def test_members_cannot_decide_requests(
    gql: Client, ada: User, viewer: str | None, message: str, code: str
) -> None:
    await request(gql)
    (row,) = await CorrectionRequest.all()
    data = {"requestId": ids.encode("CorrectionRequest", row.id), "apply": True}

    response = await gql(RESOLVE, {"i": data}, as_member=viewer)

    assert response == error("resolveCorrection", message, code)
    assert await User.exists(id=ada.id, username="ada_l")
    assert (await CorrectionRequest.get()).status is CorrectionStatus.OPEN


@pytest.mark.parametrize(
    ("apply", "action", "reason"),
    [(True, "APPLY_CORRECTION", "Done."), (False, "REJECT_CORRECTION", "Send proof.")],
)
async def test_every_decision_is_audited(
    gql: Client, ada: User, moderator: User, apply: bool, action: str, reason: str
) -> None:
    await member(gql, "admin_a", Role.ADMIN, by_login=True)
    await request(gql, field="dateOfBirth", proposedValue="1991-12-10")

    await resolve(gql, apply=apply, response=reason)

    assert await gql(AUDIT, as_member="admin_a") == {
        "data": {
            "auditLog": {
                "edges": [
                    {
                        "node": {
                            "actor": {"username": "mod_m"},
                            "action": action,
                            "subject": {"username": "ada_l"},
                            "fields": ["dateOfBirth"],
                            "reason": reason,
                        }
                    }
                ]
            }
        }
    }
