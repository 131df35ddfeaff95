"""Compiling an operation into a plan: the selection tree with fragments merged and
@include/@skip decided (graphql-core's own field collection), each field bound to its
Strawberry resolver or attribute and to its privacy extension, each leaf to its
serializer. Anything the compiler does not know raises CannotPlan with the reason."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from graphql import (
    FieldNode,
    GraphQLBoolean,
    GraphQLField,
    GraphQLID,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLSchema,
    GraphQLString,
    OperationDefinitionNode,
    OperationType,
    is_leaf_type,
    is_list_type,
    is_non_null_type,
    is_object_type,
)
from graphql.execution.collect_fields import (
    FieldDetails,
    FragmentDetails,
    collect_fields,
    collect_subfields,
)
from graphql.execution.values import VariableValues
from strawberry.types.field import StrawberryField

from schema.permissions import OwnerOnly, Private
from schema.plans.batches import BATCHES, POSTPONABLE, Batch
from schema.plans.known import KNOWN_FIELDS


class CannotPlan(Exception):
    """The operation needs graphql-core: the message says why (logged once a document)."""


# Whether a field's values can be awaitables, known from its binding: an attribute never
# is one, an async resolver's value (or its guard's decision) always, and a plain
# resolver's value may be (a loader's future when the row came without it).
NEVER, MAYBE, ALWAYS = 0, 1, 2

# Scalars whose output coercion returns a value of this exact type unchanged (graphql-
# core's serialize_string, serialize_id, serialize_boolean): such a value is written as
# it is, without the call.
_UNCHANGED = {
    GraphQLString.coerce_output_value: str,
    GraphQLID.coerce_output_value: str,
    GraphQLBoolean.coerce_output_value: bool,
}


@dataclass(slots=True)
class PlannedField:
    """One response key of a selection: how to find its value and how to write it."""

    key: str  # the response key (alias or name)
    name: str  # the schema's field name
    definition: GraphQLField | None  # None for __typename
    node: FieldNode  # the first node of the key: its arguments are coerced at run time
    strawberry: StrawberryField | None
    guard: Private | OwnerOnly | None  # the privacy extension the field carries
    is_async: bool
    nullable: bool
    is_list: bool
    item_nullable: bool
    serialize: Callable[[Any], Any] | None  # leaves: the scalar's or enum's output coercion
    child: Selection | None  # objects: what is selected on them
    typename: str | None = None  # __typename: the (object) type's name
    batch: Batch | None = None  # resolves the field for a whole level at once
    postpone: bool = False  # its batch waits for the same batch deeper in the plan
    awaits: int = NEVER  # NEVER, MAYBE or ALWAYS an awaitable (see above)
    unchanged: type | None = None  # leaves: values of this type serialize to themselves


@dataclass(slots=True)
class Selection:
    """The fields selected on one object type, in response order."""

    type_name: str
    fields: list[PlannedField]


@dataclass(slots=True)
class Plan:
    """A compiled query operation."""

    root: Selection


def compile_operation(
    schema: GraphQLSchema,
    fragments: dict[str, FragmentDetails],
    variables: VariableValues,
    operation: OperationDefinitionNode,
) -> Plan:
    """The plan of a validated operation for the given directive outcomes, or CannotPlan."""
    if operation.operation is not OperationType.QUERY:
        raise CannotPlan(f"a {operation.operation.value} runs through graphql-core")
    root_type = schema.query_type
    assert root_type is not None
    collected = collect_fields(schema, fragments, variables, root_type, operation)
    if collected.new_defer_usages:
        raise CannotPlan("@defer")
    compiler = _Compiler(schema, fragments, variables, operation)
    plan = Plan(compiler.selection(root_type, collected.grouped_field_set))
    _postpone(plan.root)
    return plan


def _postpone(root: Selection) -> None:
    """Mark each batch field whose batch also runs deeper, outside the field's own
    subtree (a thread's author and its messages' authors): it waits for that one."""
    found: list[tuple[int, PlannedField, frozenset[int]]] = []

    def walk(selection: Selection, depth: int, above: frozenset[int]) -> None:
        for field in selection.fields:
            if field.batch is not None:
                found.append((depth, field, above))
            if field.child is not None:
                walk(field.child, depth + 1, above | {id(field)})

    walk(root, 0, frozenset())
    for depth, field, _ in found:
        field.postpone = field.batch in POSTPONABLE and any(
            deeper > depth and other.batch is field.batch and id(field) not in above
            for deeper, other, above in found
        )


class _Compiler:
    def __init__(
        self,
        schema: GraphQLSchema,
        fragments: dict[str, FragmentDetails],
        variables: VariableValues,
        operation: OperationDefinitionNode,
    ) -> None:
        self.schema = schema
        self.fragments = fragments
        self.variables = variables
        self.operation = operation

    def selection(
        self, parent: GraphQLObjectType, grouped: dict[str, list[FieldDetails]]
    ) -> Selection:
        return Selection(
            parent.name, [self.field(parent, key, details) for key, details in grouped.items()]
        )

    def field(
        self, parent: GraphQLObjectType, key: str, details: list[FieldDetails]
    ) -> PlannedField:
        node = details[0].node
        name = node.name.value
        if any(detail.fragment_variable_values is not None for detail in details):
            raise CannotPlan("fragment variables")
        if name == "__typename":
            return PlannedField(
                key, name, None, node, None, None, False, False, False, False,
                None, None, parent.name,
            )  # fmt: skip
        if name.startswith("__"):
            raise CannotPlan("introspection")
        if name not in KNOWN_FIELDS.get(parent.name, ()):
            raise CannotPlan(f"{parent.name}.{name} is not known to the plan compiler")
        definition = parent.fields[name]
        strawberry = definition.extensions.get("strawberry-definition")
        if not isinstance(strawberry, StrawberryField):
            raise CannotPlan(f"{parent.name}.{name} has no Strawberry field")
        if strawberry.permission_classes:
            raise CannotPlan(f"{parent.name}.{name} has permission classes")
        guards = [e for e in strawberry.extensions if isinstance(e, Private | OwnerOnly)]
        if len(guards) != len(strawberry.extensions) or len(guards) > 1:
            raise CannotPlan(f"{parent.name}.{name} has a field extension the plan does not know")
        output = definition.type
        nullable = not is_non_null_type(output)
        if not nullable:
            output = output.of_type  # type: ignore[union-attr]
        is_list = is_list_type(output)
        item_nullable = False
        if is_list:
            assert isinstance(output, GraphQLList)
            output = output.of_type
            item_nullable = not is_non_null_type(output)
            if not item_nullable:
                assert isinstance(output, GraphQLNonNull)
                output = output.of_type
            if is_list_type(output):
                raise CannotPlan(f"{parent.name}.{name} is a list of lists")
        serialize = None
        child = None
        if is_leaf_type(output):
            serialize = output.coerce_output_value  # type: ignore[union-attr]
        elif is_object_type(output):
            assert isinstance(output, GraphQLObjectType)
            sub = collect_subfields(
                self.schema, self.fragments, self.variables, self.operation, output, details
            )
            if sub.new_defer_usages:
                raise CannotPlan("@defer")
            child = self.selection(output, sub.grouped_field_set)
        else:
            raise CannotPlan(f"{parent.name}.{name} returns an interface or union")
        guard = guards[0] if guards else None
        if strawberry.is_async:
            awaits = ALWAYS
        elif strawberry.base_resolver is None and guard is None:
            awaits = NEVER
        else:
            awaits = MAYBE  # Private loads the owner when it did not come with the row
        return PlannedField(
            key, name, definition, node, strawberry, guard, strawberry.is_async,
            nullable, is_list, item_nullable, serialize, child, None,
            BATCHES.get((parent.name, name)), False, awaits, _UNCHANGED.get(serialize),
        )  # fmt: skip
