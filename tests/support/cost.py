"""Query cost in tests: the refusals of the validation rules, documents whose expansion
doubles, and a check that a refused query ran no SQL (section B)."""

from __future__ import annotations

from typing import Any

from schema.cost import MAX_NODES
from tests.support.harness import Client
from tests.support.sqlcount import count_statements


async def answer_without_sql(client: Client, query: str) -> dict[str, Any]:
    """POST a query and return its answer, failing the test if it ran any SQL beyond the
    per-request bookkeeping that `{ __typename }` runs (the response cache's version
    check, skipped for long documents): no resolver may have run."""
    with count_statements() as baseline:
        await client("{ __typename }")
    with count_statements() as seen:
        response = await client(query)
    assert [sql for sql in seen.sql if sql not in baseline.sql] == [], seen
    return response


def refused(message: str, column: int | None = None) -> dict[str, Any]:
    """A validation refusal with one error (at line 1, `column` if it has a location)."""
    error: dict[str, Any] = {"message": message}
    if column is not None:
        error["locations"] = [{"line": 1, "column": column}]
    error["extensions"] = {"code": "BAD_USER_INPUT"}
    return {"data": None, "errors": [error]}


def over_budget(items: int) -> dict[str, Any]:
    """The query-cost rule's refusal of a query that could return `items` rows."""
    return refused(
        f"This query could return {items} items; the limit is {MAX_NODES}. "
        "Ask for smaller pages (`first`/`last`).",
        1,
    )


def doubling(depth: int, leaf: str) -> str:
    """Fragments F0 = leaf and Fn = Fn-1 spread twice, selected from F{depth}: the
    document is small, its expansion 2**depth leaves."""
    fragments = [f"fragment F0 on Query {{ {leaf} }}"] + [
        f"fragment F{n} on Query {{ ...F{n - 1} ...F{n - 1} }}" for n in range(1, depth + 1)
    ]
    return f"query {{ ...F{depth} }} " + " ".join(fragments)
