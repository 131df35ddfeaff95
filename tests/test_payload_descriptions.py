"""Every payload's description names the mutations that return it, and every input's
type is taken by a mutation."""

from __future__ import annotations

import re

from graphql import GraphQLSchema, get_named_type

from schema import build_schema

RESULT_OF = re.compile(r"^Result of (\w+)(?: and (\w+))?\b")


def _schema() -> GraphQLSchema:
    return build_schema()._schema


def _returning() -> dict[str, set[str]]:
    """Payload type name -> the mutations that return it."""
    mutation = _schema().mutation_type
    assert mutation is not None
    found: dict[str, set[str]] = {}
    for name, field in mutation.fields.items():
        found.setdefault(get_named_type(field.type).name, set()).add(name)
    return found


def test_every_payload_description_names_exactly_the_mutations_that_return_it() -> None:
    types = _schema().type_map
    named = {}
    for payload in _returning():
        match = RESULT_OF.match(types[payload].description or "")
        named[payload] = {name for name in match.groups() if name} if match else set()

    assert named == _returning()


def test_every_input_type_is_the_input_of_a_mutation_that_takes_it() -> None:
    mutation = _schema().mutation_type
    assert mutation is not None
    taken = {
        get_named_type(field.args["input"].type).name
        for field in mutation.fields.values()
        if "input" in field.args
    }
    inputs = {
        name
        for name, kind in _schema().type_map.items()
        if name.endswith("Input") and not name.startswith("__")
    }

    assert inputs == taken
