"""Pacing: a token bucket per campaign in Redis, shared by every worker, so that a campaign never starts more
than `calls_per_minute` calls a minute (plus a burst of one dispatch tick's worth) however many workers and
beat processes dispatch it.

The bucket is a Redis hash updated by one Lua script, atomically, on Redis' own clock (`TIME`): two
dispatchers on different machines take from one bucket and neither's clock matters. A token taken by a
dispatch that then rolls back is lost, which only slows the campaign; Redis being unreachable grants
nothing (nothing is dialled while pacing cannot be kept)."""

from __future__ import annotations

import logging
import math
from functools import cache

import redis
from django.conf import settings
from redis.exceptions import RedisError

log = logging.getLogger(__name__)

BURST_SECONDS = 2.0  # a full bucket holds this many seconds' worth of calls: one dispatch tick
BUCKET_TTL_MS = 3_600_000

# KEYS[1] bucket; ARGV: rate (tokens/s), capacity, wanted. Returns the tokens granted.
TAKE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local rate, capacity, wanted = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local bucket = redis.call('HMGET', KEYS[1], 'tokens', 'at')
local tokens, at = tonumber(bucket[1]), tonumber(bucket[2])
if tokens == nil then tokens, at = capacity, now end
tokens = math.min(capacity, tokens + math.max(0, now - at) * rate / 1000)
local granted = math.min(wanted, math.floor(tokens))
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens - granted), 'at', now)
redis.call('PEXPIRE', KEYS[1], ARGV[4])
return granted
"""


@cache
def _client() -> redis.Redis:
    return redis.Redis.from_url(settings.REDIS_URL, socket_connect_timeout=2, socket_timeout=5)


@cache
def _take_script():  # noqa: ANN202 -- redis.commands.core.Script
    return _client().register_script(TAKE)


def bucket_key(campaign_public_id: str) -> str:
    return f"campaigns:pacing:{campaign_public_id}"


def bucket_capacity(calls_per_minute: int) -> int:
    return max(1, math.ceil(calls_per_minute / 60 * BURST_SECONDS))


def pacing_take(*, campaign_public_id: str, calls_per_minute: int, wanted: int) -> int:
    """How many of `wanted` calls the campaign may start now (0 when Redis is unreachable)."""
    if wanted <= 0:
        return 0
    try:
        granted = _take_script()(
            keys=[bucket_key(campaign_public_id)],
            args=[calls_per_minute / 60, bucket_capacity(calls_per_minute), wanted, BUCKET_TTL_MS],
        )
    except (RedisError, OSError) as exc:
        log.warning("campaign %s: pacing unavailable (Redis: %s); nothing dialled", campaign_public_id, exc)
        return 0
    return int(granted)


REFUND = """
local capacity = tonumber(ARGV[2])
local tokens = tonumber(redis.call('HGET', KEYS[1], 'tokens'))
if tokens ~= nil then
  redis.call('HSET', KEYS[1], 'tokens', tostring(math.min(capacity, tokens + tonumber(ARGV[1]))))
end
return 0
"""


@cache
def _refund_script():  # noqa: ANN202 -- redis.commands.core.Script
    return _client().register_script(REFUND)


def pacing_refund(*, campaign_public_id: str, unused: int, calls_per_minute: int) -> None:
    """Give back tokens taken but not used (no contact was due, or it was deferred to its window)."""
    if unused <= 0:
        return
    try:
        _refund_script()(
            keys=[bucket_key(campaign_public_id)], args=[unused, bucket_capacity(calls_per_minute)]
        )
    except (RedisError, OSError) as exc:
        log.warning("campaign %s: %s pacing tokens not returned (Redis: %s)", campaign_public_id, unused, exc)
