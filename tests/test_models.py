"""Model definitions that the migration tooling relies on."""

import pytest
from tortoise import Tortoise
from tortoise.migrations.autodetector import MigrationAutodetector

from models import tortoise_config


@pytest.fixture
async def model_classes():
    await Tortoise.init(config=tortoise_config("sqlite://:memory:"))
    yield [model for app in Tortoise.apps.values() for model in app.values()]
    await Tortoise.close_connections()


async def test_no_model_docstring_holds_a_semicolon(model_classes) -> None:
    # Tortoise writes docstrings into the schema as table comments and splits its
    # SQL scripts on ";", so a semicolon in a docstring breaks the migration.
    offenders = [m.__name__ for m in model_classes if ";" in (m.__doc__ or "")]

    assert offenders == []


async def test_the_migrations_describe_the_models_exactly(model_classes) -> None:
    # What `tortoise makemigrations` would write next: nothing, once every model change
    # has its migration (a hand-written step such as 0006's triggers is no model change).
    detector = MigrationAutodetector(Tortoise.apps, tortoise_config("sqlite://:memory:")["apps"])

    assert [writer.name for writer in await detector.changes()] == []
