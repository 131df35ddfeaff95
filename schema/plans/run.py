"""Running a plan: level by level over plain objects, every awaitable of a level awaited
together (so each level's loads go to the database as one batch per loader), the
privacy extension's own decision on each private field, and the data written as the
dicts and lists graphql-core would have built.

Whatever graphql-core would answer with an error (a resolver raising, a null in a
non-null field, a value a scalar refuses) is not imitated: the run stops (Bail) and the
executor runs the whole operation through graphql-core, whose errors are then the
answer's. Only queries are planned, so running one twice changes nothing."""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Awaitable
from types import GeneratorType
from typing import Any

from graphql import GraphQLSchema, Undefined
from graphql.execution.values import VariableValues, get_argument_values
from strawberry.schema.config import StrawberryConfig
from strawberry.types.arguments import convert_arguments

from resolvers import privacy
from schema.permissions import Private
from schema.plans.compile import ALWAYS, NEVER, Plan, PlannedField, Selection


class Bail(Exception):
    """Stop and let graphql-core answer this request (the message says why)."""


class NeedsFullInfo(Exception):
    """A resolver read more of Info than `context`: the document falls back for good.
    Not an AttributeError, so that `getattr(info, name, default)` cannot swallow it."""


class PlanInfo:
    """What a resolver called by a plan gets as `info`: the request's context, nothing
    else (a resolver that reads more raises NeedsFullInfo)."""

    __slots__ = ("context",)

    def __init__(self, context: Any) -> None:
        self.context = context

    def __getattr__(self, name: str) -> Any:
        raise NeedsFullInfo(name)


_KINDS: dict[type, bool] = {}  # is a value of this type awaitable? (inspect.isawaitable)


def awaitable(value: Any) -> bool:
    """inspect.isawaitable, decided once per type: only a generator's answer depends on
    the object (its code's flags)."""
    kind = type(value)
    found = _KINDS.get(kind)
    if found is None:
        found = inspect.isawaitable(value)
        if kind is not GeneratorType:
            _KINDS[kind] = found
    return found


_WHOLE = -1  # a batch's result: the values of the whole level
_POSTPONED: list[Any] = []  # a postponed batch's values (a marker, never written to)

# One level of the walk: for one selection, the objects it applies to and the dicts
# their fields are written into (parallel lists).
_Step = tuple[Selection, list[Any], list[dict[str, Any]]]


class Run:
    """One execution of a plan for one request."""

    def __init__(
        self,
        schema: GraphQLSchema,
        variables: VariableValues,
        context: Any,
        scalars: Any,
        config: StrawberryConfig,
    ) -> None:
        self.schema = schema
        self.variables = variables
        self.info = PlanInfo(context)
        self.scalars = scalars
        self.config = config
        self.arguments: dict[int, dict[str, Any]] = {}
        # Batches of a kind that a deeper level may need again (a thread's author, then
        # its messages' authors): they wait for it, so that both go out as one statement.
        self.postponed: list[tuple[PlannedField, list[Any], list[dict[str, Any]]]] = []

    async def __call__(self, plan: Plan, root: Any) -> dict[str, Any]:
        """The operation's data."""
        data: dict[str, Any] = {}
        level: list[_Step] = [(plan.root, [root], [data])]
        while level or self.postponed:
            level = await self.level(level)
        return data

    async def level(self, steps: list[_Step]) -> list[_Step]:
        """Resolve every field of one depth, await its awaitables at once, write the
        leaves and return the next depth."""
        resolved: list[tuple[PlannedField, list[Any], list[dict[str, Any]]]] = []
        waiting: list[Awaitable[Any]] = []
        places: list[tuple[list[Any], int]] = []
        started: set[Any] = set()  # the kinds of batch this level runs
        for selection, sources, outputs in steps:
            for field in selection.fields:
                if field.batch is not None:
                    if field.postpone:
                        resolved.append((field, _POSTPONED, outputs))  # keeps its place
                        self.postponed.append((field, sources, outputs))
                        continue
                    started.add(field.batch)
                    values = [None] * len(sources)
                    waiting.append(field.batch(sources, self.info.context))
                    places.append((values, _WHOLE))
                    resolved.append((field, values, outputs))
                    continue
                values = self.resolve(field, sources)
                if field.awaits == ALWAYS:
                    waiting.extend(values)
                    places.extend((values, index) for index in range(len(values)))
                elif field.awaits != NEVER:
                    for index, value in enumerate(values):
                        if awaitable(value):
                            waiting.append(value)
                            places.append((values, index))
                resolved.append((field, values, outputs))
        if self.postponed and (not steps or started):
            # With a batch of their kind (its loads go out together), or at the end.
            waiting_for = [p for p in self.postponed if not steps or p[0].batch in started]
            self.postponed = [p for p in self.postponed if p not in waiting_for]
            for field, sources, outputs in waiting_for:
                values = [None] * len(sources)
                waiting.append(field.batch(sources, self.info.context))  # type: ignore[misc]
                places.append((values, _WHOLE))
                resolved.append((field, values, outputs))
        if waiting:
            results = await asyncio.gather(*waiting, return_exceptions=True)
            for (values, index), result in zip(places, results, strict=True):
                if isinstance(result, BaseException):
                    raise result
                if index == _WHOLE:
                    values[:] = result
                else:
                    values[index] = result
        following: list[_Step] = []
        for field, values, outputs in resolved:
            if values is _POSTPONED:
                for output in outputs:
                    output[field.key] = None  # written when its batch ran
                continue
            step = self.write(field, values, outputs)
            if step is not None:
                following.append(step)
        return following

    def resolve(self, field: PlannedField, sources: list[Any]) -> list[Any]:
        """The field's value (or an awaitable of it) for each source object."""
        if field.typename is not None:
            return [field.typename] * len(sources)
        strawberry = field.strawberry
        assert strawberry is not None
        resolver = strawberry.base_resolver
        if resolver is None and field.guard is None:
            name = strawberry.python_name
            return [getattr(source, name) for source in sources]
        kwargs = self.kwargs(field) if field.definition and field.definition.args else {}
        info = self.info
        one = None  # the value of one source, when only the source is passed
        if resolver is not None:
            takes_self = resolver.self_parameter is not None
            named = [
                p.name
                for p in (resolver.parent_parameter, resolver.root_parameter)
                if p is not None
            ]
            info_name = resolver.info_parameter.name if resolver.info_parameter else None
            if takes_self and not named and info_name is None and not kwargs:
                one = resolver.wrapped_func  # what StrawberryResolver.__call__ calls

            def call(source: Any, _info: Any, **arguments: Any) -> Any:
                for name in named:
                    arguments[name] = source
                if info_name is not None:
                    arguments[info_name] = info
                return resolver(source, **arguments) if takes_self else resolver(**arguments)
        else:
            python_name = strawberry.python_name

            def call(source: Any, _info: Any, **arguments: Any) -> Any:
                return getattr(source, python_name)

        guard = field.guard
        if guard is None:
            if one is not None:
                return [one(source) for source in sources]
            return [call(source, info, **kwargs) for source in sources]
        if isinstance(guard, Private) and not field.is_async:
            # Private.resolve's decision (privacy.can_view) without its per-call View.
            setting = guard.setting
            reader = self.info.context.viewer
            values = []
            for source in sources:
                owner = source.owner
                if owner is None:  # the extension loads the owner first
                    values.append(guard.resolve(call, source, info, **kwargs))
                    continue
                view = source.view
                viewer = view.viewer if view is not None else reader
                if not privacy.can_view(viewer, owner, setting):
                    values.append(None)
                else:
                    values.append(one(source) if one is not None else call(source, info, **kwargs))
            return values
        # The extension's own decision, exactly as Strawberry would call it.
        decide = guard.resolve_async if field.is_async else guard.resolve
        return [decide(call, source, info, **kwargs) for source in sources]

    def kwargs(self, field: PlannedField) -> dict[str, Any]:
        """The field's arguments, coerced from the variables once per run."""
        key = id(field)
        found = self.arguments.get(key)
        if found is None:
            assert field.definition is not None and field.strawberry is not None
            raw = get_argument_values(field.definition, field.node, self.variables)
            found = convert_arguments(
                raw,
                field.strawberry.arguments,
                scalar_registry=self.scalars,
                config=self.config,
                info=self.info,  # type: ignore[arg-type]
            )
            self.arguments[key] = found
        return dict(found)

    def write(
        self, field: PlannedField, values: list[Any], outputs: list[dict[str, Any]]
    ) -> _Step | None:
        """Write the field into each output; its objects become the next depth's step."""
        key = field.key
        child = field.child
        if child is None:  # a leaf, or a list of leaves
            serialize = field.serialize
            unchanged = field.unchanged
            for value, output in zip(values, outputs, strict=True):
                if type(value) is unchanged:
                    output[key] = value  # what its serializer would return
                elif value is None:
                    if not field.nullable:
                        raise Bail(f"null in non-null {field.name}")
                    output[key] = None
                elif serialize is None:  # __typename
                    output[key] = value
                elif field.is_list:
                    output[key] = [self.leaf(field, item) for item in value]
                else:
                    output[key] = self.leaf(field, value)
            return None
        sources: list[Any] = []
        targets: list[dict[str, Any]] = []
        for value, output in zip(values, outputs, strict=True):
            if value is None:
                if not field.nullable:
                    raise Bail(f"null in non-null {field.name}")
                output[key] = None
            elif field.is_list:
                items = []
                for item in value:
                    if item is None:
                        if not field.item_nullable:
                            raise Bail(f"null item in {field.name}")
                        items.append(None)
                        continue
                    target: dict[str, Any] = {}
                    items.append(target)
                    sources.append(item)
                    targets.append(target)
                output[key] = items
            else:
                target = {}
                output[key] = target
                sources.append(value)
                targets.append(target)
        return (child, sources, targets) if sources else None

    @staticmethod
    def leaf(field: PlannedField, value: Any) -> Any:
        """A scalar or enum value as graphql-core writes it (its own output coercion)."""
        if value is None:
            if not field.item_nullable:
                raise Bail(f"null item in {field.name}")
            return None
        assert field.serialize is not None
        coerced = field.serialize(value)
        if coerced is Undefined or coerced is None:
            raise Bail(f"{field.name} did not serialize")
        return coerced
