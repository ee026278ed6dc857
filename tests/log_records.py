"""Every log record of a test, and the rule that none carries a traceback (exc_info): a
module's autouse fixture is `yield from no_tracebacks()`."""

from __future__ import annotations

import logging
from collections.abc import Iterator


class Records(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)

    def warnings(self, name: str) -> list[str]:
        """The WARNING lines of loggers under `name`."""
        return [
            r.getMessage()
            for r in self.records
            if r.levelno == logging.WARNING and r.name.startswith(name)
        ]


def no_tracebacks() -> Iterator[Records]:
    handler = Records()
    root = logging.getLogger()
    root.addHandler(handler)
    try:
        yield handler
    finally:
        root.removeHandler(handler)
    traces = [f"{r.name}: {r.getMessage()}" for r in handler.records if r.exc_info]
    assert not traces, traces
