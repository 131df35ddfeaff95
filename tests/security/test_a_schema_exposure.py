"""SECURITY.md section A: schema exposure (introspection, suggestions, GraphiQL, the
moderator-only surface).

The project's policy (docs/security.md, A1/A3): introspection and GraphiQL are on in
development and off in production unless GRAPHIQL=true; the schema is the public
contract checked in as schema.graphql and holds nothing private.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
from graphql import (
    NoSchemaIntrospectionCustomRule,
    build_client_schema,
    get_introspection_query,
    lexicographic_sort_schema,
    parse,
    print_schema,
    validate,
)
from graphql import build_schema as parse_sdl

from models.accounts import User
from models.audit import AuditEntry
from models.base import Role
from models.messages import Message
from models.newsletters import Newsletter
from models.policy import PolicyVersion
from models.reports import Report, ReportStatus
from models.rights import CorrectionRequest, CorrectionStatus
from schema import build_schema
from schema.permissions import IsAdmin, IsStaff
from services.settings import Settings
from tests.support.forum import coded_error, gid, new_forum, open_thread
from tests.support.harness import Client, Server
from tests.support.harness import test_settings as make_settings
from tests.support.members import member
from tests.support.staff import ADMIN_MUTATIONS, STAFF_MUTATIONS

SCHEMA_FILE = Path(__file__).resolve().parents[2] / "schema.graphql"
TYPENAME = {"data": {"__typename": "Query"}}
DUMP = "{__schema{types{name fields{name description}}}}"  # the row's own payload
FULL_INTROSPECTION = get_introspection_query(
    descriptions=True, specified_by_url=True, directive_is_repeatable=True
)
# What a readable field's name must never say it carries (words of a camelCase name).
SECRET_WORDS = {
    "password",
    "hash",
    "token",
    "secret",
    "cipher",
    "salt",
    "fingerprint",
    "cookie",
    "agent",
    "ip",
    "ips",
    "remote",
    "addr",
    "forwarded",
}
UNAUTHENTICATED = ("Sign in to do this.", "UNAUTHENTICATED")
FORBIDDEN = ("You are not allowed to do this.", "FORBIDDEN")


def production_server(tmp_path: Path, database_url: str, **overrides: Any) -> Server:
    """An app on this test's database configured as production."""
    return Server(make_settings(tmp_path, database_url, environment="production", **overrides))


@pytest.fixture
async def production(tmp_path: Path, database_url: str) -> AsyncIterator[Client]:
    """A client on an app with ENVIRONMENT=production (introspection and GraphiQL off)."""
    async with production_server(tmp_path, database_url) as client:
        yield client


def introspection_disabled(*fields: tuple[str, int, int]) -> dict[str, Any]:
    """The refusal NoSchemaIntrospectionCustomRule gives: one error per introspection
    field (name, line, column), and no data at all."""
    return {
        "data": None,
        "errors": [
            {
                "message": "GraphQL introspection has been disabled, but the requested query "
                f"contained the field '{name}'.",
                "locations": [{"line": line, "column": column}],
                "extensions": {"code": "BAD_USER_INPUT"},
            }
            for name, line, column in fields
        ],
    }


def sdl(text: str) -> str:
    """A schema in a canonical printed form (types and fields sorted)."""
    return print_schema(lexicographic_sort_schema(parse_sdl(text)))


def words(name: str) -> set[str]:
    """The lower-cased words of a camelCase or PascalCase name."""
    return {word.lower() for word in re.findall(r"[A-Z]+(?![a-z])|[A-Z]?[a-z0-9]+", name)}


async def introspected(gql: Client) -> dict[str, Any]:
    """The full introspection result the server gives an anonymous caller."""
    response = await gql(FULL_INTROSPECTION)
    assert list(response) == ["data"], response
    return response["data"]


# ------------------------------------------------------------------ A1: introspection dump


async def test_A1_introspection_in_development_shows_exactly_the_published_schema(
    gql: Client,
) -> None:
    # The policy keeps introspection on in development because it reveals nothing
    # beyond the checked-in contract: the two must be the same schema, type for type.
    data = await introspected(gql)

    shown = print_schema(lexicographic_sort_schema(build_client_schema(data)))  # type: ignore[arg-type]
    assert shown == sdl(SCHEMA_FILE.read_text())


async def test_A1_no_readable_field_is_named_for_a_secret_or_an_address(gql: Client) -> None:
    data = await introspected(gql)

    # Mutation fields name actions (changePassword), not data; inputs may take a
    # password; what matters is what a response can carry.
    offenders = [
        f"{kind['name']}.{field['name']}"
        for kind in data["__schema"]["types"]
        if kind["kind"] in ("OBJECT", "INTERFACE")
        and kind["name"] != "Mutation"
        and not kind["name"].startswith("__")
        for field in kind["fields"]
        if words(field["name"]) & SECRET_WORDS
    ]
    assert offenders == []


async def test_A1_descriptions_mention_ip_addresses_only_to_say_none_are_shown(
    gql: Client,
) -> None:
    data = await introspected(gql)

    mentions = []
    for kind in data["__schema"]["types"]:
        members = (kind["fields"] or []) + (kind["inputFields"] or []) + (kind["enumValues"] or [])
        described = [(kind["name"], kind["description"])] + [
            (f"{kind['name']}.{item['name']}", item["description"]) for item in members
        ]
        mentions += [
            (where, text) for where, text in described if text and re.search(r"\bIP", text)
        ]
    assert mentions == [
        ("Session", "A browser signed in to your account. Never shows an IP address."),
        (
            "ExportMyDataPayload.export",
            "Everything held about you, as one JSON document (no IP addresses).",
        ),
    ]


async def test_A1_a_session_shows_no_address_token_or_agent_string(gql: Client) -> None:
    response = await gql('{ __type(name: "Session") { fields { name } } }')

    assert response == {
        "data": {
            "__type": {
                "fields": [
                    {"name": "id"},
                    {"name": "createdAt"},
                    {"name": "lastUsedAt"},
                    {"name": "browser"},
                    {"name": "operatingSystem"},
                    {"name": "country"},
                    {"name": "current"},
                ]
            }
        }
    }


async def test_A1_the_dump_is_refused_in_production(production: Client) -> None:
    response = await production(DUMP)

    assert response == introspection_disabled(
        ("__schema", 1, 2), ("types", 1, 11), ("fields", 1, 22)
    )


async def test_A1_graphiqls_full_introspection_query_is_refused_in_production(
    production: Client,
) -> None:
    published = parse_sdl(SCHEMA_FILE.read_text())
    # graphql-core's own rule, run on the published schema, says which fields it refuses;
    # the server answers with the first 20 of them (its cap on errors, schema/errors.py).
    expected = validate(published, parse(FULL_INTROSPECTION), [NoSchemaIntrospectionCustomRule])[
        :20
    ]

    response = await production(FULL_INTROSPECTION)

    assert len(expected) == 20
    assert response == {
        "data": None,
        "errors": [
            {**error.formatted, "extensions": {"code": "BAD_USER_INPUT"}} for error in expected
        ],
    }


async def test_A1_graphiql_setting_turns_introspection_on_in_production(
    tmp_path: Path, database_url: str
) -> None:
    async with production_server(tmp_path, database_url, graphiql=True) as gql:
        response = await gql('{ __type(name: "Session") { name } }')

    assert response == {"data": {"__type": {"name": "Session"}}}


# ------------------------------------------------------------------ A2: bypass tricks

BYPASSES = {
    "__type lookup": (
        '{__type(name:"PrivacySettings"){fields{name}}}',
        [("__type", 1, 2), ("fields", 1, 33)],
    ),
    "newline after __schema": (
        "query{ __schema\n{queryType{name}}}",
        [("__schema", 1, 8), ("queryType", 2, 2)],
    ),
    "comment after __schema": (
        "query{ __schema #{\n{queryType{name}}}",
        [("__schema", 1, 8), ("queryType", 2, 2)],
    ),
    "commas and tabs": (
        "{,\t__schema\t,{queryType{name}}}",
        [("__schema", 1, 4), ("queryType", 1, 15)],
    ),
    "alias": (
        "{ s: __schema { queryType { name } } }",
        [("__schema", 1, 3), ("queryType", 1, 17)],
    ),
    "named fragment": (
        "query { ...F } fragment F on Query { __schema { queryType { name } } }",
        [("__schema", 1, 38), ("queryType", 1, 49)],
    ),
    "inline fragment": (
        'query { ... on Query { __type(name: "User") { name } } }',
        [("__type", 1, 24)],
    ),
    "beside an allowed field": (
        '{ __typename __type(name: "User") { name } }',
        [("__type", 1, 14)],
    ),
}


@pytest.mark.parametrize(("query", "fields"), BYPASSES.values(), ids=BYPASSES.keys())
async def test_A2_introspection_tricks_are_refused_in_production(
    production: Client, query: str, fields: list[tuple[str, int, int]]
) -> None:
    response = await production(query)

    assert response == introspection_disabled(*fields)


async def test_A2_introspection_over_get_is_refused_in_production(production: Client) -> None:
    response = await production.request(
        "GET", "/graphql", params={"query": "{__schema{queryType{name}}}"}
    )

    assert (response.status_code, response.json()) == (
        200,
        introspection_disabled(("__schema", 1, 2), ("queryType", 1, 11)),
    )


async def test_A2_typename_still_answers_in_production(production: Client) -> None:
    assert await production("{ __typename }") == TYPENAME


async def test_A2_type_lookup_answers_in_development(gql: Client) -> None:
    response = await gql('{__type(name:"PrivacySettings"){fields{name}}}')

    names = [field["name"] for field in response["data"]["__type"]["fields"]]
    assert response == {"data": {"__type": {"fields": [{"name": name} for name in names]}}}
    assert names == [
        "email",
        "dateOfBirth",
        "age",
        "lastSeen",
        "bio",
        "location",
        "website",
        "dietPlan",
        "weightJourney",
        "followers",
        "following",
        "whoCanMessage",
        "whoCanMention",
        "listedInMembers",
    ]


# ------------------------------------------------------------------ A3: field suggestions


async def test_A3_suggestions_in_production_name_only_published_fields(
    production: Client,
) -> None:
    # Accepted in docs/security.md: suggestions stay on, since they can only name
    # fields the checked-in schema.graphql already publishes.
    response = await production("{ viewr { id } usrs { id } }")

    assert response == {
        "data": None,
        "errors": [
            {
                "message": "Cannot query field 'viewr' on type 'Query'. "
                "Did you mean 'viewer' or 'user'?",
                "locations": [{"line": 1, "column": 3}],
                "extensions": {"code": "BAD_USER_INPUT"},
            },
            {
                "message": "Cannot query field 'usrs' on type 'Query'. "
                "Did you mean 'users' or 'user'?",
                "locations": [{"line": 1, "column": 16}],
                "extensions": {"code": "BAD_USER_INPUT"},
            },
        ],
    }
    published = parse_sdl(SCHEMA_FILE.read_text()).query_type
    assert published is not None
    assert {"viewer", "user", "users"} <= set(published.fields)


async def test_A3_a_misspelt_introspection_field_suggests_nothing_in_production(
    production: Client,
) -> None:
    response = await production("{ __schem { types { name } } }")

    assert response == {
        "data": None,
        "errors": [
            {
                "message": "Cannot query field '__schem' on type 'Query'.",
                "locations": [{"line": 1, "column": 3}],
                "extensions": {"code": "BAD_USER_INPUT"},
            }
        ],
    }


# ------------------------------------------------------------------ A4: GraphiQL


class _Resources(HTMLParser):
    """Collects the URL of every script and stylesheet a page loads."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.urls: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        """Note `<script src>` and `<link rel=stylesheet href>`."""
        values = dict(attrs)
        if tag == "script" and values.get("src"):
            self.urls.append(values["src"] or "")
        if tag == "link" and values.get("rel") == "stylesheet":
            self.urls.append(values.get("href") or "")


def loaded_resources(page: str) -> list[str]:
    """The scripts and stylesheets an HTML page loads, in document order."""
    parser = _Resources()
    parser.feed(page)
    parser.close()
    return parser.urls


async def test_A4_graphiql_loads_scripts_and_styles_only_from_this_server(gql: Client) -> None:
    response = await gql.request("GET", "/graphql", headers={"accept": "text/html"})

    urls = loaded_resources(response.text)
    assert response.status_code == 200
    assert len(urls) == 7  # React, ReactDOM, js-cookie, GraphiQL and its explorer, 2 styles
    assert [url for url in urls if not url.startswith("/graphiql-assets/")] == []
    assert "https://" not in response.text


async def test_A4_graphiql_cannot_be_framed(gql: Client) -> None:
    response = await gql.request("GET", "/graphql", headers={"accept": "text/html"})

    assert response.headers["content-type"] == "text/html; charset=utf-8"
    assert response.headers["x-frame-options"] == "DENY"
    assert response.headers["content-security-policy"] == (
        "default-src 'self'; script-src 'self' 'unsafe-inline'; style-src 'self' "
        "'unsafe-inline'; img-src 'self' data:; font-src 'self' data:; connect-src 'self'; "
        "frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
    )


async def test_A4_graphiql_shows_no_address_secret_or_member_data(
    gql: Client, settings: Settings
) -> None:
    await member(gql, "ada")
    forwarded = "198.51.100.23"
    gql.ips.add(forwarded)  # the harness fails the test if the page names it

    response = await gql.request(
        "GET",
        "/graphql",
        headers={
            "accept": "text/html",
            "x-forwarded-for": forwarded,
            "cookie": f"session={gql.cookies['ada']}",
        },
    )

    assert response.status_code == 200
    for secret in (
        settings.secret_key,
        settings.ip_key,
        gql.cookies["ada"],
        "ada@example.org",
        settings.database_url,
    ):
        assert secret not in response.text


async def test_A4_a_script_in_the_query_string_is_not_reflected_as_html(gql: Client) -> None:
    response = await gql.request(
        "GET",
        "/graphql?query=%3Cscript%3Ealert(1)%3C/script%3E",
        headers={"accept": "text/html"},
    )

    # The query runs (and fails) as GraphQL: JSON that no browser renders as a page.
    assert (response.status_code, response.json()) == (
        200,
        {
            "data": None,
            "errors": [
                {
                    "message": "Syntax Error: Unexpected character: '<'.",
                    "locations": [{"line": 1, "column": 1}],
                    "extensions": {"code": "BAD_USER_INPUT"},
                }
            ],
        },
    )
    assert response.headers["content-type"] == "application/json"
    assert response.headers["x-content-type-options"] == "nosniff"
    assert (
        response.headers["content-security-policy"] == "default-src 'none'; frame-ancestors 'none'"
    )
    assert "<script>" not in response.text


async def test_A4_graphiql_is_not_served_in_production(production: Client) -> None:
    response = await production.request("GET", "/graphql", headers={"accept": "text/html"})

    assert (response.status_code, response.text) == (404, "Not Found")


# ------------------------------------------------------------------ A5: moderator-only surface

STAFF_OPERATIONS: dict[str, tuple[str, bool, bool]] = {
    # field: (operation, admins only, nullable result: every staff root field since
    # 2026-12-04, so a refusal nulls that field alone)
    "correctionRequests": (
        "{ correctionRequests(first: 5) { edges { node { id proposedValue reason } } } }",
        False,
        True,
    ),
    "privilegedProfile": (
        'query($target: ID!) { privilegedProfile(userId: $target, reason: "Report #1") '
        "{ email dateOfBirth } }",
        False,
        True,
    ),
    "auditLog": ("{ auditLog(first: 5) { edges { node { action reason } } } }", True, True),
    "reports": ("{ reports(first: 5) { edges { node { reason } } } }", False, True),
    "siteStats": (
        '{ siteStats(from: "2026-01-01", to: "2026-01-31") { visits countries { key } } }',
        True,
        True,
    ),
    "accountsSharingAddress": (
        'query($target: ID!) { accountsSharingAddress(userId: $target, reason: "Report #1") '
        "{ user { username } times } }",
        False,
        True,
    ),
    "suspendMember": (
        "mutation($target: ID!) { suspendMember(input: {userId: $target, "
        'until: "2099-01-01T00:00:00+00:00", reason: "spam"}) '
        "{ user { suspendedUntil } userErrors { code } } }",
        False,
        True,
    ),
    "unsuspendMember": (
        "mutation($target: ID!) { unsuspendMember(input: {userId: $target}) "
        "{ user { id } userErrors { code } } }",
        False,
        True,
    ),
    "hideMessage": (
        'mutation($target: ID!) { hideMessage(input: {messageId: $target, reason: "spam"}) '
        "{ message { hidden } userErrors { code } } }",
        False,
        True,
    ),
    "resolveReport": (
        "mutation($target: ID!) { resolveReport(input: {reportId: $target, "
        "action: HIDE_MESSAGE}) { report { status } userErrors { code } } }",
        False,
        True,
    ),
    "resolveCorrection": (
        "mutation($target: ID!) { resolveCorrection(input: {requestId: $target, apply: true}) "
        "{ correctionRequest { status } userErrors { code } } }",
        False,
        True,
    ),
    "publishPrivacyPolicy": (
        'mutation { publishPrivacyPolicy(input: {version: "2099-01", body: "All yours."}) '
        "{ policyVersion { version } userErrors { code } } }",
        True,
        True,
    ),
    "sendNewsletter": (
        'mutation { sendNewsletter(input: {subject: "Hi", body: "Buy now"}) '
        "{ recipients userErrors { code } } }",
        True,
        True,
    ),
}


@pytest.fixture
async def targets(gql: Client) -> dict[str, tuple[str, str]]:
    """Real staff targets and look-alikes that do not exist, as (existing, missing) global
    IDs: ada (a member), her message, bob's report on it, her correction request.
    Signs in ada, bob (members) and mod (a moderator) on `gql`."""
    ada = await member(gql, "ada")
    await member(gql, "bob")
    await member(gql, "mod", role=Role.MODERATOR)
    _, message_id = await open_thread(gql, "ada", await new_forum())
    report = await gql(
        "mutation($m: ID!) { reportMessage(input: {messageId: $m, reason: 'rude'}) "
        "{ report { id } userErrors { code } } }".replace("'", '"'),
        {"m": message_id},
        as_member="bob",
    )
    correction = await gql(
        'mutation { requestCorrection(input: {field: "dateOfBirth", '
        'proposedValue: "1991-05-17", reason: "typo at sign-up"}) '
        "{ correctionRequest { id } userErrors { code } } }",
        as_member="ada",
    )
    return {
        "user": (gid("User", ada.id), gid("User", 999)),
        "message": (message_id, gid("Message", 999)),
        "report": (report["data"]["reportMessage"]["report"]["id"], gid("Report", 999)),
        "correction": (
            correction["data"]["requestCorrection"]["correctionRequest"]["id"],
            gid("CorrectionRequest", 999),
        ),
    }


TARGET_KIND = {
    "privilegedProfile": "user",
    "accountsSharingAddress": "user",
    "suspendMember": "user",
    "unsuspendMember": "user",
    "hideMessage": "message",
    "resolveReport": "report",
    "resolveCorrection": "correction",
}


def guarded_root_fields() -> dict[str, str]:
    """Every root field the schema guards with a staff permission, and which one."""
    schema = build_schema()._schema
    found = {}
    for root in (schema.query_type, schema.mutation_type):
        assert root is not None
        for name, field in root.fields.items():
            definition = field.extensions.get("strawberry-definition")
            for permission in definition.permission_classes if definition else []:
                if permission in (IsStaff, IsAdmin):
                    found[name] = permission.__name__
    return found


def test_A5_every_staff_field_is_held_to_a_refusal_test() -> None:
    # The fields above, and the staff tools that tests/test_staff_access.py refuses: a
    # new staff field must join one of the lists, or this fails.
    tested = {
        **dict.fromkeys(STAFF_MUTATIONS, "IsStaff"),
        **dict.fromkeys(ADMIN_MUTATIONS, "IsAdmin"),
        **{
            field: "IsAdmin" if admins_only else "IsStaff"
            for field, (_, admins_only, _) in STAFF_OPERATIONS.items()
        },
    }

    assert guarded_root_fields() == tested


@pytest.mark.parametrize("field", STAFF_OPERATIONS)
async def test_A5_staff_operation_is_refused_alike_for_every_target_and_outsider(
    gql: Client, targets: dict[str, tuple[str, str]], field: str
) -> None:
    query, admins_only, nullable = STAFF_OPERATIONS[field]
    viewers = {None: UNAUTHENTICATED, "bob": FORBIDDEN}
    if admins_only:
        viewers["mod"] = FORBIDDEN
    kind = TARGET_KIND.get(field)
    ids = targets[kind] if kind else (None,)

    seen = {}
    for viewer in viewers:
        for target in ids:
            variables = {"target": target} if target else None
            seen[(viewer, target)] = await gql(query, variables, as_member=viewer)

    def refusal(message: str, code: str) -> dict[str, Any]:
        error = coded_error(query, field, message, code)
        return {"data": {field: None} if nullable else None, "errors": [error]}

    assert seen == {
        (viewer, target): refusal(*answer) for viewer, answer in viewers.items() for target in ids
    }


async def staff_state() -> dict[str, Any]:
    """What the staff mutations change, read straight from the database (reading it
    through the API as staff would itself write audit entries)."""
    return {
        "suspended": await User.filter(suspended_until__isnull=False).count(),
        "hidden": await Message.filter(hidden_at__isnull=False).count(),
        "reports": await Report.all().values_list("status", flat=True),
        "corrections": await CorrectionRequest.all().values_list("status", flat=True),
        "policies": await PolicyVersion.all().count(),
        "newsletters": await Newsletter.all().count(),
        "audit entries": await AuditEntry.all().count(),
    }


async def test_A5_refused_staff_mutations_change_nothing(
    gql: Client, targets: dict[str, tuple[str, str]]
) -> None:
    before = await staff_state()

    for field, (query, admins_only, _) in STAFF_OPERATIONS.items():
        if query.startswith("mutation"):
            kind = TARGET_KIND.get(field)
            target = {"target": targets[kind][0]} if kind else None
            await gql(query, target, as_member="mod" if admins_only else "bob")

    assert await staff_state() == before
    assert before == {
        "suspended": 0,
        "hidden": 0,
        "reports": [ReportStatus.OPEN],
        "corrections": [CorrectionStatus.OPEN],
        "policies": 1,
        "newsletters": 0,
        "audit entries": 0,
    }


async def test_A5_a_suspension_is_shown_to_moderators_and_hidden_from_other_members(
    gql: Client, targets: dict[str, tuple[str, str]]
) -> None:
    suspend = STAFF_OPERATIONS["suspendMember"][0]
    await gql(suspend, {"target": targets["user"][0]}, as_member="mod")
    query = '{ user(username: "ada") { suspendedUntil } }'

    seen = {viewer: await gql(query, as_member=viewer) for viewer in (None, "bob", "mod")}

    hidden = {"data": {"user": {"suspendedUntil": None}}}
    assert seen == {
        None: hidden,
        "bob": hidden,
        "mod": {"data": {"user": {"suspendedUntil": "2099-01-01T00:00:00+00:00"}}},
    }
