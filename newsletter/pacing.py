"""Pacing requests so that no second carries more than ``[sending] rate_limit`` messages.

Spacing requests by their size (``count / rate``) is not enough: a 500-message request
goes out at once, so with a limit of 100 a second one second carries 500. ``Pacer`` makes
requests of at most ``size`` messages, ``n`` of them a second at even intervals, with
``n * size <= rate``: any one-second window then holds at most ``n`` requests.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable


class Pacer:
    def __init__(
        self,
        rate: float,
        max_batch: int,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], object] = time.sleep,
    ) -> None:
        self.clock, self.sleep = clock, sleep
        if rate <= 0:  # no limit
            self.size, self.interval = max(1, max_batch), 0.0
            return
        # The fewest requests a second that carry the rate within the batch limit; a rate
        # under one message a second sends one message every 1/rate seconds.
        per_second = max(1, math.ceil(rate / max(1, max_batch)))
        self.size = max(1, math.floor(rate / per_second))
        # (a microsecond more, so that rounding never lets one more request into a second)
        self.interval = max(1.0 / per_second, self.size / rate) + 1e-6
        self._next = 0.0

    def wait(self, stop: threading.Event | None = None) -> None:
        """Wait for the next request's turn (or until ``stop`` is set)."""
        if not self.interval:
            return
        delay = self._next - self.clock()
        if delay > 0:
            (stop.wait if stop is not None else self.sleep)(delay)
        self._next = max(self._next, self.clock()) + self.interval
