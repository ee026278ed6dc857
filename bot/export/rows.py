"""The export's rules, pure: which days were asked for, and what each row's cells say, with
every cell a spreadsheet would run as a formula neutralised."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from bot.export.texts import DEFAULT_DAYS, MAX_DAYS
from bot.security import mask

HEADER = (
    "connection",
    "description",
    "mode",
    "destination",
    "destination URL",
    "state now",
    "partner",
    "invitation note",
    "who",
    "what",
    "when (UTC)",
    "from",
    "to",
    "detail",
)
# OWASP's CSV injection advice: a cell starting with one of these is read as a formula (tab
# and carriage return too, which some spreadsheets skip before the = sign)
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def days_asked(rest: str) -> int | None:
    """`/exalate export [days]`'s days: DEFAULT_DAYS when none, None when not 1..MAX_DAYS."""
    words = rest.split()
    if not words:
        return DEFAULT_DAYS
    if len(words) > 1 or not words[0].isascii() or not words[0].isdigit():
        return None
    days = int(words[0])
    return days if 1 <= days <= MAX_DAYS else None


def neutralise(cell: str) -> str:
    """The cell with a leading apostrophe where a spreadsheet would read a formula."""
    return "'" + cell if cell.startswith(FORMULA_STARTS) else cell


def iso(at: datetime) -> str:
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def cells(row: Any) -> list[str]:
    """An exported row (storage.repo.export's columns) as the CSV's cells, in HEADER's order.
    Every text is masked as the logs are (a code pasted into a description or a note shows
    as [redacted]), then neutralised."""
    values = (
        row.connection,
        row.description,
        row.mode,
        row.destination,
        row.destination_url,
        row.state,
        row.partner_label or row.partner_user_id,
        row.note,
        row.actor,
        row.action,
        iso(row.at),
        row.from_state,
        row.to_state,
        row.detail,
    )
    return [neutralise(mask(str(value or ""))) for value in values]
