"""Model definitions that the migration tooling relies on."""

import pytest
from tortoise import Tortoise

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
