"""names.name_text prints every name exactly as dnspython does."""

import dns.name
import pytest
from hypothesis import given
from hypothesis import strategies as st

from zonesync.names import name_text

labels = st.lists(
    st.one_of(
        st.binary(min_size=1, max_size=12),
        st.text("abcXYZ09-_*", min_size=1, max_size=12).map(str.encode),
    ),
    max_size=6,
)


@given(labels)
def test_same_as_dnspython(parts):
    name = dns.name.Name([*parts, b""])
    for omit in (False, True):
        assert name_text(name, omit) == name.to_text(omit)


@pytest.mark.parametrize(
    "text",
    [".", "example.com.", "*.Example.COM.", "a\\.b.example.", "a\\032b.", "@", "x"],
)
def test_fixed_names(text):
    name = dns.name.from_text(text, origin=None)
    for omit in (False, True):
        assert name_text(name, omit) == name.to_text(omit)
