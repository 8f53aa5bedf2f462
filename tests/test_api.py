"""The instruction API (case 3): every endpoint and every refusal through the test client, the model loaded in the
lifespan, a live server on loopback under a bounded load, /health answering during a long generation, the real
engine on a tiny GPT-2, and the command line."""

import json
import statistics
import threading
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor

import pytest
from fastapi.testclient import TestClient
from test_serve import live

from llmft.evaluation.generation import Completion
from llmft.serve.api import MAX_NEW_TOKENS, create_api


class EchoEngine:
    """A stand-in engine: one 'token' per word; the answer repeats the instruction's words, capped."""

    max_positions = 100

    def __init__(self, delay: float = 0.0):
        self.delay, self.calls = delay, 0

    def prompt_tokens(self, instruction, input):
        return len(f"{instruction} {input}".split()) + 10  # + the template

    def __call__(self, instruction, input, max_new_tokens, temperature):
        self.calls += 1
        time.sleep(self.delay)
        words = (instruction + " " + input).split()
        out = words[:max_new_tokens]
        return Completion(" ".join(out), self.prompt_tokens(instruction, input), len(out) + 1, len(out) < max_new_tokens)


ABOUT = {"model": "echo", "adapter": "adapters/x", "device": "cpu", "precision": "fp32"}


@pytest.fixture
def client():
    with TestClient(create_api(EchoEngine, about=ABOUT)) as c:  # `with`: the lifespan runs and loads the engine
        yield c


def test_health_says_what_is_loaded(client):
    r = client.get("/health")
    assert r.status_code == 200
    assert r.json() == {"status": "ok", **ABOUT, "max_positions": 100, "busy": False}


def test_generate_answers_with_counts_and_finish_reason(client):
    r = client.post("/generate", json={"instruction": "List three fruits.", "input": "apple pear plum"})
    body = r.json()
    assert r.status_code == 200
    assert body["text"] == "List three fruits. apple pear plum" and body["finish_reason"] == "stop"
    assert body["prompt_tokens"] == 16 and body["completion_tokens"] == 7 and body["model"] == "echo"
    assert body["seconds"] >= 0
    capped = client.post("/generate", json={"instruction": "one two three four", "max_new_tokens": 2}).json()
    assert capped["text"] == "one two" and capped["finish_reason"] == "length"


def test_model_is_loaded_once_in_the_lifespan():
    loads = []

    def load():
        loads.append(1)
        return EchoEngine()

    app = create_api(load, about=ABOUT)
    assert loads == []  # not at import or construction
    with TestClient(app) as c:
        for _ in range(3):
            assert c.post("/generate", json={"instruction": "hi"}).status_code == 200
    assert loads == [1]


@pytest.mark.parametrize("body, field, reason", [
    ({}, "instruction", "required"),
    ({"instruction": ""}, "instruction", "at least 1 character"),
    ({"instruction": "   "}, "instruction", "the instruction is empty"),
    ({"instruction": 5}, "instruction", "valid string"),
    ({"instruction": "hi", "input": ["a"]}, "input", "valid string"),
    ({"instruction": "hi", "max_new_tokens": 0}, "max_new_tokens", "greater than or equal to 1"),
    ({"instruction": "hi", "max_new_tokens": MAX_NEW_TOKENS + 1}, "max_new_tokens", f"less than or equal to {MAX_NEW_TOKENS}"),
    ({"instruction": "hi", "max_new_tokens": "8"}, "max_new_tokens", "valid integer"),
    ({"instruction": "hi", "max_new_tokens": 2.5}, "max_new_tokens", "valid integer"),
    ({"instruction": "hi", "temperature": -0.1}, "temperature", "greater than or equal to 0"),
    ({"instruction": "hi", "temperature": 3}, "temperature", "less than or equal to 2"),
    ({"instruction": "hi", "temperature": True}, "temperature", "valid"),
    ({"instruction": "hi", "prompt": "x"}, "prompt", "unknown field"),
    ({"instruction": "x" * 8001}, "instruction", "at most 8000 characters"),
])
def test_bad_requests_get_422_naming_the_field_and_why(client, body, field, reason):
    r = client.post("/generate", json=body)
    detail = r.json()["detail"]
    assert r.status_code == 422 and detail.startswith(field) and reason in detail, detail


@pytest.mark.parametrize("raw, status, reason", [(b"not json", 400, "not valid JSON"),
                                                 (b'["instruction"]', 422, "JSON object"),
                                                 (b'{"instruction": "hi"', 400, "not valid JSON")])
def test_bodies_that_are_not_a_json_object_are_refused(client, raw, status, reason):
    r = client.post("/generate", content=raw, headers={"content-type": "application/json"})
    assert r.status_code == status and reason in r.json()["detail"]


def test_prompt_plus_new_tokens_must_fit_the_positions(client):
    ok = client.post("/generate", json={"instruction": "a b c d", "max_new_tokens": 86})  # 14 + 86 = 100
    assert ok.status_code == 200
    r = client.post("/generate", json={"instruction": "a b c d", "max_new_tokens": 87})
    detail = r.json()["detail"]
    assert r.status_code == 422 and detail.startswith("max_new_tokens") and "at most 86 new tokens" in detail
    long = client.post("/generate", json={"instruction": "word " * 60})
    assert long.status_code == 422 and "the prompt has 70 tokens, so at most 30" in long.json()["detail"]
    huge = client.post("/generate", json={"instruction": "hi", "input": "word " * 200})
    detail = huge.json()["detail"]
    assert huge.status_code == 422 and detail.startswith("input") and "the prompt has 211 tokens" in detail


def test_openapi_docs_describe_the_endpoints_when_asked_for(client):
    for path in ("/docs", "/redoc", "/openapi.json"):  # off by default: Swagger UI's script comes from a CDN
        assert client.get(path).status_code == 404
    with TestClient(create_api(EchoEngine, about=ABOUT, docs=True)) as c:
        spec = c.get("/openapi.json").json()
        assert {"/generate", "/health"} <= set(spec["paths"])
        fields = spec["components"]["schemas"]["GenerateRequest"]["properties"]
        assert fields["max_new_tokens"]["maximum"] == MAX_NEW_TOKENS and "instruction" in fields
        assert c.get("/docs").status_code == 200


def _post(base, body, timeout=30):
    req = urllib.request.Request(f"{base}/generate", data=json.dumps(body).encode(),
                                 headers={"content-type": "application/json"})
    with urllib.request.urlopen(req, timeout=timeout) as r:
        return json.loads(r.read())


def test_live_server_on_loopback_under_load():
    engine = EchoEngine(delay=0.002)
    with live(create_api(lambda: engine, about=ABOUT)) as base:
        assert json.loads(urllib.request.urlopen(f"{base}/health", timeout=10).read())["status"] == "ok"

        def one(i: int) -> float:
            t0 = time.perf_counter()
            assert _post(base, {"instruction": f"request number {i}"})["text"] == f"request number {i}"
            return time.perf_counter() - t0

        with ThreadPoolExecutor(8) as pool:
            latencies = sorted(pool.map(one, range(200)))
        p50, p95 = statistics.median(latencies), latencies[int(0.95 * len(latencies)) - 1]
        print(f"\n/generate: 200 requests, 8 clients: p50 {1000 * p50:.1f} ms, p95 {1000 * p95:.1f} ms, no errors")
        assert len(latencies) == 200 and engine.calls == 200
        with pytest.raises(urllib.error.HTTPError) as err:
            _post(base, {"instruction": ""})
        assert err.value.code == 422


class BlockedEngine(EchoEngine):
    """An engine whose generation starts, says so, and then waits until the test lets it finish."""

    def __init__(self):
        super().__init__()
        self.started, self.release = threading.Event(), threading.Event()

    def __call__(self, *args):
        self.started.set()
        assert self.release.wait(30), "the test never released the generation"
        return super().__call__(*args)


def test_health_answers_while_a_long_generation_runs():
    """/health answers while a generation holds the model: the generation cannot end before the test releases it,
    so an answer proves it was given during the generation (no timing involved)."""
    engine = BlockedEngine()
    with live(create_api(lambda: engine, about=ABOUT)) as base:
        slow = threading.Thread(target=_post, args=(base, {"instruction": "take your time"}))
        slow.start()
        try:
            assert engine.started.wait(30), "the generation never started"
            health = json.loads(urllib.request.urlopen(f"{base}/health", timeout=20).read())
            still_generating = slow.is_alive()
        finally:
            engine.release.set()
            slow.join()
    assert health["busy"] is True and still_generating and engine.calls == 1


def test_engine_on_a_tiny_gpt2(tiny_run, tmp_path, monkeypatch):
    """The real engine: a tiny GPT-2 (pad token added, embeddings grown), a saved adapter, greedy answers that
    are the same as the chapter's generation, and the position limit."""
    import dataclasses

    from llmft import models
    from llmft.cases import get_case
    from llmft.evaluation.generation import complete
    from llmft.models import adapters
    from llmft.models.standins.gpt2 import GPT2StandinSpec, build_gpt2, train_byte_bpe
    from llmft.serve.model import InstructionFollower

    tok = train_byte_bpe(["Below is an instruction. List three fruits: apple, pear and plum."] * 5, 300)
    spec = GPT2StandinSpec(n_embd=32, n_layer=1, n_head=2, n_positions=128)
    build_gpt2(spec, tok).save_pretrained(tmp_path / "m")
    tok.save_pretrained(tmp_path / "m")
    run = dataclasses.replace(tiny_run, case=get_case("alpaca-gpt2"))
    monkeypatch.setitem(models.STANDINS, "alpaca-gpt2", lambda: tmp_path / "m")
    base = models.load_model(run, tmp_path / "m")
    adapters.save_adapter(adapters.attach_lora(base, run), tmp_path / "a")
    engine = InstructionFollower(run, tmp_path / "a")
    assert engine.max_positions == 128 and engine.tokenizer.pad_token == models.PAD
    assert engine.tokenizer.pad_token_id != engine.tokenizer.eos_token_id
    done = engine("List three fruits.", "", 5)
    same = complete(engine.model, engine.tokenizer, [engine.prompt("List three fruits.", "")], max_new_tokens=5)[0]
    assert done == same and done.new_tokens <= 5
    with TestClient(create_api(lambda: engine, about=ABOUT)) as c:
        assert c.post("/generate", json={"instruction": "List three fruits.", "max_new_tokens": 5}).status_code == 200
        assert c.post("/generate", json={"instruction": "List three fruits.", "max_new_tokens": 120}).status_code == 422
    with pytest.raises(FileNotFoundError, match="No adapter in"):
        InstructionFollower(run, tmp_path / "nowhere")
    with pytest.raises(ValueError, match="Unknown precision"):
        InstructionFollower(run, None, "fp8")


def test_command_line_serves_the_api_on_loopback(monkeypatch):
    import uvicorn

    from llmft import cli

    seen = {}
    monkeypatch.setattr(uvicorn, "run", lambda app, **kw: seen.update(kw, app=app))
    assert cli.main(["serve", "--case", "alpaca-gpt2", "--profile", "smoke"]) == 0
    assert seen["host"] == "127.0.0.1" and seen["workers"] == 1
    assert seen["limit_concurrency"] and seen["timeout_keep_alive"] and seen["http"].__name__ == "GuardedH11"
    guarded = seen["app"]
    assert guarded.hosts == {"127.0.0.1", "localhost", "::1"} and guarded.api_key is None
    assert {"/generate", "/health"} <= {r.path for r in guarded.app.routes}
