# ---
# jupyter:
#   jupytext:
#     formats: ipynb,py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#       format_version: '1.3'
#       jupytext_version: 1.19.6
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Measuring generated text
#
# The case chapters judge summaries with ROUGE {cite}`lin2004rouge` and classifiers with accuracy and
# macro-F1, always with confidence intervals. This chapter builds ROUGE from scratch and proves it gives
# exactly the numbers of Google's `rouge-score` package, shows the small choices that move ROUGE by
# several points, and measures how often a small test set names the wrong winner.
#
# **What you will learn**
# - how ROUGE-N, ROUGE-L and ROUGE-Lsum are computed, down to tokenization and stemming;
# - which choices change the numbers (tokenizer, stemming, sentence splitting, how you average);
# - bootstrap confidence intervals and the paired bootstrap test, and what they cannot do;
# - accuracy, macro-F1 and the confusion matrix, and why accuracy misleads on skewed classes.
#
# **Prerequisites**: none beyond Python. Terms: {term}`ROUGE`, {term}`paired bootstrap`,
# {term}`trivial baseline` (all in the {doc}`../book/glossary`).
#
# **Time and hardware**: under a minute on any CPU, offline, in every profile.

# %% [markdown]
# ## Setup
#
# In Colab, install the book's helper package first (this cell is skipped elsewhere).

# %% tags=["skip-execution", "hide-output"]
# %pip install --no-deps "llmft @ git+https://github.com/lora-casebook/lora-casebook@main"
import llmft.colab

llmft.colab.install()

# %%

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import sklearn.metrics
from IPython.display import display
from rouge_score import rouge_scorer

from llmft.data.synthetic.text_pairs import rouge_test_pairs
from llmft.evaluation import metrics
from llmft.foundations import rouge
from llmft.report.display import show_source
from llmft.runtime import print_versions, seed_everything

seed_everything(0)
print_versions()
KEYS = ("rouge1", "rouge2", "rougeL", "rougeLsum")


# %% [markdown]
# ## ROUGE, built from scratch
#
# ROUGE compares a generated text with a human reference by counting what they share, after
# **tokenization**: lowercase, every run of characters other than letters and digits becomes a space,
# and (optionally) words longer than three letters are reduced to their stem with Porter's stemmer, so
# that "killed" matches "kill".

# %%
show_source(rouge.tokenize)
print(rouge.tokenize("Police KILLED the gunmen, U.S. officials said."))

# %% [markdown]
# **ROUGE-N** counts the n-grams (runs of n tokens) the two texts share, each reference n-gram matched at
# most as often as it occurs. Recall divides by the reference's n-grams, precision by the prediction's,
# and F1 is their harmonic mean. **ROUGE-L** uses the longest common subsequence (LCS): words in the same
# order, gaps allowed. **ROUGE-Lsum** works sentence by sentence: for each reference sentence it takes the
# union of its LCS with every predicted sentence, so that a summary with its sentences in another order
# is not punished. It finds sentences by **newlines**.

# %%
show_source(rouge.rouge_n, rouge.rouge_l, rouge.rouge_lsum)

# %% [markdown]
# A worked example: reference "police killed the gunman", prediction "police kill gunman" with stemming.
# Tokens: `polic kill the gunman` and `polic kill gunman`. ROUGE-1: 3 shared unigrams, precision 3/3,
# recall 3/4, F1 = 6/7 = 0.857. ROUGE-2: the bigrams `polic kill` match, `kill gunman` does not (the
# reference has `kill the`, `the gunman`): precision 1/2, recall 1/3, F1 = 0.4.

# %%
worked = rouge.rouge("police killed the gunman", "police kill gunman")
pd.DataFrame({k: vars(v) for k, v in worked.items()}).T.round(4)

# %%
assert abs(worked["rouge1"].fmeasure - 6 / 7) < 1e-12 and abs(worked["rouge2"].fmeasure - 0.4) < 1e-12

# %% [markdown]
# ## Checked against `rouge-score`
#
# We score 500 varied pairs (windows of dialogue against summaries, shuffled and truncated summaries,
# multi-line texts, punctuation, case, empty strings) with our code and with `rouge-score`, with and
# without stemming, and compare precision, recall and F1 of all four metrics.

# %%
pairs = rouge_test_pairs(500, seed=0)
rows = []
for stem in (True, False):
    scorer = rouge_scorer.RougeScorer(list(KEYS), use_stemmer=stem)
    diffs = {k: 0.0 for k in KEYS}
    for reference, prediction in pairs:
        theirs, ours = scorer.score(reference, prediction), rouge.rouge(reference, prediction, stem)
        for k in KEYS:
            for field in ("precision", "recall", "fmeasure"):
                diffs[k] = max(diffs[k], abs(getattr(theirs[k], field) - getattr(ours[k], field)))
    rows.append({"stemming": stem, **{f"max |diff| {k}": v for k, v in diffs.items()}})
agreement = pd.DataFrame(rows).set_index("stemming")
agreement

# %%
assert (agreement.to_numpy() < 1e-9).all()

# %% [markdown]
# The two codes agree on every pair to floating-point precision. One detail matters for that: when a
# sentence pair has several longest common subsequences, ROUGE-Lsum's union depends on which one is read
# back, and we step back the same way `rouge-score` does (see `lcs_positions`).
#
# ## Pitfalls that change the numbers
#
# The same 500 pairs, scored in ways that papers and tutorials really use. Each line changes one thing
# from the reference setting (the `rouge-score` tokenizer with stemming, sentences on separate lines,
# F1 averaged over examples).

# %%
def corpus(pairs, score_fn, key):
    return float(np.mean([score_fn(r, p)[key].fmeasure for r, p in pairs]))


def whitespace_rouge(reference, prediction):
    """A naive variant: split on spaces only, keep case and punctuation."""
    ref, pred = reference.split(), prediction.split()
    return {"rouge1": rouge.rouge_n(ref, pred, 1), "rougeL": rouge.rouge_l(ref, pred)}


one_line = [(r.replace("\n", " "), p.replace("\n", " ")) for r, p in pairs]
all_scores = [rouge.rouge(r, p) for r, p in pairs]
mean_p = np.mean([s["rouge1"].precision for s in all_scores])
mean_r = np.mean([s["rouge1"].recall for s in all_scores])
pitfalls = pd.DataFrame([
    ("reference setting", "ROUGE-1", corpus(pairs, rouge.rouge, "rouge1")),
    ("no stemming", "ROUGE-1", corpus(pairs, lambda r, p: rouge.rouge(r, p, stem=False), "rouge1")),
    ("split on spaces, keep case and punctuation", "ROUGE-1", corpus(pairs, whitespace_rouge, "rouge1")),
    ("F1 of the mean precision and mean recall", "ROUGE-1", rouge.f1(mean_p, mean_r)),
    ("reference setting", "ROUGE-Lsum", corpus(pairs, rouge.rouge, "rougeLsum")),
    ("newlines removed before ROUGE-Lsum", "ROUGE-Lsum", corpus(one_line, rouge.rouge, "rougeLsum")),
    ("ROUGE-L (for comparison)", "ROUGE-L", corpus(one_line, rouge.rouge, "rougeL")),
], columns=["setting", "metric", "mean F1"]).set_index(["metric", "setting"])
pitfalls.style.format(precision=4).set_caption(f"One set of {len(pairs)} synthetic pairs, scored seven ways")

# %%
p = pitfalls["mean F1"]
assert p[("ROUGE-1", "split on spaces, keep case and punctuation")] < p[("ROUGE-1", "no stemming")] < p[("ROUGE-1", "reference setting")]
assert abs(p[("ROUGE-Lsum", "newlines removed before ROUGE-Lsum")] - p[("ROUGE-L", "ROUGE-L (for comparison)")]) < 1e-12
tokenization = 100 * (p[("ROUGE-1", "no stemming")] - p[("ROUGE-1", "split on spaces, keep case and punctuation")])
stemming = 100 * (p[("ROUGE-1", "reference setting")] - p[("ROUGE-1", "no stemming")])
print(f"Tokenization moved ROUGE-1 by {tokenization:.1f} points here (x100 scale); stemming by {stemming:.1f}.")

# %% [markdown]
# - **Tokenization** moved ROUGE-1 by the most here (the line above); **stemming** by much less, because these
#   synthetic texts repeat the same word forms. Either can move every system's score: compare only numbers
#   computed the same way.
# - **ROUGE-Lsum without newlines is just ROUGE-L**: the package only sees sentences on separate lines.
#   Split sentences onto lines before scoring; `llmft.evaluation.metrics` splits at sentence-ending punctuation.
# - **Averaging**: the mean of per-example F1 is not the F1 of mean precision and mean recall.
#
# ## One example is not evidence
#
# A test set is a sample. Suppose system B is better than system A on average over all the documents it
# could ever see, but not on every document. How often does a test set of $n$ documents say A wins? We
# simulate a population of 20,000 documents with per-document scores for both systems (B better by about
# 0.03 on average, with document-to-document noise), draw 200 test sets of each size, and count.

# %%
rng = np.random.default_rng(0)
population_a = rng.beta(4, 6, 20_000)
population_b = np.clip(population_a + 0.03 + rng.normal(0, 0.12, population_a.size), 0, 1)
sizes = [1, 5, 20, 50, 100, 200, 500]
study = pd.DataFrame(metrics.sampling_study(population_a, population_b, sizes, reps=200)).T.rename_axis("test set size")
print(f"population means: A {population_a.mean():.3f}, B {population_b.mean():.3f}")
fig, ax = plt.subplots(figsize=(6.4, 3.6))
for column in study:
    ax.plot(study.index, study[column], "o-", label=column)
ax.set(xscale="log", xlabel="test set size (documents)", ylabel="share of 200 test sets",
       title="How often a test set misleads (B truly better by 0.03)")
ax.legend()
ax.grid(alpha=0.3)
fig.tight_layout()
study

# %% [markdown]
# With a handful of examples, the wrong system wins about a third of the time. The **paired bootstrap**
# {cite}`koehn2004significance` resamples test documents with replacement, keeping each document's two
# scores together, and reports an interval for B minus A. With 100 documents it detects this small
# improvement most of the time, and with 500 every time. Note the first row: with a single document every
# resample is the same document, the interval collapses to a point, and the test claims certainty whenever
# B wins that one document. A bootstrap cannot make a tiny sample informative.
#
# Two things the interval is not. It covers **the sampling of test documents only**: each system was trained
# once, and another training seed would give another model. "B beats A" from one run each reads "on this test
# set, one training run each"; a claim about two *training methods* needs several seeds (at least three) per
# method. And the share of resamples in which B does not win is not a p-value (the resamples are centred on the
# observed difference, not on "no difference"). The book's $p$ comes from a test centred on the null hypothesis,
# **paired approximate randomization** {cite}`berg2012empirical`: if A and B were interchangeable, swapping an
# example's two scores would change nothing, so swap each pair at random 1,000 times and count how often the mean
# difference is at least the observed one.

# %%
assert study.loc[5, "wrong winner"] > 0.2 and study.loc[500, "wrong winner"] < 0.02
assert study.loc[500, "paired bootstrap finds B better"] > 0.95
assert study.loc[5, "paired bootstrap finds B better"] < study.loc[100, "paired bootstrap finds B better"]

# %% [markdown]
# The functions the case chapters use are short:

# %%
show_source(metrics.bootstrap_ci, metrics.paired_bootstrap, metrics.paired_randomization)

# %% [markdown]
# ## Several references per input
#
# DialogSum's test split has three human summaries per dialogue, and case 2 scores an output against all of
# them. There are three ways to turn three scores into one, and they give different numbers for the same output:
# the **max** (the best-matching reference: what case 2 and most libraries report), the **mean**, and
# **jackknifing**, the ROUGE paper's procedure {cite}`lin2004rouge`: with $k$ references, take the max over each
# of the $k$ subsets of $k-1$ references and average those, so that a system is scored as a human reference
# would be against the other humans. Here is one made-up output against three references:

# %%
references = ["#Person1# asks #Person2# when the train to Leeds leaves.",
              "#Person2# tells #Person1# that the Leeds train leaves at noon.",
              "#Person1# wants to travel to Leeds and checks the timetable."]
output = "#Person1# asks when the train to Leeds leaves."
each = [rouge.rouge(r, output)["rougeL"].fmeasure for r in references]
jackknife = np.mean([max(each[:i] + each[i + 1:]) for i in range(len(each))])
multi = pd.DataFrame({"ROUGE-L F1": {"reference 1": each[0], "reference 2": each[1], "reference 3": each[2],
                                     "max (best match)": max(each), "mean": np.mean(each),
                                     "jackknife (mean of max over each 2 of 3)": jackknife}})
assert max(each) >= jackknife >= np.mean(each)
multi.style.format("{:.3f}").set_caption("One output, three references: three ways to combine")

# %% [markdown]
# The max is never below the jackknifed score, which is never below the mean. So a score against the best of
# three references is **not comparable** with a published single-reference figure, nor with one that averaged
# or jackknifed: compare only numbers computed the same way, and say which way a table uses (case 2's tables
# say "best of the references").

# %% [markdown]
# ## Classification: accuracy, macro-F1, the confusion matrix
#
# **Accuracy** is the share of correct predictions. **Macro-F1** computes F1 for each class (how well it
# is found and how clean its predictions are) and averages the classes equally, so a rare class counts
# as much as a common one. The **confusion matrix** shows which classes are mistaken for which. We check
# ours against scikit-learn on a random 4-class problem, then look at a skewed one.

# %%
labels = ["World", "Sports", "Business", "Sci/Tech"]
y_true = rng.integers(0, 4, 1000)
y_pred = np.where(rng.random(1000) < 0.8, y_true, rng.integers(0, 4, 1000))
ours = (metrics.accuracy(y_true, y_pred), metrics.macro_f1(y_true, y_pred, 4), metrics.confusion_matrix(y_true, y_pred, 4))
theirs = (sklearn.metrics.accuracy_score(y_true, y_pred), sklearn.metrics.f1_score(y_true, y_pred, average="macro"),
          sklearn.metrics.confusion_matrix(y_true, y_pred, labels=range(4)))
print(f"accuracy {ours[0]:.4f} (scikit-learn {theirs[0]:.4f}); macro-F1 {ours[1]:.6f} (scikit-learn {theirs[1]:.6f})")
assert ours[0] == theirs[0] and abs(ours[1] - theirs[1]) < 1e-12 and (ours[2] == theirs[2]).all()

# %% [markdown]
# Now a skewed test set, 90 % of it one class, and a lazy classifier that always predicts that class:

# %%
skewed = rng.choice(4, size=1000, p=[0.90, 0.05, 0.03, 0.02])
lazy = np.zeros_like(skewed)
skew = pd.DataFrame({"accuracy": [metrics.accuracy(skewed, lazy)],
                     "macro-F1": [metrics.macro_f1(skewed, lazy, 4)]}, index=["always 'World'"])
display(skew.round(3))
fig, axes = plt.subplots(1, 2, figsize=(7.2, 3.4))
for ax, (title, yt, yp) in zip(axes, [("random 4-class problem", y_true, y_pred), ("lazy classifier, skewed data", skewed, lazy)]):
    m = metrics.confusion_matrix(yt, yp, 4)
    ax.imshow(m, cmap="Blues")
    for i in range(4):
        for j in range(4):
            ax.text(j, i, m[i, j], ha="center", va="center", color="white" if m[i, j] > m.max() / 2 else "black")
    ax.set(xticks=range(4), yticks=range(4), xticklabels=labels, yticklabels=labels, xlabel="predicted class",
           ylabel="true class", title=title)
fig.tight_layout()

# %%
assert skew.iloc[0, 0] > 0.85 and skew.iloc[0, 1] < 0.3

# %% [markdown]
# The lazy classifier scores about 90 % accuracy and learns nothing; macro-F1 exposes it, and the confusion
# matrix shows why: one column holds every prediction. AG News (case 5) is balanced, but report both.
#
# ## Summary
#
# - ROUGE is counting after tokenization: n-gram overlap (ROUGE-N), longest common subsequence (ROUGE-L),
#   and its sentence-by-sentence union (ROUGE-Lsum). Our 100-line version matches `rouge-score` exactly.
# - Stemming, tokenization, sentence splitting and the way you average each move the numbers: compare
#   only scores computed the same way, and give ROUGE-Lsum its newlines.
# - Small test sets name the wrong winner often; report bootstrap intervals and compare systems with a
#   paired test on the same examples, and never trust an interval from a handful of them.
# - An interval or a p-value covers the test inputs, not training seeds: one run each says "on this test set,
#   one training run each".
# - With several references per input, the best match (max) scores higher than the average: compare such
#   scores only with scores computed the same way.
# - On skewed classes accuracy flatters a useless model; macro-F1 and the confusion matrix do not.
#
# ## Exercises
#
# 1. **Stemming.** Stemming can only add matches, never remove them. Find a pair where it *raises*
#    ROUGE-1 for a wrong reason. *Hint: Porter's stemmer maps some unrelated words to one stem, for example
#    "university" and "universe" (both "univers"), or "general" and "generous" (both "gener").*
# 2. **Length.** Make predictions longer by repeating words of the reference. What happens to ROUGE-1
#    precision, recall and F1? *Hint: matches are clipped at the reference's counts.*
# 3. **Smaller effects.** Rerun the sampling study with B better by 0.01. How many documents does the
#    paired bootstrap need to find it half of the time? *Hint: the noise per document stays 0.12.*
# 4. **Unpaired.** Compare the paired bootstrap with two separate intervals that do not overlap. Which
#    detects the improvement with fewer documents, and why? *Hint: the two systems' scores are correlated.*
#
# ````{admonition} Solutions
# :class: dropdown
# **1. Stemming.**
# ```python
# rouge.rouge("the university opened", "the universe opened")["rouge1"]              # with stemming
# rouge.rouge("the university opened", "the universe opened", stem=False)["rouge1"]
# ```
# With stemming both words become "univers" and the prediction scores a perfect ROUGE-1 although it names the wrong
# thing; without stemming it scores 2 of 3. Stemming helps more often than it hurts (it matches "killed" with
# "kill"), which is why ROUGE uses it, but it cannot tell meanings apart.
#
# **2. Length.**
# ```python
# rouge.rouge("police killed the gunman", "police killed the gunman police police killed")["rouge1"]
# ```
# Recall stays at 1: every reference word is already matched, and matches are clipped at the reference's counts,
# so a repeated word matches nothing more. Precision falls (4 of 7 words match), and so does F1. Padding an output
# with reference words does not pay.
#
# **3. Smaller effects.**
# ```python
# rng = np.random.default_rng(0)
# population_a = rng.beta(4, 6, 20_000)
# population_b = np.clip(population_a + 0.01 + rng.normal(0, 0.12, population_a.size), 0, 1)
# metrics.sampling_study(population_a, population_b, [200, 500], reps=50)
# ```
# The interval excludes zero about half the time when the mean difference is about 1.96 standard errors:
# $0.01 \approx 1.96 \times 0.12 / \sqrt{n}$, so $n \approx (1.96 \times 0.12 / 0.01)^2 \approx 550$ documents.
# A third of the effect needs nine times the documents: $n$ grows like $1/\delta^2$.
#
# **4. Unpaired.** The paired bootstrap wins. Two separate intervals each carry the whole document-to-document
# spread of one system's scores (the documents' difficulty, shared by both systems), and they must not overlap,
# which needs a difference of about $1.96$ times the *sum* of the two standard errors. The paired difference removes
# what the two systems share: its spread here is the 0.12 of noise alone, and one interval of it is enough. Which
# is why every case chapter compares systems on the same test inputs.
# ````
#
# ## References
#
# Cited on this page: ROUGE {cite}`lin2004rouge`, the bootstrap {cite}`efron1993introduction`, the paired bootstrap
# {cite}`koehn2004significance`, approximate randomization {cite}`berg2012empirical`, and Porter's stemmer
# {cite}`porter1980algorithm`.
# Full entries are on the {doc}`../book/references` page.
