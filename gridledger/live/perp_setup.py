"""Start-up of a perpetual grid: one-way position mode, leverage and margin mode, each set
and then read back from the venue before anything is placed.

A set call that fails is not the verdict (Binance answers "no need to change" with an
error when the setting is already right); the read-back is. Any setting the venue does not
confirm stops the start: one line, exit 2, no order placed. A dry run only reads and says
what it would change.

Read-backs (ccxt 4.5.90, binanceusdm): ``fetch_position_mode`` (GET
/fapi/v1/positionSide/dual), ``fetch_margin_mode`` (GET /fapi/v1/symbolConfig: margin type
and leverage), else the position row (``fetch_positions``: ``marginMode``, ``leverage``),
else the leverage the set call's answer states.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import ccxt

from gridledger.config_perp import PerpConfig
from gridledger.domain.numbers import InputError, fmt, opt_decimal
from gridledger.engine.perp import MarginReading, reading_from
from gridledger.engine.runtime import GridEngine
from gridledger.logs import log_event, redact

log = logging.getLogger("gridledger.live")

__all__ = ["PerpSetupError", "PerpState", "setup_perp"]

EXIT_PERP_SETUP = 2  # the brief of issue 11: a perpetual start-up that is not confirmed exits 2


class PerpSetupError(RuntimeError):
    """The venue did not confirm a setting: nothing may be placed."""


@dataclass(frozen=True, slots=True)
class PerpState:
    hedged: bool | None
    leverage: Decimal | None
    margin_mode: str | None
    margin: MarginReading | None


def _short(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {redact(str(exc))[:200]}"


async def _call(
    engine: GridEngine, what: str, fn: Callable[[], Awaitable[Any]], *, once: bool = False
) -> tuple[Any, BaseException | None]:
    # A set call is tried once: the venue's refusal ("no need to change", "a position
    # exists") is an answer, and the read-back that follows is the verdict either way.
    result = await (engine.caller.once(what, fn) if once else engine.caller.retry(what, fn))
    return result.value, result.error


async def read_state(engine: GridEngine, perp: PerpConfig, set_leverage_answer: Any = None) -> PerpState:
    """What the venue says now: position mode, leverage, margin mode, position and margin."""
    # The perpetual calls are ccxt's (binanceusdm), beyond the engine's ExchangePort.
    ex: Any = engine.ex
    symbol = engine.symbol
    mode_answer, mode_error = await _call(engine, "fetch_position_mode", lambda: ex.fetch_position_mode(symbol))
    if mode_answer is None:
        raise PerpSetupError(f"cannot read the position mode of {symbol}: {_short(mode_error or RuntimeError())}")
    hedged = mode_answer.get("hedged") if isinstance(mode_answer, Mapping) else None
    leverage: Decimal | None = None
    margin_mode: str | None = None
    config_answer, _ = await _call(engine, "fetch_margin_mode", lambda: ex.fetch_margin_mode(symbol))
    if isinstance(config_answer, Mapping):
        margin_mode = config_answer.get("marginMode") if isinstance(config_answer.get("marginMode"), str) else None
        info = config_answer.get("info")
        if isinstance(info, Mapping):
            leverage = opt_decimal(info.get("leverage"), "symbolConfig leverage")
    positions, pos_error = await _call(engine, "fetch_positions", lambda: ex.fetch_positions([symbol]))
    margin = None
    balance = None
    if perp.margin_mode == "cross":
        balance, _ = await _call(engine, "fetch_balance", lambda: ex.fetch_balance())
    if positions is not None:
        margin = reading_from(positions, balance, symbol, engine.grid.instrument, perp.margin_mode, engine.sh.now_ms())
        if margin_mode is None:
            margin_mode = margin.margin_mode
        if leverage is None:
            leverage = margin.leverage
    elif pos_error is not None:
        log_event(log, logging.WARNING, "positions not readable at start", error=_short(pos_error))
    if leverage is None and isinstance(set_leverage_answer, Mapping):
        leverage = opt_decimal(set_leverage_answer.get("leverage"), "leverage answer")
    return PerpState(hedged if isinstance(hedged, bool) else None, leverage, margin_mode, margin)


async def setup_perp(engine: GridEngine, perp: PerpConfig, *, apply: bool) -> tuple[list[str], PerpState]:
    """Set (unless ``apply`` is false: a dry run) and verify the account for a perpetual grid.

    Returns the preflight lines and the venue's state; raises ``PerpSetupError`` with one
    line when a setting is not confirmed."""
    # The perpetual calls are ccxt's (binanceusdm), beyond the engine's ExchangePort.
    ex: Any = engine.ex
    symbol = engine.symbol
    lines: list[str] = []
    leverage_answer: Any = None
    try:
        if apply:
            _, err = await _call(engine, "set_position_mode", lambda: ex.set_position_mode(False, symbol), once=True)
            if err is not None:
                log_event(log, logging.INFO, "set_position_mode answered an error; verifying", error=_short(err))
            _, err = await _call(
                engine, "set_margin_mode", lambda: ex.set_margin_mode(perp.margin_mode, symbol), once=True
            )
            if err is not None:
                log_event(log, logging.INFO, "set_margin_mode answered an error; verifying", error=_short(err))
            leverage_answer, err = await _call(
                engine, "set_leverage", lambda: ex.set_leverage(perp.leverage, symbol), once=True
            )
            if err is not None:
                log_event(log, logging.INFO, "set_leverage answered an error; verifying", error=_short(err))
        state = await read_state(engine, perp, leverage_answer)
    except (InputError, ArithmeticError) as exc:
        raise PerpSetupError(f"the venue's answer about {symbol}'s settings is unusable: {exc}") from None
    except ccxt.BaseError as exc:
        raise PerpSetupError(f"cannot set up {symbol}: {_short(exc)}") from None
    problems = []
    if state.hedged is None:
        problems.append("the venue does not say whether the account is in one-way or hedge mode")
    elif state.hedged:
        problems.append(
            "the account is in hedge (dual-side) position mode; gridledger needs one-way mode "
            "(it could not switch: close the USDⓈ-M positions and open orders, or switch it in the venue's settings)"
        )
    if state.leverage is None:
        problems.append(f"the venue does not confirm the leverage of {symbol}")
    elif state.leverage != perp.leverage:
        problems.append(f"leverage of {symbol} is {fmt(state.leverage)}x, [perp] leverage is {perp.leverage}x")
    if state.margin_mode is None:
        problems.append(f"the venue does not confirm the margin mode of {symbol}")
    elif state.margin_mode != perp.margin_mode:
        problems.append(
            f"margin mode of {symbol} is {state.margin_mode}, [perp] margin_mode is {perp.margin_mode}"
            " (the venue refuses to change it while a position or open orders exist)"
        )
    if problems:
        if not apply:  # a dry run changes nothing: it says what a real start would set
            lines.append("perp (dry run, would set): " + "; ".join(problems))
        else:
            raise PerpSetupError("perp settings not confirmed: " + "; ".join(problems))
    else:
        lines.append(
            f"perp: one-way position mode, leverage {perp.leverage}x, margin mode {perp.margin_mode} (verified)"
        )
    m = state.margin
    if m is not None:
        lines.append(
            f"position {fmt(m.position)}, liquidation price {fmt(m.liquidation_price) or 'none'}, "
            f"margin ratio {fmt(m.margin_ratio) or 'unknown'} (opening orders pause above {fmt(perp.max_margin_ratio)})"
        )
    return lines, state
