"""The OpenAPI document served at /api/v1/openapi.json (kept beside the routes it describes;
tests/api checks that every route is listed)."""

from __future__ import annotations

from typing import Any

from gridledger.store.exits import PHASES
from gridledger.strategy.risk import EXIT_KINDS

API_VERSION = "1.0.0"

_DEC = {"type": "string", "description": "a decimal, exact, as a string"}


def _json(description: str, schema: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema or {"type": "object"}}}}


_ERR = _json("error", {"type": "object", "properties": {"error": {"type": "string"}}})
_AUTH: list[dict[str, list[str]]] = [{"bearer": []}]
# The status's ``risk_exit`` (``ExitRecord.as_dict``, store/exits.py): the [risk] limit the grid
# hit, journaled so a restart neither forgets nor repeats it; null while no exit is in effect.
_RISK_EXIT: dict[str, Any] = {
    "type": "object",
    "nullable": True,
    "description": "the risk exit in effect (opening orders stop until `gridledger journal clear-exit`), or null",
    "properties": {
        "kind": {"type": "string", "enum": sorted(EXIT_KINDS)},
        "detail": {"type": "string", "description": "why, in one line"},
        "price": {**_DEC, "description": "the price that triggered it (a decimal string)"},
        "ts_ms": {"type": "integer", "description": "when it triggered (epoch ms)"},
        "position": {**_DEC, "description": "the net position at the trigger (a decimal string)"},
        "phase": {
            "type": "string",
            "enum": list(PHASES),
            "description": "cancelling the grid's orders, closing its inventory, or done",
        },
    },
    "required": ["kind", "detail", "price", "ts_ms", "position", "phase"],
}


def _read(
    summary: str, schema: dict[str, Any] | None = None, params: list[dict[str, Any]] | None = None
) -> dict[str, Any]:
    op: dict[str, Any] = {
        "summary": summary,
        "responses": {"200": _json(summary, schema), "401": _ERR, "503": _ERR},
        "description": "No token needed on a loopback bind; any other bind needs the bearer token.",
    }
    if params:
        op["parameters"] = params
    return {"get": op}


def _control(summary: str) -> dict[str, Any]:
    return {
        "post": {
            "summary": summary,
            "security": _AUTH,
            "description": "Always needs `Authorization: Bearer <token>`, loopback or not.",
            "responses": {"200": _json("done, with the status after it"), "202": _json("accepted"), "401": _ERR},
        }
    }


def _q(name: str, description: str) -> dict[str, Any]:
    return {"name": name, "in": "query", "required": False, "schema": {"type": "integer"}, "description": description}


def document() -> dict[str, Any]:
    return {
        "openapi": "3.0.3",
        "info": {
            "title": "gridledger engine API",
            "version": API_VERSION,
            "description": "Read the running grid and steer it. Decimals are strings. Times are epoch milliseconds.",
        },
        "components": {"securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}}},
        "paths": {
            "/": {"get": {"summary": "the dashboard (HTML)", "responses": {"200": {"description": "HTML"}}}},
            "/static/{name}": {
                "get": {
                    "summary": "the dashboard's files",
                    "parameters": [{"name": "name", "in": "path", "required": True, "schema": {"type": "string"}}],
                    "responses": {"200": {"description": "a file"}, "404": _ERR},
                }
            },
            "/api/v1/openapi.json": _read("this document"),
            "/api/v1/status": _read(
                "venue, symbol, price, position, PnL, pause, drift, last reconciliation, streams, uptime",
                {
                    "type": "object",
                    "properties": {
                        "price": _DEC,
                        "position": _DEC,
                        # Short and neutral grids only (issue 11): the signed net position.
                        "net_position": _DEC,
                        "direction": {"type": "string", "enum": ["short", "neutral"]},
                        "realized_pnl": _DEC,
                        "unrealized_pnl": _DEC,
                        "total_pnl": _DEC,
                        "paused": {"type": "boolean"},
                        "pause_reasons": {"type": "array", "items": {"type": "string"}},
                        "risk_exit": _RISK_EXIT,
                    },
                },
            ),
            "/api/v1/levels": _read(
                "the ladder: levels holding something plus `around` levels each side of the price",
                params=[_q("around", "levels each side of the price (default 10, at most 200)")],
            ),
            "/api/v1/orders": _read("open orders as the ledger knows them"),
            "/api/v1/fills": _read(
                "fills seen by this process (a ring of the newest 1000), oldest first",
                params=[
                    _q("since", "only fills after this time (ms)"),
                    _q("after", "only fills after this sequence number (next_after of the previous page)"),
                    _q("limit", "at most this many (1-1000)"),
                ],
            ),
            "/api/v1/history": _read("price and PnL samples over time (a ring of the newest 2000)"),
            "/api/v1/counters": _read("evidence outcome counters and fault counters"),
            "/api/v1/events": {
                "get": {
                    "summary": "Server-Sent Events: fill, outcome, pause, resume, drift, reconnect, reconcile, stop, status",
                    "responses": {"200": {"description": "text/event-stream"}, "401": _ERR},
                }
            },
            "/api/v1/control/pause": _control("pause opening orders (closing sells go on)"),
            "/api/v1/control/resume": _control("resume opening orders (other pause reasons still hold)"),
            "/api/v1/control/reconcile": _control("reconcile with the exchange as soon as the schedule allows"),
            "/api/v1/control/stop": _control("stop the engine cleanly (as Ctrl-C)"),
        },
    }
