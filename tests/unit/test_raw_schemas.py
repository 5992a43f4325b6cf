"""Which raw schema an object's runs go to: the org's objects to raw_salesforce, synthgov's own to raw_synthgov."""

from __future__ import annotations

from synthgov.extract.media import FINDINGS_OBJECT
from synthgov.training.manifest import MANIFESTS_OBJECT, RECORDS_OBJECT
from synthgov.training.posture import POSTURE_OBJECT
from synthgov.warehouse import PURGED_FINDINGS, RAW_SCHEMA, SYNTHGOV_SCHEMA, raw_schema, table_name
from synthgov.warehouse.base import SYNTHGOV_OBJECTS


def test_the_synthgov_objects_are_what_synthgov_writes() -> None:
    # The loader's list and the writers' names are two spellings of one fact; this keeps them one.
    assert {FINDINGS_OBJECT, MANIFESTS_OBJECT, RECORDS_OBJECT, POSTURE_OBJECT} == SYNTHGOV_OBJECTS


def test_raw_schema_of_each_kind_of_object() -> None:
    assert raw_schema("Lead") == RAW_SCHEMA == "raw_salesforce"
    assert raw_schema(FINDINGS_OBJECT) == SYNTHGOV_SCHEMA == "raw_synthgov"
    assert table_name("Order") == "raw_salesforce.order"
    assert table_name(POSTURE_OBJECT) == "raw_synthgov.training_lake_posture"
    # A purged ContentVersion's findings are found in synthgov's schema.
    assert [table_name(t) for t, _ in PURGED_FINDINGS["ContentVersion"]] == ["raw_synthgov.contentversion_media"]
