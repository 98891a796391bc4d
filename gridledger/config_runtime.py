"""The ``[engine]``, ``[api]`` and ``[notify]`` tables: how the running service behaves.

Timings, retries and back-offs of the engine, the HTTP API's address, the notifications' routing
and limits. Part of the config file read by :mod:`gridledger.config` (which re-exports these
models); every number has a range (:mod:`gridledger.config_types`).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict

from gridledger.config_types import decimal_range, float_range, int_range, text_shape

__all__ = ["NOTIFY_KINDS", "ApiConfig", "EngineConfig", "NotifyConfig", "NotifyKind"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class EngineConfig(_Strict):
    journal_synchronous: Literal["OFF", "NORMAL", "FULL", "EXTRA"] = "FULL"
    # At least a second: a smaller period means back-to-back reconciliations (REST weight).
    reconcile_every_s: Annotated[float, float_range(1, 86_400, "s")] = 60.0
    drift_tolerance: Annotated[Decimal, decimal_range(0, "1e12", "base units")] = Decimal("0")
    cancel_on_exit: bool = False
    rate_limit_per_s: Annotated[float, float_range("0.1", 1000, "requests/s")] = 10.0
    order_retries: Annotated[int, int_range(0, 20)] = 3
    request_timeout_s: Annotated[float, float_range("0.5", 600, "s")] = 10.0
    stream_idle_s: Annotated[float, float_range(1, 86_400, "s")] = (
        300.0  # no message for this long: watch again and reconcile
    )
    metrics_port: Annotated[int, int_range(1, 65_535)] | None = None  # serve Prometheus metrics on 127.0.0.1
    cross_grace_s: Annotated[float, float_range("0.1", 3600, "s")] = (
        5.0  # price traded through an order this long with no fill seen: query it
    )
    # Reconciliation back-off (see engine/schedule.py): a requested reconciliation (reconnect,
    # idle stream, refused order) waits this long after the previous one; drift re-checks start
    # here and double while drift persists, up to the cap.
    reconcile_backoff_s: Annotated[float, float_range(1, 3600, "s")] = 5.0
    reconcile_backoff_max_s: Annotated[float, float_range(1, 86_400, "s")] = 600.0
    # Request weight allowed per minute (Binance spot allows 6000 per IP; lower it if other
    # programs share the IP or key). Weights per call: engine/executor.py CALL_WEIGHTS.
    request_weight_per_min: Annotated[int, int_range(100, 1_000_000)] = 6000
    # Order resolution (engine/resolver.py). An unanswered create may still land: wait this
    # long before asking about it by client id.
    unanswered_grace_s: Annotated[float, float_range(0, 600, "s")] = 1.0
    # REST can lag matching: two "not found" answers this far apart close a never-acknowledged order (R6).
    not_found_gap_s: Annotated[float, float_range(0, 3600, "s")] = 3.0
    cancel_debounce_s: Annotated[float, float_range(0, 3600, "s")] = 5.0  # at most one cancel per order per this long
    # A level whose order the venue refused waits this long, doubling per refusal, up to the cap.
    level_backoff_s: Annotated[float, float_range("0.1", 3600, "s")] = 5.0
    level_backoff_max_s: Annotated[float, float_range("0.1", 86_400, "s")] = 600.0
    # Stream reconnects: this wait doubling to the cap, with jitter x0.5-1.5.
    stream_backoff_s: Annotated[float, float_range("0.01", 600, "s")] = 0.5
    stream_backoff_max_s: Annotated[float, float_range("0.01", 3600, "s")] = 30.0
    # Retries of idempotent calls (queries, cancels): this wait doubling to the cap.
    call_retry_backoff_s: Annotated[float, float_range("0.01", 600, "s")] = 0.5
    call_retry_backoff_max_s: Annotated[float, float_range("0.01", 3600, "s")] = 30.0
    # Trades since the cursor after a restart or reconnect: pages of this many, at most this many pages,
    # starting this far before the cursor (REST lags the stream; duplicates are free).
    trade_fetch_page: Annotated[int, int_range(1, 10_000, "trades")] = 500
    trade_fetch_pages: Annotated[int, int_range(1, 100_000, "pages")] = 100
    trade_fetch_overlap_s: Annotated[float, float_range(0, 86_400, "s")] = 60.0
    busy_poll_s: Annotated[float, float_range("0.01", 60, "s")] = (
        1.0  # housekeeping tick while a query or a crossing is pending
    )


class ApiConfig(_Strict):
    """The HTTP API and dashboard (gridledger/api/): off unless ``port`` is set.

    The token is never read from this file: only from the environment variable named here."""

    port: Annotated[int, int_range(1, 65_535)] | None = None
    host: Annotated[str, text_shape(r"[A-Za-z0-9.:\-\[\]]{1,255}", "a host name or IP address")] = "127.0.0.1"
    token_env: Annotated[str, text_shape(r"[A-Za-z_][A-Za-z0-9_]{0,127}", "an environment variable name")] = (
        "GRIDLEDGER_API_TOKEN"
    )


NotifyKind = Literal["fill", "pause", "resume", "drift", "reconnect", "stop", "summary"]
NOTIFY_KINDS: tuple[str, ...] = ("fill", "pause", "resume", "drift", "reconnect", "stop", "summary")


class NotifyConfig(_Strict):
    """Notifications through apprise (gridledger/notify/): on when the table is present.

    The apprise URLs hold tokens and passwords, so they are never in this file: ``urls_env``
    names the environment variable that holds them (blank- or comma-separated)."""

    urls_env: Annotated[str, text_shape(r"[A-Za-z_][A-Za-z0-9_]{0,127}", "an environment variable name")] = (
        "GRIDLEDGER_NOTIFY_URLS"
    )
    kinds: tuple[NotifyKind, ...] = ("fill", "pause", "resume", "drift", "reconnect", "stop", "summary")
    # The daily summary's time of day, HH:MM in UTC.
    summary_at: Annotated[
        str, text_shape(r"(?:[01][0-9]|2[0-3]):[0-5][0-9]", "a time of day HH:MM (UTC), like 20:00")
    ] = "20:00"
    rate_limit_per_min: Annotated[int, int_range(1, 10_000, "messages/min per kind")] = (
        30  # beyond it: suppressed and counted
    )
    reconnects: Annotated[int, int_range(1, 1000, "reconnects")] = 3  # this many within reconnect_window_s: one message
    reconnect_window_s: Annotated[float, float_range(1, 86_400, "s")] = 600.0
    timeout_s: Annotated[float, float_range("0.5", 600, "s")] = 10.0  # one send, all services
    queue_size: Annotated[int, int_range(1, 100_000, "messages")] = (
        1000  # waiting to be sent; beyond it: dropped and counted
    )
