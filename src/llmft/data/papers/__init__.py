"""Case 4's data pipeline: research papers (PDF) to an instruction dataset, as the source project built it.

* :mod:`~llmft.data.papers.sources`: which PDFs (yours, synthetic, or arXiv) and the pipeline's sizes per profile;
* :mod:`~llmft.data.papers.pdf`: PDF to clean text (headers, footers, hyphenation, references);
* :mod:`~llmft.data.papers.chunks`: text to overlapping chunks of whole sentences, with paper and page;
* :mod:`~llmft.data.papers.teachers`: what writes triples from a chunk (an OpenAI-compatible server, a local
  instruct model, or the offline rule-based teacher);
* :mod:`~llmft.data.papers.parse`: a teacher's reply (JSON or "Triple N:" text) to triples, counting malformed ones;
* :mod:`~llmft.data.papers.curate`: validation, near-duplicate removal (ROUGE-L), split by paper;
* :mod:`~llmft.data.papers.pipeline`: all of it, to JSON lines with provenance.
"""
