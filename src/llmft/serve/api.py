"""The JSON API of an instruction-following model: ``GET /health`` and ``POST /generate`` (OpenAPI docs at ``/docs``
when started with ``docs=True``, ``llmft serve --docs``).

The app is built around an *engine* (:class:`Engine`: a model loaded once, by the caller, in the app's
lifespan), so tests inject a small one. Requests are checked before any generation: the body must be a JSON
object with a non-empty ``instruction``, an optional ``input``, and bounded ``max_new_tokens`` and
``temperature`` of the right types; the prompt's tokens plus ``max_new_tokens`` must fit the model's
positions (GPT-2: 1,024). Every refusal is a 422 whose ``detail`` names the field and the reason.
Generation runs in FastAPI's thread pool (plain ``def`` endpoint), one request at a time behind a lock, so
the event loop keeps answering ``/health`` during a long generation. The app runs behind
:class:`llmft.serve.guard.Guard`: bodies are bounded in size and time, and JSON that is not UTF-8, nests too
deeply, holds a number of thousands of digits or a lone surrogate is refused with a message before FastAPI
parses it.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from contextlib import asynccontextmanager
from typing import Protocol

from fastapi import FastAPI, HTTPException, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field, StrictFloat, StrictInt, StrictStr, field_validator

from llmft.runtime import shown_path
from llmft.serve.guard import Guard, Limits

MAX_NEW_TOKENS = 512
MAX_TEMPERATURE = 2.0
MIN_TEMPERATURE = 0.01  # below this (but above 0), sampling divides the logits into inf: use 0 (greedy)
MAX_CHARS = 8000  # per text field: a guard before tokenizing; the real limit is the model's positions


class GenerateRequest(BaseModel):
    """What ``POST /generate`` accepts."""

    model_config = ConfigDict(extra="forbid")

    instruction: StrictStr = Field(..., min_length=1, max_length=MAX_CHARS,
                                   description="What the model should do, e.g. 'List three fruits.'")
    input: StrictStr = Field("", max_length=MAX_CHARS, description="Optional context the instruction refers to.")
    max_new_tokens: StrictInt = Field(64, ge=1, le=MAX_NEW_TOKENS, description="Most tokens to generate.")
    temperature: StrictFloat | StrictInt = Field(0.0, ge=0.0, le=MAX_TEMPERATURE,
                                                 description="0 is greedy (deterministic); higher samples more freely.")

    @field_validator("instruction")
    @classmethod
    def _not_blank(cls, v: str) -> str:
        if not v.strip():
            raise ValueError("the instruction is empty: say what the model should do")
        return v

    @field_validator("instruction", "input")
    @classmethod
    def _valid_unicode(cls, v: str) -> str:
        bad = next((i for i, ch in enumerate(v) if "\ud800" <= ch <= "\udfff"), None)
        if bad is not None:
            raise ValueError(f"not valid Unicode (a lone surrogate at character {bad})")
        return v

    @field_validator("temperature")
    @classmethod
    def _greedy_or_sampled(cls, v: float) -> float:
        if 0 < v < MIN_TEMPERATURE:
            raise ValueError(f"use 0 for greedy decoding, or a temperature from {MIN_TEMPERATURE} to "
                             f"{MAX_TEMPERATURE} (a smaller one overflows the sampling)")
        return v


class GenerateResponse(BaseModel):
    text: str
    prompt_tokens: int
    completion_tokens: int
    finish_reason: str  # "stop": the model ended its answer (EOS); "length": it hit max_new_tokens
    seconds: float
    model: str


class Engine(Protocol):
    """What the API needs from a model: its token limit, a prompt-length count, and generation."""

    max_positions: int

    def prompt_tokens(self, instruction: str, input: str) -> int: ...

    def __call__(self, instruction: str, input: str, max_new_tokens: int, temperature: float): ...


def _field_errors(exc: RequestValidationError) -> list[str]:
    out = []
    for e in exc.errors():
        loc = ".".join(str(p) for p in e.get("loc", ()) if p != "body") or "body"
        if e.get("type") == "json_invalid":
            out.append('body: not valid JSON. Send an object such as {"instruction": "List three fruits."}')
        elif e.get("type") == "model_attributes_type":
            out.append('body: send a JSON object such as {"instruction": "List three fruits."}')
        elif e.get("type") == "missing":
            out.append(f"{loc}: required")
        elif e.get("type") == "extra_forbidden":
            out.append(f"{loc}: unknown field (allowed: instruction, input, max_new_tokens, temperature)")
        else:
            out.append(f"{loc}: {e.get('msg', 'invalid').removeprefix('Value error, ')}")
    return out


def create_api(load: Callable[[], Engine], *, about: dict, docs: bool = False, hosts: set[str] | None = None,
               api_key: str | None = None, limits: Limits | None = None) -> Guard:
    """The app. ``load`` builds the engine once, when the app starts (its lifespan), not at import;
    ``about`` is what ``/health`` reports (model, adapter, device, quantization; the adapter by its relative path
    or name). ``docs``: serve ``/docs``, ``/redoc`` and ``/openapi.json`` (Swagger UI loads from a CDN).
    ``hosts``, ``api_key``, ``limits``: see :class:`~llmft.serve.guard.Guard`."""
    state: dict = {}
    lock = threading.Lock()
    if "adapter" in about:
        about["adapter"] = shown_path(about["adapter"])

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        state["engine"] = load()
        yield
        state.clear()

    off = {} if docs else {"docs_url": None, "redoc_url": None, "openapi_url": None}
    app = FastAPI(title="Instruction-following API", lifespan=lifespan, **off,
                  description="An instruction-tuned causal language model. `POST /generate` answers an "
                              "instruction (with an optional input); `GET /health` says what is loaded.")

    @app.exception_handler(RequestValidationError)
    async def _explain(request: Request, exc: RequestValidationError):
        errors = _field_errors(exc)
        return JSONResponse({"detail": "; ".join(errors), "errors": errors}, status_code=422)

    @app.get("/health")
    def health() -> dict:
        engine = state.get("engine")
        return {"status": "ok" if engine else "loading", **about,
                "max_positions": getattr(engine, "max_positions", None), "busy": lock.locked()}

    @app.post("/generate", response_model=GenerateResponse)
    def generate(req: GenerateRequest) -> GenerateResponse:
        engine: Engine = state["engine"]
        n_prompt = engine.prompt_tokens(req.instruction, req.input)
        if n_prompt >= engine.max_positions:
            longer = "input" if len(req.input) > len(req.instruction) else "instruction"
            raise HTTPException(422, f"{longer}: the prompt has {n_prompt} tokens, more than the model's "
                                     f"{engine.max_positions} positions leave room for. Shorten the {longer}.")
        if n_prompt + req.max_new_tokens > engine.max_positions:
            raise HTTPException(422, f"max_new_tokens: the prompt has {n_prompt} tokens, so at most "
                                     f"{max(0, engine.max_positions - n_prompt)} new tokens fit the model's "
                                     f"{engine.max_positions} positions (asked: {req.max_new_tokens}). Shorten the "
                                     f"instruction or input, or ask for fewer tokens.")
        with lock:
            t0 = time.perf_counter()
            done = engine(req.instruction, req.input, req.max_new_tokens, float(req.temperature))
            seconds = time.perf_counter() - t0
        return GenerateResponse(text=done.text, prompt_tokens=done.prompt_tokens,
                                completion_tokens=done.new_tokens, finish_reason="stop" if done.stopped else "length",
                                seconds=round(seconds, 3), model=about.get("model", ""))

    return Guard(app, limits=limits or Limits(), json_paths={"/generate": '{"instruction": "List three fruits."}'}, hosts=hosts, api_key=api_key)
