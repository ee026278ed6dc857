"""Block Kit builders for the wizard's modal views: pure `build_…() -> dict` functions.

Every input block's block_id is the answer's key (bot/wizard.py), so reading a submission is
`read_state(view["state"]["values"])`.
"""

from __future__ import annotations

import json
from typing import Any

from bot.backend.base import Project
from bot.slack.text import TEXT_MAX, clean_unicode, escape, plain
from bot.wizard import (
    CONNECTION_NAME_MAX,
    DEFAULT_RULES,
    MODES,
    SHORT_NAME_MAX,
    STEP_TITLES,
    Answers,
    Step,
    default_connection_name,
    modes_for,
    short_name_from_url,
    step_number,
)

CALLBACK_ID = "exalate_wizard"
BACK_ACTION = "wizard_back"
TITLE = "New Exalate connection"
STATIC_SELECT_MAX = 100  # Slack's limit for a static_select; beyond it, type-ahead
METADATA_MAX = 3000  # Slack's limit for a view's private_metadata

MODE_HELP = {
    "basic": "Syncs summary, description, comments and attachments with fixed rules.",
    "visual": "Sync rules in a visual editor; needs admin access on both sides.",
    "script": "Groovy sync rules on each side: each side controls what it sends and receives.",
}


def _pt(text: str, limit: int = 75) -> dict[str, Any]:
    return {"type": "plain_text", "text": plain(text, limit), "emoji": True}


def _md(text: str) -> dict[str, Any]:
    return {"type": "mrkdwn", "text": text[:3000]}


def _option(value: str, text: str, description: str | None = None) -> dict[str, Any]:
    option: dict[str, Any] = {"text": _pt(text), "value": value}
    if description:
        option["description"] = _pt(description)
    return option


def _text_input(
    block_id: str,
    label: str,
    *,
    initial: str | None = None,
    max_length: int | None = None,
    multiline: bool = False,
    optional: bool = False,
    placeholder: str | None = None,
    hint: str | None = None,
) -> dict[str, Any]:
    element: dict[str, Any] = {"type": "plain_text_input", "action_id": block_id}
    if multiline:
        element["multiline"] = True
    if max_length:
        element["max_length"] = max_length
    if initial:
        element["initial_value"] = initial[: max_length or 3000]
    if placeholder:
        element["placeholder"] = _pt(placeholder, 150)
    return _input(block_id, label, element, optional=optional, hint=hint)


def _input(
    block_id: str,
    label: str,
    element: dict[str, Any],
    *,
    optional: bool = False,
    hint: str | None = None,
) -> dict[str, Any]:
    block: dict[str, Any] = {
        "type": "input",
        "block_id": block_id,
        "label": _pt(label, 2000),
        "element": element,
        "optional": optional,
    }
    if hint:
        block["hint"] = _pt(hint, 2000)
    return block


def _modal(
    step: Step | str,
    blocks: list[dict[str, Any]],
    *,
    submit: str | None = "Next",
    close: str = "Cancel",
    title: str = TITLE,
) -> dict[str, Any]:
    view: dict[str, Any] = {
        "type": "modal",
        "callback_id": CALLBACK_ID,
        "private_metadata": json.dumps({"step": str(step)}),
        "title": _pt(title, 24),
        "close": _pt(close, 24),
        "notify_on_close": True,
        "blocks": blocks,
    }
    if submit:
        view["submit"] = _pt(submit, 24)
    return view


def _header(step: Step, answers: Answers) -> dict[str, Any]:
    number, total = step_number(step, answers)
    return {
        "type": "context",
        "elements": [_md(f"Step {number} of {total} · *{STEP_TITLES[step]}*")],
    }


def _back() -> dict[str, Any]:
    return {
        "type": "actions",
        "block_id": "wizard_nav",
        "elements": [
            {"type": "button", "action_id": BACK_ACTION, "text": _pt("◀ Back"), "value": "back"}
        ],
    }


def build_destination_view(answers: Answers) -> dict[str, Any]:
    options = [
        _option("public", "I have a URL", "The destination instance is reachable: enter its URL."),
        _option(
            "private",
            "I don't have a URL",
            "The destination is private or behind a firewall: it shows as unknown.",
        ),
    ]
    radio: dict[str, Any] = {
        "type": "radio_buttons",
        "action_id": "destination",
        "options": options,
    }
    chosen = answers.get("destination")
    if chosen in ("public", "private"):
        radio["initial_option"] = options[0] if chosen == "public" else options[1]
    url: dict[str, Any] = {"type": "url_text_input", "action_id": "destination_url"}
    if answers.get("destination_url"):
        url["initial_value"] = str(answers["destination_url"])[:2000]
    blocks = [
        _header(Step.DESTINATION, answers),
        _md_section("Where is the instance you want to connect to?"),
        _input("destination", "Destination", radio),
        _input(
            "destination_url",
            "Destination instance URL",
            url,
            optional=True,
            hint="Only with “I have a URL”, e.g. https://partner.atlassian.net",
        ),
    ]
    return _modal(Step.DESTINATION, blocks)


def build_mode_view(answers: Answers) -> dict[str, Any]:
    modes = modes_for(answers.get("destination"))
    options = [_option(m, MODES[m], MODE_HELP[m]) for m in modes]
    radio: dict[str, Any] = {"type": "radio_buttons", "action_id": "mode", "options": options}
    if answers.get("mode") in modes:
        radio["initial_option"] = options[modes.index(answers["mode"])]
    blocks: list[dict[str, Any]] = [_header(Step.MODE, answers)]
    if answers.get("destination") != "public":
        blocks.append(
            {
                "type": "context",
                "elements": [_md("Visual mode needs the destination's URL, so it is not offered.")],
            }
        )
    blocks += [_input("mode", "Connection mode", radio), _back()]
    return _modal(Step.MODE, blocks)


def build_info_view(answers: Answers, *, local_instance: str) -> dict[str, Any]:
    local = answers.get("local_short_name") or local_instance
    remote = answers.get("remote_short_name") or short_name_from_url(answers.get("destination_url"))
    name = answers.get("connection_name") or default_connection_name(local, remote)
    blocks = [
        _header(Step.INFO, answers),
        _text_input(
            "local_short_name",
            "Local instance short name",
            initial=local,
            max_length=SHORT_NAME_MAX,
            hint="Letters, digits, - and _; how this side is named in the connection.",
        ),
        _text_input(
            "remote_short_name",
            "Destination instance short name",
            initial=remote,
            max_length=SHORT_NAME_MAX,
            placeholder="e.g. partnerco",
        ),
        _text_input(
            "connection_name",
            "Connection name",
            initial=name,
            max_length=CONNECTION_NAME_MAX,
            optional=True,
            hint="Leave empty for local_to_destination, e.g. acme_to_partnerco. "
            "Unique in this workspace.",
        ),
        _text_input(
            "description",
            "Description",
            initial=answers.get("description"),
            max_length=TEXT_MAX,
            multiline=True,
            optional=True,
        ),
        _back(),
    ]
    return _modal(Step.INFO, blocks)


def build_project_view(answers: Answers, *, projects: list[Project], total: int) -> dict[str, Any]:
    """A static select when the node has few projects, a type-ahead when it has many."""
    chosen = answers.get("project_key")
    element: dict[str, Any]
    if total <= STATIC_SELECT_MAX:
        options = [_option(p.key, f"{p.name} ({p.key})") for p in projects]
        element = {
            "type": "static_select",
            "action_id": "project_key",
            "options": options,
            "placeholder": _pt("Choose a project"),
        }
        for option in options:
            if option["value"] == chosen:
                element["initial_option"] = option
    else:
        element = {
            "type": "external_select",
            "action_id": "project_key",
            "min_query_length": 0,
            "placeholder": _pt(f"Type to search {total:,} projects"),
        }
        if chosen:
            name = answers.get("project_name") or chosen
            element["initial_option"] = _option(chosen, f"{name} ({chosen})")
    rules = ", ".join(DEFAULT_RULES)
    blocks = [
        _header(Step.PROJECT, answers),
        _input("project_key", "Project for incoming sync", element),
        {
            "type": "context",
            "elements": [
                _md(f"The default rules sync {rules}. You can change them later in Exalate.")
            ],
        },
        _back(),
    ]
    return _modal(Step.PROJECT, blocks)


def build_partner_view(answers: Answers, *, default_channel: str | None) -> dict[str, Any]:
    user: dict[str, Any] = {"type": "users_select", "action_id": "partner_user_id"}
    if answers.get("partner_user_id") and not answers.get("partner_email"):
        user["initial_user"] = answers["partner_user_id"]
    email: dict[str, Any] = {"type": "email_text_input", "action_id": "partner_email"}
    if answers.get("partner_email"):
        email["initial_value"] = str(answers["partner_email"])[:254]
    channel: dict[str, Any] = {
        "type": "conversations_select",
        "action_id": "notice_channel",
        "filter": {"include": ["public", "private"], "exclude_bot_users": True},
        "placeholder": _pt("Choose a channel"),
    }
    initial_channel = answers.get("notice_channel", default_channel)
    if initial_channel:
        channel["initial_conversation"] = initial_channel
    blocks = [
        _header(Step.PARTNER, answers),
        _input(
            "partner_user_id",
            "Partner",
            user,
            optional=True,
            hint="The person on the other side who accepts the invitation.",
        ),
        _input(
            "partner_email",
            "…or the partner's e-mail address",
            email,
            optional=True,
            hint="They need a Slack account with this address that the bot can reach.",
        ),
        _input(
            "notice_channel",
            "Channel for notices",
            channel,
            optional=True,
            hint="Sent, reminded, accepted, expired: never the code.",
        ),
        _text_input(
            "note",
            "Note to the partner",
            initial=answers.get("note"),
            max_length=TEXT_MAX,
            multiline=True,
            optional=True,
        ),
        _back(),
    ]
    return _modal(Step.PARTNER, blocks)


def _md_section(text: str) -> dict[str, Any]:
    return {"type": "section", "text": _md(text)}


def _fields(pairs: list[tuple[str, str]]) -> list[dict[str, Any]]:
    """Sections of two-column fields (at most 10 a section, 2,000 characters a field)."""
    fields = [{"type": "mrkdwn", "text": f"*{label}*\n{value}"[:2000]} for label, value in pairs]
    return [{"type": "section", "fields": fields[i : i + 10]} for i in range(0, len(fields), 10)]


def review_pairs(answers: Answers) -> list[tuple[str, str]]:
    destination = (
        escape(str(answers["destination_url"]))  # Slack links it; never a hand-made <link>
        if answers.get("destination") == "public" and answers.get("destination_url")
        else "Unknown (no URL)"
    )
    partner = (
        f"<@{answers['partner_user_id']}>"
        if answers.get("partner_user_id")
        else escape(answers.get("partner_email") or "—")
    )
    channel = f"<#{answers['notice_channel']}>" if answers.get("notice_channel") else "No notices"
    return [
        ("Destination", destination),
        ("Mode", MODES.get(answers.get("mode") or "", "—")),
        ("Local instance", f"`{escape(answers.get('local_short_name') or '—')}`"),
        ("Destination instance", f"`{escape(answers.get('remote_short_name') or '—')}`"),
        ("Connection name", f"`{escape(answers.get('connection_name') or '—')}`"),
        (
            "Project",
            escape(f"{answers.get('project_name') or '—'} ({answers.get('project_key') or '—'})"),
        ),
        ("Partner", partner),
        ("Notices", channel),
    ]


def build_review_view(
    answers: Answers, *, error: str | None = None, console_url: str | None = None
) -> dict[str, Any]:
    """Every answer on one view. With a node that has no initiate API (`console_url` set),
    the admin creates the connection in the Exalate console and pastes its code here."""
    blocks: list[dict[str, Any]] = [_header(Step.REVIEW, answers)]
    if error:
        blocks.append(_md_section(f":warning: *Could not initiate:* {escape(error)}"))
    blocks += _fields(review_pairs(answers))
    if answers.get("description"):
        blocks.append(_md_section(f"*Description*\n{escape(answers['description'])}"))
    if answers.get("note"):
        blocks.append(_md_section(f"*Note to the partner*\n{escape(answers['note'])}"))
    if console_url:
        blocks += _console_steps(answers, console_url)
        return _modal(Step.REVIEW, [*blocks, _back()], submit="Send to partner")
    blocks.append(
        {
            "type": "context",
            "elements": [
                _md(
                    "*Initiate* creates the connection as Pending and DMs the invitation code "
                    "to the partner."
                )
            ],
        }
    )
    blocks.append(_back())
    return _modal(Step.REVIEW, blocks, submit="Initiate")


def _console_steps(answers: Answers, console_url: str) -> list[dict[str, Any]]:
    destination = (
        "I have a URL: " + escape(answers.get("destination_url") or "")
        if answers.get("destination") == "public"
        else "I don't have a URL"
    )
    values = [
        ("Destination", destination),
        ("Connection mode", MODES.get(answers.get("mode") or "", "—")),
        ("Local instance short name", f"`{escape(answers.get('local_short_name') or '')}`"),
        ("Destination instance short name", f"`{escape(answers.get('remote_short_name') or '')}`"),
        ("Connection name", f"`{escape(answers.get('connection_name') or '')}`"),
        ("Description", escape(answers.get("description") or "—")),
        ("Project", escape(f"{answers.get('project_name')} ({answers.get('project_key')})")),
    ]
    lines = "\n".join(f"• {label}: {value}" for label, value in values)
    steps = (
        f"*Create it in the Exalate console* (<{console_url}|open the node>, then "
        f"*Connections → Initiate connection*) with these values:\n{lines}\n"
        "Then copy the invitation code the console shows and paste it below: I check that the "
        "Pending connection exists on the node, then DM the code to the partner."
    )
    return [
        {"type": "divider"},
        _md_section(steps),
        _text_input(
            "code",
            "Invitation code from the console",
            multiline=True,
            max_length=3000,
            placeholder="Paste the whole code",
        ),
    ]


def build_result_view(
    answers: Answers, *, code: str, delivery: str | None = None
) -> dict[str, Any]:
    """The last view: the code (copyable) and where it went. Shown only to the admin."""
    partner = f"<@{answers['partner_user_id']}>"
    delivery = delivery or f":hourglass_flowing_sand: Sending the invitation to {partner} by DM…"
    blocks = [
        _md_section(
            f":white_check_mark: Connection `{escape(answers['connection_name'])}` is *Pending*."
        ),
        _md_section(f"*Invitation code*\n```{code}```"),
        _md_section(delivery),
        {
            "type": "context",
            "elements": [
                _md(
                    "The connection turns Active when the partner accepts the code on their side. "
                    "Keep the code out of channels: it is a secret."
                )
            ],
        },
    ]
    return _modal("result", blocks, submit=None, close="Done", title="Connection initiated")


def build_message_view(title: str, text: str) -> dict[str, Any]:
    """A plain message modal (errors the admin should read before closing)."""
    return _modal("message", [_md_section(text)], submit=None, close="Close", title=title)


def build_step_view(
    step: Step,
    answers: Answers,
    *,
    local_instance: str,
    projects: list[Project] | None = None,
    total_projects: int = 0,
    default_channel: str | None = None,
    console_url: str | None = None,
) -> dict[str, Any]:
    if step is Step.DESTINATION:
        return build_destination_view(answers)
    if step is Step.MODE:
        return build_mode_view(answers)
    if step is Step.INFO:
        return build_info_view(answers, local_instance=local_instance)
    if step is Step.PROJECT:
        return build_project_view(answers, projects=projects or [], total=total_projects)
    if step is Step.PARTNER:
        return build_partner_view(answers, default_channel=default_channel)
    return build_review_view(answers, console_url=console_url)


def build_project_options(projects: list[Project]) -> dict[str, Any]:
    """The answer to a block_suggestion for the type-ahead project picker."""
    return {"options": [_option(p.key, f"{p.name} ({p.key})") for p in projects[:100]]}


def carried_metadata(
    step: Step | str, answers: Answers, *, team_id: str, user_id: str
) -> str | None:
    """The wizard view's private_metadata: its step, whose wizard it is, and the answers so
    far. Slack hands it back with the view's next submission, so moving a step needs no
    database (and survives restarts, on any replica). None when it would pass Slack's 3,000
    characters (long texts): the caller keeps the answers in the draft table instead, and
    `spilled_metadata` marks the view so."""
    text = json.dumps(
        {"step": str(step), "team": team_id, "user": user_id, "answers": answers},
        separators=(",", ":"),  # ASCII: what Slack counts is what we count
    )
    return text if len(text) <= METADATA_MAX else None


def spilled_metadata(step: Step | str, *, team_id: str, user_id: str) -> str:
    """The private_metadata of a view whose answers are in the draft table."""
    return json.dumps({"step": str(step), "team": team_id, "user": user_id})


def view_metadata(view: dict[str, Any]) -> dict[str, Any]:
    """A wizard view's private_metadata; {} if it isn't ours."""
    try:
        metadata = json.loads(view.get("private_metadata") or "{}")
    except (TypeError, ValueError):
        return {}
    return metadata if isinstance(metadata, dict) else {}


def view_step(view: dict[str, Any]) -> str | None:
    step = view_metadata(view).get("step")
    return step if isinstance(step, str) else None


def read_state(values: dict[str, Any]) -> dict[str, Any]:
    """`view.state.values` → {block_id: the plain answer} for every element type we use.
    Text comes back storable (see `clean_unicode`); the validators judge the rest."""
    return {
        key: clean_unicode(value) if isinstance(value, str) else value
        for key, value in _read_state(values).items()
        if value is None or isinstance(value, str)  # answers are text; anything else is forged
    }


def _read_state(values: Any) -> dict[str, Any]:
    answers: dict[str, Any] = {}
    if not isinstance(values, dict):
        return answers
    for block_id, actions in values.items():
        if not isinstance(actions, dict):
            continue
        for state in actions.values():
            if not isinstance(state, dict):
                continue
            kind = state.get("type")
            if kind in ("radio_buttons", "static_select", "external_select"):
                option = state.get("selected_option") or {}
                answers[block_id] = option.get("value") if isinstance(option, dict) else None
            elif kind in ("users_select", "conversations_select", "channels_select"):
                answers[block_id] = state.get(
                    {
                        "users_select": "selected_user",
                        "conversations_select": "selected_conversation",
                        "channels_select": "selected_channel",
                    }[kind]
                )
            else:
                answers[block_id] = state.get("value")
    return answers
