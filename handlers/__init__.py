"""Bolt listeners, one module per surface; each module's `register(app)` adds its own."""

from __future__ import annotations

from slack_bolt.app.async_app import AsyncApp

from handlers import approvals, commands, home, installs, partner, wizard


def register(app: AsyncApp) -> None:
    # Bolt tries each listener's matcher in turn until one matches (each try builds the
    # listener's arguments, tens of microseconds): the wizard's, the busiest, go first.
    wizard.register(app)
    commands.register(app)
    partner.register(app)
    home.register(app)
    approvals.register(app)
    installs.register(app)
