"""The Slack emulator as the tests use it: bot/devtools' emulator, holding every call the bot
makes to the project's table of Slack's facts and slack_sdk's models (tests/specs.py); what
looks wrong lands in ``problems``."""

from __future__ import annotations

from typing import Any

from bot.devtools import slack_emulator as base
from bot.devtools.slack_emulator import Call, SlackError, with_block_ids
from tests import specs

__all__ = ["Call", "SlackEmulator", "SlackError", "with_block_ids"]


class SlackEmulator(base.SlackEmulator):
    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("checker", specs)
        super().__init__(**kwargs)
