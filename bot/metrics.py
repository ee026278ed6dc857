"""Prometheus metrics, served on `GET /metrics`: connections and invitations by state,
reminders sent, Slack API calls and errors by method, and how long the bot takes to
acknowledge Slack."""

from __future__ import annotations

from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from slack_sdk.http_retry.async_handler import AsyncRetryHandler
from slack_sdk.http_retry.request import HttpRequest
from slack_sdk.http_retry.response import HttpResponse
from slack_sdk.http_retry.state import RetryState

from storage.models import ConnectionState, InvitationState

ACK_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 3.0, 5.0)


class Metrics:
    """One registry per app (so tests and several apps in one process don't mix)."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.connections = Gauge(
            "exalate_connections", "Connections by state", ["state"], registry=self.registry
        )
        self.invitations = Gauge(
            "exalate_invitations", "Invitations by state", ["state"], registry=self.registry
        )
        self.reminders = Counter(
            "exalate_reminders_sent", "Reminders delivered to partners", registry=self.registry
        )
        self.slack_calls = Counter(
            "exalate_slack_api_calls", "Slack Web API calls", ["method"], registry=self.registry
        )
        self.slack_errors = Counter(
            "exalate_slack_api_errors",
            "Slack Web API calls that failed",
            ["method", "error"],
            registry=self.registry,
        )
        self.ack_seconds = Histogram(
            "exalate_ack_seconds",
            "Time from a request's arrival to the bot's acknowledgement",
            ["kind"],
            buckets=ACK_BUCKETS,
            registry=self.registry,
        )

    def render(self, connections: dict[str, int], invitations: dict[str, int]) -> bytes:
        """The metrics, with the counts from the database (every state, 0 when none)."""
        for gauge, counts, states in (
            (self.connections, connections, ConnectionState),
            (self.invitations, invitations, InvitationState),
        ):
            for state in states:
                gauge.labels(state=state.value).set(counts.get(state.value, 0))
        return generate_latest(self.registry)


class SlackCallCounter(AsyncRetryHandler):
    """Counts every Web API call and its failures; never asks for a retry itself.

    slack_sdk shows each response (and each exception) to its retry handlers, which makes
    them the place to observe calls without wrapping the client."""

    def __init__(self, metrics: Metrics) -> None:
        super().__init__(max_retry_count=0)
        self.metrics = metrics

    async def _can_retry_async(self, **_: Any) -> bool:
        return False

    async def can_retry_async(
        self,
        *,
        state: RetryState,
        request: HttpRequest,
        response: HttpResponse | None = None,
        error: Exception | None = None,
    ) -> bool:
        method = request.url.rstrip("/").rsplit("/", 1)[-1].split("?", 1)[0]
        self.metrics.slack_calls.labels(method=method).inc()
        problem = _problem(response, error)
        if problem:
            self.metrics.slack_errors.labels(method=method, error=problem).inc()
        return False


def _problem(response: HttpResponse | None, error: Exception | None) -> str | None:
    if error is not None:
        return type(error).__name__
    if response is None:
        return None
    if response.status_code != 200:
        return f"http_{response.status_code}"
    body: Any = response.body
    if isinstance(body, dict) and body.get("ok") is False:
        return str(body.get("error") or "not_ok")
    return None
