"""What a user typed into a view, as Slack reports it: the `state.values` of a view's input
blocks, an interactive element's state, and what Slack's client would refuse to submit."""

from __future__ import annotations

from typing import Any

from bot.devtools.slack_facts import LIMITS

JsonDict = dict[str, Any]

# element type -> (its key in state.values, its initial-value key); a key ending in "s" is a list
_ELEMENTS = {
    "plain_text_input": ("value", "initial_value"),
    "email_text_input": ("value", "initial_value"),
    "url_text_input": ("value", "initial_value"),
    "number_input": ("value", "initial_value"),
    "users_select": ("selected_user", "initial_user"),
    "conversations_select": ("selected_conversation", "initial_conversation"),
    "channels_select": ("selected_channel", "initial_channel"),
    "multi_users_select": ("selected_users", "initial_users"),
    "multi_conversations_select": ("selected_conversations", "initial_conversations"),
    "multi_channels_select": ("selected_channels", "initial_channels"),
    "datepicker": ("selected_date", "initial_date"),
    "timepicker": ("selected_time", "initial_time"),
    "static_select": ("selected_option", "initial_option"),
    "external_select": ("selected_option", "initial_option"),
    "radio_buttons": ("selected_option", "initial_option"),
    "overflow": ("selected_option", "initial_option"),
    "checkboxes": ("selected_options", "initial_options"),
    "multi_static_select": ("selected_options", "initial_options"),
    "multi_external_select": ("selected_options", "initial_options"),
}
_TEXT_ELEMENTS = {"plain_text_input", "email_text_input", "url_text_input", "number_input"}


def _options(element: JsonDict) -> list[JsonDict]:
    groups = element.get("option_groups", [])
    return element.get("options") or [o for g in groups for o in g.get("options", [])]


def _option(element: JsonDict, answer: Any) -> JsonDict:
    if element["type"].endswith("external_select"):
        if isinstance(answer, dict):
            return answer
        return {"text": {"type": "plain_text", "text": str(answer)}, "value": str(answer)}
    for option in _options(element):
        if option["value"] == answer:
            return option
    values = [o["value"] for o in _options(element)]
    raise ValueError(f"{answer!r} is not an option of {element['action_id']!r}: {values}")


def _empty(value: Any) -> bool:
    return value in (None, "", [])


def _state_keys(kind: str) -> tuple[str, str]:
    if kind not in _ELEMENTS:
        raise NotImplementedError(
            f"element type {kind!r} is not supported by bot/devtools/view_state.py"
        )
    return _ELEMENTS[kind]


def element_state(element: JsonDict, answer: Any) -> JsonDict:
    """The `state.values` entry Slack reports for `element` after the user gave `answer`."""
    kind = element["type"]
    key, _ = _state_keys(kind)
    many = key.endswith("s")
    given = [a for a in (answer or [] if many else [answer]) if not _empty(a)]
    if key.startswith("selected_option"):
        given = [_option(element, a) for a in given]
    elif kind in _TEXT_ELEMENTS:
        given = [str(a) for a in given]
    return {"type": kind, key: given if many else next(iter(given), None)}


def _initial_state(element: JsonDict) -> JsonDict:
    kind = element["type"]
    key, initial = _state_keys(kind)
    return {"type": kind, key: element.get(initial, [] if key.endswith("s") else None)}


def unsubmittable(view: JsonDict, values: JsonDict) -> list[str]:
    """Why Slack's client would refuse to submit `values` (empty required inputs, text lengths)."""
    reasons = []
    for block_id, block in input_blocks(view).items():
        element = block["element"]
        state = values[block_id][element["action_id"]]
        value = next(v for k, v in state.items() if k != "type")
        if _empty(value):
            if not block.get("optional"):
                reasons.append(f"required input {block_id!r} is empty")
        elif element["type"] == "plain_text_input":
            low, high = (
                element.get("min_length", 0),
                element.get("max_length", LIMITS.plain_text_input),
            )
            if not low <= len(value) <= high:
                reasons.append(f"{block_id!r} needs {low}..{high} characters, got {len(value)}")
    return reasons


def input_blocks(view: JsonDict) -> dict[str, JsonDict]:
    return {
        b["block_id"]: b
        for b in view.get("blocks", [])
        if b.get("type") == "input" and "block_id" in b
    }


def state_values(view: JsonDict, answers: dict[str, Any]) -> JsonDict:
    """`view.state.values` once the user typed `answers` ({block_id: answer}) into the view.

    Other input blocks keep what the view's `state` already holds (typed earlier, e.g. with
    SlackSender.fill) or else their initial values.
    """
    inputs = input_blocks(view)
    unknown = sorted(set(answers) - set(inputs))
    if unknown:
        raise LookupError(
            f"{unknown} not input blocks of view {view.get('callback_id')!r}; "
            f"its input blocks: {sorted(inputs)}"
        )
    typed = view.get("state", {}).get("values", {})
    values: JsonDict = {}
    for block_id, block in inputs.items():
        element = block["element"]
        action_id = element["action_id"]
        if block_id in answers:
            state = element_state(element, answers[block_id])
        elif action_id in typed.get(block_id, {}):
            state = typed[block_id][action_id]
        else:
            state = _initial_state(element)
        values[block_id] = {action_id: state}
    return values
