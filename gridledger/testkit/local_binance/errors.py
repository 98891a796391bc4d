"""Binance error answers: a code, a message and the HTTP status Binance sends with them.

ccxt's ``binance.handle_errors`` maps an error by its exact ``msg`` first and by its
``code`` second (and LOT_SIZE / PRICE_FILTER by a substring of the body before both), so
the messages here are Binance's verbatim: changing a word changes the exception class the
engine sees.
"""

from __future__ import annotations

from typing import Any

from gridledger.exchange.sim.errors import SimOrderError

# HTTP status per error code where it is not 400 (Binance answers 4XX for every request
# error; the authentication failures are 401 here so a client can tell them apart).
_STATUS = {-1022: 401, -2014: 401, -2015: 401}


class ApiError(Exception):
    """A request the local venue refuses, rendered as Binance's ``{"code", "msg"}``."""

    def __init__(self, code: int, msg: str, status: int | None = None) -> None:
        super().__init__(f"{code} {msg}")
        self.code = code
        self.msg = msg
        self.status = status if status is not None else _STATUS.get(code, 400)

    def body(self) -> dict[str, Any]:
        return {"code": self.code, "msg": self.msg}

    @classmethod
    def from_sim(cls, exc: SimOrderError) -> ApiError:
        """A SimCore rejection, with the code and message SimCore chose (Binance's)."""
        return cls(exc.code, exc.msg)


def mandatory(name: str) -> ApiError:
    return ApiError(-1102, f"Mandatory parameter '{name}' was not sent, was empty/null, or malformed.")


def illegal_number(name: str) -> ApiError:
    return ApiError(
        -1100,
        f"Illegal characters found in parameter '{name}'; legal range is '^([0-9]{{1,20}})(\\.[0-9]{{1,20}})?$'.",
    )


def not_required(name: str) -> ApiError:
    return ApiError(-1106, f"Parameter '{name}' sent when not required.")


def bad_combo() -> ApiError:
    return ApiError(-1128, "Combination of optional parameters invalid.")


def invalid_symbol() -> ApiError:
    return ApiError(-1121, "Invalid symbol.")


def bad_signature() -> ApiError:
    return ApiError(-1022, "Signature for this request is not valid.")


def bad_api_key() -> ApiError:
    return ApiError(-2015, "Invalid API-key, IP, or permissions for action.")


def api_key_format() -> ApiError:
    return ApiError(-2014, "API-key format invalid.")
