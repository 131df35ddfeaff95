"""Compiled execution plans: a query the compiler knows runs as a plan (schema/plans/
compile.py builds it once per document, run.py walks it), everything else through
graphql-core, per document, with one log line the first time and a counter.

The plans replace graphql-core's executor only: parsing, validation, the limits, the
price check and the error policy run as before (Strawberry's pipeline around it), and
the view encodes both paths' answers with the one encoder below (`encode`)."""

from __future__ import annotations

import hashlib
import logging
from collections import Counter, OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import orjson
from graphql import DirectiveNode, DocumentNode, GraphQLError, visit
from graphql.execution.executor import CollectedErrors
from graphql.execution.values import get_argument_values
from graphql.language import Visitor
from graphql.type import GraphQLIncludeDirective, GraphQLSkipDirective
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext

from schema.plans.compile import CannotPlan, Plan, compile_operation
from schema.plans.run import Bail, NeedsFullInfo, Run

log = logging.getLogger("forum.plans")

MAX_DOCUMENTS = 512  # documents whose plans (or fallback reasons) are kept per process
ORJSON_OPTIONS = 0  # one encoder for both executors: compact, UTF-8


def encode(data: object) -> bytes:
    """Every GraphQL answer's JSON, planned or not."""
    return orjson.dumps(data, option=ORJSON_OPTIONS)


@dataclass
class PlanStats:
    """What the executor did since the process started (bench/ and /metrics read it)."""

    planned: int = 0  # requests answered by a plan
    fallback: Counter[str] = field(default_factory=Counter)  # requests by reason
    # Told of every request (True: planned); web/app.py points it at /metrics' counter.
    observer: Callable[[bool], None] | None = None

    def ran_plan(self) -> None:
        """Count one request a plan answered."""
        self.planned += 1
        if self.observer is not None:
            self.observer(True)

    def fell_back(self, reason: str) -> None:
        """Count one request that graphql-core answered."""
        self.fallback[reason] += 1
        if self.observer is not None:
            self.observer(False)


STATS = PlanStats()


@dataclass
class _Document:
    """One operation of one document: its @include/@skip uses and a plan per outcome."""

    name: str  # for the log: operation name and a digest of the text (never the text)
    directives: list[DirectiveNode]
    plans: dict[tuple[bool, ...], Plan | str] = field(default_factory=dict)
    logged: bool = False


# By schema too: a plan holds that schema's fields (tests build several in one process).
_DOCUMENTS: OrderedDict[tuple[int, str, str | None], _Document] = OrderedDict()


def _document(
    schema: object, text: str, operation: str | None, node: Callable[[], DocumentNode]
) -> _Document:
    key = (id(schema), text, operation)
    found = _DOCUMENTS.get(key)
    if found is not None:
        _DOCUMENTS.move_to_end(key)
        return found
    directives: list[DirectiveNode] = []

    class Conditions(Visitor):
        def enter_directive(self, directive: DirectiveNode, *_: Any) -> None:
            if directive.name.value in ("include", "skip"):
                directives.append(directive)

    visit(node(), Conditions())
    digest = hashlib.sha256(text.encode()).hexdigest()[:12]
    found = _Document(f"{operation or 'anonymous'} ({digest})", directives)
    _DOCUMENTS[key] = found
    if len(_DOCUMENTS) > MAX_DOCUMENTS:
        _DOCUMENTS.popitem(last=False)
    return found


def plans_on(context: Any) -> bool:
    """PLAN_EXECUTOR: on unless the settings say off."""
    call = getattr(context, "call", None)
    settings = getattr(call, "settings", None)
    return getattr(settings, "plan_executor", "on") == "on"


class PlanExecutor(StrawberryGraphQLCoreExecutionContext):
    """graphql-core's executor, answering with a plan where the compiler made one."""

    def execute_operation(self, serially: bool | None = None) -> Any:
        """Run the plan of this document, or graphql-core's execution."""
        if not plans_on(self.context_value):
            return super().execute_operation(serially)
        try:
            document, outcome, plan = self._plan()
        except GraphQLError:
            return super().execute_operation(serially)  # it reports the same error
        if isinstance(plan, str):
            self._fall_back(document, plan)
            return super().execute_operation(serially)
        return self._run(document, outcome, plan, serially)

    def _plan(self) -> tuple[_Document, tuple[bool, ...], Plan | str]:
        operation = self.operation
        source = operation.loc.source.body if operation.loc is not None else ""
        name = operation.name.value if operation.name else None
        document = _document(self.schema, source, name, self.operation_document)
        outcome = tuple(
            bool(get_argument_values(_DIRECTIVES[d.name.value], d, self.variable_values)["if"])
            for d in document.directives
        )
        plan = document.plans.get(outcome)
        if plan is None:
            try:
                plan = compile_operation(
                    self.schema, self.fragments, self.variable_values, operation
                )
            except CannotPlan as reason:
                plan = str(reason)
            document.plans[outcome] = plan
        return document, outcome, plan

    def operation_document(self) -> DocumentNode:
        """The document the operation came in (its fragments' conditions count too)."""
        return DocumentNode(
            definitions=(self.operation, *(f.definition for f in self.fragments.values()))
        )

    def _fall_back(self, document: _Document, reason: str) -> None:
        STATS.fell_back(reason)
        if not document.logged:
            document.logged = True
            log.info(
                "plan fallback",
                extra={"operation": document.name, "reason": reason},
            )

    async def _run(
        self, document: _Document, outcome: tuple[bool, ...], plan: Plan, serially: bool | None
    ) -> Any:
        converter = self.schema._strawberry_schema.schema_converter  # type: ignore[attr-defined]
        run = Run(
            self.schema,
            self.variable_values,
            self.context_value,
            converter.scalar_registry,
            converter.config,
        )
        try:
            data = await run(plan, self.root_value)
        except NeedsFullInfo as needed:
            reason = f"a resolver reads info.{needed.args[0]}"
            document.plans[outcome] = reason
            return await self._again(document, reason, serially)
        except Bail as bail:
            return await self._again(None, f"at run time: {bail}", serially)
        except Exception as error:
            return await self._again(None, f"at run time: {type(error).__name__}", serially)
        STATS.ran_plan()
        return self.build_response(data)

    async def _again(self, document: _Document | None, reason: str, serially: bool | None) -> Any:
        """graphql-core's answer after a plan stopped: fresh errors, the same loaders."""
        if document is not None:
            self._fall_back(document, reason)
        else:
            STATS.fell_back(reason)
        self.collected_errors = CollectedErrors()
        result = super().execute_operation(serially)
        return await result if self.is_awaitable(result) else result


_DIRECTIVES = {"include": GraphQLIncludeDirective, "skip": GraphQLSkipDirective}
