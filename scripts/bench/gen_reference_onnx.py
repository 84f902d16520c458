"""Exports the benchmark's reference: multi-head attention as an ONNX graph for onnxruntime-node.

Weights are graph inputs, not initializers, so the file stays a few KB and the benchmark feeds both
engines the same numbers. d_model 768 and 12 heads (GPT-2 small) are fixed by the traced reshape;
the sequence length is dynamic. Run: /usr/bin/python3 scripts/bench/gen_reference_onnx.py
"""
import math
import os

import torch

D_MODEL, HEADS = 768, 12


class Mha(torch.nn.Module):
    def forward(self, x, w_query, w_key, w_value, out_proj, mask):
        n = x.shape[0]
        head_dim = D_MODEL // HEADS
        queries = (x @ w_query).reshape(n, HEADS, head_dim).transpose(0, 1)  # [heads, n, headDim]
        keys = (x @ w_key).reshape(n, HEADS, head_dim).transpose(0, 1)  # [heads, n, headDim]
        values = (x @ w_value).reshape(n, HEADS, head_dim).transpose(0, 1)  # [heads, n, headDim]
        attn_scores = queries @ keys.transpose(1, 2) / math.sqrt(head_dim) + mask
        attn_weights = torch.softmax(attn_scores, -1)
        context = (attn_weights @ values).transpose(0, 1).reshape(n, D_MODEL)  # [n, d]
        return context @ out_proj, attn_weights


class Gpt2Block(torch.nn.Module):
    """One GPT-2 block (ln_1 → causal attention → residual → ln_2 → MLP with tanh GELU → residual), Conv1D layout."""

    def forward(self, h, ln1_w, ln1_b, c_attn_w, c_attn_b, c_proj_w, c_proj_b, ln2_w, ln2_b, fc_w, fc_b, mlp_proj_w, mlp_proj_b, mask):
        n = h.shape[0]
        head_dim = D_MODEL // HEADS
        x = torch.nn.functional.layer_norm(h, (D_MODEL,), ln1_w, ln1_b, 1e-5)
        qkv = x @ c_attn_w + c_attn_b  # [n, 3d]
        queries, keys, values = qkv.split(D_MODEL, dim=1)
        queries = queries.reshape(n, HEADS, head_dim).transpose(0, 1)  # [heads, n, headDim]
        keys = keys.reshape(n, HEADS, head_dim).transpose(0, 1)  # [heads, n, headDim]
        values = values.reshape(n, HEADS, head_dim).transpose(0, 1)  # [heads, n, headDim]
        attn_weights = torch.softmax(queries @ keys.transpose(1, 2) / math.sqrt(head_dim) + mask, -1)
        context = (attn_weights @ values).transpose(0, 1).reshape(n, D_MODEL)  # [n, d]
        h = h + context @ c_proj_w + c_proj_b
        x = torch.nn.functional.layer_norm(h, (D_MODEL,), ln2_w, ln2_b, 1e-5)
        f = x @ fc_w + fc_b
        f = 0.5 * f * (1 + torch.tanh(math.sqrt(2 / math.pi) * (f + 0.044715 * f ** 3)))
        return h + f @ mlp_proj_w + mlp_proj_b


def export_block():
    n, d = 8, D_MODEL
    shapes = [(n, d), (d,), (d,), (d, 3 * d), (3 * d,), (d, d), (d,), (d,), (d,), (d, 4 * d), (4 * d,), (4 * d, d), (d,), (n, n)]
    names = ['h', 'ln1_w', 'ln1_b', 'c_attn_w', 'c_attn_b', 'c_proj_w', 'c_proj_b', 'ln2_w', 'ln2_b', 'fc_w', 'fc_b', 'mlp_proj_w', 'mlp_proj_b', 'mask']
    args = tuple(torch.randn(*s) for s in shapes)
    out = os.path.join(os.path.dirname(__file__), 'gpt2-block-d768-h12.onnx')
    torch.onnx.export(
        Gpt2Block(), args, out, opset_version=13, input_names=names, output_names=['out'],
        dynamic_axes={'h': {0: 'n'}, 'mask': {0: 'n', 1: 'n'}, 'out': {0: 'n'}},
    )
    print('wrote', os.path.normpath(out))


def main():
    n = 8
    args = (torch.randn(n, D_MODEL),) + tuple(torch.randn(D_MODEL, D_MODEL) for _ in range(4)) + (torch.zeros(n, n),)
    out = os.path.join(os.path.dirname(__file__), 'mha-d768-h12.onnx')
    torch.onnx.export(
        Mha(), args, out, opset_version=13,
        input_names=['x', 'w_query', 'w_key', 'w_value', 'out_proj', 'mask'],
        output_names=['output', 'attn_weights'],
        dynamic_axes={'x': {0: 'n'}, 'mask': {0: 'n', 1: 'n'}, 'output': {0: 'n'}, 'attn_weights': {1: 'n', 2: 'n'}},
    )
    print('wrote', os.path.normpath(out))


if __name__ == '__main__':
    main()
    export_block()
