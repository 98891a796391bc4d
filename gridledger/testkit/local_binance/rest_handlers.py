"""The REST plumbing both local Binance servers share: a request's parameters, the JSON answer
and the Binance error body, and the PUBLIC and SIGNED handler wrappers (signature, API key
and timestamp window checked by :func:`~gridledger.testkit.local_binance.auth.verify_rest`)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, Protocol
from urllib.parse import parse_qsl

from aiohttp import web

from gridledger.exchange.sim.errors import SimOrderError
from gridledger.testkit.local_binance.auth import verify_rest
from gridledger.testkit.local_binance.errors import ApiError
from gridledger.testkit.local_binance.params import Params
from gridledger.testkit.local_binance.peer import dumps

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
Json = Any
# A request's injected HTTP fault: the gateway-error answer, or None to serve it.
FaultCheck = Callable[[web.Request], web.Response | None]


class SigningVenue(Protocol):
    """What a SIGNED handler needs from a venue: its credentials and its clock."""

    @property
    def creds(self) -> Any: ...

    def now_ms(self) -> int: ...


def respond(body: Json, status: int = 200) -> web.Response:
    return web.Response(text=dumps(body), status=status, content_type="application/json")


def error(exc: ApiError) -> web.Response:
    return respond(exc.body(), exc.status)


def gateway_error(status: int) -> web.Response:
    """An injected HTTP status fault: a plain-text body, as a load balancer answers."""
    return web.Response(text="gateway error", status=status, content_type="text/plain")


async def query_and_body(request: web.Request) -> tuple[str, str, Params]:
    """The raw query, the raw body and the parameters of both (query first)."""
    raw_query = request.rel_url.raw_query_string
    raw_body = await request.text() if request.can_read_body else ""
    params = Params(parse_qsl(raw_query, keep_blank_values=True) + parse_qsl(raw_body, keep_blank_values=True))
    return raw_query, raw_body, params


def order_ref(params: Params) -> int | str:
    """The order a query or cancel names: ``orderId`` first, else ``origClientOrderId``."""
    order_id = params.integer("orderId")
    if order_id is not None:
        return order_id
    client_id = params.get("origClientOrderId")
    if client_id is None:
        raise ApiError(-1102, "Param 'origClientOrderId' or 'orderId' must be sent, but both were empty/null!")
    return client_id


def public_handler(fn: Callable[[Params], Json]) -> Handler:
    """A PUBLIC endpoint: query parameters only, no security."""

    async def handler(request: web.Request) -> web.StreamResponse:
        params = Params(parse_qsl(request.rel_url.raw_query_string, keep_blank_values=True))
        try:
            return respond(fn(params))
        except ApiError as exc:
            return error(exc)
        except SimOrderError as exc:
            return error(ApiError.from_sim(exc))

    return handler


def signed_handler(fn: Callable[[Params], Json | Awaitable[Json]], venue: SigningVenue, fault: FaultCheck) -> Handler:
    """A SIGNED endpoint: the injected fault first, then the signature check, then ``fn``."""

    async def handler(request: web.Request) -> web.StreamResponse:
        faulted = fault(request)
        if faulted is not None:
            return faulted
        raw_query, raw_body, params = await query_and_body(request)
        try:
            verify_rest(request.headers.get("X-MBX-APIKEY"), raw_query, raw_body, params, venue.creds, venue.now_ms())
            result = fn(params)
            if isinstance(result, Awaitable):
                result = await result
            return respond(result)
        except ApiError as exc:
            return error(exc)
        except SimOrderError as exc:
            return error(ApiError.from_sim(exc))

    return handler


__all__ = [
    "FaultCheck",
    "Handler",
    "Json",
    "SigningVenue",
    "error",
    "gateway_error",
    "order_ref",
    "public_handler",
    "query_and_body",
    "respond",
    "signed_handler",
]
