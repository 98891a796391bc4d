"""Request parameters as Binance reads them: strings in, typed values or a Binance error out."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from decimal import Decimal

from gridledger.testkit.local_binance.errors import ApiError, illegal_number, mandatory

_NUMBER = re.compile(r"[0-9]{1,20}(\.[0-9]{1,20})?")
_INTEGER = re.compile(r"-?[0-9]{1,19}")


class Params:
    """The merged query-string and body parameters of one request (last value wins)."""

    def __init__(self, pairs: Iterable[tuple[str, str]]) -> None:
        self._values: dict[str, str] = {}
        for key, value in pairs:
            self._values[key] = value

    @classmethod
    def of(cls, values: Mapping[str, object]) -> Params:
        """From a JSON object (WebSocket API ``params``); values are rendered as text."""
        return cls((k, _text(v)) for k, v in values.items())

    def __contains__(self, name: str) -> bool:
        return self.get(name) is not None

    def get(self, name: str) -> str | None:
        """The value, or None when absent or empty (Binance treats both as not sent)."""
        value = self._values.get(name)
        return value if value not in (None, "") else None

    def required(self, name: str) -> str:
        value = self.get(name)
        if value is None:
            raise mandatory(name)
        return value

    def decimal(self, name: str) -> Decimal | None:
        value = self.get(name)
        if value is None:
            return None
        if not _NUMBER.fullmatch(value):
            raise illegal_number(name)
        return Decimal(value)

    def integer(self, name: str) -> int | None:
        value = self.get(name)
        if value is None:
            return None
        if not _INTEGER.fullmatch(value):
            raise ApiError(-1100, f"Illegal characters found in parameter '{name}'; legal range is '^[0-9]{{1,20}}$'.")
        return int(value)

    def boolean(self, name: str) -> bool | None:
        value = self.get(name)
        if value is None:
            return None
        if value.lower() not in ("true", "false"):
            raise ApiError(-1130, f"Data sent for parameter '{name}' is not valid.")
        return value.lower() == "true"

    def present(self, *names: str) -> set[str]:
        return {n for n in names if n in self}


def _text(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return "" if value is None else str(value)
