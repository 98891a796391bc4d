"""Issue 8 item 6: names that say what they are.

A slot's status is an enum (whose values are the strings reports always carried), the later
of two order statuses is ``later_status`` (``OrderStatus.join`` shadowed ``str.join``), a
slot's checkpoint is called one, ids are typed and structured values have named fields.
"""

from __future__ import annotations

import dataclasses
import importlib
import json
import typing
from decimal import Decimal as D

import pytest
from ledger_helpers import FILLED, NEW, cid, ledger, snap, trade

from gridledger.domain.ids import ClientOrderId, ExchangeOrderId, TradeId
from gridledger.domain.types import OrderStatus, SlotStatus, later_status
from gridledger.ledger.changes import SlotRow
from gridledger.ledger.outcomes import Outcome
from gridledger.ledger.records import OrderRecord, SnapshotDigest, TradeKey
from gridledger.ledger.report import ledger_state
from gridledger.ledger.slots import Slot


def test_slot_status_is_an_enum_with_the_old_strings() -> None:
    led = ledger()
    b0 = cid(-1)
    assert led.slots == {}
    led.apply(snap(b0, "7", NEW, "0"))
    slot = led.slots[-1]
    assert slot.status is SlotStatus.PENDING and slot.status == "PENDING"
    led.apply(snap(b0, "7", FILLED, "1"))
    assert slot.status is SlotStatus.FREE
    report = json.loads(json.dumps(ledger_state(led)))
    assert report["slots"][0]["status"] == "FREE"
    assert [s.value for s in SlotStatus] == ["FREE", "PENDING", "LOCKED"]


def test_later_status_replaces_a_join_that_shadowed_str_join() -> None:
    assert OrderStatus.join is str.join  # the str method is no longer shadowed
    assert later_status(OrderStatus.CANCELED, OrderStatus.FILLED) is OrderStatus.FILLED
    assert later_status(OrderStatus.FILLED, OrderStatus.CANCELED) is OrderStatus.FILLED
    assert later_status(OrderStatus.NEW, None) is OrderStatus.NEW


def test_the_slot_checkpoint_is_called_checkpoint() -> None:
    assert {"checkpoint", "checkpoint_gen"} <= {f.name for f in dataclasses.fields(Slot)}
    assert [f.name for f in dataclasses.fields(SlotRow)] == ["level", "checkpoint", "checkpoint_gen", "next_gen"]
    led = ledger()
    led.apply(snap(cid(-1), "7", FILLED, "1"))
    changes = led.take_changes()
    assert changes.slots[0].checkpoint.qty == D(1) and changes.slots[0].checkpoint_gen == 1


def test_one_grid_module_and_one_level_price() -> None:
    with pytest.raises(ModuleNotFoundError):
        importlib.import_module("gridledger.strategy.grid")
    strategy = importlib.import_module("gridledger.strategy")
    assert not hasattr(strategy, "level_price") and hasattr(strategy, "order_price")


def test_ids_are_typed_in_records_and_outcomes() -> None:
    hints = typing.get_type_hints(OrderRecord)
    assert hints["client_id"] is ClientOrderId and hints["order_id"] == ExchangeOrderId | None
    outcome = typing.get_type_hints(Outcome)
    assert outcome["client_id"] == ClientOrderId | None and outcome["trade_id"] == TradeId | None


def test_structured_values_have_named_fields() -> None:
    led = ledger()
    b0 = cid(-1)
    led.apply(trade(b0, "7", "t1", "0.4", price="90"))
    led.apply(snap(b0, "7", FILLED, "1", event="e1"))
    rec = led.order(b0)
    assert rec is not None
    (key,) = rec.trades
    assert isinstance(key, TradeKey) and (key.trade_id, key.amount, key.price) == ("t1", D("0.4"), D("90"))
    (digest,) = rec.seen
    assert isinstance(digest, SnapshotDigest) and digest.status is FILLED and digest.event_id == "e1"
    effective = rec.effective()
    assert (effective.filled, effective.cost, effective.fees) == (D(1), D(90), ())
