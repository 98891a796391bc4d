"""Structured logging on the standard library: one event name plus key=value fields.

``log_event(logger, level, "duplicate", order_id=..., applied=...)`` puts the fields in
``record.fields``; ``KeyValueFormatter`` renders them for people and ``JsonFormatter`` for
machines. Secrets never reach a record because callers only pass fields they choose, and
``redact`` masks known secret values in anything rendered.
"""

from __future__ import annotations

import json
import logging
import sys
from decimal import Decimal
from typing import Any

_SECRETS: set[str] = set()


def register_secret(value: str | None) -> None:
    """Mask this value wherever a log line or error message would show it."""
    if value and len(value) >= 4:
        _SECRETS.add(value)


def redact(text: str) -> str:
    for secret in _SECRETS:
        if secret in text:
            text = text.replace(secret, "***")
    return text


def log_event(logger: logging.Logger, severity: int, event: str, /, **fields: Any) -> None:
    if logger.isEnabledFor(severity):
        logger.log(severity, event, extra={"fields": fields})


def _render(value: Any) -> str:
    if isinstance(value, Decimal):
        return format(value.normalize(), "f") if value else "0"
    if isinstance(value, str):
        return value if value and " " not in value and "=" not in value else json.dumps(value)
    if hasattr(value, "value") and isinstance(getattr(value, "value"), str):
        return value.value
    return str(value)


class KeyValueFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        fields = getattr(record, "fields", None) or {}
        parts = [f"{record.levelname.lower():<7} {record.name}: {record.getMessage()}"]
        parts.extend(f"{k}={_render(v)}" for k, v in fields.items() if v is not None)
        text = " ".join(parts)
        if record.exc_info:
            text += "\n" + self.formatException(record.exc_info)
        return redact(text)


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        body: dict[str, Any] = {
            "level": record.levelname.lower(),
            "logger": record.name,
            "event": record.getMessage(),
        }
        for k, v in (getattr(record, "fields", None) or {}).items():
            if v is not None:
                body[k] = _render(v) if not isinstance(v, (int, bool)) else v
        return redact(json.dumps(body))


def setup_logging(level: str = "WARNING", json_lines: bool = False, stream: Any = None) -> None:
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(JsonFormatter() if json_lines else KeyValueFormatter())
    root = logging.getLogger("gridledger")
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    root.propagate = False
