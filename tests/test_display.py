import IPython.display

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
