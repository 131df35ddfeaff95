"""The HTTP surface under attack: CSRF, CORS, headers, hosts, query-cost limits,
body limits, masked faults and hostile node IDs (SECURITY.md rows B, C, E, H)."""

from __future__ import annotations

import base64
import json
import re
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from tortoise import connections

from tests.support.documents import ADA, LOGOUT_CODE, VIEWER
from tests.support.harness import Client, Server
from tests.support.harness import test_settings as make_settings
from tests.support.http import API_HEADERS, FOREIGN_ORIGIN, FRONTEND, NOT_JSON, TYPENAME
from tests.support.mail import Mailbox
from tests.support.members import confirmed_member

TOO_LARGE = {
    "errors": [
        {"message": "The request body is too large.", "extensions": {"code": "BAD_USER_INPUT"}}
    ]
}
NESTED_TOO_DEEPLY = {
    "errors": [
        {"message": "The request is nested too deeply.", "extensions": {"code": "BAD_USER_INPUT"}}
    ]
}


def global_id(raw: str) -> str:
    """A global ID with arbitrary content, encoded as the server encodes its own."""
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


@pytest.fixture
async def ada(gql: Client, mailbox: Mailbox) -> str:
    """A confirmed, signed-in member; her session token."""
    return await confirmed_member(gql, mailbox, "ada_l")


def server_with(tmp_path: Path, database_url: str, **overrides: object) -> Server:
    """An app on this test's database with some settings changed."""
    return Server(make_settings(tmp_path, database_url, **overrides))


@pytest.fixture
async def frontend(tmp_path: Path, database_url: str) -> AsyncIterator[Client]:
    """A client on an app that lets the frontend's origin in (ALLOWED_ORIGINS)."""
    async with server_with(tmp_path, database_url, allowed_origins=[FRONTEND]) as client:
        yield client


# ------------------------------------------------------------------ C: CSRF


async def test_a_query_over_get_is_answered(gql: Client) -> None:
    response = await gql.request("GET", "/graphql", params={"query": "{ __typename }"})

    assert (response.status_code, response.json()) == (200, TYPENAME)


async def test_a_mutation_over_get_is_refused_and_not_run(gql: Client, ada: str) -> None:
    response = await gql.request(
        "GET", "/graphql", params={"query": LOGOUT_CODE}, headers={"cookie": f"session={ada}"}
    )

    assert (response.status_code, response.text) == (
        400,
        "mutations are not allowed when using GET",
    )
    assert await gql(VIEWER, as_member="ada_l") == ADA


@pytest.mark.parametrize(
    "body",
    [
        {"content": json.dumps({"query": LOGOUT_CODE}), "headers": {"content-type": "text/plain"}},
        {"data": {"query": LOGOUT_CODE}},  # application/x-www-form-urlencoded
        {
            "data": {"operations": json.dumps({"query": LOGOUT_CODE}), "map": "{}"},
            "files": {"0": ("a.txt", b"x", "text/plain")},
        },  # multipart/form-data, the upload spec
    ],
    ids=["text-plain", "form-urlencoded", "multipart"],
)
async def test_a_simple_cross_site_post_is_refused_and_not_run(
    gql: Client, ada: str, body: dict
) -> None:
    headers = {"cookie": f"session={ada}", **body.pop("headers", {})}

    response = await gql.request("POST", "/graphql", headers=headers, **body)

    assert (response.status_code, response.json()) == (415, NOT_JSON)
    assert await gql(VIEWER, as_member="ada_l") == ADA


@pytest.mark.parametrize(
    "content_type",
    [
        "application/json; charset=utf-7",
        "text/plain; application/json",
        "application/json, text/plain",
        "application/jsonx",
        "application/graphql",
    ],
)
async def test_a_content_type_trick_is_refused_with_415(gql: Client, content_type: str) -> None:
    response = await gql.request(
        "POST",
        "/graphql",
        content=b'{"query": "{ __typename }"}',
        headers={"content-type": content_type},
    )

    assert (response.status_code, response.json()) == (415, NOT_JSON)


async def test_a_post_without_content_type_is_refused_with_415(gql: Client) -> None:
    response = await gql.request("POST", "/graphql", content=b'{"query": "{ __typename }"}')

    assert (response.status_code, response.json()) == (415, NOT_JSON)


@pytest.mark.parametrize(
    "content_type",
    [
        "application/json",
        "APPLICATION/JSON",
        "application/json; charset=utf-8",
        "Application/Json;Charset=UTF-8",
    ],
)
async def test_json_in_any_case_and_utf8_is_accepted(gql: Client, content_type: str) -> None:
    response = await gql.request(
        "POST",
        "/graphql",
        content=b'{"query": "{ __typename }"}',
        headers={"content-type": content_type},
    )

    assert (response.status_code, response.json()) == (200, TYPENAME)


@pytest.mark.parametrize(
    "origin",
    ["https://evil.example", "null", "http://localhost.evil.example", "http://evil.example:80"],
)
async def test_a_post_from_a_foreign_origin_is_refused_and_not_run(
    gql: Client, ada: str, origin: str
) -> None:
    response = await gql.post(LOGOUT_CODE, as_member="ada_l", headers={"origin": origin})

    assert (response.status_code, response.json()) == (403, FOREIGN_ORIGIN)
    assert await gql(VIEWER, as_member="ada_l") == ADA


@pytest.mark.parametrize(
    "origin",
    ["http://localhost", "http://localhost:8000"],  # same origin, and PUBLIC_URL's origin
)
async def test_a_post_from_our_own_origin_runs(gql: Client, ada: str, origin: str) -> None:
    response = await gql.post(LOGOUT_CODE, as_member="ada_l", headers={"origin": origin})

    assert response.json() == {"data": {"logout": {"userErrors": []}}}
    assert await gql(VIEWER, as_member="ada_l") == {"data": {"viewer": None}}


async def test_a_post_from_an_allowed_origin_runs(frontend: Client) -> None:
    response = await frontend.post("{ __typename }", headers={"origin": FRONTEND})

    assert (response.status_code, response.json()) == (200, TYPENAME)
    assert response.headers["access-control-allow-origin"] == FRONTEND
    assert response.headers["access-control-allow-credentials"] == "true"


# ------------------------------------------------------------------ C7: CORS


def preflight(origin: str) -> dict[str, str]:
    return {
        "origin": origin,
        "access-control-request-method": "POST",
        "access-control-request-headers": "content-type",
    }


async def test_a_preflight_from_the_allowed_origin_is_allowed_with_credentials(
    frontend: Client,
) -> None:
    response = await frontend.request("OPTIONS", "/graphql", headers=preflight(FRONTEND))

    assert response.status_code == 200
    assert response.headers["access-control-allow-origin"] == FRONTEND
    assert response.headers["access-control-allow-credentials"] == "true"


@pytest.mark.parametrize(
    "origin",
    [
        "https://evil.example",
        "null",
        "http://localhost:5173.evil.example",
        "http://evillocalhost:5173",
        "https://localhost:5173",
    ],
)
async def test_a_preflight_from_another_origin_gets_no_allow_origin(
    frontend: Client, origin: str
) -> None:
    response = await frontend.request("OPTIONS", "/graphql", headers=preflight(origin))

    assert response.status_code == 400
    assert "access-control-allow-origin" not in response.headers


async def test_a_foreign_origin_never_gets_a_wildcard_allow_origin(frontend: Client) -> None:
    response = await frontend.request(
        "GET",
        "/graphql",
        params={"query": "{ __typename }"},
        headers={"origin": "https://evil.example"},
    )

    assert response.status_code == 200
    assert "access-control-allow-origin" not in response.headers


# ------------------------------------------------------------------ C11, C12: headers, hosts


@pytest.mark.parametrize(
    ("method", "path", "options"),
    [
        ("POST", "/graphql", {"json": {"query": "{ __typename }"}}),
        ("GET", "/graphql", {"params": {"query": "{ __typename }"}}),
        ("POST", "/graphql", {"content": b"{}", "headers": {"content-type": "text/plain"}}),
        (
            "POST",
            "/graphql",
            {"json": {"query": "{ __typename }"}, "headers": {"origin": "https://evil.example"}},
        ),
        ("GET", "/healthz", {}),
    ],
    ids=["post", "get", "refused-415", "refused-403", "healthz"],
)
async def test_api_responses_carry_the_security_headers_and_no_server_header(
    gql: Client, method: str, path: str, options: dict
) -> None:
    response = await gql.request(method, path, **options)

    assert {name: response.headers.get(name) for name in API_HEADERS} == API_HEADERS
    assert "server" not in response.headers


async def test_the_graphiql_page_carries_the_security_headers(gql: Client) -> None:
    response = await gql.request("GET", "/graphql", headers={"accept": "text/html"})

    assert response.status_code == 200
    assert response.headers["content-type"] == "text/html; charset=utf-8"
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["referrer-policy"] == "no-referrer"
    assert response.headers["x-frame-options"] == "DENY"
    csp = [part.strip() for part in response.headers["content-security-policy"].split(";")]
    assert "frame-ancestors 'none'" in csp
    assert not [part for part in csp if "http" in part or "*" in part], csp
    assert "server" not in response.headers


@pytest.mark.parametrize(("method", "path"), [("GET", "/healthz"), ("POST", "/graphql")])
async def test_a_foreign_host_header_is_refused(gql: Client, method: str, path: str) -> None:
    response = await gql.request(
        method, path, json={"query": "{ __typename }"}, headers={"host": "evil.example"}
    )

    assert (response.status_code, response.text) == (400, "Invalid host header")


async def test_healthz_answers_ok(gql: Client) -> None:
    response = await gql.request("GET", "/healthz")

    assert (response.status_code, response.json()) == (200, {"status": "ok"})


# ------------------------------------------------------------------ B: query cost


def nested(field: str, depth: int, leaf: str) -> str:
    """`field { field { ... leaf } }`, `depth` levels deep."""
    return f"{field} {{ " * depth + leaf + " }" * depth


async def test_a_20_level_query_is_refused_by_the_depth_limit(gql: Client) -> None:
    # The schema has no cycle yet, so the levels below `viewer` are unknown fields;
    # the depth limit still reports on the whole document before anything runs.
    response = await gql("{ viewer { " + nested("a", 19, "id") + " } }")

    assert response == {
        "data": None,
        "errors": [
            {
                "message": "'anonymous' exceeds maximum operation depth of 12",
                "locations": [{"line": 1, "column": 60}],
                "extensions": {"code": "BAD_USER_INPUT"},
            },
            {
                "message": "Cannot query field 'a' on type 'User'.",
                "locations": [{"line": 1, "column": 12}],
                "extensions": {"code": "BAD_USER_INPUT"},
            },
        ],
    }


async def test_a_20_level_introspection_query_is_refused_by_the_depth_limit(gql: Client) -> None:
    response = await gql(
        "{ __schema { types { fields { type { " + nested("ofType", 16, "name") + " } } } } }"
    )

    assert response["data"] is None
    assert [error["extensions"] for error in response["errors"]] == [{"code": "BAD_USER_INPUT"}]


def aliases(count: int) -> str:
    return " ".join(f"a{n}: __typename" for n in range(count))


async def test_thirty_aliases_are_allowed(gql: Client) -> None:
    response = await gql(f"{{ {aliases(30)} }}")

    assert response == {"data": {f"a{n}": "Query" for n in range(30)}}


async def test_thirty_one_aliases_are_refused(gql: Client) -> None:
    response = await gql(f"{{ {aliases(31)} }}")

    assert response == {
        "data": None,
        "errors": [
            {"message": "31 aliases found. Allowed: 30", "extensions": {"code": "BAD_USER_INPUT"}}
        ],
    }


async def test_aliases_are_counted_once_per_fragment_spread(gql: Client) -> None:
    # F1 spreads F0 twice, F2 spreads F1 twice, ...: 2**10 aliases from a small document.
    fragments = ["fragment F0 on Query { a: __typename }"] + [
        f"fragment F{n} on Query {{ ...F{n - 1} ...F{n - 1} }}" for n in range(1, 11)
    ]

    response = await gql("query { ...F10 } " + " ".join(fragments))

    assert response == {
        "data": None,
        "errors": [
            {"message": "1024 aliases found. Allowed: 30", "extensions": {"code": "BAD_USER_INPUT"}}
        ],
    }


async def test_json_array_batching_is_refused(gql: Client) -> None:
    response = await gql.request("POST", "/graphql", json=[{"query": "{ __typename }"}] * 3)

    assert (response.status_code, response.text) == (400, "Batching is not enabled")


async def test_a_fragment_cycle_is_a_validation_error(gql: Client) -> None:
    response = await gql("query { ...A } fragment A on Query { ...B } fragment B on Query { ...A }")

    assert response == {
        "data": None,
        "errors": [
            {
                "message": "Cannot spread fragment 'A' within itself via 'B'.",
                "locations": [{"line": 1, "column": 38}, {"line": 1, "column": 67}],
                "extensions": {"code": "BAD_USER_INPUT"},
            }
        ],
    }


async def test_field_duplication_is_refused_by_the_token_limit(gql: Client) -> None:
    query = "{ viewer { " + "username " * 20_000 + "} }"

    response = await gql(query)

    assert response == {
        "data": None,
        "errors": [
            {
                "message": "Syntax Error: Document contains more than 3000 tokens. "
                "Parsing aborted.",
                "locations": [{"line": 1, "column": 26_985}],
                "extensions": {"code": "BAD_USER_INPUT"},
            }
        ],
    }


async def test_directive_flood_is_refused_by_the_token_limit(gql: Client) -> None:
    response = await gql("{ __typename " + "@include(if: true) " * 1000 + "}")

    assert response["data"] is None
    assert [error["extensions"] for error in response["errors"]] == [{"code": "BAD_USER_INPUT"}]
    assert "3000 tokens" in response["errors"][0]["message"]


async def test_a_syntax_error_is_a_coded_input_error(gql: Client) -> None:
    response = await gql("{ viewer {")

    assert response == {
        "data": None,
        "errors": [
            {
                "message": "Syntax Error: Expected Name, found <EOF>.",
                "locations": [{"line": 1, "column": 11}],
                "extensions": {"code": "BAD_USER_INPUT"},
            }
        ],
    }


# ------------------------------------------------------------------ B10: bodies


async def test_a_two_mebibyte_body_is_refused_with_413(gql: Client) -> None:
    body = json.dumps({"query": "{ __typename }", "variables": {"s": "x" * (2 * 1024 * 1024)}})

    response = await gql.request(
        "POST", "/graphql", content=body, headers={"content-type": "application/json"}
    )

    assert (response.status_code, response.json()) == (413, TOO_LARGE)


async def test_a_streamed_body_over_the_limit_is_refused_with_413(gql: Client) -> None:
    async def chunks() -> AsyncIterator[bytes]:  # no Content-Length: the bytes are counted
        yield b'{"query": "{ __typename }", "variables": {"s": "'
        for _ in range(2 * 1024):
            yield b"x" * 1024
        yield b'"}}'

    response = await gql.request(
        "POST", "/graphql", content=chunks(), headers={"content-type": "application/json"}
    )

    assert (response.status_code, response.json()) == (413, TOO_LARGE)


@pytest.mark.parametrize("depth", [50_000, 100_000])
async def test_deeply_nested_variables_are_refused_not_a_fault(gql: Client, depth: int) -> None:
    body = b'{"query": "{ __typename }", "variables": {"a": ' + b"[" * depth + b"]" * depth + b"}}"

    response = await gql.request(
        "POST", "/graphql", content=body, headers={"content-type": "application/json"}
    )

    assert (response.status_code, response.json()) == (400, NESTED_TOO_DEEPLY)


async def test_deeply_nested_variables_over_get_are_refused_not_a_fault(gql: Client) -> None:
    variables = "[" * 2_500 + "]" * 2_500  # deeper than the JSON parser recurses, < 16 KiB

    response = await gql.request(
        "GET", "/graphql", params={"query": "{ __typename }", "variables": variables}
    )

    assert (response.status_code, response.json()) == (400, NESTED_TOO_DEEPLY)


# ------------------------------------------------------------------ H11: faults and bad input


async def test_a_fault_is_masked_with_a_request_id(gql: Client) -> None:
    await connections.get("default").execute_script("DROP TABLE policy_versions")

    response = await gql.post("{ privacyPolicy { version } }")

    body = response.json()
    request_id = body["errors"][0]["extensions"]["requestId"]
    assert re.fullmatch(r"[0-9a-f]{32}", request_id)
    assert body == {
        "data": None,
        "errors": [
            {
                "message": "Unexpected error.",
                "locations": [{"line": 1, "column": 3}],
                "path": ["privacyPolicy"],
                "extensions": {"code": "INTERNAL_SERVER_ERROR", "requestId": request_id},
            }
        ],
    }
    for leak in ("policy_versions", "no such table", "select", "traceback", ".py"):
        assert leak.lower() not in response.text.lower(), leak


async def test_an_invalid_date_literal_is_an_input_error(gql: Client) -> None:
    response = await gql(
        'mutation { register(input: {username: "bob_b", email: "bob@example.org", '
        'password: "a long enough password", dateOfBirth: "2020-13-45", '
        'acceptPolicyVersion: "2026-01"}) { userErrors { code } } }'
    )

    assert response == {
        "data": None,
        "errors": [
            {
                "message": 'Value cannot represent a Date: "2020-13-45". month must be in 1..12',
                "extensions": {"code": "BAD_USER_INPUT"},
            }
        ],
    }


async def test_an_invalid_date_variable_is_an_input_error(gql: Client) -> None:
    variables = {
        "i": {
            "username": "bob_b",
            "email": "bob@example.org",
            "password": "a long enough password",
            "dateOfBirth": "2020-13-45",
            "acceptPolicyVersion": "2026-01",
        }
    }

    response = await gql(
        "mutation($i: RegisterInput!) { register(input: $i) { userErrors { code } } }", variables
    )

    assert response == {
        "data": None,
        "errors": [
            {
                "message": "Variable '$i' has invalid value at .dateOfBirth: "
                'Value cannot represent a Date: "2020-13-45". month must be in 1..12',
                "locations": [{"line": 1, "column": 10}],
                "extensions": {"code": "BAD_USER_INPUT"},
            }
        ],
    }


# ------------------------------------------------------------------ E2, E3: node IDs

NODE = "query($id: ID!) { node(id: $id) { __typename id ... on User { username } } }"
NOT_AN_ID = {
    "data": {"node": None},
    "errors": [
        {
            "message": "That is not a valid ID.",
            "locations": [{"line": 1, "column": 19}],
            "path": ["node"],
            "extensions": {"code": "BAD_USER_INPUT"},
        }
    ],
}
NO_NODE = {"data": {"node": None}}


@pytest.mark.parametrize(
    ("node_id", "expected"),
    [
        ("!!!", NOT_AN_ID),
        ("", NOT_AN_ID),
        (global_id("User:"), NOT_AN_ID),
        (global_id(":1"), NOT_AN_ID),
        ("A" * 10_000, NOT_AN_ID),
        (global_id("User:1' OR 1=1--"), NO_NODE),
        (global_id("User:-1"), NO_NODE),
        (global_id("User:99999999999999999999999"), NO_NODE),
        (global_id("User:999"), NO_NODE),
        (global_id("Session:1"), NO_NODE),
        (global_id("EmailToken:1"), NO_NODE),
        (global_id("Consent:1"), NO_NODE),
        (global_id("user:1"), NO_NODE),
    ],
)
async def test_a_hostile_or_private_node_id_finds_nothing(
    gql: Client, ada: str, node_id: str, expected: dict
) -> None:
    assert await gql(NODE, {"id": node_id}) == expected


async def test_a_node_id_with_non_ascii_digits_finds_nothing(gql: Client, ada: str) -> None:
    assert await gql(NODE, {"id": global_id("User:\uff11")}) == NO_NODE  # full-width one


async def test_a_members_id_finds_the_member(gql: Client, ada: str) -> None:
    viewer = await gql("{ viewer { id } }", as_member="ada_l")
    user_id = viewer["data"]["viewer"]["id"]

    response = await gql(NODE, {"id": user_id})

    assert response == {
        "data": {"node": {"__typename": "User", "id": user_id, "username": "ada_l"}}
    }


# ------------------------------------------------------------------ A1, A4: introspection, GraphiQL

INTROSPECTION = "{ __schema { queryType { name } } }"
INTROSPECTION_DISABLED = {
    "data": None,
    "errors": [
        {
            "message": "GraphQL introspection has been disabled, but the requested query "
            "contained the field '__schema'.",
            "locations": [{"line": 1, "column": 3}],
            "extensions": {"code": "BAD_USER_INPUT"},
        },
        {
            "message": "GraphQL introspection has been disabled, but the requested query "
            "contained the field 'queryType'.",
            "locations": [{"line": 1, "column": 14}],
            "extensions": {"code": "BAD_USER_INPUT"},
        },
    ],
}


async def test_introspection_is_on_in_development(gql: Client) -> None:
    assert await gql(INTROSPECTION) == {"data": {"__schema": {"queryType": {"name": "Query"}}}}


async def test_graphiql_is_served_in_development(gql: Client) -> None:
    response = await gql.request("GET", "/graphql", headers={"accept": "text/html"})

    assert response.status_code == 200
    assert response.text.lstrip().lower().startswith("<!doctype html>")


async def test_introspection_is_off_in_production(tmp_path: Path, database_url: str) -> None:
    async with server_with(tmp_path, database_url, environment="production") as gql:
        response = await gql(INTROSPECTION)

    assert response == INTROSPECTION_DISABLED


async def test_type_introspection_is_off_in_production(tmp_path: Path, database_url: str) -> None:
    async with server_with(tmp_path, database_url, environment="production") as gql:
        response = await gql('{ __type(name: "User") { fields { name } } }')

    assert response["data"] is None
    assert response["errors"][0]["message"] == (
        "GraphQL introspection has been disabled, but the requested query contained the "
        "field '__type'."
    )


async def test_graphiql_is_not_served_in_production(tmp_path: Path, database_url: str) -> None:
    async with server_with(tmp_path, database_url, environment="production") as gql:
        response = await gql.request("GET", "/graphql", headers={"accept": "text/html"})

    assert (response.status_code, response.text) == (404, "Not Found")
    assert not response.headers["content-type"].startswith("text/html")


async def test_graphiql_setting_turns_introspection_on_in_production(
    tmp_path: Path, database_url: str
) -> None:
    async with server_with(tmp_path, database_url, environment="production", graphiql=True) as gql:
        response = await gql(INTROSPECTION)

    assert response == {"data": {"__schema": {"queryType": {"name": "Query"}}}}


async def test_graphiql_setting_serves_graphiql_in_production(
    tmp_path: Path, database_url: str
) -> None:
    async with server_with(tmp_path, database_url, environment="production", graphiql=True) as gql:
        response = await gql.request("GET", "/graphql", headers={"accept": "text/html"})

    assert response.status_code == 200
    assert response.headers["content-type"] == "text/html; charset=utf-8"


async def test_an_unknown_field_in_variables_is_named_without_echoing_the_input(
    gql: Client,
) -> None:
    variables = {
        "i": {
            "username": "bob_b",
            "email": "bob@example.org",
            "password": "canary password 5521",
            "dateOfBirth": "1990-01-01",
            "acceptPolicyVersion": "2026-01",
            "role": "ADMIN",
        }
    }

    response = await gql(
        "mutation($i: RegisterInput!) { register(input: $i) { userErrors { code } } }", variables
    )

    assert response == {
        "data": None,
        "errors": [
            {
                "message": "Variable '$i' has invalid value: Expected value of type "
                "'RegisterInput' not to include unknown field 'role'.",
                "locations": [{"line": 1, "column": 10}],
                "extensions": {"code": "BAD_USER_INPUT"},
            }
        ],
    }


async def test_a_request_line_over_16_kib_is_refused_with_414(gql: Client) -> None:
    response = await gql.request(
        "GET", "/graphql", params={"query": "{ __typename }" + " " * 17_000}
    )

    assert (response.status_code, response.json()) == (
        414,
        {
            "errors": [
                {
                    "message": "The request line is too long.",
                    "extensions": {"code": "BAD_USER_INPUT"},
                }
            ]
        },
    )


async def test_headers_over_32_kib_in_all_are_refused_with_431(gql: Client) -> None:
    headers = {f"x-filler-{n}": "x" * 1_000 for n in range(40)}

    response = await gql.post("{ __typename }", headers=headers)

    assert (response.status_code, response.json()) == (
        431,
        {
            "errors": [
                {
                    "message": "The request headers are too large.",
                    "extensions": {"code": "BAD_USER_INPUT"},
                }
            ]
        },
    )


@pytest.mark.parametrize("body", ['"a string"', "5", "null", "true"])
async def test_a_json_body_that_is_no_object_is_refused_not_a_fault(gql: Client, body: str) -> None:
    response = await gql.request(
        "POST", "/graphql", content=body, headers={"content-type": "application/json"}
    )

    assert (response.status_code, response.json()) == (
        400,
        {
            "errors": [
                {
                    "message": "The request body must be a JSON object.",
                    "extensions": {"code": "BAD_USER_INPUT"},
                }
            ]
        },
    )
