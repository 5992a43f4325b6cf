"""Record ids and value conversion between the API and storage."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from synthgov_sandbox.engine import ids
from synthgov_sandbox.engine.schema import catalogue
from synthgov_sandbox.engine.values import ValueProblem, api_datetime, from_db, parse_datetime, to_csv, to_db

pytestmark = pytest.mark.unit


def test_checksum_matches_salesforce_examples() -> None:
    # The suffix encodes which of the 15 characters are upper case: the first pair is the widely
    # published example, the second is worked by hand (chunks "003i0", "00001", "Bc7Xz" -> A, A, J).
    assert ids.to18("001A0000006Vm9r") == "001A0000006Vm9rIAC"
    assert ids.to18("003i000001Bc7Xz") == "003i000001Bc7XzAAJ"
    assert ids.is_valid("001A0000006Vm9rIAC")
    assert not ids.is_valid("001A0000006Vm9rAAA")
    assert not ids.is_valid("not-an-id")


def test_make_id_is_ordered_and_unique() -> None:
    made = [ids.make_id("00Q", n) for n in range(1, 3000)]
    assert len(set(made)) == len(made)
    assert made == sorted(made)
    assert all(ids.is_valid(i) and len(i) == 18 for i in made)
    with pytest.raises(ValueError, match="does not fit"):
        ids.make_id("00Q", 62**9)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-11-02T09:00:00Z", datetime(2026, 11, 2, 9, tzinfo=UTC)),
        ("2026-11-02T11:00:00+02:00", datetime(2026, 11, 2, 9, tzinfo=UTC)),
        ("2026-11-02T04:30:00.250-0430", datetime(2026, 11, 2, 9, 0, 0, 250000, tzinfo=UTC)),
    ],
)
def test_datetimes_normalise_to_utc(text: str, expected: datetime) -> None:
    assert parse_datetime(text) == expected


@pytest.mark.parametrize("text", ["2026-11-02", "2026-02-30T00:00:00Z", "yesterday", "2026-11-02T09:00:00"])
def test_bad_datetimes_are_refused(text: str) -> None:
    with pytest.raises(ValueError, match="dateTime"):
        parse_datetime(text)


def test_round_trip_through_storage() -> None:
    lead = catalogue()["lead"]
    fields = {f.name: f for f in lead.fields}
    stored = to_db(fields["AI_Generated_At__c"], "2026-10-01T10:00:00+02:00")
    assert stored == "2026-10-01T08:00:00.000Z"
    assert from_db(fields["AI_Generated_At__c"], stored) == api_datetime(str(stored)) == "2026-10-01T08:00:00.000+0000"
    assert to_db(fields["AI_Generated__c"], True) == 1
    assert from_db(fields["AI_Generated__c"], 1) is True
    assert to_db(fields["AI_Generated__c"], None) == 0
    assert to_db(fields["Lead_Score__c"], "71.5") == 71.5
    assert to_csv(fields["Lead_Score__c"], 71.0) == "71.0"
    assert to_csv(fields["AI_Generated__c"], 0) == "false"
    assert to_csv(fields["Email"], None) == ""


@pytest.mark.parametrize(
    ("field", "value", "code"),
    [
        ("AI_Generated__c", "maybe", "INVALID_TYPE_ON_FIELD_IN_RECORD"),
        ("Lead_Score__c", "high", "INVALID_TYPE_ON_FIELD_IN_RECORD"),
        ("Lead_Score__c", True, "INVALID_TYPE_ON_FIELD_IN_RECORD"),
        ("AI_Generated_At__c", 5, "INVALID_TYPE_ON_FIELD_IN_RECORD"),
        ("FirstName", "x" * 41, "STRING_TOO_LONG"),
    ],
)
def test_bad_values_name_the_field(field: str, value: object, code: str) -> None:
    f = catalogue()["lead"].field(field)
    assert f is not None
    with pytest.raises(ValueProblem) as err:
        to_db(f, value)
    assert err.value.code == code
