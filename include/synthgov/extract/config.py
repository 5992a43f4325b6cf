"""Which objects the nightly extraction reads, from a YAML file validated with clear messages."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from synthgov import settings

MODES = ("incremental", "snapshot")
APIS = ("auto", "rest", "bulk")


class ConfigError(ValueError):
    """A bad extraction config: the message names the file, the entry and the problem."""


@dataclass(frozen=True)
class ObjectSpec:
    name: str
    mode: str = "incremental"
    api: str = "auto"
    tooling: bool = False
    fields: tuple[str, ...] | None = None  # None: every field describe reports (compound and base64 skipped)
    window_days: int | None = None  # snapshot objects with a trailing CreatedDate window (SetupAuditTrail)
    inspect_media: bool = False


@dataclass(frozen=True)
class ExtractionConfig:
    path: Path
    objects: tuple[ObjectSpec, ...]
    bulk_threshold: int = 50_000

    def get(self, name: str) -> ObjectSpec:
        for spec in self.objects:
            if spec.name.lower() == name.lower():
                return spec
        raise ConfigError(f"{self.path}: no object {name!r} is configured")


def load_config(path: Path | None = None) -> ExtractionConfig:
    path = path or settings.extract_config()
    try:
        raw = yaml.safe_load(path.read_text())
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read the extraction config: {exc.strerror}") from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML: {exc}") from None
    if not isinstance(raw, dict) or not isinstance(raw.get("objects"), list) or not raw["objects"]:
        raise ConfigError(f"{path}: expected a mapping with a non-empty list 'objects'")
    unknown = set(raw) - {"objects", "bulk_threshold"}
    if unknown:
        raise ConfigError(f"{path}: unknown top-level keys {sorted(unknown)}; allowed: objects, bulk_threshold")
    threshold = raw.get("bulk_threshold", 50_000)
    if not isinstance(threshold, int) or threshold < 1:
        raise ConfigError(f"{path}: bulk_threshold must be a positive whole number, got {threshold!r}")
    specs: list[ObjectSpec] = []
    seen: set[str] = set()
    for i, entry in enumerate(raw["objects"], start=1):
        spec = _spec(path, i, entry)
        if spec.name.lower() in seen:
            raise ConfigError(f"{path}: objects[{i}] {spec.name}: listed twice")
        seen.add(spec.name.lower())
        specs.append(spec)
    return ExtractionConfig(path, tuple(specs), threshold)


def _spec(path: Path, i: int, entry: Any) -> ObjectSpec:
    where = f"{path}: objects[{i}]"
    if isinstance(entry, str):
        entry = {"name": entry}
    if not isinstance(entry, dict) or not isinstance(entry.get("name"), str) or not entry["name"]:
        raise ConfigError(f"{where}: each entry needs a name (an sObject API name)")
    name = entry["name"]
    where = f"{where} {name}"
    allowed = {"name", "mode", "api", "tooling", "fields", "window_days", "inspect_media"}
    unknown = set(entry) - allowed
    if unknown:
        raise ConfigError(f"{where}: unknown keys {sorted(unknown)}; allowed: {', '.join(sorted(allowed))}")
    mode = entry.get("mode", "incremental")
    if mode not in MODES:
        raise ConfigError(f"{where}: mode must be one of {', '.join(MODES)}, got {mode!r}")
    api = entry.get("api", "auto")
    if api not in APIS:
        raise ConfigError(f"{where}: api must be one of {', '.join(APIS)}, got {api!r}")
    fields = entry.get("fields")
    if fields is not None and (not isinstance(fields, list) or not all(isinstance(f, str) and f for f in fields)):
        raise ConfigError(f"{where}: fields must be a list of field names")
    window = entry.get("window_days")
    if window is not None and (not isinstance(window, int) or window < 1):
        raise ConfigError(f"{where}: window_days must be a positive whole number, got {window!r}")
    if window is not None and mode != "snapshot":
        raise ConfigError(f"{where}: window_days applies to snapshot objects only")
    tooling = entry.get("tooling", False)
    if not isinstance(tooling, bool):
        raise ConfigError(f"{where}: tooling must be true or false")
    if tooling and mode != "snapshot":
        raise ConfigError(f"{where}: Tooling objects are read whole each run: set mode: snapshot")
    return ObjectSpec(
        name=name,
        mode=mode,
        api=api,
        tooling=tooling,
        fields=tuple(fields) if fields is not None else None,
        window_days=window,
        inspect_media=bool(entry.get("inspect_media", False)),
    )
