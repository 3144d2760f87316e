"""Python's cyclic garbage collector, paused while a start builds its objects.

A config of 10,000 zones and the zones made of it are hundreds of
thousands of small objects that live as long as the config. Collecting
while they pile up only walks them again and again: full collections were
a third of a 10,000-zone restart (issue 5).
"""

from __future__ import annotations

import contextlib
import gc
from collections.abc import Iterator


@contextlib.contextmanager
def gc_paused() -> Iterator[None]:
    """No cyclic garbage collection meanwhile; as it was after."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()
