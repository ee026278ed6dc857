"""Block Kit builders for the wizard's modal views: pure `build_…() -> dict` functions, made
of the kit's primitives (bot/slack/blocks.py).

Every input block's block_id is the answer's key (ids.py), so reading a submission is
`read_state(view["state"]["values"])`. A step's builder takes the answers so far and the
`ViewInputs` the step table (steps.py) gathers for it: its heading, and what the node and the
settings say.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from bot.backend.base import MODES, Project
from bot.slack.blocks import (
    Block,
    actions,
    build_message_view,
    button,
    context,
    input_block,
    modal,
    option,
    plain_text,
    section,
    text_input,
)
from bot.slack.text import TEXT_MAX
from bot.wizard.ids import WizardId as Id
from bot.wizard.rules import (
    CONNECTION_NAME_MAX,
    SHORT_NAME_MAX,
    Answers,
    Step,
    default_connection_name,
    modes_for,
    short_name_from_url,
)
from bot.wizard.texts import (
    ACCESS_HELP,
    MODE_HELP,
    MODE_NOTE,
    MODE_NOTE_PRIVATE,
    PRIVATE_ACCEPTS,
    RULES_NOTE,
    TITLE,
)

STATIC_SELECT_MAX = 100  # Slack's limit for a static_select; beyond it, type-ahead


@dataclass(frozen=True)
class ViewInputs:
    """What a step's view shows besides the answers."""

    heading: str = ""  # "Step 2 of 5 · *Connection mode*"
    local_instance: str = ""
    projects: list[Project] = field(default_factory=list)
    total_projects: int = 0
    default_channel: str | None = None
    console_url: str | None = None  # a node without an initiate API: the console's URL
    email_on: bool = False  # SMTP_URL is set: a partner may get the invitation by e-mail
    approvals: bool = False  # EXALATE_APPROVERS is set: Initiate asks an approver first
    error: str | None = None  # the review's "Could not initiate"


def wizard_modal(
    step: Step | str,
    blocks: list[Block],
    *,
    submit: str | None = "Next",
    close: str = "Cancel",
    title: str = TITLE,
) -> Block:
    return modal(
        Id.CALLBACK,
        title,
        blocks,
        metadata={"step": str(step)},
        submit=submit,
        close=close,
        notify_on_close=True,
    )


def back_row() -> Block:
    return actions(Id.NAV_BLOCK, button(Id.BACK, "◀ Back", "back"))


def build_destination_view(answers: Answers, inputs: ViewInputs) -> Block:
    options = [
        option("public", "I have a URL", "The destination instance is reachable: enter its URL."),
        option(
            "private",
            "I don't have a URL",
            "The destination is private: its admin accepts the invitation code there.",
        ),
    ]
    radio: Block = {"type": "radio_buttons", "action_id": Id.DESTINATION, "options": options}
    chosen = answers.get("destination")
    if chosen in ("public", "private"):
        radio["initial_option"] = options[0] if chosen == "public" else options[1]
    url: Block = {"type": "url_text_input", "action_id": Id.DESTINATION_URL}
    if answers.get("destination_url"):
        url["initial_value"] = str(answers["destination_url"])[:2000]
    blocks = [
        context(inputs.heading),
        section("Where is the instance you want to connect to?"),
        input_block(Id.DESTINATION, "Destination", radio),
        input_block(
            Id.DESTINATION_URL,
            "Destination instance URL",
            url,
            optional=True,
            hint="Only with “I have a URL”, e.g. https://partner.atlassian.net",
        ),
        context(PRIVATE_ACCEPTS),
    ]
    return wizard_modal(Step.DESTINATION, blocks)


def build_mode_view(answers: Answers, inputs: ViewInputs) -> Block:
    modes = modes_for(answers.get("destination"))
    options = [option(m, MODES[m], MODE_HELP[m]) for m in modes]
    radio: Block = {"type": "radio_buttons", "action_id": Id.MODE, "options": options}
    if answers.get("mode") in modes:
        radio["initial_option"] = options[modes.index(answers["mode"])]
    blocks: list[Block] = [context(inputs.heading)]
    if answers.get("destination") != "public":
        blocks.append(context("Visual mode needs the destination's URL, so it is not offered."))
    blocks += [
        input_block(Id.MODE, "Connection mode", radio),
        context(MODE_NOTE if "visual" in modes else MODE_NOTE_PRIVATE),
        back_row(),
    ]
    return wizard_modal(Step.MODE, blocks)


def build_info_view(answers: Answers, inputs: ViewInputs) -> Block:
    local = answers.get("local_short_name") or inputs.local_instance
    remote = answers.get("remote_short_name") or short_name_from_url(answers.get("destination_url"))
    name = answers.get("connection_name") or default_connection_name(local, remote)
    blocks = [
        context(inputs.heading),
        text_input(
            Id.LOCAL_SHORT_NAME,
            "Local instance short name",
            initial=local,
            max_length=SHORT_NAME_MAX,
            hint="Letters, digits, - and _; how this side is named in the connection.",
        ),
        text_input(
            Id.REMOTE_SHORT_NAME,
            "Destination instance short name",
            initial=remote,
            max_length=SHORT_NAME_MAX,
            placeholder="e.g. partnerco",
        ),
        text_input(
            Id.CONNECTION_NAME,
            "Connection name",
            initial=name,
            max_length=CONNECTION_NAME_MAX,
            optional=True,
            hint="Leave empty for local_to_destination, e.g. acme_to_partnerco. "
            "Unique in this workspace.",
        ),
        text_input(
            Id.DESCRIPTION,
            "Description",
            initial=answers.get("description"),
            max_length=TEXT_MAX,
            multiline=True,
            optional=True,
        ),
        back_row(),
    ]
    return wizard_modal(Step.INFO, blocks)


def build_project_view(answers: Answers, inputs: ViewInputs) -> Block:
    """A static select when the node has few projects, a type-ahead when it has many."""
    chosen = answers.get("project_key")
    total = inputs.total_projects
    element: Block
    if total <= STATIC_SELECT_MAX:
        options = [option(p.key, project_label(p)) for p in inputs.projects]
        element = {
            "type": "static_select",
            "action_id": Id.PROJECT,
            "options": options,
            "placeholder": plain_text("Choose a project"),
        }
        for choice in options:
            if choice["value"] == chosen:
                element["initial_option"] = choice
    else:
        element = {
            "type": "external_select",
            "action_id": Id.PROJECT,
            "min_query_length": 0,
            "placeholder": plain_text(f"Type to search {total:,} projects"),
        }
        if chosen:
            name = answers.get("project_name") or chosen
            element["initial_option"] = option(chosen, f"{name} ({chosen})")
    blocks = [
        context(inputs.heading),
        input_block(Id.PROJECT, "Project for incoming sync", element),
        context(RULES_NOTE.get(str(answers.get("mode")), RULES_NOTE["script"])),
        back_row(),
    ]
    return wizard_modal(Step.PROJECT, blocks)


def notice_channel_input(answers: Answers, inputs: ViewInputs, *, hint: str) -> Block:
    channel: Block = {
        "type": "conversations_select",
        "action_id": Id.NOTICE_CHANNEL,
        "filter": {"include": ["public", "private"], "exclude_bot_users": True},
        "placeholder": plain_text("Choose a channel"),
    }
    initial_channel = answers.get("notice_channel", inputs.default_channel)
    if initial_channel:
        channel["initial_conversation"] = initial_channel
    return input_block(Id.NOTICE_CHANNEL, "Channel for notices", channel, optional=True, hint=hint)


def build_partner_view(answers: Answers, inputs: ViewInputs) -> Block:
    user: Block = {"type": "users_select", "action_id": Id.PARTNER_USER}
    if answers.get("partner_user_id") and not answers.get("partner_email"):
        user["initial_user"] = answers["partner_user_id"]
    email: Block = {"type": "email_text_input", "action_id": Id.PARTNER_EMAIL}
    if answers.get("partner_email"):
        email["initial_value"] = str(answers["partner_email"])[:254]
    blocks = [
        context(inputs.heading),
        input_block(
            Id.PARTNER_USER,
            "Partner",
            user,
            optional=True,
            hint="The person on the other side who accepts the invitation.",
        ),
        input_block(
            Id.PARTNER_EMAIL,
            "…or the partner's e-mail address",
            email,
            optional=True,
            hint=EMAIL_HINT
            if inputs.email_on
            else "They need a Slack account with this address that the bot can reach.",
        ),
        *(_email_inputs(answers) if inputs.email_on else []),
        notice_channel_input(
            answers, inputs, hint="Sent, reminded, accepted, expired: never the code."
        ),
        text_input(
            Id.NOTE,
            "Note to the partner",
            initial=answers.get("note"),
            max_length=TEXT_MAX,
            multiline=True,
            optional=True,
        ),
        back_row(),
    ]
    return wizard_modal(Step.PARTNER, blocks)


EMAIL_HINT = "If Slack can't reach them, the invitation goes to this address by e-mail."
HOW_OPTIONS = {
    "slack": "In Slack, or by e-mail where Slack can't reach them",
    "email": "By e-mail",
}


def _email_inputs(answers: Answers) -> list[Block]:
    """With SMTP_URL: how the invitation goes, and the e-mailed partner's time zone."""
    options = [option(value, label) for value, label in HOW_OPTIONS.items()]
    how: Block = {"type": "radio_buttons", "action_id": Id.PARTNER_HOW, "options": options}
    chosen = answers.get("partner_how") or "slack"
    how["initial_option"] = options[list(HOW_OPTIONS).index(chosen)]
    return [
        input_block(Id.PARTNER_HOW, "Send the invitation", how),
        text_input(
            Id.PARTNER_ZONE,
            "Partner's time zone, for e-mail reminders",
            initial=answers.get("partner_zone"),
            max_length=64,
            optional=True,
            placeholder="e.g. Europe/Berlin",
            hint="E-mailed reminders go out during reminder hours in this zone. Empty: yours.",
        ),
    ]


def build_access_view(answers: Answers, inputs: ViewInputs) -> Block:
    """Basic mode with a URL: the console's "Do you have admin access to the destination
    instance?" Yes: the admin accepts on the destination, no code. No: a code for a partner."""
    options = [option(value, label, help_) for value, (label, help_) in ACCESS_HELP.items()]
    radio: Block = {"type": "radio_buttons", "action_id": Id.ADMIN_ACCESS, "options": options}
    if answers.get("admin_access") in ACCESS_HELP:
        radio["initial_option"] = options[list(ACCESS_HELP).index(answers["admin_access"])]
    blocks = [
        context(inputs.heading),
        input_block(
            Id.ADMIN_ACCESS, "Do you have admin access to the destination instance?", radio
        ),
        back_row(),
    ]
    return wizard_modal(Step.ACCESS, blocks)


def build_notices_view(answers: Answers, inputs: ViewInputs) -> Block:
    """When no code goes to a partner (Visual; Basic with admin access): only the channel."""
    return wizard_modal(
        Step.NOTICES,
        [
            context(inputs.heading),
            section(
                "No invitation code goes to a partner: you accept the connection on the "
                "destination yourself, with your admin access there."
            ),
            notice_channel_input(answers, inputs, hint="Created, active, what comes next."),
            back_row(),
        ],
    )


def build_wizard_message_view(title: str, text: str) -> Block:
    """A message in the wizard's modal (it stays the wizard's: closing it is its close)."""
    return build_message_view(
        title, text, callback_id=Id.CALLBACK, metadata={"step": "message"}, notify_on_close=True
    )


def build_project_options(projects: list[Project]) -> dict[str, Any]:
    """The answer to a block_suggestion for the type-ahead project picker."""
    return {"options": [option(p.key, project_label(p)) for p in projects[:100]]}


def project_label(project: Project) -> str:
    """`Support (SUP)`; a project known by its name alone (a node that gave no key), once."""
    if project.key == project.name:
        return project.name
    return f"{project.name} ({project.key})"
