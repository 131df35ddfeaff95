"""GraphiQL is the manual: every type, field, argument, enum value and input field
carries a description."""

from graphql import (
    GraphQLEnumType,
    GraphQLInputObjectType,
    GraphQLInterfaceType,
    GraphQLObjectType,
)

from schema import build_schema


def undocumented() -> list[str]:
    schema = build_schema()._schema
    missing: list[str] = []
    for name, graphql_type in schema.type_map.items():
        if name.startswith("__") or name in ("String", "Int", "Float", "Boolean", "ID"):
            continue
        if not graphql_type.description:
            missing.append(name)
        if isinstance(graphql_type, GraphQLEnumType):
            missing += [
                f"{name}.{v}" for v, value in graphql_type.values.items() if not value.description
            ]
        if isinstance(graphql_type, (GraphQLObjectType, GraphQLInterfaceType)):
            for field_name, field in graphql_type.fields.items():
                if not field.description:
                    missing.append(f"{name}.{field_name}")
                missing += [
                    f"{name}.{field_name}({arg})"
                    for arg, argument in field.args.items()
                    if not argument.description
                ]
        if isinstance(graphql_type, GraphQLInputObjectType):
            missing += [
                f"{name}.{f}" for f, field in graphql_type.fields.items() if not field.description
            ]
    return missing


def test_every_part_of_the_schema_is_documented() -> None:
    assert undocumented() == []
