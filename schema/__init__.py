"""The GraphQL schema: root types merged from each domain, and the execution limits."""

from __future__ import annotations

import functools
from collections.abc import AsyncGenerator, AsyncIterator, Callable
from typing import Any

import strawberry
from graphql import (
    ASTValidationRule,
    GraphQLError,
    NoSchemaIntrospectionCustomRule,
    get_named_type,
)
from strawberry.extensions import AddValidationRules, MaxTokensLimiter, ParserCache
from strawberry.extensions.base_extension import SchemaExtension
from strawberry.types import ExecutionContext

from schema.accounts import AccountMutation, AccountQuery, User
from schema.activity import ActivityMutation, ActivityQuery
from schema.audit import AuditQuery
from schema.blocks import BlockMutation
from schema.conversations import (
    ConversationMutation,
    ConversationQuery,
    ConversationSubscription,
)
from schema.cost import ExpensiveQueries, QueryCost
from schema.errors import ErrorPolicy, log_errors, public_errors
from schema.forums import ForumMutation, ForumQuery
from schema.limits import (
    AliasLimit,
    DepthLimit,
    IntrospectionDepthLimit,
    LimitedValidation,
    RefuseNul,
)
from schema.messages import MessageMutation, MessageQuery, MessageSubscription
from schema.moderation import ModerationMutation, ModerationQuery
from schema.newsletters import NewsletterMutation
from schema.node import NodeQuery
from schema.notifications import (
    NotificationMutation,
    NotificationQuery,
    NotificationSubscription,
)
from schema.passwords import PasswordMutation
from schema.plans import PlanExecutor
from schema.policy import PolicyMutation, PolicyQuery
from schema.privacy import PrivacyMutation
from schema.profiles import ProfileMutation
from schema.reports import ReportMutation, ReportQuery
from schema.rights import RightsMutation, RightsQuery
from schema.search import SearchQuery
from schema.sessions import SessionMutation

MAX_TOKENS = 3000


@strawberry.type(description="Everything that can be read.")
class Query(
    NodeQuery,
    AccountQuery,
    ForumQuery,
    MessageQuery,
    ConversationQuery,
    PolicyQuery,
    RightsQuery,
    ModerationQuery,
    AuditQuery,
    ReportQuery,
    ActivityQuery,
    SearchQuery,
    NotificationQuery,
):
    pass


@strawberry.type(description="Everything that changes something.")
class Mutation(
    AccountMutation,
    SessionMutation,
    ProfileMutation,
    BlockMutation,
    PrivacyMutation,
    MessageMutation,
    ConversationMutation,
    ReportMutation,
    ModerationMutation,
    ForumMutation,
    PasswordMutation,
    NewsletterMutation,
    PolicyMutation,
    RightsMutation,
    ActivityMutation,
    NotificationMutation,
):
    pass


@strawberry.type(description="Live updates over graphql-transport-ws on /graphql.")
class Subscription(MessageSubscription, ConversationSubscription, NotificationSubscription):
    pass


class ForumSchema(strawberry.Schema):
    """Strawberry's schema, logging faults without the query text or values."""

    def process_errors(
        self, errors: list[GraphQLError], execution_context: ExecutionContext | None = None
    ) -> None:
        """Log each fault once, by type and request id."""
        context: Any = execution_context.context if execution_context else None
        log_errors(errors, getattr(context, "request_id", ""))

    async def stream(self, *args: Any, **kwargs: Any) -> Any:
        """Streams (subscriptions) too give every error a code and mask faults: their
        events do not pass through the extensions' operation hook."""
        result = await super().stream(*args, **kwargs)
        request_id = getattr(kwargs.get("context_value"), "request_id", "")
        if not isinstance(result, AsyncGenerator):
            public_errors(result, request_id)
            return result
        return _public_stream(result, request_id)


async def _public_stream(results: AsyncGenerator[Any, None], request_id: str) -> AsyncIterator[Any]:
    try:
        async for result in results:
            public_errors(result, request_id)
            yield result
    finally:
        await results.aclose()


@functools.cache
def build_schema(*, introspection: bool = True) -> ForumSchema:
    """The schema with its limits; introspection only where GraphiQL is on. Built once
    per process for each choice (it holds no request state), however many apps are made."""
    # Our own depth and alias rules, not Strawberry's limiters: theirs follow every
    # fragment spread, so a small document of nested fragments took exponential time.
    # The validation cache keys on these classes, made once.
    rules: list[type[ASTValidationRule]] = [
        DepthLimit,
        AliasLimit,
        IntrospectionDepthLimit,
        QueryCost,
    ]
    if not introspection:
        rules.append(NoSchemaIntrospectionCustomRule)
    extensions: list[Callable[[], SchemaExtension]] = [
        ErrorPolicy,
        RefuseNul,
        ExpensiveQueries,
        lambda: MaxTokensLimiter(max_token_count=MAX_TOKENS),
        lambda: AddValidationRules(rules),
        lambda: ParserCache(maxsize=256),
        LimitedValidation,  # the spread cap, then the rules (cached by document)
    ]
    schema = ForumSchema(
        query=Query,
        mutation=Mutation,
        subscription=Subscription,
        types=[User],
        extensions=extensions,
        # Queries the plan compiler knows run as compiled plans (schema/plans/).
        execution_context_class=PlanExecutor,
    )
    _describe_inputs(schema)
    return schema


def _describe_inputs(schema: ForumSchema) -> None:
    """Every mutation takes one `input`; its type documents the fields, so say where."""
    mutation = schema._schema.mutation_type
    assert mutation is not None
    for name, field in mutation.fields.items():
        argument = field.args.get("input")
        if argument is not None and not argument.description:
            argument.description = f"What {name} needs: see {get_named_type(argument.type)}."
