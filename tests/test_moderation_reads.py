"""privilegedProfile and auditLog: staff read past the audiences, and every read is logged."""

from __future__ import annotations

import base64
from typing import Any

from models.accounts import User
from models.audit import AuditEntry
from models.base import Role
from services.addresses import AddressVault
from services.settings import Settings
from tests.support.harness import TEST_IP, Client
from tests.support.members import member, set_audiences
from tests.support.privacy import FIELDS, cast, error, global_id

PRIVILEGED = """query($id: ID!, $reason: String!) {
  privilegedProfile(userId: $id, reason: $reason) {
    user { username email }
    email dateOfBirth location website bio lastSeenAt
    privacySettings { email dateOfBirth location website bio lastSeen }
  }
}"""
EVERYTHING_PRIVATE = {
    "user": {"username": "ada", "email": None},  # the ordinary User: still ONLY_ME
    "email": "ada.canary-e7@example.test",
    "dateOfBirth": "1961-02-03",
    "location": "Location-canary-9b",
    "website": "https://website-canary-2c.example/",
    "bio": "bio canary 4f1",
    "lastSeenAt": "2024-03-09T13:37:42.123456+00:00",
    "privacySettings": {
        "email": "ONLY_ME",
        "dateOfBirth": "ONLY_ME",
        "location": "ONLY_ME",
        "website": "ONLY_ME",
        "bio": "ONLY_ME",
        "lastSeen": "ONLY_ME",
    },
}
READ_FIELDS = [
    "bio",
    "dateOfBirth",
    "email",
    "lastSeenAt",
    "location",
    "privacySettings",
    "website",
]
AUDIT = """query($after: String) { auditLog(first: 2, after: $after) {
  edges { cursor node { actor { username } action subject { username } fields reason } }
  pageInfo { hasNextPage endCursor }
} }"""


async def hidden_ada(gql: Client) -> str:
    """ada with every field ONLY_ME, a moderator `mod`, an admin `boss`; ada's ID."""
    ada = await cast(gql)
    await set_audiences(ada, **{field.setting: "ONLY_ME" for field in FIELDS.values()})
    await member(gql, "boss", role=Role.ADMIN)
    return global_id(ada)


def entry(actor: str, fields: list[str], reason: str) -> dict[str, Any]:
    """An auditLog node of a privileged read of ada."""
    return {
        "actor": {"username": actor},
        "action": "READ_PRIVATE_PROFILE",
        "subject": {"username": "ada"},
        "fields": fields,
        "reason": reason,
    }


async def test_a_moderator_reads_private_fields_whatever_the_audience(gql: Client) -> None:
    ada_id = await hidden_ada(gql)

    response = await gql(PRIVILEGED, {"id": ada_id, "reason": "Report #12"}, as_member="mod")

    assert response == {"data": {"privilegedProfile": EVERYTHING_PRIVATE}}


async def test_each_privileged_read_is_audited_for_admins(gql: Client) -> None:
    ada_id = await hidden_ada(gql)
    await gql(PRIVILEGED, {"id": ada_id, "reason": "  Report #12 "}, as_member="mod")
    email_only = "query($id: ID!) { privilegedProfile(userId: $id, reason: $r) { email } }"
    await gql(email_only.replace("$r", '"spam wave"'), {"id": ada_id}, as_member="boss")

    response = await gql(AUDIT, as_member="boss")

    (newest, oldest) = response["data"]["auditLog"]["edges"]
    assert [newest["node"], oldest["node"]] == [
        entry("boss", ["email"], "spam wave"),
        entry("mod", READ_FIELDS, "Report #12"),
    ]


async def test_the_audit_names_fields_read_through_fragments_and_aliases(gql: Client) -> None:
    ada_id = await hidden_ada(gql)
    query = """query($id: ID!) {
      privilegedProfile(userId: $id, reason: "fragments") {
        ... on PrivilegedProfile { email }
        ...Where
        born: dateOfBirth
        __typename
      }
    }
    fragment Where on PrivilegedProfile { location }"""

    response = await gql(query, {"id": ada_id}, as_member="mod")

    assert response == {
        "data": {
            "privilegedProfile": {
                "email": "ada.canary-e7@example.test",
                "location": "Location-canary-9b",
                "born": "1961-02-03",
                "__typename": "PrivilegedProfile",
            }
        }
    }
    (row,) = await AuditEntry.all()
    assert row.fields_read == ["dateOfBirth", "email", "location"]


async def test_members_and_anonymous_get_no_data_whether_or_not_the_member_exists(
    gql: Client,
) -> None:
    ada_id = await hidden_ada(gql)
    targets = [ada_id, "VXNlcjo5OTk5OTk", "!!!"]  # ada, User:999999, not an ID at all
    refusals = {
        None: error("Sign in to do this.", ["privilegedProfile"], "UNAUTHENTICATED", 2, 3),
        "stranger": error(
            "You are not allowed to do this.", ["privilegedProfile"], "FORBIDDEN", 2, 3
        ),
    }

    seen = {
        (login, target): await gql(PRIVILEGED, {"id": target, "reason": "curious"}, as_member=login)
        for login in refusals
        for target in targets
    }

    assert seen == {
        (login, target): {"data": {"privilegedProfile": None}, "errors": [refusal]}
        for login, refusal in refusals.items()
        for target in targets
    }
    assert await AuditEntry.all().count() == 0


async def test_an_unknown_member_reads_as_null_and_is_not_audited(gql: Client) -> None:
    await hidden_ada(gql)

    response = await gql(
        PRIVILEGED, {"id": "VXNlcjo5OTk5OTk", "reason": "Report #12"}, as_member="mod"
    )

    assert response == {"data": {"privilegedProfile": None}}
    assert await AuditEntry.all().count() == 0


async def test_a_reason_of_3_to_500_characters_is_required(gql: Client) -> None:
    ada_id = await hidden_ada(gql)
    query = "query($id: ID!, $r: String!) { privilegedProfile(userId: $id, reason: $r) { bio } }"
    reasons = ["", "ab", "   ab   ", "x" * 501, "abc", "x" * 500]

    seen = {r: await gql(query, {"id": ada_id, "r": r}, as_member="mod") for r in reasons}

    refused = {
        "data": {"privilegedProfile": None},
        "errors": [
            error(
                "Give a reason of 3 to 500 characters.",
                ["privilegedProfile"],
                "BAD_USER_INPUT",
                1,
                32,
            )
        ],
    }
    read = {"data": {"privilegedProfile": {"bio": "bio canary 4f1"}}}
    assert seen == {"": refused, "ab": refused, "   ab   ": refused, "x" * 501: refused} | {
        "abc": read,
        "x" * 500: read,
    }
    assert [row.reason for row in await AuditEntry.all().order_by("id")] == ["abc", "x" * 500]


async def test_the_audit_log_is_for_admins_only(gql: Client) -> None:
    await hidden_ada(gql)

    seen = {login: await gql(AUDIT, as_member=login) for login in (None, "stranger", "mod")}

    forbidden = error("You are not allowed to do this.", ["auditLog"], "FORBIDDEN", 1, 25)
    assert seen == {
        None: {
            "data": {"auditLog": None},
            "errors": [error("Sign in to do this.", ["auditLog"], "UNAUTHENTICATED", 1, 25)],
        },
        "stranger": {"data": {"auditLog": None}, "errors": [forbidden]},
        "mod": {"data": {"auditLog": None}, "errors": [forbidden]},
    }


async def test_the_audit_log_pages_newest_first_by_entry_id(gql: Client) -> None:
    ada_id = await hidden_ada(gql)
    query = "query($id: ID!, $r: String!) { privilegedProfile(userId: $id, reason: $r) { bio } }"
    for reason in ("first", "second", "third"):
        await gql(query, {"id": ada_id, "r": reason}, as_member="mod")
    ids = [row.id for row in await AuditEntry.all().order_by("-id")]

    first = (await gql(AUDIT, as_member="boss"))["data"]["auditLog"]
    end = first["pageInfo"]["endCursor"]
    rest = (await gql(AUDIT, {"after": end}, as_member="boss"))["data"]["auditLog"]

    cursors = [edge["cursor"] for page in (first, rest) for edge in page["edges"]]
    assert [base64.urlsafe_b64decode(c + "=" * (-len(c) % 4)).decode() for c in cursors] == [
        f"AuditEntry:{id_}" for id_ in ids
    ]
    assert [[e["node"]["reason"] for e in page["edges"]] for page in (first, rest)] == [
        ["third", "second"],
        ["first"],
    ]
    assert [first["pageInfo"]["hasNextPage"], rest["pageInfo"]["hasNextPage"]] == [True, False]


async def test_privileged_reads_and_the_audit_log_show_no_ip_address(
    gql: Client, settings: Settings
) -> None:
    ada_id = await hidden_ada(gql)
    # Give every row involved a recorded address: ada's registration, real sign-ins.
    vault = AddressVault(settings.address_key)
    await User.filter(username="ada").update(**vault.columns(TEST_IP, "Firefox"))
    await gql.sign_in("mod")
    await gql.sign_in("boss")

    read = await gql.post(PRIVILEGED, {"id": ada_id, "reason": "abuse"}, as_member="mod")
    log = await gql.post(
        "{ auditLog { edges { node { id actor { id username } action subject { id username } "
        "fields reason createdAt } } } }",
        as_member="boss",
    )

    # The client has already scanned both bodies and headers for TEST_IP.
    assert read.json() == {"data": {"privilegedProfile": EVERYTHING_PRIVATE}}
    (edge,) = log.json()["data"]["auditLog"]["edges"]
    assert set(edge["node"]) == {
        "id",
        "actor",
        "action",
        "subject",
        "fields",
        "reason",
        "createdAt",
    }
    assert TEST_IP not in read.text + log.text
