"""What the property tests share: hypothesis settings and strategies (hostile text, names,
ids, answers), and the checks every view and message must pass (Block Kit, Slack's limits,
no mention or link the builders never write). Used by tests/test_properties.py and the
modules that check their own builders."""

from __future__ import annotations

import string
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

from hypothesis import HealthCheck, assume, settings
from hypothesis import strategies as st

from bot.backend.base import Project
from bot.wizard import rules as wizard
from tests.specs import check_message, check_view

FAST = settings(max_examples=150, deadline=None)
BUILDERS = settings(max_examples=60, deadline=None)
SLOW = settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)

# Mentions and links only user text can bring: the builders never write these themselves.
FORBIDDEN = ("<!channel>", "<!here>", "<!everyone>", "<@U0OTHER>", "<#C123>")
NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
SHORT_NAME_CHARS = set(string.ascii_letters + string.digits + "-_")
URLSAFE = set(string.ascii_letters + string.digits + "-_")
SQLITE_INT_MAX = 2**63 - 1


# --- strategies ---------------------------------------------------------------------------

TOKENS = st.sampled_from(
    [
        *FORBIDDEN,
        "<",
        ">",
        "&",
        "&lt;",
        "|",
        "*bold*",
        "_it_",
        "```",
        "`",
        "\n",
        "\t",
        "<https://evil.example|click>",
        "<mailto:x@y.z>",
        "'; DROP TABLE connection; --",
        "%s{}{0}",
        "\u202e",
        "👩‍👩‍👧‍👦",
        "Z\u0337\u0359",
        "EXA1-",
    ]
)
# Anything a person could type, control characters included (no lone surrogates).
any_text = st.text(max_size=300)
# Text the free-text validators accept (no control characters but newlines and tabs).
printable = st.text(
    alphabet=st.characters(exclude_categories=["Cs", "Cc"]) | st.sampled_from("\n\t"),
    max_size=40,
)
long_runs = st.builds(
    lambda ch, n: ch * n,
    st.sampled_from(["<", "&", ">", "a", "`", "👩‍👩‍👧‍👦", "\n", "<!channel>"]),
    st.integers(1, 1000),
)
mixed = st.lists(st.one_of(printable, TOKENS), max_size=25).map("".join)
free_text = st.one_of(mixed, long_runs).map(lambda t: t.strip()[:1000])
hostile_any = st.one_of(any_text, mixed, long_runs)
NAME_ALPHABET = "".join(sorted(SHORT_NAME_CHARS))
ID_ALPHABET = string.ascii_uppercase + string.digits
short_names = st.text(alphabet=NAME_ALPHABET, min_size=1, max_size=40)
connection_names = st.text(alphabet=NAME_ALPHABET, min_size=1, max_size=100)
user_ids = st.text(alphabet=ID_ALPHABET, min_size=8, max_size=8).map("U".__add__)
channel_ids = st.text(alphabet=ID_ALPHABET, min_size=8, max_size=8).map("C".__add__)
project_keys = st.text(alphabet=string.ascii_uppercase, min_size=1, max_size=10)
ids = st.integers(1, 2**31)


@st.composite
def urls(draw: st.DrawFn) -> str:
    """URLs check_url accepts: hosts with a dot, paths with anything but spaces."""
    host = draw(st.text(alphabet=string.ascii_lowercase + string.digits, min_size=1, max_size=20))
    tail = draw(
        st.one_of(
            st.lists(
                st.one_of(
                    st.text(
                        alphabet=st.characters(exclude_categories=["Cs", "Cc", "Zs"]),
                        max_size=20,
                    ),
                    TOKENS,
                ),
                max_size=8,
            ).map("".join),
            st.builds(lambda n: "&" * n, st.integers(1, 1970)),
        )
    )
    url = f"https://{host}.example.com/{tail}"
    url = url.replace(" ", "")
    assume(wizard.check_url(url)[1] is None)
    return url


def projects() -> st.SearchStrategy[list[Project]]:
    names = st.one_of(mixed, st.text(max_size=255)).map(lambda t: t.strip()[:255] or "P")
    return st.lists(
        st.builds(Project, key=project_keys, name=names), max_size=20, unique_by=lambda p: p.key
    )


answers = st.fixed_dictionaries(
    {
        "destination": st.sampled_from(["public", "private"]),
        "mode": st.sampled_from(["basic", "visual", "script"]),
    },
    optional={
        "destination_url": urls(),
        "local_short_name": short_names,
        "remote_short_name": short_names,
        "connection_name": connection_names,
        "description": free_text,
        "project_key": project_keys,
        "project_name": free_text.map(lambda t: t[:255]),
        "partner_user_id": user_ids,
        "partner_email": st.emails(),
        "notice_channel": channel_ids,
        "note": free_text,
    },
)


# --- checks -------------------------------------------------------------------------------


def _text(obj: Any) -> str:
    return obj.get("text", "") if isinstance(obj, dict) else ""


def limit_problems(node: Any, where: str, problems: list[str]) -> None:
    """Slack's limits that slack_sdk's models don't check (or that are worth double-checking)."""
    if isinstance(node, list):
        for i, item in enumerate(node):
            limit_problems(item, f"{where}[{i}]", problems)
        return
    if not isinstance(node, dict):
        return

    def over(what: str, value: Any, limit: int) -> None:
        if isinstance(value, (str, list)) and len(value) > limit:
            problems.append(f"{where}: {what} has {len(value)} (max {limit})")

    kind = node.get("type")
    if kind in ("plain_text", "mrkdwn") and not str(node.get("text", "")):
        problems.append(f"{where}: empty {kind} text")
    if kind == "section":
        over("text", _text(node.get("text")), 3000)
        over("fields", node.get("fields") or [], 10)
        for i, f in enumerate(node.get("fields") or []):
            over(f"field {i} text", _text(f), 2000)
    if kind == "header":
        over("text", _text(node.get("text")), 150)
    if kind == "context":
        over("elements", node.get("elements") or [], 10)
    if kind == "actions":
        over("elements", node.get("elements") or [], 25)
    if kind == "button":
        over("text", _text(node.get("text")), 75)
        over("value", node.get("value", ""), 2000)
    if kind == "input":
        over("label", _text(node.get("label")), 2000)
        over("hint", _text(node.get("hint")), 2000)
    if kind == "plain_text_input" and "initial_value" in node:
        over("initial_value", node["initial_value"], node.get("max_length", 3000))
    if "placeholder" in node:
        over("placeholder", _text(node["placeholder"]), 150)
    if kind in ("static_select", "radio_buttons") or (
        "options" in node and kind not in ("modal", "home")
    ):
        options = node.get("options") or []
        over("options", options, 10 if kind == "radio_buttons" else 100)
        for i, option in enumerate(options):
            over(f"option {i} text", _text(option.get("text")), 75)
            over(f"option {i} value", option.get("value", ""), 150)
            over(f"option {i} description", _text(option.get("description")), 75)
        if "initial_option" in node and node["initial_option"] not in options:
            problems.append(f"{where}: initial_option is not one of the options")
    for key in ("block_id", "action_id", "callback_id", "external_id"):
        over(key, node.get(key, ""), 255)
    if kind in ("modal", "home"):
        over("private_metadata", node.get("private_metadata", ""), 3000)
    for key, value in node.items():
        limit_problems(value, f"{where}.{key}", problems)


def _mrkdwn(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        if node.get("type") == "mrkdwn":
            yield str(node.get("text", ""))
        for value in node.values():
            yield from _mrkdwn(value)
    elif isinstance(node, list):
        for item in node:
            yield from _mrkdwn(item)


def _leaks(texts: Iterator[str]) -> list[str]:
    return [
        f"{token!r} in {text[:200]!r}" for text in texts for token in FORBIDDEN if token in text
    ]


def assert_view_ok(view: dict[str, Any]) -> None:
    problems = check_view(view)
    limit_problems(view, "view", problems)
    assert not problems, problems[:5]
    assert not _leaks(_mrkdwn(view)), _leaks(_mrkdwn(view))[:3]


def assert_message_ok(message: dict[str, Any]) -> None:
    problems = check_message(message)
    limit_problems(message.get("blocks"), "blocks", problems)
    if len(message.get("text") or "") > 40_000:
        problems.append(f"text has {len(message['text'])} characters (Slack shows 40,000)")
    assert not problems, problems[:5]
    texts = [str(message.get("text") or ""), *_mrkdwn(message.get("blocks"))]
    assert not _leaks(iter(texts)), _leaks(iter(texts))[:3]


def has_cc(text: str, allowed: str = "") -> bool:
    return any(ch not in allowed and (ord(ch) < 32 or 127 <= ord(ch) < 160) for ch in text)


# === 1. the wizard's validators ============================================================
