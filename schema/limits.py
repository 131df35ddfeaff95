"""The limits a document must keep before it runs: fragment spreads, depth, aliases
and introspection depth (each fragment measured once, see schema/fragments.py; the
price is schema/cost.py), and no NUL characters."""

from __future__ import annotations

from collections.abc import Iterator
from functools import lru_cache
from typing import Any

from graphql import (
    BREAK,
    ASTValidationRule,
    DocumentNode,
    FieldNode,
    FragmentSpreadNode,
    GraphQLError,
    GraphQLSchema,
    SelectionNode,
    SelectionSetNode,
    StringValueNode,
    ValidationRule,
    Visitor,
    visit,
)
from strawberry.extensions import SchemaExtension
from strawberry.schema.schema import validate_document
from strawberry.types import ExecutionResult

from schema.fragments import (
    Fragments,
    fragments_of,
    operations_of,
    per_fragment,
    too_many_spreads,
)

MAX_DEPTH = 12  # counting edges/node levels: a thread page needs 7
MAX_ALIASES = 30
MAX_INTROSPECTION_DEPTH = 20  # the standard introspection query (GraphiQL's) needs 15


class LimitedValidation(SchemaExtension):
    """Validation, cached by document as Strawberry's ValidationCache (which it
    replaces) caches it, with the cap on fragment spreads first: a document that would
    expand more than MAX_SPREADS of them is refused before any rule follows one."""

    def on_validate(self) -> Iterator[None]:
        """Set the validation errors (none for a valid document) before execution."""
        context = self.execution_context
        context.pre_execution_errors = _validate(
            context.schema._schema, context.graphql_document, context.validation_rules
        )
        yield


@lru_cache(maxsize=256)
def _validate(
    schema: GraphQLSchema, document: DocumentNode, rules: tuple[type[ASTValidationRule], ...]
) -> list[GraphQLError]:
    refusal = too_many_spreads(document)
    return [refusal] if refusal is not None else validate_document(schema, document, rules)


def _is_introspection(field: FieldNode) -> bool:
    return field.name.value.startswith("__")


class DepthLimit(ValidationRule):
    """Refuse an operation nested more than MAX_DEPTH fields deep, by the rule and with
    the message of Strawberry's QueryDepthLimiter (a field counts when it selects
    fields; introspection fields do not), measuring each fragment once."""

    def enter_document(self, node: DocumentNode, *_: Any) -> Any:
        """Measure every operation; report each one too deep where it first goes too deep."""
        fragments = fragments_of(node)
        depths = per_fragment(fragments, lambda f, known: _depth(f.selection_set, known))
        for operation in operations_of(node):
            if _depth(operation.selection_set, depths) > MAX_DEPTH:
                name = operation.name.value if operation.name else "anonymous"
                message = f"'{name}' exceeds maximum operation depth of {MAX_DEPTH}"
                where = _too_deep(operation.selection_set, fragments, depths)
                self.report_error(GraphQLError(message, where))
        return self.SKIP


def _depth(selections: SelectionSetNode, known: dict[str, int]) -> int:
    return max((_reach(s, known) for s in selections.selections), default=0)


def _reach(selection: SelectionNode, known: dict[str, int]) -> int:
    """How many levels below its own a selection's deepest field lies."""
    if isinstance(selection, FieldNode):
        if _is_introspection(selection) or not selection.selection_set:
            return 0
        return 1 + _depth(selection.selection_set, known)
    if isinstance(selection, FragmentSpreadNode):
        return known.get(selection.name.value, 0)
    return _depth(selection.selection_set, known)  # type: ignore[attr-defined]


def _too_deep(
    selections: SelectionSetNode, fragments: Fragments, known: dict[str, int]
) -> SelectionNode | None:
    """The first selection (in document order) nested more than MAX_DEPTH fields deep:
    down the first selection that reaches that far, level by level."""
    level = 0
    while True:
        for selection in selections.selections:
            if level > MAX_DEPTH:
                return selection
            if level + _reach(selection, known) > MAX_DEPTH:
                break
        else:
            return None
        if isinstance(selection, FieldNode):
            selections, level = selection.selection_set, level + 1  # type: ignore[assignment]
        elif isinstance(selection, FragmentSpreadNode):
            selections = fragments[selection.name.value].selection_set
        else:
            selections = selection.selection_set  # type: ignore[union-attr]


class AliasLimit(ValidationRule):
    """Refuse a document with more than MAX_ALIASES aliases, counting those in a
    fragment once per spread (Strawberry's MaxAliasesLimiter's rule and message), each
    fragment counted once."""

    def enter_document(self, node: DocumentNode, *_: Any) -> Any:
        """Count the aliases of every operation."""
        aliases = per_fragment(
            fragments_of(node), lambda f, known: _aliases(f.selection_set, known)
        )
        total = sum(_aliases(op.selection_set, aliases) for op in operations_of(node))
        if total > MAX_ALIASES:
            self.report_error(GraphQLError(f"{total} aliases found. Allowed: {MAX_ALIASES}"))
        return self.SKIP


def _aliases(selections: SelectionSetNode, known: dict[str, int]) -> int:
    total = 0
    for selection in selections.selections:
        if isinstance(selection, FragmentSpreadNode):
            total += known.get(selection.name.value, 0)
            continue
        if isinstance(selection, FieldNode) and selection.alias:
            total += 1
        if selection.selection_set:  # type: ignore[union-attr]
            total += _aliases(selection.selection_set, known)  # type: ignore[union-attr]
    return total


class IntrospectionDepthLimit(ValidationRule):
    """Bound the depth under `__schema` and `__type`, which the depth limit skips:
    introspection types refer to each other, so an unbounded query grows without end."""

    def enter_document(self, node: DocumentNode, *_: Any) -> Any:
        """Measure each fragment's nesting once."""
        self.nesting = per_fragment(
            fragments_of(node), lambda f, known: _nesting(f.selection_set, known)
        )

    def enter_field(self, node: FieldNode, *_: Any) -> Any:
        """Measure each introspection root, following fragment spreads."""
        if node.name.value in ("__schema", "__type"):
            inside = _nesting(node.selection_set, self.nesting) if node.selection_set else 0
            if 1 + inside > MAX_INTROSPECTION_DEPTH:
                self.report_error(
                    GraphQLError(
                        f"Introspection deeper than {MAX_INTROSPECTION_DEPTH} levels.", node
                    )
                )
            return self.SKIP
        return None


def _nesting(selections: SelectionSetNode, known: dict[str, int]) -> int:
    """How many levels of fields a selection holds (every field counts here)."""
    deepest = 0
    for selection in selections.selections:
        if isinstance(selection, FragmentSpreadNode):
            deepest = max(deepest, known.get(selection.name.value, 0))
        elif isinstance(selection, FieldNode):
            inner = _nesting(selection.selection_set, known) if selection.selection_set else 0
            deepest = max(deepest, 1 + inner)
        else:
            deepest = max(deepest, _nesting(selection.selection_set, known))
    return deepest


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


_NUL_BY_TEXT: dict[str, bool] = {}  # per document text: visited once, not per request
_NUL_CACHE_SIZE = 512


def _document_holds_nul(document: DocumentNode) -> bool:
    text = document.loc.source.body if document.loc is not None else None
    found = _NUL_BY_TEXT.get(text) if text is not None else None
    if found is None:
        finder = _NulFinder()
        visit(document, finder)
        found = finder.found
        if text is not None:
            if len(_NUL_BY_TEXT) >= _NUL_CACHE_SIZE:
                _NUL_BY_TEXT.clear()
            _NUL_BY_TEXT[text] = found
    return found


class RefuseNul(SchemaExtension):
    """Refuse text with NUL characters, in variables or in the document, before any
    resolver runs: PostgreSQL can neither store nor compare it, and no field needs it."""

    def on_execute(self) -> Iterator[None]:
        """Answer BAD_USER_INPUT instead of executing."""
        context = self.execution_context
        document = context.graphql_document
        if (document is not None and _document_holds_nul(document)) or _holds_nul(
            context.variables
        ):
            error = GraphQLError(
                "Text cannot contain NUL characters.", extensions={"code": "BAD_USER_INPUT"}
            )
            context.result = ExecutionResult(data=None, errors=[error])
        yield
