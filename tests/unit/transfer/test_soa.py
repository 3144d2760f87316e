import pytest

from zonesync.transfer.soa import serial_gt, serial_newer


@pytest.mark.parametrize(
    ("a", "b", "newer"),
    [
        (2, 1, True),
        (1, 2, False),
        (1, 1, False),
        (0, 2**32 - 1, True),  # wraps
        (2**32 - 1, 0, False),
        (2**31 - 1, 0, True),  # the largest step forward
        (2**31, 0, False),  # exactly 2^31 away: not newer, either way
        (0, 2**31, False),
        (100 + 2**31, 100, False),
        (2**31 + 1, 0, False),  # more than half the space: behind
    ],
)
def test_serial_gt_follows_rfc1982(a, b, newer):
    assert serial_gt(a, b) is newer


def test_anything_is_newer_than_no_data():
    assert serial_newer(0, None)
    assert serial_newer(5, 4)
    assert not serial_newer(4, 4)
