"""The settings chapter's figures: one per question, each point a mean over seeds with its 95 % t interval."""

from __future__ import annotations

import matplotlib.pyplot as plt
from matplotlib.ticker import NullLocator

from llmft.report.plots import finish, panels
from llmft.studies.settings import Arm, RunResult, summary

Results = dict[str, list[RunResult]]


def _errorbar(ax, xs, stats, label: str, **kwargs) -> None:
    means = [s["mean"] for s in stats]
    low = [s["mean"] - s["ci_low"] for s in stats]
    high = [s["ci_high"] - s["mean"] for s in stats]
    ax.errorbar(xs, means, yerr=[low, high], fmt="o-", capsize=3, markersize=4, label=label, **kwargs)


def _said(points) -> str:
    return "; ".join(f"{x}: {s['mean']:.3f} [{s['ci_low']:.3f}, {s['ci_high']:.3f}]" for x, s in points)


def rank(results: Results, group: list[Arm], reference: Arm, produced_by: str, what: str = "accuracy",
         ylabel: str = "held-out accuracy", reference_name: str = "head only", legend: str = "lower right"):
    """``what`` (accuracy) against r (log scale) with the reference arm (head only) as a line; adapter parameters
    against r beside it."""
    fig, (acc, size) = panels(2)
    lora = [a for a in group if a.r > 0 and not a.full]
    stats = [summary(results, a.label, what) for a in lora]
    _errorbar(acc, [a.r for a in lora], stats, f"LoRA (q,v), α = {lora[0].alpha:g}")
    head = summary(results, reference.label, what)
    acc.axhspan(head["ci_low"], head["ci_high"], color="grey", alpha=0.2)
    acc.axhline(head["mean"], color="grey", linestyle="--", linewidth=1, label=reference_name)
    acc.set(xscale="log", xlabel="rank r", ylabel=ylabel, title="Quality against rank")
    acc.set_xticks([a.r for a in lora], [str(a.r) for a in lora])
    acc.xaxis.set_minor_locator(NullLocator())
    acc.legend(fontsize=8, loc=legend)
    size.plot([a.r for a in lora], [results[a.label][0].adapter for a in lora], "o-")
    size.set(xscale="log", yscale="log", xlabel="rank r", ylabel="adapter parameters", title="Cost against rank")
    size.set_xticks([a.r for a in lora], [str(a.r) for a in lora])
    size.xaxis.set_minor_locator(NullLocator())
    for ax in (acc, size):
        ax.grid(alpha=0.3)
    fig.suptitle(f"LoRA's rank ({produced_by})", fontsize=10)
    return finish(fig, f"Two panels. Left: {ylabel} against LoRA's rank on a log scale, means over seeds "
                       f"with 95 % intervals ({_said(zip([a.r for a in lora], stats))}), and the {reference_name} arm as a "
                       f"dashed line at {head['mean']:.3f}. Right: the adapter's parameters, growing in proportion "
                       f"to r, from {results[lora[0].label][0].adapter:,} to {results[lora[-1].label][0].adapter:,}.")


def scaling(results: Results, group: list[Arm], produced_by: str):
    """Accuracy against r for α/r and α/√r, and each arm's scale against r."""
    fig, (acc, scale) = panels(2)
    lines = {"α/r (LoRA)": [a for a in group if not a.rslora], "α/√r (rsLoRA)": [a for a in group if a.rslora or a.r == 1]}
    said = []
    for name, arms in lines.items():
        arms = sorted(arms, key=lambda a: a.r)
        stats = [summary(results, a.label) for a in arms]
        _errorbar(acc, [a.r for a in arms], stats, name)
        scale.plot([a.r for a in arms], [a.scale for a in arms], "o-", label=name)
        said.append(f"{name}: {_said(zip([a.r for a in arms], stats))}")
    acc.set(xscale="log", xlabel="rank r", ylabel="held-out accuracy", title="Quality")
    scale.set(xscale="log", yscale="log", xlabel="rank r", ylabel="scale of B·A", title="The scale each applies")
    ranks = sorted({a.r for a in group})
    scales = sorted({a.scale for a in group})
    scale.set_yticks(scales, [f"{v:g}" for v in scales])
    scale.yaxis.set_minor_locator(NullLocator())
    for ax in (acc, scale):
        ax.set_xticks(ranks, [str(r) for r in ranks])
        ax.xaxis.set_minor_locator(NullLocator())
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    fig.suptitle(f"α/r against α/√r at α = 8 and one learning rate ({produced_by})", fontsize=10)
    return finish(fig, "Two panels. Left: held-out accuracy against rank for LoRA's α/r scaling and rsLoRA's α/√r, "
                       "means with 95 % intervals (" + "; ".join(said) + "). Right: the scale each applies, α/r "
                       "falling as 1/r and α/√r as 1/√r.")


def learning_rate(results: Results, group: list[Arm], produced_by: str):
    """Accuracy against the learning rate, LoRA and full fine-tuning on one log axis."""
    fig, ax = plt.subplots(figsize=(6.4, 3.6))
    said = []
    for name, arms in (("LoRA r=8 (q,v)", [a for a in group if not a.full]),
                       ("full fine-tuning", [a for a in group if a.full])):
        arms = sorted(arms, key=lambda a: a.learning_rate)
        stats = [summary(results, a.label) for a in arms]
        _errorbar(ax, [a.learning_rate for a in arms], stats, name)
        said.append(f"{name}: {_said(zip([f'{a.learning_rate:g}' for a in arms], stats))}")
    ax.set(xscale="log", xlabel="peak learning rate", ylabel="held-out accuracy",
           title=f"The learning rate: LoRA against full fine-tuning ({produced_by})")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    return finish(fig, "Held-out accuracy against the peak learning rate on a log scale, LoRA and full fine-tuning "
                       "as two lines, means with 95 % intervals. " + "; ".join(said) + ".")


def paired_bars(diffs: dict[str, dict], title: str, xlabel: str):
    """Horizontal bars: each arm's paired difference to the reference, with its interval."""
    names = list(diffs)
    fig, ax = plt.subplots(figsize=(6.4, 0.6 * len(names) + 1.4))
    for i, name in enumerate(names):
        d = diffs[name]
        ax.errorbar(d["mean"], i, xerr=[[d["mean"] - d["ci_low"]], [d["ci_high"] - d["mean"]]], fmt="o", capsize=4)
    ax.axvline(0, color="black", linewidth=0.8)
    ax.set_yticks(range(len(names)), names)
    ax.set(xlabel=xlabel, title=title)
    ax.grid(alpha=0.3, axis="x")
    return finish(fig, f"{title}. Paired differences with 95 % intervals: "
                       + "; ".join(f"{n}: {d['mean']:+.3f} [{d['ci_low']:+.3f}, {d['ci_high']:+.3f}]"
                                   for n, d in diffs.items()) + ".")


def forgetting(results: Results, group: list[Arm], base_recall: float, produced_by: str, what: str = "accuracy",
               probe: str = "probe_recall", xlabel: str = "accuracy on the new task (topics)",
               ylabel: str = "headline recall (old skill)", probe_name: str = "headline recall"):
    """Each learning rate's run as a point: ``what`` on the new task (accuracy) against the old skill ``probe`` the
    base model had (headline recall)."""
    fig, ax = plt.subplots(figsize=(6.4, 3.8))
    said = []
    for name, marker, arms in (("LoRA r=8 (q,v)", "o", [a for a in group if not a.full]),
                               ("full fine-tuning", "s", [a for a in group if a.full])):
        xs, ys = [], []
        for a in sorted(arms, key=lambda a: a.learning_rate):
            acc, rec = summary(results, a.label, what), summary(results, a.label, probe)
            xs.append(acc["mean"])
            ys.append(rec["mean"])
            ax.annotate(f"{a.learning_rate:g}", (acc["mean"], rec["mean"]), textcoords="offset points",
                        xytext=(5, 3), fontsize=7)
            said.append(f"{name} at {a.learning_rate:g}: {xlabel.split(' (')[0]} {acc['mean']:.3f}, "
                        f"{probe_name} {rec['mean']:.3f}")
        ax.plot(xs, ys, marker=marker, linestyle=":", label=name)
    ax.axhline(base_recall, color="grey", linestyle="--", linewidth=1, label="base model, before tuning")
    ax.set(xlabel=xlabel, ylabel=ylabel,
           title=f"Learning against forgetting, one point per learning rate ({produced_by})")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, loc="lower right")
    ax.set_ylim(0, 1.05)  # a share: room above the top points for their labels
    return finish(fig, f"Scatter of the old skill ({probe_name}; the base model scored {base_recall:.3f}) against "
                       f"{xlabel.split(' (')[0]}, each point a learning rate, means over seeds: " + "; ".join(said)
                  + ".")


def arm_bars(results: Results, group: list[Arm], title: str, what: str = "accuracy",
             xlabel: str = "held-out accuracy", xlim: tuple | None = (0, 1)):
    """Horizontal bars: each arm's ``what`` (accuracy) with its interval, labelled with its trained adapter size."""
    stats = [summary(results, a.label, what) for a in group]
    names = [f"{a.label}\n({results[a.label][0].adapter:,} adapter parameters)" for a in group]
    fig, ax = plt.subplots(figsize=(6.4, 0.7 * len(group) + 1.4))
    for i, s in enumerate(stats):
        ax.barh(i, s["mean"], color="#9ecae1")
        ax.errorbar(s["mean"], i, xerr=[[s["mean"] - s["ci_low"]], [s["ci_high"] - s["mean"]]], fmt="none",
                    ecolor="black", capsize=4)
    ax.set_yticks(range(len(group)), names, fontsize=8)
    ax.set(xlabel=xlabel, title=title, xlim=xlim)
    ax.grid(alpha=0.3, axis="x")
    return finish(fig, f"{title}. Bars of {xlabel} with 95 % intervals: "
                       + "; ".join(f"{a.label} ({results[a.label][0].adapter:,} adapter parameters): {s['mean']:.3f} "
                                   f"[{s['ci_low']:.3f}, {s['ci_high']:.3f}]" for a, s in zip(group, stats)) + ".")
