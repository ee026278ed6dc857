"""Bolt listeners, one module per surface; each module's `register(app)` adds its own."""

from __future__ import annotations

from slack_bolt.app.async_app import AsyncApp

from handlers import commands, home, partner, wizard


def register(app: AsyncApp) -> None:
    commands.register(app)
    wizard.register(app)
    partner.register(app)
    home.register(app)
