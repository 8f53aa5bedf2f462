"""LoRA's settings measured side by side (the settings chapter): rank, α/r against α/√r, learning rate, which modules,
DoRA / PiSSA / LoRA+, and forgetting, each over several seeds on the same data.

One run is one :class:`Arm` (a configuration) and one seed: a fresh copy of the base encoder, a classification head
drawn from the seed, the adapter (or, for full fine-tuning, every weight) trained for the same steps on the same
examples in a seed-given order, then scored on held-out stories. Every arm sees the same seeds, so two arms can be
compared **paired**: the difference seed by seed, and a t interval over the seeds (:func:`paired_difference`).

Forgetting is measured on something the base encoder could do before any tuning: all-MiniLM-L6-v2 was trained to
embed sentences, so it matches a story's headline to its own description among many (:func:`headline_recall`, the
share matched first). Tuning for topics can erase what is not about topics; the probe shows how much.
"""

from __future__ import annotations

import copy
import math
import re
import time
from dataclasses import asdict, dataclass, field

import numpy as np
import torch

ATTENTION_QV = ("q_lin", "v_lin")
ALL_LINEAR = ("q_lin", "k_lin", "v_lin", "out_lin", "lin1", "lin2")
HEAD = ("pre_classifier", "classifier")


@dataclass(frozen=True)
class Arm:
    """One configuration. ``alpha`` is fixed across ranks (a common default), so that the scale α/r falls as r
    grows; ``rslora`` scales by α/√r instead. ``loraplus_ratio``: B's learning rate over A's (LoRA+); 0: one rate.
    ``full``: every weight trains (no adapter); ``r=0``: only the classification head trains (no adapter)."""

    label: str
    r: int = 8
    alpha: float = 8.0
    targets: tuple[str, ...] = ATTENTION_QV
    learning_rate: float = 1e-2
    rslora: bool = False
    dora: bool = False
    init: str = "default"
    loraplus_ratio: float = 0.0
    full: bool = False

    @property
    def scale(self) -> float:
        if self.full or self.r == 0:
            return float("nan")
        return self.alpha / (math.sqrt(self.r) if self.rslora else self.r)


@dataclass(frozen=True)
class Budget:
    """How much each run gets. ``seeds``: the runs per arm; ``probe_items``: headline/description pairs for the
    forgetting probe."""

    steps: int
    batch_size: int
    max_len: int
    train_examples: int
    test_examples: int
    seeds: tuple[int, ...]
    probe_items: int
    warmup_share: float = 0.1
    eval_batch_size: int = 64


BUDGETS = {
    # one CPU thread, about 3.5 minutes for every arm below (the chapter measures and prints it): headlines and the
    # start of each story (24 tokens), 16 steps of 8
    "smoke": Budget(steps=16, batch_size=8, max_len=24, train_examples=128, test_examples=128, seeds=(0, 1, 2),
                    probe_items=100),
    # a T4, real DistilBERT and AG News: 80 times the training tokens, 12 times the test stories
    "t4": Budget(steps=400, batch_size=32, max_len=128, train_examples=12_800, test_examples=2_000,
                 seeds=(0, 1, 2), probe_items=1_000, eval_batch_size=256),
    "full": Budget(steps=1_500, batch_size=32, max_len=128, train_examples=48_000, test_examples=7_600,
                   seeds=(0, 1, 2, 3, 4), probe_items=2_000, eval_batch_size=256),
}

BASELINE = Arm("LoRA r=8 (q,v)")
HEAD_ONLY = Arm("head only (no adapter)", r=0)
RANKS = (1, 2, 4, 8, 16, 64)
RSLORA_RANKS = (16, 64)  # at r=1 α/√r = α/r: the same run
LORA_RATES = (1e-3, 3e-3, 1e-2, 3e-2)
# LoRA+ trains B 16 times faster than A (Hayou et al.'s ratio): at LoRA's best rate B's would diverge, so it runs at
# a lower rate and is compared with plain LoRA at that same rate
LORAPLUS_RATE = 1e-3
FULL_RATES = (1e-4, 5e-4, 2e-3)


def lora_params_per_layer(r: int, targets: tuple[str, ...], dims: dict[str, tuple[int, int]]) -> int:
    """r·(d_in + d_out) summed over the targeted matrices of one layer."""
    return sum(r * sum(dims[t]) for t in targets)


def matched_rank(r: int, targets: tuple[str, ...], wider: tuple[str, ...], dims: dict[str, tuple[int, int]]) -> int:
    """The rank for ``wider`` targets whose adapter is closest in size to rank ``r`` on ``targets``."""
    goal = lora_params_per_layer(r, targets, dims)
    return min(range(1, r + 1), key=lambda k: abs(lora_params_per_layer(k, wider, dims) - goal))


FIRST_LAYER = re.compile(r"\.layers?\.0\.")  # DistilBERT's transformer.layer.0, Llama's model.layers.0


def linear_dims(model) -> dict[str, tuple[int, int]]:
    """(d_in, d_out) of each linear layer's name suffix in the first transformer layer."""
    out = {}
    for name, module in model.named_modules():
        if isinstance(module, torch.nn.Linear) and FIRST_LAYER.search(name):
            out[name.rsplit(".", 1)[-1]] = (module.in_features, module.out_features)
    return out


def arms(dims: dict[str, tuple[int, int]]) -> dict[str, list[Arm]]:
    """Every arm of the chapter, by question. An arm that two questions share is listed in both and run once."""
    rank = [HEAD_ONLY] + [BASELINE if r == 8 else Arm(f"LoRA r={r} (q,v)", r=r) for r in RANKS]
    rs = [Arm(f"rsLoRA r={r} (q,v)", r=r, rslora=True) for r in RSLORA_RANKS]
    lr = [BASELINE if rate == BASELINE.learning_rate else Arm(f"LoRA r=8, lr {rate:g}", learning_rate=rate)
          for rate in LORA_RATES]
    lr += [Arm(f"full fine-tuning, lr {rate:g}", full=True, learning_rate=rate) for rate in FULL_RATES]
    k = matched_rank(BASELINE.r, ATTENTION_QV, ALL_LINEAR, dims)
    modules = [BASELINE, Arm(f"LoRA r={k} (all linear)", r=k, targets=ALL_LINEAR)]
    slow = next(a for a in lr if a.learning_rate == LORAPLUS_RATE)
    variants = [BASELINE, Arm("DoRA r=8 (q,v)", dora=True), Arm("PiSSA r=8 (q,v)", init="pissa"), slow,
                Arm(f"LoRA+ r=8 (q,v), lr {LORAPLUS_RATE:g}, B at 16x", learning_rate=LORAPLUS_RATE,
                    loraplus_ratio=16.0)]
    return {"rank": rank, "scaling": [a for a in rank if a.r in (1, 8, *RSLORA_RANKS)] + rs, "learning rate": lr,
            "modules": modules, "variants": variants}


def unique_arms(by_question: dict[str, list[Arm]]) -> list[Arm]:
    seen: dict[str, Arm] = {}
    for group in by_question.values():
        for arm in group:
            if seen.setdefault(arm.label, arm) != arm:
                raise ValueError(f"Two different arms are both called {arm.label!r}.")
    return list(seen.values())


# --- data -----------------------------------------------------------------------------------------------------

STORY = re.compile(r"^(?P<title>.+?) \((?P<source>[^()]+)\) (?:(?P=source) )?- (?P<body>.+)$", re.S)


def split_story(text: str) -> tuple[str, str] | None:
    """An AG News item's headline and description (``"Title (Source) Source - Description"``), or None where the
    item does not have that shape."""
    m = STORY.match(text.strip())
    return (m["title"].strip(), m["body"].strip()) if m else None


@dataclass
class Encoded:
    input_ids: list[list[int]]
    labels: np.ndarray

    def batch(self, rows, pad_id: int, device="cpu") -> dict:
        """Rows ``rows`` padded on the right to the longest of them, on ``device``."""
        width = max(len(self.input_ids[i]) for i in rows)
        ids = torch.full((len(rows), width), pad_id)
        mask = torch.zeros((len(rows), width), dtype=torch.long)
        for j, i in enumerate(rows):
            n = len(self.input_ids[i])
            ids[j, :n], mask[j, :n] = torch.tensor(self.input_ids[i]), 1
        return {"input_ids": ids.to(device), "attention_mask": mask.to(device)}


def encode(tokenizer, texts, labels, max_len: int) -> Encoded:
    ids = tokenizer(list(texts), max_length=max_len, truncation=True)["input_ids"]
    return Encoded(ids, np.asarray(labels))


# --- one run --------------------------------------------------------------------------------------------------

@dataclass
class RunResult:
    arm: str
    seed: int
    accuracy: float
    probe_recall: float | None
    trainable: int
    adapter: int
    seconds: float
    losses: list[float] = field(repr=False, default_factory=list)


def fresh_head(model, seed: int) -> None:
    """Draw the classification head from ``seed`` (normal, std 0.02, zero bias, as the model's own initialisation)."""
    torch.manual_seed(seed)
    for name in HEAD:
        layer = getattr(model, name)
        torch.nn.init.normal_(layer.weight, std=0.02)
        torch.nn.init.zeros_(layer.bias)


def prepare(base, arm: Arm, seed: int):
    """A fresh copy of ``base`` with a head drawn from ``seed`` and ``arm``'s adapter (or all weights) trainable."""
    from peft import LoraConfig, get_peft_model

    model = copy.deepcopy(base)
    fresh_head(model, seed)
    if arm.full or arm.r == 0:
        for name, p in model.named_parameters():
            p.requires_grad_(arm.full or name.split(".")[0] in HEAD)
        return model
    torch.manual_seed(seed)  # A's draw
    config = LoraConfig(task_type="SEQ_CLS", r=arm.r, lora_alpha=arm.alpha, lora_dropout=0.0,
                        target_modules=list(arm.targets), modules_to_save=list(HEAD), use_rslora=arm.rslora,
                        use_dora=arm.dora, init_lora_weights=True if arm.init == "default" else arm.init)
    return get_peft_model(model, config)


def optimizer_for(model, arm: Arm):
    params = [p for p in model.parameters() if p.requires_grad]
    if arm.loraplus_ratio:
        from peft.optimizers import create_loraplus_optimizer

        return create_loraplus_optimizer(model, torch.optim.AdamW, lr=arm.learning_rate,
                                         loraplus_lr_ratio=arm.loraplus_ratio, weight_decay=0.0)
    return torch.optim.AdamW(params, lr=arm.learning_rate, weight_decay=0.0)


def schedule(step: int, steps: int, warmup: int) -> float:
    """Linear warm-up, then linear decay to 0 (the Trainer's ``linear``)."""
    return step / max(1, warmup) if step < warmup else max(0.0, (steps - step) / max(1, steps - warmup))


def train_steps(model, optimizer, params, budget: Budget, seed: int, n_rows: int, loss_of) -> list[float]:
    """The training loop every run shares: ``budget.steps`` steps of ``budget.batch_size`` rows, drawn in a
    seed-given order of ``n_rows``; ``loss_of(rows)`` is a batch's loss; gradient clipping at 1 on ``params``; a
    linear warm-up and decay of ``optimizer``'s rates. Returns each step's loss."""
    warmup = max(1, round(budget.warmup_share * budget.steps))
    lr_schedule = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda s: schedule(s, budget.steps, warmup))
    order = np.random.default_rng(seed).permutation(n_rows)
    model.train()
    losses = []
    for step in range(budget.steps):
        loss = loss_of([int(order[(step * budget.batch_size + j) % n_rows]) for j in range(budget.batch_size)])
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        optimizer.step()
        lr_schedule.step()
        optimizer.zero_grad(set_to_none=True)
        losses.append(float(loss.detach()))
    return losses


def device_of(model) -> torch.device:
    return next(model.parameters()).device


@torch.no_grad()
def predict(model, data: Encoded, pad_id: int, batch_size: int) -> np.ndarray:
    model.eval()
    out = []
    for start in range(0, len(data.input_ids), batch_size):
        rows = range(start, min(start + batch_size, len(data.input_ids)))
        out.append(model(**data.batch(rows, pad_id, device_of(model))).logits.argmax(-1).cpu().numpy())
    return np.concatenate(out)


def encoder_of(model):
    """The transformer body under a classifier, with any adapter still in it."""
    inner = model.get_base_model() if hasattr(model, "get_base_model") else model
    return inner.base_model


@torch.no_grad()
def embed(model, data: Encoded, pad_id: int, batch_size: int) -> torch.Tensor:
    """Mean-pooled, unit-length sentence vectors from the encoder (how all-MiniLM-L6-v2 embeds a sentence)."""
    model.eval()
    body, out = encoder_of(model), []
    for start in range(0, len(data.input_ids), batch_size):
        batch = data.batch(range(start, min(start + batch_size, len(data.input_ids))), pad_id, device_of(model))
        hidden = body(**batch).last_hidden_state
        mask = batch["attention_mask"].unsqueeze(-1).float()
        out.append(torch.nn.functional.normalize((hidden * mask).sum(1) / mask.sum(1), dim=-1))
    return torch.cat(out)


def headline_recall(model, headlines: Encoded, bodies: Encoded, pad_id: int, batch_size: int) -> float:
    """The share of headlines whose own description is the nearest (cosine) of all descriptions in the probe."""
    sims = embed(model, headlines, pad_id, batch_size) @ embed(model, bodies, pad_id, batch_size).T
    return float((sims.argmax(1).cpu() == torch.arange(len(sims))).float().mean())


@dataclass
class Study:
    """The data and base model every run starts from."""

    base: object
    tokenizer: object
    budget: Budget
    train: Encoded
    test: Encoded
    headlines: Encoded
    bodies: Encoded
    pad_id: int
    log: list[RunResult] = field(default_factory=list)

    def run(self, arm: Arm, seed: int, probe: bool = False) -> RunResult:
        b = self.budget
        start = time.perf_counter()
        model = prepare(self.base, arm, seed)
        trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
        adapter = sum(p.numel() for n, p in model.named_parameters() if p.requires_grad and "lora_" in n)
        optimizer = optimizer_for(model, arm)
        params = [p for p in model.parameters() if p.requires_grad]
        device = device_of(model)

        def loss_of(rows):
            labels = torch.as_tensor(self.train.labels[rows], device=device)
            return model(**self.train.batch(rows, self.pad_id, device), labels=labels).loss

        torch.manual_seed(seed)  # dropout
        losses = train_steps(model, optimizer, params, b, seed, len(self.train.input_ids), loss_of)
        accuracy = float(np.mean(predict(model, self.test, self.pad_id, b.eval_batch_size) == self.test.labels))
        recall = (headline_recall(model, self.headlines, self.bodies, self.pad_id, b.eval_batch_size)
                  if probe else None)
        result = RunResult(arm.label, seed, accuracy, recall, trainable, adapter, time.perf_counter() - start, losses)
        self.log.append(result)
        return result

    def base_recall(self) -> float:
        return headline_recall(self.base, self.headlines, self.bodies, self.pad_id, self.budget.eval_batch_size)


def build_study(base, tokenizer, train, test, budget: Budget) -> Study:
    """Encode ``budget``'s share of the splits (rows with ``text`` and ``label``) and the probe's pairs (from the
    test stories that have a headline and a description)."""
    train = train.select(range(min(budget.train_examples, len(train))))
    test = test.select(range(min(budget.test_examples, len(test))))
    pairs = [p for p in (split_story(t) for t in test["text"]) if p][: budget.probe_items]
    if len(pairs) < 20:
        raise ValueError(f"Only {len(pairs)} test stories have the 'Title (Source) Source - Description' shape: the "
                         f"forgetting probe needs at least 20.")
    pad = tokenizer.pad_token_id
    return Study(base=base, tokenizer=tokenizer, budget=budget,
                 train=encode(tokenizer, train["text"], train["label"], budget.max_len),
                 test=encode(tokenizer, test["text"], test["label"], budget.max_len),
                 headlines=encode(tokenizer, [h for h, _ in pairs], np.zeros(len(pairs)), budget.max_len),
                 bodies=encode(tokenizer, [d for _, d in pairs], np.zeros(len(pairs)), budget.max_len), pad_id=pad)


def run_all(study: Study, all_arms: list[Arm], probe: set[str], progress=None) -> dict[str, list[RunResult]]:
    """Every arm at every seed of the budget; the forgetting probe on the arms named in ``probe``."""
    out: dict[str, list[RunResult]] = {}
    jobs = [(arm, seed) for arm in all_arms for seed in study.budget.seeds]
    for arm, seed in (progress(jobs) if progress else jobs):
        out.setdefault(arm.label, []).append(study.run(arm, seed, probe=arm.label in probe))
    return out


# --- summaries ------------------------------------------------------------------------------------------------

def t_interval(values, level: float = 0.95) -> tuple[float, float, float]:
    """Mean and a t interval over seeds (with 3 seeds the t quantile is 4.30: intervals are honest, and wide)."""
    from scipy import stats

    v = np.asarray(values, dtype=float)
    if len(v) < 2:
        return float(v.mean()), float("nan"), float("nan")
    half = stats.t.ppf(0.5 + level / 2, len(v) - 1) * v.std(ddof=1) / math.sqrt(len(v))
    return float(v.mean()), float(v.mean() - half), float(v.mean() + half)


def summary(results: dict[str, list[RunResult]], label: str, what: str = "accuracy") -> dict[str, float]:
    values = [getattr(r, what) for r in results[label]]
    mean, low, high = t_interval(values)
    return {"mean": mean, "ci_low": low, "ci_high": high, "n": len(values)}


def paired_difference(results: dict[str, list[RunResult]], label: str, reference: str,
                      what: str = "accuracy") -> dict[str, float]:
    """``label`` minus ``reference``, seed by seed (the same head, order and data in both), with a t interval."""
    a = {r.seed: getattr(r, what) for r in results[reference]}
    b = {r.seed: getattr(r, what) for r in results[label]}
    seeds = sorted(set(a) & set(b))
    mean, low, high = t_interval([b[s] - a[s] for s in seeds])
    return {"mean": mean, "ci_low": low, "ci_high": high, "n": len(seeds)}


def table(results: dict[str, list[RunResult]], group: list[Arm], reference: str | None = BASELINE.label,
          probe: bool = False, what: str = "accuracy", probe_what: str = "probe_recall",
          probe_name: str = "headline recall"):
    """One row per arm: parameters trained (the adapter's among them), scale and learning rate (no rate where
    nothing trains), ``what`` (accuracy) with its interval, the paired difference to ``reference``, seconds a run
    (and the probe, ``probe_what``, where measured). Few, short columns: the table fits a page's width."""
    import pandas as pd

    rows = []
    for arm in group:
        runs = results[arm.label]
        s = summary(results, arm.label, what)
        trained = runs[0].trainable
        row = {"arm": arm.label,
               "parameters trained (adapter)": f"{trained:,}" + (" (all)" if arm.full else f" ({runs[0].adapter:,})"
                                                                 if trained else ""),
               "scale, learning rate": (f"{arm.scale:.3g}" if math.isfinite(arm.scale) else "-")
               + (f", {arm.learning_rate:g}" if trained else ""),
               f"{what.replace('_', ' ')} [95 % CI]": f"{s['mean']:.3f} [{s['ci_low']:.3f}, {s['ci_high']:.3f}]"}
        if reference and arm.label != reference and reference in results:
            d = paired_difference(results, arm.label, reference, what)
            row[f"minus {reference} (paired)"] = f"{d['mean']:+.3f} [{d['ci_low']:+.3f}, {d['ci_high']:+.3f}]"
        elif reference:
            row[f"minus {reference} (paired)"] = "-"
        if probe:
            p = summary(results, arm.label, probe_what)
            row[probe_name] = f"{p['mean']:.3f} [{p['ci_low']:.3f}, {p['ci_high']:.3f}]"
        row["seconds a run"] = f"{np.mean([r.seconds for r in runs]):.1f}"
        rows.append(row)
    return pd.DataFrame(rows)


def record(results: dict[str, list[RunResult]], arms_by_label: dict[str, Arm]) -> list[dict]:
    """Every run as a plain row (the arm's settings and what it measured): the chapter's results file."""
    return [{**asdict(arms_by_label[label]), **{k: v for k, v in asdict(r).items() if k != "losses"}}
            for label, runs in results.items() for r in runs]



def verdict(d: dict, better: str = "better", worse: str = "worse") -> str:
    """A paired difference in words: resolved one way, the other, or not at this budget."""
    said = f"{d['mean']:+.3f} (95 % CI [{d['ci_low']:+.3f}, {d['ci_high']:+.3f}])"
    if d["ci_low"] > 0:
        return f"{better}: {said}"
    if d["ci_high"] < 0:
        return f"{worse}: {said}"
    return f"not resolved at this budget: {said}"


def resolved(d: dict) -> bool:
    return d["ci_low"] > 0 or d["ci_high"] < 0


def best_arm(results: dict[str, list[RunResult]], group: list[Arm]) -> Arm:
    """The arm with the highest mean accuracy over seeds."""
    return max(group, key=lambda a: summary(results, a.label)["mean"])


def advice(results: dict[str, list[RunResult]], by_question: dict[str, list[Arm]], base_recall: float) -> list[str]:
    """The chapter's practical box, one Markdown bullet per choice, each computed from ``results`` or citing a paper by
    its authors (a notebook's Markdown output is CommonMark: no roles, no math; the page cites them in full below)."""
    mean = lambda label: summary(results, label)["mean"]  # noqa: E731
    seconds = lambda label: float(np.mean([r.seconds for r in results[label]]))  # noqa: E731
    out = []

    head = paired_difference(results, BASELINE.label, HEAD_ONLY.label)
    out.append(f"- **Train an adapter, not only the head.** LoRA r=8 on q,v against the head alone: "
               f"{verdict(head)}, for {results[BASELINE.label][0].adapter:,} more parameters.")

    lr = by_question["learning rate"]
    lora, full = [a for a in lr if not a.full], [a for a in lr if a.full]
    best_lora, best_full = best_arm(results, lora), best_arm(results, full)
    spread = max(mean(a.label) for a in lora) - min(mean(a.label) for a in lora)
    out.append(f"- **Sweep the learning rate first.** Over LoRA's rates ({', '.join(f'{a.learning_rate:g}' for a in lora)}) "
               f"mean accuracy spread by {spread:.3f}; LoRA's best was {best_lora.learning_rate:g}, full fine-tuning's "
               f"{best_full.learning_rate:g} ({best_lora.learning_rate / best_full.learning_rate:.0f} times lower). "
               f"Three or four rates a factor of 3 apart, at the length you will train, cost as many runs.")

    ranks = [a for a in by_question["rank"] if a.r > 0]
    diffs = [paired_difference(results, a.label, BASELINE.label) for a in ranks if a != BASELINE]
    unresolved = sum(not resolved(d) for d in diffs)
    small, large = min(ranks, key=lambda a: a.r), max(ranks, key=lambda a: a.r)
    out.append(f"- **Start with a small rank.** {unresolved} of {len(diffs)} ranks from {small.r} to {large.r} were "
               f"not distinguishable from r=8 here, while the adapter grew from {results[small.label][0].adapter:,} to "
               f"{results[large.label][0].adapter:,} parameters; on GPT-3, LoRA's authors found rank 1 on q and v competitive "
               f"with rank 64 (Hu et al.). Raise r when a longer run shows the adapter saturating.")

    rs = [a for a in by_question["scaling"] if a.rslora]
    rs_diffs = {a.r: paired_difference(results, a.label, f"LoRA r={a.r} (q,v)") for a in rs}
    out.append("- **At large ranks, mind the scale.** With α fixed, α/r shrinks the update as r grows; rsLoRA's α/√r "
               "does not (Kalajdzievski). Here, rsLoRA minus LoRA: "
               + "; ".join(f"r={r}: {verdict(d)}" for r, d in rs_diffs.items())
               + ". With Adam, the scale and the learning rate trade against each other (exercise 2), so rsLoRA matters most "
               "when one rate must serve several ranks.")

    qv, wide = by_question["modules"][:2]
    d = paired_difference(results, wide.label, qv.label)
    out.append(f"- **Which modules.** {wide.label} minus {qv.label}, at {results[wide.label][0].adapter:,} against "
               f"{results[qv.label][0].adapter:,} adapter parameters: {verdict(d)}. The QLoRA authors found all linear "
               f"layers needed to match full fine-tuning on large models (Dettmers et al.). Per run here: "
               f"{seconds(wide.label):.1f} s against {seconds(qv.label):.1f} s.")

    variants = by_question["variants"]
    slow = next(a for a in variants if a.learning_rate == LORAPLUS_RATE and not a.loraplus_ratio and not a.full)
    bits = []
    for a in variants:
        if a in (BASELINE, slow):
            continue
        ref = slow if a.loraplus_ratio else BASELINE
        extra = results[a.label][0].adapter - results[ref.label][0].adapter
        bits.append(f"{a.label}: {verdict(paired_difference(results, a.label, ref.label))}"
                    + (f", {extra:,} more parameters (a magnitude per output of each adapted matrix)" if extra else ""))
    out.append("- **Variants are one switch each; measure them.** Against plain LoRA at the same rate: "
               + "; ".join(bits) + ". Seconds per run for each are in the table above; at this size they also carry the noise of a CPU "
               "shared with other work.")

    kept = {a.label: summary(results, a.label, "probe_recall")["mean"] for a in (best_lora, best_full)}
    forget = paired_difference(results, best_lora.label, best_full.label, "probe_recall")
    out.append(f"- **Keep what the base could do.** Headline recall, {base_recall:.3f} before tuning: LoRA at its best rate "
               f"{kept[best_lora.label]:.3f}, full fine-tuning at its best {kept[best_full.label]:.3f}; LoRA minus full, "
               f"paired: {verdict(forget, 'LoRA forgets less', 'LoRA forgets more')}. LoRA also trained "
               f"{results[best_lora.label][0].trainable / results[best_full.label][0].trainable:.1%} of the weights, "
               f"{seconds(best_lora.label):.1f} s a run against {seconds(best_full.label):.1f} s "
               f"(compare Biderman et al.'s \"learns less and forgets less\").")
    return out
