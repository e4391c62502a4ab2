"""Django's Redis cache backend, keeping one redis-py client per connection pool.

Django's `RedisCacheClient.get_client` makes a new `redis.Redis` for every cache call, and each one copies
redis-py's table of ~170 response callbacks: on the check-in path (the rate limit reads and writes its
counter) that was about a tenth of a millisecond per call. A redis-py client is safe to share (the pool hands
out connections), and Django already keeps one backend per thread, so one client per pool is kept instead.
Everything else (timeouts, failure behaviour, serialisation) is Django's.
"""

from collections.abc import Callable
from typing import Any

from django.core.cache.backends import redis as django_redis


class RedisCacheClient(django_redis.RedisCacheClient):
    # Set by Django's class (django-stubs leaves them out).
    _client: Any
    _get_connection_pool: Callable[[bool], Any]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._clients: dict[int, Any] = {}

    def get_client(self, key: Any = None, *, write: bool = False) -> Any:
        pool = self._get_connection_pool(write)
        client = self._clients.get(id(pool))
        if client is None:
            client = self._clients[id(pool)] = self._client(connection_pool=pool)
        return client


class RedisCache(django_redis.RedisCache):
    def __init__(self, server: str, params: dict[str, Any]) -> None:
        super().__init__(server, params)
        self._class = RedisCacheClient
