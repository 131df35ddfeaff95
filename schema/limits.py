"""Validation rules beyond Strawberry's own limiters."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from graphql import (
    BREAK,
    FieldNode,
    FragmentSpreadNode,
    GraphQLError,
    InlineFragmentNode,
    SelectionSetNode,
    StringValueNode,
    ValidationContext,
    ValidationRule,
    Visitor,
    visit,
)
from strawberry.extensions import SchemaExtension
from strawberry.types import ExecutionResult

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
        total = self._cost(node.selection_set, 1, set())
        if total > MAX_NODES:
            self.report_error(
                GraphQLError(
                    f"This query could return {total} items; the limit is {MAX_NODES}. "
                    "Ask for smaller pages (`first`/`last`).",
                    node,
                )
            )
        return self.SKIP

    def _cost(self, selections: SelectionSetNode | None, multiplier: int, seen: set[str]) -> int:
        if selections is None:
            return 0
        total = 0
        for selection in selections.selections:
            if isinstance(selection, FieldNode):
                size = self._page_size(selection)
                if size is None:
                    total += self._cost(selection.selection_set, multiplier, seen)
                else:
                    total += multiplier * size
                    total += self._cost(selection.selection_set, multiplier * size, seen)
            elif isinstance(selection, InlineFragmentNode):
                total += self._cost(selection.selection_set, multiplier, seen)
            elif isinstance(selection, FragmentSpreadNode) and selection.name.value not in seen:
                fragment = self.context.get_fragment(selection.name.value)
                if fragment is not None:
                    inner = seen | {selection.name.value}
                    total += self._cost(fragment.selection_set, multiplier, inner)
            if total > MAX_NODES:
                return total  # already over: no need to price the rest
        return total

    def _page_size(self, field: FieldNode) -> int | None:
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
