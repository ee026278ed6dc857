"""Block Kit primitives, written once: every view and message is built from these, and each
clips its text where Slack would refuse it (the limits are Slack's, per object)."""

from __future__ import annotations

import json
from typing import Any

from bot.slack.text import plain

Block = dict[str, Any]

MRKDWN_MAX = 3000  # a section's or context element's text
HEADER_MAX = 150  # a header block's plain text
FIELD_MAX = 2000  # a section field's text
FIELDS_PER_SECTION = 10
BUTTON_TEXT_MAX = 75
VIEW_TITLE_MAX = 24  # a modal's title, submit and close
METADATA_MAX = 3000  # a view's private_metadata


def plain_text(text: str, limit: int = BUTTON_TEXT_MAX) -> Block:
    return {"type": "plain_text", "text": plain(text, limit), "emoji": True}


def mrkdwn(text: str) -> Block:
    return {"type": "mrkdwn", "text": text[:MRKDWN_MAX]}


def section(text: str) -> Block:
    return {"type": "section", "text": mrkdwn(text)}


def header(text: str) -> Block:
    return {"type": "header", "text": {"type": "plain_text", "text": plain(text, HEADER_MAX)}}


def context(text: str) -> Block:
    return {"type": "context", "elements": [mrkdwn(text)]}


def fields(pairs: list[tuple[str, str]]) -> list[Block]:
    """Sections of two-column fields (at most 10 a section, 2,000 characters a field)."""
    cells = [mrkdwn(f"*{label}*\n{value}"[:FIELD_MAX]) for label, value in pairs]
    return [
        {"type": "section", "fields": cells[i : i + FIELDS_PER_SECTION]}
        for i in range(0, len(cells), FIELDS_PER_SECTION)
    ]


def message(text: str, *extra: Block) -> Block:
    """A message: its text as the notification fallback, and as its first section."""
    return {"text": text, "blocks": [section(text), *extra]}


def button(action_id: str, text: str, value: str, style: str | None = None) -> Block:
    element: Block = {
        "type": "button",
        "action_id": action_id,
        "text": plain_text(text),
        "value": value,
    }
    if style:
        element["style"] = style
    return element


def actions(block_id: str, *elements: Block) -> Block:
    return {"type": "actions", "block_id": block_id, "elements": list(elements)}


def option(value: str, text: str, description: str | None = None) -> Block:
    choice: Block = {"text": plain_text(text), "value": value}
    if description:
        choice["description"] = plain_text(description)
    return choice


def input_block(
    block_id: str,
    label: str,
    element: Block,
    *,
    optional: bool = False,
    hint: str | None = None,
) -> Block:
    block: Block = {
        "type": "input",
        "block_id": block_id,
        "label": plain_text(label, 2000),
        "element": element,
        "optional": optional,
    }
    if hint:
        block["hint"] = plain_text(hint, 2000)
    return block


def text_input(
    block_id: str,
    label: str,
    *,
    initial: str | None = None,
    max_length: int | None = None,
    multiline: bool = False,
    optional: bool = False,
    placeholder: str | None = None,
    hint: str | None = None,
) -> Block:
    """An input block holding a plain_text_input whose action_id is its block_id."""
    element: Block = {"type": "plain_text_input", "action_id": block_id}
    if multiline:
        element["multiline"] = True
    if max_length:
        element["max_length"] = max_length
    if initial:
        element["initial_value"] = initial[: max_length or 3000]
    if placeholder:
        element["placeholder"] = plain_text(placeholder, 150)
    return input_block(block_id, label, element, optional=optional, hint=hint)


def modal(
    callback_id: str,
    title: str,
    blocks: list[Block],
    *,
    metadata: dict[str, Any] | str | None = None,
    submit: str | None = None,
    close: str = "Cancel",
    notify_on_close: bool = False,
) -> Block:
    """A modal view; `metadata` (a dict is JSON-encoded) must fit Slack's 3,000 characters."""
    encoded = metadata if isinstance(metadata, str) else json.dumps(metadata or {})
    if len(encoded) > METADATA_MAX:
        raise ValueError(f"private_metadata of {len(encoded)} characters (Slack allows 3,000)")
    view: Block = {
        "type": "modal",
        "callback_id": callback_id,
        "private_metadata": encoded,
        "title": plain_text(title, VIEW_TITLE_MAX),
        "close": plain_text(close, VIEW_TITLE_MAX),
        "blocks": blocks,
    }
    if notify_on_close:
        view["notify_on_close"] = True
    if submit:
        view["submit"] = plain_text(submit, VIEW_TITLE_MAX)
    return view


def build_message_view(
    title: str,
    text: str,
    *,
    callback_id: str = "exalate_message",
    metadata: dict[str, Any] | None = None,
    notify_on_close: bool = False,
) -> Block:
    """A plain message modal (what the person should read before closing it)."""
    return modal(
        callback_id,
        title,
        [section(text)],
        metadata=metadata,
        close="Close",
        notify_on_close=notify_on_close,
    )
