"""Per-credential rate limits of the REST API (services.common.ratelimit: shared through Redis,
in this process when SLUIS_REDIS_URL is empty; the outage policy is documented there)."""

from services.common.ratelimit import RateLimiter, rate_limiter

__all__ = ["RateLimiter", "credential_limiter"]


def credential_limiter(redis_url: str, rate: float, burst: int) -> RateLimiter:
    """One bucket per API credential."""
    return rate_limiter(redis_url, rate, burst, prefix="sluis:ratelimit:")
