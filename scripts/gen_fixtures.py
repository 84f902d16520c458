#!/usr/bin/python3
"""Generate the PyTorch reference fixtures that the TypeScript engine tests compare against.

Run from the repo root with `npm run fixtures` (= /usr/bin/python3 scripts/gen_fixtures.py).
Needs only torch + numpy (Debian's python3-torch); safetensors files are written by hand
because the `safetensors` package is not available. Token ids for the GPT-2 cases come from
js-tiktoken (node_modules) so the TS tokenizer and these fixtures share one independent source.

Everything is seeded, so re-running rewrites byte-identical files (idempotent).
"""

import json
import math
import os
import shutil
import struct
import subprocess
import sys

import numpy as np
import torch
import torch.nn.functional as F

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "test", "fixtures")

# Significant digits written to JSON. 12 digits keeps float64 references well beyond the
# 1e-7 relative precision the TS tests need while keeping files small.
SIG_DIGITS = 12

torch.set_num_threads(1)  # single-threaded reductions -> bit-stable output across runs


# --------------------------------------------------------------------------------------
# Small helpers: JSON writing and hand-rolled safetensors
# --------------------------------------------------------------------------------------

def rnd(v):
    """Round a float to SIG_DIGITS significant digits; None (masked) passes through."""
    if v is None:
        return None
    if isinstance(v, bool) or isinstance(v, int):
        return v
    f = float(v)
    if not math.isfinite(f):
        raise ValueError("non-finite value cannot go into JSON: %r" % f)
    return float(format(f, ".%dg" % SIG_DIGITS))


def tolist_rounded(t, mask=None):
    """Nested lists of rounded floats; entries where `mask` is True become None (JSON null)."""
    a = t.detach().to(torch.float64).cpu().numpy()
    m = None if mask is None else np.broadcast_to(mask.cpu().numpy(), a.shape)

    def rec(idx, arr):
        if arr.ndim == 0:
            return None if (m is not None and m[idx]) else rnd(arr.item())
        return [rec(idx + (i,), arr[i]) for i in range(arr.shape[0])]

    return rec((), a)


def _is_flat(lst):
    return all(not isinstance(e, (list, dict)) for e in lst)


def dumps(obj, indent=0):
    """Compact-but-readable JSON: innermost number rows on one line, structure indented."""
    pad = "  " * indent
    pad1 = "  " * (indent + 1)
    if isinstance(obj, dict):
        if not obj:
            return "{}"
        items = ["%s%s: %s" % (pad1, json.dumps(k, ensure_ascii=False), dumps(v, indent + 1))
                 for k, v in obj.items()]
        return "{\n" + ",\n".join(items) + "\n" + pad + "}"
    if isinstance(obj, list):
        if _is_flat(obj):
            return "[" + ",".join(dumps(e) for e in obj) + "]"
        if all(isinstance(e, dict) and all(not isinstance(v, (list, dict)) for v in e.values())
               for e in obj):
            # short flat records (e.g. topNext) on one line each
            return "[\n" + ",\n".join(pad1 + json.dumps(e, ensure_ascii=False, separators=(",", ":"))
                                      for e in obj) + "\n" + pad + "]"
        return "[\n" + ",\n".join(pad1 + dumps(e, indent + 1) for e in obj) + "\n" + pad + "]"
    if isinstance(obj, float):
        if not math.isfinite(obj):
            raise ValueError("non-finite in JSON")
        return repr(obj)  # shortest round-trip repr; "-0.0" stays -0
    return json.dumps(obj, ensure_ascii=False)


def write_json(path, obj):
    with open(path, "w", encoding="utf-8", newline="\n") as f:
        f.write(dumps(obj) + "\n")


# safetensors dtype name -> (torch dtype, same-width integer dtype used to get raw bytes).
# Going through an integer view lets us emit BF16, which numpy cannot represent.
ST_DTYPES = {
    "F64": (torch.float64, torch.int64),
    "F32": (torch.float32, torch.int32),
    "F16": (torch.float16, torch.int16),
    "BF16": (torch.bfloat16, torch.int16),
}
TORCH_TO_ST = {v[0]: k for k, v in ST_DTYPES.items()}


def write_safetensors(path, tensors, metadata=None):
    """tensors: list of (name, torch tensor) in file order. Layout per the safetensors spec:
    u64 LE header length, JSON header (space-padded to a multiple of 8), raw LE data."""
    header = {}
    if metadata is not None:
        header["__metadata__"] = metadata
    blobs = []
    offset = 0
    for name, t in tensors:
        st = TORCH_TO_ST[t.dtype]
        raw = t.detach().contiguous().cpu().view(ST_DTYPES[st][1]).numpy()
        raw = raw.astype(raw.dtype.newbyteorder("<"), copy=False).tobytes()  # force little-endian
        header[name] = {"dtype": st, "shape": list(t.shape), "data_offsets": [offset, offset + len(raw)]}
        blobs.append(raw)
        offset += len(raw)
    hjson = json.dumps(header, separators=(",", ":")).encode("utf-8")
    hjson += b" " * ((-len(hjson)) % 8)  # pad so the data section starts 8-byte aligned
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(hjson)))
        f.write(hjson)
        for b in blobs:
            f.write(b)


def read_safetensors(path):
    """Independent re-reader used only to self-check what we wrote."""
    with open(path, "rb") as f:
        data = f.read()
    (n,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8:8 + n].decode("utf-8"))
    base = 8 + n
    out = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        tdt, idt = ST_DTYPES[info["dtype"]]
        b, e = info["data_offsets"]
        np_int = {torch.int64: "<i8", torch.int32: "<i4", torch.int16: "<i2"}[idt]
        arr = np.frombuffer(data[base + b:base + e], dtype=np_int).copy()
        out[name] = torch.from_numpy(arr).view(tdt).reshape(info["shape"])
    return out


def fresh_dir(path):
    # Wipe generated directories so stale files from older runs never linger (idempotence).
    if os.path.isdir(path):
        shutil.rmtree(path)
    os.makedirs(path)


def assert_close(name, got, want, atol, rtol=0.0):
    got = got.to(torch.float64)
    want = want.to(torch.float64)
    diff = (got - want).abs()
    bound = atol + rtol * want.abs()
    if not bool((diff <= bound).all()):
        raise AssertionError("%s: max abs diff %.3g exceeds tolerance (atol=%g rtol=%g)"
                             % (name, diff.max().item(), atol, rtol))
    return diff.max().item() if diff.numel() else 0.0


# --------------------------------------------------------------------------------------
# 1. nn.MultiheadAttention fixtures
# --------------------------------------------------------------------------------------

# name: (n, d, heads, bias, causal)
MHA_CASES = [
    ("basic", 5, 8, 2, True, False),
    ("causal", 6, 8, 2, True, True),
    ("nobias", 5, 8, 2, False, False),
    ("one_token", 1, 8, 2, True, True),
    ("headdim1", 4, 4, 4, True, True),
    ("huge_logits", 5, 8, 2, True, False),
    ("medium", 24, 32, 4, True, True),
]


def causal_mask(n):
    # Boolean attn_mask in PyTorch's convention: True = "may NOT attend" (future positions).
    return torch.triu(torch.ones(n, n, dtype=torch.bool), diagonal=1)


def mha_float64(x, sd, heads, bias, mask):
    """Independent float64 re-implementation of nn.MultiheadAttention (self-attention).
    Returns scaled pre-softmax scores [H,n,n], weights [H,n,n], per-head context [H,n,hd], output [n,d]."""
    x = x.double()
    n, d = x.shape
    hd = d // heads
    W = sd["in_proj_weight"].double()
    Wq, Wk, Wv = W[:d], W[d:2 * d], W[2 * d:]  # in_proj is the row-stack [W_q; W_k; W_v]
    if bias:
        b = sd["in_proj_bias"].double()
        bq, bk, bv = b[:d], b[d:2 * d], b[2 * d:]
    else:
        bq = bk = bv = torch.zeros(d, dtype=torch.float64)
    # nn.Linear convention: y = x W^T + b
    q = x @ Wq.T + bq
    k = x @ Wk.T + bk
    v = x @ Wv.T + bv
    # [n, d] -> [H, n, hd]: head h owns feature columns h*hd .. (h+1)*hd-1
    q = q.view(n, heads, hd).transpose(0, 1)
    k = k.view(n, heads, hd).transpose(0, 1)
    v = v.view(n, heads, hd).transpose(0, 1)
    scores = q @ k.transpose(1, 2) / math.sqrt(hd)
    if mask is not None:
        scores = scores.masked_fill(mask, float("-inf"))
    weights = torch.softmax(scores, dim=-1)  # max-subtracted internally -> stable for huge logits
    context = weights @ v  # [H, n, hd]
    merged = context.transpose(0, 1).reshape(n, d)
    out = merged @ sd["out_proj.weight"].double().T
    if bias:
        out = out + sd["out_proj.bias"].double()
    return scores, weights, context, out


def gen_mha():
    root = os.path.join(OUT, "mha")
    fresh_dir(root)
    summary = []
    for ci, (name, n, d, heads, bias, causal) in enumerate(MHA_CASES):
        torch.manual_seed(1000 + ci)  # per-case seed: editing one case never changes the others
        hd = d // heads
        mha = torch.nn.MultiheadAttention(d, heads, bias=bias, batch_first=True)
        mha.eval()
        with torch.no_grad():
            # PyTorch initialises biases to 0; make them non-zero so the bias path is tested.
            if bias:
                mha.in_proj_bias.copy_(0.1 * torch.randn(3 * d))
                mha.out_proj.bias.copy_(0.1 * torch.randn(d))
            x = torch.randn(n, d)
            if name == "huge_logits":
                # Blow up the Q/K projections and the input so scaled scores reach ~1e3+:
                # softmax must subtract the row max (else exp overflows) and most weights
                # saturate to exactly 1.0 / 0.0 in float32.
                mha.in_proj_weight[: 2 * d].mul_(8.0)
                x.mul_(4.0)
                # Token 3 repeats token 1, so their keys (and scores) tie exactly: rows whose
                # max is that key must split 0.5/0.5 even at these magnitudes.
                x[3] = x[1]
            # Round-trip through float32 explicitly: the stored tensors ARE the reference inputs.
            x = x.float().contiguous()
        sd = {k: v.detach().float().contiguous() for k, v in mha.state_dict().items()}
        mask = causal_mask(n) if causal else None

        # (a) The independent reference: PyTorch's own module forward in float32.
        with torch.no_grad():
            out32, w32 = mha(x[None], x[None], x[None], need_weights=True,
                             attn_mask=mask, average_attn_weights=False)
        out32, w32 = out32[0], w32[0]

        # (b) The same module in float64 (tight check of our re-implementation).
        mha64 = torch.nn.MultiheadAttention(d, heads, bias=bias, batch_first=True).double().eval()
        mha64.load_state_dict({k: v.double() for k, v in sd.items()})
        with torch.no_grad():
            out64m, w64m = mha64(x.double()[None], x.double()[None], x.double()[None], need_weights=True,
                                 attn_mask=mask, average_attn_weights=False)
        out64m, w64m = out64m[0], w64m[0]

        # (c) Our float64 computation, which also yields scores and per-head context.
        scores, weights, context, output = mha_float64(x, sd, heads, bias, mask)

        # Self-checks. float64 vs float64 module: essentially exact.
        assert_close(name + " weights vs f64 module", weights, w64m, atol=1e-12)
        assert_close(name + " output vs f64 module", output, out64m, atol=1e-11, rtol=1e-11)
        # float64 vs float32 module: float32 rounding of scores of magnitude S perturbs the
        # logits by ~S*1e-7, so scale tolerances with the score magnitude.
        finite = scores[torch.isfinite(scores)]
        smax = finite.abs().max().item()
        tol = 2e-6 * max(1.0, smax)
        dw = assert_close(name + " weights vs f32 module", weights, w32, atol=tol)
        do = assert_close(name + " output vs f32 module", output, out32,
                          atol=tol * max(1.0, output.abs().max().item()))
        if name == "huge_logits":
            assert smax >= 1e3, "huge_logits scores only reach %g" % smax
            assert bool((w32 == 1.0).any()) and bool((w32 == 0.0).any()), \
                "huge_logits should saturate some float32 weights to exactly 1/0"
            assert bool((w32 == 0.5).any()), "huge_logits should contain an exact 0.5/0.5 tie"
            assert bool(torch.isfinite(w32).all())

        cdir = os.path.join(root, name)
        os.makedirs(cdir)
        write_safetensors(os.path.join(cdir, "x.safetensors"), [("x", x)], {"format": "pt"})
        # Keep the state-dict key order PyTorch uses.
        write_safetensors(os.path.join(cdir, "weights.safetensors"),
                          [(k, sd[k]) for k in mha.state_dict().keys()], {"format": "pt"})
        # Re-read what we wrote and make sure it is bit-identical.
        rx = read_safetensors(os.path.join(cdir, "x.safetensors"))
        assert torch.equal(rx["x"], x)
        rw = read_safetensors(os.path.join(cdir, "weights.safetensors"))
        assert set(rw) == set(sd) and all(torch.equal(rw[k], sd[k]) for k in sd)

        smask = mask[None] if mask is not None else None
        expected = {
            "heads": heads,
            "headDim": hd,
            "causal": causal,
            "bias": bias,
            "n": n,
            "d": d,
            "reference": ("float64 recomputation from the stored float32 x/weights (all fields); "
                          "verified against torch.nn.MultiheadAttention forward in float64 "
                          "(|diff| <= 1e-11) and in float32 (max |diff| recorded in f32ModuleMaxAbsDiff)"),
            "f32ModuleMaxAbsDiff": {"weights": float("%.3g" % dw), "output": float("%.3g" % do)},
            "scores": tolist_rounded(scores, smask),
            "weights": tolist_rounded(weights),
            "context": tolist_rounded(context),
            "output": tolist_rounded(output),
        }
        write_json(os.path.join(cdir, "expected.json"), expected)
        summary.append("mha/%-11s n=%-2d d=%-2d H=%d bias=%-5s causal=%-5s max|score|=%-9.4g "
                       "f32 diff w=%.1e out=%.1e" % (name, n, d, heads, bias, causal, smax, dw, do))
    return summary


# --------------------------------------------------------------------------------------
# 2. Tiny random GPT-2 in Hugging Face layout
# --------------------------------------------------------------------------------------

GPT2_CONFIG = {
    "activation_function": "gelu_new",
    "architectures": ["GPT2LMHeadModel"],
    "attn_pdrop": 0.0,
    "bos_token_id": 50256,
    "embd_pdrop": 0.0,
    "eos_token_id": 50256,
    "initializer_range": 0.02,
    "layer_norm_epsilon": 1e-05,
    "model_type": "gpt2",
    "n_ctx": 64,
    "n_embd": 16,
    "n_head": 4,
    "n_inner": None,
    "n_layer": 2,
    "n_positions": 64,
    "resid_pdrop": 0.0,
    "scale_attn_weights": True,
    "tie_word_embeddings": True,
    "vocab_size": 50257,
}

GPT2_TEXTS = [
    ("code", "def add(a, b):\n    return a + b\n"),
    ("crlf", "first line\r\nsecond line\r\n"),
    ("emoji", "I love \U0001F375 and \U0001F40D!"),
    ("cjk", "注意力机制很有用。"),
    ("special", "Hello, do you like tea? <|endoftext|> In the sunlit terraces of someunknownPlace."),
    ("single", "Hi"),
]
SPECIAL_IDS = [15496, 11, 466, 345, 588, 8887, 30, 220, 50256, 554, 262, 4252, 18250, 8812,
               2114, 286, 617, 34680, 27271, 13]


def tiktoken_ids(texts):
    """Tokenise with js-tiktoken (third-party BPE), allowedSpecial='all'."""
    js = ("const t=require('js-tiktoken').getEncoding('gpt2');"
          "let s='';process.stdin.on('data',c=>s+=c).on('end',()=>{"
          "process.stdout.write(JSON.stringify(JSON.parse(s).map(x=>t.encode(x,'all'))))})")
    res = subprocess.run(["node", "-e", js], input=json.dumps(texts).encode("utf-8"),
                         cwd=ROOT, capture_output=True, check=True)
    return json.loads(res.stdout)


def gpt2_params():
    """Random GPT-2-shaped weights. GPT-2's own init (std 0.02) gives near-uniform attention
    and near-uniform next-token probabilities at this width, so projections are scaled up
    to make attention patterns and top-k clearly distinct (what the tests need to see)."""
    torch.manual_seed(2024)
    C, L, V, P = GPT2_CONFIG["n_embd"], GPT2_CONFIG["n_layer"], GPT2_CONFIG["vocab_size"], GPT2_CONFIG["n_positions"]
    p = {}

    def normal(*shape, std):
        return (torch.randn(*shape) * std).float()

    # wte is stored as F16 (keeps the file ~1.6 MB); the reference uses the F16-rounded values.
    p["wte.weight"] = normal(V, C, std=0.5).half()
    p["wpe.weight"] = normal(P, C, std=0.3)
    for i in range(L):
        h = "h.%d." % i
        p[h + "ln_1.weight"] = 1.0 + normal(C, std=0.1)
        p[h + "ln_1.bias"] = normal(C, std=0.1)
        # legacy causal-mask buffer some real checkpoints carry; loaders must ignore it
        p[h + "attn.bias"] = torch.tril(torch.ones(P, P)).view(1, 1, P, P).float()
        p[h + "attn.c_attn.weight"] = normal(C, 3 * C, std=0.35)  # Conv1D layout [in, out]
        p[h + "attn.c_attn.bias"] = normal(3 * C, std=0.1)
        p[h + "attn.c_proj.weight"] = normal(C, C, std=0.2)
        p[h + "attn.c_proj.bias"] = normal(C, std=0.05)
        p[h + "ln_2.weight"] = 1.0 + normal(C, std=0.1)
        p[h + "ln_2.bias"] = normal(C, std=0.1)
        p[h + "mlp.c_fc.weight"] = normal(C, 4 * C, std=0.2)
        p[h + "mlp.c_fc.bias"] = normal(4 * C, std=0.1)
        p[h + "mlp.c_proj.weight"] = normal(4 * C, C, std=0.1)
        p[h + "mlp.c_proj.bias"] = normal(C, std=0.05)
    p["ln_f.weight"] = 1.0 + normal(C, std=0.1)
    p["ln_f.bias"] = normal(C, std=0.1)
    return {k: v.contiguous() for k, v in p.items()}


def layer_norm(x, w, b, eps):
    mu = x.mean(-1, keepdim=True)
    var = ((x - mu) ** 2).mean(-1, keepdim=True)  # biased variance, as torch / HF
    return (x - mu) / torch.sqrt(var + eps) * w + b


def gelu_new(x):
    return 0.5 * x * (1.0 + torch.tanh(math.sqrt(2.0 / math.pi) * (x + 0.044715 * x ** 3)))


def gpt2_forward(p, ids):
    """Float64 reference forward (GPT2LMHeadModel semantics, tied LM head)."""
    cfg = GPT2_CONFIG
    C, H, eps = cfg["n_embd"], cfg["n_head"], cfg["layer_norm_epsilon"]
    hd = C // H
    P = {k: v.double() for k, v in p.items()}  # F16 wte upcasts exactly
    n = len(ids)
    ids_t = torch.tensor(ids, dtype=torch.long)
    x = P["wte.weight"][ids_t] + P["wpe.weight"][torch.arange(n)]
    mask = causal_mask(n)
    attns, scores_all = [], []
    for i in range(cfg["n_layer"]):
        h = "h.%d." % i
        a_in = layer_norm(x, P[h + "ln_1.weight"], P[h + "ln_1.bias"], eps)
        qkv = a_in @ P[h + "attn.c_attn.weight"] + P[h + "attn.c_attn.bias"]  # Conv1D: y = x W + b
        q, k, v = qkv.split(C, dim=-1)
        q = q.view(n, H, hd).transpose(0, 1)
        k = k.view(n, H, hd).transpose(0, 1)
        v = v.view(n, H, hd).transpose(0, 1)
        s = (q @ k.transpose(1, 2)) / math.sqrt(hd)
        s = s.masked_fill(mask, float("-inf"))
        w = torch.softmax(s, dim=-1)
        ctx = (w @ v).transpose(0, 1).reshape(n, C)
        attn_out = ctx @ P[h + "attn.c_proj.weight"] + P[h + "attn.c_proj.bias"]

        # Cross-check against PyTorch's own attention: Conv1D [in,out] weights are the
        # transpose of nn.Linear's [out,in], so feed W^T as in_proj / out_proj weights.
        ref_out, ref_w = F.multi_head_attention_forward(
            a_in[:, None, :], a_in[:, None, :], a_in[:, None, :], C, H,
            P[h + "attn.c_attn.weight"].T.contiguous(), P[h + "attn.c_attn.bias"],
            None, None, False, 0.0,
            P[h + "attn.c_proj.weight"].T.contiguous(), P[h + "attn.c_proj.bias"],
            training=False, need_weights=True, attn_mask=mask, average_attn_weights=False)
        assert_close("gpt2 layer %d attn weights vs torch MHA" % i, w, ref_w[0], atol=1e-12)
        assert_close("gpt2 layer %d attn output vs torch MHA" % i, attn_out, ref_out[:, 0, :],
                     atol=1e-11, rtol=1e-11)

        x = x + attn_out
        m_in = layer_norm(x, P[h + "ln_2.weight"], P[h + "ln_2.bias"], eps)
        m = gelu_new(m_in @ P[h + "mlp.c_fc.weight"] + P[h + "mlp.c_fc.bias"])
        x = x + (m @ P[h + "mlp.c_proj.weight"] + P[h + "mlp.c_proj.bias"])
        attns.append(w)
        scores_all.append(s)
    # Also confirm our LayerNorm / gelu_new match torch's built-ins.
    assert_close("layer_norm", layer_norm(x, P["ln_f.weight"], P["ln_f.bias"], eps),
                 F.layer_norm(x, (C,), P["ln_f.weight"], P["ln_f.bias"], eps), atol=1e-12)
    last = layer_norm(x, P["ln_f.weight"], P["ln_f.bias"], eps)
    logits = last @ P["wte.weight"].T  # tied LM head
    return torch.stack(attns), torch.stack(scores_all), last, logits, mask


def gen_gpt2():
    root = os.path.join(OUT, "gpt2-tiny")
    fresh_dir(root)
    t = torch.linspace(-4, 4, 101, dtype=torch.float64)
    try:  # torch >= 1.12 has the tanh approximation, i.e. gelu_new
        assert_close("gelu_new", gelu_new(t), F.gelu(t, approximate="tanh"), atol=1e-14)
    except TypeError:
        pass

    p = gpt2_params()
    with open(os.path.join(root, "config.json"), "w", encoding="utf-8", newline="\n") as f:
        f.write(json.dumps(GPT2_CONFIG, indent=2) + "\n")
    order = ["wte.weight", "wpe.weight"] + sorted(
        [k for k in p if k.startswith("h.")], key=lambda k: (int(k.split(".")[1]), k)) + ["ln_f.weight", "ln_f.bias"]
    assert sorted(order) == sorted(p)
    mpath = os.path.join(root, "model.safetensors")
    write_safetensors(mpath, [(k, p[k]) for k in order], {"format": "pt"})
    back = read_safetensors(mpath)
    assert set(back) == set(p) and all(torch.equal(back[k], p[k]) for k in p)
    assert back["wte.weight"].dtype == torch.float16

    texts = [t for _, t in GPT2_TEXTS]
    all_ids = tiktoken_ids(texts)
    cases, summary = [], []
    for (name, text), ids in zip(GPT2_TEXTS, all_ids):
        if name == "special":
            assert ids == SPECIAL_IDS, "js-tiktoken gave %r" % ids
        n = len(ids)
        assert 1 <= n <= GPT2_CONFIG["n_positions"]
        attn, scores, last, logits, mask = gpt2_forward(p, ids)
        probs = torch.softmax(logits[-1], dim=-1)
        top = torch.topk(probs, 6)
        # Guard against near-ties that would make the top-5 order fragile in float32/float64 engines.
        gaps = (top.values[:-1] - top.values[1:]) / top.values[:-1]
        assert bool((gaps > 1e-4).all()), "%s: top-k near-tie %r" % (name, gaps.tolist())
        if n > 1:
            logp = torch.log_softmax(logits[:-1], dim=-1)
            nll = -logp[torch.arange(n - 1), torch.tensor(ids[1:])]
            ppl = math.exp(nll.mean().item())
        else:
            ppl = None
        assert float(attn[:, :, mask].abs().max() if n > 1 else 0.0) == 0.0
        cases.append({
            "name": name,
            "text": text,
            "ids": ids,
            "attentions": tolist_rounded(attn),
            "scores": tolist_rounded(scores, mask),
            "lastHidden": tolist_rounded(last),
            "topNext": [{"id": int(i), "prob": rnd(v)} for v, i in zip(top.values[:5].tolist(), top.indices[:5].tolist())],
            "perplexity": rnd(ppl),
        })
        # how peaked attention is: mean over rows (with >1 visible key) of the max weight
        rows = attn[:, :, 1:, :] if n > 1 else attn
        summary.append("gpt2/%-8s n=%-2d mean row-max attn=%.3f top1=%d p=%.4f ppl=%s"
                       % (name, n, rows.max(-1).values.mean().item(), top.indices[0].item(),
                          top.values[0].item(), "%.1f" % ppl if ppl else "null"))
    write_json(os.path.join(root, "expected.json"), cases)
    return summary


# --------------------------------------------------------------------------------------
# 3. safetensors dtype decoding fixture
# --------------------------------------------------------------------------------------

DTYPE_VALUES = [
    0.0,
    -0.0,                      # sign bit only
    1.0,
    -2.5,
    0.1,                       # not representable: rounds differently in f16 / bf16
    1.0 / 3.0,                 # rounding (round-to-nearest-even on the mantissa tail)
    -3.14159265,
    6.0e-6,                    # f16 subnormal (f16 min normal is 6.1e-5)
    5.960464477539063e-08,     # smallest positive f16 subnormal, 2^-24
    12345.678,                 # f16 spacing 8 here, bf16 spacing 64
    -65504.0,                  # most negative finite f16
    1.0e-40,                   # f32/bf16 subnormal; flushes to 0 in f16
]


def gen_dtypes():
    root = os.path.join(OUT, "safetensors")
    fresh_dir(root)
    v32 = torch.tensor(DTYPE_VALUES, dtype=torch.float32)
    f32 = v32.view(3, 4).contiguous()
    f16 = v32.half().view(3, 4).contiguous()        # torch rounds to nearest even
    bf16 = v32.bfloat16().view(2, 6).contiguous()   # torch rounds to nearest even
    tensors = [("f32", f32), ("f16", f16), ("bf16", bf16)]
    assert bool(torch.isfinite(f16.float()).all()) and bool(torch.isfinite(bf16.float()).all())
    path = os.path.join(root, "dtypes.safetensors")
    write_safetensors(path, tensors, {"format": "pt", "note": "same 12 values in three dtypes"})
    back = read_safetensors(path)
    for k, tt in tensors:
        assert torch.equal(back[k].view(torch.int16 if tt.element_size() == 2 else torch.int32),
                           tt.view(torch.int16 if tt.element_size() == 2 else torch.int32))

    def entry(t, st):
        width = t.element_size()
        ibits = t.reshape(-1).view(torch.int16 if width == 2 else torch.int32).tolist()
        mask = (1 << (8 * width)) - 1
        # .float() is torch's own decode; a float32 value is exactly representable as a
        # Python float, and repr() round-trips doubles, so "values" is exact (no rounding).
        vals = t.float().reshape(-1).tolist()
        return {
            "dtype": st,
            "shape": list(t.shape),
            "values": [float(x) for x in vals],
            "bits": ["0x%0*x" % (2 * width, b & mask) for b in ibits],
        }

    doc = {
        "source": [float(x) for x in DTYPE_VALUES],
        "note": ("values = exact float32 each stored element decodes to (torch .float()), "
                 "row-major; bits = raw little-endian element bits as hex"),
        "tensors": {k: entry(t, TORCH_TO_ST[t.dtype]) for k, t in tensors},
    }
    write_json(os.path.join(root, "dtypes.json"), doc)
    return ["safetensors/dtypes f16=%s" % doc["tensors"]["f16"]["values"],
            "safetensors/dtypes bf16=%s" % doc["tensors"]["bf16"]["values"]]


# --------------------------------------------------------------------------------------

def check_outputs():
    """Reload every JSON we wrote (and the safetensors headers) as a final sanity check."""
    total = 0
    lines = []
    for dirpath, dirs, files in os.walk(OUT):
        # families/ is written and checked by gen_family_fixtures.py (it holds I64 and BOOL buffers).
        dirs[:] = sorted(d for d in dirs if os.path.join(dirpath, d) != os.path.join(OUT, "families"))
        for fn in sorted(files):
            path = os.path.join(dirpath, fn)
            if fn.endswith(".json"):
                with open(path, encoding="utf-8") as f:
                    json.load(f)
            elif fn.endswith(".safetensors"):
                read_safetensors(path)
            size = os.path.getsize(path)
            total += size
            lines.append("  %9d  %s" % (size, os.path.relpath(path, ROOT)))
    lines.append("  %9d  total" % total)
    return lines


def check_cli_exports():
    """Runs the CLI's binary exports on the tiny GPT-2 and reads them back with numpy (scripts/check_binary_export.py)."""
    import subprocess
    import tempfile

    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    import check_binary_export

    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    cli = os.path.join(root, "dist", "cli.js")
    if not os.path.exists(cli):
        raise SystemExit("dist/cli.js is missing: run `npm run build` first (npm run fixtures does)")
    with tempfile.TemporaryDirectory() as tmp:
        text = "def add(a, b):\n    return a + b\n"
        common = ["node", cli, "inspect", "--text", text, "--model", os.path.join(OUT, "gpt2-tiny")]
        subprocess.run(common + ["--format", "npy", "--out", os.path.join(tmp, "npy")], check=True)
        subprocess.run(common + ["--format", "safetensors", "--out", os.path.join(tmp, "all.safetensors"), "--layers", "1", "--heads", "0,2-3"], check=True)
        code = check_binary_export.main(["--npy", os.path.join(tmp, "npy"), "--safetensors", os.path.join(tmp, "all.safetensors")])
        if code:
            raise SystemExit("the CLI's binary exports failed the numpy check")
    return ["cli exports: npy and safetensors read back with numpy"]


def main():
    if sys.byteorder != "little":
        raise SystemExit("this generator assumes a little-endian host")
    os.makedirs(OUT, exist_ok=True)
    summary = []
    summary += gen_mha()
    summary += gen_gpt2()
    summary += gen_dtypes()
    summary += check_outputs()
    summary += check_cli_exports()
    print("torch %s, numpy %s" % (torch.__version__, np.__version__))
    print("\n".join(summary))


if __name__ == "__main__":
    main()
