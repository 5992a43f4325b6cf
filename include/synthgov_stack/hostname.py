"""The hostname an Airflow process reports for its task instances (``[core] hostname_callable``).

Airflow records the machine's FQDN on every try, so two Celery workers on one machine would look like
one. Each stack worker sets ``[stack] worker_hostname`` to its Celery hostname (``worker1@127.0.0.1``),
so a task's tries say which worker ran each; other processes keep the FQDN.
"""

from __future__ import annotations

import socket


def worker_hostname() -> str:
    from airflow.configuration import conf

    return conf.get("stack", "worker_hostname", fallback="") or socket.getfqdn()
