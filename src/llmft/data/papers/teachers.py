"""Teachers: whatever reads a chunk of a paper and writes instruction / input / output triples about it.

Three implementations of one interface (``name``, ``reply(chunk_text, n) -> str``, ``close()``):

* :class:`OpenAICompatibleTeacher`: any server that speaks OpenAI's ``/v1/chat/completions`` (hosted services,
  vLLM, Ollama, llama.cpp's server). URL, model and key come from settings; the key is sent in a header and
  never printed, logged or saved;
* :class:`LocalTeacher`: an open instruct model through ``transformers`` on the GPU, sharing the T4 with
  nothing else: :meth:`~LocalTeacher.close` frees it before the student loads;
* :class:`OfflineTeacher`: no model at all. It builds triples from the chunk's own sentences with fixed rules,
  deterministically, for the offline ``smoke`` profile. Its name says so wherever a triple is saved or shown.

Each reply goes through :func:`llmft.data.papers.parse.parse_reply`, whatever wrote it.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import urllib.error
import urllib.request

from llmft.data.papers.chunks import split_sentences

SYSTEM = "You write training data for instruction tuning from research papers. You answer with JSON only."
PROMPT = """Read the excerpt of a research paper below and write {n} instruction / input / output triples that teach
a model what the excerpt says. Each instruction asks one question or gives one task; the input is a short passage
of the excerpt (one to three sentences) that the task needs, or "" when none is needed; the output answers from
the excerpt only, in one or two sentences. Answer with a JSON list of objects with the keys "instruction",
"input" and "output", and nothing else.

Excerpt:
{chunk}"""

ENV_URL, ENV_MODEL, ENV_KEY, ENV_KIND = "LLMFT_TEACHER_URL", "LLMFT_TEACHER_MODEL", "LLMFT_TEACHER_API_KEY", "LLMFT_TEACHER"
DEFAULT_LOCAL = "Qwen/Qwen2.5-1.5B-Instruct"  # Apache-2.0; about 3.1 GB in fp16, beside nothing else on a T4


class TeacherError(RuntimeError):
    """A teacher that cannot work at all (wrong URL, refused key): the run stops with what to fix."""


def prompt_for(chunk_text: str, n: int) -> str:
    return PROMPT.format(n=n, chunk=chunk_text)


def _redact(text: str, secret: str | None) -> str:
    return text.replace(secret, "***") if secret else text


class OpenAICompatibleTeacher:
    """A chat-completions endpoint: ``POST {base_url}/chat/completions``. ``base_url`` ends in ``/v1``."""

    def __init__(self, base_url: str, model: str, api_key: str | None = None, timeout: float = 120.0,
                 temperature: float = 0.2, max_tokens: int = 1500):
        if not base_url.startswith(("http://", "https://")):
            raise ValueError(f"The teacher's URL must start with http:// or https:// (got {base_url!r}).")
        if not model:
            raise ValueError(f"Name the teacher's model ({ENV_MODEL}).")
        self.base_url, self.model, self.timeout = base_url.rstrip("/"), model, timeout
        self.temperature, self.max_tokens = temperature, max_tokens
        self._key = api_key or None

    @property
    def name(self) -> str:  # without any user:password@ the URL may carry
        from urllib.parse import urlsplit

        parts = urlsplit(self.base_url)
        shown = parts._replace(netloc=parts.hostname + (f":{parts.port}" if parts.port else "")).geturl()
        return f"{self.model} via {shown} (OpenAI-compatible)"

    def __repr__(self) -> str:  # never the key
        return f"OpenAICompatibleTeacher({self.name!r}, key={'set' if self._key else 'none'})"

    def reply(self, chunk_text: str, n: int) -> str:
        body = json.dumps({"model": self.model, "temperature": self.temperature, "max_tokens": self.max_tokens,
                           "messages": [{"role": "system", "content": SYSTEM},
                                        {"role": "user", "content": prompt_for(chunk_text, n)}]}).encode()
        headers = {"Content-Type": "application/json"}
        if self._key:
            headers["Authorization"] = f"Bearer {self._key}"
        request = urllib.request.Request(f"{self.base_url}/chat/completions", data=body, headers=headers)
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                data = json.loads(response.read().decode("utf-8"))
        except urllib.error.HTTPError as err:
            detail = _redact(err.read().decode("utf-8", "replace")[:300], self._key)
            if err.code in (401, 403):
                raise TeacherError(f"The teacher at {self.base_url} refused the key (HTTP {err.code}). Check "
                                   f"{ENV_KEY}. Server said: {detail}") from None
            if err.code == 404:
                raise TeacherError(f"No chat endpoint at {self.base_url}/chat/completions (HTTP 404), or no model "
                                   f"{self.model!r}. The URL should end in /v1. Server said: {detail}") from None
            raise ConnectionError(f"HTTP {err.code} from the teacher: {detail}") from None
        except urllib.error.URLError as err:
            raise ConnectionError(f"Could not reach the teacher at {self.base_url}: {err.reason}") from None
        except (json.JSONDecodeError, UnicodeDecodeError) as err:
            raise ConnectionError(f"The teacher's response is not JSON ({err})") from None
        try:
            return data["choices"][0]["message"]["content"] or ""
        except (KeyError, IndexError, TypeError):
            raise ConnectionError("The teacher's response has no choices[0].message.content") from None

    def close(self) -> None:
        pass


def teacher_dtype(device: str):
    """bf16 on a GPU that has it; fp32 elsewhere. Not fp16: small instruct models (Qwen2.5-1.5B among them) are
    reported to write garbage in fp16, which a T4 (no bf16) would otherwise get. 1.5B parameters in fp32 take about
    6 GB, freed before the student loads."""
    import torch

    if device == "cuda" and torch.cuda.is_bf16_supported(including_emulation=False):
        return torch.bfloat16
    return torch.float32


class LocalTeacher:
    """An instruct model run here with ``transformers`` (greedy decoding), freed by :meth:`close`."""

    def __init__(self, model_id: str = DEFAULT_LOCAL, device: str = "cuda", max_new_tokens: int = 1024,
                 batch_size: int = 8, **load):
        from transformers import AutoModelForCausalLM, AutoTokenizer

        self.model_id, self.device, self.max_new_tokens = str(model_id), device, max_new_tokens
        self.batch_size = batch_size  # chunks per generate call (:meth:`replies`)
        dtype = teacher_dtype(device)
        self.tokenizer = AutoTokenizer.from_pretrained(model_id, **load)
        self.model = AutoModelForCausalLM.from_pretrained(model_id, dtype=dtype, **load).to(device).eval()

    @property
    def name(self) -> str:
        return f"{self.model_id} (local, transformers)"

    def reply(self, chunk_text: str, n: int) -> str:
        import torch

        if self.model is None:
            raise TeacherError("This teacher was closed.")
        messages = [{"role": "system", "content": SYSTEM}, {"role": "user", "content": prompt_for(chunk_text, n)}]
        ids = self.tokenizer.apply_chat_template(messages, add_generation_prompt=True, return_tensors="pt",
                                                 return_dict=True).to(self.device)
        with torch.inference_mode():
            out = self.model.generate(**ids, max_new_tokens=self.max_new_tokens, do_sample=False)
        return self.tokenizer.decode(out[0, ids["input_ids"].shape[1]:], skip_special_tokens=True)

    def replies(self, chunk_texts: list[str], n: int) -> list[str]:
        """Replies to several chunks in one batch (left padding, greedy): on a GPU, decoding reads the weights once
        per step for the whole batch, so eight chunks cost little more than one."""
        import torch

        if self.model is None:
            raise TeacherError("This teacher was closed.")
        tok = self.tokenizer
        texts = [tok.apply_chat_template([{"role": "system", "content": SYSTEM},
                                          {"role": "user", "content": prompt_for(t, n)}],
                                         add_generation_prompt=True, tokenize=False) for t in chunk_texts]
        side, pad = tok.padding_side, tok.pad_token
        tok.padding_side = "left"  # the replies start where every prompt ends
        if tok.pad_token is None:  # a teacher only generates here: its pad id is masked out, never trained
            tok.pad_token = tok.eos_token
        try:
            ids = tok(texts, return_tensors="pt", padding=True, add_special_tokens=False).to(self.device)
        finally:
            tok.padding_side, tok.pad_token = side, pad
        with torch.inference_mode():
            out = self.model.generate(**ids, max_new_tokens=self.max_new_tokens, do_sample=False,
                                      pad_token_id=tok.pad_token_id if tok.pad_token_id is not None else tok.eos_token_id)
        return [tok.decode(row[ids["input_ids"].shape[1]:], skip_special_tokens=True) for row in out]

    def close(self) -> None:
        """Free the model (and the GPU memory it held) before the student is loaded."""
        import gc

        import torch

        self.model = None
        gc.collect()
        if torch.cuda.is_available():
            torch.cuda.empty_cache()


# The offline teacher's rules: a pattern over one sentence, the instructions it may ask, and its answer in one
# fixed wording per kind of fact (so the answer is a rewrite, not always a copy, of the sentence).
_NAME, _NUM = r"([A-Z][\w-]+)", r"([\d.]+)"
_RESULT = [  # (pattern, order of method, metric, ours, data, theirs, base in the groups)
    (rf"^{_NAME} (?:achieves|reaches) an? (.+?) of {_NUM} on ([\w-]+), compared with {_NUM} for {_NAME}\.$", (0, 1, 2, 3, 4, 5)),
    (rf"^On ([\w-]+), {_NAME} (?:achieves|reaches) an? (.+?) of {_NUM}, compared with {_NUM} for {_NAME}\.$", (1, 2, 3, 0, 4, 5)),
    (rf"^{_NAME} obtains an? (.+?) of {_NUM} on ([\w-]+), while {_NAME} obtains {_NUM}\.$", (0, 1, 2, 3, 5, 4)),
    (rf"^Table \d shows that {_NAME} scores {_NUM} in (.+?) on ([\w-]+), against {_NUM} for {_NAME}\.$", (0, 2, 1, 3, 4, 5)),
]


def _rules(sentence: str) -> list[tuple[list[str], str]]:
    """(instructions, output) for every rule that fires on ``sentence``."""
    out = []
    if m := re.match(r"^(?:In this paper,? )?[Ww]e (propose|introduce|present) ([A-Z][\w-]+), (.+)\.$", sentence):
        out.append((["What does the paper propose?", "Which method do the authors introduce, and what is it?",
                     "Summarize the contribution described in this passage in one sentence."],
                    f"The authors {m.group(1)} {m.group(2)}, {m.group(3)}."))
    if m := re.match(r"^This paper (presents|introduces|proposes) ([A-Z][\w-]+), (.+)\.$", sentence):
        out.append((["What does the paper propose?", "Which method does this paper present, and what is it?"],
                    f"The authors {m.group(1)[:-1]} {m.group(2)}, {m.group(3)}."))
    for pattern, order in _RESULT:
        if m := re.match(pattern, sentence):
            method, metric, ours, data, theirs, base = (m.groups()[i] for i in order)
            out.append(([f"What {metric} does {method} achieve on {data}?",
                         f"How does {method} compare with {base} on {data}?",
                         f"Report the result of {method} on {data}."],
                        f"On {data}, {method} scores {ours} in {metric}, against {theirs} for {base}."))
    if m := re.match(r"^(The [a-z][\w -]{1,30}?|[A-Z][\w-]+) is an? ([^.]{10,})\.$", sentence):
        term = m.group(1)
        shown = term[4:] if term.startswith("The ") else term
        out.append(([f"What is the {shown}?" if term.startswith("The ") else f"What is {shown}?",
                     f"Explain what the passage says {'the ' if term.startswith('The ') else ''}{shown} is."],
                    sentence))
    if m := re.match(r"^(?:A|One|The main) limitation of ([\w-]+) is that (.+)\.$", sentence):
        out.append(([f"What limitation of {m.group(1)} do the authors mention?", "Name a limitation stated in the passage."],
                    f"A limitation of {m.group(1)} is that {m.group(2)}."))
    speed = (re.match(rf"^{_NAME} is also {_NUM} times faster than {_NAME} at inference time\.$", sentence) or
             re.match(rf"^At inference time, {_NAME} runs {_NUM} times faster than {_NAME}\.$", sentence))
    if speed:
        method, factor, base = speed.groups()
        out.append(([f"How much faster is {method} than {base}?", f"What speed-up over {base} does {method} report?"],
                    f"{method} is {factor} times faster than {base} at inference time."))
    if m := re.match(r"^([A-Z][\w-]+) (?:consists of|is built from) (\w+) components: (.+)\.$", sentence):
        method, count, parts = m.groups()
        out.append(([f"What are the components of {method}?", f"List the parts of {method}."],
                    f"{method} has {count} components: {parts}."))
    return out


def _pick(options: list[str], key: str) -> str:
    return options[int(hashlib.sha256(key.encode()).hexdigest(), 16) % len(options)]


class OfflineTeacher:
    """No model: triples built from the chunk's own sentences by fixed rules (a sentence that proposes a method,
    reports a result, defines a term, names a limitation, a speed-up or the parts of a method). The input is
    the sentence with the one before it; the output restates the sentence (first person turned to "the authors").

    Deterministic. It writes its reply as JSON for even-numbered calls and in the source project's
    "Triple N:" text format for odd ones, so that both parsers run on every build.
    """

    name = "offline rule-based teacher (no language model)"

    def __init__(self):
        self.calls = 0

    def triples(self, chunk_text: str, n: int) -> list[dict]:
        sents = split_sentences(chunk_text)
        found = []
        for i, s in enumerate(sents):
            for instructions, output in _rules(s):
                window = " ".join(sents[i - 1 : i + 1] if i else sents[:2])  # the sentence and one neighbour
                found.append({"instruction": _pick(instructions, s), "input": window, "output": output})
        return found[:n]

    def reply(self, chunk_text: str, n: int) -> str:
        triples = self.triples(chunk_text, n)
        self.calls += 1
        if self.calls % 2 or not triples:
            return json.dumps(triples, indent=1)
        return "\n\n".join(f"Triple {k}:\nInstruction: {t['instruction']}\nInput: {t['input'] or 'None'}\n"
                           f"Output: {t['output']}" for k, t in enumerate(triples, start=1))

    def close(self) -> None:
        pass


def teacher_from_settings(profile_offline: bool, device: str = "cuda"):
    """The teacher the settings ask for: ``$LLMFT_TEACHER`` = ``offline`` | ``local`` | ``openai``.

    Default: ``offline`` in the offline profile; otherwise ``openai`` when ``$LLMFT_TEACHER_URL`` is set,
    else ``local`` (``$LLMFT_TEACHER_MODEL`` or Qwen2.5-1.5B-Instruct on the GPU).
    """
    kind = os.environ.get(ENV_KIND, "").strip().lower()
    if not kind:
        kind = "offline" if profile_offline else ("openai" if os.environ.get(ENV_URL) else "local")
    if kind == "offline":
        return OfflineTeacher()
    if profile_offline:
        raise ValueError(f"The offline profile cannot reach a {kind!r} teacher: set {ENV_KIND}=offline, or use a "
                         "GPU profile.")
    if kind == "openai":
        url = os.environ.get(ENV_URL, "").strip()
        if not url:
            raise ValueError(f"{ENV_KIND}=openai needs {ENV_URL} (for example https://api.openai.com/v1 or "
                             "http://127.0.0.1:11434/v1 for Ollama) and " + ENV_MODEL + ".")
        return OpenAICompatibleTeacher(url, os.environ.get(ENV_MODEL, "").strip(), os.environ.get(ENV_KEY))
    if kind == "local":
        return LocalTeacher(os.environ.get(ENV_MODEL, "").strip() or DEFAULT_LOCAL, device)
    raise ValueError(f"Unknown teacher {kind!r}: choose offline, local or openai ({ENV_KIND}).")
