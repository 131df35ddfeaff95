"""Logging: one JSON object per line on stdout, in the parent and in every worker."""

from __future__ import annotations

import logging
import logging.config
from typing import Any

from pythonjsonlogger.core import RESERVED_ATTRS
from pythonjsonlogger.json import JsonFormatter

LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")
FIELDS = "%(asctime)s %(levelname)s %(name)s %(process)d %(message)s"
RENAMED = {"asctime": "time", "levelname": "level", "name": "logger", "process": "pid"}
# uvicorn repeats some messages with terminal colour codes for its own console: not a field.
LEFT_OUT = (*RESERVED_ATTRS, "color_message")


def json_formatter() -> logging.Formatter:
    """The formatter of every line: JSON, escaped to ASCII so that a crafted path or name
    cannot start a second line."""
    return JsonFormatter(
        FIELDS, rename_fields=RENAMED, reserved_attrs=LEFT_OUT, json_ensure_ascii=True
    )


def logging_config(level: str = "INFO") -> dict[str, Any]:
    """A dictConfig for the root logger and uvicorn's: JSON lines on stdout at `level`.

    `serve` hands it to uvicorn, which applies it in each worker process it starts."""
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"json": {"()": json_formatter}},
        "handlers": {
            "stdout": {
                "class": "logging.StreamHandler",
                "formatter": "json",
                "stream": "ext://sys.stdout",
            }
        },
        "root": {"level": level, "handlers": ["stdout"]},
        # uvicorn's loggers keep their own handlers unless told: send them to the root.
        # Its access log stays without a handler (serve turns it off too): its lines
        # carry client addresses and full URLs, tokens included.
        "loggers": {
            "uvicorn": {"level": level, "handlers": [], "propagate": True},
            "uvicorn.error": {"level": level, "handlers": [], "propagate": True},
            "uvicorn.access": {"level": "WARNING", "handlers": [], "propagate": False},
        },
    }


def configure_logging(level: str = "INFO") -> None:
    """Log JSON lines at `level`, unless the process already set up logging (uvicorn did
    from our config, a test runner or another server did its own): then leave it alone."""
    if logging.getLogger().handlers:
        return
    logging.config.dictConfig(logging_config(level))
