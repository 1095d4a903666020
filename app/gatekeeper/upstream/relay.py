"""What 前置 mode needs at run time, built in the lifespan from settings: the client, the
kept answers, the platform's paths served and the deadline."""

from __future__ import annotations

from pathlib import Path

from app.core.settings import Settings
from app.gatekeeper.upstream.answer_files import FileAnswers
from app.gatekeeper.upstream.answers import AnswerStore, RedisAnswers
from app.gatekeeper.upstream.breaker import Breaker
from app.gatekeeper.upstream.client import Upstream

PLATFORM_PATH = "/fsi/api/rsfComIfsService/callService"


def platform_paths(setting: str) -> frozenset[str]:
    """``YBGATE_HSA_PATHS`` (comma-separated), the platform's own path always among them."""
    paths = {p.strip() for p in setting.split(",") if p.strip()}
    return frozenset(paths | {PLATFORM_PATH})


class Relay:
    def __init__(
        self, client: Upstream, answers: AnswerStore, paths: frozenset[str], timeout_s: float
    ) -> None:
        self.client = client
        self.answers = answers
        self.paths = paths
        self.timeout_s = timeout_s

    @classmethod
    def from_settings(cls, settings: Settings) -> Relay | None:
        if not settings.hsa_upstream:
            return None
        client = Upstream(
            settings.hsa_upstream,
            connect_timeout_s=settings.hsa_upstream_connect_timeout_s,
            ca_bundle=settings.hsa_upstream_ca_bundle,
            max_connections=settings.hsa_upstream_max_connections,
            max_waiting=settings.hsa_upstream_max_waiting,
            breaker=Breaker(settings.hsa_breaker_failures, settings.hsa_breaker_reset_s),
        )
        answers: AnswerStore
        if settings.redis_url:
            answers = RedisAnswers(settings.redis_url)
        else:
            directory = Path(settings.idempotency_dir) / "upstream"
            answers = FileAnswers(directory, settings.hsa_upstream_answer_bytes)
        paths = platform_paths(settings.hsa_paths)
        return cls(client, answers, paths, settings.hsa_upstream_timeout_s)

    async def start(self) -> None:
        await self.client.start()
        await self.answers.start()

    async def stop(self) -> None:
        await self.client.stop()
        await self.answers.stop()
