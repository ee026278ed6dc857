"""manifest.yml against Slack's app-manifest schema, and against what the bot handles."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest
import yaml

from bot.installs.oauth import REDIRECT_PATH
from bot.installs.scopes import BOT_SCOPES
from tests.published_specs import MANIFEST_SCHEMA, ROOT


@pytest.fixture(scope="module")
def manifest() -> dict:
    return yaml.safe_load((ROOT / "manifest.yml").read_text())


@pytest.fixture(scope="module")
def schema(slack_specs: Path) -> dict:
    """Slack's app-manifest schema (a cross-check: skipped without Slack's specs)."""
    return json.loads((slack_specs / MANIFEST_SCHEMA).read_text())


def test_manifest_is_valid(manifest: dict, schema: dict) -> None:
    jsonschema.validate(manifest, schema)


def test_a_broken_manifest_is_caught(schema: dict) -> None:
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({"display_information": {}}, schema)


def test_manifest_matches_the_bot(manifest: dict) -> None:
    [command] = manifest["features"]["slash_commands"]
    assert command["command"] == "/exalate"
    assert manifest["features"]["app_home"]["home_tab_enabled"] is True
    assert manifest["settings"]["event_subscriptions"]["bot_events"] == [
        "app_home_opened",
        "app_uninstalled",
        "tokens_revoked",
    ]
    [redirect] = manifest["oauth_config"]["redirect_urls"]
    assert redirect.endswith(REDIRECT_PATH)
    assert manifest["settings"]["interactivity"]["is_enabled"] is True
    assert manifest["settings"]["socket_mode_enabled"] is True
    scopes = manifest["oauth_config"]["scopes"]["bot"]
    assert tuple(scopes) == BOT_SCOPES  # what an install asks for is what the manifest says
