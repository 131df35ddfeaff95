"""The Relay `Node` interface."""

from __future__ import annotations

import strawberry


@strawberry.interface(description="An object with a global ID, fetchable with `node(id:)`.")
class Node:
    id: strawberry.ID = strawberry.field(description="Opaque global ID of the object.")
