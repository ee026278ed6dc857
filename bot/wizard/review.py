"""The wizard's last views: the review (every answer; with a real node, the values to enter in
the Exalate console) and the result (the code and where it went, or, without a code, where the
admin finishes the connection). Pure builders, like views.py's."""

from __future__ import annotations

from bot.approvals.texts import sent_for_approval
from bot.backend.base import MODES
from bot.slack.blocks import Block, context, fields, section, text_input
from bot.slack.text import escape
from bot.wizard.ids import WizardId as Id
from bot.wizard.rules import (
    CONNECTION_NAME_MAX,
    Answers,
    Step,
    asks_admin_access,
    partner_shown,
    sends_code,
)
from bot.wizard.texts import sending
from bot.wizard.views import ViewInputs, back_row, wizard_modal

NO_PARTNER = "None: you accept it on the destination yourself (no invitation code)"


def review_pairs(answers: Answers) -> list[tuple[str, str]]:
    destination = (
        escape(str(answers["destination_url"]))  # Slack links it; never a hand-made <link>
        if answers.get("destination") == "public" and answers.get("destination_url")
        else "Unknown (no URL)"
    )
    known = answers.get("partner_user_id") or answers.get("partner_email")
    partner = partner_shown(answers) if known else "—"
    if known and answers.get("partner_where"):
        partner += f", {escape(str(answers['partner_where']))[:200]}"
    channel = f"<#{answers['notice_channel']}>" if answers.get("notice_channel") else "No notices"
    pairs = [
        ("Destination", destination),
        ("Mode", MODES.get(answers.get("mode") or "", "—")),
        ("Local instance", f"`{escape(answers.get('local_short_name') or '—')}`"),
        ("Destination instance", f"`{escape(answers.get('remote_short_name') or '—')}`"),
        ("Connection name", f"`{escape(answers.get('connection_name') or '—')}`"),
        (
            "Project",
            escape(f"{answers.get('project_name') or '—'} ({answers.get('project_key') or '—'})"),
        ),
    ]
    if asks_admin_access(answers):
        access = {"yes": "Yes", "no": "No"}.get(str(answers.get("admin_access")), "—")
        pairs.append(("Admin access to the destination", access))
    pairs.append(("Partner", partner if sends_code(answers) else NO_PARTNER))
    pairs.append(("Notices", channel))
    return pairs


def build_review_view(answers: Answers, inputs: ViewInputs) -> Block:
    """Every answer on one view. With a node that has no initiate API (`console_url` set),
    the admin creates the connection in the Exalate console and pastes its code here (or,
    when no code goes to a partner, says it is done)."""
    blocks: list[Block] = [context(inputs.heading)]
    if inputs.error:
        blocks.append(section(f":warning: *Could not initiate:* {escape(inputs.error)}"))
    blocks += fields(review_pairs(answers))
    if answers.get("description"):
        blocks.append(section(f"*Description*\n{escape(answers['description'])}"))
    code = sends_code(answers)
    if answers.get("note") and code:
        blocks.append(section(f"*Note to the partner*\n{escape(answers['note'])}"))
    if code and inputs.approvals:
        blocks.append(
            context(
                "*Ask for approval* sends this review to the approvers: the invitation goes "
                "to the partner once one of them approves (not you: four eyes)."
            )
        )
    if inputs.console_url:
        blocks += console_steps(answers, inputs.console_url)
        submit = "Send to partner" if code else "I've created it"
        if code and inputs.approvals:
            submit = "Ask for approval"
        return wizard_modal(Step.REVIEW, [*blocks, back_row()], submit=submit)
    if code and inputs.approvals:
        return wizard_modal(Step.REVIEW, [*blocks, back_row()], submit="Ask for approval")
    if code:
        what = (
            "*Initiate* creates the connection as Pending and DMs the invitation code to the "
            "partner."
        )
    else:
        what = (
            "*Create* makes the connection Pending on the embedded node, with no invitation "
            "code: you accept it on the destination yourself, and tell me with the button in "
            "my DM."
        )
    blocks += [context(what), back_row()]
    return wizard_modal(Step.REVIEW, blocks, submit="Initiate" if code else "Create")


def _console_values(answers: Answers) -> str:
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
    if asks_admin_access(answers):
        values.append(
            (
                "Do you have admin access to the destination instance?",
                "Yes, I have admin access" if answers.get("admin_access") == "yes" else "No",
            )
        )
    return "\n".join(f"• {label}: {value}" for label, value in values)


def console_steps(answers: Answers, console_url: str) -> list[Block]:
    """What to do in the Exalate console (a node without an initiate API), and then here."""
    create = (
        f"*Create it in the Exalate console* (<{console_url}|open the node>, then "
        f"*Connections → Initiate connection*) with these values:\n{_console_values(answers)}\n"
    )
    if not sends_code(answers):
        if answers.get("mode") == "visual":
            finish = (
                "Click *Verify admin access*, then *Initiate*, and *Accept* in the "
                "destination's pop-up."
            )
        else:
            finish = "The console takes you to the destination: accept the connection there."
        then = (
            f"{finish}\nThen click *I've created it*: I check that the node has the connection "
            "and follow it until it is Active. No invitation code is made."
        )
        return [{"type": "divider"}, section(create + then)]
    then = (
        "Then copy the invitation code the console shows and paste it below: I check that the "
        "Pending connection exists on the node, then DM the code to the partner."
    )
    return [
        {"type": "divider"},
        section(create + then),
        text_input(
            Id.CODE,
            "Invitation code from the console",
            multiline=True,
            max_length=3000,
            placeholder="Paste the whole code",
        ),
    ]


def _name(answers: Answers) -> str:
    return escape(str(answers.get("connection_name") or "—")[:CONNECTION_NAME_MAX])


def build_result_view(answers: Answers, *, code: str, delivery: str | None = None) -> Block:
    """The last view: the code (copyable) and where it went. Shown only to the admin.

    The answers come back from Slack (the view's metadata, or its draft): whatever they hold,
    this builds a view (no KeyError), mentions only a user id of Slack's shape, and clips."""
    delivery = delivery or sending(
        partner_shown(answers), by="e-mail" if answers.get("partner_by_email") else "DM"
    )
    blocks = [
        section(f":white_check_mark: Connection `{_name(answers)}` is *Pending*."),
        section(f"*Invitation code*\n```{code}```"),
        section(delivery),
        context(
            "The connection turns Active when the partner accepts the code on their side. "
            "Keep the code out of channels: it is a secret."
        ),
    ]
    return wizard_modal("result", blocks, submit=None, close="Done", title="Connection initiated")


def build_created_view(answers: Answers, *, finish: str, active: bool = False) -> Block:
    """The last view of a connection without a code: where the admin finishes it."""
    state = "Active" if active else "Pending"
    blocks = [
        section(f":white_check_mark: Connection `{_name(answers)}` is *{state}*."),
        section(finish),
        context("Nothing was sent to a partner: this connection has no invitation code."),
    ]
    return wizard_modal("result", blocks, submit=None, close="Done", title="Connection created")


def build_approval_view(answers: Answers, *, approvers: list[str]) -> Block:
    """The last view when approvals are on (EXALATE_APPROVERS): who decides, no code yet."""
    blocks = [
        section(f":raised_hand: Connection `{_name(answers)}` is *awaiting approval*."),
        section(sent_for_approval(approvers)),
        context("No code exists yet: the node makes it when an approver approves."),
    ]
    return wizard_modal("result", blocks, submit=None, close="Done", title="Sent for approval")
