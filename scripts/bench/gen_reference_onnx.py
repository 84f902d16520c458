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
