"""The privacy policy as data."""

from __future__ import annotations

from datetime import datetime

import strawberry

from models import policy as models
from resolvers import policy


@strawberry.type(description="One published version of the site's privacy policy.")
class PolicyVersion:
    version: str = strawberry.field(
        description="Version label; registration must accept the current one."
    )
    published_at: datetime = strawberry.field(description="When this version took effect.")
    body: str = strawberry.field(description="The policy text, in Markdown.")
    summary_of_changes: str | None = strawberry.field(
        description="What changed since the version before; null for the first."
    )

    @classmethod
    def from_row(cls, row: models.PolicyVersion) -> PolicyVersion:
        """The type for a database row."""
        return cls(
            version=row.version,
            published_at=row.published_at,
            body=row.body,
            summary_of_changes=row.summary_of_changes,
        )


@strawberry.type
class PolicyQuery:
    @strawberry.field(description="The privacy policy in force now.")
    async def privacy_policy(self) -> PolicyVersion:
        return PolicyVersion.from_row(await policy.current_policy())
