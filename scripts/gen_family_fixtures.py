#!/usr/bin/python3
"""Reference fixtures for the Hugging Face model families the engine will support next.

Run from the repo root with `/usr/bin/python3 scripts/gen_family_fixtures.py`. It needs only torch and
numpy (Debian's python3-torch). The `transformers` package is not available, so each family's forward
pass is written here in plain torch. The functions mirror Hugging Face's modeling code function by
function; a comment above each one names the HF function and file it follows. The HF source was read
from huggingface/transformers (the v4.4x files and the current `masking_utils.py`, see
test/fixtures/README.md). A second, independent naive implementation (per-token and per-head loops, an
explicit rotation by angle without rotate_half, explicit mask loops and explicit softmax) runs on every
case. The main reference must agree with it within 1e-5 before anything is written.

For every case it writes test/fixtures/families/<case>/ with:
  config.json                   the keys HF's config classes write (sorted, indent 2, as save_pretrained does)
  model.safetensors             or model-0000k-of-00002.safetensors + model.safetensors.index.json
  expected.json                 float64 reference outputs (see test/fixtures/README.md)

Everything is seeded, and the script reads back every file it writes. Running it again writes
byte-identical files.
"""

import hashlib
import json
import math
import os
import shutil
import struct
import sys

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import fixture_tokenizers  # noqa: E402  (tokenizer.json files for the text cases; ids from HF's Rust tokenizers)

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "test", "fixtures", "families")

SIG_DIGITS = 9          # significant digits of every float written to expected.json
NAIVE_TOL = 1e-5        # the main reference and the naive one must agree this closely (they agree to ~1e-13)
SIZE_BUDGET = 3_000_000  # bytes for everything under test/fixtures/families

torch.set_num_threads(1)  # single-threaded reductions -> bit-stable output across runs

HF_SOURCES = {
    "llama": "src/transformers/models/llama/modeling_llama.py (LlamaRMSNorm, LlamaRotaryEmbedding, rotate_half, "
             "apply_rotary_pos_emb, repeat_kv, eager_attention_forward, LlamaAttention, LlamaMLP, "
             "LlamaDecoderLayer, LlamaModel, LlamaForCausalLM); src/transformers/modeling_rope_utils.py "
             "(_compute_default_rope_parameters, _compute_linear_scaling_rope_parameters, _compute_llama3_parameters)",
    "mistral": "src/transformers/models/mistral/modular_mistral.py (MistralAttention, MistralModel: "
               "create_sliding_window_causal_mask when config.sliding_window is not None); "
               "src/transformers/masking_utils.py (causal_mask_function, sliding_window_overlay, and_masks)",
    "qwen2": "src/transformers/models/qwen2/modeling_qwen2.py (Qwen2Attention: q/k/v bias=True, o_proj bias=False); "
             "src/transformers/models/qwen2/configuration_qwen2.py (Qwen2Config: sliding_window = sliding_window "
             "if use_sliding_window else None; layer_types from max_window_layers)",
    "qwen3": "src/transformers/models/qwen3/modeling_qwen3.py (Qwen3Attention: q_norm/k_norm Qwen3RMSNorm over "
             "head_dim before rotary; head_dim from config)",
    "gpt_neox": "src/transformers/models/gpt_neox/modeling_gpt_neox.py (GPTNeoXAttention._attn_projections_and_rope, "
                "GPTNeoXAttention._attn, GPTNeoXRotaryEmbedding, apply_rotary_pos_emb, GPTNeoXMLP, GPTNeoXLayer, "
                "GPTNeoXModel, GPTNeoXForCausalLM)",
    "bert": "src/transformers/models/bert/modeling_bert.py (BertEmbeddings, BertSelfAttention, BertSelfOutput, "
            "BertIntermediate, BertOutput, BertLayer)",
    "roberta": "src/transformers/models/roberta/modeling_roberta.py (create_position_ids_from_input_ids, "
               "RobertaEmbeddings; the layers are BERT's)",
    "distilbert": "src/transformers/models/distilbert/modeling_distilbert.py (Embeddings, MultiHeadSelfAttention, "
                  "FFN, TransformerBlock; LayerNorm eps hard-coded 1e-12)",
}


# --------------------------------------------------------------------------------------
# JSON and safetensors I/O
# --------------------------------------------------------------------------------------

def rnd(v):
    """Round a float to SIG_DIGITS significant digits. None (a masked entry) passes through."""
    if v is None or isinstance(v, (bool, int)):
        return v
    f = float(v)
    if not math.isfinite(f):
        raise ValueError("non-finite value cannot go into JSON: %r" % f)
    return float(format(f, ".%dg" % SIG_DIGITS))


def tolist_rounded(t, masked=None):
    """Nested lists of rounded floats. Entries where `masked` is True become None (JSON null)."""
    a = t.detach().to(torch.float64).cpu().numpy()
    m = None if masked is None else np.broadcast_to(masked.cpu().numpy(), a.shape)

    def rec(idx, arr):
        if arr.ndim == 0:
            return None if (m is not None and m[idx]) else rnd(arr.item())
        return [rec(idx + (i,), arr[i]) for i in range(arr.shape[0])]

    return rec((), a)


def dumps(obj, indent=0):
    """Readable, compact JSON: innermost rows of numbers on one line, structure indented."""
    pad, pad1 = "  " * indent, "  " * (indent + 1)
    if isinstance(obj, dict):
        if not obj:
            return "{}"
        return "{\n" + ",\n".join("%s%s: %s" % (pad1, json.dumps(k), dumps(v, indent + 1))
                                  for k, v in obj.items()) + "\n" + pad + "}"
    if isinstance(obj, (list, tuple)):
        if all(not isinstance(e, (list, tuple, dict)) for e in obj):
            return "[" + ",".join(dumps(e) for e in obj) + "]"
        if all(isinstance(e, dict) and all(not isinstance(v, (list, dict)) for v in e.values()) for e in obj):
            return "[\n" + ",\n".join(pad1 + json.dumps(e, separators=(",", ":")) for e in obj) + "\n" + pad + "]"
        return "[\n" + ",\n".join(pad1 + dumps(e, indent + 1) for e in obj) + "\n" + pad + "]"
    if isinstance(obj, float):
        if not math.isfinite(obj):
            raise ValueError("non-finite in JSON")
        return repr(obj)
    return json.dumps(obj)


def write_text(path, text):
    with open(path, "w", encoding="utf-8", newline="\n") as f:
        f.write(text)


def write_config(path, cfg):
    # PretrainedConfig.to_json_string: json.dumps(config_dict, indent=2, sort_keys=True) + "\n"
    write_text(path, json.dumps(cfg, indent=2, sort_keys=True) + "\n")


# safetensors dtype -> (torch dtype, numpy little-endian type of the raw element bits)
ST_DTYPES = {
    "F64": (torch.float64, "<i8"),
    "F32": (torch.float32, "<i4"),
    "F16": (torch.float16, "<i2"),
    "BF16": (torch.bfloat16, "<i2"),
    "I64": (torch.int64, "<i8"),
    "BOOL": (torch.bool, "u1"),
}
TORCH_TO_ST = {v[0]: k for k, v in ST_DTYPES.items()}
ST_ORDER = ["I64", "F64", "F32", "BF16", "F16", "BOOL"]  # safetensors' prepare(): dtype descending, then name
INT_VIEW = {torch.float64: torch.int64, torch.float32: torch.int32, torch.float16: torch.int16,
            torch.bfloat16: torch.int16, torch.int64: torch.int64}


def tensor_bytes(t):
    t = t.detach().contiguous().cpu()
    if t.dtype == torch.bool:
        return t.to(torch.uint8).numpy().tobytes()  # safetensors BOOL: one byte per element, 0 or 1
    raw = t.view(INT_VIEW[t.dtype]).numpy()
    return raw.astype(raw.dtype.newbyteorder("<"), copy=False).tobytes()


def write_safetensors(path, tensors):
    """tensors: dict name -> tensor. Layout per the safetensors spec: u64 LE header length, a JSON header
    padded with spaces to a multiple of 8 (with "__metadata__": {"format": "pt"} as HF writes it), then
    the raw little-endian data. Tensors are stored in the order the safetensors library uses (by dtype, widest
    first, then by name), which keeps every tensor aligned to its element size."""
    header = {"__metadata__": {"format": "pt"}}
    blobs, offset = [], 0
    for name in sorted(tensors, key=lambda k: (ST_ORDER.index(TORCH_TO_ST[tensors[k].dtype]), k)):
        t = tensors[name]
        raw = tensor_bytes(t)
        header[name] = {"dtype": TORCH_TO_ST[t.dtype], "shape": list(t.shape), "data_offsets": [offset, offset + len(raw)]}
        blobs.append(raw)
        offset += len(raw)
    hjson = json.dumps(header, separators=(",", ":")).encode("utf-8")
    hjson += b" " * ((-len(hjson)) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(hjson)))
        f.write(hjson)
        for b in blobs:
            f.write(b)


def read_safetensors(path):
    """Independent re-reader, used only to check what was written."""
    with open(path, "rb") as f:
        data = f.read()
    (n,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8:8 + n].decode("utf-8"))
    assert header.pop("__metadata__") == {"format": "pt"}
    base, out, end = 8 + n, {}, 0
    for name, info in sorted(header.items(), key=lambda kv: kv[1]["data_offsets"][0]):
        tdt, npt = ST_DTYPES[info["dtype"]]
        b, e = info["data_offsets"]
        assert b == end, "%s: hole or overlap in %s" % (name, path)
        end = e
        arr = np.frombuffer(data[base + b:base + e], dtype=npt).copy()
        if tdt == torch.bool:
            t = torch.from_numpy(arr).to(torch.bool)
        else:
            t = torch.from_numpy(arr.astype(arr.dtype.newbyteorder("="))).view(tdt)
        out[name] = t.reshape(info["shape"])
    assert base + end == len(data), "trailing bytes in %s" % path
    return out


def same_tensor(a, b):
    if a.dtype != b.dtype or a.shape != b.shape:
        return False
    if a.dtype == torch.bool or a.dtype == torch.int64:
        return torch.equal(a, b)
    return torch.equal(a.view(INT_VIEW[a.dtype]), b.view(INT_VIEW[b.dtype]))


def fresh_dir(path):
    if os.path.isdir(path):
        shutil.rmtree(path)
    os.makedirs(path)


def assert_close(name, got, want, atol):
    got, want = got.to(torch.float64), want.to(torch.float64)
    d = (got - want).abs().max().item() if got.numel() else 0.0
    if not d <= atol:
        raise AssertionError("%s: max abs diff %.3g > %g" % (name, d, atol))
    return d


# --------------------------------------------------------------------------------------
# Random weights
# --------------------------------------------------------------------------------------

class Init:
    """Seeded weight factory. Everything is drawn in float64 and rounded to float32 once, so the values
    do not depend on torch's float32 RNG path."""

    def __init__(self, seed):
        self.g = torch.Generator()
        self.g.manual_seed(seed)

    def normal(self, *shape, std=0.2):
        return (torch.randn(*shape, generator=self.g, dtype=torch.float64) * std).float()

    def gain(self, n):  # LayerNorm / RMSNorm weights: near 1 with noise
        return (1.0 + 0.1 * torch.randn(n, generator=self.g, dtype=torch.float64)).float()

    def ids(self, lo, hi, n):
        return [int(x) for x in torch.randint(lo, hi, (n,), generator=self.g).tolist()]


# --------------------------------------------------------------------------------------
# Reference A: mirrors of Hugging Face's modeling functions (vectorised, dtype-generic)
# --------------------------------------------------------------------------------------

def linear(x, P, name, bias=True):
    """nn.Linear: y = x W^T + b (W stored [out, in])."""
    b = P.get(name + ".bias") if bias else None
    return F.linear(x, P[name + ".weight"], b)


# Mirrors LlamaRMSNorm.forward (models/llama/modeling_llama.py); Qwen3RMSNorm is the same code.
def llama_rms_norm(hidden_states, weight, eps):
    variance = hidden_states.pow(2).mean(-1, keepdim=True)
    hidden_states = hidden_states * torch.rsqrt(variance + eps)
    return weight * hidden_states


def config_head_dim(cfg):
    # LlamaAttention / Qwen3Attention: getattr(config, "head_dim", None) or hidden_size // num_attention_heads
    return cfg.get("head_dim") or cfg["hidden_size"] // cfg["num_attention_heads"]


# Mirrors _compute_default_rope_parameters (modeling_rope_utils.py).
def compute_default_rope_parameters(cfg, dtype):
    base = cfg["rope_theta"]
    partial_rotary_factor = cfg.get("partial_rotary_factor", 1.0)
    dim = int(config_head_dim(cfg) * partial_rotary_factor)
    inv_freq = 1.0 / (base ** (torch.arange(0, dim, 2, dtype=torch.int64).to(dtype) / dim))
    return inv_freq, 1.0


# Mirrors _compute_linear_scaling_rope_parameters (modeling_rope_utils.py).
def compute_linear_scaling_rope_parameters(cfg, dtype):
    factor = cfg["rope_scaling"]["factor"]
    inv_freq, attention_factor = compute_default_rope_parameters(cfg, dtype)
    inv_freq = inv_freq / factor
    return inv_freq, attention_factor


# Mirrors _compute_llama3_parameters (modeling_rope_utils.py).
def compute_llama3_parameters(cfg, dtype):
    inv_freq, attention_factor = compute_default_rope_parameters(cfg, dtype)
    rs = cfg["rope_scaling"]
    factor = rs["factor"]
    low_freq_factor = rs["low_freq_factor"]
    high_freq_factor = rs["high_freq_factor"]
    old_context_len = rs["original_max_position_embeddings"]
    low_freq_wavelen = old_context_len / low_freq_factor
    high_freq_wavelen = old_context_len / high_freq_factor
    wavelen = 2 * math.pi / inv_freq
    inv_freq_llama = torch.where(wavelen > low_freq_wavelen, inv_freq / factor, inv_freq)
    smooth_factor = (old_context_len / wavelen - low_freq_factor) / (high_freq_factor - low_freq_factor)
    smoothed_inv_freq = (1 - smooth_factor) * inv_freq_llama / factor + smooth_factor * inv_freq_llama
    is_medium_freq = ~(wavelen < high_freq_wavelen) * ~(wavelen > low_freq_wavelen)
    inv_freq_llama = torch.where(is_medium_freq, smoothed_inv_freq, inv_freq_llama)
    return inv_freq_llama, attention_factor


ROPE_INIT_FUNCTIONS = {
    "default": compute_default_rope_parameters,
    "linear": compute_linear_scaling_rope_parameters,
    "llama3": compute_llama3_parameters,
}


def rope_type(cfg):
    # LlamaRotaryEmbedding.__init__: BC, "rope_type" was originally "type"
    rs = cfg.get("rope_scaling")
    if rs is None:
        return "default"
    return rs.get("rope_type", rs.get("type"))


# Mirrors LlamaRotaryEmbedding.forward (models/llama/modeling_llama.py): emb = cat(freqs, freqs).
def rotary_embedding(inv_freq, attention_scaling, position_ids, dtype):
    freqs = (inv_freq[:, None] @ position_ids[None, :].to(dtype)).transpose(0, 1)  # [n, dim/2]
    emb = torch.cat((freqs, freqs), dim=-1)
    return emb.cos() * attention_scaling, emb.sin() * attention_scaling


# Mirrors rotate_half (models/llama/modeling_llama.py; identical in gpt_neox).
def rotate_half(x):
    x1 = x[..., : x.shape[-1] // 2]
    x2 = x[..., x.shape[-1] // 2:]
    return torch.cat((-x2, x1), dim=-1)


# Mirrors apply_rotary_pos_emb (models/llama/modeling_llama.py); q, k: [heads, n, dim], cos/sin: [n, dim].
def apply_rotary_pos_emb(q, k, cos, sin):
    cos, sin = cos.unsqueeze(0), sin.unsqueeze(0)  # unsqueeze_dim=1 for the batch-less layout
    q_embed = (q * cos) + (rotate_half(q) * sin)
    k_embed = (k * cos) + (rotate_half(k) * sin)
    return q_embed, k_embed


# Mirrors repeat_kv (models/llama/modeling_llama.py); [kv_heads, n, d] -> [kv_heads*n_rep, n, d].
def repeat_kv(hidden_states, n_rep):
    kv, slen, hd = hidden_states.shape
    if n_rep == 1:
        return hidden_states
    hidden_states = hidden_states[:, None, :, :].expand(kv, n_rep, slen, hd)
    return hidden_states.reshape(kv * n_rep, slen, hd)


# Mirrors masking_utils.causal_mask_function, sliding_window_overlay and and_masks (masking_utils.py),
# evaluated on the (q_idx, kv_idx) grid. True = the query may attend to the key.
def hf_allowed_mask(n, sliding_window=None):
    q_idx = torch.arange(n)[:, None]
    kv_idx = torch.arange(n)[None, :]
    allowed = kv_idx <= q_idx                        # causal_mask_function
    if sliding_window is not None:
        allowed = allowed & (kv_idx > q_idx - sliding_window)  # sliding_window_overlay
    return allowed


# Mirrors masking_utils.eager_mask: the boolean mask becomes 0 / finfo(dtype).min, added to the scores.
def eager_additive_mask(allowed, dtype):
    return torch.where(allowed, torch.tensor(0.0, dtype=dtype), torch.tensor(torch.finfo(dtype).min, dtype=dtype))


# Mirrors eager_attention_forward (models/llama/modeling_llama.py). Also returns the scaled scores
# before the mask is added (the fixture's "scores").
def eager_attention_forward(query, key, value, attention_mask, scaling, num_key_value_groups):
    key_states = repeat_kv(key, num_key_value_groups)
    value_states = repeat_kv(value, num_key_value_groups)
    scores = torch.matmul(query, key_states.transpose(1, 2)) * scaling
    attn_weights = scores + attention_mask if attention_mask is not None else scores
    attn_weights = F.softmax(attn_weights, dim=-1)
    attn_output = torch.matmul(attn_weights, value_states)  # [heads, n, hd]
    attn_output = attn_output.transpose(0, 1).contiguous()  # [n, heads, hd]
    return attn_output, attn_weights, scores


# Mirrors LlamaAttention.forward (llama), Qwen2Attention (q/k/v bias), Qwen3Attention (q_norm/k_norm over
# head_dim before rotary) and MistralAttention (same as llama; the window is in the mask).
def llama_like_attention(cfg, P, pre, hidden_states, cos, sin, attention_mask):
    hd = config_head_dim(cfg)
    n = hidden_states.shape[0]
    hidden_shape = (n, -1, hd)
    q = linear(hidden_states, P, pre + "self_attn.q_proj").view(hidden_shape)
    k = linear(hidden_states, P, pre + "self_attn.k_proj").view(hidden_shape)
    v = linear(hidden_states, P, pre + "self_attn.v_proj").view(hidden_shape)
    if cfg["model_type"] == "qwen3":
        q = llama_rms_norm(q, P[pre + "self_attn.q_norm.weight"], cfg["rms_norm_eps"])
        k = llama_rms_norm(k, P[pre + "self_attn.k_norm.weight"], cfg["rms_norm_eps"])
    q, k, v = q.transpose(0, 1), k.transpose(0, 1), v.transpose(0, 1)
    q, k = apply_rotary_pos_emb(q, k, cos, sin)
    groups = cfg["num_attention_heads"] // cfg["num_key_value_heads"]
    out, w, s = eager_attention_forward(q, k, v, attention_mask, hd ** -0.5, groups)
    out = out.reshape(n, -1).contiguous()
    return linear(out, P, pre + "self_attn.o_proj"), w, s


# Mirrors LlamaMLP.forward: down_proj(act_fn(gate_proj(x)) * up_proj(x)), act_fn = ACT2FN["silu"].
def llama_mlp(P, pre, x):
    return linear(F.silu(linear(x, P, pre + "mlp.gate_proj")) * linear(x, P, pre + "mlp.up_proj"), P, pre + "mlp.down_proj")


# Mirrors Qwen2Config.__post_init__ / Qwen3Config (layer_types) and MistralModel.forward (one mask for all
# layers: the sliding one whenever config.sliding_window is not None). Returns the window per layer.
def layer_sliding_windows(cfg):
    L = cfg["num_hidden_layers"]
    mt = cfg["model_type"]
    if mt == "mistral":
        return [cfg.get("sliding_window")] * L
    if mt in ("qwen2", "qwen3"):
        sw = cfg.get("sliding_window") if cfg.get("use_sliding_window", False) else None
        types = ["sliding_attention" if sw is not None and i >= cfg["max_window_layers"] else "full_attention"
                 for i in range(L)]
        return [sw if t == "sliding_attention" else None for t in types]
    return [None] * L


# Mirrors LlamaModel.forward + LlamaDecoderLayer.forward + LlamaForCausalLM.forward (and the mistral / qwen2 /
# qwen3 copies of them).
def llama_like_forward(cfg, W, ids, dtype):
    P = {k: v.to(dtype) for k, v in W.items()}
    n = len(ids)
    eps = cfg["rms_norm_eps"]
    position_ids = torch.arange(n)
    x = P["model.embed_tokens.weight"][torch.tensor(ids)]
    inv_freq, attention_scaling = ROPE_INIT_FUNCTIONS[rope_type(cfg)](cfg, dtype)
    cos, sin = rotary_embedding(inv_freq, attention_scaling, position_ids, dtype)
    windows = layer_sliding_windows(cfg)
    attns, scores, allowed_all = [], [], []
    for i in range(cfg["num_hidden_layers"]):
        pre = "model.layers.%d." % i
        allowed = hf_allowed_mask(n, windows[i])
        residual = x
        h = llama_rms_norm(x, P[pre + "input_layernorm.weight"], eps)
        h, w, s = llama_like_attention(cfg, P, pre, h, cos, sin, eager_additive_mask(allowed, dtype))
        x = residual + h
        residual = x
        h = llama_rms_norm(x, P[pre + "post_attention_layernorm.weight"], eps)
        x = residual + llama_mlp(P, pre, h)
        attns.append(w)
        scores.append(s)
        allowed_all.append(allowed)
    last = llama_rms_norm(x, P["model.norm.weight"], eps)
    lm_head = P["model.embed_tokens.weight"] if cfg["tie_word_embeddings"] else P["lm_head.weight"]
    logits = F.linear(last, lm_head)
    return {"attentions": torch.stack(attns), "scores": torch.stack(scores), "allowed": torch.stack(allowed_all),
            "hidden": last, "logits": logits, "position_ids": position_ids,
            "rotary": (inv_freq, attention_scaling, cos, sin)}


# Mirrors GPTNeoXRotaryEmbedding (inv_freq over rotary_ndims = int(head_size * rotary_pct), base
# rotary_emb_base; cos/sin = cat(freqs, freqs)) and apply_rotary_pos_emb (models/gpt_neox/modeling_gpt_neox.py).
def neox_rotary(cfg, n, dtype):
    head_size = cfg["hidden_size"] // cfg["num_attention_heads"]
    rotary_ndims = int(head_size * cfg["rotary_pct"])
    base = cfg["rotary_emb_base"]
    inv_freq = 1.0 / (base ** (torch.arange(0, rotary_ndims, 2, dtype=torch.int64).to(dtype) / rotary_ndims))
    t = torch.arange(n, dtype=torch.int64).to(dtype)
    freqs = torch.outer(t, inv_freq)
    emb = torch.cat((freqs, freqs), dim=-1)
    return inv_freq, emb.cos(), emb.sin(), rotary_ndims


# Mirrors GPTNeoXAttention._attn_projections_and_rope + GPTNeoXAttention._attn + forward (dense).
def neox_attention(cfg, P, pre, hidden_states, cos, sin, rotary_ndims, causal_mask, dtype):
    H = cfg["num_attention_heads"]
    head_size = cfg["hidden_size"] // H
    n = hidden_states.shape[0]
    qkv = linear(hidden_states, P, pre + "attention.query_key_value")
    qkv = qkv.view(n, H, 3 * head_size)                       # [n, heads, 3*head_size]: per head q | k | v
    query = qkv[..., :head_size].permute(1, 0, 2)
    key = qkv[..., head_size:2 * head_size].permute(1, 0, 2)
    value = qkv[..., 2 * head_size:].permute(1, 0, 2)
    query_rot, query_pass = query[..., :rotary_ndims], query[..., rotary_ndims:]
    key_rot, key_pass = key[..., :rotary_ndims], key[..., rotary_ndims:]
    query, key = apply_rotary_pos_emb(query_rot, key_rot, cos, sin)
    query = torch.cat((query, query_pass), dim=-1)
    key = torch.cat((key, key_pass), dim=-1)
    norm_factor = head_size ** -0.5
    scores = torch.matmul(query, key.transpose(1, 2)) * norm_factor   # baddbmm(zeros, q, k^T, alpha=norm_factor)
    mask_value = torch.tensor(torch.finfo(dtype).min, dtype=dtype)
    attn_scores = torch.where(causal_mask, scores, mask_value)
    attn_weights = F.softmax(attn_scores, dim=-1)
    attn_output = torch.matmul(attn_weights, value)
    attn_output = attn_output.permute(1, 0, 2).contiguous().view(n, H * head_size)  # _merge_heads
    return linear(attn_output, P, pre + "attention.dense"), attn_weights, scores


# Mirrors GPTNeoXMLP.forward: dense_4h_to_h(act(dense_h_to_4h(x))), act = ACT2FN["gelu"] (exact erf GELU).
def neox_mlp(P, pre, x):
    return linear(F.gelu(linear(x, P, pre + "mlp.dense_h_to_4h")), P, pre + "mlp.dense_4h_to_h")


# Mirrors GPTNeoXLayer.forward, GPTNeoXModel.forward and GPTNeoXForCausalLM.forward (untied embed_out).
def neox_forward(cfg, W, ids, dtype):
    P = {k: v.to(dtype) for k, v in W.items() if v.is_floating_point()}
    n = len(ids)
    eps = cfg["layer_norm_eps"]
    C = cfg["hidden_size"]
    x = P["gpt_neox.embed_in.weight"][torch.tensor(ids)]
    inv_freq, cos, sin, rotary_ndims = neox_rotary(cfg, n, dtype)
    causal_mask = torch.tril(torch.ones(n, n, dtype=torch.bool))  # the `bias` buffer, sliced to n x n
    attns, scores = [], []
    for i in range(cfg["num_hidden_layers"]):
        pre = "gpt_neox.layers.%d." % i
        ln1 = F.layer_norm(x, (C,), P[pre + "input_layernorm.weight"], P[pre + "input_layernorm.bias"], eps)
        attn_output, w, s = neox_attention(cfg, P, pre, ln1, cos, sin, rotary_ndims, causal_mask, dtype)
        if cfg["use_parallel_residual"]:
            # x = x + attn(ln1(x)) + mlp(ln2(x))
            ln2 = F.layer_norm(x, (C,), P[pre + "post_attention_layernorm.weight"], P[pre + "post_attention_layernorm.bias"], eps)
            x = neox_mlp(P, pre, ln2) + attn_output + x
        else:
            # x = x + attn(ln1(x)); x = x + mlp(ln2(x))
            attn_output = attn_output + x
            ln2 = F.layer_norm(attn_output, (C,), P[pre + "post_attention_layernorm.weight"], P[pre + "post_attention_layernorm.bias"], eps)
            x = neox_mlp(P, pre, ln2) + attn_output
        attns.append(w)
        scores.append(s)
    last = F.layer_norm(x, (C,), P["gpt_neox.final_layer_norm.weight"], P["gpt_neox.final_layer_norm.bias"], eps)
    logits = F.linear(last, P["embed_out.weight"])
    allowed = causal_mask[None].expand(cfg["num_hidden_layers"], n, n)
    return {"attentions": torch.stack(attns), "scores": torch.stack(scores), "allowed": allowed,
            "hidden": last, "logits": logits, "position_ids": torch.arange(n),
            "rotary": (inv_freq, 1.0, cos, sin)}


# Mirrors create_position_ids_from_input_ids (models/roberta/modeling_roberta.py).
def create_position_ids_from_input_ids(input_ids, padding_idx, past_key_values_length=0):
    mask = input_ids.ne(padding_idx).int()
    incremental_indices = (torch.cumsum(mask, dim=1).type_as(mask) + past_key_values_length) * mask
    return incremental_indices.long() + padding_idx


# Mirrors BertEmbeddings.forward (models/bert/modeling_bert.py) and RobertaEmbeddings.forward
# (models/roberta/modeling_roberta.py): word + token_type + absolute position, then LayerNorm.
def bert_embeddings(cfg, P, pre, ids, token_type_ids, dtype):
    input_ids = torch.tensor([ids])
    if cfg["model_type"] == "roberta":
        position_ids = create_position_ids_from_input_ids(input_ids, cfg["pad_token_id"])[0]
    else:
        position_ids = torch.arange(len(ids))
    e = P[pre + "embeddings.word_embeddings.weight"][input_ids[0]]
    e = e + P[pre + "embeddings.token_type_embeddings.weight"][torch.tensor(token_type_ids)]
    e = e + P[pre + "embeddings.position_embeddings.weight"][position_ids]
    C = cfg["hidden_size"]
    e = F.layer_norm(e, (C,), P[pre + "embeddings.LayerNorm.weight"], P[pre + "embeddings.LayerNorm.bias"], cfg["layer_norm_eps"])
    return e, position_ids


# Mirrors BertSelfAttention.forward (transpose_for_scores, scores / sqrt(head_size), + extended mask of
# zeros when no attention_mask is given, softmax, context) and BertSelfOutput / BertIntermediate /
# BertOutput / BertLayer.forward (post-LayerNorm, ACT2FN["gelu"] = exact erf GELU).
def bert_layer(cfg, P, pre, x):
    H = cfg["num_attention_heads"]
    C = cfg["hidden_size"]
    hd = C // H
    n = x.shape[0]
    eps = cfg["layer_norm_eps"]

    def transpose_for_scores(t):
        return t.view(n, H, hd).permute(1, 0, 2)

    q = transpose_for_scores(linear(x, P, pre + "attention.self.query"))
    k = transpose_for_scores(linear(x, P, pre + "attention.self.key"))
    v = transpose_for_scores(linear(x, P, pre + "attention.self.value"))
    scores = torch.matmul(q, k.transpose(-1, -2)) / math.sqrt(hd)
    probs = F.softmax(scores, dim=-1)
    ctx = torch.matmul(probs, v).permute(1, 0, 2).contiguous().view(n, C)
    attn_out = F.layer_norm(linear(ctx, P, pre + "attention.output.dense") + x, (C,),
                            P[pre + "attention.output.LayerNorm.weight"], P[pre + "attention.output.LayerNorm.bias"], eps)
    inter = F.gelu(linear(attn_out, P, pre + "intermediate.dense"))
    out = F.layer_norm(linear(inter, P, pre + "output.dense") + attn_out, (C,),
                       P[pre + "output.LayerNorm.weight"], P[pre + "output.LayerNorm.bias"], eps)
    return out, probs, scores


def bert_forward(cfg, W, ids, dtype, prefix, token_type_ids):
    P = {k: v.to(dtype) for k, v in W.items() if v.is_floating_point()}
    x, position_ids = bert_embeddings(cfg, P, prefix, ids, token_type_ids, dtype)
    attns, scores = [], []
    for i in range(cfg["num_hidden_layers"]):
        x, w, s = bert_layer(cfg, P, prefix + "encoder.layer.%d." % i, x)
        attns.append(w)
        scores.append(s)
    n = len(ids)
    return {"attentions": torch.stack(attns), "scores": torch.stack(scores),
            "allowed": torch.ones(cfg["num_hidden_layers"], n, n, dtype=torch.bool),
            "hidden": x, "logits": None, "position_ids": position_ids, "rotary": None}


# Mirrors distilbert Embeddings.forward, MultiHeadSelfAttention.forward (q / sqrt(dim_per_head) BEFORE the
# matmul; mask of ones -> nothing masked), FFN.ff_chunk and TransformerBlock.forward
# (models/distilbert/modeling_distilbert.py). LayerNorm eps is hard-coded 1e-12 there.
def distilbert_forward(cfg, W, ids, dtype):
    P = {k: v.to(dtype) for k, v in W.items()}
    C, H = cfg["dim"], cfg["n_heads"]
    hd = C // H
    n = len(ids)
    eps = 1e-12
    position_ids = torch.arange(n)
    x = P["distilbert.embeddings.word_embeddings.weight"][torch.tensor(ids)] + \
        P["distilbert.embeddings.position_embeddings.weight"][position_ids]
    x = F.layer_norm(x, (C,), P["distilbert.embeddings.LayerNorm.weight"], P["distilbert.embeddings.LayerNorm.bias"], eps)
    attns, scores = [], []
    for i in range(cfg["n_layers"]):
        pre = "distilbert.transformer.layer.%d." % i

        def shape(t):
            return t.view(n, H, hd).transpose(0, 1)

        q = shape(linear(x, P, pre + "attention.q_lin"))
        k = shape(linear(x, P, pre + "attention.k_lin"))
        v = shape(linear(x, P, pre + "attention.v_lin"))
        q = q / math.sqrt(hd)
        s = torch.matmul(q, k.transpose(1, 2))
        w = F.softmax(s, dim=-1)
        ctx = torch.matmul(w, v).transpose(0, 1).contiguous().view(n, C)
        sa = linear(ctx, P, pre + "attention.out_lin")
        sa = F.layer_norm(sa + x, (C,), P[pre + "sa_layer_norm.weight"], P[pre + "sa_layer_norm.bias"], eps)
        ffn = linear(F.gelu(linear(sa, P, pre + "ffn.lin1")), P, pre + "ffn.lin2")
        x = F.layer_norm(ffn + sa, (C,), P[pre + "output_layer_norm.weight"], P[pre + "output_layer_norm.bias"], eps)
        attns.append(w)
        scores.append(s)
    return {"attentions": torch.stack(attns), "scores": torch.stack(scores),
            "allowed": torch.ones(cfg["n_layers"], n, n, dtype=torch.bool),
            "hidden": x, "logits": None, "position_ids": position_ids, "rotary": None}


# --------------------------------------------------------------------------------------
# Reference B: naive, independent implementation (float64, per token / per head / per key loops)
# --------------------------------------------------------------------------------------

def nv_rms(v, w, eps):
    ms = sum(float(a) * float(a) for a in v) / len(v)
    return v / math.sqrt(ms + eps) * w


def nv_layer_norm(v, w, b, eps):
    m = sum(float(a) for a in v) / len(v)
    var = sum((float(a) - m) ** 2 for a in v) / len(v)
    return (v - m) / math.sqrt(var + eps) * w + b


def nv_gelu(v):
    return torch.tensor([0.5 * float(a) * (1.0 + math.erf(float(a) / math.sqrt(2.0))) for a in v], dtype=torch.float64)


def nv_silu(v):
    return torch.tensor([float(a) / (1.0 + math.exp(-float(a))) for a in v], dtype=torch.float64)


def nv_matvec(P, name, x, bias=True):
    y = P[name + ".weight"] @ x
    if bias and (name + ".bias") in P:
        y = y + P[name + ".bias"]
    return y


def nv_frequencies(theta, dim, scaling):
    """Rotation frequency of each pair (p, p + dim/2), from the formulas written out with Python floats."""
    out = []
    for p in range(dim // 2):
        f = theta ** (-(2.0 * p) / dim)
        kind = None if scaling is None else (scaling.get("rope_type") or scaling.get("type"))
        if kind == "linear":
            f = f / scaling["factor"]
        elif kind == "llama3":
            wavelength = 2.0 * math.pi / f
            short_limit = scaling["original_max_position_embeddings"] / scaling["high_freq_factor"]
            long_limit = scaling["original_max_position_embeddings"] / scaling["low_freq_factor"]
            if wavelength < short_limit:
                pass                              # high frequency: unchanged
            elif wavelength > long_limit:
                f = f / scaling["factor"]         # low frequency: interpolated by the full factor
            else:                                 # in between: blend the two
                s = (scaling["original_max_position_embeddings"] / wavelength - scaling["low_freq_factor"]) / \
                    (scaling["high_freq_factor"] - scaling["low_freq_factor"])
                f = (1.0 - s) * f / scaling["factor"] + s * f
        elif kind is not None:
            raise ValueError(kind)
        out.append(f)
    return out


def nv_rotate(v, pos, freqs):
    """Rotate each pair (v[p], v[p + half]) by the angle pos * freqs[p]; dims past 2*len(freqs) pass through."""
    out = v.clone()
    half = len(freqs)
    for p, f in enumerate(freqs):
        a, b = float(v[p]), float(v[p + half])
        c, s = math.cos(pos * f), math.sin(pos * f)
        out[p] = a * c - b * s
        out[p + half] = b * c + a * s
    return out


def nv_visible(i, j, causal, window):
    if causal and j > i:
        return False
    if window is not None and i - j >= window:
        return False
    return True


def nv_attend(Q, K, V, scale, causal, window):
    """Q, K, V: lists over positions of one head's vectors. Returns weights, scores (None = masked), outputs."""
    n = len(Q)
    weights = [[0.0] * n for _ in range(n)]
    scores = [[None] * n for _ in range(n)]
    outs = []
    for i in range(n):
        seen = [j for j in range(n) if nv_visible(i, j, causal, window)]
        for j in seen:
            scores[i][j] = sum(float(a) * float(b) for a, b in zip(Q[i], K[j])) * scale
        top = max(scores[i][j] for j in seen)
        ex = {j: math.exp(scores[i][j] - top) for j in seen}
        z = sum(ex.values())
        acc = torch.zeros_like(V[0])
        for j in seen:
            weights[i][j] = ex[j] / z
            acc = acc + weights[i][j] * V[j]
        outs.append(acc)
    return weights, scores, outs


def nv_windows(cfg):
    """Which sliding window each layer uses, decided from the config independently of the main reference."""
    L = cfg["num_hidden_layers"]
    if cfg["model_type"] == "mistral" and cfg.get("sliding_window") is not None:
        return [cfg["sliding_window"]] * L
    if cfg["model_type"] in ("qwen2", "qwen3") and cfg.get("use_sliding_window") and cfg.get("sliding_window") is not None:
        return [cfg["sliding_window"] if layer >= cfg["max_window_layers"] else None for layer in range(L)]
    return [None] * L


def nv_pack(weights_per_head, scores_per_head):
    w = torch.tensor(weights_per_head, dtype=torch.float64)
    s = torch.tensor([[[math.nan if x is None else x for x in row] for row in sc] for sc in scores_per_head],
                     dtype=torch.float64)
    return w, s


def naive_llama_like(cfg, W, ids):
    P = {k: v.double() for k, v in W.items()}
    C, H, KV = cfg["hidden_size"], cfg["num_attention_heads"], cfg["num_key_value_heads"]
    hd = cfg.get("head_dim") or C // H
    eps = cfg["rms_norm_eps"]
    freqs = nv_frequencies(cfg["rope_theta"], hd, cfg.get("rope_scaling"))
    windows = nv_windows(cfg)
    hs = [P["model.embed_tokens.weight"][t].clone() for t in ids]
    n = len(ids)
    all_w, all_s = [], []
    for layer in range(cfg["num_hidden_layers"]):
        pre = "model.layers.%d." % layer
        qs, ks, vs = [], [], []
        for pos, h in enumerate(hs):
            x = nv_rms(h, P[pre + "input_layernorm.weight"], eps)
            q = nv_matvec(P, pre + "self_attn.q_proj", x)
            k = nv_matvec(P, pre + "self_attn.k_proj", x)
            v = nv_matvec(P, pre + "self_attn.v_proj", x)
            qh = [q[a * hd:(a + 1) * hd] for a in range(H)]
            kh = [k[g * hd:(g + 1) * hd] for g in range(KV)]
            vh = [v[g * hd:(g + 1) * hd] for g in range(KV)]
            if cfg["model_type"] == "qwen3":
                qh = [nv_rms(t, P[pre + "self_attn.q_norm.weight"], eps) for t in qh]
                kh = [nv_rms(t, P[pre + "self_attn.k_norm.weight"], eps) for t in kh]
            qs.append([nv_rotate(t, pos, freqs) for t in qh])
            ks.append([nv_rotate(t, pos, freqs) for t in kh])
            vs.append(vh)
        head_out = []
        lw, ls = [], []
        for a in range(H):
            g = a * KV // H  # query head a reads key/value head floor(a / (H / KV))
            w, s, o = nv_attend([qs[p][a] for p in range(n)], [ks[p][g] for p in range(n)],
                                [vs[p][g] for p in range(n)], 1.0 / math.sqrt(hd), True, windows[layer])
            lw.append(w)
            ls.append(s)
            head_out.append(o)
        new = []
        for pos in range(n):
            merged = torch.cat([head_out[a][pos] for a in range(H)])
            h = hs[pos] + nv_matvec(P, pre + "self_attn.o_proj", merged)
            x = nv_rms(h, P[pre + "post_attention_layernorm.weight"], eps)
            m = nv_silu(nv_matvec(P, pre + "mlp.gate_proj", x)) * nv_matvec(P, pre + "mlp.up_proj", x)
            new.append(h + nv_matvec(P, pre + "mlp.down_proj", m))
        hs = new
        w, s = nv_pack(lw, ls)
        all_w.append(w)
        all_s.append(s)
    last = torch.stack([nv_rms(h, P["model.norm.weight"], eps) for h in hs])
    head = P["lm_head.weight"] if "lm_head.weight" in P else P["model.embed_tokens.weight"]
    logits = torch.stack([head @ h for h in last])
    return torch.stack(all_w), torch.stack(all_s), last, logits


def naive_neox(cfg, W, ids):
    P = {k: v.double() for k, v in W.items() if v.is_floating_point()}
    C, H = cfg["hidden_size"], cfg["num_attention_heads"]
    hd = C // H
    rot = int(hd * cfg["rotary_pct"])
    eps = cfg["layer_norm_eps"]
    freqs = nv_frequencies(cfg["rotary_emb_base"], rot, None)
    hs = [P["gpt_neox.embed_in.weight"][t].clone() for t in ids]
    n = len(ids)
    all_w, all_s = [], []
    for layer in range(cfg["num_hidden_layers"]):
        pre = "gpt_neox.layers.%d." % layer
        Wqkv, bqkv = P[pre + "attention.query_key_value.weight"], P[pre + "attention.query_key_value.bias"]
        qs, ks, vs = [], [], []
        for pos, h in enumerate(hs):
            x = nv_layer_norm(h, P[pre + "input_layernorm.weight"], P[pre + "input_layernorm.bias"], eps)
            qh, kh, vh = [], [], []
            for a in range(H):
                # fused rows of head a: [a*3*hd, a*3*hd+hd) = q, then k, then v
                base = a * 3 * hd
                q = Wqkv[base:base + hd] @ x + bqkv[base:base + hd]
                k = Wqkv[base + hd:base + 2 * hd] @ x + bqkv[base + hd:base + 2 * hd]
                v = Wqkv[base + 2 * hd:base + 3 * hd] @ x + bqkv[base + 2 * hd:base + 3 * hd]
                qh.append(nv_rotate(q, pos, freqs))
                kh.append(nv_rotate(k, pos, freqs))
                vh.append(v)
            qs.append(qh)
            ks.append(kh)
            vs.append(vh)
        lw, ls, head_out = [], [], []
        for a in range(H):
            w, s, o = nv_attend([qs[p][a] for p in range(n)], [ks[p][a] for p in range(n)],
                                [vs[p][a] for p in range(n)], 1.0 / math.sqrt(hd), True, None)
            lw.append(w)
            ls.append(s)
            head_out.append(o)
        new = []
        for pos in range(n):
            attn = nv_matvec(P, pre + "attention.dense", torch.cat([head_out[a][pos] for a in range(H)]))
            h = hs[pos]
            mlp_in = h if cfg["use_parallel_residual"] else h + attn
            y = nv_layer_norm(mlp_in, P[pre + "post_attention_layernorm.weight"], P[pre + "post_attention_layernorm.bias"], eps)
            mlp = nv_matvec(P, pre + "mlp.dense_4h_to_h", nv_gelu(nv_matvec(P, pre + "mlp.dense_h_to_4h", y)))
            new.append(h + attn + mlp)
        hs = new
        w, s = nv_pack(lw, ls)
        all_w.append(w)
        all_s.append(s)
    last = torch.stack([nv_layer_norm(h, P["gpt_neox.final_layer_norm.weight"], P["gpt_neox.final_layer_norm.bias"], eps) for h in hs])
    logits = torch.stack([P["embed_out.weight"] @ h for h in last])
    return torch.stack(all_w), torch.stack(all_s), last, logits


def naive_encoder(cfg, W, ids, names):
    """BERT, RoBERTa and DistilBERT: post-LN encoders. `names` maps roles to this family's tensor names."""
    P = {k: v.double() for k, v in W.items() if v.is_floating_point()}
    C = cfg.get("hidden_size") or cfg["dim"]
    H = cfg.get("num_attention_heads") or cfg["n_heads"]
    L = cfg.get("num_hidden_layers") or cfg["n_layers"]
    eps = cfg.get("layer_norm_eps", 1e-12)
    hd = C // H
    n = len(ids)
    # positions: RoBERTa numbers the non-padding tokens from padding_idx + 1 and gives padding padding_idx
    if cfg["model_type"] == "roberta":
        positions, count = [], 0
        for t in ids:
            if t == cfg["pad_token_id"]:
                positions.append(cfg["pad_token_id"])
            else:
                count += 1
                positions.append(cfg["pad_token_id"] + count)
    else:
        positions = list(range(n))
    hs = []
    for pos, t in enumerate(ids):
        e = P[names["word"]][t] + P[names["pos"]][positions[pos]]
        if names.get("type"):
            e = e + P[names["type"]][0]
        hs.append(nv_layer_norm(e, P[names["emb_ln"] + ".weight"], P[names["emb_ln"] + ".bias"], eps))
    all_w, all_s = [], []
    for layer in range(L):
        pre = names["layer"] % layer
        qs = [[nv_matvec(P, pre + names["q"], x)[a * hd:(a + 1) * hd] for a in range(H)] for x in hs]
        ks = [[nv_matvec(P, pre + names["k"], x)[a * hd:(a + 1) * hd] for a in range(H)] for x in hs]
        vs = [[nv_matvec(P, pre + names["v"], x)[a * hd:(a + 1) * hd] for a in range(H)] for x in hs]
        lw, ls, head_out = [], [], []
        for a in range(H):
            w, s, o = nv_attend([qs[p][a] for p in range(n)], [ks[p][a] for p in range(n)],
                                [vs[p][a] for p in range(n)], 1.0 / math.sqrt(hd), False, None)
            lw.append(w)
            ls.append(s)
            head_out.append(o)
        new = []
        for pos in range(n):
            a_out = nv_matvec(P, pre + names["o"], torch.cat([head_out[a][pos] for a in range(H)]))
            h = nv_layer_norm(a_out + hs[pos], P[pre + names["ln1"] + ".weight"], P[pre + names["ln1"] + ".bias"], eps)
            f = nv_matvec(P, pre + names["ff2"], nv_gelu(nv_matvec(P, pre + names["ff1"], h)))
            new.append(nv_layer_norm(f + h, P[pre + names["ln2"] + ".weight"], P[pre + names["ln2"] + ".bias"], eps))
        hs = new
        w, s = nv_pack(lw, ls)
        all_w.append(w)
        all_s.append(s)
    return torch.stack(all_w), torch.stack(all_s), torch.stack(hs), None


BERT_NAMES = {"q": "attention.self.query", "k": "attention.self.key", "v": "attention.self.value",
              "o": "attention.output.dense", "ln1": "attention.output.LayerNorm", "ff1": "intermediate.dense",
              "ff2": "output.dense", "ln2": "output.LayerNorm"}
DISTILBERT_NAMES = {"word": "distilbert.embeddings.word_embeddings.weight",
                    "pos": "distilbert.embeddings.position_embeddings.weight", "type": None,
                    "emb_ln": "distilbert.embeddings.LayerNorm", "layer": "distilbert.transformer.layer.%d.",
                    "q": "attention.q_lin", "k": "attention.k_lin", "v": "attention.v_lin", "o": "attention.out_lin",
                    "ln1": "sa_layer_norm", "ff1": "ffn.lin1", "ff2": "ffn.lin2", "ln2": "output_layer_norm"}


def bert_names(prefix):
    d = dict(BERT_NAMES)
    d.update({"word": prefix + "embeddings.word_embeddings.weight", "pos": prefix + "embeddings.position_embeddings.weight",
              "type": prefix + "embeddings.token_type_embeddings.weight", "emb_ln": prefix + "embeddings.LayerNorm",
              "layer": prefix + "encoder.layer.%d."})
    return d


def torch_module_check(spec, W, ids, ref):
    """Encoders only: a BERT / RoBERTa / DistilBERT layer is exactly torch.nn.TransformerEncoderLayer (post-LN,
    exact GELU), so PyTorch's own module, fed the same weights, must reproduce every layer's attention weights and
    the last hidden state. Returns the largest difference (None for the decoders, which have no torch equivalent)."""
    cfg, fam = spec["config"], spec["family"]
    if fam not in ("bert", "roberta", "distilbert"):
        return None
    P = {k: v.double() for k, v in W.items() if v.is_floating_point()}
    if fam == "distilbert":
        names, C, H, I, L, eps = DISTILBERT_NAMES, cfg["dim"], cfg["n_heads"], cfg["hidden_dim"], cfg["n_layers"], 1e-12
        x = P[names["word"]][torch.tensor(ids)] + P[names["pos"]][torch.arange(len(ids))]
        x = F.layer_norm(x, (C,), P[names["emb_ln"] + ".weight"], P[names["emb_ln"] + ".bias"], eps)
    else:
        names = bert_names(spec["prefix"])
        C, H, I, L, eps = (cfg["hidden_size"], cfg["num_attention_heads"], cfg["intermediate_size"],
                           cfg["num_hidden_layers"], cfg["layer_norm_eps"])
        x, _ = bert_embeddings(cfg, P, spec["prefix"], ids, [0] * len(ids), torch.float64)
    worst = 0.0
    for layer_idx in range(L):
        pre = names["layer"] % layer_idx

        def pw(role, part):
            return P[pre + names[role] + "." + part]

        layer = torch.nn.TransformerEncoderLayer(C, H, I, dropout=0.0, activation="gelu", layer_norm_eps=eps,
                                                 batch_first=True, norm_first=False).double().eval()
        layer.load_state_dict({
            "self_attn.in_proj_weight": torch.cat([pw("q", "weight"), pw("k", "weight"), pw("v", "weight")]),
            "self_attn.in_proj_bias": torch.cat([pw("q", "bias"), pw("k", "bias"), pw("v", "bias")]),
            "self_attn.out_proj.weight": pw("o", "weight"), "self_attn.out_proj.bias": pw("o", "bias"),
            "linear1.weight": pw("ff1", "weight"), "linear1.bias": pw("ff1", "bias"),
            "linear2.weight": pw("ff2", "weight"), "linear2.bias": pw("ff2", "bias"),
            "norm1.weight": pw("ln1", "weight"), "norm1.bias": pw("ln1", "bias"),
            "norm2.weight": pw("ln2", "weight"), "norm2.bias": pw("ln2", "bias"),
        })
        with torch.no_grad():
            _, w = layer.self_attn(x[None], x[None], x[None], need_weights=True, average_attn_weights=False)
            x = layer(x[None])[0]
        worst = max(worst, assert_close("%s layer %d attn vs nn.TransformerEncoderLayer" % (spec["name"], layer_idx),
                                        w[0], ref["attentions"][layer_idx], 1e-12))
    return max(worst, assert_close(spec["name"] + " hidden vs nn.TransformerEncoderLayer", x, ref["hidden"], 1e-10))


# --------------------------------------------------------------------------------------
# Checkpoints: configs and parameters in HF's module order
# --------------------------------------------------------------------------------------

def llama_like_config(model_type, arch, **over):
    cfg = {
        "architectures": [arch],
        "attention_dropout": 0.0,
        "bos_token_id": 1,
        "eos_token_id": 2,
        "hidden_act": "silu",
        "initializer_range": 0.02,
        "model_type": model_type,
        "num_hidden_layers": 2,
        "rms_norm_eps": 1e-05,
        "use_cache": True,
    }
    cfg.update(over)
    return cfg


def llama_like_params(cfg, init):
    """State dict of <Arch>ForCausalLM in module registration order (LlamaModel: embed_tokens, layers[i]:
    self_attn{q,k,v,o}_proj [+ q_norm, k_norm], mlp{gate,up,down}_proj, input_layernorm,
    post_attention_layernorm; norm; then lm_head unless tied)."""
    C, H, KV, I, V = (cfg["hidden_size"], cfg["num_attention_heads"], cfg["num_key_value_heads"],
                      cfg["intermediate_size"], cfg["vocab_size"])
    hd = config_head_dim(cfg)
    qkv_bias = cfg["model_type"] == "qwen2" or cfg.get("attention_bias", False)
    p = {"model.embed_tokens.weight": init.normal(V, C, std=0.5)}
    for i in range(cfg["num_hidden_layers"]):
        pre = "model.layers.%d." % i
        p[pre + "self_attn.q_proj.weight"] = init.normal(H * hd, C, std=0.25)
        if qkv_bias:
            p[pre + "self_attn.q_proj.bias"] = init.normal(H * hd, std=0.3)
        p[pre + "self_attn.k_proj.weight"] = init.normal(KV * hd, C, std=0.25)
        if qkv_bias:
            p[pre + "self_attn.k_proj.bias"] = init.normal(KV * hd, std=0.3)
        p[pre + "self_attn.v_proj.weight"] = init.normal(KV * hd, C, std=0.2)
        if qkv_bias:
            p[pre + "self_attn.v_proj.bias"] = init.normal(KV * hd, std=0.3)
        p[pre + "self_attn.o_proj.weight"] = init.normal(C, H * hd, std=0.2)
        if cfg.get("attention_bias", False):
            p[pre + "self_attn.o_proj.bias"] = init.normal(C, std=0.1)
        if cfg["model_type"] == "qwen3":
            p[pre + "self_attn.q_norm.weight"] = init.gain(hd)
            p[pre + "self_attn.k_norm.weight"] = init.gain(hd)
        p[pre + "mlp.gate_proj.weight"] = init.normal(I, C, std=0.2)
        p[pre + "mlp.up_proj.weight"] = init.normal(I, C, std=0.2)
        p[pre + "mlp.down_proj.weight"] = init.normal(C, I, std=0.2)
        p[pre + "input_layernorm.weight"] = init.gain(C)
        p[pre + "post_attention_layernorm.weight"] = init.gain(C)
    p["model.norm.weight"] = init.gain(C)
    if not cfg["tie_word_embeddings"]:
        p["lm_head.weight"] = init.normal(V, C, std=0.25)
    return p


def neox_config(parallel, dtype_name):
    return {
        "architectures": ["GPTNeoXForCausalLM"],
        "attention_bias": True,
        "attention_dropout": 0.0,
        "bos_token_id": 0,
        "classifier_dropout": 0.1,
        "eos_token_id": 0,
        "hidden_act": "gelu",
        "hidden_dropout": 0.0,
        "hidden_size": 32,
        "initializer_range": 0.02,
        "intermediate_size": 128,
        "layer_norm_eps": 1e-05,
        "max_position_embeddings": 64,
        "model_type": "gpt_neox",
        "num_attention_heads": 2,
        "num_hidden_layers": 2,
        "rope_scaling": None,
        "rotary_emb_base": 10000,
        "rotary_pct": 0.25,
        "tie_word_embeddings": False,
        "torch_dtype": dtype_name,
        "use_cache": True,
        "use_parallel_residual": parallel,
        "vocab_size": 320,
    }


def neox_params(cfg, init):
    """GPTNeoXForCausalLM state dict plus the buffers old Pythia checkpoints carry (attention.bias BOOL
    [1,1,P,P] lower-triangular, attention.masked_bias F32 scalar -1e9, attention.rotary_emb.inv_freq F32)."""
    C, H, I, V, Pn = (cfg["hidden_size"], cfg["num_attention_heads"], cfg["intermediate_size"], cfg["vocab_size"],
                      cfg["max_position_embeddings"])
    hd = C // H
    rot = int(hd * cfg["rotary_pct"])
    p, buffers = {"gpt_neox.embed_in.weight": init.normal(V, C, std=0.5)}, {}
    for i in range(cfg["num_hidden_layers"]):
        pre = "gpt_neox.layers.%d." % i
        p[pre + "input_layernorm.weight"] = init.gain(C)
        p[pre + "input_layernorm.bias"] = init.normal(C, std=0.1)
        p[pre + "post_attention_layernorm.weight"] = init.gain(C)
        p[pre + "post_attention_layernorm.bias"] = init.normal(C, std=0.1)
        buffers[pre + "attention.bias"] = torch.tril(torch.ones(Pn, Pn, dtype=torch.bool)).view(1, 1, Pn, Pn)
        buffers[pre + "attention.masked_bias"] = torch.tensor(-1e9, dtype=torch.float32)
        buffers[pre + "attention.rotary_emb.inv_freq"] = \
            (1.0 / (cfg["rotary_emb_base"] ** (torch.arange(0, rot, 2).float() / rot))).float()
        p[pre + "attention.query_key_value.weight"] = init.normal(3 * C, C, std=0.3)
        p[pre + "attention.query_key_value.bias"] = init.normal(3 * C, std=0.1)
        p[pre + "attention.dense.weight"] = init.normal(C, C, std=0.2)
        p[pre + "attention.dense.bias"] = init.normal(C, std=0.05)
        p[pre + "mlp.dense_h_to_4h.weight"] = init.normal(I, C, std=0.2)
        p[pre + "mlp.dense_h_to_4h.bias"] = init.normal(I, std=0.1)
        p[pre + "mlp.dense_4h_to_h.weight"] = init.normal(C, I, std=0.15)
        p[pre + "mlp.dense_4h_to_h.bias"] = init.normal(C, std=0.05)
    p["gpt_neox.final_layer_norm.weight"] = init.gain(C)
    p["gpt_neox.final_layer_norm.bias"] = init.normal(C, std=0.1)
    p["embed_out.weight"] = init.normal(V, C, std=0.3)
    return p, buffers


def bert_config(model_type, arch, **over):
    cfg = {
        "architectures": [arch],
        "attention_probs_dropout_prob": 0.1,
        "classifier_dropout": None,
        "hidden_act": "gelu",
        "hidden_dropout_prob": 0.1,
        "hidden_size": 32,
        "initializer_range": 0.02,
        "intermediate_size": 64,
        "layer_norm_eps": 1e-12,
        "max_position_embeddings": 64,
        "model_type": model_type,
        "num_attention_heads": 4,
        "num_hidden_layers": 2,
        "pad_token_id": 0,
        "position_embedding_type": "absolute",
        "torch_dtype": "float32",
        "type_vocab_size": 2,
        "use_cache": True,
        "vocab_size": 300,
    }
    cfg.update(over)
    return cfg


def bert_encoder_params(cfg, init, prefix):
    C, I, V = cfg["hidden_size"], cfg["intermediate_size"], cfg["vocab_size"]
    p = {}
    word = init.normal(V, C, std=0.5)
    word[cfg["pad_token_id"]] = 0.0  # nn.Embedding(padding_idx=pad_token_id): HF's init zeroes that row
    p[prefix + "embeddings.word_embeddings.weight"] = word
    pos = init.normal(cfg["max_position_embeddings"], C, std=0.3)
    if cfg["model_type"] == "roberta":
        pos[cfg["pad_token_id"]] = 0.0  # RobertaEmbeddings.position_embeddings has padding_idx too
    p[prefix + "embeddings.position_embeddings.weight"] = pos
    p[prefix + "embeddings.token_type_embeddings.weight"] = init.normal(cfg["type_vocab_size"], C, std=0.3)
    p[prefix + "embeddings.LayerNorm.weight"] = init.gain(C)
    p[prefix + "embeddings.LayerNorm.bias"] = init.normal(C, std=0.1)
    for i in range(cfg["num_hidden_layers"]):
        pre = prefix + "encoder.layer.%d." % i
        for nm, std in (("query", 0.3), ("key", 0.3), ("value", 0.2)):
            p[pre + "attention.self.%s.weight" % nm] = init.normal(C, C, std=std)
            p[pre + "attention.self.%s.bias" % nm] = init.normal(C, std=0.1)
        p[pre + "attention.output.dense.weight"] = init.normal(C, C, std=0.2)
        p[pre + "attention.output.dense.bias"] = init.normal(C, std=0.05)
        p[pre + "attention.output.LayerNorm.weight"] = init.gain(C)
        p[pre + "attention.output.LayerNorm.bias"] = init.normal(C, std=0.1)
        p[pre + "intermediate.dense.weight"] = init.normal(I, C, std=0.2)
        p[pre + "intermediate.dense.bias"] = init.normal(I, std=0.1)
        p[pre + "output.dense.weight"] = init.normal(C, I, std=0.2)
        p[pre + "output.dense.bias"] = init.normal(C, std=0.05)
        p[pre + "output.LayerNorm.weight"] = init.gain(C)
        p[pre + "output.LayerNorm.bias"] = init.normal(C, std=0.1)
    return p


def pooler_params(init, prefix, C):
    return {prefix + "pooler.dense.weight": init.normal(C, C, std=0.2), prefix + "pooler.dense.bias": init.normal(C, std=0.1)}


def distilbert_config():
    return {
        "activation": "gelu",
        "architectures": ["DistilBertForMaskedLM"],
        "attention_dropout": 0.1,
        "dim": 32,
        "dropout": 0.1,
        "hidden_dim": 64,
        "initializer_range": 0.02,
        "max_position_embeddings": 64,
        "model_type": "distilbert",
        "n_heads": 4,
        "n_layers": 2,
        "pad_token_id": 0,
        "qa_dropout": 0.1,
        "seq_classif_dropout": 0.2,
        "sinusoidal_pos_embds": False,
        "tie_weights_": True,
        "torch_dtype": "float32",
        "vocab_size": 300,
    }


def distilbert_params(cfg, init):
    C, I, V = cfg["dim"], cfg["hidden_dim"], cfg["vocab_size"]
    word = init.normal(V, C, std=0.5)
    word[cfg["pad_token_id"]] = 0.0
    p = {"distilbert.embeddings.word_embeddings.weight": word,
         "distilbert.embeddings.position_embeddings.weight": init.normal(cfg["max_position_embeddings"], C, std=0.3),
         "distilbert.embeddings.LayerNorm.weight": init.gain(C),
         "distilbert.embeddings.LayerNorm.bias": init.normal(C, std=0.1)}
    for i in range(cfg["n_layers"]):
        pre = "distilbert.transformer.layer.%d." % i
        for nm, std in (("q_lin", 0.3), ("k_lin", 0.3), ("v_lin", 0.2), ("out_lin", 0.2)):
            p[pre + "attention.%s.weight" % nm] = init.normal(C, C, std=std)
            p[pre + "attention.%s.bias" % nm] = init.normal(C, std=0.1)
        p[pre + "sa_layer_norm.weight"] = init.gain(C)
        p[pre + "sa_layer_norm.bias"] = init.normal(C, std=0.1)
        p[pre + "ffn.lin1.weight"] = init.normal(I, C, std=0.2)
        p[pre + "ffn.lin1.bias"] = init.normal(I, std=0.1)
        p[pre + "ffn.lin2.weight"] = init.normal(C, I, std=0.2)
        p[pre + "ffn.lin2.bias"] = init.normal(C, std=0.05)
        p[pre + "output_layer_norm.weight"] = init.gain(C)
        p[pre + "output_layer_norm.bias"] = init.normal(C, std=0.1)
    # DistilBertForMaskedLM head; vocab_projector.weight is tied to word_embeddings and not saved
    p["vocab_transform.weight"] = init.normal(C, C, std=0.2)
    p["vocab_transform.bias"] = init.normal(C, std=0.1)
    p["vocab_layer_norm.weight"] = init.gain(C)
    p["vocab_layer_norm.bias"] = init.normal(C, std=0.1)
    p["vocab_projector.bias"] = init.normal(V, std=0.1)
    return p


# --------------------------------------------------------------------------------------
# Cases
# --------------------------------------------------------------------------------------

TORCH_DTYPE_NAMES = {"float32": torch.float32, "float16": torch.float16, "bfloat16": torch.bfloat16}

MASK_RULES = {
    "causal": "query i attends to key j iff j <= i",
    "sliding_window_causal": ("query i attends to key j iff j <= i and j > i - sliding_window, i.e. the last "
                              "sliding_window positions including i itself (masking_utils.sliding_window_overlay: "
                              "kv_idx > q_idx - sliding_window, and-ed with causal_mask_function: kv_idx <= q_idx)"),
    "bidirectional": "every query attends to every key (no attention_mask given, so HF's extended mask is all zeros)",
}


def case_specs():
    """Each spec: name, family, seed, n, config, how to build the params, storage dtype, sharding, notes."""
    specs = []
    llama_common = dict(attention_bias=False, head_dim=16, hidden_size=64, intermediate_size=96, mlp_bias=False,
                        num_attention_heads=4, num_key_value_heads=2, pretraining_tp=1, vocab_size=384)
    specs.append(dict(
        name="llama_gqa_tied", family="llama", seed=101, n=11,
        config=llama_like_config("llama", "LlamaForCausalLM", max_position_embeddings=128, rope_scaling=None,
                                 rope_theta=10000.0, tie_word_embeddings=True, torch_dtype="bfloat16", **llama_common),
        notes=["GQA: 4 query heads share 2 key/value heads (query head h reads kv head h // 2)",
               "tie_word_embeddings: there is no lm_head.weight in the file; logits = last_hidden @ embed_tokens^T",
               "stored BF16; the reference uses the BF16 values upcast exactly"]))
    specs.append(dict(
        name="llama_llama3rope_untied", family="llama", seed=102, n=12,
        config=llama_like_config("llama", "LlamaForCausalLM", max_position_embeddings=512,
                                 rope_scaling={"factor": 8.0, "high_freq_factor": 4.0, "low_freq_factor": 1.0,
                                               "original_max_position_embeddings": 64, "rope_type": "llama3"},
                                 rope_theta=500000.0, tie_word_embeddings=False, torch_dtype="float16", **llama_common),
        notes=["rope_scaling llama3: with head_dim 16 and rope_theta 5e5 the wavelengths 2*pi/inv_freq are "
               "6.3 (< 64/4 = 16: unchanged), 32.3 (between 16 and 64: smoothed) and >= 167 (> 64: divided by 8), "
               "so all three branches of _compute_llama3_parameters are used",
               "untied lm_head.weight", "stored F16; the reference uses the F16 values upcast exactly"]))
    specs.append(dict(
        name="llama_linearrope_sharded", family="llama", seed=103, n=9,
        config=llama_like_config("llama", "LlamaForCausalLM", max_position_embeddings=128,
                                 rope_scaling={"factor": 2.0, "rope_type": "linear"}, rope_theta=10000.0,
                                 tie_word_embeddings=True, torch_dtype="float32", **llama_common),
        shards=2,
        notes=["rope_scaling linear factor 2: inv_freq / 2 (equivalently positions / 2)",
               "F32 weights split in two shards with model.safetensors.index.json; a layer straddles the two files"]))
    specs.append(dict(
        name="mistral_sliding_window", family="mistral", seed=104, n=12,
        config=llama_like_config("mistral", "MistralForCausalLM", head_dim=8, hidden_size=32, intermediate_size=64,
                                 max_position_embeddings=128, num_attention_heads=4, num_key_value_heads=2,
                                 rope_theta=10000.0, sliding_window=4, tie_word_embeddings=False,
                                 torch_dtype="float32", vocab_size=320),
        notes=["sliding_window 4 < n = 12: query i sees keys max(0, i-3) .. i (4 keys once i >= 3)",
               "MistralModel uses create_sliding_window_causal_mask whenever config.sliding_window is not None "
               "(there is no use_sliding_window key for mistral); the same window in every layer"]))
    specs.append(dict(
        name="qwen2_bias_tied", family="qwen2", seed=105, n=10,
        config=llama_like_config("qwen2", "Qwen2ForCausalLM", hidden_size=32, intermediate_size=64,
                                 max_position_embeddings=128, max_window_layers=1, num_attention_heads=4,
                                 num_key_value_heads=2, rms_norm_eps=1e-06, rope_scaling=None, rope_theta=1000000.0,
                                 sliding_window=3, use_sliding_window=False, tie_word_embeddings=True,
                                 torch_dtype="bfloat16", vocab_size=320, bos_token_id=1, eos_token_id=2),
        notes=["q_proj, k_proj and v_proj have biases; o_proj has none",
               "use_sliding_window false with sliding_window 3 present: the window must NOT apply "
               "(Qwen2Config: sliding_window = sliding_window if use_sliding_window else None); plain causal mask",
               "no head_dim key: head_dim = hidden_size / num_attention_heads = 8", "tied, stored BF16"]))
    specs.append(dict(
        name="qwen3_qknorm", family="qwen3", seed=106, n=10,
        config=llama_like_config("qwen3", "Qwen3ForCausalLM", attention_bias=False, head_dim=16, hidden_size=32,
                                 intermediate_size=64, max_position_embeddings=128, max_window_layers=2,
                                 num_attention_heads=4, num_key_value_heads=2, rms_norm_eps=1e-06, rope_scaling=None,
                                 rope_theta=1000000.0, sliding_window=None, use_sliding_window=False,
                                 tie_word_embeddings=True, torch_dtype="float32", vocab_size=320),
        notes=["head_dim 16 > hidden_size / heads = 8: q_proj is [64, 32], k_proj/v_proj [32, 32], o_proj [32, 64]",
               "q_norm / k_norm: RMSNorm over each head's 16 values (weights [16]), applied after the projection and "
               "before the rotary embedding", "rotary dim = head_dim = 16", "tied"]))
    specs.append(dict(
        name="gpt_neox_parallel", family="gpt_neox", seed=107, n=10, config=neox_config(True, "float16"),
        notes=["use_parallel_residual: x = x + attn(ln1(x)) + mlp(ln2(x))",
               "stored F16 except the legacy buffers (BOOL bias, F32 masked_bias and inv_freq)"]))
    specs.append(dict(
        name="gpt_neox_sequential", family="gpt_neox", seed=108, n=8, config=neox_config(False, "float32"),
        notes=["use_parallel_residual false: x = x + attn(ln1(x)); x = x + mlp(ln2(x))"]))
    specs.append(dict(
        name="bert_mlm_prefixed", family="bert", seed=109, n=9, prefix="bert.",
        config=bert_config("bert", "BertForMaskedLM"),
        notes=["keys start with bert.; the file also holds bert.pooler.*, cls.predictions.* (MLM head, decoder "
               "weight tied and not saved) and cls.seq_relationship.* like bert-base-uncased; an attention "
               "inspector uses none of them", "token_type_ids all 0"]))
    specs.append(dict(
        name="bert_noprefix", family="bert", seed=110, n=7, prefix="",
        config=bert_config("bert", "BertModel"),
        notes=["BertModel saved directly: keys start with embeddings. / encoder. / pooler.",
               "also holds the persistent buffer embeddings.position_ids (I64 [1, 64]) that older transformers "
               "versions saved; loaders skip it", "token_type_ids all 0"]))
    specs.append(dict(
        name="roberta", family="roberta", seed=111, n=10, prefix="roberta.",
        config=bert_config("roberta", "RobertaForMaskedLM", bos_token_id=0, eos_token_id=2, layer_norm_eps=1e-05,
                           max_position_embeddings=40, pad_token_id=1, type_vocab_size=1),
        notes=["positions from create_position_ids_from_input_ids(padding_idx=1): non-padding tokens are numbered "
               "2, 3, ... (padding_idx + 1 + count of non-padding tokens before them); a padding token gets 1",
               "the input holds one padding id (1) in the middle, so the positions skip it: see position_ids",
               "position_embeddings row 1 and word_embeddings row 1 are zero (padding_idx rows, as HF initialises them)",
               "no attention_mask: the padding token is attended to like any other (HF's default all-ones mask)",
               "type_vocab_size 1, token_type_ids all 0", "lm_head.* (RobertaForMaskedLM head) is in the file, unused"]))
    specs.append(dict(
        name="distilbert", family="distilbert", seed=112, n=8, config=distilbert_config(),
        notes=["own key names: distilbert.embeddings.*, distilbert.transformer.layer.N.attention.{q,k,v,out}_lin, "
               "sa_layer_norm, ffn.lin1/lin2, output_layer_norm", "no token_type_embeddings",
               "LayerNorm eps 1e-12 is hard-coded in modeling_distilbert.py (the config has no eps key)",
               "vocab_transform / vocab_layer_norm / vocab_projector.bias (MLM head) are in the file, unused"]))
    # Text cases: the folder also holds a tokenizer.json; the input is text, its ids come from HF's Rust tokenizers.
    text = "def add(a, b):\n    return a + b  # 😀 猫\r\n"
    tok, vocab = fixture_tokenizers.byte_level_bpe(text, 40)
    specs.append(dict(
        name="llama_text_bytelevel", family="llama", seed=113, text=text, tokenizer=tok,
        config=llama_like_config("llama", "LlamaForCausalLM", max_position_embeddings=128, rope_scaling=None,
                                 rope_theta=500000.0, tie_word_embeddings=True, torch_dtype="bfloat16",
                                 **dict(llama_common, vocab_size=vocab)),
        notes=["text input: tokenizer.json is Llama 3's pipeline (Split regex + ByteLevel, ByteLevel and "
               "TemplateProcessing post-processors putting <|begin_of_text|> first) with a 256-byte alphabet and 40 "
               "merges learnt from the text; input_ids are Hugging Face tokenizers' encode(text)"]))
    text = "Hello world, café ☕ 猫! Hello again"
    tok, vocab = fixture_tokenizers.sentencepiece_bpe(text, 24)
    specs.append(dict(
        name="mistral_text_bytefallback", family="mistral", seed=114, text=text, tokenizer=tok,
        config=llama_like_config("mistral", "MistralForCausalLM", head_dim=8, hidden_size=32, intermediate_size=64,
                                 max_position_embeddings=128, num_attention_heads=4, num_key_value_heads=2,
                                 rope_theta=10000.0, sliding_window=6, tie_word_embeddings=False,
                                 torch_dtype="float32", vocab_size=vocab),
        notes=["text input: tokenizer.json is Llama 2's / Mistral's pipeline (Prepend and Replace ▁ normalizers, BPE "
               "with byte_fallback, <s> first) with the text's characters except the first non-ASCII one (which falls "
               "back to <0xNN> byte tokens) and 24 merges", "sliding_window 6"]))
    text = "The café's cat sat on the mat, 猫 and 犬!"
    tok, vocab = fixture_tokenizers.wordpiece(text)
    specs.append(dict(
        name="bert_text_wordpiece", family="bert", seed=115, prefix="", text=text, tokenizer=tok,
        config=bert_config("bert", "BertModel", vocab_size=vocab),
        notes=["text input: tokenizer.json is bert-base-uncased's pipeline (BertNormalizer lowercase, BertPreTokenizer, "
               "[CLS] ... [SEP]) with the text's characters, ## pieces and every other word whole; one CJK character is "
               "not in the vocabulary and becomes [UNK]", "token_type_ids all 0"]))
    return specs


def make_ids(spec, init):
    cfg = spec["config"]
    n = spec["n"]
    fam = spec["family"]
    if fam == "roberta":
        body = init.ids(3, cfg["vocab_size"], n - 2)
        body[3] = cfg["pad_token_id"]  # one padding token in the middle
        return [cfg["bos_token_id"]] + body + [cfg["eos_token_id"]]
    if fam in ("bert", "distilbert"):
        return init.ids(1, cfg["vocab_size"], n)
    return init.ids(3, cfg["vocab_size"], n)


def build_case(spec):
    init = Init(spec["seed"])
    cfg = spec["config"]
    fam = spec["family"]
    buffers = {}
    if fam in ("llama", "mistral", "qwen2", "qwen3"):
        params = llama_like_params(cfg, init)
    elif fam == "gpt_neox":
        params, buffers = neox_params(cfg, init)
    elif fam in ("bert", "roberta"):
        prefix = spec["prefix"]
        params = bert_encoder_params(cfg, init, prefix)
        C, V = cfg["hidden_size"], cfg["vocab_size"]
        if spec["name"] == "bert_mlm_prefixed":
            params.update(pooler_params(init, prefix, C))
            params.update({
                "cls.predictions.bias": init.normal(V, std=0.1),
                "cls.predictions.transform.dense.weight": init.normal(C, C, std=0.2),
                "cls.predictions.transform.dense.bias": init.normal(C, std=0.1),
                "cls.predictions.transform.LayerNorm.weight": init.gain(C),
                "cls.predictions.transform.LayerNorm.bias": init.normal(C, std=0.1),
                "cls.seq_relationship.weight": init.normal(2, C, std=0.2),
                "cls.seq_relationship.bias": init.normal(2, std=0.1),
            })
        elif spec["name"] == "bert_noprefix":
            params.update(pooler_params(init, prefix, C))
            buffers["embeddings.position_ids"] = torch.arange(cfg["max_position_embeddings"], dtype=torch.int64).view(1, -1)
        elif fam == "roberta":
            params.update({
                "lm_head.dense.weight": init.normal(C, C, std=0.2),
                "lm_head.dense.bias": init.normal(C, std=0.1),
                "lm_head.layer_norm.weight": init.gain(C),
                "lm_head.layer_norm.bias": init.normal(C, std=0.1),
                "lm_head.bias": init.normal(V, std=0.1),
            })
    elif fam == "distilbert":
        params = distilbert_params(cfg, init)
    else:
        raise ValueError(fam)
    ids = spec["ids"] if "ids" in spec else make_ids(spec, init)
    store = TORCH_DTYPE_NAMES[cfg["torch_dtype"]]
    stored = {k: v.to(store).contiguous() for k, v in params.items()}
    stored.update(buffers)
    return ids, params, stored


def used_tensor_names(spec, stored):
    """The tensors an attention inspector's forward pass reads (everything else in the file is skipped)."""
    fam = spec["family"]
    names = set()
    for k in stored:
        if fam in ("llama", "mistral", "qwen2", "qwen3"):
            names.add(k)
        elif fam == "gpt_neox":
            if not (k.endswith("attention.bias") or k.endswith("attention.masked_bias") or k.endswith("rotary_emb.inv_freq")):
                names.add(k)
        elif fam in ("bert", "roberta"):
            if k.startswith(spec["prefix"] + "embeddings.") or k.startswith(spec["prefix"] + "encoder."):
                if not k.endswith("position_ids"):
                    names.add(k)
        elif fam == "distilbert":
            if k.startswith("distilbert."):
                names.add(k)
    return names


def run_reference(spec, W, ids, dtype):
    cfg, fam = spec["config"], spec["family"]
    if fam in ("llama", "mistral", "qwen2", "qwen3"):
        return llama_like_forward(cfg, W, ids, dtype)
    if fam == "gpt_neox":
        return neox_forward(cfg, W, ids, dtype)
    if fam in ("bert", "roberta"):
        return bert_forward(cfg, W, ids, dtype, spec["prefix"], [0] * len(ids))
    if fam == "distilbert":
        return distilbert_forward(cfg, W, ids, dtype)
    raise ValueError(fam)


def run_naive(spec, W, ids):
    cfg, fam = spec["config"], spec["family"]
    if fam in ("llama", "mistral", "qwen2", "qwen3"):
        return naive_llama_like(cfg, W, ids)
    if fam == "gpt_neox":
        return naive_neox(cfg, W, ids)
    if fam in ("bert", "roberta"):
        return naive_encoder(cfg, W, ids, bert_names(spec["prefix"]))
    if fam == "distilbert":
        return naive_encoder(cfg, W, ids, DISTILBERT_NAMES)
    raise ValueError(fam)


def write_weights(cdir, spec, stored):
    """One model.safetensors, or HF-style shards: tensors in state-dict order are packed greedily into shards
    of at most max_shard_size = 60% of the total (huggingface_hub.split_torch_state_dict_into_shards), then
    model.safetensors.index.json = {"metadata": {"total_size"}, "weight_map": {name: file}} (sorted, indent 2)."""
    shards = spec.get("shards", 1)
    if shards == 1:
        path = os.path.join(cdir, "model.safetensors")
        write_safetensors(path, stored)
        return ["model.safetensors"], {k: "model.safetensors" for k in stored}
    sizes = {k: len(tensor_bytes(v)) for k, v in stored.items()}
    total = sum(sizes.values())
    limit = (total * 6) // 10  # max_shard_size; with shards == 2 this gives exactly two files
    groups, cur, cur_size = [], {}, 0
    for k, v in stored.items():  # state-dict order
        if cur and cur_size + sizes[k] > limit:
            groups.append(cur)
            cur, cur_size = {}, 0
        cur[k] = v
        cur_size += sizes[k]
    groups.append(cur)
    if len(groups) != shards:
        raise AssertionError("expected %d shards, got %d" % (shards, len(groups)))
    files, weight_map = [], {}
    for i, g in enumerate(groups):
        fn = "model-%05d-of-%05d.safetensors" % (i + 1, shards)
        write_safetensors(os.path.join(cdir, fn), g)
        files.append(fn)
        for k in g:
            weight_map[k] = fn
    index = {"metadata": {"total_size": total}, "weight_map": weight_map}
    write_text(os.path.join(cdir, "model.safetensors.index.json"), json.dumps(index, indent=2, sort_keys=True) + "\n")
    return files, weight_map


def mask_description(spec, allowed):
    cfg, fam = spec["config"], spec["family"]
    if fam in ("bert", "roberta", "distilbert"):
        kind, window = "bidirectional", None
    else:
        wins = layer_sliding_windows(cfg) if fam != "gpt_neox" else [None] * cfg["num_hidden_layers"]
        window = wins[0]
        assert all(w == window for w in wins)
        kind = "causal" if window is None else "sliding_window_causal"
    a = allowed[0]
    n = a.shape[0]
    rows = []
    for i in range(n):
        cols = [j for j in range(n) if bool(a[i, j])]
        assert cols == list(range(cols[0], cols[-1] + 1)), "non-contiguous visible keys"
        rows.append([cols[0], cols[-1]])
    d = {"kind": kind, "rule": MASK_RULES[kind], "same_for_all_layers": True}
    if window is not None:
        d["sliding_window"] = window
        d["historical_note"] = ("older transformers releases built this mask with AttentionMaskConverter._make_causal_mask "
                                "(modeling_attn_mask_utils.py: tril(ones, diagonal=past - sliding_window - 1) masked), "
                                "which lets sliding_window + 1 keys through (j >= i - sliding_window), as does Mistral's "
                                "own reference code (mistral-src one_file_ref.py: triu(mask, diagonal=-sliding_window)); these fixtures follow the current rule above (sliding_window "
                                "keys), which masking_utils.py and the later _prepare_4d_causal_attention_mask_with_"
                                "cache_position (j <= i - sliding_window masked) both implement")
    d["visible_keys"] = rows
    d["visible_keys_note"] = "[first, last] key index (inclusive) that query i attends to; all others are masked"
    return d


def gen_case(spec, root):
    cfg, fam, name = spec["config"], spec["family"], spec["name"]
    cdir = os.path.join(root, name)
    os.makedirs(cdir)
    encoded = None
    if "tokenizer" in spec:
        tok_path = os.path.join(cdir, "tokenizer.json")
        write_text(tok_path, json.dumps(spec["tokenizer"], ensure_ascii=False, indent=2) + "\n")
        encoded = fixture_tokenizers.rust_encode(tok_path, spec["text"])
        spec = dict(spec, ids=encoded["ids"], n=len(encoded["ids"]))
        assert max(spec["ids"]) < cfg["vocab_size"], name
    ids, params, stored = build_case(spec)
    n = len(ids)
    assert n == spec["n"]

    write_config(os.path.join(cdir, "config.json"), cfg)
    files, weight_map = write_weights(cdir, spec, stored)

    # Read back every file and rebuild the state dict; compute the reference from what is stored.
    back = {}
    for fn in files:
        part = read_safetensors(os.path.join(cdir, fn))
        for k in part:
            assert weight_map[k] == fn and k not in back
        back.update(part)
    assert set(back) == set(stored) and all(same_tensor(back[k], stored[k]) for k in stored), name
    if len(files) > 1:
        with open(os.path.join(cdir, "model.safetensors.index.json"), encoding="utf-8") as f:
            index = json.load(f)
        assert index["weight_map"] == weight_map
        assert index["metadata"]["total_size"] == sum(len(tensor_bytes(v)) for v in stored.values())
    W = {k: (v.float() if v.is_floating_point() else v) for k, v in back.items()}  # stored values, upcast exactly

    ref = run_reference(spec, W, ids, torch.float64)
    ref32 = run_reference(spec, W, ids, torch.float32)
    nw, ns, nh, nlogits = run_naive(spec, W, ids)

    masked = ~ref["allowed"][:, None, :, :].expand_as(ref["attentions"])
    # (1) the naive implementation agrees with the main one
    naive_diff = {
        "attentions": assert_close(name + " attentions vs naive", ref["attentions"], nw, NAIVE_TOL),
        "hidden_states_last": assert_close(name + " hidden vs naive", ref["hidden"], nh, NAIVE_TOL),
    }
    assert torch.equal(torch.isnan(ns), masked), name + ": naive and main masks differ"
    naive_diff["scores"] = assert_close(name + " scores vs naive", ref["scores"][~masked], ns[~masked], NAIVE_TOL)
    if ref["logits"] is not None:
        naive_diff["logits"] = assert_close(name + " logits vs naive", ref["logits"], nlogits, NAIVE_TOL)
    assert float(ref["attentions"][masked].abs().max()) == 0.0 if bool(masked.any()) else True
    # (2) the same code in float32 (HF's compute dtype) stays close: recorded for the engine's tolerances
    f32 = {
        "attentions": (ref32["attentions"].double() - ref["attentions"]).abs().max().item(),
        "scores": (ref32["scores"].double() - ref["scores"])[~masked].abs().max().item(),
        "hidden_states_last": (ref32["hidden"].double() - ref["hidden"]).abs().max().item(),
    }
    if ref["logits"] is not None:
        f32["logits"] = (ref32["logits"].double() - ref["logits"]).abs().max().item()
    assert max(f32.values()) < 1e-3, (name, f32)

    module_diff = torch_module_check(spec, W, ids, ref)

    used = used_tensor_names(spec, stored)
    expected = {
        "case": name,
        "model_type": cfg["model_type"],
        "hf_source": HF_SOURCES[fam],
        "reference": ("float64 forward written in plain torch, mirroring the HF functions named in hf_source, computed "
                      "from the weights as stored (%s upcast exactly); checked against an independent naive float64 "
                      "implementation (max abs diffs in naive_max_abs_diff) and re-run in float32 (max abs diffs in "
                      "f32_max_abs_diff)%s" % (cfg["torch_dtype"], "; encoders are also checked layer by layer against "
                      "torch.nn.TransformerEncoderLayer fed the same weights" if module_diff is not None else "")),
        "notes": spec["notes"],
        "n": n,
        **({"text": spec["text"], "tokens": encoded["tokens"], "special_tokens_mask": encoded["special"],
            "tokenizer": "tokenizer.json; input_ids = tokenizers (Rust, npm binding) Tokenizer.fromFile(...).encode(text)"}
           if encoded else {}),
        "input_ids": ids,
        "position_ids": [int(p) for p in ref["position_ids"].tolist()],
    }
    if fam in ("bert", "roberta"):
        expected["token_type_ids"] = [0] * n
    expected["mask"] = mask_description(spec, ref["allowed"])
    expected["files"] = files
    expected["tensors_used"] = sorted(used)
    expected["tensors_ignored"] = sorted(set(stored) - used)
    expected["naive_max_abs_diff"] = {k: float("%.3g" % v) for k, v in naive_diff.items()}
    expected["f32_max_abs_diff"] = {k: float("%.3g" % v) for k, v in f32.items()}
    if module_diff is not None:
        expected["torch_transformer_encoder_layer_max_abs_diff"] = float("%.3g" % module_diff)
    if ref["rotary"] is not None:
        inv_freq, scaling, cos, sin = ref["rotary"]
        expected["rotary"] = {
            "rope_type": "default (gpt_neox partial)" if fam == "gpt_neox" else rope_type(cfg),
            "dim": int(cos.shape[-1]),
            "inv_freq": tolist_rounded(inv_freq),
            "attention_scaling": scaling,
            "layout": ("HF layout: cos[p] = cos(cat(freqs, freqs)), sin likewise, with freqs[k] = p * inv_freq[k], "
                       "shape [n][dim]; q' = q*cos + rotate_half(q)*sin where rotate_half(x) = cat(-x[dim/2:], "
                       "x[:dim/2]), i.e. dims k and k + dim/2 form a rotated pair"
                       + ("; only the first dim dims of each head are rotated (rotary_pct), the rest pass through"
                          if fam == "gpt_neox" else "")),
            "cos": tolist_rounded(cos),
            "sin": tolist_rounded(sin),
        }
    expected["attentions"] = tolist_rounded(ref["attentions"])
    expected["scores"] = tolist_rounded(ref["scores"], masked)
    expected["hidden_states_last"] = tolist_rounded(ref["hidden"])
    summary_extra = ""
    if ref["logits"] is not None:
        logits = ref["logits"]
        probs = torch.softmax(logits[-1], dim=-1)
        top = torch.topk(probs, 6)
        gaps = (top.values[:-1] - top.values[1:]) / top.values[:-1]
        assert bool((gaps > 1e-4).all()), "%s: top-k near-tie %r" % (name, gaps.tolist())
        logp = torch.log_softmax(logits[:-1], dim=-1)
        nll = -logp[torch.arange(n - 1), torch.tensor(ids[1:])]
        ppl = math.exp(nll.mean().item())
        expected["top_next"] = [{"id": int(i), "prob": rnd(v)} for v, i in zip(top.values[:5].tolist(), top.indices[:5].tolist())]
        expected["perplexity"] = rnd(ppl)
        summary_extra = " top1=%d p=%.3f ppl=%.1f" % (top.indices[0].item(), top.values[0].item(), ppl)
    write_text(os.path.join(cdir, "expected.json"), dumps(expected) + "\n")
    with open(os.path.join(cdir, "expected.json"), encoding="utf-8") as f:
        json.load(f)

    a = ref["attentions"]
    rows = a[:, :, 1:, :] if fam in ("llama", "mistral", "qwen2", "qwen3", "gpt_neox") else a
    return ("%-26s n=%-2d %-9s mean row-max attn=%.3f naive=%.1e f32(attn)=%.1e%s"
            % (name, n, cfg["torch_dtype"], rows.max(-1).values.mean().item(), max(naive_diff.values()),
               f32["attentions"], summary_extra))


def self_test_helpers():
    """Cheap checks of the building blocks against torch's own implementations."""
    t = torch.linspace(-5, 5, 41, dtype=torch.float64)
    assert_close("nv_gelu vs F.gelu", nv_gelu(t), F.gelu(t), 1e-14)
    assert_close("nv_silu vs F.silu", nv_silu(t), F.silu(t), 1e-14)
    # roberta positions on a small example with padding (the HF docstring's behaviour)
    got = create_position_ids_from_input_ids(torch.tensor([[0, 5, 1, 7, 2, 1]]), 1)[0].tolist()
    assert got == [2, 3, 1, 4, 5, 1], got
    # rotate_half rotation == explicit pair rotation
    g = torch.Generator()
    g.manual_seed(0)
    x = torch.randn(3, 2, 8, generator=g, dtype=torch.float64)
    freqs = nv_frequencies(10000.0, 8, None)
    inv = torch.tensor(freqs, dtype=torch.float64)
    cos, sin = rotary_embedding(inv, 1.0, torch.arange(2), torch.float64)
    qe, _ = apply_rotary_pos_emb(x, x, cos, sin)
    for h in range(3):
        for p in range(2):
            assert_close("rotation", qe[h, p], nv_rotate(x[h, p], p, freqs), 1e-14)


def check_outputs(root):
    total, lines = 0, []
    for dirpath, _, files in sorted(os.walk(root)):
        for fn in sorted(files):
            path = os.path.join(dirpath, fn)
            size = os.path.getsize(path)
            total += size
            lines.append("  %8d  %s" % (size, os.path.relpath(path, ROOT)))
    lines.append("  %8d  total" % total)
    if total > SIZE_BUDGET:
        raise AssertionError("fixtures are %d bytes, over the %d budget" % (total, SIZE_BUDGET))
    return lines


def tree_digest(root):
    h = hashlib.sha256()
    for dirpath, _, files in sorted(os.walk(root)):
        for fn in sorted(files):
            path = os.path.join(dirpath, fn)
            h.update(os.path.relpath(path, root).encode())
            with open(path, "rb") as f:
                h.update(hashlib.sha256(f.read()).digest())
    return h.hexdigest()


def main():
    if sys.byteorder != "little":
        raise SystemExit("this generator assumes a little-endian host")
    self_test_helpers()
    fresh_dir(OUT)
    summary = [gen_case(spec, OUT) for spec in case_specs()]
    summary += check_outputs(OUT)
    print("torch %s, numpy %s" % (torch.__version__, np.__version__))
    print("\n".join(summary))
    print("sha256 of the tree: %s" % tree_digest(OUT))


if __name__ == "__main__":
    main()
