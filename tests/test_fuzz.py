"""Fuzzing: hypothesis-graphql draws valid queries and mutations of the whole schema,
sent signed out, as a member and as a moderator. No answer may be a 5xx, an unexpected
fault, an IP address or another member's hidden value."""

from __future__ import annotations

from datetime import date

import hypothesis_graphql as hg
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from models.base import Role
from models.privacy import Audience, PrivacySettings
from models.profiles import Profile
from resolvers.accounts import create_member
from schema import build_schema
from tests.support.harness import PASSWORD

SCHEMA = build_schema()._schema
# Hidden values of the member everyone looks at (every audience ONLY_ME).
CANARIES = ("canary-owner@example.org", "1961-02-03", "fuzz-bio-canary", "fuzz-town-canary")
SCALARS = {
    "DateTime": st.just("2026-01-01T00:00:00+00:00").map(lambda v: hg.nodes.String(v)),
    "Date": st.just("1990-01-01").map(lambda v: hg.nodes.String(v)),
    "JSON": st.just({}).map(lambda _: hg.nodes.Object([])),
}
documents = st.one_of(
    hg.queries(SCHEMA, custom_scalars=SCALARS),
    hg.mutations(SCHEMA, custom_scalars=SCALARS),
)
viewers = st.sampled_from([None, "fuzz_member", "fuzz_mod"])
# Drawn documents per run (x2 databases in CI); 400 ran clean while this was written.
EXAMPLES = 150


async def cast(gql) -> None:
    owner = await create_member(
        "fuzz_owner", CANARIES[0], PASSWORD, Role.MEMBER, date.fromisoformat(CANARIES[1])
    )
    await Profile.create(user=owner, bio=CANARIES[2], location=CANARIES[3])
    await PrivacySettings.create(
        user=owner,
        **{name: Audience.ONLY_ME for name in ("email", "date_of_birth", "bio", "location")},
    )
    await create_member("fuzz_member", "m@example.org", PASSWORD, Role.MEMBER, date(1990, 1, 1))
    await create_member("fuzz_mod", "mod@example.org", PASSWORD, Role.MODERATOR, date(1990, 1, 1))
    for name in ("fuzz_member", "fuzz_mod"):
        await gql.sign_in(name)


@settings(
    max_examples=EXAMPLES,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(document=documents, viewer=viewers)
async def test_fuzzed_operations_never_crash_or_leak(
    gql, document: str, viewer: str | None
) -> None:
    if "fuzz_member" not in gql.cookies:
        await cast(gql)

    response = await gql.post(document, as_member=viewer)  # the harness scans for IPs

    assert response.status_code < 500, response.text
    body = response.text
    assert not any(canary in body for canary in CANARIES), body
    for error in response.json().get("errors") or []:
        assert error.get("extensions", {}).get("code") != "INTERNAL_SERVER_ERROR", (document, error)
        assert "Traceback" not in error["message"]


broken = st.one_of(
    hg.queries(SCHEMA, custom_scalars=SCALARS, mode=hg.Mode.NEGATIVE),
    hg.mutations(SCHEMA, custom_scalars=SCALARS, mode=hg.Mode.NEGATIVE),
)


@settings(
    max_examples=EXAMPLES,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(document=broken, viewer=viewers)
async def test_invalid_documents_get_a_coded_answer_never_a_fault(
    gql, document: str, viewer: str | None
) -> None:
    if "fuzz_member" not in gql.cookies:
        await cast(gql)

    response = await gql.post(document, as_member=viewer)

    assert response.status_code < 500, response.text
    for error in response.json().get("errors") or []:
        assert error["extensions"]["code"] != "INTERNAL_SERVER_ERROR", (document, error)
