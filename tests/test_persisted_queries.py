"""Persisted queries (Apollo's protocol): a client may send a document's SHA-256 instead
of the document; PERSISTED_QUERIES=only runs the manifest's documents and nothing else."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import pytest

from tests.support.harness import Client, Server
from tests.support.harness import test_settings as make_settings
from web.persisted import read_manifest

QUERY = "{ forums { slug } }"
DIGEST = hashlib.sha256(QUERY.encode()).hexdigest()
FORUMS = {"data": {"forums": []}}
NOT_FOUND = {
    "errors": [
        {"message": "PersistedQueryNotFound", "extensions": {"code": "PERSISTED_QUERY_NOT_FOUND"}}
    ]
}


def by_hash(digest: str = DIGEST, query: str | None = None) -> dict[str, Any]:
    """A request body naming its document by hash (and sending it when given)."""
    body: dict[str, Any] = {"extensions": {"persistedQuery": {"version": 1, "sha256Hash": digest}}}
    if query is not None:
        body["query"] = query
    return body


async def post(gql: Client, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    """POST a raw GraphQL body; the status and the JSON answer."""
    response = await gql.request("POST", "/graphql", json=body)
    return response.status_code, response.json()


async def test_an_unknown_hash_asks_the_client_for_the_document(gql: Client) -> None:
    assert await post(gql, by_hash()) == (200, NOT_FOUND)


async def test_a_document_sent_with_its_hash_runs_and_is_then_known_by_hash(gql: Client) -> None:
    assert await post(gql, by_hash(query=QUERY)) == (200, FORUMS)
    assert await post(gql, by_hash()) == (200, FORUMS)


async def test_a_document_whose_hash_does_not_match_is_refused(gql: Client) -> None:
    answer = await post(gql, by_hash("0" * 64, query=QUERY))
    assert answer == (
        400,
        {
            "errors": [
                {
                    "message": "The query does not match its sha256Hash.",
                    "extensions": {"code": "BAD_USER_INPUT"},
                }
            ]
        },
    )
    assert await post(gql, by_hash("0" * 64)) == (200, NOT_FOUND)


async def test_a_malformed_hash_is_an_input_error(gql: Client) -> None:
    status, answer = await post(gql, by_hash("abc"))
    assert (status, answer["errors"][0]["extensions"]) == (400, {"code": "BAD_USER_INPUT"})


async def test_a_persisted_query_works_over_get(gql: Client) -> None:
    await post(gql, by_hash(query=QUERY))
    extensions = json.dumps(by_hash()["extensions"])
    response = await gql.request("GET", "/graphql", params={"extensions": extensions})
    assert (response.status_code, response.json()) == (200, FORUMS)


async def test_a_persisted_mutation_still_runs_only_over_post(gql: Client) -> None:
    logout = "mutation { logout { userErrors { code } } }"
    digest = hashlib.sha256(logout.encode()).hexdigest()
    assert await post(gql, by_hash(digest, logout)) == (
        200,
        {"data": {"logout": {"userErrors": []}}},
    )
    extensions = json.dumps(by_hash(digest)["extensions"])
    response = await gql.request("GET", "/graphql", params={"extensions": extensions})
    assert response.status_code == 400


@pytest.fixture
def manifest(tmp_path: Path) -> Path:
    """An Apollo persisted-query manifest holding QUERY."""
    path = tmp_path / "manifest.json"
    operation = {"id": DIGEST, "name": "Forums", "type": "query", "body": QUERY}
    document = {"format": "apollo-persisted-query-manifest", "version": 1}
    path.write_text(json.dumps({**document, "operations": [operation]}))
    return path


async def test_the_manifests_documents_are_known_from_the_start(
    tmp_path: Path, database_url: str, manifest: Path
) -> None:
    settings = make_settings(tmp_path, database_url, persisted_queries_file=manifest)
    async with Server(settings) as gql:
        assert await post(gql, by_hash()) == (200, FORUMS)


async def test_only_mode_runs_the_manifest_by_hash_or_by_text(
    tmp_path: Path, database_url: str, manifest: Path
) -> None:
    settings = make_settings(
        tmp_path, database_url, persisted_queries="only", persisted_queries_file=manifest
    )
    async with Server(settings) as gql:
        assert await post(gql, by_hash()) == (200, FORUMS)
        assert await post(gql, {"query": QUERY}) == (200, FORUMS)


async def test_only_mode_refuses_any_other_document(
    tmp_path: Path, database_url: str, manifest: Path
) -> None:
    settings = make_settings(
        tmp_path, database_url, persisted_queries="only", persisted_queries_file=manifest
    )
    refused = {
        "errors": [
            {
                "message": "Only the persisted queries of this site's clients may run here.",
                "extensions": {"code": "PERSISTED_QUERY_REQUIRED"},
            }
        ]
    }
    other = "{ viewer { id } }"
    async with Server(settings) as gql:
        assert await post(gql, {"query": other}) == (400, refused)
        digest = hashlib.sha256(other.encode()).hexdigest()
        assert await post(gql, by_hash(digest, other)) == (400, refused)


async def test_off_mode_says_persisted_queries_are_not_supported(
    tmp_path: Path, database_url: str
) -> None:
    settings = make_settings(tmp_path, database_url, persisted_queries="off")
    async with Server(settings) as gql:
        assert await post(gql, by_hash(query=QUERY)) == (
            200,
            {
                "errors": [
                    {
                        "message": "PersistedQueryNotSupported",
                        "extensions": {"code": "PERSISTED_QUERY_NOT_SUPPORTED"},
                    }
                ]
            },
        )


def test_a_manifest_whose_id_is_not_the_hash_of_its_body_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "bad.json"
    operation = {"id": "0" * 64, "name": "Forums", "type": "query", "body": QUERY}
    path.write_text(json.dumps({"operations": [operation]}))
    with pytest.raises(ValueError, match="the id of 'Forums' is not its SHA-256"):
        read_manifest(path)
