import IPython.display
import pytest

from llmft.foundations.rouge import f1, tokenize
from llmft.report.display import show_source


def test_show_source_displays_the_code_of_every_object(monkeypatch):
    shown = []
    monkeypatch.setattr(IPython.display, "display", shown.append)
    show_source(f1, tokenize)
    assert len(shown) == 1
    text = shown[0].data
    assert text.startswith("```python\n") and "def f1(" in text and "def tokenize(" in text


def test_examples_fold_the_input_and_escape_everything():
    import numpy as np

    from llmft.evaluation import EvalSet, SystemEval
    from llmft.report.display import examples

    ev = EvalSet([{"dialogue": "#Person1#: <b>hi</b>\n#Person2#: yo"}], [["ref <1>", "ref 2"]])
    sys_ = SystemEval("LoRA", ["out <unk>"], {"rougeL": np.array([0.5])}, {})
    html = examples(ev, [sys_], [0], "dialogue", "caption & more").data
    assert "<details open>" in html and "2 lines" in html and "ROUGE-L 0.50" in html  # short: shown open
    long = EvalSet([{"dialogue": "word " * 81, "extra": "more"}], [["r"]])
    folded = examples(long, [sys_], [0], ("dialogue", "extra"), "c").data
    assert "<details>" in folded and "click to read" in folded and "dialogue + extra 0" in folded and "more" in folded
    assert "&lt;b&gt;hi" in html and "out &lt;unk&gt;" in html and "ref &lt;1&gt;" in html and "caption &amp; more" in html


def test_text_table_is_captioned_without_an_index():
    import pandas as pd

    from llmft.report.display import text_table

    html = text_table(pd.DataFrame({"text": ["a long story"], "label": ["World"]}), "made by X").to_html()
    assert "made by X" in html and "text-align: left" in html and ">0<" not in html


def test_claims_are_asserted_on_the_books_data_and_stated_on_yours(monkeypatch):
    from llmft.evaluation.metrics import Estimate, PairedComparison
    from llmft.report import claims
    from llmft.runtime import start

    run = start("dialogsum-flan-t5", "smoke", quiet=True)
    shown = []
    win = PairedComparison(Estimate(0.2, 0.1, 0.3), 0.0, 1000)
    loss = PairedComparison(Estimate(0.01, -0.05, 0.07), 0.4, 1000)
    ok = claims.check(run, [claims.beats("LoRA", "zero-shot", win, "ROUGE-L")], show=shown.append)
    assert ok.all_hold and ok.asserted and "+0.200 [+0.100, +0.300]" in ok.claims[0].evidence
    failing = [claims.beats("LoRA", "lead", loss, "ROUGE-L"), claims.at_most("looping outputs", 0.06, 0.05)]
    with pytest.raises(AssertionError, match="LoRA beats lead .*looping outputs is at most 5.0 % \\(6.0 %\\)"):
        claims.check(run, failing, show=shown.append)
    monkeypatch.setenv("LLMFT_DATA", "/some/folder")  # a reader's own files: stated, not asserted
    stated = claims.check(run, failing, show=shown.append)
    assert not stated.asserted and not stated.all_hold and "your own data" in stated.why
    assert stated.as_dict()["claims"][1] == {"claim": "looping outputs is at most 5.0 %", "holds": False,
                                             "evidence": "6.0 %"}
    assert len(shown) == 3


def test_figures_fit_the_page_wrap_their_titles_and_carry_their_alt_text(tmp_path):
    import base64
    import io

    from PIL import Image

    from llmft.report import plots

    fig = plots.loss_curves({"LoRA": [(1, 2.5), (10, 1.25)]}, "A title far too long to fit on one line of a figure that "
                                                                 "is six inches wide, with its provenance at the end")
    assert fig.get_figwidth() <= plots.MAX_WIDTH and "\n" in fig.axes[0].get_title()
    assert fig.alt_text.startswith("Line chart") and "from 2.50 at step 1 to 1.25 at step 10" in fig.alt_text
    png = base64.b64decode(plots._png_with_alt(fig))
    with Image.open(io.BytesIO(png)) as image:
        assert image.info["Description"] == fig.alt_text
        assert image.size[0] <= plots.MAX_WIDTH * fig.dpi + 1  # drawn at its size: not scaled down on the page
    wide, axes = plots.panels(5, (3.4, 3.0))
    assert wide.get_figwidth() <= plots.MAX_WIDTH and len(axes) == 5 and len(wide.axes) == 5
    import matplotlib.pyplot as plt

    bare, ax = plt.subplots()
    ax.set(title="Singular values", xlabel="index", ylabel="singular value")
    assert plots.alt_text(bare) == "Figure. Singular values: singular value against index"
    plt.close("all")


def test_the_diagrams_draw_with_alt_text_and_the_packed_mask_is_block_diagonal():
    import numpy as np

    from llmft.report import diagrams, plots

    for fig in (diagrams.lora_layer(), diagrams.nf4_levels(), diagrams.packing_mask(), diagrams.qlora_flow(),
                diagrams.paper_pipeline(), diagrams.data_parallel()):
        assert fig.get_figwidth() <= plots.MAX_WIDTH and len(fig.alt_text) > 60
    assert "12,288 numbers instead of 589,824" in diagrams.lora_layer().alt_text  # r(d_in + d_out) vs d_in d_out
    mask = diagrams.packed_mask([2, 3])
    assert mask.tolist() == [[1, 0, 0, 0, 0], [1, 1, 0, 0, 0], [0, 0, 1, 0, 0], [0, 0, 1, 1, 0], [0, 0, 1, 1, 1]]
    assert not mask[2:, :2].any() and np.array_equal(mask[:2, :2], np.tril(np.ones((2, 2), bool)))
    import matplotlib.pyplot as plt

    plt.close("all")


def test_text_tables_show_floats_as_a_reader_wants_them():
    """A page once showed a T4 plan as 2.000000 minutes: text tables format their float cells."""
    import pandas as pd

    from llmft.report.display import text_table

    html = text_table(pd.DataFrame({"v": [2.0, 0.342, 12345.6, 1e-7, float("nan")], "t": list("abcde")}), "c").to_html()
    for shown in (">2<", ">0.342<", ">12,346<", ">1.00e-07<", ">–<", ">a<"):
        assert shown in html.replace(" >", ">")
    assert "2.000000" not in html
