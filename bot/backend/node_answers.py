"""Reading a real node's answers, taking nothing on trust.

The node's REST API has no public reference: the shapes below are what Exalate's own helper
scripts read (`/connections`: `results` of `id`, `name`, `status`, and maybe
`communication.remoteUrl`; `scopeparams/search`: `results` of `name`, maybe `key`, `id`),
and `total` is never required. What the bot relies on is checked; an answer that breaks
it raises `Malformed`, which the client turns into one line for the admin. Optional
fields of the wrong type are left out.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from bot.backend.base import Project

MAX_STATUS = 64  # storage.models.Connection.node_status
MAX_ID = 255  # storage.models.Connection.backend_id
MAX_KEY = 150  # a Slack option's value
MAX_NAME = 255  # storage.models.Connection.project_name
SHOWN = 60  # how much of a name from the node an error message quotes


def one_line(text: str, limit: int = SHOWN) -> str:
    """Text from the node as a message quotes it: on one line, clipped."""
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


class Malformed(Exception):
    """The answer is not what the bot can read; the message says where, without secrets."""


@dataclass(frozen=True)
class NodeConnection:
    id: str
    name: str
    status: str  # upper-cased, as the node gives it (maybe one the bot doesn't know)
    remote_url: str | None = None  # communication.remoteUrl, when the node gives one


def _count(value: Any) -> int | None:
    """A non-negative integer (JSON's true/false are not counts), else None."""
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        return None
    return value


def _results(data: Any) -> list[Any]:
    if not isinstance(data, dict):
        raise Malformed("it is not a JSON object")
    results = data.get("results")
    if not isinstance(results, list):
        raise Malformed("it has no list of `results`")
    return results


def _scalar_id(value: Any) -> str | None:
    """An id given as a number or a non-empty string, as text; None for anything else."""
    if isinstance(value, bool) or not isinstance(value, int | str):
        return None
    text = str(value).strip()
    return text or None


def connection_page(data: Any) -> tuple[list[NodeConnection], int | None]:
    """One answer of `GET connections`: its connections, and `total` when it gives one."""
    results = _results(data)
    return [connection(item, n) for n, item in enumerate(results, 1)], _count(data.get("total"))


def connection(item: Any, number: int) -> NodeConnection:
    where = f"connection {number}"
    if not isinstance(item, dict):
        raise Malformed(f"{where} is not an object")
    name = item.get("name")
    if not isinstance(name, str) or not name.strip():
        raise Malformed(f"{where} has no `name` string")
    where = f"{where} (`{one_line(name)}`)"
    backend_id = _scalar_id(item.get("id"))
    if backend_id is None:
        raise Malformed(f"{where} has no `id` (a number or a string)")
    if len(backend_id) > MAX_ID:
        raise Malformed(f"{where} has an `id` of more than {MAX_ID} characters")
    status = item.get("status")
    if not isinstance(status, str) or not status.strip():
        raise Malformed(f"{where} has no `status` string")
    return NodeConnection(
        id=backend_id,
        name=name,
        status=status.strip().upper()[:MAX_STATUS],
        remote_url=_remote_url(item),
    )


def _remote_url(item: dict[str, Any]) -> str | None:
    communication = item.get("communication")
    remote = communication.get("remoteUrl") if isinstance(communication, dict) else None
    return remote.strip() if isinstance(remote, str) and remote.strip() else None


def projects(data: Any) -> tuple[list[Project], int | None, int]:
    """One answer of `scopeparams/search`: its projects (once each), `total` when it gives
    one, and how many results it held. A project needs only its `name`: its key is `key`,
    else `id`, else the name itself."""
    results = _results(data)
    found: dict[str, Project] = {}
    for number, item in enumerate(results, 1):
        project = _project(item, number)
        found.setdefault(project.key, project)
    return list(found.values()), _count(data.get("total")), len(results)


def _project(item: Any, number: int) -> Project:
    where = f"project {number}"
    if not isinstance(item, dict):
        raise Malformed(f"{where} is not an object")
    name = item.get("name")
    if not isinstance(name, str) or not name.strip():
        raise Malformed(f"{where} has no `name` string")
    key = None
    for field in ("key", "id"):
        if item.get(field) is None:
            continue
        key = _scalar_id(item[field])
        if key is None:
            raise Malformed(f"{where} (`{one_line(name)}`) has a `{field}` that is not text")
        break
    name = name.strip()[:MAX_NAME]
    return Project(key=(key or name)[:MAX_KEY], name=name)


def normal_url(url: str) -> str:
    """An instance URL as compared: scheme and host in lower case, the port unless it is
    the scheme's own, the path without its trailing slash; no query, no fragment."""
    parts = urlsplit(url.strip())
    scheme = parts.scheme.lower()
    try:
        port = parts.port
    except ValueError:
        port = None
    default = {"http": 80, "https": 443}.get(scheme)
    at = f":{port}" if port is not None and port != default else ""
    return f"{scheme}://{(parts.hostname or '').lower()}{at}{parts.path.rstrip('/')}"


def same_instance(a: str, b: str) -> bool:
    return normal_url(a) == normal_url(b)
