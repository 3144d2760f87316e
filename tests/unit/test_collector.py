"""gc_paused: the cyclic collector off meanwhile, as it was after."""

from __future__ import annotations

import gc

import pytest

from zonesync.collector import gc_paused


def _fail_while_paused() -> None:
    with gc_paused():
        assert not gc.isenabled()
        raise RuntimeError("boom")


def test_paused_then_back_on_even_after_an_error() -> None:
    assert gc.isenabled()
    with pytest.raises(RuntimeError, match="boom"):
        _fail_while_paused()
    assert gc.isenabled()


def test_nested_pauses_leave_it_off_until_the_outer_one_ends() -> None:
    with gc_paused():
        with gc_paused():
            assert not gc.isenabled()
        assert not gc.isenabled()  # the outer pause still holds
    assert gc.isenabled()
