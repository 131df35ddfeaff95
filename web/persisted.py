"""Persisted queries: the client sends a document's SHA-256 instead of the document.

The protocol is Apollo's (`extensions.persistedQuery.sha256Hash`), which Apollo Client,
urql and graphql-request speak. PERSISTED_QUERIES=on learns a document the first time a
client sends it with its hash (each worker keeps a bounded set) and knows the
manifest's documents from the start; `only` runs the manifest's documents and nothing
else, so a production frontend can lock the API down to the queries it ships.
"""

from __future__ import annotations

import hashlib
import json
from collections import OrderedDict
from pathlib import Path
from typing import Any, Literal

Mode = Literal["off", "on", "only"]


class PersistedQueryError(Exception):
    """A request the persisted-query rules refuse, with the code clients look for."""

    def __init__(self, message: str, code: str, status: int = 200) -> None:
        super().__init__(message)
        self.message = message
        self.code = code
        self.status = status


NOT_FOUND = PersistedQueryError("PersistedQueryNotFound", "PERSISTED_QUERY_NOT_FOUND")
NOT_SUPPORTED = PersistedQueryError("PersistedQueryNotSupported", "PERSISTED_QUERY_NOT_SUPPORTED")
NOT_ALLOWED = PersistedQueryError(
    "Only the persisted queries of this site's clients may run here.",
    "PERSISTED_QUERY_REQUIRED",
    status=400,
)
MISMATCH = PersistedQueryError(
    "The query does not match its sha256Hash.", "BAD_USER_INPUT", status=400
)


def sha256(document: str) -> str:
    """The hex SHA-256 of a document, as clients compute it."""
    return hashlib.sha256(document.encode()).hexdigest()


def read_manifest(path: Path) -> dict[str, str]:
    """Hash to document from an Apollo persisted-query manifest, each hash checked."""
    data = json.loads(path.read_text())
    documents: dict[str, str] = {}
    for operation in data.get("operations", []):
        body = operation["body"]
        if operation["id"] != sha256(body):
            raise ValueError(f"{path}: the id of {operation.get('name')!r} is not its SHA-256")
        documents[operation["id"]] = body
    return documents


class PersistedQueries:
    """Turns a request's hash into its document, or refuses the request."""

    def __init__(self, mode: Mode, manifest: dict[str, str], max_learned: int = 1000) -> None:
        self.mode = mode
        self.manifest = manifest
        self.max_learned = max_learned
        self._learned: OrderedDict[str, str] = OrderedDict()

    def document(self, query: Any, extensions: Any) -> Any:
        """The document to run: the query sent, or the one its hash names."""
        wanted = _hash_in(extensions)
        if wanted is None:
            if self.mode == "only" and not (
                isinstance(query, str) and sha256(query) in self.manifest
            ):
                raise NOT_ALLOWED
            return query
        if self.mode == "off":
            raise NOT_SUPPORTED
        if isinstance(query, str):
            if sha256(query) != wanted:
                raise MISMATCH
            if self.mode == "only" and wanted not in self.manifest:
                raise NOT_ALLOWED
            self._learn(wanted, query)
            return query
        known = self.manifest.get(wanted) or self._learned.get(wanted)
        if known is None:
            raise NOT_FOUND
        return known

    def _learn(self, digest: str, document: str) -> None:
        if digest in self.manifest:
            return
        self._learned[digest] = document
        self._learned.move_to_end(digest)
        while len(self._learned) > self.max_learned:
            self._learned.popitem(last=False)


def names_hash(extensions: Any) -> bool:
    """Does a request name a persisted query's hash? Its answer can then depend on what
    this worker has learned, not on its own bytes alone."""
    return isinstance(extensions, dict) and isinstance(extensions.get("persistedQuery"), dict)


def _hash_in(extensions: Any) -> str | None:
    if not isinstance(extensions, dict):
        return None
    persisted = extensions.get("persistedQuery")
    if not isinstance(persisted, dict):
        return None
    digest = persisted.get("sha256Hash")
    if not isinstance(digest, str) or len(digest) != 64:
        raise MISMATCH
    return digest.lower()
