"""Configuration: a TOML file validated by pydantic; unknown keys and bad values are errors.

Numbers that are money or size are read as Decimal (TOML floats are parsed with
``parse_float=Decimal``, and strings like ``"0.001"`` are accepted too), never float.
Every number has a range (``gridledger.config_types``), so a typo such as ``1e999999999``
or ``inf`` is one clear error naming the key, not a hang or a traceback later on.
"""

from __future__ import annotations

import tomllib
from decimal import ROUND_FLOOR, Context, Decimal, DivisionByZero, InvalidOperation, Overflow, localcontext
from pathlib import Path
from typing import Annotated, Any, Literal, TypeAlias

from pydantic import BaseModel, ConfigDict, Field, ValidationError, ValidationInfo, field_validator, model_validator

from gridledger.config_perp import PerpConfig
from gridledger.config_runtime import NOTIFY_KINDS, ApiConfig, EngineConfig, NotifyConfig, NotifyKind
from gridledger.config_types import decimal_range, float_range, int_range, short, text_shape
from gridledger.domain.coid import MAX_GRID_ID_LEN, CoidError, validate_grid_id
from gridledger.domain.grid import GridSpec
from gridledger.domain.instrument import Instrument
from gridledger.domain.types import GridDirection
from gridledger.strategy.params import GridParams
from gridledger.strategy.risk import RiskLimits, check_limits

__all__ = [
    "MAX_CONFIG_BYTES",
    "NOTIFY_KINDS",
    "ApiConfig",
    "Config",
    "ConfigError",
    "EngineConfig",
    "GridConfig",
    "NotifyConfig",
    "NotifyKind",
    "RiskConfig",
    "StrategyConfig",
    "load_config",
    "parse_config",
    "read_config_data",
    "strategy_params",
]

MAX_CONFIG_BYTES = 1_000_000  # a config is a few hundred bytes; do not read /dev/zero to the end

# Prices and sizes: wide enough for any listed market, narrow enough that level arithmetic
# stays exact and fast.
Price: TypeAlias = Annotated[Decimal, decimal_range("1e-12", "1e12", lo_open=False)]
Amount: TypeAlias = Annotated[Decimal, decimal_range("1e-12", "1e12")]


class ConfigError(ValueError):
    """The config file is missing, not TOML, or has a bad or unknown key."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class GridConfig(_Strict):
    id: str
    symbol: Annotated[
        str,
        text_shape(
            r"[A-Za-z0-9]{1,20}/[A-Za-z0-9]{1,20}(?::[A-Za-z0-9]{1,20})?",
            "a ccxt unified symbol like BTC/USDT or BTC/USDT:USDT",
        ),
    ]
    anchor: Price
    interval: Price
    # Part of every trade's identity (R2): one name per exchange account, no spaces.
    account: Annotated[str, text_shape(r"[\x21-\x7e]{1,64}", "1 to 64 visible ASCII characters (no spaces)")] = (
        "default"
    )
    contract_size: Amount = Decimal(1)
    # Which way the grid trades (issue 11): long buys to open and sells to close, short sells
    # to open and buys to close, neutral is long below ``pivot`` and short above it.
    direction: Literal["long", "short", "neutral"] = "long"
    # Neutral only: the price whose level separates long slots (below) from short slots
    # (above); it must be a level price, anchor + k * interval. Validated even when absent,
    # so a neutral grid without one is an error naming grid.pivot.
    pivot: Price | None = Field(default=None, validate_default=True)

    @field_validator("id")
    @classmethod
    def _id(cls, value: str) -> str:
        try:
            return validate_grid_id(value)
        except CoidError:
            # Not the CoidError text: it quotes the whole value, and a value can be megabytes.
            raise ValueError(f"must be 1 to {MAX_GRID_ID_LEN} characters from A-Z, a-z and 0-9") from None

    @field_validator("symbol")
    @classmethod
    def _symbol(cls, value: str) -> str:
        Instrument.from_symbol(value)
        return value

    @field_validator("direction")
    @classmethod
    def _direction(cls, value: str, info: ValidationInfo) -> str:
        symbol = info.data.get("symbol")
        if value != "long" and isinstance(symbol, str) and Instrument.from_symbol(symbol).settle is None:
            # A short slot sells base it does not hold: only a derivative can do that.
            raise ValueError(
                "short and neutral grids need a perpetual symbol such as BTC/USDT:USDT; spot has no "
                f"borrowing (got direction {value!r} with symbol {symbol!r})"
            )
        return value

    @field_validator("pivot")
    @classmethod
    def _pivot(cls, value: Decimal | None, info: ValidationInfo) -> Decimal | None:
        direction = info.data.get("direction")
        if direction is None:
            return value  # direction itself failed: its error says why
        if direction != "neutral":
            if value is not None:
                raise ValueError(f"only a neutral grid takes a pivot; this grid is {direction}")
            return value
        if value is None:
            raise ValueError("a neutral grid needs pivot, the level price between its long and short slots (got none)")
        anchor, interval = info.data.get("anchor"), info.data.get("interval")
        if isinstance(anchor, Decimal) and isinstance(interval, Decimal):
            _pivot_level(value, anchor, interval)  # raises ValueError when it is not a level price
        return value

    def pivot_level(self) -> int | None:
        """The pivot's level index (neutral grids), or None."""
        if self.pivot is None:
            return None
        return _pivot_level(self.pivot, self.anchor, self.interval)

    def spec(self) -> GridSpec:
        return GridSpec(
            grid_id=self.id,
            instrument=Instrument.from_symbol(self.symbol, self.contract_size),
            anchor=self.anchor,
            interval=self.interval,
            account=self.account,
            direction=GridDirection(self.direction),
            pivot=self.pivot_level(),
        )


def _pivot_level(pivot: Decimal, anchor: Decimal, interval: Decimal) -> int:
    """k such that ``pivot == anchor + k * interval``, or ValueError naming the nearest levels.

    Exact: prices are bounded (1e-12 to 1e12, 24 digits), so 80 digits hold the quotient."""
    with localcontext(Context(prec=80, traps=[InvalidOperation, DivisionByZero, Overflow])):
        steps = (pivot - anchor) / interval
        level = steps.to_integral_value(rounding=ROUND_FLOOR)
        if steps != level:
            below, above = anchor + level * interval, anchor + (level + 1) * interval
            raise ValueError(
                f"{pivot} is not a level price (anchor + k * interval); the nearest levels are {below} and {above}"
            )
        return int(level)


class StrategyConfig(_Strict):
    buy_window: Annotated[int, int_range(1, 500, "levels")] = 5
    quote_per_level: Annotated[Decimal, decimal_range("1e-8", "1e12", "quote", lo_open=True)] = Decimal(100)
    max_open_orders: Annotated[int, int_range(1, 1000, "orders")] = 20
    post_only: bool = True
    post_only_retries: Annotated[int, int_range(0, 100)] = 3
    taker_fallback: bool = False
    post_only_close: bool = False
    hysteresis: Annotated[Decimal, decimal_range(0, "0.5", "of one interval", hi_open=True)] = Decimal("0.25")
    lower_price: Price | None = None
    upper_price: Price | None = None
    paused: bool = False
    # Live preflight refuses a grid step below the round-trip fee plus a margin (every round
    # trip would lose money); true runs such a grid anyway (paper, backtest and sweep only warn).
    allow_step_below_fee: bool = False

    @model_validator(mode="after")
    def _bounds(self) -> StrategyConfig:
        if self.lower_price is not None and self.upper_price is not None and self.lower_price >= self.upper_price:
            raise ValueError("lower_price must be below upper_price")
        if self.post_only_retries == 0 and not self.taker_fallback and (self.post_only or self.post_only_close):
            # "Wait after 0 rejections" would mean no post-only order is ever sent.
            raise ValueError(
                "post_only_retries must be >= 1 unless taker_fallback is set "
                "(0 retries without fallback would never place a post-only order)"
            )
        return self

    def params(self, grid: GridSpec) -> GridParams:
        """The strategy's parameters for ``grid``: the one place they are built (the rules and
        defaults are this model's; anchor, interval and direction are the grid's)."""
        return GridParams(
            anchor=grid.anchor,
            interval=grid.interval,
            quote_per_level=self.quote_per_level,
            buy_window=self.buy_window,
            max_open_orders=self.max_open_orders,
            post_only=self.post_only,
            post_only_retries=self.post_only_retries,
            taker_fallback=self.taker_fallback,
            post_only_close=self.post_only_close,
            hysteresis=self.hysteresis,
            lower_price=self.lower_price,
            upper_price=self.upper_price,
            direction=grid.direction,
            pivot=grid.pivot,
        )


def strategy_params(anchor: Decimal, interval: Decimal, **settings: Any) -> GridParams:
    """The strategy's parameters for a grid at ``anchor``/``interval`` with these ``[strategy]``
    settings and the config's defaults for the rest, validated as a config file is (a bad
    value raises a ``ValueError`` naming it): for tests, benches and tools without a file."""
    grid = GridSpec(grid_id="params", instrument=Instrument.from_symbol("BTC/USDT"), anchor=anchor, interval=interval)
    return StrategyConfig(**settings).params(grid)


class RiskConfig(_Strict):
    """Risk exits and the position cap (gridledger/strategy/risk.py, engine/exits.py); all optional.

    Long: ``stop_loss_price`` below the price, ``take_profit_price`` above it; short: the
    reverse; neutral: ``stop_loss_price`` below the pivot and ``stop_loss_price_above`` above
    it, no take-profit. Checked against the grid when the config loads."""

    stop_loss_price: Price | None = None
    take_profit_price: Price | None = None
    stop_loss_price_above: Price | None = None
    max_position: Annotated[Decimal, decimal_range("1e-12", "1e12", "base units")] | None = None
    max_drawdown: Annotated[Decimal, decimal_range("1e-12", "1e15", "quote")] | None = None
    # The marketable limit of a closing order: at most this fraction worse than the price.
    exit_slippage: Annotated[Decimal, decimal_range(0, "0.5", "of the price", hi_open=True)] = Decimal("0.005")
    # A closing order the price has left behind unfilled this long is cancelled and placed again.
    exit_reprice_s: Annotated[float, float_range(1, 86_400, "s")] = 30.0

    def limits(self) -> RiskLimits:
        return RiskLimits(
            stop_loss_price=self.stop_loss_price,
            take_profit_price=self.take_profit_price,
            stop_loss_price_above=self.stop_loss_price_above,
            max_position=self.max_position,
            max_drawdown=self.max_drawdown,
            exit_slippage=self.exit_slippage,
        )


class Config(_Strict):
    grid: GridConfig
    strategy: StrategyConfig = StrategyConfig()
    engine: EngineConfig = EngineConfig()
    api: ApiConfig = ApiConfig()
    notify: NotifyConfig | None = None  # no [notify] table: no notifications
    risk: RiskConfig = RiskConfig()  # no [risk] table: no exits, no position cap
    # Tables owned by other commands (paper, live) are validated by their own models.
    paper: dict[str, Any] = Field(default_factory=dict)
    exchange: dict[str, Any] = Field(default_factory=dict)
    perp: PerpConfig = PerpConfig()  # perpetual grids: leverage, margin mode, margin guard, funding (config_perp.py)

    @model_validator(mode="after")
    def _risk_fits_grid(self) -> Config:
        # The exits' sides depend on the grid's direction (strategy/risk.py): refused here,
        # naming the [risk] key, rather than a stop that could never fire.
        spec = self.grid.spec()
        pivot = spec.level_price(spec.pivot) if spec.pivot is not None else None
        check_limits(self.risk.limits(), spec.direction.value, pivot)
        return self


def _describe(exc: ValidationError) -> str:
    lines = []
    for err in exc.errors():
        loc = ".".join(str(p) for p in err["loc"])
        where = f"{loc}: " if loc else ""
        if err["type"] == "extra_forbidden":
            lines.append(f"{where}unknown key")
        elif err["type"] == "missing":
            lines.append(f"{where}required key is missing")
        else:
            msg = err["msg"].removeprefix("Value error, ")
            if len(msg) > 200:  # a validator that quotes its input: keep the line a line
                msg = msg[:200] + "..."
            value = err.get("input")
            # Some messages quote the value already ("..., got '1w'"), and a whole table is no
            # help: do not say it twice, or at all.
            got = "" if "got " in msg or isinstance(value, dict) else f" (got {short(value)})"
            lines.append(f"{where}{msg}{got}")
    return "; ".join(lines)


def parse_config(data: dict[str, Any], origin: str = "config") -> Config:
    try:
        return Config.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(f"{origin}: {_describe(exc)}") from None
    except RecursionError:
        raise ConfigError(f"{origin}: tables or arrays nested too deeply") from None


def _resolve_data_paths(data: dict[str, Any], folder: Path) -> None:
    """Relative price files are relative to the config file, not to where the command runs."""
    paper = data.get("paper")
    if not isinstance(paper, dict):
        return
    for key in ("candles_csv", "trades_csv"):
        value = paper.get(key)
        if isinstance(value, str) and value and "\x00" not in value:
            candidate = Path(value).expanduser()
            if not candidate.is_absolute():
                paper[key] = str(folder / candidate)


def load_config(path: str | Path) -> Config:
    return parse_config(read_config_data(path), str(Path(path)))


def read_config_data(path: str | Path) -> dict[str, Any]:
    """The TOML of a config file, not yet validated (relative price files already resolved):
    for callers that change settings before the one validation (paper/perp.py's flags)."""
    path = Path(path)
    try:
        with open(path, "rb") as fh:
            raw = fh.read(MAX_CONFIG_BYTES + 1)
    except OSError as exc:
        raise ConfigError(f"cannot read config {path}: {exc.strerror or exc}") from None
    if len(raw) > MAX_CONFIG_BYTES:
        raise ConfigError(f"{path}: larger than {MAX_CONFIG_BYTES} bytes; is this a config file?")
    try:
        body = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{path}: not UTF-8 text (bad byte at offset {exc.start})") from None
    try:
        data = tomllib.loads(body, parse_float=Decimal)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from None
    except RecursionError:
        raise ConfigError(f"{path}: not valid TOML: tables or arrays nested too deeply") from None
    _resolve_data_paths(data, path.parent.absolute())
    return data
