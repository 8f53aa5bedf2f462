"""What a case chapter claims about its run, checked the same way in every chapter.

A chapter lists its claims (the tuned model beats zero-shot and the best trivial baseline on held-out data, with
the paired bootstrap's lower bound above zero; its text is real text; its answers stop). :func:`check` shows them
as a table of verdicts and then:

* in ``smoke`` on the book's own data, **asserts** them: the book's claims about its own data must hold, or the
  chapter stops before its results file is written;
* on your own files (``$LLMFT_DATA``, or case 4's ``$LLMFT_PAPERS``), or in ``t4`` / ``full``, **states** them:
  a run on other data may honestly come out either way, and the verdicts go into the results file.

The chapter writes its results file only after :func:`check` returns, with the verdicts in it.
"""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass

from llmft.data import DATA_ENV
from llmft.data.papers.sources import PAPERS_ENV
from llmft.evaluation.metrics import PairedComparison
from llmft.report.display import text_table
from llmft.runtime import Run

# Settings that point a chapter at a reader's own data.
OWN_DATA = (DATA_ENV, PAPERS_ENV)


@dataclass(frozen=True)
class Claim:
    claim: str
    holds: bool
    evidence: str


def beats(system: str, baseline: str, comparison: PairedComparison, metric: str) -> Claim:
    """``system`` beats ``baseline`` on ``metric``: the paired bootstrap's 95 % interval of the difference lies above 0."""
    d = comparison.diff
    return Claim(f"{system} beats {baseline} ({metric})", d.ci_low > 0,
                 f"difference {d.mean:+.3f} [{d.ci_low:+.3f}, {d.ci_high:+.3f}] (paired bootstrap, 95 %)")


def at_least(what: str, value: float, bound: float, percent: bool = True) -> Claim:
    fmt = (lambda v: f"{100 * v:.1f} %") if percent else (lambda v: f"{v:.3g}")
    return Claim(f"{what} is at least {fmt(bound)}", value >= bound, fmt(value))


def at_most(what: str, value: float, bound: float, percent: bool = True) -> Claim:
    fmt = (lambda v: f"{100 * v:.1f} %") if percent else (lambda v: f"{v:.3g}")
    return Claim(f"{what} is at most {fmt(bound)}", value <= bound, fmt(value))


@dataclass
class Verdicts:
    claims: list[Claim]
    asserted: bool  # the book asserts them (smoke, its own data); else they are stated
    why: str

    @property
    def all_hold(self) -> bool:
        return all(c.holds for c in self.claims)

    def table(self):
        import pandas as pd

        return pd.DataFrame({"claim": [c.claim for c in self.claims],
                             "verdict": ["holds" if c.holds else "does NOT hold" for c in self.claims],
                             "evidence": [c.evidence for c in self.claims]})

    def as_dict(self) -> dict:
        return {"asserted": self.asserted, "why": self.why, "all_hold": self.all_hold,
                "claims": [asdict(c) for c in self.claims]}


def own_data() -> bool:
    """Whether this run reads a reader's own data rather than the book's."""
    return any(os.environ.get(name, "").strip() for name in OWN_DATA)


def check(run: Run, claims: list[Claim], show=None) -> Verdicts:
    """Show the verdicts; in ``smoke`` on the book's own data raise ``AssertionError`` naming every claim that fails."""
    asserted = run.profile.name == "smoke" and not own_data()
    why = ("asserted: the smoke profile on the book's own data" if asserted else
           "stated, not asserted: " + ("your own data" if own_data() else f"the '{run.profile.name}' profile"))
    verdicts = Verdicts(list(claims), asserted, why)
    if show is None:
        from IPython.display import display as show
    show(text_table(verdicts.table(), f"The chapter's claims on held-out data ({why})"))
    failed = [c for c in verdicts.claims if not c.holds]
    if asserted and failed:
        raise AssertionError("the chapter's claims do not hold on the book's own data: "
                             + "; ".join(f"{c.claim} ({c.evidence})" for c in failed))
    return verdicts
