"""The checked-in schema.graphql is the API contract: it must match the code."""

from pathlib import Path

import pytest

from schema import build_schema

SCHEMA_FILE = Path(__file__).resolve().parent.parent / "schema.graphql"


def test_schema_file_matches_the_code() -> None:
    assert SCHEMA_FILE.read_text() == build_schema().as_str() + "\n", (
        "schema.graphql is out of date: run `python server.py export-schema` and commit it"
    )


@pytest.mark.parametrize(
    ("type_name", "field", "signature"),
    [
        ("Query", "node", "(id: ID!): Node"),
        ("Query", "viewer", "(): User"),
        ("Query", "user", "(username: String!): User"),
        ("Query", "privacyPolicy", "(): PolicyVersion!"),
        ("Mutation", "register", "(input: RegisterInput!): RegisterPayload!"),
        ("Mutation", "confirmEmail", "(input: ConfirmEmailInput!): ConfirmEmailPayload!"),
        ("Mutation", "login", "(input: LoginInput!): LoginPayload!"),
        ("Mutation", "logout", "(): LogoutPayload!"),
        ("User", "id", "(): ID!"),
        ("User", "username", "(): String!"),
        ("User", "role", "(): Role!"),
        ("User", "joinedAt", "(): DateTime!"),
        ("UserError", "field", "(): [String!]"),
        ("UserError", "code", "(): String!"),
    ],
)
def test_the_fixed_names_of_the_contract_exist(type_name: str, field: str, signature: str) -> None:
    graphql_type = build_schema()._schema.type_map[type_name]
    found = graphql_type.fields[field]  # type: ignore[attr-defined]

    arguments = ", ".join(f"{name}: {arg.type}" for name, arg in found.args.items())
    assert f"({arguments}): {found.type}" == signature
