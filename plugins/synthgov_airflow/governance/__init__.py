"""The Governance page: a FastAPI app the API server mounts under ``/governance`` (see ``app``)."""
