"""Validation rules beyond Strawberry's own limiters."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

from graphql import (
    BREAK,
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    InlineFragmentNode,
    OperationDefinitionNode,
    SelectionSetNode,
    StringValueNode,
    ValidationContext,
    ValidationRule,
    Visitor,
    visit,
)
from strawberry.extensions import SchemaExtension
from strawberry.types import ExecutionResult

from services.ratelimits import RateLimitExceeded

MAX_INTROSPECTION_DEPTH = 20  # the standard introspection query (GraphiQL's) needs 15


class IntrospectionDepthLimit(ValidationRule):
    """Bound the depth under `__schema` and `__type`, which QueryDepthLimiter skips:
    introspection types refer to each other, so an unbounded query grows without end."""

    def enter_field(self, node: FieldNode, *_: Any) -> Any:
        """Measure each introspection root once, following fragment spreads."""
        if node.name.value in ("__schema", "__type"):
            depth = self._depth(node.selection_set, 1, set())
            if depth > MAX_INTROSPECTION_DEPTH:
                self.report_error(
                    GraphQLError(
                        f"Introspection deeper than {MAX_INTROSPECTION_DEPTH} levels.", node
                    )
                )
            return self.SKIP
        return None

    def _depth(self, selections: SelectionSetNode | None, level: int, seen: set[str]) -> int:
        if selections is None or level > MAX_INTROSPECTION_DEPTH:
            return level
        deepest = level
        for selection in selections.selections:
            if isinstance(selection, FieldNode):
                deepest = max(deepest, self._depth(selection.selection_set, level + 1, seen))
            elif isinstance(selection, InlineFragmentNode):
                deepest = max(deepest, self._depth(selection.selection_set, level, seen))
            elif isinstance(selection, FragmentSpreadNode) and selection.name.value not in seen:
                fragment = self.context.get_fragment(selection.name.value)
                if fragment is not None:
                    inner = self._depth(
                        fragment.selection_set, level, seen | {selection.name.value}
                    )
                    deepest = max(deepest, inner)
        return deepest


__all__ = ["IntrospectionDepthLimit", "ValidationContext"]


MAX_NODES = 20_000  # the most rows one query may ask for, counted before execution
DEFAULT_PAGE = 20  # what a connection returns when neither `first` nor `last` is given


class QueryCost(ValidationRule):
    """Refuse a query whose connections could return more than MAX_NODES rows in all,
    before any SQL runs (GitHub's rule: each page multiplies the pages around it)."""

    def enter_operation_definition(self, node: Any, *_: Any) -> Any:
        """Price one operation, following fragment spreads."""
        total = price(node.selection_set, 1, set(), self.context.get_fragment)
        if total > MAX_NODES:
            self.report_error(
                GraphQLError(
                    f"This query could return {total} items; the limit is {MAX_NODES}. "
                    "Ask for smaller pages (`first`/`last`).",
                    node,
                )
            )
        return self.SKIP


Fragments = Callable[[str], FragmentDefinitionNode | None]


def price(
    selections: SelectionSetNode | None, multiplier: int, seen: set[str], fragment: Fragments
) -> int:
    """How many items a selection could return: each connection's page times the pages
    around it. Stops counting once over MAX_NODES."""
    if selections is None:
        return 0
    total = 0
    for selection in selections.selections:
        if isinstance(selection, FieldNode):
            size = _page_size(selection)
            if size is None:
                total += price(selection.selection_set, multiplier, seen, fragment)
            else:
                total += multiplier * size
                total += price(selection.selection_set, multiplier * size, seen, fragment)
        elif isinstance(selection, InlineFragmentNode):
            total += price(selection.selection_set, multiplier, seen, fragment)
        elif isinstance(selection, FragmentSpreadNode) and selection.name.value not in seen:
            found = fragment(selection.name.value)
            if found is not None:
                inner = seen | {selection.name.value}
                total += price(found.selection_set, multiplier, inner, fragment)
        if total > MAX_NODES:
            return total  # already over: no need to price the rest
    return total


def _page_size(field: FieldNode) -> int | None:
    """The page a connection field asks for, or None for a field that is no list."""
    names = {argument.name.value: argument for argument in field.arguments or ()}
    if not ({"first", "last"} & names.keys()) and not _is_connection(field):
        return None
    for name in ("first", "last"):
        argument = names.get(name)
        if argument is None:
            continue
        value = getattr(argument.value, "value", None)
        if value is None:  # a variable: price it at the largest page allowed
            return 100
        return int(value) if str(value).lstrip("-").isdigit() else 100
    return DEFAULT_PAGE


def _is_connection(field: FieldNode) -> bool:
    """A field that pages: it selects `edges` (every connection of this schema does)."""
    selections = field.selection_set.selections if field.selection_set else ()
    return any(isinstance(s, FieldNode) and s.name.value == "edges" for s in selections)


class _NulFinder(Visitor):
    found = False

    def enter_string_value(self, node: StringValueNode, *_: Any) -> Any:
        if "\x00" in node.value:
            self.found = True
            return BREAK
        return None


def _holds_nul(value: Any) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_holds_nul(k) or _holds_nul(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_holds_nul(item) for item in value)
    return False


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
            and _operation_price(document, context.operation_name) > EXPENSIVE_ITEMS
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


def _operation_price(document: DocumentNode, name: str | None) -> int:
    fragments = {
        d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)
    }
    operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    for operation in operations:
        if name is None or (operation.name is not None and operation.name.value == name):
            return price(operation.selection_set, 1, set(), fragments.get)
    return 0


class RefuseNul(SchemaExtension):
    """Refuse text with NUL characters, in variables or in the document, before any
    resolver runs: PostgreSQL can neither store nor compare it, and no field needs it."""

    def on_execute(self) -> Iterator[None]:
        """Answer BAD_USER_INPUT instead of executing."""
        context = self.execution_context
        finder = _NulFinder()
        if context.graphql_document is not None:
            visit(context.graphql_document, finder)
        if finder.found or _holds_nul(context.variables):
            error = GraphQLError(
                "Text cannot contain NUL characters.", extensions={"code": "BAD_USER_INPUT"}
            )
            context.result = ExecutionResult(data=None, errors=[error])
        yield
