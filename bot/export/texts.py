"""What `/exalate export` says."""

from __future__ import annotations

from datetime import datetime

DEFAULT_DAYS = 90
MAX_DAYS = 3650

BAD_DAYS = (
    f"`/exalate export [days]`: days is a whole number from 1 to {MAX_DAYS} (the default is "
    f"{DEFAULT_DAYS}), e.g. `/exalate export 30`. Nothing was exported."
)
DATABASE_AWAY = (
    ":warning: I couldn't build the export just now (reading my database or writing the file "
    "failed); please try `/exalate export` again in a moment."
)


def building(days: int) -> str:
    return (
        f":hourglass_flowing_sand: Building the export of the last {days} days; the CSV file "
        "comes to our DM."
    )


def span(since: datetime, until: datetime) -> str:
    return f"{since:%Y-%m-%d %H:%M} to {until:%Y-%m-%d %H:%M} UTC"


def nothing(days: int) -> str:
    return (
        f"Nothing happened to this workspace's connections in the last {days} days: no "
        "export. Ask for more days, e.g. `/exalate export 365`."
    )


def comment(events: int, since: datetime, until: datetime) -> str:
    """The file's message in the DM."""
    return (
        f"Exalate export: {events} audit events of this workspace's connections, "
        f"{span(since, until)}. No invitation code is in it; a cell a spreadsheet would read "
        "as a formula starts with an apostrophe."
    )


def done(events: int, days: int) -> str:
    return (
        f":page_facing_up: The export is in our DM: {events} audit events of the last {days} days."
    )


def upload_failed(error: str) -> str:
    if error == "missing_scope":  # installed before the export came: no files:write yet
        return (
            ":warning: Slack refused the export's file: the app lacks the `files:write` "
            "permission, added with `/exalate export`. A workspace admin reinstalls the app "
            "(or approves its new permissions) to grant it; nothing was shared."
        )
    return (
        f":warning: Slack didn't take the export's file ({error}); nothing was shared. Try "
        "`/exalate export` again in a moment."
    )


def filename(until: datetime) -> str:
    return f"exalate-export-{until:%Y-%m-%d}.csv"


def title(days: int) -> str:
    return f"Exalate connections and audit trail, last {days} days"
