"""Structured logging on the standard library: one event name plus key=value fields.

``log_event(logger, level, "duplicate", order_id=..., applied=...)`` puts the fields in
``record.fields``; ``KeyValueFormatter`` renders them for people and ``JsonFormatter`` (on
python-json-logger) for machines. Every line starts with an ISO 8601 UTC timestamp. JSON
lines are encoded once: a string field is a JSON string, never a JSON string holding a
quoted string. Decimals are rendered normalised (no exponent, no trailing zeros).

Secrets: callers only pass fields they choose, and ``redact`` masks known secret values,
signed query strings and credential headers in everything rendered. The redaction is a
processor of each formatter (applied to the message, every string field and the traceback
before they are encoded), so it holds for any handler using these formatters, and
``RedactFilter`` does the same for handlers with other formatters.
"""

from __future__ import annotations

import json
import logging
import re
import sys
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from pythonjsonlogger.json import JsonFormatter as _BaseJsonFormatter

_SECRETS: set[str] = set()


def register_secret(value: str | None) -> None:
    """Mask this value wherever a log line or error message would show it."""
    if value and len(value) >= 4:
        _SECRETS.add(value)


# A signed request carries its signature (and the key, on some venues) in the query string;
# ccxt puts the whole URL, and sometimes the request body, in its exception messages. Any
# query string that looks signed is cut off whole: its values are credentials or replayable.
# A Binance user-stream URL carries its listen key (``?listenKey=``): it reads the account.
_SIGNED_KEYS = r"(?:signature|sign|timestamp|recvwindow|apikey|api_key|x-mbx-apikey|api-key|passphrase|nonce|listenkey)"
# A query string: from a "?" to the next blank, quote, bracket or "?" (linear: a scan never
# passes another "?", so a hostile line cannot make it quadratic).
_URL_QUERY = re.compile(r"\?(?P<query>[^\s\"'<>?]*)")
# A bare query string or form body ("timestamp=...&signature=..."), outside a URL. Only the
# credential keys count here: "timestamp=" alone is also an ordinary log field.
_BARE_KEYS = r"(?:signature|sign|apikey|api_key|x-mbx-apikey)"
_BARE_QUERY = re.compile(
    r"(?<![\w.\-\[\]%/?&=])(?:[\w.\-\[\]%]+=[^\s&\"'<>]*&)*"
    + _BARE_KEYS
    + r"=[^\s&\"'<>]*(?:&[\w.\-\[\]%]+=[^\s&\"'<>]*)*",
    re.IGNORECASE,
)
# Credential headers or fields quoted in an error ("X-MBX-APIKEY: abc", "'OK-ACCESS-SIGN': '...'").
_CREDENTIAL_FIELD = re.compile(
    r"(?P<name>\b(?:x-mbx-apikey|ok-access-key|ok-access-sign|ok-access-passphrase|x-bapi-api-key|x-bapi-sign"
    r"|apikey|api_key|signature)[\"']?\s*[:=]\s*[\"']?)(?P<value>[^\s\"',&}]+)",
    re.IGNORECASE,
)
_SIGNED_QUERY = re.compile(_SIGNED_KEYS + r"=", re.IGNORECASE)


def _strip_url_query(match: re.Match[str]) -> str:
    if _SIGNED_QUERY.search(match.group("query")):
        return "?***"
    return match.group(0)


def redact(text: str) -> str:
    """Mask registered secrets and strip signed query strings and credential headers."""
    for secret in _SECRETS:
        if secret in text:
            text = text.replace(secret, "***")
    if "=" in text or ":" in text:
        text = _URL_QUERY.sub(_strip_url_query, text)
        text = _BARE_QUERY.sub("***", text)
        text = _CREDENTIAL_FIELD.sub(lambda m: m.group("name") + "***", text)
    return text


def log_event(logger: logging.Logger, severity: int, event: str, /, **fields: Any) -> None:
    if logger.isEnabledFor(severity):
        logger.log(severity, event, extra={"fields": fields})


def iso_time(created: float) -> str:
    """A record's time as ISO 8601 in UTC with milliseconds (2026-01-01T00:00:00.000+00:00)."""
    return datetime.fromtimestamp(created, UTC).isoformat(timespec="milliseconds")


def plain(value: Any) -> Any:
    """A field's value for a JSON line: ints and bools stay numbers, decimals become their
    normalised text, enums their value, anything else its ``str``. Strings stay as they are:
    the JSON encoder quotes them once."""
    if isinstance(value, bool | int):
        return value
    if isinstance(value, Decimal):
        return _decimal(value)
    if isinstance(value, str):
        return value
    inner = getattr(value, "value", None)
    if isinstance(inner, str):
        return inner
    return str(value)


def _decimal(value: Decimal) -> str:
    if not value:
        return "0"
    if not value.is_finite():
        return str(value)
    # No rounding: normalize() under the default 28-digit context could round a long value.
    from gridledger.domain.numbers import fmt

    return fmt(value) or "0"


def _render(value: Any) -> str:
    """A field's value in a key=value line: quoted (JSON string syntax) only when it has a
    blank or an "=", so the line still splits on blanks."""
    if isinstance(value, str):
        return value if value and " " not in value and "=" not in value else json.dumps(value)
    return str(plain(value))


class KeyValueFormatter(logging.Formatter):
    """``2026-01-01T00:00:00.000+00:00 info    gridledger.ledger: fill level=3 qty=0.001``."""

    def format(self, record: logging.LogRecord) -> str:
        fields = getattr(record, "fields", None) or {}
        parts = [f"{iso_time(record.created)} {record.levelname.lower():<7} {record.name}: {record.getMessage()}"]
        parts.extend(f"{k}={_render(v)}" for k, v in fields.items() if v is not None)
        text = " ".join(parts)
        if record.exc_info:
            text += "\n" + self.formatException(record.exc_info)
        return redact(text)


# Keys of a JSON line that a field may not overwrite (a field named "event" is kept as "field.event").
# The log level is "severity": "level" is the grid level in the ledger's lines.
_OWN_KEYS = frozenset({"ts", "severity", "logger", "event", "exc_info"})


class JsonFormatter(_BaseJsonFormatter):
    """One JSON object per line: ``ts`` (ISO 8601 UTC), ``severity``, ``logger``, ``event``, then
    the record's fields, each encoded once; ``exc_info`` holds a traceback when there is one."""

    def __init__(self) -> None:
        super().__init__(json_ensure_ascii=False)

    def add_fields(self, log_data: dict[str, Any], record: logging.LogRecord, message_dict: dict[str, Any]) -> None:
        log_data["ts"] = iso_time(record.created)
        log_data["severity"] = record.levelname.lower()
        log_data["logger"] = record.name
        log_data["event"] = record.getMessage()
        for key, value in (getattr(record, "fields", None) or {}).items():
            if value is not None:
                log_data[f"field.{key}" if key in _OWN_KEYS else key] = plain(value)
        if message_dict.get("exc_info"):
            log_data["exc_info"] = message_dict["exc_info"]

    def process_log_record(self, log_data: dict[str, Any]) -> dict[str, Any]:
        # The redaction processor: every string is masked before it is encoded, so a mask
        # never cuts through JSON escapes and the line stays valid JSON.
        return {k: redact(v) if isinstance(v, str) else v for k, v in log_data.items()}


class RedactFilter(logging.Filter):
    """Masks secrets in a record's message and fields, for handlers with any formatter."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        masked = redact(message)
        if masked != message:
            record.msg, record.args = masked, None
        fields = getattr(record, "fields", None)
        if fields:
            record.fields = {k: redact(v) if isinstance(v, str) else v for k, v in fields.items()}
        return True


def setup_logging(level: str = "WARNING", json_lines: bool = False, stream: Any = None) -> None:
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(JsonFormatter() if json_lines else KeyValueFormatter())
    handler.addFilter(RedactFilter())
    root = logging.getLogger("gridledger")
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    root.propagate = False
    # Other libraries' records (asyncio's "exception was never retrieved" with a ccxt error
    # inside, ccxt's own warnings, apprise's) reach stderr through logging's last-resort
    # handler, which would print them unredacted: give it the redacting formatter too.
    last = logging.StreamHandler(stream or sys.stderr)
    last.setLevel(logging.WARNING)
    last.setFormatter(JsonFormatter() if json_lines else KeyValueFormatter())
    last.addFilter(RedactFilter())
    logging.lastResort = last
