"""The simulated USDⓈ-M perpetual venue's plumbing: its core, its ccxt parser, its errors.

:class:`PerpVenueBase` builds the :class:`~gridledger.exchange.sim.perp_core.PerpCore` and the
offline ccxt ``binanceusdm`` parser every response is parsed with, feeds ticks to the core,
and turns a refusal into the exception ccxt's ``handle_errors`` raises for its Binance error
body. The API methods are :class:`~gridledger.exchange.sim.perp_exchange.PerpSimExchange`'s.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any, cast

import ccxt
import ccxt.pro

from gridledger.exchange.sim import binance_usdm_format as uf
from gridledger.exchange.sim.errors import SimOrderError
from gridledger.exchange.sim.perp_core import PerpCore
from gridledger.exchange.sim.perp_values import PerpMarketSpec
from gridledger.exchange.sim.values import SimMarketSpec
from gridledger.exchange.sim.venue_api import SimVenueApi
from gridledger.exchange.sim.venue_config import SimConfig
from gridledger.exchange.sim.venue_runtime import _Kind

__all__ = ["PerpVenueBase", "make_usdm_parser"]

_FAPI = "https://fapi.binance.com"


def make_usdm_parser(spec: PerpMarketSpec) -> Any:
    """An offline ccxt.pro binanceusdm instance that knows only the simulated perpetual."""
    parser = ccxt.pro.binanceusdm({"enableRateLimit": False})
    parser.number = str
    market = parser.parse_market(uf.exchange_info_symbol(spec))
    market["maker"] = str(spec.maker_fee)
    market["taker"] = str(spec.taker_fee)
    parser.set_markets([market])
    # What load_leverage_brackets would have cached (parse_position_risk reads it).
    parser.options["leverageBrackets"] = {spec.symbol: [["0", str(spec.maintenance_rate)]]}
    return parser


class PerpVenueBase(SimVenueApi):
    """The simulated perpetual's core and parser behind the ccxt-shaped methods."""

    core: PerpCore

    def __init__(self, config: SimConfig | None = None, core: PerpCore | None = None) -> None:
        config = config if config is not None else SimConfig(spec=PerpMarketSpec())
        spec = config.spec
        if not isinstance(spec, PerpMarketSpec):
            raise ValueError("PerpSimExchange needs a PerpMarketSpec (a linear perpetual)")
        if core is None:
            core = PerpCore(
                spec,
                config.balances,
                config.start_ms,
                seed=config.seed,
                duplicate_scope=config.duplicate_scope,
            )
        super().__init__(config, core)

    @property
    def spec(self) -> PerpMarketSpec:
        return self.core.spec

    def _new_parser(self, spec: SimMarketSpec) -> Any:
        assert isinstance(spec, PerpMarketSpec)
        return make_usdm_parser(spec)

    @property
    def _label(self) -> str:
        return cast(str, self._parser.id)

    def _ticker_now(self) -> Mapping[str, Any]:
        return cast(
            Mapping[str, Any], self._parser.parse_ticker(uf.ticker_24hr(self.core.ticker_stats()), self._market)
        )

    def _stream_item(self, kind: _Kind, payload: Mapping[str, Any]) -> dict[str, Any] | None:
        """One ``ORDER_TRADE_UPDATE`` as ccxt.pro parses it (None: not an update of ``kind``)."""
        if payload.get("e") != "ORDER_TRADE_UPDATE":
            return None
        # ccxt.pro hands the event's "o" object to its parsers; a copy, so the truth stays intact.
        o = dict(payload["o"])
        if kind == "orders":
            return cast(dict[str, Any], self._parser.parse_ws_order(o))
        if o.get("x") == "TRADE":
            return cast(dict[str, Any], self._parser.parse_ws_trade(o))
        return None

    def _error(self, exc: SimOrderError, method: str, path: str) -> ccxt.BaseError:
        """The exception ccxt's binanceusdm raises for this Binance error body."""
        body = json.dumps(exc.body(), separators=(",", ":"))
        try:
            self._parser.handle_errors(400, "Bad Request", _FAPI + path, method, {}, body, exc.body(), None, None)
        except ccxt.BaseError as raised:
            return raised
        return ccxt.ExchangeError(f"{self._parser.id} {body}")

    async def _refused(self, exc: SimOrderError, method: str, path: str) -> ccxt.BaseError:
        await self._sleep_ms(self._response_ms())
        return self._error(exc, method, path)

    def _illegal_order_id(self) -> ccxt.BaseError:
        return self._error(
            SimOrderError(-1100, "Illegal characters found in parameter 'orderId'."), "GET", "/fapi/v1/order"
        )

    def _parse_order(self, response: dict[str, Any]) -> dict[str, Any]:
        return cast(dict[str, Any], self._parser.parse_order(response, self._market))
