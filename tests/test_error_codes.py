"""Every userErrors code is a member of a domain's code enum, and the schema's
UserErrorCode enum lists them all with their meanings."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
from graphql import GraphQLEnumType

from resolvers.codes import DOMAINS, Code
from resolvers.common import Problem, Refused
from schema import build_schema
from tests.support.forum import gid
from tests.support.harness import Client
from tests.support.members import member

RESOLVERS = Path(__file__).resolve().parent.parent / "resolvers"
ENUMS = {domain.__name__: domain for domain in DOMAINS}


def _refusals() -> list[tuple[str, ast.Call]]:
    """Every `Refused(...)` and `Problem(...)` call in resolvers/, with where it is."""
    found = []
    for path in sorted(RESOLVERS.glob("*.py")):
        if path.name == "common.py":
            continue  # defines Refused and Problem, passing the caller's code on
        for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Name)
                and node.func.id in {"Refused", "Problem"}
            ):
                found.append((f"{path.name}:{node.lineno}", node))
    return found


def _code_argument(call: ast.Call) -> ast.expr:
    if call.args:
        return call.args[0]
    (code,) = [keyword.value for keyword in call.keywords if keyword.arg == "code"]
    return code


def _names_an_enum_member(code: ast.expr) -> bool:
    """`XCode.MEMBER` of a domain enum, or a code passed through from another problem
    (`problem.code`)."""
    if not isinstance(code, ast.Attribute):
        return False
    if isinstance(code.value, ast.Name) and code.value.id in ENUMS:
        return code.attr in ENUMS[code.value.id].__members__
    return code.attr == "code"


def test_resolvers_refuse_with_many_calls_to_scan() -> None:
    # Guards the scan below against finding nothing (a moved folder, a renamed class).
    assert len(_refusals()) > 50


def test_every_refusal_in_resolvers_names_a_member_of_a_code_enum() -> None:
    literal = [
        where for where, call in _refusals() if not _names_an_enum_member(_code_argument(call))
    ]

    assert literal == []


def test_a_refusal_with_a_bare_string_code_is_a_fault() -> None:
    with pytest.raises(TypeError, match="'SOMETHING' is not a member of a code enum"):
        Refused("SOMETHING", "Not defined anywhere.")  # type: ignore[arg-type]


def test_a_code_is_defined_once_and_reads_as_its_name() -> None:
    codes = [code for domain in DOMAINS for code in domain]

    assert len({code.value for code in codes}) == len(codes)
    assert all(code.value == code.name for code in codes)


def test_every_code_enum_of_resolvers_is_listed_as_a_domain() -> None:
    import resolvers.codes

    defined = {
        value
        for value in vars(resolvers.codes).values()
        if isinstance(value, type) and issubclass(value, Code) and value is not Code
    }

    assert defined == set(DOMAINS)


def test_the_schema_enum_lists_every_code_with_its_meaning() -> None:
    graphql_enum = build_schema()._schema.type_map["UserErrorCode"]
    assert isinstance(graphql_enum, GraphQLEnumType)

    listed = {name: value.description for name, value in graphql_enum.values.items()}

    assert listed == {code.value: code.description for domain in DOMAINS for code in domain}
    assert all(listed.values())


INTROSPECT = '{ __type(name: "UserErrorCode") { enumValues { name } } }'


async def test_graphiql_finds_the_codes_by_introspection(gql: Client) -> None:
    response = await gql(INTROSPECT)

    names = [value["name"] for value in response["data"]["__type"]["enumValues"]]
    assert names == [code.value for domain in DOMAINS for code in domain]


FOLLOW_SELF = """
mutation($i: FollowInput!) {
  follow(input: $i) { userErrors { field message code kind } }
}
"""


async def test_a_user_error_carries_its_code_typed_in_kind(gql: Client) -> None:
    ada = await member(gql, "ada")

    response = await gql(FOLLOW_SELF, {"i": {"userId": gid("User", ada.id)}}, as_member="ada")

    assert response == {
        "data": {
            "follow": {
                "userErrors": [
                    {
                        "field": ["userId"],
                        "message": "You cannot follow yourself.",
                        "code": "CANNOT_FOLLOW_SELF",
                        "kind": "CANNOT_FOLLOW_SELF",
                    }
                ]
            }
        }
    }


def test_a_problem_with_a_bare_string_code_is_a_fault() -> None:
    with pytest.raises(TypeError, match="'SOMETHING' is not a member of a code enum"):
        Problem("SOMETHING", "Not defined anywhere.")  # type: ignore[arg-type]
