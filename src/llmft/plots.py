"""Figures the chapters share: loss curves, metric bars with intervals, length histograms, confusion matrices."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np

from llmft.metrics import Estimate


def loss_curves(histories: dict[str, list[tuple[int, float]]], title: str = "Training loss",
                ylabel: str = "cross-entropy loss (nats/token)"):
    fig, ax = plt.subplots(figsize=(6.4, 3.6))
    for name, hist in histories.items():
        steps, losses = zip(*hist)
        ax.plot(steps, losses, marker="o", markersize=3, label=name)
    ax.set(xlabel="optimizer step", ylabel=ylabel, title=title)
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    return fig


def metric_bars(systems: dict[str, dict[str, Estimate]], metrics: tuple[str, ...], title: str, ylabel: str = "F1"):
    """Grouped bars, one group per metric, one bar per system, with 95 % bootstrap intervals."""
    fig, ax = plt.subplots(figsize=(6.4, 4.4))
    x = np.arange(len(metrics))
    width = 0.8 / len(systems)
    for i, (name, est) in enumerate(systems.items()):
        means = np.array([est[m].mean for m in metrics])
        err = np.array([[est[m].mean - est[m].ci_low for m in metrics], [est[m].ci_high - est[m].mean for m in metrics]])
        ax.bar(x + (i - (len(systems) - 1) / 2) * width, means, width, yerr=err, capsize=3, label=name)
    ax.set_xticks(x, metrics)
    ax.set(ylabel=ylabel, title=title, ylim=(0, 1))
    # below the axes, so that the legend never hides a bar
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.1), ncol=min(3, len(systems)), fontsize=8, frameon=False)
    ax.grid(axis="y", alpha=0.3)
    fig.tight_layout()
    return fig


def length_histogram(lengths: dict[str, np.ndarray], limits: dict[str, int | tuple[int, ...]], title: str):
    """One panel per text field, with the truncation limit (or several candidate limits) drawn in."""
    fig, axes = plt.subplots(1, len(lengths), figsize=(3.4 * len(lengths), 3.2))
    axes = np.atleast_1d(axes)
    for ax, (name, values) in zip(axes, lengths.items()):
        ax.hist(values, bins=30, color="tab:blue", alpha=0.8)
        if name in limits:
            marks = limits[name] if isinstance(limits[name], tuple) else (limits[name],)
            for mark, style in zip(marks, ("--", ":", "-.")):
                ax.axvline(mark, color="tab:red", linestyle=style, label=f"limit {mark}")
            ax.legend()
        ax.set(xlabel="length (tokens)", ylabel="examples", title=name)
    fig.suptitle(title)
    fig.tight_layout()
    return fig


def metric_by_limit(curves: dict[str, dict[int, Estimate]], title: str, ylabel: str = "ROUGE-L F1",
                    flat: dict[str, Estimate] | None = None):
    """One line per system: a metric (with 95 % intervals) against the input limit in tokens; ``flat``
    systems, which do not depend on the limit, as dashed lines."""
    fig, ax = plt.subplots(figsize=(6.4, 3.8))
    for name, points in curves.items():
        xs = sorted(points)
        means = np.array([points[x].mean for x in xs])
        err = np.array([[points[x].mean - points[x].ci_low for x in xs], [points[x].ci_high - points[x].mean for x in xs]])
        ax.errorbar(xs, means, yerr=err, marker="o", capsize=3, label=name)
    for name, est in (flat or {}).items():
        ax.axhline(est.mean, linestyle="--", color="grey", alpha=0.8)
        # x in axes fraction, y in data: the label sits on its line whatever the x scale
        ax.text(0.01, est.mean, f" {name}", transform=ax.get_yaxis_transform(), va="bottom", fontsize=8, color="dimgrey")
    ax.set_xscale("log", base=2)
    xs = sorted({x for points in curves.values() for x in points})
    ax.set_xticks(xs, [str(x) for x in xs])
    ax.set(xlabel="input limit (tokens)", ylabel=ylabel, title=title)
    ax.grid(alpha=0.3)
    ax.legend(loc="lower right")
    fig.tight_layout()
    return fig


def confusion(matrix: np.ndarray, labels: tuple[str, ...], title: str):
    """Rows: the true class; columns: the predicted class; each row as shares of that class, with counts."""
    shares = matrix / np.maximum(matrix.sum(1, keepdims=True), 1)
    fig, ax = plt.subplots(figsize=(4.8, 4.2))
    ax.imshow(shares, cmap="Blues", vmin=0, vmax=1)
    for i in range(len(labels)):
        for j in range(len(labels)):
            ax.text(j, i, f"{matrix[i, j]}\n{100 * shares[i, j]:.0f} %", ha="center", va="center", fontsize=8,
                    color="white" if shares[i, j] > 0.6 else "black")
    ax.set_xticks(range(len(labels)), labels, rotation=30, ha="right")
    ax.set_yticks(range(len(labels)), labels)
    ax.set(xlabel="predicted", ylabel="true", title=title)
    fig.tight_layout()
    return fig


def precision_panels(rows: dict[str, dict[str, float]], title: str, errors: dict[str, tuple[float, float]] | None = None):
    """One panel per measure (``{precision: {measure: value}}``), one bar per precision; ``errors`` gives
    ``(low, high)`` intervals for the measure named ``ROUGE-L``."""
    names = list(rows)
    measures = list(next(iter(rows.values())))
    fig, axes = plt.subplots(1, len(measures), figsize=(3.0 * len(measures), 3.2))
    for ax, m in zip(np.atleast_1d(axes), measures):
        values = [rows[n][m] for n in names]
        yerr = None
        if errors and m == "ROUGE-L":
            yerr = np.array([[v - errors[n][0] for n, v in zip(names, values)],
                             [errors[n][1] - v for n, v in zip(names, values)]])
        ax.bar(names, values, yerr=yerr, capsize=3, color=["#4c72b0", "#dd8452", "#55a868"][: len(names)])
        ax.set_title(m, fontsize=10)
        ax.grid(axis="y", alpha=0.3)
        ax.tick_params(axis="x", labelsize=8)
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    return fig
