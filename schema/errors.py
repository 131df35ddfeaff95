"""How failures reach clients: userErrors for expected ones, coded GraphQL errors for
access and input problems, and a masked message (with a request id) for faults."""

from __future__ import annotations

import logging
import re
import traceback
from collections.abc import Iterator
from enum import Enum
from typing import Any

import strawberry
from graphql import GraphQLError
from strawberry.extensions import SchemaExtension

from resolvers.codes import DOMAINS
from resolvers.common import BadInput, Forbidden, NotSignedIn, Problem, RateLimitExceeded, Refused
from schema.context import Context

log = logging.getLogger("forum.graphql")
MAX_ERRORS = 20  # a hostile document must not buy a megabyte of error text


# Built from the domains' code enums, so a code defined there is listed here.
UserErrorCode = strawberry.enum(
    Enum(  # type: ignore[misc]
        "UserErrorCode",
        {
            code.value: strawberry.enum_value(code.value, description=code.description)
            for domain in DOMAINS
            for code in domain
        },
    ),
    description="Every code a userError can carry (`UserError.kind`); the same names as "
    "`UserError.code`.",
)


@strawberry.type(description="Why a mutation changed nothing, in a form a person can fix.")
class UserError:
    field: list[str] | None = strawberry.field(
        description="Path to the input field at fault, e.g. ['username']; null if none."
    )
    message: str = strawberry.field(description="What went wrong, for people.")
    code: str = strawberry.field(description="Stable UPPER_SNAKE code, for programs.")
    kind: UserErrorCode = strawberry.field(  # type: ignore[valid-type]
        description="The same code as `code`, typed: the UserErrorCode enum lists every code."
    )

    @classmethod
    def of(cls, refused: Refused) -> list[UserError]:
        """The userErrors for a refusal."""
        return [cls.from_problem(problem) for problem in refused.problems]

    @classmethod
    def from_problem(cls, problem: Problem) -> UserError:
        """One userError."""
        field = list(problem.field) if problem.field else None
        code = str(problem.code)
        return cls(field=field, message=problem.message, code=code, kind=UserErrorCode[code])


_CODED = (NotSignedIn, Forbidden, BadInput)


# graphql-core quotes a whole rejected variable ("got invalid value {...}"): a password
# or an address inside it would travel back in the error, and into any log of it.
_ECHOED_VALUE = re.compile(r"^(Variable '\$\w+') (?:got|has) invalid value", re.DOTALL)


def _without_value(message: str) -> str:
    """Say why a variable was refused without repeating it (it may hold a password)."""
    match = _ECHOED_VALUE.match(message)
    if match is None:
        return message
    head = f"{match.group(1)} got an invalid value"
    if message.startswith(f"{match.group(1)} has invalid value"):
        # "...[ at .path]: <reason>, found: <the whole value>." keeps the reason only.
        reason, found, _ = message.partition(", found: ")
        return f"{reason.rstrip('.')}." if found else message
    _, separator, reason = message.rpartition("; ")  # the reason follows the last "; "
    return head + (f"; {reason}" if separator else ".")


def _coded(error: GraphQLError) -> GraphQLError | None:
    original = error.original_error
    if original is None and "code" in (error.extensions or {}):
        return error  # already rewritten (a stream's error passes here twice)
    if original is None:
        # Parse and validation errors (limits included): about the document itself.
        extensions = {**(error.extensions or {}), "code": "BAD_USER_INPUT"}
        return _copy(error, _without_value(error.message), extensions)
    if isinstance(original, RateLimitExceeded):
        extensions = {"code": "RATE_LIMITED", "retryAfter": original.retry_after}
        return _copy(error, "Too many attempts; try again later.", extensions)
    if isinstance(original, _CODED):
        return _copy(error, str(original), {"code": original.code})
    if isinstance(original, GraphQLError) and original.original_error is None:
        return _copy(error, _without_value(error.message), {"code": "BAD_USER_INPUT"})
    return None


def _copy(error: GraphQLError, message: str, extensions: dict[str, Any]) -> GraphQLError:
    return GraphQLError(
        message,
        nodes=error.nodes,
        positions=error.positions,
        source=error.source,
        path=error.path,
        extensions=extensions,
    )


class ErrorPolicy(SchemaExtension):
    """Give every error a code; replace unexpected faults by a masked message."""

    def on_operation(self) -> Iterator[None]:
        """After the operation, rewrite its errors."""
        request_id = getattr(self.execution_context.context, "request_id", "")
        try:
            yield
        except GraphQLError as error:
            # ParserCache parses inside its hook, so a syntax error (the token limit
            # included) escapes the operation instead of landing in its result.
            raise self._public(error, request_id) from None
        _note_operation(self.execution_context)
        public_errors(self.execution_context.result, request_id)

    @staticmethod
    def _public(error: GraphQLError, request_id: str) -> GraphQLError:
        coded = _coded(error)
        if coded is not None:
            return coded
        extensions = {"code": "INTERNAL_SERVER_ERROR", "requestId": request_id}
        return _copy(error, "Unexpected error.", extensions)


def public_message(error: GraphQLError) -> dict[str, Any]:
    """One error as a client may see it (for protocol messages outside a result)."""
    return ErrorPolicy._public(error, "").formatted  # type: ignore[return-value]


def public_errors(result: Any, request_id: str) -> None:
    """Rewrite a result's errors in place as ErrorPolicy does."""
    errors = getattr(result, "errors", None)
    if errors:
        result.errors = [ErrorPolicy._public(error, request_id) for error in errors[:MAX_ERRORS]]


def _note_operation(execution_context: Any) -> None:
    """Name the operation for the request's log line (bounded; logs escape it)."""
    context = execution_context.context
    if isinstance(context, Context) and execution_context.operation_name:
        context.operation_name = str(execution_context.operation_name)[:100]


def log_errors(errors: list[GraphQLError], request_id: str) -> None:
    """Log faults by type and request id only: no query text, no values, no addresses."""
    for error in errors[:MAX_ERRORS]:
        original = error.original_error
        if original is None or _coded(error) is not None:
            continue  # the client's mistake or a refusal, answered with its code
        # Frames only: an exception's message may quote values (an address, an email).
        frames = traceback.format_list(traceback.extract_tb(original.__traceback__))
        log.error(
            "unexpected %s at %s (request %s)\n%s",
            type(original).__name__,
            ".".join(str(part) for part in error.path or ()),
            request_id,
            "".join(frames).rstrip(),
        )
