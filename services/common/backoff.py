"""Retry waits: the one backoff used by the outbox relay and notify's delivery worker."""

import random


def backoff(attempt: int, base: float, cap: float) -> float:
    """Seconds to wait after failed attempt `attempt` (1-based): exponential, full jitter.

    Full jitter (a uniform draw from 0 to the exponential ceiling) spreads the retries of
    many senders that failed together, so a receiver that comes back is not hit by all of
    them at the same moment.
    """
    ceiling = min(cap, base * (2 ** min(max(attempt, 1) - 1, 30)))
    return random.uniform(0.0, ceiling)
