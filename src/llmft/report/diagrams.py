"""Pictures of the book's key ideas, drawn by code so that each is versioned and tested like the plots.

* :func:`lora_layer`: the frozen path beside the low-rank path, with shapes, the alpha/r scale and the merge;
* :func:`nf4_levels`: NF4's 16 levels over the normal density, blockwise absmax and double quantization;
* :func:`packing_mask`: which tokens may attend to which, packed pairs against a padded batch;
* :func:`qlora_flow`: 4-bit storage, dequantized for the matmul, beside the trained fp32 adapter;
* :func:`paper_pipeline`: case 4's PDFs to triples to a tuned model;
* :func:`data_parallel`: DDP's all-reduce against FSDP / ZeRO-3's shards and gathers.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np

from llmft.report.plots import finish


def _box(ax, x, y, w, h, text, color, fontsize=9):
    ax.add_patch(plt.Rectangle((x, y), w, h, facecolor=color, edgecolor="black", linewidth=1))
    ax.text(x + w / 2, y + h / 2, text, ha="center", va="center", fontsize=fontsize)


def _arrow(ax, start, end):
    ax.annotate("", xy=end, xytext=start, arrowprops=dict(arrowstyle="->", lw=1.2))


def lora_layer(d_in: int = 768, d_out: int = 768, r: int = 8, alpha: int = 16):
    """The LoRA layer: ``h = W x + (alpha / r) B A x`` with W frozen, A (r x d_in) and B (d_out x r) trained."""
    fig, ax = plt.subplots(figsize=(7.2, 3.6))
    ax.set_xlim(0, 10)
    ax.set_ylim(0, 5)
    ax.set_axis_off()
    _box(ax, 0.2, 2.0, 1.2, 1.0, f"x\n{d_in}", "#eeeeee")
    _box(ax, 2.4, 3.2, 2.6, 1.2, f"W (frozen)\n{d_out} x {d_in}", "#cfe2f3")
    _box(ax, 2.4, 0.5, 1.2, 1.2, f"A\n{r} x {d_in}", "#b6d7a8")
    _box(ax, 4.2, 0.5, 1.2, 1.2, f"B\n{d_out} x {r}", "#b6d7a8")
    _box(ax, 6.0, 0.5, 1.1, 1.2, f"x {alpha}/{r}\n= {alpha / r:g}", "#fff2cc")
    ax.text(7.9, 2.5, "+", fontsize=22, ha="center", va="center")
    _box(ax, 8.6, 2.0, 1.2, 1.0, f"h\n{d_out}", "#eeeeee")
    _arrow(ax, (1.4, 2.7), (2.4, 3.8))
    _arrow(ax, (1.4, 2.3), (2.4, 1.1))
    _arrow(ax, (3.6, 1.1), (4.2, 1.1))
    _arrow(ax, (5.4, 1.1), (6.0, 1.1))
    _arrow(ax, (5.0, 3.8), (7.7, 2.8))
    _arrow(ax, (7.1, 1.1), (7.7, 2.2))
    _arrow(ax, (8.1, 2.5), (8.6, 2.5))
    ax.text(3.9, 1.85, "trained (B starts at 0)", ha="center", fontsize=8)
    ax.text(5.0, 4.65, f"merge after training: W' = W + ({alpha}/{r}) B A, the same shape as W", ha="center",
            fontsize=8.5)
    ax.set_title(f"A LoRA layer: h = W x + (alpha / r) B A x, rank r = {r}", fontsize=10)
    trained, full = r * (d_in + d_out), d_in * d_out
    return finish(fig, f"Diagram of a LoRA layer. The input x (size {d_in}) goes through the frozen weight W "
                       f"({d_out} x {d_in}) and, beside it, through A ({r} x {d_in}) then B ({d_out} x {r}), scaled "
                       f"by alpha / r = {alpha}/{r}; the two paths are added to give h (size {d_out}). Only A and B "
                       f"train: {trained:,} numbers instead of {full:,}. After training, (alpha / r) B A is merged "
                       f"into W.")


def nf4_levels():
    """NF4's 16 levels drawn on the standard normal density (the weights of a block, divided by their absmax)."""
    import torch

    from llmft.foundations import quant

    levels = quant.nf4_code().numpy()
    # NF4's levels are normal quantiles divided by the largest one, the quantile at probability NF4_OFFSET: drawn
    # back on the standard normal's axis, level v sits at v times that quantile
    end = float(torch.distributions.Normal(0.0, 1.0).icdf(torch.tensor(quant.NF4_OFFSET)))
    x = np.linspace(-3.2, 3.2, 400)
    density = np.exp(-x**2 / 2) / np.sqrt(2 * np.pi)
    fig, ax = plt.subplots(figsize=(7.2, 3.2))
    ax.plot(x, density, color="black", linewidth=1, label="normal density of the weights")
    for v in levels:
        ax.axvline(v * end, color="tab:blue", alpha=0.6, linewidth=1)
    ax.plot(levels * end, np.zeros_like(levels), "|", color="tab:blue", markersize=14, label="the 16 NF4 levels")
    ax.set(xlabel=f"standard deviations (the levels +-1 sit at the normal's quantile +-{end:.2f})", ylabel="density",
           title="NF4: 16 levels at quantiles of a normal, dense near 0 where most weights are; each block of 64 "
                 "weights is scaled by its absmax (fp32), and double quantization stores those scales in 8 bits, "
                 "in blocks of 256")
    ax.title.set_fontsize(9)
    ax.legend(fontsize=8, loc="upper right")
    gaps = np.diff(np.sort(levels))
    return finish(fig, f"The 16 NF4 levels as vertical lines over a normal density: they are closest together near "
                       f"zero (gap {gaps.min():.3f} of the absmax) and furthest apart at the ends (gap "
                       f"{gaps.max():.3f}), so most weights, which sit near zero, are rounded finely.")


def packed_mask(lengths: list[int]) -> np.ndarray:
    """Who may attend to whom in one packed row: causal within each example, nothing across examples."""
    n = sum(lengths)
    mask = np.zeros((n, n), dtype=bool)
    start = 0
    for length in lengths:
        block = np.tril(np.ones((length, length), dtype=bool))
        mask[start : start + length, start : start + length] = block
        start += length
    return mask


def padded_masks(lengths: list[int]) -> list[np.ndarray]:
    """The same examples one per row, each padded to the longest: a causal mask over the real tokens only."""
    width = max(lengths)
    out = []
    for length in lengths:
        mask = np.zeros((width, width), dtype=bool)
        mask[:length, :length] = np.tril(np.ones((length, length), dtype=bool))
        out.append(mask)
    return out


def packing_mask(lengths: tuple[int, ...] = (5, 3, 7, 4)):
    """Packed against padded: the attention each row allows, and how much of the compute is padding."""
    lengths = list(lengths)
    packed = packed_mask(lengths)
    fig, axes = plt.subplots(1, 2, figsize=(7.2, 3.6))
    axes[0].imshow(packed, cmap="Blues", vmin=0, vmax=1.4)
    axes[0].set_title(f"packed: one row of {sum(lengths)} tokens", fontsize=9)
    padded = np.vstack([np.hstack([m, np.full((m.shape[0], 1), np.nan)]) for m in padded_masks(lengths)])
    axes[1].imshow(np.where(np.isnan(padded), 0.15, padded), cmap="Blues", vmin=0, vmax=1.4, aspect="auto")
    axes[1].set_title(f"padded: {len(lengths)} rows of {max(lengths)} tokens", fontsize=9)
    for ax in axes:
        ax.set(xlabel="attends to (key position)", ylabel="token (query position)")
        ax.set_xticks([])
        ax.set_yticks([])
    fig.suptitle("Attention allowed (dark): packing keeps each example to itself, a block-diagonal causal mask",
                 fontsize=10)
    waste = 1 - sum(lengths) / (len(lengths) * max(lengths))
    return finish(fig, f"Two attention masks for examples of {', '.join(map(str, lengths))} tokens. Left, packed into "
                       f"one row: a causal triangle for each example along the diagonal and nothing between "
                       f"examples. Right, one example per row padded to {max(lengths)} tokens: {waste:.0%} of the "
                       f"positions are padding.")


def _flow(ax, steps: list[tuple[str, str]], y: float, height: float = 0.9, gap: float = 0.25, width: float = 10.0):
    """Boxes left to right with arrows between them; returns the boxes' centres."""
    w = (width - gap * (len(steps) - 1)) / len(steps)
    centres = []
    for i, (text, color) in enumerate(steps):
        x = i * (w + gap)
        _box(ax, x, y, w, height, text, color, fontsize=7.5)
        centres.append((x + w / 2, y + height / 2))
        if i:
            _arrow(ax, (x - gap, y + height / 2), (x, y + height / 2))
    return centres


def qlora_flow():
    """QLoRA's data flow in one layer: 4-bit storage, dequantized to the compute dtype for the matmul, beside the
    16/32-bit adapter; where the optimizer's states live."""
    fig, ax = plt.subplots(figsize=(7.2, 3.2))
    ax.set_xlim(0, 10)
    ax.set_ylim(0, 4.2)
    ax.set_axis_off()
    top = _flow(ax, [("W in NF4\n4 bits a weight\n+ block scales", "#cfe2f3"), ("dequantize\nblock by block", "#d9d2e9"),
                     ("W in compute dtype\n(fp16 on a T4)", "#cfe2f3"), ("W x\n(matmul)", "#eeeeee")], y=2.6, width=8.2)
    low = _flow(ax, [("x", "#eeeeee"), ("A (r x d_in)\nfp32, trained", "#b6d7a8"),
                     ("B (d_out x r)\nfp32, trained", "#b6d7a8"), ("(alpha/r) B A x", "#eeeeee")], y=1.1, width=8.2)
    _box(ax, 8.8, 1.6, 1.2, 1.2, "h = sum", "#eeeeee")
    _arrow(ax, (top[-1][0] + 0.9, top[-1][1]), (8.8, 2.6))
    _arrow(ax, (low[-1][0] + 0.9, low[-1][1]), (8.8, 1.8))
    ax.text(0.0, 0.25, "Gradients flow through the dequantized W to x, but W gets none: it stays 4-bit. Only A and B have "
            "gradients and optimizer states,\nwhich a paged optimizer keeps in 8 bits and can move to CPU RAM during "
            "a memory spike.", fontsize=7.5)
    ax.set_title("QLoRA in one layer: the base stored in 4 bits, computed in 16; the adapter in 32", fontsize=10)
    return finish(fig, "Diagram of QLoRA in one layer. Top row: the weight W stored in NF4 (4 bits a weight plus block "
                       "scales) is dequantized block by block to the compute dtype, fp16 on a T4, and multiplied by "
                       "the input x. Bottom row: x goes through the adapter's A and B, kept in fp32 and trained, scaled "
                       "by alpha over r; the two results are added. W receives no gradient; only A and B have "
                       "optimizer states, which a paged 8-bit optimizer can move to CPU RAM.")


def paper_pipeline():
    """Case 4's data pipeline, from PDFs to the QLoRA run and its evaluation."""
    fig, ax = plt.subplots(figsize=(7.2, 2.6))
    ax.set_xlim(0, 10)
    ax.set_ylim(0, 3.2)
    ax.set_axis_off()
    _flow(ax, [("PDFs", "#fce5cd"), ("clean text\n(headers,\nligatures,\nreferences)", "#fce5cd"),
               ("chunks\n(overlap)", "#fce5cd"), ("teacher\nLLM", "#d9d2e9"), ("parse\nJSON or\ntext", "#d9d2e9")],
          y=1.9, height=1.1)
    _flow(ax, [("validate,\ndeduplicate", "#d9d2e9"), ("split by\npaper", "#b6d7a8"), ("QLoRA on\nLlama 3", "#cfe2f3"),
               ("ROUGE:\nbase, copy,\ntuned", "#cfe2f3")], y=0.2, height=1.1)
    _arrow(ax, (9.0, 1.9), (1.0, 1.3))
    ax.set_title("Case 4: from papers to instruction triples to a tuned model", fontsize=10)
    return finish(fig, "Diagram of case 4's pipeline in nine steps: PDFs, clean text (headers, ligatures and "
                       "references removed), overlapping chunks, a teacher language model, parsing its JSON or text "
                       "replies, validating and deduplicating the triples, splitting them by paper, QLoRA on Llama 3, "
                       "and ROUGE for the base model, the copy baseline and the tuned model.")


def data_parallel():
    """DDP (every process a full copy, gradients all-reduced) against FSDP / ZeRO-3 (parameters sharded, gathered
    layer by layer)."""
    fig, axes = plt.subplots(2, 1, figsize=(7.2, 4.8))
    for ax in axes:
        ax.set_xlim(0, 10)
        ax.set_ylim(0, 2.2)
        ax.set_axis_off()
    for i in range(2):
        _box(axes[0], 0.3 + 5 * i, 0.9, 4.2, 0.9, f"GPU {i}: the whole model + optimizer\nits own half of the batch",
             "#cfe2f3", fontsize=8)
        _box(axes[1], 0.3 + 5 * i, 0.9, 4.2, 0.9, f"GPU {i}: half of every layer's parameters,\ngradients and optimizer "
             "states", "#b6d7a8", fontsize=8)
    axes[0].annotate("", xy=(5.3, 0.6), xytext=(4.5, 0.6), arrowprops=dict(arrowstyle="<->", lw=1.5))
    axes[0].text(5.0, 0.15, "all-reduce: the gradients averaged after each backward pass", ha="center", fontsize=8)
    axes[0].set_title("DDP: a full copy per GPU; gradients averaged, so every copy takes the same step", fontsize=9)
    axes[1].annotate("", xy=(5.3, 0.6), xytext=(4.5, 0.6), arrowprops=dict(arrowstyle="<->", lw=1.5))
    axes[1].text(5.0, 0.15, "all-gather a layer's parameters before using it; reduce-scatter its gradients", ha="center",
                 fontsize=8)
    axes[1].set_title("FSDP / ZeRO-3: each GPU holds a shard; a layer is gathered only while it runs", fontsize=9)
    return finish(fig, "Two diagrams of data parallelism on two GPUs. Above, DDP: each GPU holds the whole model and "
                       "its optimizer and trains on half of the batch; after each backward pass the gradients are "
                       "averaged with an all-reduce. Below, FSDP or ZeRO-3: each GPU holds half of every layer's "
                       "parameters, gradients and optimizer states; a layer's parameters are all-gathered just before "
                       "it runs, and its gradients reduce-scattered back to the shards.")
