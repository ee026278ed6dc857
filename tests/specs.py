"""Checks of what the bot sends to Slack, against Slack's published specs and slack_sdk's models.

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

import functools
import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from slack_sdk.errors import SlackObjectFormationError
from slack_sdk.models.blocks import Block
from slack_sdk.models.views import View

from bot.devtools.slack_emulator import MESSAGE_METHODS as MESSAGE_METHODS
from bot.devtools.slack_emulator import decode_json_param as decode_json_param

# `../shared/specs` from the project's root (see shared/README.md); SLACK_SPECS_DIR overrides it.
SPECS_DIR = Path(
    os.environ.get("SLACK_SPECS_DIR") or Path(__file__).resolve().parents[2] / "shared" / "specs"
)
OPENAPI_PATH = SPECS_DIR / "slack_web_openapi_v2.json"

# Methods newer than the (2020) OpenAPI spec that the bot may call.
NEWER_METHODS: dict[str, frozenset[str]] = {"apps.connections.open": frozenset()}
# Arguments Slack requires although the spec does not flag them `required`.
EXTRA_REQUIRED: dict[str, frozenset[str]] = {
    "chat.delete": frozenset({"channel", "ts"}),
    "conversations.info": frozenset({"channel"}),
    "users.info": frozenset({"user"}),
    "views.update": frozenset({"view"}),
}
# At least one of these arguments is needed.
ONE_OF: dict[str, tuple[str, ...]] = {
    "conversations.open": ("users", "channel"),
    "views.update": ("view_id", "external_id"),
}
MAX_MESSAGE_BLOCKS = 50
MAX_VIEW_BLOCKS = 100
MISSING_TEXT_FALLBACK = "`blocks` without a non-empty `text` fallback"

# What slack_sdk's models raise for malformed input (a missing required keyword: TypeError).
_MODEL_ERRORS = (SlackObjectFormationError, TypeError, ValueError, KeyError, AttributeError)


@functools.cache
def _openapi_paths() -> dict[str, Any]:
    with OPENAPI_PATH.open(encoding="utf-8") as f:
        return json.load(f)["paths"]


def known_method(method: str) -> bool:
    return f"/{method}" in _openapi_paths() or method in NEWER_METHODS


@functools.cache
def required_params(method: str) -> frozenset[str]:
    """Parameters the OpenAPI spec flags `required: true` for `method` (without "token")."""
    if method in NEWER_METHODS:
        return NEWER_METHODS[method]
    verbs = _openapi_paths().get(f"/{method}", {})
    return frozenset(
        p["name"]
        for op in verbs.values()
        for p in op.get("parameters", [])
        if p.get("required") and p["name"] != "token"
    )


def _present(params: dict[str, Any], name: str) -> bool:
    return params.get(name) not in (None, "")


def missing_params(method: str, params: dict[str, Any]) -> list[str]:
    """Required parameters (spec + Slack's documented extras) that are absent or empty."""
    needed = required_params(method) | EXTRA_REQUIRED.get(method, frozenset())
    missing = sorted(name for name in needed if not _present(params, name))
    one_of = ONE_OF.get(method)
    if one_of and not any(_present(params, name) for name in one_of):
        missing.append(" or ".join(one_of))
    return missing


def check_call(method: str, params: dict[str, Any], token: str | None) -> list[str]:
    if not known_method(method):
        return [f"unknown method {method!r}"]
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
    """Blocks of a message (max 50)."""
    return _check_block_list(decode_json_param(blocks), MAX_MESSAGE_BLOCKS)


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
    return problems + _check_block_list(view.get("blocks", []), MAX_VIEW_BLOCKS)


def check_message(params: dict[str, Any]) -> list[str]:
    """chat.postMessage / chat.postEphemeral / chat.update arguments."""
    blocks = decode_json_param(params.get("blocks"))
    if blocks is None:
        return []
    problems = check_blocks(blocks)
    if blocks and not str(params.get("text") or "").strip():
        problems.append(MISSING_TEXT_FALLBACK)
    return problems
