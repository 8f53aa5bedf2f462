"""Serving a tuned model: a web page and a JSON API (FastAPI), loaded once at start-up.

* :mod:`llmft.serve.app`: the application (pages, ``POST /summarize``, ``GET /health``), built around
  any function that maps a text to a :class:`~llmft.serve.app.Answer`, so tests inject a small one;
* :mod:`llmft.serve.model`: that function for a case's base model plus a saved adapter;
* ``llmft serve`` (:mod:`llmft.cli`): one command that loads the model and serves it on 127.0.0.1.
"""

from llmft.serve.app import Answer, create_app

__all__ = ["Answer", "create_app"]
