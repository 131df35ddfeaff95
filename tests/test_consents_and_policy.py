"""The consent ledger (append-only, newest first, no addresses) and the privacy policy's
versions: published by admins, accepted by members, required at registration."""

from __future__ import annotations

import pytest

from models.accounts import User
from models.base import Role
from models.policy import Consent, ConsentKind, PolicyVersion
from services.addresses import AddressVault
from services.settings import Settings
from tests.support.documents import CONFIRM_TOKEN
from tests.support.harness import TEST_IP, Client
from tests.support.mail import Mailbox, token_in
from tests.support.members import confirmed_member, member, register

SET_CONSENT = """
mutation($i: SetConsentInput!) {
  setConsent(input: $i) {
    consent { kind granted policyVersion } userErrors { field message code }
  }
}
"""
CONSENTS = "{ viewer { consents { kind granted policyVersion } } }"
PUBLISH = """
mutation($i: PublishPrivacyPolicyInput!) {
  publishPrivacyPolicy(input: $i) {
    policyVersion { version body summaryOfChanges } userErrors { field message code }
  }
}
"""
ACCEPT = """
mutation($i: AcceptPrivacyPolicyInput!) {
  acceptPrivacyPolicy(input: $i) { userErrors { field message code } }
}
"""
CURRENT = "{ privacyPolicy { version body summaryOfChanges } }"
VERSIONS = "{ privacyPolicyVersions { version summaryOfChanges } }"
ACCEPTED = "{ viewer { policyAccepted } }"

JUNE = {"version": "2026-06", "body": "# Policy\n\nWe changed things.", "summaryOfChanges": "More."}
FIRST = {"version": "2026-01", "summaryOfChanges": "First version."}
POLICY_CONSENT = {"kind": "PRIVACY_POLICY", "granted": True, "policyVersion": "2026-01"}


def consent(kind: str, granted: bool, version: str = "2026-01") -> dict:
    return {"kind": kind, "granted": granted, "policyVersion": version}


def error(path: str, message: str, code: str) -> dict:
    """The answer to a mutation refused with a GraphQL error (its field on line 3)."""
    located = {"message": message, "locations": [{"line": 3, "column": 3}], "path": [path]}
    return {"data": {path: None}, "errors": [{**located, "extensions": {"code": code}}]}


@pytest.fixture
async def ada(gql: Client, mailbox: Mailbox) -> User:
    """A member who registered (so accepted the first policy) and is signed in."""
    await confirmed_member(gql, mailbox, "ada_l")
    return await User.get(username="ada_l")


@pytest.fixture
async def admin(gql: Client) -> User:
    return await member(gql, "admin_a", Role.ADMIN, by_login=True)


async def set_consent(gql: Client, kind: str, granted: bool) -> dict:
    return await gql(SET_CONSENT, {"i": {"kind": kind, "granted": granted}}, as_member="ada_l")


async def publish(gql: Client, **fields: str) -> dict:
    return await gql(PUBLISH, {"i": {**JUNE, **fields}}, as_member="admin_a")


# ------------------------------------------------------------------ the consent ledger


async def test_a_new_member_has_given_no_permission_but_the_policy(gql: Client, ada: User) -> None:
    assert await gql(CONSENTS, as_member="ada_l") == {
        "data": {"viewer": {"consents": [POLICY_CONSENT]}}
    }


@pytest.mark.parametrize("kind", ["THIRD_PARTY_SHARING", "ANALYTICS", "NEWSLETTER"])
@pytest.mark.parametrize("granted", [True, False])
async def test_set_consent_returns_the_record_it_appended(
    gql: Client, ada: User, kind: str, granted: bool
) -> None:
    response = await set_consent(gql, kind, granted)

    assert response == {
        "data": {"setConsent": {"consent": consent(kind, granted), "userErrors": []}}
    }


async def test_the_ledger_keeps_every_change_newest_first(gql: Client, ada: User) -> None:
    await set_consent(gql, "THIRD_PARTY_SHARING", True)
    await set_consent(gql, "THIRD_PARTY_SHARING", False)
    await set_consent(gql, "ANALYTICS", False)
    await set_consent(gql, "ANALYTICS", True)

    response = await gql(CONSENTS, as_member="ada_l")

    assert response == {
        "data": {
            "viewer": {
                "consents": [
                    consent("ANALYTICS", True),
                    consent("ANALYTICS", False),
                    consent("THIRD_PARTY_SHARING", False),
                    consent("THIRD_PARTY_SHARING", True),
                    POLICY_CONSENT,
                ]
            }
        }
    }


@pytest.mark.parametrize(("granted", "opted_out"), [(False, True), (True, False)])
async def test_the_analytics_choice_is_applied(
    gql: Client, ada: User, granted: bool, opted_out: bool
) -> None:
    await set_consent(gql, "ANALYTICS", not granted)

    await set_consent(gql, "ANALYTICS", granted)

    await ada.refresh_from_db(fields=["analytics_opt_out"])
    assert ada.analytics_opt_out is opted_out


async def test_a_consent_records_the_client_address_encrypted(
    gql: Client, ada: User, settings: Settings
) -> None:
    await set_consent(gql, "THIRD_PARTY_SHARING", True)

    row = await Consent.get(user_id=ada.id, kind=ConsentKind.THIRD_PARTY_SHARING)
    assert TEST_IP not in row.ip_cipher
    assert AddressVault(settings.address_key).open(row.ip_cipher) == TEST_IP


async def test_the_consent_type_has_no_address_field(gql: Client) -> None:
    response = await gql('{ __type(name: "Consent") { fields { name } } }')

    names = [field["name"] for field in response["data"]["__type"]["fields"]]
    assert names == ["kind", "granted", "policyVersion", "createdAt"]


async def test_the_policy_cannot_be_accepted_or_withdrawn_through_set_consent(
    gql: Client, ada: User
) -> None:
    response = await set_consent(gql, "PRIVACY_POLICY", False)

    assert response == {
        "data": {
            "setConsent": {
                "consent": None,
                "userErrors": [
                    {
                        "field": ["kind"],
                        "message": "Accept the policy with acceptPrivacyPolicy.",
                        "code": "USE_ACCEPT_POLICY",
                    }
                ],
            }
        }
    }
    assert await Consent.filter(user_id=ada.id).count() == 1


async def test_set_consent_needs_a_signed_in_member(gql: Client) -> None:
    response = await gql(SET_CONSENT, {"i": {"kind": "ANALYTICS", "granted": True}})

    assert response == error("setConsent", "Sign in to do this.", "UNAUTHENTICATED")
    assert await Consent.all().count() == 0


# ------------------------------------------------------------------ publishing the policy


async def test_a_published_version_becomes_the_policy_in_force(gql: Client, admin: User) -> None:
    response = await publish(gql)

    assert response == {"data": {"publishPrivacyPolicy": {"policyVersion": JUNE, "userErrors": []}}}
    assert await gql(CURRENT) == {"data": {"privacyPolicy": JUNE}}


async def test_every_version_is_listed_newest_first_for_anyone(gql: Client, admin: User) -> None:
    await publish(gql)
    await publish(gql, version="2026-09", summaryOfChanges="Even more.")

    response = await gql(VERSIONS)

    assert response == {
        "data": {
            "privacyPolicyVersions": [
                {"version": "2026-09", "summaryOfChanges": "Even more."},
                {"version": "2026-06", "summaryOfChanges": "More."},
                FIRST,
            ]
        }
    }


async def test_a_version_is_published_once(gql: Client, admin: User) -> None:
    await publish(gql)

    response = await publish(gql, body="Another text.")

    assert response == {
        "data": {
            "publishPrivacyPolicy": {
                "policyVersion": None,
                "userErrors": [
                    {
                        "field": ["version"],
                        "message": "That version is already published.",
                        "code": "VERSION_TAKEN",
                    }
                ],
            }
        }
    }
    assert (await PolicyVersion.get(version="2026-06")).body == JUNE["body"]


@pytest.mark.parametrize(
    ("fields", "field", "message", "code"),
    [
        (
            {"version": ""},
            "version",
            "Versions are 1-32 letters, digits, . and -.",
            "VERSION_INVALID",
        ),
        (
            {"version": "v 2"},
            "version",
            "Versions are 1-32 letters, digits, . and -.",
            "VERSION_INVALID",
        ),
        (
            {"version": "x" * 33},
            "version",
            "Versions are 1-32 letters, digits, . and -.",
            "VERSION_INVALID",
        ),
        ({"body": "  "}, "body", "The policy needs 1 to 100000 characters.", "BODY_LENGTH"),
    ],
)
async def test_a_version_needs_a_label_and_a_text(
    gql: Client, admin: User, fields: dict, field: str, message: str, code: str
) -> None:
    response = await publish(gql, **fields)

    assert response == {
        "data": {
            "publishPrivacyPolicy": {
                "policyVersion": None,
                "userErrors": [{"field": [field], "message": message, "code": code}],
            }
        }
    }
    assert await gql(VERSIONS) == {"data": {"privacyPolicyVersions": [FIRST]}}


@pytest.mark.parametrize(
    ("viewer", "role", "message", "code"),
    [
        (None, None, "Sign in to do this.", "UNAUTHENTICATED"),
        ("ada_l", Role.MEMBER, "You are not allowed to do this.", "FORBIDDEN"),
        ("mod_m", Role.MODERATOR, "You are not allowed to do this.", "FORBIDDEN"),
    ],
)
async def test_only_admins_publish_the_policy(
    gql: Client, viewer: str | None, role: Role | None, message: str, code: str
) -> None:
    if viewer is not None and role is not None:
        await member(gql, viewer, role, by_login=True)

    response = await gql(PUBLISH, {"i": JUNE}, as_member=viewer)

    assert response == error("publishPrivacyPolicy", message, code)
    assert await gql(VERSIONS) == {"data": {"privacyPolicyVersions": [FIRST]}}


# ------------------------------------------------------------------ accepting it


async def test_a_member_has_accepted_the_policy_they_registered_under(
    gql: Client, ada: User
) -> None:
    assert await gql(ACCEPTED, as_member="ada_l") == {"data": {"viewer": {"policyAccepted": True}}}


async def test_a_new_version_awaits_the_members_acceptance(
    gql: Client, ada: User, admin: User
) -> None:
    await publish(gql)

    assert await gql(ACCEPTED, as_member="ada_l") == {"data": {"viewer": {"policyAccepted": False}}}


async def test_accepting_the_current_version_is_recorded(
    gql: Client, ada: User, admin: User
) -> None:
    await publish(gql)

    response = await gql(ACCEPT, {"i": {"version": "2026-06"}}, as_member="ada_l")

    assert response == {"data": {"acceptPrivacyPolicy": {"userErrors": []}}}
    assert await gql(ACCEPTED, as_member="ada_l") == {"data": {"viewer": {"policyAccepted": True}}}
    assert await gql(CONSENTS, as_member="ada_l") == {
        "data": {
            "viewer": {"consents": [consent("PRIVACY_POLICY", True, "2026-06"), POLICY_CONSENT]}
        }
    }


@pytest.mark.parametrize("version", ["2026-01", "2026-07", ""])
async def test_only_the_current_version_can_be_accepted(
    gql: Client, ada: User, admin: User, version: str
) -> None:
    await publish(gql)

    response = await gql(ACCEPT, {"i": {"version": version}}, as_member="ada_l")

    assert response == {
        "data": {
            "acceptPrivacyPolicy": {
                "userErrors": [
                    {
                        "field": ["version"],
                        "message": "Accept the current privacy policy (version 2026-06).",
                        "code": "POLICY_NOT_CURRENT",
                    }
                ]
            }
        }
    }
    assert await gql(ACCEPTED, as_member="ada_l") == {"data": {"viewer": {"policyAccepted": False}}}


async def test_accepting_needs_a_signed_in_member(gql: Client) -> None:
    response = await gql(ACCEPT, {"i": {"version": "2026-01"}})

    assert response == error("acceptPrivacyPolicy", "Sign in to do this.", "UNAUTHENTICATED")


async def test_registration_requires_the_version_in_force(gql: Client, admin: User) -> None:
    await publish(gql)

    response = await register(gql, "bob_k", acceptPolicyVersion="2026-01")

    assert response == {
        "data": {
            "register": {
                "userErrors": [
                    {
                        "field": ["acceptPolicyVersion"],
                        "message": "Accept the current privacy policy (version 2026-06).",
                        "code": "POLICY_NOT_ACCEPTED",
                    }
                ]
            }
        }
    }
    assert not await User.exists(username="bob_k")


async def test_registering_under_the_new_version_records_its_acceptance(
    gql: Client, admin: User, mailbox: Mailbox
) -> None:
    await publish(gql)

    response = await register(gql, "bob_k", acceptPolicyVersion="2026-06")

    assert response == {"data": {"register": {"userErrors": []}}}
    (mail,) = await mailbox.wait_for("bob_k@example.org")
    opened = await gql(CONFIRM_TOKEN, {"t": token_in(mail)})
    assert opened["data"]["confirmEmail"]["userErrors"] == []
    bob = await User.get(username="bob_k")
    ledger = await Consent.filter(user_id=bob.id).values_list("kind", "granted", "policy_version")
    assert ledger == [(ConsentKind.PRIVACY_POLICY, True, "2026-06")]
