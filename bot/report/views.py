"""The funnel in Block Kit, pure: a section of the admin's Home tab, and `/exalate report`'s
ephemeral message with the same figures."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from bot.report import texts
from bot.slack.blocks import Block, context, fields, header
from bot.slack.text import slack_date
from storage.repo.funnel import FunnelFigures

BLOCKS = 3  # what funnel_blocks adds to a view: the Home tab keeps room for them


def funnel_blocks(windows: list[FunnelFigures], *, now: datetime) -> list[Block]:
    """A header, each window's figures side by side, and how they are counted."""
    columns = [(texts.window(f), "\n".join(texts.lines(f))) for f in windows]
    return [
        header(texts.TITLE),
        *fields(columns),
        context(f"As of {slack_date(now)}. {texts.HOW_COUNTED}"),
    ]


def build_report(windows: list[FunnelFigures], *, now: datetime) -> dict[str, Any]:
    """`/exalate report`'s reply: the same blocks, the figures again in its text."""
    return {"text": texts.summary(windows), "blocks": funnel_blocks(windows, now=now)}
