"""Requests paced so that no one-second window carries more than the rate limit."""

from __future__ import annotations

import pytest

from newsletter.pacing import Pacer


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


@pytest.mark.parametrize(
    "rate,max_batch",
    [(100, 500), (1000, 500), (155, 100), (40, 10), (700, 25), (0.5, 500), (7.5, 3)],
)
def test_no_second_exceeds_the_rate(rate: float, max_batch: int) -> None:
    clock = Clock()
    pacer = Pacer(rate, max_batch, clock=clock, sleep=clock.sleep)
    assert 1 <= pacer.size <= max_batch
    starts = []
    for i in range(400):
        pacer.wait()
        starts.append(clock.now)
        clock.now += 0.001 * (i % 7)  # the request takes a little time, more or less
    for i, t in enumerate(starts):
        in_window = sum(1 for s in starts[i:] if s < t + 1.0)
        assert in_window * pacer.size <= max(rate, 1), (rate, max_batch, t)
    sent = len(starts) * pacer.size
    seconds = starts[-1] - starts[0] + pacer.interval
    assert sent / seconds >= 0.75 * rate  # and the limit is used, not wasted


def test_without_a_limit_nothing_waits() -> None:
    clock = Clock()
    pacer = Pacer(0, 500, clock=clock, sleep=clock.sleep)
    for _ in range(10):
        pacer.wait()
    assert (pacer.size, clock.now) == (500, 1000.0)
