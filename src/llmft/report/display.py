"""Show the package's own code on a page, so chapters explain the code they run instead of a copy; tables with
captions; and, in a notebook, figures stored with their alt text (:func:`llmft.report.plots.install_alt_text`)."""

from __future__ import annotations

import inspect

from llmft.report.plots import install_alt_text

install_alt_text()  # every chapter imports this module: its figures, the book's own and the chapter's, carry alt text


def show_source(*objects) -> None:
    """Display the source of functions or classes as one highlighted Python block."""
    from IPython.display import Markdown, display

    code = "\n\n".join(inspect.getsource(obj) for obj in objects)
    display(Markdown(f"```python\n{code}```"))


def captioned(df, caption: str, precision: int = 3):
    """A numeric table with a caption naming what produced it (profile, model, data)."""
    return (df.style.set_caption(caption).format(precision=precision, thousands=",", na_rep="–")
            .set_table_styles([{"selector": "td, th", "props": "padding: 0.15em 0.8em; text-align: right"}]))


def _float_cell(v):
    """A float as a reader wants it in a table of text (pandas' Styler would print 2.000000): thousands with commas,
    three significant digits below that, scientific notation under 0.01, a dash for NaN; anything else as it is."""
    if not isinstance(v, float):
        return v
    if v != v:
        return "–"
    if abs(v) >= 1000:
        return f"{v:,.0f}"
    if v == 0 or abs(v) >= 0.01:
        return f"{v:.3g}"
    return f"{v:.2e}"


def text_table(df, caption: str):
    """A table of text (left-aligned, wrapped, padded) with a caption naming what produced it. Float cells are
    formatted by :func:`_float_cell`."""
    return (df.style.set_caption(caption).hide(axis="index").format(_float_cell)
            .set_table_styles([{"selector": "td, th", "props": "padding: 0.2em 0.8em; text-align: left; "
                                                              "vertical-align: top; white-space: normal"}]))


def examples(evalset, evals, indices, field, caption: str):
    """Inputs and outputs, one block per input: the input folded (click to open), then every output.

    A dialogue of forty turns in a narrow table column makes a page unreadable, on a phone above all; a short
    input (80 words or fewer) is shown open. ``field`` names the input field, or a tuple of fields shown one
    after the other (an instruction and its input), empty ones left out.
    """
    import html

    from IPython.display import HTML

    blocks = [f'<p class="llmft-caption"><em>{html.escape(caption)}</em></p>']
    fields = (field,) if isinstance(field, str) else tuple(field)
    name = " + ".join(fields)
    for i in indices:
        text = "\n\n".join(str(evalset.records[i][f]) for f in fields if str(evalset.records[i][f]).strip())
        n_lines, n_words = text.count("\n") + 1, len(text.split())
        rows = "".join(f"<tr><th>reference {k + 1}</th><td>{html.escape(r)}</td></tr>"
                       for k, r in enumerate(evalset.references[i]))
        rows += "".join(f"<tr><th>{html.escape(e.name)}</th><td>{html.escape(e.predictions[i])}</td>"
                        f"<td>ROUGE-L {e.per_example['rougeL'][i]:.2f}</td></tr>" for e in evals)
        blocks.append(
            f"<details{' open' if n_words <= 80 else ''}><summary>{name} {i} ({n_lines} lines, {n_words} words)"
            f"{'' if n_words <= 80 else ': click to read'}</summary>"
            f'<div style="white-space:pre-wrap;margin:0.5em 0 0.5em 1em">{html.escape(text)}</div></details>'
            f'<table class="llmft-text">{rows}</table>')
    style = ("<style>table.llmft-text td, table.llmft-text th {text-align:left;vertical-align:top;"
             "white-space:normal} table.llmft-text {margin-bottom:1.2em}</style>")
    return HTML("".join(blocks) + style)
