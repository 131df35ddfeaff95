"""The SQL statement counter the N+1 tests rely on counts exactly, on either database."""

from __future__ import annotations

import logging

import pytest
from tortoise.transactions import in_transaction

from models.accounts import User
from models.profiles import Follow
from tests.support.harness import Client
from tests.support.members import member
from tests.support.sqlcount import LOGGER, count_statements
from web.cache import counted_version_reads


async def test_each_statement_the_orm_runs_is_counted_once(gql: Client) -> None:
    with count_statements() as statements:
        await User.filter(id=0).first()
        await User.all().count()
        await Follow.filter(id=0).delete()
        async with in_transaction():
            await User.filter(id=0).exists()
            await User.filter(id=0).update(newsletter=True)

    assert [sql.split()[0] for sql in statements.sql] == [
        "SELECT",
        "SELECT",
        "DELETE",
        "SELECT",
        "UPDATE",
    ]
    assert statements.count == 5


async def test_the_statements_of_a_request_are_counted(gql: Client) -> None:
    await member(gql, "ada")

    with count_statements() as anonymous:
        await gql('{ user(username: "nobody") { username } }')
    with count_statements() as signed_in:
        await gql("{ viewer { username } }", as_member="ada")

    # The response cache's versions (on PostgreSQL: SQLite reads them on a connection of
    # the cache's own), then the username lookup (the answer is cached).
    reads = counted_version_reads()
    assert anonymous.sql[: len(reads)] == reads
    assert anonymous.count == len(reads) + 1
    assert signed_in.count == 1  # the session and its member, in one join


async def test_a_cached_answer_costs_no_statement_but_the_version_read(gql: Client) -> None:
    await gql('{ user(username: "nobody") { username } }')  # kept: it reads the site-wide key
    with count_statements() as again:
        await gql('{ user(username: "nobody") { username } }')
    assert again.sql == counted_version_reads()


async def test_the_logger_is_put_back_after_the_block(gql: Client) -> None:
    logger = logging.getLogger(LOGGER)
    before = (logger.level, logger.propagate, list(logger.handlers))

    with pytest.raises(RuntimeError), count_statements() as statements:
        await User.all().count()
        raise RuntimeError("the block failed")
    await User.all().count()

    assert statements.count == 1
    assert (logger.level, logger.propagate, list(logger.handlers)) == before
    assert logger.level == logging.WARNING  # as the app keeps it: the records hold values
