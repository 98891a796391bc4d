"""What the ledger and parsers need to know about the traded market."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from gridledger.domain.numbers import ONE


@dataclass(frozen=True, slots=True)
class Instrument:
    """A market in ccxt's unified naming (``BTC/USDT`` spot, ``BTC/USDT:USDT`` linear perp).

    ``contract_size`` converts venue contracts to base units (OKX swaps count contracts);
    it is 1 for spot and for venues that count in base units.
    """

    symbol: str
    base: str
    quote: str
    settle: str | None = None
    contract_size: Decimal = ONE
    venue_ids: frozenset[str] = field(default_factory=frozenset)

    @property
    def kind(self) -> str:
        return "spot" if self.settle is None else "linear"

    @classmethod
    def from_symbol(cls, symbol: str, contract_size: Decimal = ONE) -> Instrument:
        """Build from a unified symbol; venue ids are derived for Binance, OKX and Bybit."""
        pair, _, settle = symbol.partition(":")
        base, sep, quote = pair.partition("/")
        if not sep or not base or not quote or not (base + quote).isalnum():
            raise ValueError(f"symbol must be a ccxt unified symbol like BTC/USDT or BTC/USDT:USDT, got {symbol!r}")
        if settle and not settle.isalnum():
            raise ValueError(f"symbol settle currency is not alphanumeric: {symbol!r}")
        if contract_size <= 0:
            raise ValueError(f"contract_size must be positive, got {contract_size}")
        base, quote = base.upper(), quote.upper()
        settle_u = settle.upper() if settle else None
        ids = {base + quote, f"{base}-{quote}"}
        if settle_u:
            ids.add(f"{base}-{quote}-SWAP")
        return cls(
            symbol=f"{base}/{quote}" + (f":{settle_u}" if settle_u else ""),
            base=base,
            quote=quote,
            settle=settle_u,
            contract_size=contract_size,
            venue_ids=frozenset(ids),
        )

    def unify(self, venue_symbol: str) -> str:
        """Map a venue market id to the unified symbol, or return it unchanged if not ours."""
        if venue_symbol == self.symbol or venue_symbol in self.venue_ids:
            return self.symbol
        return venue_symbol
