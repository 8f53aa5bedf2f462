"""Figures the chapters share: loss curves, metric bars with intervals, length histograms, confusion matrices.

Every figure is at most :data:`MAX_WIDTH` inches wide (drawn at 100 dpi, it fits the page's text column unscaled;
panels that would not fit side by side go in rows), its titles are wrapped to that width, and it carries an alt
text that says what it shows (:func:`alt_text`), written into the PNG the notebook stores; the book's Sphinx
extension puts it on the page's ``<img>``.
"""

from __future__ import annotations

import math
import textwrap

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.figure import Figure

from llmft.evaluation.metrics import Estimate

MAX_WIDTH = 7.2  # inches: 720 px at 100 dpi, inside the book's text column (about 750 px)


def _wrap(text: str, width_in: float, fontsize: float) -> str:
    """``text`` broken into lines that fit ``width_in`` inches at ``fontsize`` points (about 0.55 em a character)."""
    per_line = max(20, int(width_in * 72 / (0.55 * fontsize)))
    return "\n".join(textwrap.fill(part, per_line) for part in str(text).split("\n"))


def panels(n: int, panel: tuple[float, float] = (3.4, 3.2)):
    """``n`` axes of about ``panel`` inches, side by side while they fit :data:`MAX_WIDTH`, else in rows."""
    cols = max(1, min(n, int(MAX_WIDTH // panel[0])))
    rows = math.ceil(n / cols)
    width = min(MAX_WIDTH, cols * panel[0])
    fig, axes = plt.subplots(rows, cols, figsize=(width, rows * panel[1]), squeeze=False)
    flat = list(axes.ravel())
    for ax in flat[n:]:
        ax.remove()
    return fig, flat[:n]


def describe(fig: Figure) -> str:
    """A plain description of a figure from its own titles and axis labels (for figures made without one)."""
    parts = []
    if fig._suptitle is not None and fig._suptitle.get_text():
        parts.append(fig._suptitle.get_text().replace("\n", " "))
    for ax in fig.axes:
        bits = [ax.get_title().replace("\n", " ")] if ax.get_title() else []
        if ax.get_xlabel() or ax.get_ylabel():
            bits.append(f"{ax.get_ylabel() or 'values'} against {ax.get_xlabel() or 'position'}")
        if bits:
            parts.append(": ".join(bits))
    return "Figure. " + "; ".join(parts) if parts else "Figure."


def alt_text(fig: Figure) -> str:
    """The figure's alt text: what a plot function said it shows, else :func:`describe`."""
    return getattr(fig, "alt_text", None) or describe(fig)


def finish(fig: Figure, alt: str | None = None) -> Figure:
    """Wrap the titles to the figure's width, lay it out, attach ``alt`` and make sure the notebook stores it."""
    width = fig.get_figwidth()
    if fig._suptitle is not None:
        fig._suptitle.set_text(_wrap(fig._suptitle.get_text(), width, fig._suptitle.get_fontsize()))
    for ax in fig.axes:
        box = ax.get_position()
        title = ax.title
        if title.get_text():
            title.set_text(_wrap(title.get_text(), width * max(box.width, 0.3), title.get_fontsize()))
    fig.tight_layout()
    if alt:
        fig.alt_text = alt
    install_alt_text()
    return fig


def _png_with_alt(fig: Figure) -> str:
    """The PNG a notebook stores for ``fig`` (as matplotlib-inline draws it), with its alt text as metadata."""
    import base64
    import io

    buf = io.BytesIO()
    fig.savefig(buf, format="png", bbox_inches="tight", dpi=fig.dpi, facecolor=fig.get_facecolor(),
                metadata={"Description": alt_text(fig)})
    return base64.b64encode(buf.getvalue()).decode("ascii")


def install_alt_text() -> None:
    """In IPython, draw figures through :func:`_png_with_alt` (nothing happens outside IPython)."""
    try:
        from IPython import get_ipython
    except ImportError:
        return
    shell = get_ipython()
    if shell is None:
        return
    # matplotlib-inline registers its own PNG formatter when the backend loads, at the first figure: load it now
    # (a figure made and closed), so that ours, registered after, stays
    plt.close(plt.figure())
    shell.display_formatter.formatters["image/png"].for_type(Figure, _png_with_alt)


def loss_curves(histories: dict[str, list[tuple[int, float]]], title: str = "Training loss",
                ylabel: str = "cross-entropy loss (nats/token)"):
    fig, ax = plt.subplots(figsize=(6.4, 3.6))
    for name, hist in histories.items():
        steps, losses = zip(*hist)
        ax.plot(steps, losses, marker="o", markersize=3, label=name)
    ax.set(xlabel="optimizer step", ylabel=ylabel, title=title)
    ax.grid(alpha=0.3)
    ax.legend()
    moves = "; ".join(f"{name} from {h[0][1]:.2f} at step {h[0][0]} to {h[-1][1]:.2f} at step {h[-1][0]}"
                      for name, h in histories.items() if h)
    return finish(fig, f"Line chart of {ylabel} against the optimizer step: {moves}.")


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
    values = "; ".join(f"{name}: " + ", ".join(f"{m} {est[m].mean:.3f}" for m in metrics) for name, est in systems.items())
    return finish(fig, f"Bar chart of {ylabel} with 95 % intervals, one group per metric: {values}.")


def length_histogram(lengths: dict[str, np.ndarray], limits: dict[str, int | tuple[int, ...]], title: str):
    """One panel per text field, with the truncation limit (or several candidate limits) drawn in."""
    fig, axes = panels(len(lengths))
    for ax, (name, values) in zip(axes, lengths.items()):
        ax.hist(values, bins=30, color="tab:blue", alpha=0.8)
        if name in limits:
            marks = limits[name] if isinstance(limits[name], tuple) else (limits[name],)
            for mark, style in zip(marks, ("--", ":", "-.")):
                ax.axvline(mark, color="tab:red", linestyle=style, label=f"limit {mark}")
            ax.legend()
        ax.set(xlabel="length (tokens)", ylabel="examples", title=name)
    fig.suptitle(title, fontsize=10)
    shown = "; ".join(f"{name}: median {np.median(v):.0f} tokens, longest {np.max(v):.0f}"
                      + (f", limit {limits[name]}" if name in limits else "") for name, v in lengths.items() if len(v))
    return finish(fig, f"Histograms of length in tokens, one per field: {shown}.")


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
    shown = "; ".join(f"{name}: " + ", ".join(f"{points[x].mean:.3f} at {x}" for x in sorted(points))
                      for name, points in curves.items())
    flats = "; ".join(f"{name} {est.mean:.3f}" for name, est in (flat or {}).items())
    return finish(fig, f"Line chart of {ylabel} against the input limit in tokens: {shown}"
                       + (f". Dashed lines, independent of the limit: {flats}." if flats else "."))


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
    right = ", ".join(f"{lab} {100 * shares[i, i]:.0f} %" for i, lab in enumerate(labels))
    return finish(fig, f"Confusion matrix, true class in rows, predicted class in columns; share of each class "
                       f"predicted right: {right}.")


def precision_panels(rows: dict[str, dict[str, float]], title: str, errors: dict[str, tuple[float, float]] | None = None):
    """One panel per measure (``{precision: {measure: value}}``), one bar per precision; ``errors`` gives
    ``(low, high)`` intervals for the measure named ``ROUGE-L``."""
    names = list(rows)
    measures = list(next(iter(rows.values())))
    fig, axes = panels(len(measures), (3.0, 3.0))
    for ax, m in zip(axes, measures):
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
    shown = "; ".join(f"{m}: " + ", ".join(f"{n} {rows[n][m]:.3g}" for n in names) for m in measures)
    return finish(fig, f"Bar charts, one per measure, one bar per precision: {shown}.")


def gain_bars(gains: dict[str, dict[str, dict | None]], title: str, xlabel: str):
    """Horizontal bars, one group per case, one bar per method (``{case: {method: {"mean", "ci_low",
    "ci_high"} or None}}``), with their intervals; a case without numbers is written in, not left out."""
    cases = list(gains)
    methods = list(dict.fromkeys(m for g in gains.values() for m in g))
    fig, ax = plt.subplots(figsize=(7.2, 0.75 * len(cases) + 1.4))
    y = np.arange(len(cases))
    height = 0.8 / max(1, len(methods))
    for i, m in enumerate(methods):
        off = y + (i - (len(methods) - 1) / 2) * height
        for yy, c in zip(off, cases):
            e = gains[c].get(m)
            if e is None:
                ax.text(0, yy, f"  {m}: not available", va="center", fontsize=8, color="grey")
                continue
            ax.barh(yy, e["mean"], height, xerr=[[e["mean"] - e["ci_low"]], [e["ci_high"] - e["mean"]]], capsize=3,
                    color=["#4c72b0", "#dd8452"][i % 2], label=m if c == next(
                        (cc for cc in cases if gains[cc].get(m) is not None), None) else None)
    ax.axvline(0, color="black", linewidth=0.8)
    ax.set_yticks(y, cases, fontsize=8)
    ax.invert_yaxis()
    ax.set(xlabel=xlabel, title=title)
    ax.grid(axis="x", alpha=0.3)
    ax.legend(fontsize=8, loc="lower right")
    shown = "; ".join(f"{c}: " + ", ".join(f"{m} {g[m]['mean']:+.1f} [{g[m]['ci_low']:+.1f}, {g[m]['ci_high']:+.1f}]"
                                           if g.get(m) else f"{m} not available" for m in methods)
                      for c, g in gains.items())
    return finish(fig, f"Horizontal bars of {xlabel} with 95 % intervals, one group per case: {shown}.")


def memory_panels(measured: dict[str, dict[str, float | None]], measured_label: str,
                  estimated: dict[str, dict[str, float]], cap_gib: float, title: str):
    """Left: peak memory measured in this run per case and method (MiB). Right: the memory model's estimate
    for the real models (GiB) against a card's capacity."""
    fig, axes = panels(2, (MAX_WIDTH, 3.4))  # one above the other: each as wide as the page
    for ax, data, unit, sub in ((axes[0], measured, "MiB", measured_label),
                                (axes[1], estimated, "GiB", "estimated for the real models (llmft.foundations.memory_model)")):
        cases = list(data)
        methods = list(dict.fromkeys(m for v in data.values() for m in v))
        x = np.arange(len(cases))
        width = 0.8 / max(1, len(methods))
        for i, m in enumerate(methods):
            vals = [data[c].get(m) for c in cases]
            ax.bar(x + (i - (len(methods) - 1) / 2) * width, [v or 0 for v in vals], width, label=m,
                   color=["#4c72b0", "#dd8452"][i % 2])
            for xx, v in zip(x + (i - (len(methods) - 1) / 2) * width, vals):
                if v is None:
                    ax.text(xx, 0, "n/a", ha="center", va="bottom", fontsize=7, color="grey", rotation=90)
        ax.set_xticks(x, [c.split(".")[0] for c in cases])
        ax.set(xlabel="case", ylabel=f"peak memory ({unit})", title=sub)
        ax.title.set_fontsize(9)
        ax.grid(axis="y", alpha=0.3)
        ax.legend(fontsize=8)
    axes[1].axhline(cap_gib, color="red", linestyle="--", linewidth=1)
    axes[1].text(-0.4, cap_gib, f" T4: {cap_gib:.1f} GiB", color="red", va="bottom", fontsize=8)
    axes[1].set_yscale("log")
    fig.suptitle(title, fontsize=10)
    est = "; ".join(f"{c}: " + ", ".join(f"{m} {v:.2f} GiB" for m, v in d.items()) for c, d in estimated.items())
    return finish(fig, f"Two bar charts of peak training memory per case, LoRA beside QLoRA. Above, measured in this "
                       f"run ({measured_label}). Below, estimated for the real models on a log scale, with the "
                       f"T4's {cap_gib:.1f} GiB as a red line: {est}.")


def share_vs_gain(points: dict[str, tuple[float, dict | None]], title: str, ylabel: str):
    """One point per case: the adapter's share of the parameters against the gain over zero-shot,
    with the gain's interval; each point labelled with its case."""
    fig, ax = plt.subplots(figsize=(6.4, 3.8))
    for name, (share, e) in points.items():
        if share is None or e is None:
            continue
        ax.errorbar(share, e["mean"], yerr=[[e["mean"] - e["ci_low"]], [e["ci_high"] - e["mean"]]], fmt="o", capsize=3)
        ax.annotate(name, (share, e["mean"]), textcoords="offset points", xytext=(6, 4), fontsize=8)
    ax.set_xlim(left=0)
    ax.axhline(0, color="black", linewidth=0.8)
    ax.set(xlabel="trainable share of the model run (%)", ylabel=ylabel, title=title)
    ax.grid(alpha=0.3)
    shown = "; ".join(f"case {name}: {share:.2f} % trained, gain {e['mean']:+.1f}" for name, (share, e) in points.items()
                      if share is not None and e is not None)
    return finish(fig, f"Scatter plot of {ylabel} against the trainable share of the model: {shown}.")
