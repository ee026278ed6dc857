"""Checks of what the bot sends to Slack, against the project's table of Slack's facts
(bot/devtools/slack_facts.py: methods, required arguments, Block Kit limits) and slack_sdk's
models. Nothing here reads Slack's published specs: tests/test_slack_facts.py compares the
table with them where they are at hand.

Pure functions returning a list of human-readable problems (empty when fine).

Notes on slack_sdk (3.48):
- ``JsonObject.validate_json()`` is shallow: it checks the object's own limits only
  (``View``: type, title/submit/close <= 24 chars, 1..100 blocks, callback_id, private_metadata).
  ``to_dict()`` runs ``validate_json()`` on every nested object too (blocks, elements, texts,
  confirm dialogs), so the per-block checks below use ``to_dict()``.
- Unknown block/element types do not raise: ``Block.parse`` returns None, and an unknown
  element becomes None inside the parsed block; both are reported here.
- Not caught by slack_sdk (so not checked here): option text/value lengths, radio/checkbox option
  counts, section field text lengths, a modal without a title (checked here separately).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from slack_sdk.errors import SlackObjectFormationError
from slack_sdk.models.blocks import Block
from slack_sdk.models.views import View

from bot.devtools.slack_emulator import MESSAGE_METHODS as MESSAGE_METHODS
from bot.devtools.slack_emulator import decode_json_param as decode_json_param
from bot.devtools.slack_facts import LIMITS, METHODS, Method, token_kind

MISSING_TEXT_FALLBACK = "`blocks` without a non-empty `text` fallback"

# What slack_sdk's models raise for malformed input (a missing required keyword: TypeError).
_MODEL_ERRORS = (SlackObjectFormationError, TypeError, ValueError, KeyError, AttributeError)
_NOT_IN_TABLE = Method()


def known_method(method: str) -> bool:
    return method in METHODS


def required_params(method: str) -> frozenset[str]:
    """The arguments Slack requires for `method` (the token aside), from the table."""
    return METHODS.get(method, _NOT_IN_TABLE).required


def _present(params: dict[str, Any], name: str) -> bool:
    return params.get(name) not in (None, "")


def missing_params(method: str, params: dict[str, Any]) -> list[str]:
    """Required arguments that are absent or empty, then an unmet "one of" group."""
    facts = METHODS.get(method, _NOT_IN_TABLE)
    missing = sorted(name for name in facts.required if not _present(params, name))
    if facts.one_of and not any(_present(params, name) for name in facts.one_of):
        missing.append(" or ".join(facts.one_of))
    return missing


def check_call(method: str, params: dict[str, Any], token: str | None) -> list[str]:
    if not known_method(method):
        return [f"unknown method {method!r}"]
    if token_kind(method) == "client":  # oauth.v2.access: the client's credentials instead
        problems = [] if not token else ["a token sent to a method that takes none"]
    else:
        problems = [] if token else ["missing token"]
    problems += [f"missing required argument {name!r}" for name in missing_params(method, params)]
    return problems


def _nones(value: Any, path: str) -> Iterator[str]:
    if value is None:
        yield path
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from _nones(item, f"{path}.{key}")
    elif isinstance(value, list):
        for i, item in enumerate(value):
            yield from _nones(item, f"{path}[{i}]")


def _check_block(index: int, block: Any) -> list[str]:
    where = f"block[{index}]"
    if not isinstance(block, dict):
        return [f"{where}: not an object"]
    where = f"{where} ({block.get('type')!r}, block_id={block.get('block_id')!r})"
    try:
        parsed = Block.parse(block)
        if parsed is None:
            return [f"{where}: unknown block type"]
        as_dict = parsed.to_dict()  # validates the block and everything nested in it
    except _MODEL_ERRORS as e:
        return [f"{where}: {type(e).__name__}: {e}"]
    return [f"{where}: unknown element type at {p}" for p in _nones(as_dict, "block")]


def _check_block_list(blocks: Any, limit: int) -> list[str]:
    if not isinstance(blocks, list):
        return [f"blocks must be a list, got {type(blocks).__name__}"]
    problems = [f"{len(blocks)} blocks (max {limit})"] if len(blocks) > limit else []
    for i, block in enumerate(blocks):
        problems += _check_block(i, block)
    block_ids = [b["block_id"] for b in blocks if isinstance(b, dict) and "block_id" in b]
    duplicates = sorted({b for b in block_ids if block_ids.count(b) > 1})
    problems += [f"duplicate block_id {b!r}" for b in duplicates]
    return problems


def check_blocks(blocks: Any) -> list[str]:
    """Blocks of a message (at most LIMITS.message_blocks)."""
    return _check_block_list(decode_json_param(blocks), LIMITS.message_blocks)


def check_view(view: Any) -> list[str]:
    view = decode_json_param(view)
    if not isinstance(view, dict):
        return [f"view must be an object, got {type(view).__name__}"]
    try:
        json.dumps(view)
    except (TypeError, ValueError) as e:
        return [f"view is not JSON-serializable: {e}"]
    problems = []
    if view.get("type") == "modal" and not view.get("title"):
        problems.append("modal view without a title")
    try:
        View(**view).validate_json()  # view-level limits only; blocks are checked one by one below
    except _MODEL_ERRORS as e:
        problems.append(f"view: {type(e).__name__}: {e}")
    return problems + _check_block_list(view.get("blocks", []), LIMITS.view_blocks)


def check_message(params: dict[str, Any]) -> list[str]:
    """chat.postMessage / chat.postEphemeral / chat.update arguments."""
    blocks = decode_json_param(params.get("blocks"))
    if blocks is None:
        return []
    problems = check_blocks(blocks)
    if blocks and not str(params.get("text") or "").strip():
        problems.append(MISSING_TEXT_FALLBACK)
    return problems
