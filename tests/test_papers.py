"""Case 4's pipeline: PDF text, chunks, teachers (the OpenAI-compatible client against a fake server on loopback),
parsing of good and malformed replies, validation, near-duplicates, the split by paper, and the whole build."""

from __future__ import annotations

import json
import random
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from llmft.data.papers import chunks, curate, parse, pdf, pipeline, sources, teachers
from llmft.data.synthetic import papers as synthetic
from llmft.foundations.rouge import lcs_table, rouge_l, tokenize


@pytest.fixture(scope="module")
def pdfs(tmp_path_factory) -> list[Path]:
    return synthetic.write_pdfs(8, 7, tmp_path_factory.mktemp("pdfs"))


# ------------------------------------------------------------------ PDF text
def test_synthetic_papers_are_deterministic_and_distinct():
    a, b = synthetic.make_papers(6, 3), synthetic.make_papers(6, 3)
    assert [p.text() for p in a] == [p.text() for p in b]
    assert len({p.facts["method"] for p in a}) == 6


def test_pdf_text_loses_headers_page_numbers_hyphens_and_references(pdfs):
    paper = synthetic.make_papers(8, 7)[0]
    doc = pdf.read_pdf(pdfs[0])
    text = doc.text
    assert doc.title == paper.title and len(doc.pages) >= 2
    assert synthetic.HEADER not in text and doc.dropped_lines >= 2 * len(doc.pages)  # header and number per page
    assert doc.references_dropped and "References" not in text and paper.references[0][:20] not in text
    body = " ".join([paper.abstract] + [p for _, ps in paper.sections for p in ps])
    assert text.split() != [] and set(text.replace("\n", " ").split()) <= set(body.split()) | set(
        (paper.title + " " + ", ".join(paper.authors) + " Abstract " + " ".join(h for h, _ in paper.sections)).split())
    hyphenated = [w for w in body.split() if len(w) >= 8 and w.isalpha()]
    assert all(w in text for w in hyphenated)  # words split across lines came back whole


def test_clean_pages_drops_repeated_lines_and_joins_hyphens():
    words = ["encoder", "decoder", "router"]
    pages = [f"Journal of Tests, vol. {i}\nThe {w} uses a repre-\nsentation of\nthe input (pre-\nTrained on {w}s).\nPage {i}"
             for i, w in enumerate(words, start=1)]
    doc = pdf.clean_pages("p", "t", pages)
    assert [p.text for p in doc.pages] == [f"The {w} uses a representation of the input (pre- Trained on {w}s)." for w in words]
    assert doc.dropped_lines == 6


def test_unreadable_pdf_is_an_error_naming_the_file(tmp_path):
    bad = tmp_path / "broken.pdf"
    bad.write_bytes(b"not a pdf at all")
    with pytest.raises(ValueError, match="broken.pdf: not a readable PDF"):
        pdf.read_pdf(bad)


# ------------------------------------------------------------------ chunks
def test_sentences_survive_abbreviations_and_citations():
    text = "Smith et al. [1] improved it. We use e.g. two heads. Table 2 shows it. A. Kim wrote it."
    assert chunks.split_sentences(text) == ["Smith et al. [1] improved it.", "We use e.g. two heads.",
                                            "Table 2 shows it.", "A. Kim wrote it."]


def test_chunks_are_bounded_overlap_and_know_their_page(pdfs):
    doc = pdf.read_pdf(pdfs[1])
    parts = chunks.chunk_document(doc, 600, 150)
    sentences = [s.text for s in chunks.sentences(doc)]
    assert len(parts) > 3 and all(len(c.text) <= 600 or c.text in sentences for c in parts)
    for a, b in zip(parts, parts[1:]):
        first_of_b = chunks.split_sentences(b.text)[0]
        assert first_of_b in a.text  # b starts inside a: the overlap
        assert b.page >= a.page
    assert parts[-1].page == len(doc.pages) or parts[-1].page == len(doc.pages) - 1
    assert " ".join(sentences).endswith(chunks.split_sentences(parts[-1].text)[-1])
    with pytest.raises(ValueError, match="overlap"):
        chunks.chunk_document(doc, 100, 100)


# ------------------------------------------------------------------ parsing
GOOD = {"instruction": "What is X?", "input": "X is a tool.", "output": "X is a tool for tests."}


@pytest.mark.parametrize("reply", [
    json.dumps([GOOD]),
    "Sure! Here are the triples:\n```json\n" + json.dumps([GOOD]) + "\n```\nHope this helps.",
    json.dumps({"triples": [GOOD]}),
    "Triple 1:\nInstruction: What is X?\nInput: X is a tool.\nOutput: X is a tool for tests.",
    "**Triple 1:**\n**Instruction:** What is X?\n**Input:** X is a tool.\n**Output:** X is a tool for tests.",
])
def test_both_reply_formats_parse(reply):
    parsed = parse.parse_reply(reply)
    assert parsed.triples == [GOOD] and parsed.malformed == 0


def test_malformed_replies_are_counted_not_raised():
    assert parse.parse_reply("I cannot help with that.").malformed == 1
    assert parse.parse_reply("").malformed == 1
    mixed = parse.parse_reply(json.dumps([GOOD, {"instruction": "", "output": "y"}, "text", {"input": "z"}]))
    assert mixed.triples == [GOOD] and mixed.malformed == 3
    text = parse.parse_reply("Triple 1:\nInstruction: Q?\nInput: None\nOutput: A.\n\nTriple 2:\nInstruction: Q2?\n")
    assert text.triples == [{"instruction": "Q?", "input": "", "output": "A."}] and text.malformed == 1
    cited = parse.parse_reply("Triple 1:\nInstruction: Who improved it?\nInput: Kim [3] improved it.\nOutput: Kim [3].")
    assert cited.format == "text" and len(cited.triples) == 1  # a citation "[3]" is not a JSON list
    assert parse.parse_reply("[]").malformed == 0  # nothing worth asking is a valid answer


# ------------------------------------------------------------------ curation and split
def test_bit_parallel_lcs_equals_the_table():
    r = random.Random(0)
    for _ in range(300):
        a = [r.choice("abcde") for _ in range(r.randint(0, 25))]
        b = [r.choice("abcdef") for _ in range(r.randint(0, 25))]
        assert curate.lcs_length(a, b) == lcs_table(a, b)[-1][-1]
        assert curate.rouge_l_f1(a, b) == pytest.approx(rouge_l(a, b).fmeasure)


def test_validation_reasons():
    assert curate.problem({"instruction": "", "input": "", "output": "x"}) == "empty instruction"
    assert curate.problem({"instruction": "q", "input": "", "output": " "}) == "empty output"
    assert curate.problem({"instruction": "q", "input": "Same  text.", "output": "same text."}) == "output copies the input"
    assert curate.problem({"instruction": "q", "input": "", "output": "w " * 200}) == "output too long"
    assert curate.problem(GOOD) is None


def test_near_duplicates_are_dropped_at_rouge_l_07():
    base = {"instruction": "What is the encoder of SparseNet?", "input": "", "output": "o"}
    near = {"instruction": "What is the encoder in SparseNet?", "input": "", "output": "o"}  # 5 of 6 tokens in order
    other = {"instruction": "Which dataset does FlowMix use?", "input": "", "output": "o"}
    kept, dropped = curate.deduplicate([base, near, other])
    assert kept == [base, other] and dropped == 1
    score = rouge_l(tokenize(curate.task_text(base), stem=False), tokenize(curate.task_text(near), stem=False)).fmeasure
    assert score >= 0.7
    kept, _ = curate.deduplicate([base, near], threshold=score + 0.01)
    assert len(kept) == 2


def test_split_by_paper_keeps_papers_whole_and_is_seeded():
    triples = [{"paper": f"p{i % 10}", "n": i} for i in range(100)]
    a = curate.split_by_paper(triples, {"validation": 0.1, "test": 0.2}, seed=1)
    b = curate.split_by_paper(triples, {"validation": 0.1, "test": 0.2}, seed=1)
    assert a == b and sum(len(v) for v in a.values()) == 100
    papers = {k: {t["paper"] for t in v} for k, v in a.items()}
    assert len(papers["test"]) == 2 and len(papers["validation"]) == 1 and len(papers["train"]) == 7
    assert not (papers["train"] & papers["test"]) and not (papers["train"] & papers["validation"])
    with pytest.raises(ValueError, match="add papers"):
        curate.split_by_paper(triples[:2] * 3, {"validation": 0.1, "test": 0.2}, seed=1)


# ------------------------------------------------------------------ teachers
def test_offline_teacher_is_deterministic_and_labelled(pdfs):
    text = chunks.chunk_document(pdf.read_pdf(pdfs[0]), 1500, 200)[0].text
    one, two = teachers.OfflineTeacher(), teachers.OfflineTeacher()
    assert one.reply(text, 8) == two.reply(text, 8)
    found = one.triples(text, 8)
    assert found and all(t["output"] and t["instruction"] and t["input"] for t in found)
    assert "no language model" in teachers.OfflineTeacher.name
    assert any(t["output"].startswith("The authors ") for t in found)  # first person restated


class _FakeChat(BaseHTTPRequestHandler):
    replies: list = []
    seen: list = []

    def do_POST(self):  # noqa: N802
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        _FakeChat.seen.append({"path": self.path, "auth": self.headers.get("Authorization"), "body": body})
        status, payload = _FakeChat.replies.pop(0) if _FakeChat.replies else (200, None)
        if payload is None:  # one triple about the excerpt it was sent
            excerpt = body["messages"][-1]["content"].split("Excerpt:\n", 1)[-1]
            triple = GOOD if excerpt.startswith("Some chunk") else {
                "instruction": f"What does this say: {excerpt[:80]}?", "input": "", "output": excerpt[80:160]}
            payload = {"choices": [{"message": {"role": "assistant", "content": json.dumps([triple])}}]}
        raw = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(raw)))
        self.end_headers()
        self.wfile.write(raw)

    def log_message(self, *args):
        pass


@pytest.fixture()
def chat_server():
    server = ThreadingHTTPServer(("127.0.0.1", 0), _FakeChat)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    _FakeChat.replies, _FakeChat.seen = [], []
    yield f"http://127.0.0.1:{server.server_address[1]}/v1"
    server.shutdown()


SECRET = "sk-test-secret-123456"


def test_openai_compatible_teacher_sends_a_chat_request(chat_server):
    teacher = teachers.OpenAICompatibleTeacher(chat_server, "tiny-teacher", api_key=SECRET)
    reply = teacher.reply("Some chunk of a paper.", 3)
    assert parse.parse_reply(reply).triples == [GOOD]
    request = _FakeChat.seen[0]
    assert request["path"] == "/v1/chat/completions" and request["auth"] == f"Bearer {SECRET}"
    assert request["body"]["model"] == "tiny-teacher" and "Some chunk of a paper." in request["body"]["messages"][-1]["content"]
    assert SECRET not in repr(teacher) and SECRET not in teacher.name
    with_login = teachers.OpenAICompatibleTeacher("https://user:hunter2@example.org:8443/v1", "m")
    assert "hunter2" not in with_login.name + repr(with_login) and "example.org:8443/v1" in with_login.name


def test_openai_compatible_teacher_errors(chat_server):
    teacher = teachers.OpenAICompatibleTeacher(chat_server, "m", api_key=SECRET)
    _FakeChat.replies = [(401, {"error": f"bad key {SECRET}"})]
    with pytest.raises(teachers.TeacherError, match="refused the key") as err:
        teacher.reply("x", 1)
    assert SECRET not in str(err.value)
    _FakeChat.replies = [(500, {"error": "boom"})]
    with pytest.raises(ConnectionError, match="HTTP 500"):
        teacher.reply("x", 1)
    _FakeChat.replies = [(200, b"<html>not json</html>")]
    with pytest.raises(ConnectionError, match="not JSON"):
        teacher.reply("x", 1)
    _FakeChat.replies = [(404, {"error": "no such route"})]
    with pytest.raises(teachers.TeacherError, match="end in /v1"):
        teacher.reply("x", 1)
    with pytest.raises(ConnectionError, match="Could not reach"):
        teachers.OpenAICompatibleTeacher("http://127.0.0.1:9/v1", "m", timeout=2).reply("x", 1)
    with pytest.raises(ValueError, match="http"):
        teachers.OpenAICompatibleTeacher("127.0.0.1:8000", "m")


def test_teacher_settings(monkeypatch):
    for var in ("LLMFT_TEACHER", "LLMFT_TEACHER_URL", "LLMFT_TEACHER_MODEL", "LLMFT_TEACHER_API_KEY"):
        monkeypatch.delenv(var, raising=False)
    assert isinstance(teachers.teacher_from_settings(True), teachers.OfflineTeacher)
    monkeypatch.setenv("LLMFT_TEACHER", "openai")
    with pytest.raises(ValueError, match="offline profile cannot reach"):
        teachers.teacher_from_settings(True)
    with pytest.raises(ValueError, match="LLMFT_TEACHER_URL"):
        teachers.teacher_from_settings(False)
    monkeypatch.setenv("LLMFT_TEACHER_URL", "http://127.0.0.1:1/v1")
    monkeypatch.setenv("LLMFT_TEACHER_MODEL", "m")
    monkeypatch.setenv("LLMFT_TEACHER_API_KEY", SECRET)
    t = teachers.teacher_from_settings(False)
    assert isinstance(t, teachers.OpenAICompatibleTeacher) and SECRET not in repr(t)
    monkeypatch.setenv("LLMFT_TEACHER", "oracle")
    with pytest.raises(ValueError, match="Unknown teacher"):
        teachers.teacher_from_settings(False)


def test_local_teacher_runs_an_instruct_model_and_frees_it(smollm2_path):
    teacher = teachers.LocalTeacher(smollm2_path, device="cpu", max_new_tokens=12)
    assert isinstance(teacher.reply("SparseNet is a method for retrieval.", 1), str)
    teacher.close()
    with pytest.raises(teachers.TeacherError, match="closed"):
        teacher.reply("x", 1)


def test_local_teacher_batches_give_the_replies_of_one_chunk_at_a_time(smollm2_path):
    teacher = teachers.LocalTeacher(smollm2_path, device="cpu", max_new_tokens=10)
    chunks = ["SparseNet is a method for retrieval.", "We train a rank-8 adapter on every projection of the model, "
              "with a learning rate of 2e-4, for three epochs on 9,000 examples."]  # different lengths: left padding
    assert teacher.replies(chunks, 1) == [teacher.reply(c, 1) for c in chunks]
    teacher.close()


def test_the_pipeline_asks_a_batching_teacher_in_batches_and_counts_failures_per_chunk(pdfs, tmp_path):
    class Batching(teachers.OfflineTeacher):
        batch_size = 3

        def __init__(self):
            super().__init__()
            self.batches = []

        def replies(self, texts, n):
            self.batches.append(len(texts))
            if len(self.batches) == 2:
                raise ConnectionError("the server dropped the request")
            return [self.reply(t, n) for t in texts]

    teacher = Batching()
    report = pipeline.BuildReport(teacher=teacher.name)
    docs = pipeline.read_papers(pdfs, report)
    triples = pipeline.ask_teacher(docs, teacher, report, chunk_size=1500, overlap=200, per_chunk=4, progress=False)
    assert teacher.batches[:2] == [3, 3] and sum(teacher.batches) == report.chunks
    assert report.teacher_errors == 3 and triples


# ------------------------------------------------------------------ the whole pipeline
def test_build_dataset_writes_splits_with_provenance(pdfs, tmp_path):
    report = pipeline.build_dataset(pdfs, teachers.OfflineTeacher(), tmp_path / "triples", chunk_size=1500,
                                    overlap=200, per_chunk=8, fractions={"validation": 0.15, "test": 0.25}, seed=3,
                                    progress=False)
    rows = {s: [json.loads(line) for line in (tmp_path / "triples" / f"{s}.jsonl").read_text().splitlines()]
            for s in ("train", "validation", "test")}
    assert all(rows.values()) and report.replies["json"] and report.replies["text"] and report.malformed == 0
    assert report.curation["kept"] == sum(len(v) for v in rows.values()) and report.parsed >= report.curation["kept"]
    first = rows["test"][0]
    assert set(first) == {"instruction", "input", "output", "paper", "page", "chunk", "teacher"}
    assert first["teacher"] == teachers.OfflineTeacher.name and first["page"] >= 1
    papers = {s: {r["paper"] for r in v} for s, v in rows.items()}
    assert not papers["train"] & papers["test"] and not papers["train"] & papers["validation"]
    assert json.loads((tmp_path / "triples" / "build.json").read_text())["splits"]["test"]["triples"] == len(rows["test"])
    strict = pipeline.build_dataset(pdfs, teachers.OfflineTeacher(), tmp_path / "strict", chunk_size=1500, overlap=200,
                                    per_chunk=8, fractions={"validation": 0.15, "test": 0.25}, seed=3, threshold=0.5,
                                    progress=False)
    assert strict.curation["kept"] < report.curation["kept"]  # a lower threshold drops more near-duplicates


class _Flaky(teachers.OfflineTeacher):
    def reply(self, chunk_text, n):
        self.calls += 1
        if self.calls % 3 == 0:
            raise ConnectionError("timeout")
        return super().reply(chunk_text, n) if self.calls % 4 else "I'd rather not."


def test_failed_requests_and_bad_files_are_counted_and_skipped(pdfs, tmp_path):
    broken = tmp_path / "broken.pdf"
    broken.write_bytes(b"%PDF-1.4 garbage")
    report = pipeline.build_dataset([*pdfs, broken], _Flaky(), tmp_path / "out", chunk_size=1500, overlap=200,
                                    per_chunk=8, progress=False)
    assert report.teacher_errors > 0 and report.malformed > 0 and len(report.unreadable) == 1
    assert (tmp_path / "out" / "train.jsonl").exists()


class _Refused(teachers.OfflineTeacher):
    def reply(self, chunk_text, n):
        raise teachers.TeacherError("refused the key")


def test_a_teacher_that_cannot_work_stops_the_build_and_leaves_nothing(pdfs, tmp_path, chat_server):
    with pytest.raises(teachers.TeacherError):
        pipeline.build_dataset(pdfs, _Refused(), tmp_path / "out", progress=False)
    assert not (tmp_path / "out").exists() and not (tmp_path / "out.tmp").exists()
    with pytest.raises(ValueError, match="No PDF"):
        pipeline.build_dataset([], teachers.OfflineTeacher(), tmp_path / "out")
    # through the OpenAI-compatible client: the key reaches the server, never the files
    report = pipeline.build_dataset(pdfs, teachers.OpenAICompatibleTeacher(chat_server, "m", api_key=SECRET),
                                    tmp_path / "served", fractions={"validation": 0.15, "test": 0.25}, progress=False)
    assert report.parsed > 0 and _FakeChat.seen[0]["auth"] == f"Bearer {SECRET}"
    assert all(SECRET not in f.read_text() for f in (tmp_path / "served").iterdir())


def test_your_own_papers_folder(monkeypatch, tmp_path, pdfs):
    monkeypatch.setenv(sources.PAPERS_ENV, str(tmp_path / "nowhere"))
    with pytest.raises(FileNotFoundError, match="not a folder"):
        sources.paper_pdfs("smoke", True, tmp_path, 0)
    (tmp_path / "empty").mkdir()
    monkeypatch.setenv(sources.PAPERS_ENV, str(tmp_path / "empty"))
    with pytest.raises(FileNotFoundError, match="No .pdf"):
        sources.paper_pdfs("smoke", True, tmp_path, 0)
    monkeypatch.setenv(sources.PAPERS_ENV, str(pdfs[0].parent))
    found, label = sources.paper_pdfs("smoke", True, tmp_path, 0)
    assert found == sorted(pdfs) and "yours" in label


class _Garbage(teachers.OfflineTeacher):
    """A teacher that answers, but with text no parser can read (a model in the wrong precision writes such)."""

    def __init__(self):
        super().__init__()
        self.asked = 0

    def reply(self, chunk_text, n):
        self.asked += 1
        return "!!!! ???? ____ " * 20


def test_a_teacher_whose_first_replies_give_nothing_stops_the_build_early(pdfs, tmp_path):
    teacher = _Garbage()
    with pytest.raises(teachers.TeacherError, match="first 3 replies gave no usable triple"):
        pipeline.build_dataset(pdfs, teacher, tmp_path / "triples", chunk_size=1500, overlap=200, per_chunk=3,
                               progress=False)
    assert teacher.asked == pipeline.EARLY_CHECK  # not every chunk of every paper
    assert not (tmp_path / "triples").exists()


def test_a_local_teacher_never_runs_in_fp16():
    import torch

    assert teachers.teacher_dtype("cpu") == torch.float32
    assert teachers.teacher_dtype("cuda") in (torch.bfloat16, torch.float32)  # bf16 where the GPU has it


def test_ligatures_are_spelt_out_and_a_title_is_read_from_the_first_page():
    assert pdf.unligature("the \ufb01rst \ufb02ow, \ufb00ect and x\u00b2") == "the first flow, ffect and x\u00b2"
    page = "arXiv:2401.00001v2 [cs.CL] 3 Jan 2024\nSparse Adapters for Small Models\nA. Author, B. Author\n1 Introduction"
    assert pdf.first_page_title(page) == "Sparse Adapters for Small Models"
    assert pdf.first_page_title("12\n\n") == ""
