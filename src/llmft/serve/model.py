"""The function a server calls: a case's base model with a saved adapter, loaded once."""

from __future__ import annotations

from pathlib import Path

from llmft.serve.app import Answer


class Summarizer:
    """``Summarizer(run, adapter_dir)(text) -> Answer``: the case's prompt, its input limit, its decoding."""

    def __init__(self, run, adapter_dir: str | Path | None = None):
        from llmft import adapters, models

        if run.case.task != "seq2seq":
            raise ValueError(f"Case {run.case.key!r} is not a summarization case; serve one of the seq2seq cases.")
        self.run = run
        source = models.model_source(run)
        self.tokenizer = models.load_tokenizer(run, source)
        model = models.load_model(run, source)
        self.label = models.describe(run, model)  # the base model, as the chapters name it
        if adapter_dir is not None:
            if not (Path(adapter_dir) / "adapter_config.json").exists():
                raise FileNotFoundError(f"No adapter in {adapter_dir}: run the case's chapter first (it saves one "
                                        f"to results/{run.case.key}/adapter-lora), or leave --adapter out.")
            model = adapters.load_adapter(model, adapter_dir)
        self.model = model.eval()

    def __call__(self, text: str) -> Answer:
        from llmft.data import fit_prompt
        from llmft.generation import generate

        case, s = self.run.case, self.run.sizes
        record = {f: "" for f in case.input_fields} | {case.input_fields[-1]: text}
        prompt = fit_prompt(case, record, self.tokenizer, s.max_source_len)
        whole = len(self.tokenizer(case.format_prompt(record))["input_ids"])
        used = len(self.tokenizer(prompt, max_length=s.max_source_len, truncation=True)["input_ids"])
        [summary] = generate(self.model, self.tokenizer, [prompt], max_source_len=s.max_source_len,
                             max_new_tokens=s.max_new_tokens, batch_size=1, desc="serving")
        return Answer(summary, input_tokens=whole, used_tokens=used)
