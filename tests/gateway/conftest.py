"""The sync tests' fixtures for the production-profile tests here: a committed database
and a Redis server of the test's own, and the child processes killed at the end."""

from tests.sync.conftest import db, fresh_db, procs, redis_srv

__all__ = ["db", "fresh_db", "procs", "redis_srv"]
