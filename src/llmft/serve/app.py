"""The web application: a page to paste text and get a summary, and the same as JSON.

Routes: ``GET /`` (the form), ``POST /`` (the form's answer page), ``POST /summarize`` (JSON in and out),
``GET /health`` (what is loaded). The model is called under a lock, in a worker thread: one generation at a
time, and the event loop stays free for ``/health``. The app runs behind :class:`llmft.serve.guard.Guard`
(body size and time limits, JSON and content-type checks, Host names, security headers), so the handlers here
only ever see a complete, bounded body. API docs (``/docs``) are off unless asked for.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qs

import anyio
from fastapi import FastAPI, HTTPException, Request
from fastapi.responses import HTMLResponse, JSONResponse
from fastapi.templating import Jinja2Templates

from llmft.runtime import shown_path
from llmft.serve.guard import Guard, Limits

TEMPLATES = Path(__file__).parent / "templates"


@dataclass
class Answer:
    summary: str
    input_tokens: int  # tokens in the text as given
    used_tokens: int  # tokens the model read (the text is cut to the model's input limit)

    @property
    def truncated(self) -> bool:
        return self.used_tokens < self.input_tokens


def _problem(text: str, max_chars: int) -> tuple[int, str] | None:
    """``(status, message)`` for text that cannot be summarised, else None."""
    if not text.strip():
        return 422, "The text is empty: paste the text to summarize."
    if len(text) > max_chars:
        return 413, f"The text has {len(text):,} characters; the limit is {max_chars:,}. Shorten it and try again."
    return None


def create_app(summarize: Callable[[str], Answer], *, model: str, adapter: str | None = None,
               max_chars: int = 20_000, title: str = "Summarize a text", docs: bool = False,
               hosts: set[str] | None = None, api_key: str | None = None, limits: Limits | None = None) -> Guard:
    """An app that serves ``summarize`` (loaded once, by the caller); ``model``/``adapter`` name what it is (the
    adapter by its path relative to the working folder, or its name: never the machine's folders). ``docs``: serve
    ``/docs``, ``/redoc`` and ``/openapi.json`` (Swagger UI loads its script from a CDN: blank offline).
    ``hosts``, ``api_key``, ``limits``: see :class:`~llmft.serve.guard.Guard`; the default body limit fits
    ``max_chars`` characters however they are encoded."""
    off = {} if docs else {"docs_url": None, "redoc_url": None, "openapi_url": None}
    app = FastAPI(title=title, **off)
    templates = Jinja2Templates(directory=str(TEMPLATES))  # autoescapes: HTML in the text stays text
    lock = threading.Lock()
    about = {"model": model, "adapter": shown_path(adapter), "max_chars": max_chars}
    # A form encodes a character in up to 9 bytes (%E2%80%9C), JSON in up to 12 (a surrogate pair of \uXXXX).
    limits = limits or Limits(max_body=max(Limits.max_body, 12 * max_chars + 4096))

    def run(text: str) -> tuple[Answer, float]:
        with lock:
            t0 = time.perf_counter()
            answer = summarize(text)
            return answer, time.perf_counter() - t0

    def page(request: Request, name: str, status: int = 200, **context) -> HTMLResponse:
        return templates.TemplateResponse(request, name, {"title": title, **about, **context}, status_code=status)

    @app.get("/health")
    def health() -> dict:
        return {"status": "ok", **about}

    @app.get("/", response_class=HTMLResponse)
    def form(request: Request):
        return page(request, "index.html")

    @app.post("/", response_class=HTMLResponse)
    async def submit(request: Request):
        body = await request.body()  # complete and bounded (the guard read it)
        try:
            fields = parse_qs(body.decode("utf-8"), keep_blank_values=True, errors="strict", max_num_fields=8)
        except UnicodeDecodeError:
            return page(request, "index.html", 400, error="The text is not valid UTF-8.")
        except ValueError:
            return page(request, "index.html", 400, error="The form has too many fields: send only the text.")
        text = (fields.get("text") or [""])[0]
        problem = _problem(text, max_chars)
        if problem:
            return page(request, "index.html", problem[0], error=problem[1], text=text[:max_chars])
        answer, seconds = await anyio.to_thread.run_sync(run, text)
        return page(request, "result.html", text=text, answer=answer, seconds=seconds, words=len(text.split()))

    @app.post("/summarize")
    async def summarize_json(request: Request):
        payload = json.loads(await request.body())  # the guard checked it: UTF-8, JSON, depth, Unicode
        if not isinstance(payload, dict) or not isinstance(payload.get("text"), str):
            raise HTTPException(422, 'Send a JSON object with a string field "text".')
        problem = _problem(payload["text"], max_chars)
        if problem:
            raise HTTPException(*problem)
        answer, seconds = await anyio.to_thread.run_sync(run, payload["text"])
        return JSONResponse({"summary": answer.summary, "input_chars": len(payload["text"]),
                             "input_tokens": answer.input_tokens, "used_tokens": answer.used_tokens,
                             "truncated": answer.truncated, "seconds": round(seconds, 3), **about})

    return Guard(app, limits=limits, json_paths={"/summarize": '{"text": "..."}'}, form_paths={"/"}, hosts=hosts, api_key=api_key)
