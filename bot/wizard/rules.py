"""The "Initiate connection" wizard's rules as pure functions: what a valid answer is, and
the names derived from answers. Which steps, in which order, is the table in steps.py.
Nothing here talks to Slack, the database or a node.

Answers are a flat dict (stored as JSON in the draft):
    destination        "public" | "private"
    destination_url    str (public only)
    mode               "basic" | "visual" | "script"
    admin_access       "yes" | "no" (Basic mode with a URL: admin access to the destination?)
    local_short_name, remote_short_name, connection_name, description
    project_key, project_name
    partner_user_id, partner_email, partner_name, notice_channel, note

Limits (documented in the README):
    short names         1-40 characters: letters, digits, "-" and "_"
    connection name     1-100 characters: letters, digits, "-" and "_"
    description, note   at most 1,000 characters
    destination URL     http(s) with a host, at most 2,000 characters
"""

from __future__ import annotations

import re
from enum import StrEnum
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from bot.backend.base import SHORT_NAME_MAX, SHORT_NAME_RE
from bot.mail.config import check_address
from bot.slack.reading import is_user_id
from bot.slack.text import check_text, clean, escape, has_control_chars

CONNECTION_NAME_MAX = 100
URL_MAX = 2000


class Step(StrEnum):
    DESTINATION = "destination"
    MODE = "mode"
    INFO = "info"
    PROJECT = "project"
    ACCESS = "access"  # Basic mode with a URL: "Do you have admin access to the destination?"
    PARTNER = "partner"  # when a code goes to a partner
    NOTICES = "notices"  # when none does: only the channel
    REVIEW = "review"


Answers = dict[str, Any]
Errors = dict[str, str]


def modes_for(destination: str | None) -> list[str]:
    """Visual needs admin access on both sides, so a private destination never offers it."""
    return ["basic", "visual", "script"] if destination == "public" else ["basic", "script"]


def asks_admin_access(answers: Answers) -> bool:
    """Basic mode asks "Do you have admin access to the destination instance?" when the
    destination has a URL. Without one the console goes straight to the invitation code: the
    private side is the one that accepts it."""
    return answers.get("mode") == "basic" and answers.get("destination") == "public"


def sends_code(answers: Answers) -> bool:
    """Whether an invitation code goes to a partner. Visual mode never makes one (the admin,
    with admin access on both sides, accepts on the destination); Basic mode makes none when
    the admin has admin access to the destination; Script always does."""
    if answers.get("mode") == "visual":
        return False
    return not (asks_admin_access(answers) and answers.get("admin_access") == "yes")


# --- single-field checks -------------------------------------------------------------


def check_short_name(value: object, *, what: str) -> tuple[str, str | None]:
    text = clean(value)
    if not text:
        return text, f"Enter the {what}."
    if len(text) > SHORT_NAME_MAX:
        return text, f"Use at most {SHORT_NAME_MAX} characters (this has {len(text)})."
    if not SHORT_NAME_RE.fullmatch(text):
        return text, "Use only letters, digits, - and _ (no spaces)."
    return text, None


def check_connection_name(value: object) -> tuple[str, str | None]:
    text = clean(value)
    if not text:
        return text, "Enter a connection name."
    if len(text) > CONNECTION_NAME_MAX:
        return text, f"Use at most {CONNECTION_NAME_MAX} characters (this has {len(text)})."
    if not SHORT_NAME_RE.fullmatch(text):
        return text, "Use only letters, digits, - and _ (no spaces)."
    return text, None


def check_url(value: object) -> tuple[str, str | None]:
    text = clean(value)
    if not text:
        return text, "Enter the destination instance URL, or choose “I don't have a URL”."
    if len(text) > URL_MAX:
        return text, f"Use at most {URL_MAX:,} characters."
    if has_control_chars(text) or any(ch in text for ch in ' <>|"`\\'):
        return text, 'A URL has no spaces, control characters or < > | " ` \\.'
    try:
        parts = urlsplit(text)
        port = parts.port  # raises on a bad port
    except ValueError:
        return text, "Enter a URL like https://partner.atlassian.net."
    del port
    if parts.scheme not in ("http", "https") or not parts.hostname or "." not in parts.hostname:
        return text, "Enter an http(s) URL like https://partner.atlassian.net."
    return text, None


def check_email(value: object) -> tuple[str, str | None]:
    """An address as email-validator reads it (normalized), or what is wrong with it."""
    text = clean(value)
    if has_control_chars(text):
        return text, "An e-mail address has no control characters."
    if len(text) > 254:
        return text, "An e-mail address has at most 254 characters."
    if not text:
        return text, None
    try:
        return check_address(text), None
    except ValueError as exc:
        return text, f"Enter an e-mail address like name@partner.com ({exc})"[:300]


def domain_allowed(address: str | None, domains: list[str]) -> bool:
    """EXALATE_PARTNER_DOMAINS: whether `address` is at one of `domains` (or a subdomain of
    one); anyone when the list is empty; nobody whose address is unknown otherwise."""
    if not domains:
        return True
    host = (address or "").rpartition("@")[2].lower()
    return bool(host) and any(host == d or host.endswith("." + d) for d in domains)


def check_zone(value: object) -> tuple[str, str | None]:
    """An IANA time zone name ("Europe/Berlin"), or what is wrong with it; "" is none."""
    text = clean(value)
    if not text:
        return "", None
    try:
        return ZoneInfo(text).key, None
    except (ZoneInfoNotFoundError, ValueError):
        return text, "Enter a time zone by its IANA name, like Europe/Berlin or America/New_York."


def slugify(text: str, *, limit: int = SHORT_NAME_MAX) -> str:
    slug = re.sub(r"[^A-Za-z0-9_-]+", "_", text.strip()).strip("_-")
    return slug[:limit].lower()


def short_name_from_url(url: str | None) -> str:
    """`https://partnerco.atlassian.net/jira` → `partnerco`."""
    if not url:
        return ""
    host = (urlsplit(url).hostname or "").lower()
    labels = [label for label in host.split(".") if label and label != "www"]
    return slugify(labels[0]) if labels else ""


def default_connection_name(local: str, remote: str) -> str:
    if not local or not remote:
        return ""
    return f"{local}_to_{remote}"[:CONNECTION_NAME_MAX]


# --- step validators: values (already read from the view) -> (answers, errors) --------


def validate_destination(values: dict[str, Any]) -> tuple[Answers, Errors]:
    kind = values.get("destination")
    if kind not in ("public", "private"):
        return {}, {"destination": "Choose whether you have the destination's URL."}
    if kind == "private":
        return {"destination": "private", "destination_url": None}, {}
    url, error = check_url(values.get("destination_url"))
    if error:
        return {"destination": "public"}, {"destination_url": error}
    return {"destination": "public", "destination_url": url}, {}


def validate_mode(values: dict[str, Any], answers: Answers) -> tuple[Answers, Errors]:
    mode = values.get("mode")
    allowed = modes_for(answers.get("destination"))
    if mode not in allowed:
        if mode == "visual":
            return {}, {"mode": "Visual needs the destination's URL; choose Basic or Script."}
        return {}, {"mode": "Choose a connection mode."}
    return {"mode": mode}, {}


def validate_access(values: dict[str, Any]) -> tuple[Answers, Errors]:
    access = values.get("admin_access")
    if access not in ("yes", "no"):
        return {}, {"admin_access": "Choose whether you have admin access to the destination."}
    return {"admin_access": access}, {}


def validate_notices(values: dict[str, Any]) -> tuple[Answers, Errors]:
    """The notice channel alone (no partner: no code goes to anyone)."""
    return {"notice_channel": clean(values.get("notice_channel")) or None}, {}


def validate_info(values: dict[str, Any]) -> tuple[Answers, Errors]:
    errors: Errors = {}
    local, err = check_short_name(values.get("local_short_name"), what="local instance short name")
    if err:
        errors["local_short_name"] = err
    remote, err = check_short_name(
        values.get("remote_short_name"), what="destination instance short name"
    )
    if err:
        errors["remote_short_name"] = err
    typed = clean(values.get("connection_name"))
    name = default_connection_name(local, remote) if not errors else ""
    if typed:  # empty means "derive it from the two short names"
        name, err = check_connection_name(typed)
        if err:
            errors["connection_name"] = err
    description, err = check_text(values.get("description"))
    if err:
        errors["description"] = err
    answers = {
        "local_short_name": local,
        "remote_short_name": remote,
        "connection_name": name,
        "description": description,
    }
    return answers, errors


def validate_project(
    values: dict[str, Any], known: dict[str, str] | None
) -> tuple[Answers, Errors]:
    """`known` maps project keys to names when the backend's list was checked."""
    key = clean(values.get("project_key"))
    if not key:
        return {}, {"project_key": "Choose the project for incoming sync."}
    if known is not None and key not in known:
        return {}, {"project_key": "That project is not on this node any more; choose another."}
    return {"project_key": key, "project_name": (known or {}).get(key, key)}, {}


def validate_partner(values: dict[str, Any]) -> tuple[Answers, Errors]:
    """The Slack-independent part; the handler then checks the user and channel in Slack."""
    errors: Errors = {}
    user = clean(values.get("partner_user_id"))
    email, err = check_email(values.get("partner_email"))
    if err:
        errors["partner_email"] = err
    if not user and not email and not err:
        errors["partner_user_id"] = "Choose the partner, or enter their e-mail address below."
    how = clean(values.get("partner_how")) or "slack"
    if how not in ("slack", "email"):
        errors["partner_how"] = "Choose how the invitation goes."
    elif how == "email" and not email and not errors.get("partner_email"):
        errors["partner_email"] = "Enter the partner's e-mail address: the invitation goes there."
    zone, err = check_zone(values.get("partner_zone"))
    if err:
        errors["partner_zone"] = err
    note, err = check_text(values.get("note"))
    if err:
        errors["note"] = err
    answers = {
        "partner_user_id": user or None,
        "partner_email": email or None,
        "partner_how": how,
        "partner_zone": zone or None,
        "notice_channel": clean(values.get("notice_channel")) or None,
        "note": note,
    }
    return answers, errors


def basic_mode_names(answers: Answers, *, local: str, partner_hint: str) -> Answers:
    """Basic mode has no connection-information step: derive the names like the console."""
    remote = short_name_from_url(answers.get("destination_url")) or slugify(partner_hint)
    remote = remote or "partner"
    return {
        "local_short_name": local,
        "remote_short_name": remote,
        "connection_name": default_connection_name(local, remote),
        "description": answers.get("description") or "",
    }


def unique_name(base: str, taken: set[str]) -> str:
    """`base`, or `base_2`, `base_3`… — the first not in `taken` (compared case-insensitively)."""
    lowered = {name.lower() for name in taken}
    if base.lower() not in lowered:
        return base
    n = 2
    while f"{base}_{n}".lower() in lowered:
        n += 1
    return f"{base}_{n}"


def missing_for_review(answers: Answers) -> list[Step]:
    """Steps whose answers are missing: a review must not initiate with holes."""
    missing: list[Step] = []
    if answers.get("destination") not in ("public", "private"):
        missing.append(Step.DESTINATION)
    if answers.get("mode") not in modes_for(answers.get("destination")):
        missing.append(Step.MODE)
    if asks_admin_access(answers) and answers.get("admin_access") not in ("yes", "no"):
        missing.append(Step.ACCESS)
    code = sends_code(answers)
    if not answers.get("connection_name"):
        if answers.get("mode") != "basic":
            missing.append(Step.INFO)
        else:  # Basic mode derives the names where it learns the destination
            missing.append(Step.PARTNER if code else Step.ACCESS)
    if not answers.get("project_key"):
        missing.append(Step.PROJECT)
    reached = answers.get("partner_by_hand") or answers.get("partner_by_email")
    if code and not answers.get("partner_user_id") and not reached:
        missing.append(Step.PARTNER)
    return sorted(set(missing), key=list(Step).index)


def partner_shown(answers: Answers) -> str:
    """The partner as the admin sees them in this workspace's views: a mention when they
    are a member here, else their name and company (or the e-mail typed). Mentions only an
    id of Slack's shape: the answers come back from Slack."""
    user = answers.get("partner_user_id")
    if is_user_id(user) and not answers.get("partner_elsewhere"):
        return f"<@{user}>"
    label = answers.get("partner_label") or answers.get("partner_email")
    return escape(str(label))[:300] if label else "the partner"


PASTED_CODE_RE = re.compile(r"[A-Za-z0-9+/=_.:-]{16,4096}")


def check_pasted_code(value: object) -> tuple[str, str | None]:
    """An invitation code pasted from the Exalate console; line breaks from copying are
    dropped."""
    code = "".join(clean(value).split())
    if not code:
        return code, "Paste the invitation code the Exalate console showed."
    if not PASTED_CODE_RE.fullmatch(code):
        return code, "That doesn't look like an invitation code: paste it exactly as shown."
    return code, None
