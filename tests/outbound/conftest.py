"""Outbound tests run on both stores: the store fixtures of the contract suite."""

from tests.stores.conftest import redis_prefix, store_url

__all__ = ["redis_prefix", "store_url"]
