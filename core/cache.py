"""Cross-process memoization keyed by a data version that every committed write bumps.

One host: diskcache in a shared directory (safe across processes). Several hosts: Redis.
Chosen by ``CACHE_URL`` (``disk:/path`` or ``redis://host:port/db``). Only shared, non-private
results (aggregates, published products) are cached here — never one user's private data
under a shared key, never an ORM object or a session.
"""

from __future__ import annotations

import hashlib
import pickle
from collections.abc import Callable
from functools import lru_cache
from typing import Any, Protocol, TypeVar

from core.config import get_settings

T = TypeVar("T")
_VERSION_KEY = "jinfu:data-version"


class _Backend(Protocol):
    def get(self, key: str) -> bytes | None: ...
    def set(self, key: str, value: bytes, ttl: int) -> None: ...
    def incr(self, key: str) -> int: ...


class _DiskBackend:
    def __init__(self, directory: str) -> None:
        import diskcache

        self._cache = diskcache.Cache(directory, size_limit=512 * 1024 * 1024)

    def get(self, key: str) -> bytes | None:
        return self._cache.get(key)

    def set(self, key: str, value: bytes, ttl: int) -> None:
        self._cache.set(key, value, expire=ttl)

    def incr(self, key: str) -> int:
        return int(self._cache.incr(key, default=0))


class _RedisBackend:
    def __init__(self, url: str) -> None:
        import redis

        self._client = redis.Redis.from_url(url, socket_timeout=2, socket_connect_timeout=2)

    def get(self, key: str) -> bytes | None:
        return self._client.get(key)

    def set(self, key: str, value: bytes, ttl: int) -> None:
        self._client.set(key, value, ex=ttl)

    def incr(self, key: str) -> int:
        return int(self._client.incr(key))


@lru_cache(maxsize=4)
def _backend_for(cache_url: str) -> _Backend:
    if cache_url.startswith(("redis://", "rediss://", "unix://")):
        return _RedisBackend(cache_url)
    directory = cache_url.removeprefix("disk:")
    return _DiskBackend(directory)


def _backend() -> _Backend:
    return _backend_for(get_settings().cache_url)


def _scope() -> str:
    # Different databases (tests, tenants) never share entries.
    return hashlib.sha1(get_settings().database_url.encode()).hexdigest()[:12]


def data_version() -> int:
    raw = _backend().get(f"{_VERSION_KEY}:{_scope()}")
    return int(raw) if raw is not None else 0


def bump_data_version() -> int:
    """Invalidate every cached read of the current database (called after each committed write)."""
    return _backend().incr(f"{_VERSION_KEY}:{_scope()}")


def get_or_compute(
    namespace: str, args: tuple[Any, ...], compute: Callable[[], T], ttl: int | None = None
) -> T:
    """The cached value for (namespace, args) at the current data version, computing it on a miss."""
    digest = hashlib.sha1(repr(args).encode()).hexdigest()
    key = f"jinfu:{_scope()}:{namespace}:{data_version()}:{digest}"
    try:
        raw = _backend().get(key)
    except Exception:  # noqa: BLE001 - a cache outage must never break a read
        raw = None
    if raw is not None:
        return pickle.loads(raw)  # noqa: S301 - our own cache, written by this code only
    value = compute()
    try:
        _backend().set(key, pickle.dumps(value), ttl or get_settings().cache_ttl_seconds)
    except Exception:  # noqa: BLE001, S110
        pass
    return value


def get_bytes(key: str) -> bytes | None:
    """A raw shared value (session bookkeeping across replicas); None when absent or the cache is down."""
    try:
        return _backend().get(f"jinfu:raw:{key}")
    except Exception:  # noqa: BLE001 - an outage must never break a page
        return None


def set_bytes(key: str, value: bytes, ttl: int) -> None:
    """Store a raw shared value for ``ttl`` seconds (best effort)."""
    try:
        _backend().set(f"jinfu:raw:{key}", value, max(1, int(ttl)))
    except Exception:  # noqa: BLE001, S110
        pass
