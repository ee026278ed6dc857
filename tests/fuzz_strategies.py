"""Hypothesis strategies for the fuzz (tests/test_fuzz.py): requests as Slack sends them to
`/slack/events`, built from the bot's real ids and from views and messages the running bot
made, then mutated.

A `FuzzRequest` is a payload (the shapes of bot/devtools/slack_payloads.py: slash commands,
block_actions, view_submission, view_closed, block_suggestion, event_callback
app_home_opened, and a few kinds the bot doesn't handle), how it is encoded (a form, a form
whose `payload` field is the JSON, or JSON), its mutations (missing keys, wrong types, huge
ints, lone surrogates, over-long strings and ids, forged or stale private_metadata), what is
done to its bytes (broken UTF-8, truncation, odd charsets and Content-Types, a chunked or an
oversized body) and how it is signed (signed, unsigned, a wrong secret, a stale or future
timestamp, a tampered body).

Trigger ids and response_urls are placeholders, filled in when the request is sent (a
trigger_id lives 3 s), so the same seed draws the same requests.
"""

from __future__ import annotations

import copy
import functools
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote_plus, urlencode

from hypothesis import strategies as st

from bot.commands.ids import CommandId
from bot.devtools.slack_payloads import (
    API_APP_ID,
    TEAM_DOMAIN,
    VERIFICATION_TOKEN,
    command_payload,
    event_callback_payload,
    view_closed_payload,
)
from bot.home.ids import HomeId
from bot.invitations.ids import InvitationIds
from bot.wizard.ids import WizardId
from bot.wizard.rules import Step

JsonDict = dict[str, Any]

TRIGGER = "@@fuzz:trigger@@"  # a fresh trigger_id from the emulator, at send time
USED_TRIGGER = "@@fuzz:used_trigger@@"  # the previous request's (exchanged_trigger_id)
RESPONSE_URL = "@@fuzz:response_url@@"  # a fresh response_url from the emulator
DEAD_HOOK = "@@fuzz:dead_hook@@"  # a response_url the emulator never gave (404)
PLACEHOLDERS = (TRIGGER, USED_TRIGGER, RESPONSE_URL, DEAD_HOOK)
BIGNUM = "@@fuzz:bignum@@"  # in JSON: a 5,000-digit number (over Python's int-parsing limit)
CANARY = "FUZZCANARY"  # in texts a person types: it must never show up in a log line
MIB = 1024 * 1024
LONG_TEAM = "T" + "0" * 3_001  # a team id that alone passes a private_metadata's 3,000

# --- the bot's real ids -------------------------------------------------------------------

BUTTONS = (
    InvitationIds.ACCEPT,
    InvitationIds.SNOOZE_DAY,
    InvitationIds.SNOOZE_MONDAY,
    InvitationIds.DECLINE,
    InvitationIds.RESEND,
    InvitationIds.CANCEL,
    HomeId.CONNECT_ACTION,
    HomeId.REMIND_ACTION,
    CommandId.CANCEL_CONFIRM_ACTION,
    CommandId.CANCEL_KEEP_ACTION,
    WizardId.BACK,
)
LIST_PAGES = tuple(f"{CommandId.LIST_PAGE_ACTION}_{way}" for way in ("older", "newer"))
ACTION_IDS = tuple(str(a) for a in (*BUTTONS, *LIST_PAGES))
CALLBACK_IDS = (WizardId.CALLBACK, InvitationIds.ACCEPT_VIEW, InvitationIds.DECLINE_VIEW)
REAL_IDS = tuple(
    sorted({str(i) for enum in (WizardId, InvitationIds, HomeId, CommandId) for i in enum})
    + list(LIST_PAGES)
)
VIEW_KINDS = (*(str(s) for s in Step), "result", "message")
USERS = ("UADMIN", "UADMIN", "UADMIN", "UPARTNER", "UPARTNER", "UOTHER", "UGONE", "UROBOT")
CHANNELS = ("CNOTICE", "C0GENERAL", "CPRIVATE", "CARCHIVED", "CNOPE")
SUBCOMMANDS = (
    "connect",
    "connect",
    "list",
    "list pending",
    "list all",
    "list nonsense",
    "status acme_to_partnerco",
    "status acme_to_nobody",
    "resend acme_to_partnerco",
    "cancel acme_to_partnerco",
    "accept",
    "accept",
    "help",
    "",
    "frobnicate",
)

# --- hostile values -----------------------------------------------------------------------

LONE_SURROGATES = ("\ud800", "\udfff", "a\ud83d", "\udc00b")
HOSTILE_TEXTS = (
    "",
    " ",
    "\x00",
    "nul\x00byte",
    "bell\x07\x1b[31m",
    "\u202eevil",
    "👩‍👩‍👧‍👦",
    "<!channel> <@UOTHER>",
    "'; DROP TABLE connection; --",
    "%s %d {0} {}",
    f"{CANARY} typed by a person",
    *LONE_SURROGATES,
)


@functools.cache  # one strategy object: hypothesis validates each new one
def long_strings(prefix: str = "") -> st.SearchStrategy[str]:
    """Over Slack's limits: a private_metadata's 3,000, a text's 40,000, and beyond."""
    sizes = st.sampled_from((101, 256, 3_001, 40_001, 150_000))
    return sizes.map(lambda n: prefix + "x" * n)


@functools.cache  # one strategy object: hypothesis validates each new one
def slack_ids(prefix: str) -> st.SearchStrategy[str]:
    """Ids in Slack's shape (`T…`, `U…`, `C…`, `V…`), and ones that only look like it."""
    return st.one_of(
        st.text("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789", min_size=1, max_size=12).map(
            lambda s: prefix + s
        ),
        long_strings(prefix),
        st.sampled_from(LONE_SURROGATES).map(lambda s: prefix + s),
        st.just(prefix.lower() + "0001"),
        st.just(prefix + "0001\x00"),
    )


@functools.cache  # one strategy object: hypothesis validates each new one
def scalars() -> st.SearchStrategy[Any]:
    """What a payload should never hold where a listener reads: every JSON type, and worse."""
    return st.one_of(
        st.sampled_from((None, True, False, 0, -1, 7, 2**31, 2**63, -(10**30), 10**400)),
        st.floats(allow_nan=True, allow_infinity=True),
        st.sampled_from(HOSTILE_TEXTS),
        st.text(max_size=20),
        long_strings(),
        st.sampled_from(([], [{}], [None], {}, {"id": None}, [[]], {"": ""})),
        st.just(BIGNUM),
    )


@functools.cache  # one strategy object: hypothesis validates each new one
def texts() -> st.SearchStrategy[Any]:
    return st.one_of(st.sampled_from(HOSTILE_TEXTS), st.text(max_size=40), long_strings())


# --- what the fuzz mutates ----------------------------------------------------------------


@dataclass(frozen=True)
class Bases:
    """Views and messages the running bot made, with the ids it gave them (the fuzz's
    starting points; test_fuzz.py harvests them before it fuzzes)."""

    team_id: str
    connection_id: int
    invitation_id: int
    code: str  # the invitation's real code (Accept with it turns the connection active)
    wizard_views: tuple[JsonDict, ...]  # one a step, as Slack holds them
    accept_view: JsonDict
    decline_view: JsonDict
    home_view: JsonDict
    dm_message: JsonDict  # the partner's invitation DM, with its buttons
    admin_message: JsonDict  # Resend / Cancel
    answers: dict[str, tuple[Any, ...]] = field(default_factory=dict)  # good answers a block


@dataclass(frozen=True)
class FuzzRequest:
    kind: str  # "slash_command", "block_actions:partner_accept", …
    payload: Any
    encoding: str  # "form" (a command's fields), "form_payload", "json"
    signing: str  # "signed", or how it is unsigned or forged (then 401 is the only answer)
    content_type: str | None  # None: no Content-Type header at all
    mutations: tuple[str, ...] = ()
    byte_mutation: tuple[Any, ...] | None = None
    chunked: bool = False
    oversize: int = 0  # bytes of padding (past the 1 MiB aiohttp takes)

    @property
    def signed(self) -> bool:
        return self.signing == "signed"

    def describe(self) -> str:
        parts = [self.kind, self.encoding, self.signing, f"Content-Type={self.content_type!r}"]
        parts += list(self.mutations)
        if self.byte_mutation:
            parts.append("bytes:" + ":".join(str(p) for p in self.byte_mutation[:2]))
        if self.chunked:
            parts.append("chunked")
        if self.oversize:
            parts.append(f"oversize+{self.oversize}")
        return " | ".join(parts)


def rarely(draw: st.DrawFn, one_in: int) -> bool:
    """True once in `one_in` draws. Not `integers(0, n) == 0`: hypothesis favours a range's
    ends (and its simplest example is all zeros), so 1 in 100 came out 1 in 14."""
    return draw(st.integers(0, one_in - 1)) == one_in // 2


# --- building payloads --------------------------------------------------------------------


def _team(team_id: Any) -> JsonDict:
    return {"id": team_id, "domain": TEAM_DOMAIN}


def _user(user_id: Any, team_id: Any) -> JsonDict:
    name = user_id.lower() if isinstance(user_id, str) else "someone"
    return {"id": user_id, "username": name, "name": name, "team_id": team_id}


def _who(draw: st.DrawFn, bases: Bases) -> tuple[Any, Any]:
    """Who sends it: mostly the workspace's people, sometimes an id Slack never gave."""
    user = draw(slack_ids("U")) if rarely(draw, 10) else draw(st.sampled_from(USERS))
    team = bases.team_id
    if rarely(draw, 8):
        team = draw(st.one_of(st.just(LONG_TEAM), slack_ids("T")))
    return user, team


def _trigger(draw: st.DrawFn) -> str:
    forged = ("12345.67890.0123456789abcdef0123", "", "x" * 300)
    return draw(st.sampled_from((TRIGGER,) * 8 + (USED_TRIGGER, *forged)))


def _response_url(draw: st.DrawFn) -> str:
    dead = (DEAD_HOOK, "http://127.0.0.1:9/closed", "not a url", "", "ftp://127.0.0.1/x")
    return draw(st.sampled_from((RESPONSE_URL,) * 8 + dead))


def _option(value: Any) -> JsonDict:
    return {"text": {"type": "plain_text", "text": str(value)[:75]}, "value": value}


def _element_state(element: JsonDict, answer: Any) -> JsonDict:
    kind = element.get("type")
    if kind in ("radio_buttons", "static_select", "external_select"):
        return {"type": kind, "selected_option": None if answer is None else _option(answer)}
    if kind == "users_select":
        return {"type": kind, "selected_user": answer}
    if kind in ("conversations_select", "channels_select"):
        key = "selected_conversation" if kind.startswith("conv") else "selected_channel"
        return {"type": kind, key: answer}
    return {"type": kind, "value": answer}


def _inputs(view: JsonDict) -> list[tuple[str, JsonDict]]:
    return [
        (b["block_id"], b["element"])
        for b in view.get("blocks", [])
        if b.get("type") == "input" and "block_id" in b and isinstance(b.get("element"), dict)
    ]


def _options_of(element: JsonDict) -> list[Any]:
    groups = element.get("option_groups", [])
    options = element.get("options") or [o for g in groups for o in g.get("options", [])]
    return [o.get("value") for o in options]


@st.composite
def view_state(draw: st.DrawFn, view: JsonDict, bases: Bases) -> JsonDict:
    """`state.values` for the view's inputs: mostly answers the bot takes, else junk."""
    values: JsonDict = {}
    for block_id, element in _inputs(view):
        good = list(bases.answers.get(block_id, ())) + _options_of(element)
        choices = [st.sampled_from(good)] if good else []
        answer = draw(st.one_of(*choices, st.none(), texts()) if choices else texts())
        if good and draw(st.sampled_from((True, True, False))):
            answer = draw(st.sampled_from(good))
        values[block_id] = {element.get("action_id", block_id): _element_state(element, answer)}
    return values


def _wizard_metadata(draw: st.DrawFn, view: JsonDict) -> tuple[str, str]:
    """The wizard view's private_metadata, kept or forged, and what was done to it."""
    text = view.get("private_metadata") or ""
    try:
        meta = json.loads(text)
    except ValueError:
        meta = {}
    how = draw(
        st.sampled_from(
            (
                "kept",
                "kept",
                "kept",
                "other_user",
                "other_team",
                "other_step",
                "answers_junk",
                "not_json",
                "over_3000",
                "stale_spilled",
            )
        )
    )
    if how == "kept" or not isinstance(meta, dict):
        return text, how
    if how == "other_user":
        meta["user"] = draw(st.sampled_from(("UOTHER", "UPARTNER")))
    elif how == "other_team":
        meta["team"] = draw(slack_ids("T"))
    elif how == "other_step":
        meta["step"] = draw(st.one_of(st.sampled_from(VIEW_KINDS), scalars()))
    elif how == "answers_junk":
        meta["answers"] = draw(
            st.one_of(
                scalars(),
                st.dictionaries(st.sampled_from(sorted(str(i) for i in WizardId)), scalars()),
            )
        )
    elif how == "not_json":
        return draw(st.sampled_from(("{", "", "null", "[]", "1", '"step"', "\ud800"))), how
    elif how == "over_3000":
        meta["answers"] = dict(meta.get("answers") or {}, description="d" * 3_100)
    elif how == "stale_spilled":
        meta.pop("answers", None)  # as if its answers were in a draft that is gone
    return json.dumps(meta), how


def _partner_metadata(draw: st.DrawFn, view: JsonDict, bases: Bases) -> tuple[str, str]:
    invitation = draw(
        st.one_of(
            st.just(bases.invitation_id),
            st.just(bases.invitation_id),
            st.sampled_from((999_999, -1, 0, "1", "abc", 2**63, None)),
            scalars(),
        )
    )
    if draw(st.sampled_from((False, False, False, True))):
        return draw(st.sampled_from(("{", "", "null", "[1]", "\ud800"))), "not_json"
    return json.dumps({"invitation": invitation}), f"invitation={invitation!r:.40}"


@st.composite
def slash_commands(draw: st.DrawFn, bases: Bases) -> tuple[str, Any, str]:
    user, team = _who(draw, bases)
    text = draw(
        st.one_of(
            st.sampled_from(SUBCOMMANDS),
            st.sampled_from(SUBCOMMANDS).flatmap(lambda s: texts().map(lambda t: f"{s} {t}")),
        )
    )
    fields = command_payload(
        text=text,
        user_id=user,
        trigger_id=_trigger(draw),
        response_url=_response_url(draw),
        channel_id=draw(st.sampled_from(CHANNELS)),
        team_id=team,
    )
    encoding = draw(st.sampled_from(("form", "form", "form", "form", "json")))
    return "slash_command", fields, encoding


def _action_value(draw: st.DrawFn, action_id: str, bases: Bases) -> Any:
    c, i = bases.connection_id, bases.invitation_id
    real = {
        InvitationIds.RESEND: (f"{c}:{i}", str(c)),
        InvitationIds.CANCEL: (f"{c}:{i}", str(c)),
        HomeId.REMIND_ACTION: (str(c),),
        HomeId.CONNECT_ACTION: ("connect",),
        CommandId.CANCEL_CONFIRM_ACTION: (str(c),),
        CommandId.CANCEL_KEEP_ACTION: (str(c),),
        WizardId.BACK: ("back",),
    }.get(action_id, (str(i),))
    if action_id in LIST_PAGES:
        filters = st.sampled_from(("all", "pending", "active", "expired", "nope"))
        offsets = st.one_of(st.integers(-5, 30), scalars())
        page = st.fixed_dictionaries({"filter": st.one_of(filters, scalars()), "offset": offsets})
        return draw(st.one_of(page.map(json.dumps), scalars()))
    forged = ("999999", "-1", "abc", "", "0", "²", "9" * 30, f"{c}:{c}:{c}", f"{c}\x00")
    return draw(st.one_of(st.sampled_from(real), st.sampled_from(forged), scalars()))


@st.composite
def block_actions(draw: st.DrawFn, bases: Bases) -> tuple[str, Any, str]:
    action_id = draw(st.sampled_from(ACTION_IDS))
    user, team = _who(draw, bases)
    if action_id in (InvitationIds.ACCEPT, InvitationIds.DECLINE) or action_id.startswith(
        "partner_snooze"
    ):
        user = draw(st.sampled_from(("UPARTNER", "UPARTNER", "UOTHER", "UADMIN")))
    action = {
        "action_id": action_id,
        "block_id": draw(st.sampled_from(("invitation_1", "home_admin", "wizard_nav", "x"))),
        "type": "button",
        "text": {"type": "plain_text", "text": "Click"},
        "value": _action_value(draw, action_id, bases),
        "action_ts": "1700000000.000001",
    }
    payload: JsonDict = {
        "type": "block_actions",
        "team": _team(team),
        "user": _user(user, team),
        "api_app_id": API_APP_ID,
        "token": VERIFICATION_TOKEN,
        "trigger_id": _trigger(draw),
        "actions": [action],
        "is_enterprise_install": False,
        "enterprise": None,
    }
    where = draw(st.sampled_from(("message", "message", "wizard", "home")))
    if where == "message":
        message = bases.dm_message if action_id.startswith("partner") else bases.admin_message
        payload |= {
            "container": {
                "type": "message",
                "message_ts": message.get("ts", "1.0"),
                "channel_id": message.get("channel", "D0001"),
                "is_ephemeral": False,
            },
            "channel": {"id": message.get("channel", "D0001"), "name": "directmessage"},
            "response_url": _response_url(draw),
            "message": {"type": "message"}
            | {k: message[k] for k in ("ts", "text", "blocks", "user", "bot_id") if k in message},
        }
    else:
        view = draw(st.sampled_from(bases.wizard_views)) if where == "wizard" else bases.home_view
        state = draw(view_state(view, bases)) if where == "wizard" else {}
        payload |= {
            "container": {"type": "view", "view_id": view.get("id")},
            "view": view | {"state": {"values": state}},
        }
    return f"block_actions:{action_id}", payload, _interaction_encoding(draw)


def _interaction_encoding(draw: st.DrawFn) -> str:
    return draw(st.sampled_from(("form_payload",) * 6 + ("json",)))


@st.composite
def view_submissions(draw: st.DrawFn, bases: Bases) -> tuple[str, Any, str]:
    base = draw(
        st.sampled_from(
            (*bases.wizard_views, *bases.wizard_views, bases.accept_view, bases.decline_view)
        )
    )
    user, team = _who(draw, bases)
    if base["callback_id"] == WizardId.CALLBACK:
        metadata, how = _wizard_metadata(draw, base)
    else:
        user = draw(st.sampled_from(("UPARTNER", "UPARTNER", "UOTHER")))
        metadata, how = _partner_metadata(draw, base, bases)
    view = base | {
        "private_metadata": metadata,
        "state": {"values": draw(view_state(base, bases))},
    }
    payload = {
        "type": "view_submission",
        "team": _team(team),
        "user": _user(user, team),
        "api_app_id": API_APP_ID,
        "token": VERIFICATION_TOKEN,
        "trigger_id": _trigger(draw),
        "view": view,
        "response_urls": [],
        "is_enterprise_install": False,
        "enterprise": None,
    }
    kind = f"view_submission:{base['callback_id']}:{_step_of(base)}:metadata={how}"
    return kind, payload, _interaction_encoding(draw)


def _step_of(view: JsonDict) -> str:
    try:
        return str(json.loads(view.get("private_metadata") or "{}").get("step", "-"))
    except (ValueError, AttributeError):
        return "-"


@st.composite
def view_closings(draw: st.DrawFn, bases: Bases) -> tuple[str, Any, str]:
    base = draw(st.sampled_from(bases.wizard_views))
    user, team = _who(draw, bases)
    metadata, how = _wizard_metadata(draw, base)
    payload = view_closed_payload(base | {"private_metadata": metadata}, user_id=user, team_id=team)
    return f"view_closed:{_step_of(base)}:metadata={how}", payload, _interaction_encoding(draw)


@st.composite
def block_suggestions(draw: st.DrawFn, bases: Bases) -> tuple[str, Any, str]:
    view = draw(st.sampled_from(bases.wizard_views))
    user, team = _who(draw, bases)
    action_id = draw(
        st.one_of(st.just(str(WizardId.PROJECT)), st.sampled_from(REAL_IDS), scalars())
    )
    payload = {
        "type": "block_suggestion",
        "team": _team(team),
        "user": _user(user, team),
        "api_app_id": API_APP_ID,
        "token": VERIFICATION_TOKEN,
        "container": {"type": "view", "view_id": view.get("id")},
        "action_id": action_id,
        "block_id": str(WizardId.PROJECT),
        "value": draw(st.one_of(st.sampled_from(("", "S", "SUP", "dev")), texts(), scalars())),
        "view": view,
        "is_enterprise_install": False,
        "enterprise": None,
    }
    return f"block_suggestion:{action_id!s:.40}", payload, _interaction_encoding(draw)


@st.composite
def events(draw: st.DrawFn, bases: Bases) -> tuple[str, Any, str]:
    user = draw(st.one_of(st.sampled_from(USERS), slack_ids("U")))
    kind = draw(st.sampled_from(("app_home_opened",) * 4 + ("app_mention", "message")))
    event: JsonDict = {"type": kind, "user": user, "channel": "D0HOME"}
    if kind == "app_home_opened":
        event["tab"] = draw(st.sampled_from(("home", "home", "messages", None, "", "about")))
        if draw(st.booleans()):
            event["view"] = bases.home_view
    else:
        event["text"] = draw(texts())
    payload = event_callback_payload(event, event_id="Ev0000000000", team_id=bases.team_id)
    payload["event"]["event_ts"] = "1700000000.000100"  # the same seed, the same payload
    payload |= {"event_time": 1_700_000_000, "event_context": "EC" + "0" * 30}
    # a fresh event_id each time (a repeated one is Slack's retry, acted on once)
    payload["event_id"] = draw(
        st.one_of(
            st.text("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789", min_size=10, max_size=10).map(
                lambda s: "Ev" + s
            ),
            slack_ids("Ev"),
        )
    )
    encoding = draw(st.sampled_from(("json",) * 6 + ("form_payload",)))
    return f"event_callback:{kind}", payload, encoding


@st.composite
def others(draw: st.DrawFn, bases: Bases) -> tuple[str, Any, str]:
    """What the bot has no listener for, and what is no payload at all."""
    shapes = st.sampled_from(
        (
            {"type": "url_verification", "token": VERIFICATION_TOKEN, "challenge": "c" * 20},
            {"type": "shortcut", "callback_id": "x", "trigger_id": TRIGGER},
            {"type": "message_action", "callback_id": "x", "trigger_id": TRIGGER},
            {"type": "interactive_message", "callback_id": "x", "actions": [{}]},
            {"type": "dialog_submission", "callback_id": "x", "submission": {}},
            {"type": "block_actions"},
            {"type": "view_submission"},
            {"type": "event_callback"},
            {"type": "xyz"},
            {},
            {"command": "/exalate", "text": 1},
            {"ssl_check": "1", "token": VERIFICATION_TOKEN},
        )
    )
    json_values = st.recursive(
        scalars(),
        lambda inner: st.one_of(
            st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=8), inner, max_size=3)
        ),
        max_leaves=8,
    )
    payload = draw(st.one_of(shapes, json_values))
    encoding = draw(st.sampled_from(("json", "form_payload")))
    return "other", copy.deepcopy(payload), encoding


# --- mutations ----------------------------------------------------------------------------

# where listeners read: mutations go there more often than anywhere else
INTERESTING = {
    "user",
    "id",
    "team",
    "team_id",
    "user_id",
    "trigger_id",
    "actions",
    "action_id",
    "value",
    "view",
    "state",
    "values",
    "private_metadata",
    "callback_id",
    "external_id",
    "response_url",
    "container",
    "event",
    "event_id",
    "tab",
    "type",
    "text",
    "command",
    "channel_id",
    "selected_option",
    "selected_user",
    "selected_conversation",
}


def paths(node: Any, prefix: tuple[Any, ...] = (), depth: int = 0) -> Iterator[tuple[Any, ...]]:
    if depth > 7:
        return
    if isinstance(node, dict):
        for key, value in node.items():
            yield (*prefix, key)
            yield from paths(value, (*prefix, key), depth + 1)
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield (*prefix, index)
            yield from paths(value, (*prefix, index), depth + 1)


def _at(node: Any, path: tuple[Any, ...]) -> Any:
    for step in path:
        node = node[step]
    return node


@st.composite
def mutation(draw: st.DrawFn, payload: Any, form: bool) -> tuple[Any, str]:
    """One mutation of the payload (a deep copy): at a path, or of the whole."""
    everywhere = list(paths(payload))
    if not everywhere or (not form and rarely(draw, 40)):
        whole = copy.deepcopy(draw(st.sampled_from(([], None, 1, "payload", [{}], {"type": None}))))
        return whole, f"whole={whole!r}"
    # what listeners read first: outside the views' blocks, under names they read
    outside = [p for p in everywhere if "blocks" not in p]
    primary = [p for p in outside if p[-1] in INTERESTING] or outside or everywhere
    interesting = [p for p in everywhere if p[-1] in INTERESTING] or everywhere
    pick = draw(st.sampled_from(("primary",) * 4 + ("outside", "interesting", "anywhere")))
    path = draw(
        st.sampled_from(
            {"primary": primary, "outside": outside or everywhere, "interesting": interesting}.get(
                pick, everywhere
            )
        )
    )
    parent, key = _at(payload, path[:-1]), path[-1]
    old = parent[key]
    op = draw(
        st.sampled_from(
            (
                *("delete", "delete", "replace", "replace", "replace", "stringify"),
                *("surrogate", "overlong", "real_id", "wrap_list"),
            )
        )
    )
    name = ".".join(str(p) for p in path)
    if op == "delete" and isinstance(parent, dict):
        del parent[key]
        return payload, f"del {name}"
    if op == "stringify":
        parent[key] = json.dumps(old) if not isinstance(old, str) else old + "\x00"
    elif op == "surrogate":
        parent[key] = (old if isinstance(old, str) else "") + draw(st.sampled_from(LONE_SURROGATES))
    elif op == "overlong":
        parent[key] = (old if isinstance(old, str) else "") + draw(long_strings())
    elif op == "real_id":
        parent[key] = draw(st.sampled_from(REAL_IDS))
    elif op == "wrap_list":
        parent[key] = [old]
    else:
        parent[key] = copy.deepcopy(draw(scalars()))  # never the strategy's own object
    shown = repr(parent[key])
    return payload, f"{op} {name}={shown[:40]}{'…' if len(shown) > 40 else ''}"


# --- a whole request ----------------------------------------------------------------------

SIGNINGS = ("signed",) * 15 + (
    "unsigned",
    "unsigned",
    "wrong_secret",
    "stale",
    "future",
    "bad_timestamp:abc",
    "bad_timestamp:",
    "bad_timestamp:" + "9" * 30,
    "bad_timestamp:１２３",  # full-width digits: int() takes them
    "tampered",
    "no_v0",
    "empty_signature",
)
CONTENT_TYPES = (
    "application/x-www-form-urlencoded",
    "application/x-www-form-urlencoded; charset=utf-8",
    "application/x-www-form-urlencoded; charset=latin-1",
    "application/x-www-form-urlencoded; charset=utf-16",
    "application/x-www-form-urlencoded; charset=does-not-exist",
    'application/x-www-form-urlencoded; charset="',
    "application/json",
    "application/json; charset=utf-7",
    "application/json; charset=nope",
    "text/plain",
    "text/plain; charset=ebcdic",
    "multipart/form-data; boundary=x",
    "application/octet-stream",
    "",
    None,
)
NATURAL = {
    "form": "application/x-www-form-urlencoded",
    "form_payload": "application/x-www-form-urlencoded",
    "json": "application/json",
}
BAD_UTF8 = (b"\xff", b"\xc3(", b"\xed\xa0\x80", b"\x80", b"\xf8\x88\x80\x80\x80", b"\xe9")


@functools.cache  # one strategy object: hypothesis validates each new one
def byte_mutations() -> st.SearchStrategy[tuple[Any, ...]]:
    where = st.floats(0, 1)
    return st.one_of(
        st.tuples(st.just("truncate"), where),
        st.tuples(st.just("bad_utf8"), where, st.sampled_from(BAD_UTF8)),
        st.tuples(st.just("pct_bad_utf8"), where, st.sampled_from(("%ff", "%C3%28", "%ED%A0%80"))),
        st.tuples(st.just("nul"), where),
        st.tuples(st.just("utf16"), st.just(0.0)),
        st.tuples(st.just("bom"), st.just(0.0)),
        st.tuples(st.just("empty"), st.just(0.0)),
    )


def requests(bases: Bases) -> st.SearchStrategy[FuzzRequest]:
    """One request to `/slack/events`: a kind, then its mutations, bytes and signature."""
    kinds = st.one_of(
        slash_commands(bases),
        block_actions(bases),
        block_actions(bases),
        view_submissions(bases),
        view_submissions(bases),
        view_closings(bases),
        block_suggestions(bases),
        events(bases),
        others(bases),
    )
    return kinds.flatmap(lambda drawn: _request(bases, *drawn))


@st.composite
def _request(draw: st.DrawFn, bases: Bases, kind: str, payload: Any, encoding: str) -> FuzzRequest:
    payload = copy.deepcopy(payload)
    done: list[str] = []
    for _ in range(draw(st.sampled_from((0, 0, 0, 1, 1, 1, 2, 3)))):
        payload, what = draw(mutation(payload, form=encoding == "form"))
        done.append(what)
    content_type = NATURAL[encoding]
    if rarely(draw, 8):
        content_type = draw(st.sampled_from(CONTENT_TYPES))
    return FuzzRequest(
        kind=kind,
        payload=payload,
        encoding=encoding,
        signing=draw(st.sampled_from(SIGNINGS)),
        content_type=content_type,
        mutations=tuple(done),
        byte_mutation=draw(byte_mutations()) if rarely(draw, 7) else None,
        chunked=rarely(draw, 25),
        oversize=MIB + draw(st.integers(1, 4096)) if rarely(draw, 100) else 0,
    )


# --- the bytes ----------------------------------------------------------------------------


def _fill(node: Any, fills: dict[str, str]) -> Any:
    if isinstance(node, dict):
        return {k: _fill(v, fills) for k, v in node.items()}
    if isinstance(node, list):
        return [_fill(v, fills) for v in node]
    if isinstance(node, str) and node in fills:
        return fills[node]
    return node


def _json(payload: Any) -> str:
    text = json.dumps(payload)  # ASCII: lone surrogates as \ud800 escapes, NaN as NaN
    return text.replace(json.dumps(BIGNUM), "1" * 5_000)


def render(req: FuzzRequest, fills: dict[str, str]) -> bytes:
    """The body's bytes, the placeholders filled in (`fills`: a fresh trigger_id and
    response_url…), as the signature covers them."""
    payload = _fill(req.payload, fills)
    if req.encoding == "form" and isinstance(payload, dict):
        text = urlencode(
            {k: v if isinstance(v, str) else json.dumps(v) for k, v in payload.items()},
            errors="surrogatepass",
        )
    elif req.encoding in ("form", "form_payload"):
        text = "payload=" + quote_plus(_json(payload))
    else:
        text = _json(payload)
    body = text.encode("ascii")
    if req.byte_mutation is not None:
        body = _mangle(body, req.byte_mutation)
    if req.oversize:
        pad = b" " * req.oversize if req.encoding == "json" else b"&pad=" + b"x" * req.oversize
        body += pad
    return body


def _mangle(body: bytes, how: tuple[Any, ...]) -> bytes:
    op, where = how[0], int(len(body) * how[1])
    if op == "truncate":
        return body[:where]
    if op == "bad_utf8":
        return body[:where] + how[2] + body[where:]
    if op == "pct_bad_utf8":
        return body[:where] + how[2].encode() + body[where:]
    if op == "nul":
        return body[:where] + b"\x00" + body[where:]
    if op == "utf16":
        return body.decode("ascii").encode("utf-16")
    if op == "bom":
        return b"\xef\xbb\xbf" + body
    return b""
