"""Start ``llmft serve`` in the background and talk to it over HTTP: what the chapters use to show a request
and its answer, and what the browser test drives."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from contextlib import contextmanager
from pathlib import Path


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """A running ``llmft serve`` at ``url``; :meth:`get` and :meth:`post` return the parsed JSON answer."""

    def __init__(self, url: str, process: subprocess.Popen):
        self.url, self.process = url, process

    def get(self, path: str, timeout: float = 30) -> dict:
        with urllib.request.urlopen(self.url + path, timeout=timeout) as r:
            return json.loads(r.read())

    def request(self, path: str, body, timeout: float = 300) -> tuple[int, dict]:
        """POST ``body`` (JSON) and return ``(status, answer)``, also for an error status."""
        req = urllib.request.Request(self.url + path, data=json.dumps(body).encode(),
                                     headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(req, timeout=timeout) as r:
                return r.status, json.loads(r.read())
        except urllib.error.HTTPError as e:
            return e.code, json.loads(e.read() or b"{}")

    def post(self, path: str, body: dict, timeout: float = 300) -> dict:
        req = urllib.request.Request(self.url + path, data=json.dumps(body).encode(),
                                     headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(req, timeout=timeout) as r:
                return json.loads(r.read())
        except urllib.error.HTTPError as e:
            raise RuntimeError(f"POST {path} answered {e.code}: {e.read().decode(errors='replace')}") from None


@contextmanager
def running_server(case: str, adapter: str | Path | None = None, profile: str | None = None,
                   port: int | None = None, startup_timeout: float = 300):
    """``llmft serve`` for ``case`` (with ``adapter``) on 127.0.0.1, stopped when the block ends.

    Waits until ``GET /health`` answers; if the server exits first, raises with the end of its output.
    """
    port = port or free_port()
    cmd = [sys.executable, "-m", "llmft.cli", "serve", "--case", case, "--port", str(port)]
    if adapter is not None:
        cmd += ["--adapter", str(adapter)]
    if profile is not None:
        cmd += ["--profile", profile]
    log = tempfile.TemporaryFile("w+")  # a file, not a pipe: a pipe nobody reads would block a chatty server
    proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, text=True)
    server = Server(f"http://127.0.0.1:{port}", proc)
    try:
        deadline = time.monotonic() + startup_timeout
        while True:
            if proc.poll() is not None:
                log.seek(0)
                raise RuntimeError(f"llmft serve exited with code {proc.returncode}:\n{log.read()[-2000:]}")
            try:
                server.get("/health", timeout=2)
                break
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                if time.monotonic() > deadline:
                    raise TimeoutError(f"llmft serve did not answer within {startup_timeout:.0f} s") from None
                time.sleep(0.25)
        yield server
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()
