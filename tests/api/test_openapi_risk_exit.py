"""The OpenAPI document describes the status's ``risk_exit`` exactly as the status builds it
(``ExitRecord.as_dict``, store/exits.py): every field, the kinds and the phases."""

from __future__ import annotations

from decimal import Decimal

from gridledger.api.openapi import document
from gridledger.store.exits import PHASES, ExitRecord
from gridledger.strategy.risk import EXIT_KINDS


def _status_schema() -> dict:
    return document()["paths"]["/api/v1/status"]["get"]["responses"]["200"]["content"]["application/json"]["schema"]


def test_status_schema_lists_risk_exit_with_the_fields_the_status_sends():
    schema = _status_schema()["properties"]["risk_exit"]
    assert schema["type"] == "object" and schema["nullable"] is True  # null while no exit is in effect
    sent = ExitRecord(
        "stop_loss", "price 29550 at or below stop_loss_price 29600", Decimal("29550"), 1, Decimal("0.01")
    )
    assert set(schema["properties"]) == set(sent.as_dict())
    assert set(schema["required"]) == set(sent.as_dict())
    assert set(schema["properties"]["kind"]["enum"]) == set(EXIT_KINDS)
    assert schema["properties"]["phase"]["enum"] == list(PHASES)
    # Decimals are strings in the status, as everywhere in the API.
    assert schema["properties"]["price"]["type"] == "string" and isinstance(sent.as_dict()["price"], str)
    assert schema["properties"]["position"]["type"] == "string"
    assert schema["properties"]["ts_ms"]["type"] == "integer"
