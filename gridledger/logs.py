"""Structured logging on the standard library: one event name plus key=value fields.

``log_event(logger, level, "duplicate", order_id=..., applied=...)`` puts the fields in
``record.fields``; ``KeyValueFormatter`` renders them for people and ``JsonFormatter`` for
machines. Secrets never reach a record because callers only pass fields they choose, and
``redact`` masks known secret values in anything rendered.
"""

from __future__ import annotations

import json
import logging
import re
import sys
from decimal import Decimal
from typing import Any

_SECRETS: set[str] = set()


def register_secret(value: str | None) -> None:
    """Mask this value wherever a log line or error message would show it."""
    if value and len(value) >= 4:
        _SECRETS.add(value)


# A signed request carries its signature (and the key, on some venues) in the query string;
# ccxt puts the whole URL, and sometimes the request body, in its exception messages. Any
# query string that looks signed is cut off whole: its values are credentials or replayable.
_SIGNED_KEYS = r"(?:signature|sign|timestamp|recvwindow|apikey|api_key|x-mbx-apikey|api-key|passphrase|nonce)"
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


def _render(value: Any) -> str:
    if isinstance(value, Decimal):
        return format(value.normalize(), "f") if value else "0"
    if isinstance(value, str):
        return value if value and " " not in value and "=" not in value else json.dumps(value)
    if hasattr(value, "value") and isinstance(value.value, str):
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
    # Other libraries' records (asyncio's "exception was never retrieved" with a ccxt error
    # inside, ccxt's own warnings) reach stderr through logging's last-resort handler, which
    # would print them unredacted: give it the redacting formatter too.
    last = logging.StreamHandler(stream or sys.stderr)
    last.setLevel(logging.WARNING)
    last.setFormatter(KeyValueFormatter())
    logging.lastResort = last
