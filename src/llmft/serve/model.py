"""The function a server calls: a case's base model with a saved adapter, loaded once."""

from __future__ import annotations

from pathlib import Path

from llmft.serve.app import Answer


def with_adapter(model, adapter_dir, run):
    """``model`` with the adapter saved in ``adapter_dir`` (None: the base model alone); a folder without an
    adapter is an error that says where the chapter saves one."""
    from llmft.models import adapters

    if adapter_dir is None:
        return model
    if not (Path(adapter_dir) / "adapter_config.json").exists():
        raise FileNotFoundError(f"No adapter in {adapter_dir}: run the case's chapter first (it saves one "
                                f"to results/{run.case.key}/adapter-lora), or leave --adapter out.")
    return adapters.load_adapter(model, adapter_dir)


class Summarizer:
    """``Summarizer(run, adapter_dir)(text) -> Answer``: the case's prompt, its input limit, its decoding."""

    def __init__(self, run, adapter_dir: str | Path | None = None):
        from llmft import models

        if run.case.task != "seq2seq":
            raise ValueError(f"Case {run.case.key!r} is not a summarization case; serve one of the seq2seq cases.")
        self.run = run
        source = models.model_source(run)
        self.tokenizer = models.load_tokenizer(run, source)
        model = models.load_model(run, source)
        self.label = models.describe(run, model)  # the base model, as the chapters name it
        model = with_adapter(model, adapter_dir, run)
        self.model = model.eval()

    def __call__(self, text: str) -> Answer:
        from llmft.data import fit_prompt
        from llmft.evaluation.generation import generate

        case, s = self.run.case, self.run.sizes
        record = {f: "" for f in case.input_fields} | {case.input_fields[-1]: text}
        prompt = fit_prompt(case, record, self.tokenizer, s.max_source_len)
        whole = len(self.tokenizer(case.format_prompt(record))["input_ids"])
        used = len(self.tokenizer(prompt, max_length=s.max_source_len, truncation=True)["input_ids"])
        [summary] = generate(self.model, self.tokenizer, [prompt], max_source_len=s.max_source_len,
                             max_new_tokens=s.max_new_tokens, batch_size=1, desc="serving", decoding=case.decoding)
        return Answer(summary, input_tokens=whole, used_tokens=used)


class InstructionFollower:
    """``InstructionFollower(run, adapter_dir, precision)``: a causal case's model for ``POST /generate``.

    The base model (``precision`` fp32, int8 or nf4 through bitsandbytes) with the saved adapter on top, the
    case's prompt templates, greedy decoding at temperature 0, and the model's position limit.
    """

    def __init__(self, run, adapter_dir: str | Path | None = None, precision: str = "fp32"):
        from llmft import models
        from llmft.serve.precision import PRECISIONS, quantization_config

        if run.case.task != "causal":
            raise ValueError(f"Case {run.case.key!r} is not an instruction-following case; serve a causal one "
                             f"(alpaca-gpt2) here.")
        if precision not in PRECISIONS:
            raise ValueError(f"Unknown precision {precision!r}: choose one of {', '.join(PRECISIONS)}.")
        if precision != "fp32":
            ok, reason = models.bitsandbytes_status(run.device)
            if not ok:
                raise RuntimeError(f"{reason} Serve with --precision fp32 instead.")
        self.run, self.precision = run, precision
        source = models.model_source(run)
        self.tokenizer = models.load_tokenizer(run, source)
        model = models.load_model(run, source, quantization=quantization_config(precision, run.device))
        self.label = models.describe(run, model)
        model = with_adapter(model, adapter_dir, run)
        self.model = model.eval()
        config = model.config
        self.max_positions = int(getattr(config, "n_positions", None) or config.max_position_embeddings)

    def prompt(self, instruction: str, input: str) -> str:
        return self.run.case.format_prompt({"instruction": instruction, "input": input})

    def prompt_tokens(self, instruction: str, input: str) -> int:
        return len(self.tokenizer(self.prompt(instruction, input))["input_ids"])

    def __call__(self, instruction: str, input: str, max_new_tokens: int, temperature: float = 0.0):
        from llmft.evaluation.generation import complete

        [done] = complete(self.model, self.tokenizer, [self.prompt(instruction, input)], max_new_tokens=max_new_tokens,
                          batch_size=1, temperature=temperature, progress=False)
        return done
