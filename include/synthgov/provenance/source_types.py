"""Classify a C2PA manifest store by the IPTC digital source types it declares.

Real files write `digitalSourceType` in more than one way, and every one of them is read:
- the IPTC namespace (`http://cv.iptc.org/newscodes/digitalsourcetype/...`) and C2PA's own
  (`http://c2pa.org/digitalsourcetype/...`, where `trainedAlgorithmicData` and `empty` live), over http
  or https, or as a bare code; stray whitespace and letter case are ignored;
- in `c2pa.actions` and `c2pa.actions.v2` assertions (c2pa reports both labels);
- in an action's own `digitalSourceType`, or in its `parameters` under a vendor's key that ends in
  `digitalSourceType` (e.g. `com.vendor.digitalSourceType`), or as a namespaced code in any parameter.

The class of a file is the most synthetic code among what its active manifest declares and what it
inherits from its ingredients' manifests: a `parentOf` ingredient's class carries over as is (an edit of
an AI image is still an AI image, whatever the edit declares), and an AI class in a `componentOf`
ingredient makes the file the matching composite. Taking the most synthetic of both means a later
manifest cannot launder an AI origin by declaring a human edit.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

IPTC_PREFIX = "http://cv.iptc.org/newscodes/digitalsourcetype/"
C2PA_PREFIX = "http://c2pa.org/digitalsourcetype/"
# Without scheme, compared case-insensitively: http and https name the same vocabulary.
_NAMESPACES = ("cv.iptc.org/newscodes/digitalsourcetype/", "c2pa.org/digitalsourcetype/")

# The IPTC digital source type vocabulary (plus C2PA's `trainedAlgorithmicData`), most synthetic first.
# A file's provenance class is the first of these among its codes; codes outside this list (retired IPTC
# codes, other vocabularies, C2PA's `empty` for a blank canvas) rank after all of them and are kept verbatim.
SOURCE_TYPES_MOST_SYNTHETIC_FIRST: tuple[str, ...] = (
    "trainedAlgorithmicMedia",
    "compositeWithTrainedAlgorithmicMedia",
    "trainedAlgorithmicData",
    "algorithmicMedia",
    "compositeSynthetic",
    "algorithmicallyEnhanced",
    "dataDrivenMedia",
    "digitalCreation",
    "virtualRecording",
    "humanEdits",
    "composite",
    "compositeCapture",
    "screenCapture",
    "computationalCapture",
    "print",
    "negativeFilm",
    "positiveFilm",
    "digitalCapture",
)
_RANK = {code: rank for rank, code in enumerate(SOURCE_TYPES_MOST_SYNTHETIC_FIRST)}
_CANONICAL = {code.lower(): code for code in (*SOURCE_TYPES_MOST_SYNTHETIC_FIRST, "empty")}

# Made by a trained (generative) model: the content EU AI Act Art. 50(2) marking duties are about.
GENERATIVE_AI_SOURCE_TYPES = frozenset(
    {"trainedAlgorithmicMedia", "compositeWithTrainedAlgorithmicMedia", "trainedAlgorithmicData"}
)
# Synthetic without a trained model: made purely by an algorithm, or a composite with such elements.
# Governed like AI content (a fabricated image misleads the same way) but told apart in the ledger.
OTHER_SYNTHETIC_SOURCE_TYPES = frozenset({"algorithmicMedia", "compositeSynthetic"})
# Everything synthgov counts as AI-generated or synthetic. Not included: algorithmicallyEnhanced (a real
# capture an algorithm corrected: Art. 50(2) exempts assistive standard editing), dataDrivenMedia,
# digitalCreation and the capture codes.
AI_SOURCE_TYPES = GENERATIVE_AI_SOURCE_TYPES | OTHER_SYNTHETIC_SOURCE_TYPES
# Claims that a file records reality; evidence of authenticity only from a Trusted signer.
CAPTURE_SOURCE_TYPES = frozenset(
    {"digitalCapture", "computationalCapture", "negativeFilm", "positiveFilm", "print", "screenCapture"}
)
SYNTHETIC_KIND_GENERATIVE = "generative_ai"
SYNTHETIC_KIND_OTHER = "other_synthetic"

# What a componentOf ingredient of each AI class makes of the asset it was placed into.
_AS_COMPONENT = {
    "trainedAlgorithmicMedia": "compositeWithTrainedAlgorithmicMedia",
    "compositeWithTrainedAlgorithmicMedia": "compositeWithTrainedAlgorithmicMedia",
    "trainedAlgorithmicData": "compositeWithTrainedAlgorithmicMedia",
    "algorithmicMedia": "compositeSynthetic",
    "compositeSynthetic": "compositeSynthetic",
}
_MAX_INGREDIENT_DEPTH = 16


def normalize_source_type(value: str) -> str | None:
    """The short code of a digitalSourceType as written in a file; other URIs verbatim, None if blank."""
    text = value.strip()
    if not text:
        return None
    lowered = text.lower()
    for scheme in ("https://", "http://"):
        lowered = lowered.removeprefix(scheme)
    for namespace in _NAMESPACES:
        if lowered.startswith(namespace):
            code = lowered.removeprefix(namespace).strip("/ ")
            return _CANONICAL.get(code, text)
    return _CANONICAL.get(lowered, text)


def synthetic_kind(provenance_class: str | None) -> str | None:
    """generative_ai, other_synthetic, or None for a class that is neither."""
    if provenance_class in GENERATIVE_AI_SOURCE_TYPES:
        return SYNTHETIC_KIND_GENERATIVE
    if provenance_class in OTHER_SYNTHETIC_SOURCE_TYPES:
        return SYNTHETIC_KIND_OTHER
    return None


@dataclass(frozen=True)
class Classification:
    declared: tuple[str, ...]
    provenance_class: str | None
    inherited_from_ingredients: bool
    software_agents: tuple[str, ...]


def classify(manifest: Mapping[str, Any], manifests: Mapping[str, Any], active_label: str) -> Classification:
    """The class of the asset whose active manifest is `manifest`, within the store's `manifests`."""
    declared = _declared_source_types(manifest)
    inherited = _inherited_class(manifest, manifests, {active_label}, 0)
    own = _most_synthetic(declared)
    provenance_class = _most_synthetic([c for c in (own, inherited) if c is not None])
    return Classification(
        declared=tuple(declared),
        provenance_class=provenance_class,
        inherited_from_ingredients=provenance_class is not None and provenance_class != own,
        software_agents=tuple(_software_agents(manifest)),
    )


def _actions_assertions(manifest: Mapping[str, Any]) -> Iterable[dict[str, Any]]:
    for assertion in manifest.get("assertions") or []:
        label = str(assertion.get("label", "")) if isinstance(assertion, dict) else ""
        if label in ("c2pa.actions", "c2pa.actions.v2") and isinstance(assertion.get("data"), dict):
            yield assertion["data"]


def _actions(manifest: Mapping[str, Any]) -> Iterable[dict[str, Any]]:
    for data in _actions_assertions(manifest):
        yield from (a for a in data.get("actions") or [] if isinstance(a, dict))


def _codes_in_action(action: Mapping[str, Any]) -> Iterable[str]:
    if isinstance(action.get("digitalSourceType"), str):
        yield action["digitalSourceType"]
    parameters = action.get("parameters")
    if not isinstance(parameters, dict):
        return
    for key, value in parameters.items():
        if not isinstance(value, str):
            continue
        # A vendor's own key for the standard field, or a namespaced code under any key; a bare word
        # under an unrelated key ("name": "composite") is not a declaration.
        named = str(key).replace(":", ".").rsplit(".", 1)[-1].lower() == "digitalsourcetype"
        namespaced = any(ns in value.lower() for ns in _NAMESPACES)
        if named or namespaced:
            yield value


def _declared_source_types(manifest: Mapping[str, Any]) -> list[str]:
    codes: list[str] = []
    for action in _actions(manifest):
        for raw in _codes_in_action(action):
            code = normalize_source_type(raw)
            if code is not None and code not in codes:
                codes.append(code)
    return codes


def _most_synthetic(codes: Iterable[str]) -> str | None:
    return min(codes, key=lambda code: _RANK.get(code, len(_RANK)), default=None)


def _inherited_class(
    manifest: Mapping[str, Any], manifests: Mapping[str, Any], seen: set[str], depth: int
) -> str | None:
    if depth >= _MAX_INGREDIENT_DEPTH:
        return None
    classes: list[str] = []
    for ingredient in manifest.get("ingredients") or []:
        label = ingredient.get("active_manifest") if isinstance(ingredient, dict) else None
        if not isinstance(label, str) or label in seen or not manifests.get(label):
            continue
        parent = manifests[label]
        own = _most_synthetic(_declared_source_types(parent))
        further = _inherited_class(parent, manifests, seen | {label}, depth + 1)
        cls = _most_synthetic([c for c in (own, further) if c is not None])
        relationship = ingredient.get("relationship")
        if cls is not None and relationship == "parentOf":
            classes.append(cls)
        elif cls in _AS_COMPONENT and relationship == "componentOf":
            classes.append(_AS_COMPONENT[cls])
    return _most_synthetic(classes)


def _software_agents(manifest: Mapping[str, Any]) -> list[str]:
    agents: list[str] = []
    for data in _actions_assertions(manifest):
        listed = data.get("softwareAgents") or []
        actions = [a for a in data.get("actions") or [] if isinstance(a, dict)]
        candidates = [action.get("softwareAgent") for action in actions]
        for action in actions:
            index = action.get("softwareAgentIndex")
            if isinstance(index, int) and 0 <= index < len(listed):
                candidates.append(listed[index])
        for agent in candidates:
            # Claims v2 store softwareAgent as {"name": ...}; v1 manifests as a plain string.
            name = agent.get("name") if isinstance(agent, dict) else agent
            if isinstance(name, str) and name and name not in agents:
                agents.append(name)
    return agents
