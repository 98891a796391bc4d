"""An isolated position liquidated past its bankruptcy price loses its isolated margin, no more.

The soak case (`paper --market perp --direction short`, /tmp/soak/stress.toml, seed 3): a
short of 1.20566 opened at 21854.39 with 2634.90 isolated margin; one print jumped the mark
from 23135.84 to 24618.93, past the liquidation price (23944.1), so the margin balance was
-698.20 when the check ran. The loss beyond the isolated margin is the insurance fund's;
the cross wallet (what the wallet held beyond the isolated margin) must survive. Before the
fix the insurance fund only topped the whole wallet up to zero, taking the cross wallet too.
"""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction

from hypothesis import given, settings
from hypothesis import strategies as st

from gridledger.exchange.sim.perp_core import PerpCore
from gridledger.exchange.sim.perp_values import PerpMarketSpec
from gridledger.exchange.sim.prices import Tick

D = Decimal


def _short(margin_mode: str, wallet: str = "1000") -> PerpCore:
    """A short of 0.2 at 30000 (6000 notional, 600 isolated margin at 10x) on ``wallet``."""
    c = PerpCore(
        PerpMarketSpec(participation=D(1), leverage=10, margin_mode=margin_mode),  # type: ignore[arg-type]
        {"USDT": D(wallet)},
        0,
    )
    c.on_tick(Tick(1000, D("30000"), D("10")))
    c.place("s", "sell", "limit", D("0.2"), D("30000"), False, 1000)
    c.on_tick(Tick(2000, D("30000"), D("10")))
    assert c.position_amt == D("-0.2")
    return c


def test_an_isolated_short_gapped_past_bankruptcy_keeps_its_cross_wallet() -> None:
    c = _short("isolated")
    assert c.isolated_margin == D("600")
    fee_open = c.fees_paid  # 6000 x 0.1 % = 6
    cross_wallet = c.wallet - Fraction(c.isolated_margin)
    assert cross_wallet == Fraction(D("1000") - D("600") - fee_open)  # 394
    liquidation = c.liquidation_price()
    assert D("32800") < liquidation < D("32900")  # (6000 + 600) / (0.2 x 1.004) = 32868.5
    # One print jumps 10 % (the soak's jump), far past the bankruptcy price (33000).
    c.on_tick(Tick(3000, D("33500"), D("10")))
    [liq] = c.liquidations
    # Margin balance at the check: 600 + 0.2 x (30000 - 33500) = -100.
    assert liq.margin_balance == D("-100")
    assert c.position_amt == 0 and c.isolated_margin == 0
    # The loss is capped at the isolated margin: the wallet keeps the cross wallet, exactly.
    assert c.wallet == cross_wallet == Fraction(D("394"))
    # What the insurance fund paid: the loss (700 + the close's 6.7 taker fee) minus the 600.
    assert liq.insurance == D("106.7")


def test_an_isolated_liquidation_above_bankruptcy_leaves_the_rest_of_the_margin() -> None:
    c = _short("isolated")
    liquidation = c.liquidation_price()
    c.on_tick(Tick(3000, liquidation + 1, D("10")))
    [liq] = c.liquidations
    assert liq.insurance == 0
    # Above the cross wallet: the isolated margin's remainder after the loss and the fee.
    assert c.wallet > 394


def test_a_cross_liquidation_past_bankruptcy_takes_the_whole_wallet_down_to_zero() -> None:
    c = _short("cross", wallet="700")
    c.on_tick(Tick(3000, D("36000"), D("10")))  # 0.2 x 6000 = 1200 loss on a 694 wallet
    [liq] = c.liquidations
    assert c.wallet == 0 and c.cash == 0
    assert liq.insurance == D("1200") + D("7.2") - D("694")


@settings(max_examples=40, deadline=None)
@given(
    st.integers(min_value=1, max_value=30).map(lambda n: D(n) / 100),
    st.integers(min_value=3001, max_value=4500).map(lambda n: D(n) * 10),
    st.integers(min_value=0, max_value=5000).map(D),
)
def test_an_isolated_liquidation_never_takes_the_cross_wallet(qty: Decimal, jump_to: Decimal, spare: Decimal) -> None:
    """Whatever the size and the jump: after an isolated liquidation the wallet is at least
    what it held beyond the isolated margin, and the books stay exact (R-style ground truth:
    cash = start + flows - fees + insurance)."""
    start = qty * D("3000") + D("10") + spare  # enough for the 10x margin and the fee
    c = PerpCore(PerpMarketSpec(participation=D(1), leverage=10, margin_mode="isolated"), {"USDT": start}, 0)
    c.on_tick(Tick(1000, D("30000"), D("10")))
    c.place("s", "sell", "limit", qty, D("30000"), False, 1000)
    c.on_tick(Tick(2000, D("30000"), D("10")))
    cross_wallet = c.wallet - Fraction(c.isolated_margin)
    c.on_tick(Tick(3000, jump_to, D("10")))
    if not c.liquidations:
        return
    assert c.wallet >= cross_wallet
    flows = sum((t.quote_qty if t.side.value == "sell" else -t.quote_qty for t in c.trades), D(0))
    assert c.cash == start + flows - c.fees_paid + c.liquidations[0].insurance
