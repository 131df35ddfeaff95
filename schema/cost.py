"""What a query could cost before it runs: every connection's page and every plain
list's bound, multiplied by the lists around it, each fragment priced once."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

from graphql import (
    DocumentNode,
    FieldNode,
    GraphQLError,
    GraphQLField,
    GraphQLNamedType,
    GraphQLSchema,
    InlineFragmentNode,
    OperationDefinitionNode,
    SelectionSetNode,
    ValidationRule,
    get_named_type,
    is_composite_type,
    is_list_type,
    is_non_null_type,
)
from strawberry.extensions import SchemaExtension
from strawberry.types import ExecutionResult

from resolvers.common import RateLimitExceeded
from resolvers.conversations import MAX_RECIPIENTS
from resolvers.reports import CONTEXT_AROUND
from schema.fragments import dependency_order, fragments_of, operations_of
from schema.node import MAX_IDS

MAX_NODES = 20_000  # the most rows one query may ask for, counted before execution
DEFAULT_PAGE = 20  # what a connection returns when neither `first` nor `last` is given
LARGEST_PAGE = 100  # a page size passed in a variable is priced at the largest allowed
DEFAULT_LIST = 50  # what a plain list (no paging) may hold when nothing bounds it
# Plain lists whose length the API bounds, by field name.
LIST_BOUNDS = {
    "participants": MAX_RECIPIENTS + 1,  # the recipients and whoever started it
    "context": 2 * CONTEXT_AROUND + 1,  # a reported message and those around it
    "userErrors": 10,  # one per problem with the input
    "nodes": MAX_IDS,  # one per ID asked for
}


class QueryCost(ValidationRule):
    """Refuse a query that could return more than MAX_NODES rows in all, before any SQL
    runs (GitHub's rule: each page multiplies the pages around it; here plain lists
    count too, at their bound)."""

    def enter_document(self, node: DocumentNode, *_: Any) -> Any:
        """Price every operation, each fragment once."""
        pricer = Pricer(self.context.schema, node)
        for operation in operations_of(node):
            total = pricer.operation(operation)
            if total > MAX_NODES:
                self.report_error(
                    GraphQLError(
                        f"This query could return {total} items; the limit is {MAX_NODES}. "
                        "Ask for smaller pages (`first`/`last`).",
                        operation,
                    )
                )
        return self.SKIP


class Pricer:
    """How many items the operations of one document could return, knowing the schema:
    a connection costs its page, a plain list its bound, and each multiplies what is
    nested in it. Fragments are priced once, on their type condition; pricing stops
    counting once over MAX_NODES. Introspection is bounded by its own rules."""

    def __init__(self, schema: GraphQLSchema, document: DocumentNode) -> None:
        self.schema = schema
        self.known: dict[
            str, int
        ] = {}  # each fragment's price, once the ones it spreads have theirs
        fragments = fragments_of(document)
        for name in dependency_order(fragments):
            fragment = fragments[name]
            on = schema.get_type(fragment.type_condition.name.value)
            self.known[name] = self._price(fragment.selection_set, on)

    def operation(self, operation: OperationDefinitionNode) -> int:
        """The price of one operation."""
        root = self.schema.get_root_type(operation.operation)
        return self._price(operation.selection_set, root)

    def _price(self, selections: SelectionSetNode, parent: GraphQLNamedType | None) -> int:
        total = 0
        for selection in selections.selections:
            if isinstance(selection, FieldNode):
                total += self._field(selection, parent)
            elif isinstance(selection, InlineFragmentNode):
                condition = selection.type_condition
                inner = self.schema.get_type(condition.name.value) if condition else parent
                total += self._price(selection.selection_set, inner)
            else:
                total += self.known.get(selection.name.value, 0)  # type: ignore[attr-defined]
            if total > MAX_NODES:
                return total  # already over: no need to price the rest
        return total

    def _field(self, field: FieldNode, parent: GraphQLNamedType | None) -> int:
        definition = getattr(parent, "fields", {}).get(field.name.value)
        if definition is None or field.name.value.startswith("__"):  # bounded by its own rules
            return 0
        inner = (
            self._price(field.selection_set, get_named_type(definition.type))
            if field.selection_set
            else 0
        )
        size = _page_size(field, definition, parent)
        return inner if size is None else size + size * inner


def _page_size(
    field: FieldNode, definition: GraphQLField, parent: GraphQLNamedType | None
) -> int | None:
    """The items a field may return: a connection's page, a plain list's bound, or None
    for a field that is no list (and for a connection's edges, its page counted)."""
    if _is_connection(get_named_type(definition.type)):
        names = {argument.name.value: argument for argument in field.arguments or ()}
        for name in ("first", "last"):
            if name in names:
                value = getattr(names[name].value, "value", None)  # None: a variable
                digits = str(value).lstrip("-")
                return (
                    max(int(value), 0) if value is not None and digits.isdigit() else LARGEST_PAGE
                )
        return DEFAULT_PAGE
    wrapped = definition.type.of_type if is_non_null_type(definition.type) else definition.type
    if not is_list_type(wrapped) or not is_composite_type(get_named_type(wrapped)):
        return None  # one object, or a list of scalars that comes with its row
    if _is_connection(parent) and field.name.value == "edges":
        return None
    return LIST_BOUNDS.get(field.name.value, DEFAULT_LIST)


def _is_connection(named: GraphQLNamedType | None) -> bool:
    """A type that pages: every connection of this schema has edges and pageInfo."""
    fields = getattr(named, "fields", {})
    return "edges" in fields and "pageInfo" in fields


EXPENSIVE_ITEMS = 2_000  # a query that could return more counts against "expensive-*"


class ExpensiveQueries(SchemaExtension):
    """Count each query priced over EXPENSIVE_ITEMS against the client's and the
    member's budget for expensive queries; over budget, answer RATE_LIMITED instead.
    Its hook awaits the database, so the schema runs asynchronously only (as the server
    does; `Schema.execute_sync` and `introspect()` are not for it)."""

    async def on_execute(self) -> AsyncIterator[None]:
        """Price the operation about to run; refuse it when its budget is spent."""
        context = self.execution_context
        document = context.graphql_document
        if (
            document is not None
            and _operation_price(context.schema._schema, document, context.operation_name)
            > EXPENSIVE_ITEMS
        ):
            call = context.context.call
            keys = [("expensive-client", call.client_key)]
            if call.viewer is not None:
                keys.append(("expensive-member", str(call.viewer.id)))
            try:
                for rule, key in keys:
                    await call.limits.hit(rule, key)
            except RateLimitExceeded as limited:
                extensions = {"code": "RATE_LIMITED", "retryAfter": limited.retry_after}
                error = GraphQLError("Too many attempts; try again later.", extensions=extensions)
                context.result = ExecutionResult(data=None, errors=[error])
        yield


def _operation_price(schema: GraphQLSchema, document: DocumentNode, name: str | None) -> int:
    pricer = Pricer(schema, document)
    for operation in operations_of(document):
        if name is None or (operation.name is not None and operation.name.value == name):
            return pricer.operation(operation)
    return 0
