"""What the funnel says: its figures in plain words ("median 2 d 4 h"), pure."""

from __future__ import annotations

from datetime import timedelta

from storage.repo.funnel import FunnelFigures

TITLE = "Invitation funnel"
NONE = "—"  # a time or a ratio when nothing was accepted
WINDOWS = (30, 90)  # days, the Home tab's and the report's
HOW_COUNTED = (
    "Connections with an invitation code, by when their first invitation was sent (a resent "
    "one stays where it started); accepted: ever, whatever their state now; declined, expired "
    "and cancelled: their state now. Time to accept: from the first invitation to the "
    "acceptance, percentiles by nearest rank. Reminders per acceptance: the accepted "
    "connections' reminders, divided by their number."
)


def duration(span: timedelta | None) -> str:
    """A time to accept for people, rounded down: "2 d 4 h", "5 h 12 min", "40 min"."""
    if span is None:
        return NONE
    minutes = max(int(span.total_seconds()) // 60, 0)
    days, rest = divmod(minutes, 24 * 60)
    hours, minutes = divmod(rest, 60)
    if days:
        return f"{days:,} d {hours} h" if hours else f"{days:,} d"
    if hours:
        return f"{hours} h {minutes} min" if minutes else f"{hours} h"
    return f"{minutes} min" if minutes else "under a minute"


def per_acceptance(ratio: float | None) -> str:
    return NONE if ratio is None else f"{ratio:,.1f}"


def window(figures: FunnelFigures) -> str:
    return f"Last {figures.days} days"


def accepted(figures: FunnelFigures) -> str:
    if not figures.sent:
        return f"{figures.accepted:,}"
    return f"{figures.accepted:,} ({figures.accepted * 100 / figures.sent:.0f}%)"


def lines(figures: FunnelFigures) -> list[str]:
    """The window's figures, one a line (the same in the Home tab and the report)."""
    return [
        f"Invitations sent: {figures.sent:,}",
        f"Accepted: {accepted(figures)}",
        f"Declined: {figures.declined:,} · Expired: {figures.expired:,} · "
        f"Cancelled: {figures.cancelled:,}",
        f"Time to accept: median {duration(figures.median_to_accept)}, "
        f"90th percentile {duration(figures.p90_to_accept)}",
        f"Reminders per acceptance: {per_acceptance(figures.reminders_per_acceptance)}",
    ]


def summary(windows: list[FunnelFigures]) -> str:
    """The whole funnel as one plain text (a message's text, its notification)."""
    parts = [f"{window(f)}: " + "; ".join(lines(f)) + "." for f in windows]
    return f"{TITLE}. " + " ".join(parts)
