"""What stands between a client and the model: limits checked before and while a request is read.

Both servers (case 1's page and JSON API, case 3's JSON API) run behind :class:`Guard`, an ASGI middleware, on
uvicorn with :class:`GuardedH11` and the options of :func:`uvicorn_options`. Together they make sure that

* **no body is read past its limit**: a ``Content-Length`` over :attr:`Limits.max_body` is refused with 413
  before a byte is read (so ``Expect: 100-continue`` is not invited to upload), and a body without one is
  counted as it arrives;
* **no client can stall the server**: a body must arrive within :attr:`Limits.body_timeout` (else 408), a
  request's headers within :attr:`Limits.header_timeout` of the connection or of the previous answer (else the
  connection is closed), and at most :attr:`Limits.max_connections` connections are served at once (503 beyond);
* **JSON is checked before any parser sees it**: ``application/json`` only (415), valid UTF-8, at most
  :attr:`Limits.max_json_depth` levels of nesting, numbers of sane length, no lone surrogates in strings: each
  refusal names the problem (400, or 422 for a string that is not valid Unicode);
* **nothing is exposed by accident**: only the ``Host`` names of the bound address are answered (DNS rebinding),
  an optional API key (``LLMFT_API_KEY``) guards every route but ``/health``, pages may not be framed (CSP,
  ``X-Frame-Options``), and ``HEAD`` is answered wherever ``GET`` is.

A client that goes away mid-body costs one line in the log, not a traceback.
"""

from __future__ import annotations

import hmac
import json
import logging
import re
from dataclasses import dataclass

import anyio

LOG = logging.getLogger("llmft.serve")
LOOPBACK = {"127.0.0.1", "localhost", "::1"}
SECURITY_HEADERS = [
    (b"x-frame-options", b"DENY"),
    (b"content-security-policy", b"default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; "
                                 b"frame-ancestors 'none'; base-uri 'none'"),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
]


@dataclass(frozen=True)
class Limits:
    """How much a request may ask of the server; the defaults fit both servers' largest valid request."""

    max_body: int = 256 * 1024  # bytes of one request body
    body_timeout: float = 10.0  # seconds to receive a whole body
    header_timeout: float = 10.0  # seconds for a request's headers, from the connection or the previous answer
    keep_alive: float = 5.0  # seconds an idle keep-alive connection stays open
    max_connections: int = 64  # connections served at once; more get 503
    max_json_depth: int = 32  # levels of [ and { in a JSON body


class BadRequest(Exception):
    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status, self.message = status, message


# -- JSON before the parser -----------------------------------------------------------------------------------------
_STRINGS = re.compile(r'"(?:[^"\\]|\\.)*"', re.S)
_NOT_BRACKETS = re.compile(r"[^\[\]{}]")


def json_depth(text: str) -> int:
    """Deepest nesting of ``[`` and ``{`` outside strings (brackets inside strings do not count)."""
    depth = deepest = 0
    for ch in _NOT_BRACKETS.sub("", _STRINGS.sub("", text)):
        depth += 1 if ch in "[{" else -1
        deepest = max(deepest, depth)
    return deepest


def _lone_surrogate(value, where: str = "body") -> tuple[str, int] | None:
    """``(field, index)`` of the first string holding a lone surrogate (not valid Unicode), else None."""
    if isinstance(value, str):
        for i, ch in enumerate(value):
            if "\ud800" <= ch <= "\udfff":
                return where, i
    elif isinstance(value, dict):
        for k, v in value.items():
            found = _lone_surrogate(k, where) or _lone_surrogate(v, k if where == "body" else f"{where}.{k}")
            if found:
                return found
    elif isinstance(value, list):
        for i, v in enumerate(value):
            found = _lone_surrogate(v, f"{where}[{i}]")
            if found:
                return found
    return None


def check_json(body: bytes, max_depth: int = Limits.max_json_depth, example: str = ""):
    """The parsed body, or :class:`BadRequest` naming what is wrong with it (before any other parser runs);
    ``example``: a valid body, shown with a syntax error."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as e:
        raise BadRequest(400, f"The request body is not valid UTF-8 (byte {e.start}). Send JSON encoded as UTF-8.") from None
    depth = json_depth(text)
    if depth > max_depth:
        raise BadRequest(400, f"The JSON nests {depth} levels deep; at most {max_depth} are accepted.")
    try:
        payload = json.loads(text)
    except RecursionError:  # not reached after the depth check; kept so that no input can make a 500
        raise BadRequest(400, f"The JSON nests too deeply; at most {max_depth} levels are accepted.") from None
    except json.JSONDecodeError as e:
        send = f" Send an object such as {example}." if example else ""
        raise BadRequest(400, f"The request body is not valid JSON ({e.msg} at character {e.pos}).{send}") from None
    except ValueError as e:  # int() refuses numbers of more than 4,300 digits
        raise BadRequest(400, f"A number in the body is too long ({e}).") from None
    found = _lone_surrogate(payload)
    if found:
        raise BadRequest(422, f"{found[0]}: not valid Unicode (a lone surrogate at character {found[1]}); send "
                              f"text as UTF-8.")
    return payload


# -- the middleware -------------------------------------------------------------------------------------------------
def _header(scope, name: bytes) -> str | None:
    for k, v in scope["headers"]:
        if k == name:
            return v.decode("latin-1")
    return None


def allowed_hosts(host: str, extra: tuple[str, ...] = ()) -> set[str] | None:
    """The ``Host`` names a server bound to ``host`` answers: loopback names for a loopback address, the address
    itself otherwise, plus ``extra``; None (any) for a wildcard bind without ``extra``."""
    if host in ("0.0.0.0", "::", ""):
        return set(extra) or None
    return ({host} | (LOOPBACK if host in LOOPBACK else set())) | set(extra)


def _host_name(value: str) -> str:
    value = value.strip().lower()
    if value.startswith("["):  # [::1]:8000
        return value[1:].split("]", 1)[0]
    return value.rsplit(":", 1)[0] if value.count(":") == 1 else value


class Guard:
    """ASGI middleware: the checks of this module's docstring around ``app``.

    ``json_paths``: routes whose body must be JSON (checked by :func:`check_json`), each with an example of a
    valid body for the error messages; ``form_paths``:
    routes that take an HTML form. ``hosts``: the accepted ``Host`` names (None: any). ``api_key``: required in
    ``X-API-Key`` (or ``Authorization: Bearer``) on every route but ``/health`` when set.
    """

    def __init__(self, app, *, limits: Limits = Limits(), json_paths: dict[str, str] | None = None, form_paths=(),
                 hosts: set[str] | None = None, api_key: str | None = None):
        self.app, self.limits = app, limits
        self.json_paths, self.form_paths = dict(json_paths or {}), set(form_paths)
        self.hosts, self.api_key = hosts, api_key

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        head = scope["method"] == "HEAD"
        send = _secured(send, drop_body=head)
        if head:  # answered as GET, without the body
            scope = {**scope, "method": "GET"}
        has_body = scope["method"] in ("POST", "PUT", "PATCH")
        body = None
        try:
            self._check_headers(scope)
            if has_body:
                body = await self._read_body(scope, receive)
                if body is None:  # the client went away
                    return
                if scope["path"] in self.json_paths:
                    check_json(body, self.limits.max_json_depth, self.json_paths[scope["path"]])
                receive = _replay(body, receive)
        except BadRequest as e:
            # A body left unread (too large, too slow, or refused before reading) ends the connection.
            return await _answer(send, e.status, e.message, close=has_body and body is None)
        await self.app(scope, receive, send)

    def _check_headers(self, scope) -> None:
        host = _header(scope, b"host")
        if self.hosts is not None and (host is None or _host_name(host) not in self.hosts):
            raise BadRequest(400, f"This server does not answer to the Host {host!r}: use one of "
                                  f"{', '.join(sorted(self.hosts))} (or start it with --allow-host NAME).")
        if self.api_key and scope["path"] != "/health":
            given = _header(scope, b"x-api-key") or (_header(scope, b"authorization") or "").removeprefix("Bearer ")
            if not hmac.compare_digest(given.encode(), self.api_key.encode()):
                raise BadRequest(401, "This server needs an API key: send it in the X-API-Key header.")
        if scope["method"] not in ("POST", "PUT", "PATCH"):
            return
        kind = (_header(scope, b"content-type") or "").split(";")[0].strip().lower()
        if scope["path"] in self.json_paths and kind != "application/json":
            raise BadRequest(415, f"Send the body as JSON with the header Content-Type: application/json "
                                  f"(got {kind or 'none'!r}).")
        if scope["path"] in self.form_paths and kind != "application/x-www-form-urlencoded":
            raise BadRequest(415, f"Send the form as application/x-www-form-urlencoded (got {kind or 'none'!r}).")
        length = _header(scope, b"content-length")
        if length is not None:
            if not length.strip().isdigit():
                raise BadRequest(400, f"Content-Length {length!r} is not a number of bytes.")
            if int(length) > self.limits.max_body:
                raise BadRequest(413, f"The body has {int(length):,} bytes; the limit is {self.limits.max_body:,}.")

    async def _read_body(self, scope, receive) -> bytes | None:
        """The whole body, within the size and time limits; None if the client disconnected."""
        chunks, size = [], 0
        try:
            with anyio.fail_after(self.limits.body_timeout):
                while True:
                    message = await receive()
                    if message["type"] == "http.disconnect":
                        LOG.warning("%s %s: the client went away before sending the whole body", scope["method"],
                                    scope["path"])
                        return None
                    chunk = message.get("body", b"")
                    size += len(chunk)
                    if size > self.limits.max_body:
                        raise BadRequest(413, f"The body is over the limit of {self.limits.max_body:,} bytes.")
                    chunks.append(chunk)
                    if not message.get("more_body", False):
                        return b"".join(chunks)
        except TimeoutError:
            raise BadRequest(408, f"The body did not arrive within {self.limits.body_timeout:g} s.") from None


def _replay(body: bytes, receive):
    sent = False

    async def replay():
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replay


def _secured(send, drop_body: bool):
    async def secured(message):
        if message["type"] == "http.response.start":
            names = {k.lower() for k, _ in message.get("headers", [])}
            extra = [(k, v) for k, v in SECURITY_HEADERS if k not in names]
            message = {**message, "headers": [*message.get("headers", []), *extra]}
        elif message["type"] == "http.response.body" and drop_body:
            message = {**message, "body": b""}
        await send(message)

    return secured


async def _answer(send, status: int, message: str, close: bool = False) -> None:
    body = json.dumps({"detail": message}).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status,
                "headers": headers + ([(b"connection", b"close")] if close else [])})
    await send({"type": "http.response.body", "body": body})


# -- the server -----------------------------------------------------------------------------------------------------
def _h11_protocol():
    from uvicorn.protocols.http.h11_impl import H11Protocol

    class GuardedH11(H11Protocol):
        """uvicorn's h11 protocol, plus a deadline for a request's headers: uvicorn's own keep-alive timer stops at
        the first byte, so a client that sends half a header line (or nothing at all) would hold the connection."""

        header_timeout = Limits.header_timeout

        def connection_made(self, transport):
            super().connection_made(transport)
            self._arm()

        def _arm(self):
            self._disarm()
            self._waiting_after = self.cycle  # the request before the one we wait for (None: the first)
            self._header_timer = self.loop.call_later(self.header_timeout, self._expire)

        def _disarm(self):
            timer = getattr(self, "_header_timer", None)
            if timer is not None:
                timer.cancel()
                self._header_timer = None

        def _expire(self):
            self._header_timer = None
            if self.cycle is self._waiting_after and not self.transport.is_closing():
                self.transport.close()

        def data_received(self, data):
            super().data_received(data)
            if self.cycle is not getattr(self, "_waiting_after", None):
                self._disarm()  # a new request's headers arrived

        def on_response_complete(self):
            super().on_response_complete()
            if not self.transport.is_closing():
                self._arm()

        def connection_lost(self, exc):
            self._disarm()
            super().connection_lost(exc)

    return GuardedH11


def uvicorn_options(host: str, port: int, limits: Limits = Limits()) -> dict:
    """The options both servers run uvicorn with (``uvicorn.run(app, **options)`` or ``uvicorn.Config``)."""
    protocol = _h11_protocol()
    protocol.header_timeout = limits.header_timeout
    return dict(host=host, port=port, workers=1, log_level="warning", http=protocol,
                timeout_keep_alive=limits.keep_alive, limit_concurrency=limits.max_connections,
                h11_max_incomplete_event_size=16 * 1024)


def exposure_warning(host: str, api_key: bool) -> str | None:
    """What to say when a server binds more than this machine; None on loopback."""
    if host in LOOPBACK:
        return None
    key = ("An API key is required (LLMFT_API_KEY)." if api_key else
           "It has no authentication: set LLMFT_API_KEY to require a key, or put it behind a reverse proxy that "
           "authenticates (see book/running.md).")
    return f"WARNING: binding {host} makes this server reachable from other machines on your networks. {key}"
