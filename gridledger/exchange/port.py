"""The exchange port: the slice of ccxt's async unified API that the engine uses.

The names and signatures are ccxt's own (``ccxt.pro.<exchange>`` in 4.5.90), so a real
ccxt.pro exchange object satisfies the protocol unchanged and the simulated exchange
(:class:`gridledger.exchange.sim.exchange.SimExchange`) can stand in for it. Every extra
parameter ccxt has (``params={}``, ``reload``) is declared here too, with the same default, so
that structural typing holds in both directions.

Numbers in the returned structures are strings when the exchange is configured with
``exchange.number = str`` (the simulator always does this); the engine parses them with
:func:`gridledger.domain.numbers.to_decimal`, never as floats. Every structure keeps the venue
payload under ``info``, and for Binance spot the engine parses ``info`` itself.
"""

from __future__ import annotations

from typing import Any, Protocol, runtime_checkable

# The ccxt structures are plain dicts; these aliases only document which one is meant.
Market = dict[str, Any]
Ticker = dict[str, Any]
Order = dict[str, Any]
Trade = dict[str, Any]
Balances = dict[str, Any]


@runtime_checkable
class ExchangePort(Protocol):
    """What the engine needs from an exchange, spelled exactly like ccxt."""

    id: str
    """ccxt exchange id (``"binance"``, ``"sim"``)."""

    markets: dict[str, Any]
    """Unified symbol -> ccxt market structure; ``None`` in ccxt before ``load_markets``."""

    async def load_markets(self, reload: bool = False, params: dict[str, Any] = {}) -> dict[str, Market]:
        """Load (once) and return ``markets``.

        Market structure: ``id`` (venue symbol, ``"BTCUSDT"``), ``symbol`` (``"BTC/USDT"``),
        ``base``, ``quote``, ``type`` (``"spot"``), ``spot`` (True), ``precision``
        ``{amount, price}`` (step sizes in TICK_SIZE mode), ``limits``
        ``{amount: {min, max}, price: {min, max}, cost: {min, max}}``, ``maker``, ``taker``,
        ``contractSize`` (None for spot), ``info`` (the venue's market payload).
        """
        ...

    async def fetch_ticker(self, symbol: str, params: dict[str, Any] = {}) -> Ticker:
        """REST ticker: ``symbol, timestamp, datetime, high, low, bid, bidVolume, ask,
        askVolume, vwap, open, close, last, previousClose, change, percentage, average,
        baseVolume, quoteVolume, info``."""
        ...

    async def watch_ticker(self, symbol: str, params: dict[str, Any] = {}) -> Ticker:
        """The next ticker pushed by the venue's stream (same structure as ``fetch_ticker``)."""
        ...

    async def create_order(
        self,
        symbol: str,
        type: str,
        side: str,
        amount: Any,
        price: Any = None,
        params: dict[str, Any] = {},
    ) -> Order:
        """Place an order; returns an order structure.

        Order structure: ``id, clientOrderId, datetime, timestamp, lastTradeTimestamp,
        lastUpdateTimestamp, status (open | closed | canceled | expired | rejected | None),
        symbol, type, timeInForce, side, price, average, amount, filled, remaining,
        stopPrice, triggerPrice, takeProfitPrice, stopLossPrice, cost, trades, fee, fees,
        reduceOnly, postOnly, info``. ``params``: ``clientOrderId``, ``postOnly``,
        ``timeInForce``. Raises ccxt ``InsufficientFunds``, ``OrderImmediatelyFillable``,
        ``InvalidOrder`` (``DuplicateOrderId``), ``NetworkError`` / ``RequestTimeout`` (the
        order may or may not exist: reconcile by client id).
        """
        ...

    async def cancel_order(self, id: str | None, symbol: str | None = None, params: dict[str, Any] = {}) -> Order:
        """Cancel by exchange id, or by ``params["clientOrderId"]`` with ``id`` None (ccxt's
        binance accepts that although it annotates ``id: str``); returns the order
        structure of the cancel acknowledgement. Raises ``OrderNotFound`` for unknown or
        already closed orders."""
        ...

    async def fetch_order(self, id: str | None, symbol: str | None = None, params: dict[str, Any] = {}) -> Order:
        """One order by exchange id, or by ``params["clientOrderId"]`` with ``id`` None;
        raises ``OrderNotFound``."""
        ...

    async def fetch_open_orders(
        self,
        symbol: str | None = None,
        since: int | None = None,
        limit: int | None = None,
        params: dict[str, Any] = {},
    ) -> list[Order]:
        """Open orders (order structures), oldest first."""
        ...

    async def fetch_my_trades(
        self,
        symbol: str | None = None,
        since: int | None = None,
        limit: int | None = None,
        params: dict[str, Any] = {},
    ) -> list[Trade]:
        """Own trades, oldest first. ``params["fromId"]``: trades with id >= fromId.

        Trade structure: ``id, order, timestamp, datetime, symbol, type, side,
        takerOrMaker, price, amount, cost, fee {cost, currency}, fees, info``.
        """
        ...

    async def fetch_balance(self, params: dict[str, Any] = {}) -> Balances:
        """Balance structure: ``info, timestamp, datetime, free {code: x}, used {code: x},
        total {code: x}`` and one ``{free, used, total}`` entry per currency code."""
        ...

    async def watch_orders(
        self,
        symbol: str | None = None,
        since: int | None = None,
        limit: int | None = None,
        params: dict[str, Any] = {},
    ) -> list[Order]:
        """Order structures updated since the previous call; blocks until there is one.
        Raises ``NetworkError`` when the stream drops (the next call reconnects)."""
        ...

    async def watch_my_trades(
        self,
        symbol: str | None = None,
        since: int | None = None,
        limit: int | None = None,
        params: dict[str, Any] = {},
    ) -> list[Trade]:
        """Trade structures received since the previous call; blocks until there is one."""
        ...

    async def close(self) -> None:
        """Release connections and background tasks."""
        ...
