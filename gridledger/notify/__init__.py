"""Notifications (issue 10 item 3): engine events to apprise services, off the engine's path."""

from __future__ import annotations

import os
from collections.abc import Callable
from decimal import Decimal

from gridledger.config import NotifyConfig
from gridledger.notify.engine_link import engine_summary, watch_engine
from gridledger.notify.notifier import Notifier, NotifyCounters, Summary, next_at
from gridledger.notify.sender import Message, SendCounters, ThreadedSender, apprise_send, split_urls

__all__ = [
    "Message",
    "Notifier",
    "NotifyCounters",
    "NotifyError",
    "SendCounters",
    "Summary",
    "ThreadedSender",
    "build_notifier",
    "engine_summary",
    "next_at",
    "watch_engine",
]


class NotifyError(ValueError):
    """[notify] is set but cannot work (no URLs in the environment variable, a bad URL)."""


def build_notifier(
    cfg: NotifyConfig,
    *,
    grid_id: str,
    symbol: str,
    now_ms: Callable[[], int],
    summary: Callable[[], Summary | None] | None = None,
    price_step: Callable[[], Decimal | None] | None = None,
    environ: dict[str, str] | None = None,
) -> Notifier:
    """A notifier sending through apprise to the URLs in ``cfg.urls_env``; NotifyError names
    the variable (never its value) when it is empty or holds a URL apprise cannot use."""
    env = os.environ if environ is None else environ
    urls = split_urls(env.get(cfg.urls_env))
    if not urls:
        raise NotifyError(f"notify.urls_env: the environment variable {cfg.urls_env} holds no apprise URL")
    try:
        send = apprise_send(urls, cfg.timeout_s)
    except ValueError as exc:
        raise NotifyError(f"notify.urls_env: {cfg.urls_env}: {exc}") from None
    return Notifier(
        cfg,
        ThreadedSender(send, cfg.queue_size),
        grid_id=grid_id,
        symbol=symbol,
        now_ms=now_ms,
        summary=summary,
        price_step=price_step,
    )
