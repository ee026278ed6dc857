"""Where Slack's published specs are, and what a cross-check against them does without them.

The specs (the Web API's OpenAPI file, the app-manifest schema, slack_sdk's sample views) are
not part of the project: a developer's or CI's machine has them at ``../shared/specs`` from
the project's root, or wherever ``SLACK_SPECS_DIR`` points. Only the cross-checks (the table of
bot/devtools/slack_facts.py against the OpenAPI, manifest.yml against the schema, the checker
against the sample views) read them, through the ``slack_specs`` fixture (tests/conftest.py).
Without them those tests skip, saying how to get them; with ``CI=true`` they fail instead.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Literal, NamedTuple

import pytest

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_SPECS_DIR = ROOT.parent / "shared" / "specs"
OPENAPI = "slack_web_openapi_v2.json"
MANIFEST_SCHEMA = "manifest-schema/manifest.schema.1.0.0.json"
SDK_VIEWS = "python-slack-sdk-fixtures"
NEEDED = (OPENAPI, MANIFEST_SCHEMA, SDK_VIEWS)


class Verdict(NamedTuple):
    action: Literal["run", "skip", "fail"]
    reason: str = ""


def specs_dir(environ: Mapping[str, str] = os.environ) -> Path:
    return Path(environ.get("SLACK_SPECS_DIR") or DEFAULT_SPECS_DIR)


def in_ci(environ: Mapping[str, str] = os.environ) -> bool:
    return environ.get("CI", "").strip().lower() in ("true", "1", "yes")


def spec_problem(path: Path, ci: bool) -> Verdict:
    """Whether the cross-checks run with the specs at `path`: run when every file they read is
    there; else skip, or fail under CI, with a reason that says how to get them."""
    missing = [name for name in NEEDED if not (path / name).exists()]
    if not missing:
        return Verdict("run")
    where = (
        f"incomplete at {path} (missing {', '.join(missing)})"
        if path.is_dir()
        else f"not found at {path}"
    )
    reason = (
        f"Slack's specs {where}: set SLACK_SPECS_DIR to a folder with {OPENAPI}, "
        f"manifest-schema/ and {SDK_VIEWS}/ (see README)"
    )
    return Verdict("fail" if ci else "skip", reason)


def need_specs(environ: Mapping[str, str] = os.environ) -> Path:
    """The specs' folder; else the calling test skips (fails with CI=true), saying why."""
    path = specs_dir(environ)
    verdict = spec_problem(path, in_ci(environ))
    if verdict.action == "fail":
        pytest.fail(verdict.reason, pytrace=False)
    if verdict.action == "skip":
        pytest.skip(verdict.reason)
    return path
