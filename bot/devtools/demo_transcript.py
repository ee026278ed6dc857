"""The demo's transcript: what each person sees, as plain text, and in whose Slack.

Every line about a message, a modal or a person's action names the workspace it happens in
("[Globex's Slack] DM to Pat Parker:"), read from the emulator: the workspace that answered
each Web API call, the one a view is open in, the one a person is a member of. Mentions are
shown as that workspace's Slack would show them.
"""

from __future__ import annotations

import html
import re
from datetime import datetime
from typing import Any, TextIO
from zoneinfo import ZoneInfo

from bot.devtools.slack_emulator import SlackEmulator, Workspace

WIDTH = 92
SHOWN_TIME_ZONE = ZoneInfo("America/New_York")  # the partner's: reminders come at 09:00 there
MESSAGE_POSTS = ("chat.postMessage", "chat.update")


def slack_of(workspace: Workspace) -> str:
    return f"[{workspace.name}'s Slack]"


def page_text(page: str) -> str:
    """A web page's words, for one line of the transcript."""
    page = re.sub(r"(?is)<(script|style|head)\b.*?</\1>", " ", page)
    words = " ".join(html.unescape(re.sub(r"<[^>]+>", " ", page)).split())
    return re.sub(r" ([.,;:!?])", r"\1", words)


class Transcript:
    """Messages, modals and replies since last time, each under the Slack it appears in."""

    def __init__(self, slack: SlackEmulator, out: TextIO) -> None:
        self.slack, self.out = slack, out
        self._calls = 0

    def line(self, text: str = "") -> None:
        print(text, file=self.out)

    def heading(self, when: datetime, what: str) -> None:
        local = when.astimezone(SHOWN_TIME_ZONE)
        stamp = f"{when:%a %d %b %H:%M} UTC ({local:%H:%M} in New York)"
        self.line()
        self.line(f"── {stamp} · {what} ".ljust(WIDTH, "─"))

    def home(self, user_id: str) -> Workspace:
        """The workspace `user_id` is a member of (the primary one for a stranger)."""
        return self.slack.home_of(user_id) or self.slack.primary

    def act(self, who: str, what: str) -> None:
        workspace = self.home(who)
        self.line(f"  {slack_of(workspace)} {self.name(who, workspace)} › {what}")

    def name(self, user_id: str, workspace: Workspace | None = None) -> str:
        workspace = workspace or self.home(user_id)
        user = workspace.users.get(user_id) or workspace.external_user(user_id) or {}
        return str(user.get("real_name") or user_id)

    def _where(self, channel: str, workspace: Workspace) -> str:
        user = workspace.dm_user(channel)
        if user is not None:
            return f"DM to {self.name(user, workspace)}"
        return "#" + str((workspace.channels.get(channel) or {}).get("name") or channel)

    def mrkdwn(self, text: str, workspace: Workspace) -> str:
        """Slack's markup as a person reads it there: names for mentions, dates as written."""

        def mention(match: re.Match[str]) -> str:
            kind, ident, label = match.group(1), match.group(2), match.group(4)
            if kind == "@":
                return "@" + self.name(ident, workspace)
            if kind == "#":
                return "#" + str((workspace.channels.get(ident) or {}).get("name") or ident)
            return label or ident

        text = re.sub(r"<([@#!]?)([^|>^]+)(\^[^|>]*)?(?:\|([^>]*))?>", mention, text)
        return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")

    def _blocks(self, blocks: list[dict[str, Any]], indent: str, workspace: Workspace) -> None:
        for block in blocks:
            for text in self._block_texts(block, workspace):
                for row in self.mrkdwn(text, workspace).splitlines() or [""]:
                    self.line(f"{indent}{row}")

    def _block_texts(self, block: dict[str, Any], workspace: Workspace) -> list[str]:
        kind = block.get("type")
        if kind == "header":
            return [f"*{block['text']['text']}*"]
        if kind == "section":
            texts = [block["text"]["text"]] if block.get("text") else []
            return texts + [f["text"] for f in block.get("fields") or []]
        if kind == "context":
            return [e.get("text", "") for e in block.get("elements") or []]
        if kind == "input":
            return [f"[{block['label']['text']}: {self._element(block['element'], workspace)}]"]
        if kind == "actions":
            labels = [e["text"]["text"] for e in block["elements"] if e.get("text")]
            return ["  ".join(f"[ {label} ]" for label in labels)]
        if kind == "rich_text":
            return ["".join(_rich_text(block))]
        return []

    def _element(self, element: dict[str, Any], workspace: Workspace) -> str:
        if element.get("initial_value"):
            return str(element["initial_value"])
        if element.get("initial_user"):
            return self.mrkdwn(f"<@{element['initial_user']}>", workspace)
        if element.get("initial_conversation"):
            return self.mrkdwn(f"<#{element['initial_conversation']}>", workspace)
        if element.get("initial_option"):
            return str(element["initial_option"]["text"]["text"])
        placeholder = element.get("placeholder") or {}
        return f"…{placeholder.get('text', '')}" if placeholder else "…"

    def view(self, view_id: str, who: str) -> None:
        """The modal `view_id` as `who` sees it, in the workspace it is open in."""
        workspace = next(w for w in self.slack.workspaces.values() if view_id in w.views)
        view = workspace.views[view_id]
        title = view.get("title", {}).get("text", "")
        self.line(f"    ┌ {slack_of(workspace)} modal for {self.name(who, workspace)}: {title}")
        self._blocks(view.get("blocks") or [], "    │ ", workspace)
        submit = (view.get("submit") or {}).get("text")
        self.line(f"    └ [ {submit} ]" if submit else "    └")

    def news(self) -> None:
        """Messages posted or edited and replies given since the last call, each under the
        workspace that answered the call."""
        for call in self.slack.calls[self._calls :]:
            if call.failed or not call.response.get("ok") or call.team_id is None:
                continue
            workspace, params = self.slack.workspace(call.team_id), call.params
            if call.method in MESSAGE_POSTS:
                edited = " (edited)" if call.method == "chat.update" else ""
                threaded = " (in the thread)" if params.get("thread_ts") else ""
                channel = str(call.response.get("channel") or params.get("channel"))
                where = self._where(channel, workspace)
                self.line(f"    ✉ {slack_of(workspace)} {where}{threaded}{edited}:")
                blocks = params.get("blocks")
                if isinstance(blocks, list) and blocks:
                    self._blocks(blocks, "      ", workspace)
                else:
                    self.line(f"      {self.mrkdwn(str(params.get('text') or ''), workspace)}")
            elif call.method == "chat.postEphemeral":
                who = self.name(str(params.get("user")), workspace)
                self.line(f"    {slack_of(workspace)} (only {who} sees)")
                self.line(f"      {self.mrkdwn(str(params.get('text') or ''), workspace)}")
        self._calls = len(self.slack.calls)


def _rich_text(block: dict[str, Any]) -> list[str]:
    parts: list[str] = []
    for element in block.get("elements") or []:
        for leaf in element.get("elements") or []:
            parts.append(str(leaf.get("text") or ""))
    return parts
