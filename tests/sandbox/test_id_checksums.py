"""The product's and the sandbox's record-id checksums give the same answers.

Each package keeps its own copy of the 15→18-character checksum so neither imports the other
(the sandbox is an optional extra; the product must not need it). This test is what keeps the
two copies from drifting apart.
"""

from __future__ import annotations

import string

import pytest
from hypothesis import given
from hypothesis import strategies as st

from synthgov.salesforce import ids as product_ids
from synthgov_sandbox.engine import ids as sandbox_ids

pytestmark = pytest.mark.unit

ID_CHARACTERS = string.digits + string.ascii_uppercase + string.ascii_lowercase
CHECKSUM_CHARACTERS = string.ascii_uppercase + "012345"

id15s = st.text(alphabet=ID_CHARACTERS, min_size=15, max_size=15)

# Ids as published in Salesforce help and community write-ups, with their case-safe form.
KNOWN_IDS = [
    ("001A0000006Vm9r", "001A0000006Vm9rIAC"),
    ("0019000000B98de", "0019000000B98deAAB"),
    ("003i000001Bc7Xz", "003i000001Bc7XzAAJ"),
]


@pytest.mark.parametrize(("id15", "id18"), KNOWN_IDS)
def test_known_ids_convert_alike(id15: str, id18: str) -> None:
    assert product_ids.to18(id15) == sandbox_ids.to18(id15) == id18
    assert product_ids.is_valid_id(id18) and sandbox_ids.is_valid(id18)


@given(id15s)
def test_to18_agrees_on_any_15_character_id(id15: str) -> None:
    assert product_ids.to18(id15) == sandbox_ids.to18(id15)


@given(id15s, st.text(alphabet=CHECKSUM_CHARACTERS, min_size=3, max_size=3))
def test_validity_agrees_on_any_18_character_id(id15: str, suffix: str) -> None:
    candidate = id15 + suffix
    assert product_ids.is_valid_id(candidate) == sandbox_ids.is_valid(candidate)
    assert product_ids.is_valid_id(candidate) == (suffix == sandbox_ids.checksum(id15))


@given(st.text(max_size=20))
def test_validity_agrees_on_arbitrary_text(text: str) -> None:
    assert product_ids.is_valid_id(text) == sandbox_ids.is_valid(text)
