"""Synthetic research papers for case 4's offline profile, written as real PDF files.

The source project scraped papers from the web and read them with a PDF loader. Offline, the chapter writes a
handful of papers itself, as PDFs with what makes real PDFs awkward to read, then reads them back through the
same extraction code (:mod:`llmft.data.papers.pdf`):

* a **running header** and a **page number** on every page (to be dropped);
* words **hyphenated** across line breaks ("repre-" / "sentation");
* numbered section headings, an abstract, and a **References** section at the end (to be dropped).

The papers come from a small world of machine-learning methods: each proposes a method for a task, defines
its parts, reports results on benchmarks against a baseline and names a limitation. Names, numbers and
wording vary from paper to paper, so a test paper's facts are never a training paper's. The generator is
deterministic: the same ``seed`` gives the same papers.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from pathlib import Path

TASKS = [("document retrieval", "retrieval"), ("speech recognition", "transcription"),
         ("machine translation", "translation"), ("code completion", "completion"),
         ("image segmentation", "segmentation"), ("time-series forecasting", "forecasting"),
         ("question answering", "answering"), ("protein structure prediction", "prediction"),
         ("text summarization", "summarization"), ("graph classification", "classification"),
         ("anomaly detection", "detection"), ("recommendation", "ranking")]
METRICS = {"document retrieval": "recall at 10", "speech recognition": "word error rate",
           "machine translation": "BLEU score", "code completion": "exact-match accuracy",
           "image segmentation": "mean IoU", "time-series forecasting": "mean absolute error",
           "question answering": "F1 score", "protein structure prediction": "GDT score",
           "text summarization": "ROUGE-L score", "graph classification": "accuracy",
           "anomaly detection": "AUROC", "recommendation": "NDCG at 10"}
LOWER_IS_BETTER = {"word error rate", "mean absolute error"}
PREFIXES = ["Sparse", "Flow", "Graph", "Lite", "Deep", "Meta", "Turbo", "Quant", "Route", "Hyper", "Echo", "Prism",
            "Delta", "Nova", "Atlas", "Fusion", "Cascade", "Orbit", "Vector", "Pulse"]
SUFFIXES = ["Net", "Former", "Mix", "Align", "Gate", "Tune", "Lens", "Bridge", "Stack", "Path", "Scope", "Weave"]
TECHNIQUES = ["a sparse attention layer", "a learned routing module", "a contrastive pre-training objective",
              "a low-rank adapter", "a mixture of small experts", "a hierarchical memory",
              "a curriculum over example difficulty", "a distillation loss from a larger teacher",
              "a retrieval step before decoding", "a quantized key-value cache", "a graph of intermediate features",
              "a two-stage ranking pipeline"]
GOALS = ["that scales to long inputs", "that needs less labelled data", "that runs on a single GPU",
         "that is robust to noisy inputs", "that adapts to new domains quickly", "that halves inference cost",
         "that remains accurate under compression", "that trains in a few hours"]
COMPONENTS = [("encoder", "maps each input to a sequence of vectors"),
              ("router", "sends every token to the two most relevant experts"),
              ("memory bank", "stores summaries of earlier segments for later layers"),
              ("scoring head", "assigns a relevance score to every candidate"),
              ("calibration step", "rescales the scores so that they match observed frequencies"),
              ("decoder", "produces the output one token at a time"),
              ("adapter", "adds a small trainable update to each frozen layer"),
              ("sampler", "selects the hardest training examples for every batch"),
              ("pooling layer", "averages the features of neighbouring positions"),
              ("cache", "keeps the keys and values of earlier tokens in eight bits")]
PROBLEMS = ["require large labelled datasets", "scale poorly with input length", "are expensive to deploy",
            "fail on inputs from new domains", "need many GPUs to train", "ignore long-range structure"]
LIMITS = ["it needs a pre-trained checkpoint of the same size", "it was only tested on English data",
          "its memory grows with the number of experts", "it is slower than the baseline on short inputs",
          "it depends on a carefully tuned learning rate", "it has not been evaluated on more than two languages",
          "its gains shrink when the training set is small"]
SURNAMES = ["Garcia", "Chen", "Okafor", "Novak", "Haddad", "Kim", "Silva", "Ivanova", "Rossi", "Tanaka", "Moreau",
            "Patel", "Jensen", "Kowalski", "Nguyen", "Schmidt", "Lopez", "Ahmed", "Berg", "Costa"]
INITIALS = "ABCDEFGHJKLMNPRST"
VENUES = ["NeurIPS", "ICML", "ICLR", "ACL", "EMNLP", "CVPR", "AAAI", "TACL", "JMLR", "Interspeech"]
HEADER = "Preprint. Under review."


@dataclass
class Paper:
    """One synthetic paper: its id, title, authors, abstract, sections (heading, paragraphs) and references."""

    paper_id: str
    title: str
    authors: list[str]
    abstract: str
    sections: list[tuple[str, list[str]]]
    references: list[str]
    facts: dict = field(default_factory=dict)  # what the text states, for tests (never shown to the teacher)

    def text(self) -> str:
        """The paper as plain text, as the PDF shows it (without headers, footers or hyphenation)."""
        parts = [self.title, ", ".join(self.authors), "Abstract", self.abstract]
        for heading, paragraphs in self.sections:
            parts.append(heading)
            parts.extend(paragraphs)
        parts.append("References")
        parts.extend(self.references)
        return "\n\n".join(parts)


def _a(phrase: str) -> str:
    """``phrase`` with its indefinite article: "an F1 score", "a BLEU score"."""
    vowel = phrase[0].lower() in "aeiou" or phrase.split()[0] in {"F1", "NDCG", "AUROC", "ROUGE-L", "exact-match"}
    return ("an " if vowel and phrase.split()[0] not in {"ROUGE-L"} else "a ") + phrase


def _name(r: random.Random, used: set[str]) -> str:
    while True:
        name = r.choice(PREFIXES) + r.choice(SUFFIXES)
        if name not in used:
            used.add(name)
            return name


def _score(r: random.Random, metric: str) -> tuple[float, float]:
    """(ours, baseline), ours better by a few points."""
    if metric == "word error rate":
        base = round(r.uniform(8, 20), 1)
        return round(base - r.uniform(0.8, 3.5), 1), base
    if metric == "mean absolute error":
        base = round(r.uniform(0.3, 0.9), 2)
        return round(base - r.uniform(0.03, 0.12), 2), base
    base = round(r.uniform(40, 85), 1)
    return round(base + r.uniform(1.0, 6.0), 1), base


def make_paper(r: random.Random, index: int, used: set[str]) -> Paper:
    task, noun = r.choice(TASKS)
    metric = METRICS[task]
    method, baseline = _name(r, used), _name(r, used)
    technique, goal = r.choice(TECHNIQUES), r.choice(GOALS)
    comps = r.sample(COMPONENTS, 3)
    datasets = [f"{r.choice(['Arxiv', 'Wiki', 'News', 'Clinic', 'Forum', 'Patent', 'Legal', 'Web'])}"
                f"{r.choice(['Bench', 'Set', 'Corpus', 'Eval'])}-{r.randint(2, 99)}" for _ in range(2)]
    scores = [_score(r, metric) for _ in datasets]
    n_examples = [r.choice([5, 8, 12, 20, 40, 75, 120]) * 1000 for _ in datasets]
    problem, limit = r.choice(PROBLEMS), r.choice(LIMITS)
    authors = [f"{r.choice(INITIALS)}. {s}" for s in r.sample(SURNAMES, r.randint(2, 4))]
    cites = [f"{r.choice(SURNAMES)} et al." for _ in range(3)]
    speedup = r.choice([1.4, 1.8, 2.1, 2.5, 3.2, 4.0])
    better = "lower" if metric in LOWER_IS_BETTER else "higher"
    title = f"{method}: {r.choice(['Efficient', 'Robust', 'Scalable', 'Simple', 'Fast'])} {task.capitalize()} with " \
            f"{technique.split(' ', 1)[1].capitalize()}"
    c = r.choice
    m, base, d0, d1 = method, baseline, datasets[0], datasets[1]
    (s0, b0), (s1, b1) = scores
    met = _a(metric)

    def result(ours, theirs, data):  # one result, in one of four phrasings
        return c([f"{m} achieves {met} of {ours} on {data}, compared with {theirs} for {base}.",
                  f"On {data}, {m} reaches {met} of {ours}, compared with {theirs} for {base}.",
                  f"{m} obtains {met} of {ours} on {data}, while {base} obtains {theirs}.",
                  f"Table {c([1, 2, 3])} shows that {m} scores {ours} in {metric} on {data}, against {theirs} for {base}."])

    def define(name, does):
        return c([f"The {name} is a module that {does}.", f"The {name} is a small network that {does}.",
                  f"The {name} is a component that {does}."])

    abstract = " ".join([
        c([f"{task.capitalize()} is a core problem in machine learning.",
           f"{task.capitalize()} underpins many applications, from search to assistants.",
           f"Progress in {task} has been fast, yet deployment remains hard."]),
        c([f"Existing methods {problem}.", f"Most current systems {problem}.", f"Prior approaches {problem}."]),
        c([f"We propose {m}, {_a(task)} method {goal}.", f"We introduce {m}, {_a(task)} method {goal}.",
           f"We present {m}, {_a(task)} method {goal}."]),
        c([f"{m} combines {technique} with a {comps[0][0]} and a {comps[1][0]}.",
           f"Its design pairs {technique} with a {comps[0][0]}.",
           f"At its core, {m} uses {technique}."]),
        result(s0, b0, d0),
    ])
    intro = [
        " ".join([c([f"{task.capitalize()} asks a model to handle inputs that vary widely in length and style.",
                     f"In {task}, inputs range from a few words to entire documents.",
                     f"Real-world {task} must cope with noisy, heterogeneous data."]),
                  c([f"Recent work [1, 2] has made steady progress, but most methods {problem}.",
                     f"Several systems [1, 2] report strong numbers, yet they {problem}."]),
                  c(["This makes them hard to use outside large laboratories.",
                     "Practitioners with modest budgets are left behind.",
                     "Closing this gap is the goal of this work."])]),
        " ".join([c([f"In this paper we introduce {m}, {_a(task)} method {goal}.",
                     f"This paper presents {m}, {_a(task)} method {goal}."]),
                  c([f"The key idea is to use {technique} so that the model spends its computation where the input "
                     f"needs it.", f"Our main insight is that {technique} removes most of the redundant work.",
                     f"We build on {technique}, which earlier work used only at small scale."]),
                  c(["Our experiments on two benchmarks show consistent gains over strong baselines.",
                     "Experiments confirm that the approach works across settings."])]),
        c([f"Our contributions are as follows. First, we describe {m} and its three components. Second, we "
           f"evaluate it on {d0} and {d1}. Third, we analyse its cost and its limitations.",
           f"We make three contributions: the design of {m}, an evaluation on {d0} and {d1}, and an analysis of "
           f"its cost."]),
    ]
    related = [
        " ".join([c([f"{base} is {_a(task)} model that relies on dense attention over the whole input.",
                     f"{base} is a strong {task} system trained on large public corpora."]),
                  c([f"{cites[0]} [1] improved its training schedule, and {cites[1]} [2] studied its behaviour on "
                     f"long documents.", f"It was later extended by {cites[0]} [1] and analysed by {cites[1]} [2]."]),
                  c([f"{base} remains the strongest published baseline on both of our benchmarks.",
                     f"We use {base} as our main point of comparison."])]),
        c([f"Methods based on {technique} have been explored for other tasks [3]. To our knowledge, {m} is the "
           f"first to apply it to {task} at this scale.",
           f"Related ideas appear in work on other modalities [3], but not for {task}."]),
    ]
    method_par = [
        c([f"{m} consists of three components: a {comps[0][0]}, a {comps[1][0]} and a {comps[2][0]}.",
           f"{m} is built from three components: a {comps[0][0]}, a {comps[1][0]} and a {comps[2][0]}."]) + " " +
        c(["Figure 1 gives an overview of the architecture.", "Figure 2 sketches how they interact.",
           "We describe each in turn."]),
        " ".join(define(name, does) for name, does in comps),
        f"We train {m} end to end with the Adam optimizer, a learning rate of {c(['1e-4', '3e-4', '5e-5'])} "
        f"and a batch size of {c([16, 32, 64, 128])}. Training takes {r.randint(3, 40)} hours on "
        f"{c(['one', 'two', 'four', 'eight'])} GPUs.",
    ]
    exp = [
        c([f"We evaluate on {d0} and {d1}. {d0} is a benchmark of {n_examples[0]:,} examples collected from public "
           f"sources. {d1} is a benchmark of {n_examples[1]:,} examples with a held-out test set.",
           f"Our experiments use two benchmarks, {d0} ({n_examples[0]:,} examples) and {d1} "
           f"({n_examples[1]:,} examples)."]) + f" We report {metric} ({better} is better).",
        result(s0, b0, d0) + " " + result(s1, b1, d1),
        c([f"{m} is also {speedup} times faster than {base} at inference time.",
           f"At inference time, {m} runs {speedup} times faster than {base}."]) +
        f" Removing the {comps[1][0]} lowers the gain on {d0} by more than half, which shows that this component "
        f"matters most.",
    ]
    limits = [c([f"A limitation of {m} is that {limit}.", f"One limitation of {m} is that {limit}.",
                 f"The main limitation of {m} is that {limit}."]) + " " +
              c(["We leave a broader evaluation to future work.", "Addressing this is an open direction."])]
    conclusion = [f"We presented {m}, {_a(task)} method {goal}. It improves {metric} on two benchmarks and "
                  f"runs {speedup} times faster than {base}. We will release our code and models."]
    sections = [("1 Introduction", intro), ("2 Related Work", related), ("3 Method", method_par),
                ("4 Experiments", exp), ("5 Limitations", limits), ("6 Conclusion", conclusion)]
    references = [f"[{i + 1}] {c.replace(' et al.', '')}, {r.choice(INITIALS)}. and {r.choice(SURNAMES)}, "
                  f"{r.choice(INITIALS)}. {r.choice(['Scaling', 'Revisiting', 'Understanding', 'Improving'])} "
                  f"{r.choice(TASKS)[0]} {r.choice(['models', 'methods', 'baselines'])}. In {r.choice(VENUES)}, "
                  f"{r.randint(2015, 2025)}." for i, c in enumerate(cites)]
    facts = dict(method=method, baseline=baseline, task=task, metric=metric, datasets=datasets, scores=scores,
                 limit=limit, components=[c[0] for c in comps])
    return Paper(f"paper-{index:03d}", title, authors, abstract, sections, references, facts)


def make_papers(n: int, seed: int) -> list[Paper]:
    """``n`` different papers (no method name used twice), the same for the same ``seed``."""
    r, used = random.Random(seed), set()
    return [make_paper(r, i, used) for i in range(n)]


def write_pdf(paper: Paper, path: str | Path, hyphenate_every: int = 7) -> Path:
    """Write ``paper`` as a PDF of US-letter pages: running header, page numbers, hyphenated line breaks.

    Lines are wrapped here (not by a layout engine) so that every ``hyphenate_every``-th break that falls
    inside a long word splits it with a hyphen, as justified two-column PDFs often do.
    """
    from reportlab.lib.pagesizes import letter
    from reportlab.pdfbase.pdfmetrics import stringWidth
    from reportlab.pdfgen import canvas

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    width, height = letter
    margin, size, leading, font = 72, 10, 13, "Helvetica"
    usable = width - 2 * margin
    c = canvas.Canvas(str(path), pagesize=letter, invariant=1)  # invariant: the same bytes on every run
    c.setTitle(paper.title)
    c.setAuthor(", ".join(paper.authors))
    state = {"page": 1, "y": height - margin, "breaks": 0}

    def new_page():
        c.setFont(font, 8)
        c.drawString(margin, height - 40, HEADER)
        c.drawCentredString(width / 2, 36, str(state["page"]))
        state["y"] = height - margin

    def line(text: str, f: str = font, s: int = size):
        if state["y"] < margin + leading:
            c.showPage()
            state["page"] += 1
            new_page()
        c.setFont(f, s)
        c.drawString(margin, state["y"], text)
        state["y"] -= leading if s <= size else s + 6

    def paragraph(text: str, f: str = font, s: int = size):
        words, current = text.split(), ""
        for word in words:
            trial = f"{current} {word}".strip()
            if stringWidth(trial, f, s) <= usable:
                current = trial
                continue
            state["breaks"] += 1
            if len(word) >= 8 and word.isalpha() and state["breaks"] % hyphenate_every == 0:
                cut = len(word) // 2
                head = f"{current} {word[:cut]}-".strip()
                if stringWidth(head, f, s) <= usable:
                    line(head, f, s)
                    current = word[cut:]
                    continue
            line(current, f, s)
            current = word
        if current:
            line(current, f, s)
        state["y"] -= leading / 2

    new_page()
    paragraph(paper.title, "Helvetica-Bold", 14)
    paragraph(", ".join(paper.authors))
    paragraph("Abstract", "Helvetica-Bold")
    paragraph(paper.abstract)
    for heading, paragraphs in paper.sections:
        paragraph(heading, "Helvetica-Bold")
        for p in paragraphs:
            paragraph(p)
    paragraph("References", "Helvetica-Bold")
    for ref in paper.references:
        paragraph(ref, s=9)
    c.save()
    return path


def write_pdfs(n: int, seed: int, folder: str | Path) -> list[Path]:
    """Write ``n`` synthetic papers as PDFs into ``folder`` (``paper-000.pdf``...); returns their paths."""
    return [write_pdf(p, Path(folder) / f"{p.paper_id}.pdf") for p in make_papers(n, seed)]
