"""Validation rules beyond Strawberry's own limiters."""

from __future__ import annotations

from typing import Any

from graphql import (
    FieldNode,
    FragmentSpreadNode,
    GraphQLError,
    InlineFragmentNode,
    SelectionSetNode,
    ValidationContext,
    ValidationRule,
)

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
