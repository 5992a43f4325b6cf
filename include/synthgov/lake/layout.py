"""The map of the lake: every prefix and key synthgov writes, in one place.

========================================================  ==========================================
``raw/salesforce/<Object>/run_date=D/run_id=R/``          extracted runs: ``part-NNNNN.parquet``, then
                                                          ``_manifest.json`` (written last)
``raw/salesforce_files/ContentVersion/run_date=D/...``    media findings runs (``findings.parquet``)
``raw/training/<Table>/run_date=D/run_id=R/``             training-zone snapshot runs
``state/watermarks/<Object>.json``                        where the next incremental extraction starts
``state/purged/<Object>/<run_id>.sha256``                 the purge registry (hashes of purged ids)
``retention/plans/<plan_id>/``                            retention plans, and their ``journal/``
``evidence/retention/ledger/``                            the hash-chained evidence ledger
``training/``                                             the training zone, unless it has a lake of its own
========================================================  ==========================================

Partition folders use Hive naming (key=value) so engines can prune by run date. Object names and
run ids are checked before they become part of a key, so a key never escapes its folder.
"""

from __future__ import annotations

import re
from datetime import date

from synthgov.lake.storage import LakeError

RAW_PREFIX = "raw/salesforce"
FILES_PREFIX = "raw/salesforce_files"
RAW_TRAINING_PREFIX = "raw/training"
WATERMARKS_PREFIX = "state/watermarks"
PURGED_PREFIX = "state/purged"
PLANS_PREFIX = "retention/plans"
LEDGER_PREFIX = "evidence/retention/ledger"
# The training zone's place in the lake when SYNTHGOV_TRAINING_LAKE_URL names no lake of its own;
# people and ML pipelines write there, synthgov only reads it.
TRAINING_ZONE_PREFIX = "training"

#: Every folder synthgov writes to; a key it writes starts with one of them.
PRODUCT_PREFIXES = tuple(
    f"{p}/"
    for p in (
        RAW_PREFIX,
        FILES_PREFIX,
        RAW_TRAINING_PREFIX,
        WATERMARKS_PREFIX,
        PURGED_PREFIX,
        PLANS_PREFIX,
        LEDGER_PREFIX,
    )
)
#: Every folder of a lake: what synthgov writes, and the training zone people write to.
MAPPED_PREFIXES = (*PRODUCT_PREFIXES, f"{TRAINING_ZONE_PREFIX}/")
#: Top-level folders holding raw data (extracts, findings, snapshots, watermarks, the purge registry):
#: a training zone inside one of them is not apart from the raw data.
RAW_DATA_FOLDERS = frozenset(
    p.split("/")[0] for p in (RAW_PREFIX, FILES_PREFIX, RAW_TRAINING_PREFIX, WATERMARKS_PREFIX, PURGED_PREFIX)
)

MANIFEST_NAME = "_manifest.json"
# In a run folder from a purge's first rewritten part until the run's manifest is rewritten.
PURGE_PENDING_NAME = "_purge_pending.json"
FINDINGS_NAME = "findings.parquet"
MEDIA_SOURCE_OBJECT = "ContentVersion"

_OBJECT_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_]*")
_RUN_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")


def check_object(obj: str) -> str:
    """``obj`` if it is an sObject (or snapshot table) API name, else LakeError."""
    if not _OBJECT_NAME.fullmatch(obj):
        raise LakeError(f"invalid Salesforce object name {obj!r} for a lake key")
    return obj


def check_run_id(run_id: str) -> str:
    """``run_id`` if it can be part of a key (letters, digits, ``.``, ``_`` and ``-``), else LakeError."""
    if not _RUN_ID.fullmatch(run_id):
        raise LakeError(f"invalid run id {run_id!r} for a lake key: use letters, digits, '.', '_' and '-'")
    return run_id


def _partition(run_date: date, run_id: str) -> str:
    return f"run_date={run_date.isoformat()}/run_id={check_run_id(run_id)}/"


def object_prefix(obj: str) -> str:
    """Where every run of one object lives: ``raw/salesforce/<Object>/``."""
    return f"{RAW_PREFIX}/{check_object(obj)}/"


def run_prefix(obj: str, run_date: date, run_id: str) -> str:
    """The folder of one run of one object."""
    return f"{object_prefix(obj)}{_partition(run_date, run_id)}"


def raw_part_key(obj: str, run_date: date, run_id: str, n: int) -> str:
    """``raw/salesforce/<Object>/run_date=YYYY-MM-DD/run_id=<id>/part-00000.parquet``."""
    if n < 0:
        raise LakeError(f"part number must not be negative, got {n}")
    return f"{run_prefix(obj, run_date, run_id)}{part_name(n)}"


def part_name(n: int) -> str:
    """The file name of a run's ``n``-th parquet part."""
    return f"part-{n:05d}.parquet"


def manifest_key(obj: str, run_date: date, run_id: str) -> str:
    """The run's manifest, written last: its presence says the run's parts are complete."""
    return f"{run_prefix(obj, run_date, run_id)}{MANIFEST_NAME}"


def run_folder(key: str) -> str:
    """The run folder (with its trailing ``/``) of a part or manifest key."""
    return key.rsplit("/", 1)[0] + "/"


def watermark_key(obj: str) -> str:
    """``state/watermarks/<Object>.json``: where the next incremental extraction of the object starts."""
    return f"{WATERMARKS_PREFIX}/{check_object(obj)}.json"


def purge_registry_prefix(obj: str) -> str:
    """``state/purged/<Object>/``: hashes of the object's purged ids, which extraction leaves out."""
    return f"{PURGED_PREFIX}/{check_object(obj)}/"


def purge_registry_key(obj: str, run_id: str) -> str:
    """The ids one retention run purged from the object, as SHA-256 hashes one per line."""
    return f"{purge_registry_prefix(obj)}{check_run_id(run_id)}.sha256"


def purge_pending_key(folder: str) -> str:
    """The flag a purge leaves in a run folder (``.../run_id=R/``) while the folder is half rewritten."""
    return f"{folder}{PURGE_PENDING_NAME}"


def files_prefix(obj: str) -> str:
    """``raw/salesforce_files/<Object>/``: what is kept per file of the object (media findings)."""
    return f"{FILES_PREFIX}/{check_object(obj)}/"


def findings_prefix(run_date: date, run_id: str) -> str:
    """The folder of the media findings of one ContentVersion run (same run date and id as the run)."""
    return f"{files_prefix(MEDIA_SOURCE_OBJECT)}{_partition(run_date, run_id)}"


def findings_key(run_date: date, run_id: str) -> str:
    """The media inspection findings of one run (C2PA and friends, one row per ContentVersion)."""
    return f"{findings_prefix(run_date, run_id)}{FINDINGS_NAME}"


def findings_manifest_key(run_date: date, run_id: str) -> str:
    """The manifest of one findings run; its presence says the ContentVersion run was inspected."""
    return f"{findings_prefix(run_date, run_id)}{MANIFEST_NAME}"


def training_run_prefix(table: str, run_date: date, run_id: str) -> str:
    """The folder of one snapshot run of a training-zone table: ``raw/training/<Table>/run_date=D/run_id=R/``."""
    return f"{RAW_TRAINING_PREFIX}/{check_object(table)}/{_partition(run_date, run_id)}"


def plan_prefix(plan_id: str) -> str:
    """``retention/plans/<plan_id>``: a retention plan's file and manifest."""
    return f"{PLANS_PREFIX}/{plan_id}"


def plan_journal_prefix(plan_id: str) -> str:
    """Where applying the plan journals its steps, so a crashed run finds its Bulk jobs again."""
    return f"{plan_prefix(plan_id)}/journal"


def run_id_from_key(key: str) -> str | None:
    """The ``run_id=`` partition value in a key, if it has one."""
    for part in key.split("/"):
        if part.startswith("run_id="):
            return part.removeprefix("run_id=")
    return None
