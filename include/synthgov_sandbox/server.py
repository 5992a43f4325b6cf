"""Start the sandbox org: TLS on loopback, one JSON line on stdout when ready, logs on stderr."""

from __future__ import annotations

import json
import logging
import socket
import sys
from pathlib import Path
from typing import Any

import uvicorn
from cryptography import x509

from synthgov_sandbox.control import control_routes
from synthgov_sandbox.engine.app import Config, build_app
from synthgov_sandbox.engine.store import Store
from synthgov_sandbox.tls import ensure_jwt_keys, ensure_tls

log = logging.getLogger("synthgov_sandbox")


class _Server(uvicorn.Server):
    """Prints the ready line only once the listening socket accepts connections."""

    def __init__(self, config: uvicorn.Config, ready: dict[str, Any]) -> None:
        super().__init__(config)
        self._ready = ready

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets=sockets)
        if not self.should_exit:
            sys.stdout.write(json.dumps(self._ready) + "\n")
            sys.stdout.flush()


def serve(
    *,
    host: str = "127.0.0.1",
    port: int = 0,
    state_dir: Path,
    seed: str = "demo",
    scale: int = 1,
    page_size: int = 2000,
    seed_value: int = 42,
    api_max: int | None = None,
) -> None:
    logging.basicConfig(stream=sys.stderr, level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    state_dir = state_dir.resolve()
    state_dir.mkdir(parents=True, exist_ok=True)
    tls = ensure_tls(state_dir / "tls")
    jwt_files = ensure_jwt_keys(state_dir / "tls")
    store = Store(state_dir / "org.sqlite")
    if api_max is not None:
        store.set_meta("api_max", str(api_max))
    # Data persists across restarts: seed only an org that has never been seeded.
    if store.meta("seed") is None:
        from synthgov_sandbox.demo.seed import seed_org

        log.info("seeding the %s org at scale %s (seed %s)", seed, scale, seed_value)
        summary = seed_org(store, profile=seed, scale=scale, seed=seed_value)
        log.info("seeded %s records", sum(summary["objects"].values()))
    else:
        log.info(
            "serving the org already seeded in %s (%s); --seed and --scale apply to a new state dir only, "
            "POST /__sandbox__/seed reseeds",
            state_dir,
            store.meta("seed"),
        )
    creds = store.credentials()

    sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    bound_port = sock.getsockname()[1]
    display_host = f"[{host}]" if ":" in host else host
    instance_url = f"https://{display_host}:{bound_port}"
    jwt_cert = x509.load_pem_x509_certificate(jwt_files.certificate.read_bytes())
    org_config = Config(instance_url=instance_url, page_size=page_size, jwt_cert=jwt_cert)
    app = build_app(store, org_config, extra_routes=control_routes(store))
    config = uvicorn.Config(
        app,
        ssl_certfile=str(tls.cert),
        ssl_keyfile=str(tls.key),
        log_level="warning",
        access_log=False,
        lifespan="off",
        timeout_keep_alive=30,
        date_header=False,
        timeout_graceful_shutdown=3,
        server_header=False,
    )
    ready = {
        "instance_url": instance_url,
        "ca_bundle": str(tls.ca_bundle),
        "client_id": creds["client_id"],
        "client_secret": creds["client_secret"],
        "username": store.meta("admin_username"),
        "password": creds["password"],
        "control_url": f"{instance_url}/__sandbox__",
        "jwt_private_key_file": str(jwt_files.private_key),
        "state_dir": str(state_dir),
    }
    _Server(config, ready).run(sockets=[sock])
