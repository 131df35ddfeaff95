"""Measuring a document through its fragments once per fragment, never once per spread.

A small document can spread its fragments exponentially often (`F1 { ...F0 ...F0 }`,
`F2 { ...F1 ...F1 }`, ...). A rule that follows every spread does work in proportion
to that expansion: twenty such levels took seconds, forty never ended. Here each
fragment is measured once, in an order where every fragment comes after the fragments
it spreads, and a spread adds its fragment's measure: the work grows with the length of
the document. Nothing here recurses from one fragment into another, so a long chain of
fragments cannot exhaust the interpreter's stack either.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator
from typing import TypeVar

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    InlineFragmentNode,
    OperationDefinitionNode,
    SelectionSetNode,
)

T = TypeVar("T")
MAX_SPREADS = 5_000  # fragment spreads a document may expand to, counted per expansion

Fragments = dict[str, FragmentDefinitionNode]


def fragments_of(document: DocumentNode) -> Fragments:
    """The document's fragment definitions by name."""
    return {d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)}


def operations_of(document: DocumentNode) -> list[OperationDefinitionNode]:
    """The document's operations, in order."""
    return [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]


def selection_sets(root: SelectionSetNode) -> Iterator[SelectionSetNode]:
    """A selection set and every one nested in it (not through spreads), without recursion."""
    stack = [root]
    while stack:
        current = stack.pop()
        yield current
        for selection in current.selections:
            if isinstance(selection, (FieldNode, InlineFragmentNode)) and selection.selection_set:
                stack.append(selection.selection_set)


def spreads_in(root: SelectionSetNode) -> Counter[str]:
    """How often each fragment is spread directly in a selection (nested ones included)."""
    return Counter(
        selection.name.value
        for current in selection_sets(root)
        for selection in current.selections
        if isinstance(selection, FragmentSpreadNode)
    )


def dependency_order(fragments: Fragments) -> list[str]:
    """Fragment names, each after every fragment it spreads (a cycle is cut where it
    closes; graphql-core's NoFragmentCyclesRule reports it)."""
    spreads = {name: list(spreads_in(f.selection_set)) for name, f in fragments.items()}
    order: list[str] = []
    done: set[str] = set()
    for root in fragments:
        if root in done:
            continue
        path, on_path = [(root, iter(spreads[root]))], {root}
        while path:
            name, pending = path[-1]
            step = next(
                (s for s in pending if s in fragments and s not in done and s not in on_path),
                None,
            )
            if step is None:
                path.pop()
                on_path.discard(name)
                done.add(name)
                order.append(name)
            else:
                path.append((step, iter(spreads[step])))
                on_path.add(step)
    return order


def per_fragment(
    fragments: Fragments, measure: Callable[[FragmentDefinitionNode, dict[str, T]], T]
) -> dict[str, T]:
    """`measure` of every fragment, each given the measures of the fragments it spreads
    (a spread missing from them is unknown or closes a cycle: it adds nothing)."""
    known: dict[str, T] = {}
    for name in dependency_order(fragments):
        known[name] = measure(fragments[name], known)
    return known


def expanded_spreads(document: DocumentNode, cap: int = MAX_SPREADS) -> int:
    """How many fragment spreads checking the document's operations meets, each spread
    inside a fragment counted every time that fragment is met; at most cap + 1."""

    def spread_count(spreads: Counter[str], known: dict[str, int]) -> int:
        total = sum(times * (1 + known.get(name, 0)) for name, times in spreads.items())
        return min(total, cap + 1)

    fragments = fragments_of(document)
    known = per_fragment(
        fragments, lambda f, known: spread_count(spreads_in(f.selection_set), known)
    )
    total = sum(spread_count(spreads_in(op.selection_set), known) for op in operations_of(document))
    return min(total, cap + 1)


def too_many_spreads(document: DocumentNode) -> GraphQLError | None:
    """The refusal of a document whose fragment spreads expand past MAX_SPREADS, if it is one."""
    if expanded_spreads(document) <= MAX_SPREADS:
        return None
    return GraphQLError(
        f"This document expands more than {MAX_SPREADS} fragment spreads; "
        "spread each fragment fewer times."
    )
