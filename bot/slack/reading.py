"""One typed reading of each request Slack sends: what the listeners use, checked once.

`read(body)` turns a slash command, a block_actions, a view_submission or view_closed, a
block_suggestion or an event_callback into a small frozen model (`Command`, `BlockActions`,
`ViewSubmission`, `ViewClosed`, `Suggestion`, `Event`), or raises `Unreadable` naming the
part that is missing or not as Slack sends it (the part's place, never its value). Other
kinds (url_verification, ssl_check, shortcuts...) are no listener's: `read` gives None.

The edge (bot/slack/middleware.py) reads every request once, before Bolt matches a listener (Bolt's
matchers index into the raw body), and puts the reading in the context as `payload`; the
listeners take it with `reading(context, Kind)` instead of `body["user"]["id"]`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Annotated, Any, TypeVar

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError

UNREADABLE = "I couldn't read that request from Slack; try again."

# Slack's ids: a letter naming the kind, then upper-case letters and digits (Slack's API docs,
# "Slack IDs" / conversations: T… workspace and E… Enterprise Grid org, U…/W… user (W: on
# Enterprise Grid), C…/G…/D… public channel, private channel or group DM, and DM, V… view,
# B… bot). Today's are 9 to 11 characters; Slack says they may grow, so up to 21 here: long
# enough for any Slack sends, short enough that nothing built from them passes Slack's limits
# (and as short as 2, as the tests' T1 and U1).
TEAM_ID = r"^[TE][A-Z0-9]{1,20}$"
USER_ID = r"^[UW][A-Z0-9]{1,20}$"
CHANNEL_ID = r"^[CGD][A-Z0-9]{1,20}$"
VIEW_ID = r"^V[A-Z0-9]{1,20}$"
BOT_ID = r"^B[A-Z0-9]{1,20}$"
EVENT_ID = r"^Ev[A-Z0-9]{1,30}$"  # e.g. Ev08MFMKH6
# trigger_ids look like 13345224609.738474920.8088930838d88f008e0; Slack calls them opaque
TRIGGER_ID = r"^[A-Za-z0-9._-]{1,255}$"

TeamId = Annotated[str, StringConstraints(pattern=TEAM_ID)]
UserId = Annotated[str, StringConstraints(pattern=USER_ID)]
ChannelId = Annotated[str, StringConstraints(pattern=CHANNEL_ID)]
ViewId = Annotated[str, StringConstraints(pattern=VIEW_ID)]
BotId = Annotated[str, StringConstraints(pattern=BOT_ID)]
EventId = Annotated[str, StringConstraints(pattern=EVENT_ID)]
TriggerId = Annotated[str, StringConstraints(pattern=TRIGGER_ID)]
# Block Kit's limits (api.slack.com/reference/block-kit): ids 255, a button value 2,000,
# private_metadata 3,000; a response_url is a URL (2,000 is more than Slack's)
Id255 = Annotated[str, StringConstraints(max_length=255)]
Url = Annotated[str, StringConstraints(max_length=2000)]

_USER_RE = re.compile(USER_ID)


def is_user_id(value: object) -> bool:
    """A user id of Slack's shape (for ids that come back in answers and metadata)."""
    return isinstance(value, str) and _USER_RE.fullmatch(value) is not None


class Unreadable(ValueError):
    """A payload that lacks what a listener needs; the message names the part, never its
    value (it may be huge, or hold a secret)."""


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")


class _User(_Model):
    id: UserId
    team_id: TeamId | None = None


class _Team(_Model):
    id: TeamId


class Action(_Model):
    """actions[0] of a block_actions: what was clicked (or picked) and the value it carries."""

    action_id: Annotated[str, StringConstraints(min_length=1, max_length=255)]
    block_id: Id255 | None = None
    value: Annotated[str, StringConstraints(max_length=2000)] | None = None
    type: Id255 | None = None


class View(_Model):
    """The parts of a view the listeners use: which view, whose metadata, what was typed."""

    id: ViewId
    type: Id255 | None = None
    callback_id: Id255 = ""
    hash: Id255 | None = None
    external_id: Id255 = ""
    private_metadata: Annotated[str, StringConstraints(max_length=3000)] = ""
    state: dict[str, Any] | None = None  # read by bot.slack.payloads.read_state, defensively
    blocks: list[dict[str, Any]] = Field(default_factory=list)
    app_installed_team_id: TeamId | None = None

    @property
    def values(self) -> dict[str, Any]:
        """view.state.values ({} when there is none)."""
        values = (self.state or {}).get("values")
        return values if isinstance(values, dict) else {}

    def as_dict(self) -> dict[str, Any]:
        """The checked parts as the view dict the features take (no other key of the raw one;
        not a copy: a view's state and blocks can be tens of kilobytes)."""
        return {name: value for name, value in self.__dict__.items() if value is not None}


class _Interaction(_Model):
    user: _User
    team: _Team | None = None
    view: View | None = None
    response_url: Url | None = None

    @property
    def user_id(self) -> str:
        return self.user.id

    @property
    def team_id(self) -> str:
        """As Bolt finds it: the view's installing workspace, the team, the user's team."""
        if self.view is not None and self.view.app_installed_team_id:
            return self.view.app_installed_team_id
        if self.team is not None:
            return self.team.id
        return self.user.team_id or ""


class _Container(_Model):
    type: Id255 | None = None  # "message", "view": where the click was


class BlockActions(_Interaction):
    trigger_id: TriggerId | None = None
    actions: Annotated[list[Action], Field(min_length=1, max_length=25)]
    container: _Container | None = None

    @property
    def action(self) -> Action:
        return self.actions[0]


class ViewSubmission(_Interaction):
    view: View
    trigger_id: TriggerId | None = None

    @property
    def state_present(self) -> bool:
        return isinstance(self.view.state, dict) and "values" in self.view.state


class ViewClosed(_Interaction):
    view: View


class Suggestion(_Interaction):
    action_id: Annotated[str, StringConstraints(min_length=1, max_length=255)]
    block_id: Id255 | None = None
    value: str = ""  # what is typed; clipped by the listener


class Command(_Model):
    command: Annotated[str, StringConstraints(min_length=1, max_length=100)]
    text: str = ""  # clipped by bot.slack.payloads.clean_command_text
    user_id: UserId
    team_id: TeamId
    channel_id: ChannelId | None = None
    trigger_id: TriggerId | None = None
    response_url: Url | None = None


class _Tokens(_Model):
    """tokens_revoked: whose tokens went (user ids for user tokens, bot user ids for bots)."""

    oauth: list[UserId] = []
    bot: list[UserId] = []


class _EventBody(_Model):
    type: Annotated[str, StringConstraints(min_length=1, max_length=100)]
    user: UserId | None = None
    tab: Id255 | None = None
    tokens: _Tokens | None = None


class Event(_Model):
    team_id: TeamId
    event_id: EventId
    event: _EventBody

    @property
    def user_id(self) -> str | None:
        return self.event.user

    @property
    def response_url(self) -> None:
        """An event has no way back to the person."""
        return None


Reading = BlockActions | ViewSubmission | ViewClosed | Suggestion | Command | Event
R = TypeVar("R", BlockActions, ViewSubmission, ViewClosed, Suggestion, Command, Event)

_KINDS: dict[str, type[BaseModel]] = {
    "block_actions": BlockActions,
    "view_submission": ViewSubmission,
    "view_closed": ViewClosed,
    "block_suggestion": Suggestion,
    "event_callback": Event,
}


def kind_of(body: Any) -> str:
    """The request's kind, for a log line: one of Slack's names, never the body's own text."""
    if not isinstance(body, Mapping):
        return "request"
    kind = body.get("type")
    if isinstance(kind, str) and kind in _KINDS:
        return kind
    return "slash_command" if "command" in body else "request"


def read(body: Any) -> Reading | None:
    """The typed reading of `body`; None for a kind no listener reads; Unreadable otherwise."""
    kind = kind_of(body)
    if kind == "request":
        return None
    model = Command if kind == "slash_command" else _KINDS[kind]
    try:
        reading = model.model_validate(body)
    except ValidationError as exc:
        raise Unreadable(_what(exc)) from None
    except (ValueError, TypeError, UnicodeError):  # text no decoder takes (a lone surrogate)
        raise Unreadable("unreadable text") from None
    if isinstance(reading, _Interaction) and not reading.team_id:
        raise Unreadable("team.id (missing)")
    if isinstance(reading, ViewSubmission) and not reading.state_present:
        raise Unreadable("view.state (missing)")
    return reading  # type: ignore[return-value]


def _what(exc: ValidationError) -> str:
    """Where and what, never a value: "user.id (missing)", "actions.0.action_id (string_type)"."""
    parts = []
    for error in exc.errors(include_url=False, include_input=False, include_context=False)[:3]:
        where = ".".join(_place(p) for p in error["loc"]) or "body"
        parts.append(f"{where} ({error['type']})")
    return "; ".join(parts)[:300]


def _place(part: int | str) -> str:
    """A field's name or an index; a key of the payload's own (a block_id...) is not logged."""
    if isinstance(part, int) or re.fullmatch(r"[a-z_]{1,40}", part):
        return str(part)
    return "*"


def reading(context: Mapping[str, Any], kind: type[R]) -> R:
    """The request's reading, put in the context by the edge before any listener runs."""
    payload = context.get("payload")
    if not isinstance(payload, kind):  # only if the edge's middleware isn't installed
        raise Unreadable(f"no {kind.__name__} reading in the context")
    return payload
