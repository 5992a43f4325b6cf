"""Failure notifications for synthgov's DAGs, the way Airflow users wire them: a notifier as the DAG's
``on_failure_callback``.

None by default. With ``SYNTHGOV_ALERT_CONN_ID`` naming an Airflow connection (conn type ``http``), a
failed DAG run posts one JSON message to that connection's URL: an incoming webhook of Slack, Teams,
Mattermost or any receiver that reads ``{"text": ...}``; the other keys are for receivers that route
alerts. The connection's password, when set, is sent as a bearer token; it never appears in the message.

The URL is the connection's host when it holds a whole URL (``https://hooks.example.com/T0/B0/x``),
else ``<schema or https>://<host>[:<port>]`` followed by the extra ``endpoint``.

Teams that already use a provider's notifier (``SlackNotifier``, ``SmtpNotifier``, ...) can pass it
to the DAG instead; this one needs nothing beyond Airflow itself.
"""

from __future__ import annotations

import json
from typing import Any

from airflow.sdk import BaseHook, BaseNotifier

from synthgov import settings

_TIMEOUT_S = 10


def _webhook_url(conn: Any) -> str:
    host = (conn.host or "").strip()
    if not host:
        raise ValueError(f"connection {conn.conn_id!r} has no host: set the webhook's URL as its host")
    if "://" in host:
        return host
    scheme = conn.schema or "https"
    port = f":{conn.port}" if conn.port else ""
    endpoint = str(conn.extra_dejson.get("endpoint", "")).lstrip("/")
    return f"{scheme}://{host}{port}/{endpoint}"


class WebhookFailureNotifier(BaseNotifier):
    """Post a failed run's summary (DAG, run, the failed task, where to look) to a webhook connection."""

    template_fields = ("message",)

    def __init__(self, *, conn_id: str, message: str = "synthgov: {{ dag.dag_id }} run {{ run_id }} failed") -> None:
        super().__init__()
        self.conn_id = conn_id
        self.message = message

    def render_template_fields(self, context: Any, jinja_env: Any = None) -> None:
        # DAG callbacks can get the serialized DAG in their context (dag.test() does), which has no
        # template environment of its own: render with Airflow's sandboxed default instead of failing.
        if jinja_env is None and not hasattr(context.get("dag"), "get_template_env"):
            jinja_env = self.get_template_env()
        super().render_template_fields(context, jinja_env)

    def payload(self, context: Any) -> dict[str, Any]:
        # A DAG callback's context is the template context of the task instance that decided the
        # run's state (the failed one here), without database access: what it names is what we send.
        ti = context.get("ti") or context.get("task_instance")
        return {
            "text": self.message,
            "dag_id": getattr(context.get("dag"), "dag_id", None),
            "run_id": context.get("run_id"),
            "failed_task": getattr(ti, "task_id", None),
            "reason": context.get("reason"),
            "log_url": getattr(ti, "log_url", None),
        }

    def notify(self, context: Any) -> None:
        import requests

        conn = BaseHook.get_connection(self.conn_id)
        headers = {"Content-Type": "application/json"}
        if conn.password:
            headers["Authorization"] = f"Bearer {conn.password}"
        response = requests.post(
            _webhook_url(conn), data=json.dumps(self.payload(context)), headers=headers, timeout=_TIMEOUT_S
        )
        response.raise_for_status()


def failure_notifiers() -> list[Any] | None:
    """The DAGs' ``on_failure_callback``: the webhook notifier when ``SYNTHGOV_ALERT_CONN_ID`` is set, else none.

    Reads one environment variable, nothing else, so the DAG files stay cheap to parse. Typed ``Any``:
    a notifier is callable with a context, which Airflow's callback type does not spell.
    """
    conn_id = settings.alert_conn_id()
    return [WebhookFailureNotifier(conn_id=conn_id)] if conn_id else None
