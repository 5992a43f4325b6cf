"""The lake: an object store for raw extracts, run manifests, watermarks, plans and evidence.

- ``storage``: the contract every backend keeps (``Lake``), its errors, ``ObjectVersion``, ``Retention``;
- ``local`` and ``s3``: the two backends (``s3`` also explains S3 errors, for the lake and the
  training zone's posture alike); ``urls``: ``open_lake``, which picks one from a URL;
- ``layout``: every prefix and key synthgov writes (re-exported here, so ``lakes.manifest_key``
  and ``layout.manifest_key`` are the same function);
- ``runs``: run ids and the run manifest every writer writes and the loader reads;
- ``purged``: the registry of purged id hashes, shared by extraction and retention.
"""

from synthgov.lake.layout import (
    FILES_PREFIX,
    FINDINGS_NAME,
    LEDGER_PREFIX,
    MANIFEST_NAME,
    MAPPED_PREFIXES,
    MEDIA_SOURCE_OBJECT,
    PLANS_PREFIX,
    PRODUCT_PREFIXES,
    PURGE_PENDING_NAME,
    PURGED_PREFIX,
    RAW_DATA_FOLDERS,
    RAW_PREFIX,
    RAW_TRAINING_PREFIX,
    TRAINING_ZONE_PREFIX,
    WATERMARKS_PREFIX,
    check_object,
    check_run_id,
    files_prefix,
    findings_key,
    findings_manifest_key,
    findings_prefix,
    manifest_key,
    object_prefix,
    part_name,
    plan_journal_prefix,
    plan_prefix,
    purge_pending_key,
    purge_registry_key,
    purge_registry_prefix,
    raw_part_key,
    run_folder,
    run_id_from_key,
    run_prefix,
    training_run_prefix,
    watermark_key,
)
from synthgov.lake.local import LocalLake
from synthgov.lake.s3 import S3Access, S3Lake, describe_s3_error, s3_error_code
from synthgov.lake.storage import (
    Lake,
    LakeConflict,
    LakeError,
    LakeNotFound,
    ObjectVersion,
    Retention,
)
from synthgov.lake.urls import open_lake

__all__ = [
    "FILES_PREFIX",
    "FINDINGS_NAME",
    "LEDGER_PREFIX",
    "MANIFEST_NAME",
    "MAPPED_PREFIXES",
    "MEDIA_SOURCE_OBJECT",
    "PLANS_PREFIX",
    "PRODUCT_PREFIXES",
    "PURGED_PREFIX",
    "PURGE_PENDING_NAME",
    "RAW_DATA_FOLDERS",
    "RAW_PREFIX",
    "RAW_TRAINING_PREFIX",
    "TRAINING_ZONE_PREFIX",
    "WATERMARKS_PREFIX",
    "Lake",
    "LakeConflict",
    "LakeError",
    "LakeNotFound",
    "LocalLake",
    "ObjectVersion",
    "Retention",
    "S3Access",
    "S3Lake",
    "check_object",
    "check_run_id",
    "describe_s3_error",
    "files_prefix",
    "findings_key",
    "findings_manifest_key",
    "findings_prefix",
    "manifest_key",
    "object_prefix",
    "open_lake",
    "part_name",
    "plan_journal_prefix",
    "plan_prefix",
    "purge_pending_key",
    "purge_registry_key",
    "purge_registry_prefix",
    "raw_part_key",
    "run_folder",
    "run_id_from_key",
    "run_prefix",
    "s3_error_code",
    "training_run_prefix",
    "watermark_key",
]
