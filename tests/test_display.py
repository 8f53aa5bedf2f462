import IPython.display

from llmft.display import show_source
from llmft.rouge import f1, tokenize


def test_show_source_displays_the_code_of_every_object(monkeypatch):
    shown = []
    monkeypatch.setattr(IPython.display, "display", shown.append)
    show_source(f1, tokenize)
    assert len(shown) == 1
    text = shown[0].data
    assert text.startswith("```python\n") and "def f1(" in text and "def tokenize(" in text
