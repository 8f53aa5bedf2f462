"""Both servers as a hostile client meets them: live on 127.0.0.1, with the options ``llmft serve`` uses.

Every class of bad input the fuzzing of issue 23 tried is sent in a bounded loop, over one keep-alive connection
where the server keeps it: no answer is a 5xx, each refusal names its problem, and ``/health`` answers after.
Stalled clients (a body that stops, half a header, a socket that never speaks) are dropped within the configured
timeouts; a client that leaves mid-body costs one log line.
"""

from __future__ import annotations

import http.client
import json
import logging
import socket
import time
from contextlib import contextmanager

import pytest
from test_api import ABOUT, EchoEngine
from test_serve import echo, live

from llmft.serve.api import create_api
from llmft.serve.app import create_app
from llmft.serve.guard import Limits, allowed_hosts, check_json, json_depth

LOOPS = 5  # each request this many times: a server that breaks once a connection is reused fails too
LIMITS = Limits(body_timeout=1.0, header_timeout=1.0)  # short, so the stall tests are quick
HOSTS = allowed_hosts("127.0.0.1")
DEEP = "[" * 2000 + "]" * 2000


@contextmanager
def servers():
    """Case 1's app and case 3's API, each live behind its guard (loopback Host names only)."""
    summarizer = create_app(echo, model="echo", adapter="/home/someone/secret/adapter-lora", max_chars=500,
                            hosts=HOSTS, limits=Limits(max_body=64 * 1024, body_timeout=1.0, header_timeout=1.0))
    api = create_api(lambda: EchoEngine(), about=dict(ABOUT), hosts=HOSTS, limits=LIMITS)
    with live(summarizer, LIMITS) as one, live(api, LIMITS) as three:
        yield one, three


@pytest.fixture(scope="module")
def bases():
    with servers() as pair:
        yield pair


class Client:
    """One keep-alive connection (reopened when the server closes it), raw bodies and headers."""

    def __init__(self, base: str):
        self.host, self.port = base.removeprefix("http://").split(":")
        self.conn = None
        self.closed_by_server = 0

    def send(self, method, path, body=b"", headers=None):
        headers = {"Content-Type": "application/json", **(headers or {})}
        for attempt in range(2):
            if self.conn is None:
                self.conn = http.client.HTTPConnection(self.host, int(self.port), timeout=30)
            try:
                self.conn.request(method, path, body=body, headers=headers)
                r = self.conn.getresponse()
                data = r.read()
                if r.getheader("connection", "").lower() == "close":
                    self.conn.close()
                    self.conn, self.closed_by_server = None, self.closed_by_server + 1
                return r.status, data, r
            except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
                self.conn = None
                if attempt:
                    raise
        raise AssertionError("unreachable")


def _detail(data: bytes) -> str:
    try:
        return json.loads(data)["detail"]
    except (ValueError, KeyError, TypeError):
        return data.decode(errors="replace")


# (server 0: case 1, 1: case 3), method, path, body, headers, expected status, words of the message
J = {"Content-Type": "application/json"}
CASES = [
    # the three 500s of the issue
    (1, "POST", "/generate", json.dumps({"instruction": "Name a colour.", "max_new_tokens": 8, "temperature": 1e-300}),
     J, 422, "temperature"),
    *[(1, "POST", "/generate", f'{{"instruction": "Name a colour.", "temperature": {t}}}', J, 422, "temperature")
      for t in ("5e-324", "1e-45", "1e-38")],
    (0, "POST", "/summarize", DEEP, J, 400, "nests 2000 levels"),
    (1, "POST", "/generate", DEEP, J, 400, "nests 2000 levels"),
    (0, "POST", "/summarize", '{"text": "\\ud800"}', J, 422, "text: not valid Unicode"),
    (0, "POST", "/summarize", '{"text": "A storm hit the \\udfff coast."}', J, 422, "text: not valid Unicode"),
    (1, "POST", "/generate", '{"instruction": "Say \\ud800 hi"}', J, 422, "instruction: not valid Unicode"),
    # parser edges: invalid UTF-8, a 5,000-digit integer, deep nesting inside a field, NaN and infinities
    (0, "POST", "/summarize", b'{"text": "\xff\xfe"}', J, 400, "UTF-8"),
    (1, "POST", "/generate", b'{"instruction": "\xc3\x28"}', J, 400, "UTF-8"),
    (1, "POST", "/generate", '{"instruction": "hi", "max_new_tokens": 1' + "0" * 5000 + "}", J, 400, "too long"),
    (1, "POST", "/generate", '{"instruction": ' + "[" * 40 + "]" * 40 + "}", J, 400, "nests 41 levels"),
    (1, "POST", "/generate", '{"instruction": "hi", "temperature": NaN}', J, 422, "temperature"),
    (1, "POST", "/generate", '{"instruction": "hi", "temperature": 1e999}', J, 422, "temperature"),
    # wrong types, huge and out-of-range numbers, unknown fields, empty and whitespace text
    (1, "POST", "/generate", '{"instruction": 5}', J, 422, "instruction"),
    (1, "POST", "/generate", '{"instruction": "hi", "max_new_tokens": 99999999999999999999}', J, 422, "max_new_tokens"),
    (1, "POST", "/generate", '{"instruction": "hi", "max_new_tokens": -1}', J, 422, "max_new_tokens"),
    (1, "POST", "/generate", '{"instruction": "hi", "stream": true}', J, 422, "unknown field"),
    (1, "POST", "/generate", '{"instruction": "   "}', J, 422, "empty"),
    (0, "POST", "/summarize", '{"text": "   "}', J, 422, "empty"),
    (0, "POST", "/summarize", '{"text": ["a"]}', J, 422, "string field"),
    (0, "POST", "/summarize", "null", J, 422, "string field"),
    (0, "POST", "/summarize", "", J, 400, "not valid JSON"),
    (1, "POST", "/generate", "", J, 400, "not valid JSON"),
    # wrong content types: JSON as text/plain (a cross-site form could send it without a preflight)
    (0, "POST", "/summarize", '{"text": "hello"}', {"Content-Type": "text/plain"}, 415, "application/json"),
    (1, "POST", "/generate", '{"instruction": "hi"}', {"Content-Type": "text/plain"}, 415, "application/json"),
    (0, "POST", "/", '{"text": "hello"}', J, 415, "x-www-form-urlencoded"),
    (0, "POST", "/", "&" * 20_000, {"Content-Type": "application/x-www-form-urlencoded"}, 400, "too many fields"),
    # method confusion and path traversal
    (0, "GET", "/summarize", b"", {}, 405, ""),
    (1, "GET", "/generate", b"", {}, 405, ""),
    (0, "PUT", "/summarize", '{"text": "x"}', J, 405, ""),
    (1, "DELETE", "/generate", b"", {}, 405, ""),
    (0, "GET", "/../../etc/passwd", b"", {}, 404, ""),
    (1, "GET", "/%2e%2e/%2e%2e/etc/passwd", b"", {}, 404, ""),
    (0, "GET", "/templates/../app.py", b"", {}, 404, ""),
    # API docs are off unless asked for (their script comes from a CDN)
    (0, "GET", "/docs", b"", {}, 404, ""),
    (1, "GET", "/openapi.json", b"", {}, 404, ""),
    # a Host header that is not this server's (DNS rebinding)
    (0, "GET", "/health", b"", {"Host": "evil.example"}, 400, "does not answer to the Host"),
    (1, "POST", "/generate", '{"instruction": "hi"}', {**J, "Host": "evil.example:8000"}, 400, "Host"),
]


@pytest.mark.parametrize("server, method, path, body, headers, status, words", CASES,
                         ids=[f"{c[0]}-{c[1]}-{c[2]}-{c[5]}-{i}" for i, c in enumerate(CASES)])
def test_bad_input_gets_a_4xx_that_names_the_problem(bases, server, method, path, body, headers, status, words):
    client = Client(bases[server])
    for _ in range(LOOPS):
        got, data, _ = client.send(method, path, body.encode() if isinstance(body, str) else body, headers)
        assert got == status, (got, data[:300])
        assert words in _detail(data), _detail(data)
    assert client.send("GET", "/health")[0] == 200  # and the server is fine


@pytest.mark.parametrize("text", ["<script>alert(1)</script>", "'; DROP TABLE users; --", "{{ 7 * 7 }}",
                                  "../../etc/passwd", "\u202eevil", "%00%0d%0a", "😀" * 100])
def test_injection_strings_are_only_text(bases, text):
    client = Client(bases[0])
    status, data, _ = client.send("POST", "/summarize", json.dumps({"text": text}).encode())
    assert status == 200 and json.loads(data)["summary"] == echo(text).summary
    page = client.send("POST", "/", f"text={__import__('urllib.parse').parse.quote(text)}".encode(),
                       {"Content-Type": "application/x-www-form-urlencoded"})
    assert page[0] == 200 and b"<script>alert" not in page[1] and b"49" not in page[1].split(b"<body>")[0]
    api = Client(bases[1]).send("POST", "/generate", json.dumps({"instruction": text}).encode())
    assert api[0] == 200


def _upload(base: str, head: bytes, chunks=()) -> bytes:
    """Send ``head``, then ``chunks`` while the server has not answered; return its answer (the server may close the
    connection mid-upload: that is the point)."""
    import select

    host, port = base.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=15) as s:
        s.sendall(head)
        got = b""
        for chunk in chunks:
            if select.select([s], [], [], 0)[0]:
                break  # the server answered: stop sending
            try:
                s.sendall(chunk)
            except (BrokenPipeError, ConnectionResetError):
                break
        try:
            while part := s.recv(65536):
                got += part
        except (ConnectionResetError, TimeoutError):
            pass
        return got


def test_bodies_over_the_limit_are_refused_before_they_are_read(bases):
    for base, path in ((bases[0], "/summarize"), (bases[1], "/generate")):
        for size in (1_000_000, 10_000_000):  # the header says it: 413 before a byte of the body is sent
            got = _upload(base, f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                                f"Content-Length: {size}\r\n\r\n".encode())
            assert got.startswith(b"HTTP/1.1 413") and b"limit" in got, got[:200]
        # without Content-Length (chunked): counted as it arrives, refused once over the limit
        chunk = b"10000\r\n" + b"x" * 65536 + b"\r\n"
        got = _upload(base, f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                            f"Transfer-Encoding: chunked\r\n\r\n".encode(), [chunk] * 160)
        assert got.startswith(b"HTTP/1.1 413") and b"over the limit" in got, got[:200]
        assert Client(base).send("GET", "/health")[0] == 200


def _raw(base: str, data: bytes, wait: float = 15.0) -> bytes:
    """Send ``data`` on a new socket and read until the server closes it (or ``wait`` seconds pass)."""
    host, port = base.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=wait) as s:
        s.sendall(data)
        got = b""
        try:
            while chunk := s.recv(65536):
                got += chunk
        except TimeoutError:
            return got + b"<still open>"
        return got


def test_expect_100_continue_with_a_huge_length_is_refused_without_inviting_the_upload(bases):
    for base, path in ((bases[0], "/summarize"), (bases[1], "/generate")):
        for length in (10_000_000, 10**12):
            got = _raw(base, f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                             f"Content-Length: {length}\r\nExpect: 100-continue\r\n\r\n".encode())
            assert got.startswith(b"HTTP/1.1 413") and b"100 Continue" not in got, got[:200]


def test_stalled_clients_are_dropped_within_the_timeouts(bases):
    """A body that stops (408), half a header line, and a socket that never speaks: each is closed within the
    configured 1 s, measured with a generous bound (15 s; without the limits they stay open for ever)."""
    for base, path in ((bases[0], "/summarize"), (bases[1], "/generate")):
        t0 = time.monotonic()
        got = _raw(base, f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                         f"Content-Length: 100\r\n\r\n{{\"text\": ".encode())
        assert got.startswith(b"HTTP/1.1 408") and b"within 1 s" in got, got[:200]
        assert _raw(base, b"POST /summarize HTTP/1.1\r\nHost: 127.0") == b""  # closed, no answer
        assert _raw(base, b"") == b""
        assert time.monotonic() - t0 < 45
        assert Client(base).send("GET", "/health")[0] == 200


def test_a_client_that_leaves_mid_body_costs_one_log_line(bases, caplog):
    host, port = bases[0].removeprefix("http://").split(":")
    with caplog.at_level(logging.WARNING):
        with socket.create_connection((host, int(port)), timeout=10) as s:
            s.sendall(b"POST /summarize HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                      b"Content-Length: 100\r\n\r\n{\"text\": \"half")
            time.sleep(0.3)
        for _ in range(100):  # the server notices within its event loop's next turns
            if any("went away" in r.getMessage() for r in caplog.records):
                break
            time.sleep(0.05)
    lines = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert [r.getMessage() for r in lines] == ["POST /summarize: the client went away before sending the whole body"]
    assert not any(r.exc_info for r in lines)


def test_head_and_security_headers(bases):
    for base, paths in ((bases[0], ("/", "/health")), (bases[1], ("/health",))):
        client = Client(base)
        for path in paths:
            status, data, r = client.send("HEAD", path)
            assert status == 200 and data == b""
            status, data, r = client.send("GET", path)
            assert r.getheader("x-frame-options") == "DENY"
            assert "frame-ancestors 'none'" in r.getheader("content-security-policy")
            assert r.getheader("x-content-type-options") == "nosniff"


def test_health_and_pages_show_no_absolute_path(bases):
    client = Client(bases[0])
    health = json.loads(client.send("GET", "/health")[1])
    assert health["adapter"] == "adapter-lora"  # outside the working folder: its name only
    page = client.send("GET", "/")[1].decode()
    assert "/home/someone" not in page and "adapter-lora" in page


def test_an_api_key_guards_everything_but_health():
    app = create_api(lambda: EchoEngine(), about=dict(ABOUT), hosts=HOSTS, api_key="s3cret")
    with live(app, LIMITS) as base:
        client = Client(base)
        assert client.send("GET", "/health")[0] == 200
        status, data, _ = client.send("POST", "/generate", b'{"instruction": "hi"}')
        assert status == 401 and "s3cret" not in data.decode()
        assert client.send("POST", "/generate", b'{"instruction": "hi"}', {"X-API-Key": "wrong"})[0] == 401
        assert client.send("POST", "/generate", b'{"instruction": "hi"}', {"X-API-Key": "s3cret"})[0] == 200
        assert client.send("POST", "/generate", b'{"instruction": "hi"}', {"Authorization": "Bearer s3cret"})[0] == 200


def test_json_checks_in_isolation():
    assert json_depth('{"a": [1, {"b": "[[[[["}]}') == 3  # brackets inside strings do not count
    assert check_json(b'{"a": [1, 2]}') == {"a": [1, 2]}
    with pytest.raises(Exception, match="nests 33 levels"):
        check_json(("[" * 33 + "]" * 33).encode())


def test_binding_every_interface_warns_and_names_the_remedy(monkeypatch, capsys):
    import uvicorn

    from llmft import cli
    from llmft.serve import model as serve_model

    seen = {}
    monkeypatch.setattr(serve_model, "Summarizer", lambda run, adapter: type("S", (), {"label": "fake", "__call__": echo})())
    monkeypatch.setattr(uvicorn, "run", lambda app, **kw: seen.update(kw, app=app))
    monkeypatch.setenv("LLMFT_API_KEY", "do-not-print-me")
    assert cli.main(["serve", "--case", "dialogsum-flan-t5", "--profile", "smoke", "--host", "0.0.0.0",
                     "--allow-host", "box.lan"]) == 0
    out = capsys.readouterr()
    assert "WARNING: binding 0.0.0.0" in out.err and "do-not-print-me" not in out.err + out.out
    assert seen["app"].hosts == {"box.lan"} and seen["app"].api_key == "do-not-print-me"
    monkeypatch.delenv("LLMFT_API_KEY")
    assert cli.main(["serve", "--case", "dialogsum-flan-t5", "--profile", "smoke", "--host", "0.0.0.0"]) == 0
    assert "no authentication" in capsys.readouterr().err and seen["app"].hosts is None
