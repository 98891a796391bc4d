""":class:`CreateDelays`: the "create answered late" REST fault both local servers inject.

The order is placed at once and its events go out; only the HTTP answer waits (longer than
the client's timeout: the order exists although ccxt raised RequestTimeout). Delays come
from ``arm`` (the next N creates) first, then from the config's ``create_delay_ms`` with
probability ``create_delay_p`` (seeded by ``create_delay_seed``).
"""

from __future__ import annotations

import asyncio
import contextlib
import random
from typing import Any


class CreateDelays:
    """The late-create fault of one venue; ``closing`` releases every held answer."""

    def __init__(self, config: Any, closing: asyncio.Event) -> None:
        self._config = config
        self._closing = closing
        self._rng = random.Random(config.create_delay_seed)
        self._armed: list[int] = []

    def arm(self, delay_ms: int, count: int = 1) -> None:
        if delay_ms <= 0 or count <= 0:
            raise ValueError("delay_ms and count must be positive")
        self._armed.extend([delay_ms] * count)

    def next_ms(self) -> int:
        """How long to hold the answer of the create being served (0: answer at once)."""
        if self._armed:
            return self._armed.pop(0)
        delay: int = self._config.create_delay_ms
        if delay and self._rng.random() < self._config.create_delay_p:
            return delay
        return 0

    async def hold(self, delay_ms: int) -> None:
        """Wait ``delay_ms`` unless the server is shutting down."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._closing.wait(), delay_ms / 1000)


__all__ = ["CreateDelays"]
