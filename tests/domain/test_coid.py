"""The client-order-id codec of rule R7."""

from __future__ import annotations

import string

from hypothesis import given
from hypothesis import strategies as st

from gridledger.domain.coid import MAX_LEN, ClientId, CoidError, decode, encode
from gridledger.domain.types import Role, Side

grid_ids = st.text(alphabet=string.ascii_letters + string.digits, min_size=1, max_size=12)
ids = st.builds(
    ClientId,
    grid_id=grid_ids,
    level=st.integers(-(36**4), 36**4),
    side=st.sampled_from(Side),
    role=st.sampled_from(Role),
    generation=st.integers(0, 36**7 - 1),
)


@given(ids)
def test_decode_of_encode_is_identity(cid):
    text = encode(cid)
    assert decode(text) == cid
    assert len(text) <= MAX_LEN and text.isalnum() and text.isascii()


@given(ids, st.data())
def test_a_changed_character_is_not_read_as_ours(cid, data):
    text = encode(cid)
    i = data.draw(st.integers(0, len(text) - 1))
    ch = data.draw(st.sampled_from(string.ascii_letters + string.digits).filter(lambda c: c != text[i]))
    changed = text[:i] + ch + text[i + 1 :]
    got = decode(changed)
    # The check digit catches every single-character change of an id (or it decodes to a
    # different, valid id only when the change kept the checksum, which the weights prevent).
    assert got is None or (got != cid and encode(got) == changed)


@given(st.text(max_size=40))
def test_arbitrary_text_never_crashes_and_foreign_ids_are_foreign(text):
    got = decode(text)
    assert got is None or encode(got) == text


def test_length_digits_that_point_past_the_end_are_not_ours():
    text = encode(ClientId("000000000000", 0, Side.BUY, Role.OPEN, 0))
    for i in range(len(text)):
        for ch in "0lzZ":
            changed = text[:i] + ch + text[i + 1 :]
            got = decode(changed)  # must not raise (an "l" length digit once made it IndexError)
            assert got is None or encode(got) == changed


def test_examples_and_limits():
    cid = ClientId("btc1", -12, Side.BUY, Role.OPEN, 7)
    assert decode(encode(cid)) == cid
    assert decode("web_1a2b3c") is None and decode("") is None and decode(None) is None
    assert decode("x-" + encode(cid)) is None
    for bad in (
        ClientId("bad-id", 0, Side.BUY, Role.OPEN, 0),
        ClientId("a" * 13, 0, Side.BUY, Role.OPEN, 0),
        ClientId("abcdefghijkl", -(36**6 - 1), Side.SELL, Role.CLOSE, 36**12),
    ):
        try:
            encode(bad)
        except CoidError:
            continue
        raise AssertionError(f"{bad} should not encode")
