import assert from 'node:assert/strict';
import type { Tensor } from '../../../src/engine/tensor';
import { loadMhaStateDict } from '../../../src/model';
import { assertModelError } from './helpers';

/** A [rows, cols] tensor whose entry (r, c) is base + 100·r + c, so every element is distinct and traceable. */
function indexed(rows: number, cols: number, base = 0): Tensor {
  const data = new Float32Array(rows * cols);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) data[r * cols + c] = base + 100 * r + c;
  return { shape: [rows, cols], data };
}

function vector(length: number, base: number): Tensor {
  return { shape: [length], data: Float32Array.from({ length }, (_, i) => base + i) };
}

function stateDict(d: number, bias = true, prefix = ''): Map<string, Tensor> {
  const dict = new Map<string, Tensor>([
    [`${prefix}in_proj_weight`, indexed(3 * d, d)],
    [`${prefix}out_proj.weight`, indexed(d, d, 10000)],
  ]);
  if (bias) {
    dict.set(`${prefix}in_proj_bias`, vector(3 * d, 500));
    dict.set(`${prefix}out_proj.bias`, vector(d, 900));
  }
  return dict;
}

/** Element (i, j) of a 2-D tensor. */
function at(t: Tensor, i: number, j: number): number {
  return t.data[i * t.shape[1] + j];
}

describe('loadMhaStateDict', () => {
  it('transposes each nn.Linear block into the [d_in, d_out] layout', () => {
    const d = 6;
    const dict = stateDict(d);
    const inProj = dict.get('in_proj_weight') as Tensor;
    const outWeight = dict.get('out_proj.weight') as Tensor;
    const weights = loadMhaStateDict(dict, 3);
    assert.equal(weights.dModel, d);
    assert.equal(weights.heads, 3);
    for (const w of [weights.wQuery, weights.wKey, weights.wValue, weights.outProj]) assert.deepEqual(w.shape, [d, d]);
    for (let input = 0; input < d; input++) {
      for (let output = 0; output < d; output++) {
        // PyTorch: queries[output] = Σ_input x[input] · in_proj_weight[output, input].
        assert.equal(at(weights.wQuery, input, output), at(inProj, output, input));
        assert.equal(at(weights.wKey, input, output), at(inProj, d + output, input));
        assert.equal(at(weights.wValue, input, output), at(inProj, 2 * d + output, input));
        assert.equal(at(weights.outProj, input, output), at(outWeight, output, input));
      }
    }
    // Spot-check one literal value: wKey[1][2] is in_proj_weight row d+2, column 1.
    assert.equal(at(weights.wKey, 1, 2), 100 * (d + 2) + 1);
  });

  it('splits in_proj_bias into query, key and value biases', () => {
    const weights = loadMhaStateDict(stateDict(4), 2);
    assert.deepEqual([...(weights.bQuery?.data ?? [])], [500, 501, 502, 503]);
    assert.deepEqual([...(weights.bKey?.data ?? [])], [504, 505, 506, 507]);
    assert.deepEqual([...(weights.bValue?.data ?? [])], [508, 509, 510, 511]);
    assert.deepEqual([...(weights.outProjBias?.data ?? [])], [900, 901, 902, 903]);
    assert.deepEqual(weights.bQuery?.shape, [4]);
  });

  it('returns weights that do not share memory with the state dict', () => {
    const dict = stateDict(4);
    const weights = loadMhaStateDict(dict, 2);
    for (const t of dict.values()) t.data.fill(0);
    assert.notEqual(at(weights.wValue, 1, 1), 0);
    assert.equal(weights.bKey?.data[0], 504);
  });

  it('leaves biases undefined when the module has bias=False', () => {
    const weights = loadMhaStateDict(stateDict(4, false), 4);
    assert.equal(weights.bQuery, undefined);
    assert.equal(weights.bKey, undefined);
    assert.equal(weights.bValue, undefined);
    assert.equal(weights.outProjBias, undefined);
  });

  it('finds the module under a prefix, or uses the prefix given', () => {
    const dict = stateDict(4, true, 'encoder.self_attn.');
    dict.set('encoder.norm.weight', vector(4, 0));
    assert.equal(loadMhaStateDict(dict, 2).dModel, 4);
    assert.equal(loadMhaStateDict(dict, 2, { prefix: 'encoder.self_attn.' }).outProjBias?.data[3], 903);
    const two = new Map([...stateDict(4, true, 'a.'), ...stateDict(4, true, 'b.')]);
    assertModelError(() => loadMhaStateDict(two, 2), ['several attention modules', 'a.in_proj_weight', 'b.in_proj_weight']);
    assert.equal(loadMhaStateDict(two, 2, { prefix: 'b.' }).dModel, 4);
  });

  it('accepts separate q/k/v projection weights', () => {
    const d = 4;
    const dict = new Map<string, Tensor>([
      ['q_proj_weight', indexed(d, d, 1000)],
      ['k_proj_weight', indexed(d, d, 2000)],
      ['v_proj_weight', indexed(d, d, 3000)],
      ['in_proj_bias', vector(3 * d, 0)],
      ['out_proj.weight', indexed(d, d)],
    ]);
    const weights = loadMhaStateDict(dict, 2);
    assert.equal(at(weights.wQuery, 0, 3), 1000 + 300);
    assert.equal(at(weights.wKey, 2, 1), 2000 + 100 + 2);
    assert.equal(at(weights.wValue, 3, 0), 3000 + 3);
    dict.set('k_proj_weight', indexed(d, 2));
    assertModelError(() => loadMhaStateDict(dict, 2), ['[4, 2]', '[4, 4]', 'kdim'], 'k_proj_weight');
  });

  it('names the missing tensor and lists the keys found', () => {
    const dict = stateDict(4);
    dict.delete('in_proj_weight');
    assertModelError(() => loadMhaStateDict(dict, 2), ['missing tensor "in_proj_weight"', 'found keys: out_proj.weight, in_proj_bias'], 'in_proj_weight');
    const noOut = stateDict(4);
    noOut.delete('out_proj.weight');
    assertModelError(() => loadMhaStateDict(noOut, 2), ['found keys: in_proj_weight'], 'out_proj.weight');
    assertModelError(() => loadMhaStateDict(new Map(), 2), ['the state dict is empty'], 'in_proj_weight');
  });

  it('reports wrong shapes with the tensor name, got and expected', () => {
    const badInProj = stateDict(4);
    badInProj.set('in_proj_weight', indexed(10, 4));
    assertModelError(() => loadMhaStateDict(badInProj, 2), ['[10, 4]', '[3·d_model, d_model] = [12, 4]'], 'in_proj_weight');
    badInProj.set('in_proj_weight', vector(12, 0));
    assertModelError(() => loadMhaStateDict(badInProj, 2), ['[12]', '[3·d_model, d_model]'], 'in_proj_weight');

    const badOut = stateDict(4);
    badOut.set('out_proj.weight', indexed(4, 5));
    assertModelError(() => loadMhaStateDict(badOut, 2), ['[4, 5]', 'expected [4, 4]'], 'out_proj.weight');

    const badBias = stateDict(4);
    badBias.set('in_proj_bias', vector(8, 0));
    assertModelError(() => loadMhaStateDict(badBias, 2), ['[8]', 'expected [12]'], 'in_proj_bias');
    const badOutBias = stateDict(4);
    badOutBias.set('out_proj.bias', indexed(1, 4));
    assertModelError(() => loadMhaStateDict(badOutBias, 2), ['[1, 4]', 'expected [4]'], 'out_proj.bias');
  });

  it('requires d_model divisible by heads, and heads a positive integer', () => {
    assertModelError(() => loadMhaStateDict(stateDict(10), 4), ['d_model 10 must be divisible by heads 4']);
    assertModelError(() => loadMhaStateDict(stateDict(0), 1), ['d_model is 0']);
    for (const heads of [0, -2, 2.5, NaN, Infinity]) {
      assertModelError(() => loadMhaStateDict(stateDict(4), heads), ['heads must be a positive integer', String(heads)]);
    }
  });

  it('refuses add_bias_kv rather than ignoring it', () => {
    const dict = stateDict(4);
    dict.set('bias_k', { shape: [1, 1, 4], data: new Float32Array(4) });
    assertModelError(() => loadMhaStateDict(dict, 2), ['add_bias_kv'], 'bias_k');
  });
});
