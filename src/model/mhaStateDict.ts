/**
 * Loads the weights of a PyTorch nn.MultiheadAttention (self-attention, batch_first or not) from its state
 * dict, converting nn.Linear layout ([d_out, d_in], y = x·Wᵀ + b) to the lecture layout [d_in, d_out].
 *
 * Accepted keys (optionally under a common prefix such as "attn."):
 *   in_proj_weight [3d, d]   rows 0..d-1 project queries, d..2d-1 keys, 2d..3d-1 values
 *   in_proj_bias   [3d]      optional (bias=False omits it)
 *   out_proj.weight [d, d], out_proj.bias [d] (optional)
 * or, instead of in_proj_weight, separate q_proj_weight / k_proj_weight / v_proj_weight [d, d]
 * (what PyTorch stores when kdim/vdim are given explicitly).
 */
import type { Tensor } from '../engine/tensor';
import { fmtShape } from '../engine/tensor';
import type { MhaWeights } from '../engine/types';
import { ModelFileError } from './errors';
import { describeKeys, expectTensorShape, sliceVector, transposeRows, type TensorMap } from './stateDict';

export interface LoadMhaOptions {
  /**
   * Key prefix of the attention module, e.g. "encoder.attn.". By default: none if "in_proj_weight" is a key,
   * otherwise the prefix of the one key ending in "in_proj_weight" (or "q_proj_weight").
   */
  readonly prefix?: string;
}

export function loadMhaStateDict(tensors: TensorMap, heads: number, options: LoadMhaOptions = {}): MhaWeights {
  if (typeof heads !== 'number' || !Number.isInteger(heads) || heads <= 0) {
    throw new ModelFileError(`heads must be a positive integer, got ${String(heads)}`);
  }
  const prefix = options.prefix ?? detectPrefix(tensors);
  const get = (key: string): Tensor | undefined => tensors.get(prefix + key);
  const requireTensor = (key: string): Tensor => {
    const t = get(key);
    if (t === undefined) {
      throw new ModelFileError(`missing tensor "${prefix + key}" in the nn.MultiheadAttention state dict; ${describeKeys(tensors)}`, {
        tensorName: prefix + key,
      });
    }
    return t;
  };

  // add_bias_kv appends a learned key/value token; the engine has no place for it, so refuse rather than ignore.
  for (const key of ['bias_k', 'bias_v']) {
    if (get(key) !== undefined) {
      throw new ModelFileError(`tensor "${prefix + key}" means add_bias_kv=True, which is not supported`, { tensorName: prefix + key });
    }
  }

  let wQuery: Tensor, wKey: Tensor, wValue: Tensor, dModel: number;
  const inProj = get('in_proj_weight');
  if (inProj !== undefined) {
    const name = prefix + 'in_proj_weight';
    if (inProj.shape.length !== 2 || inProj.shape[0] !== 3 * inProj.shape[1]) {
      const d = inProj.shape.length === 2 ? inProj.shape[1] : NaN;
      const expected = Number.isNaN(d) ? '[3·d_model, d_model]' : `[3·d_model, d_model] = ${fmtShape([3 * d, d])}`;
      throw new ModelFileError(`shape ${fmtShape(inProj.shape)} does not match the expected ${expected}`, { tensorName: name });
    }
    dModel = inProj.shape[1];
    checkDivisible(dModel, heads);
    wQuery = transposeRows(inProj, 0, dModel);
    wKey = transposeRows(inProj, dModel, dModel);
    wValue = transposeRows(inProj, 2 * dModel, dModel);
  } else {
    const qProj = get('q_proj_weight');
    if (qProj === undefined) requireTensor('in_proj_weight'); // throws, listing the keys found
    const q = qProj as Tensor;
    if (q.shape.length !== 2) {
      throw new ModelFileError(`shape ${fmtShape(q.shape)} does not match the expected [d_model, d_model]`, { tensorName: prefix + 'q_proj_weight' });
    }
    dModel = q.shape[0];
    const byKey = (key: string): Tensor => {
      const t = requireTensor(key);
      // Different kdim/vdim would mean cross-attention; self-attention needs square projections.
      expectTensorShape(prefix + key, t, [dModel, dModel], ' (self-attention needs kdim = vdim = d_model)');
      return transposeRows(t, 0, dModel);
    };
    wQuery = byKey('q_proj_weight');
    wKey = byKey('k_proj_weight');
    wValue = byKey('v_proj_weight');
    checkDivisible(dModel, heads);
  }

  const outWeight = requireTensor('out_proj.weight');
  expectTensorShape(prefix + 'out_proj.weight', outWeight, [dModel, dModel]);
  const outProj = transposeRows(outWeight, 0, dModel);

  const inBias = get('in_proj_bias');
  if (inBias !== undefined) expectTensorShape(prefix + 'in_proj_bias', inBias, [3 * dModel]);
  const outBias = get('out_proj.bias');
  if (outBias !== undefined) expectTensorShape(prefix + 'out_proj.bias', outBias, [dModel]);

  return {
    dModel,
    heads,
    wQuery,
    wKey,
    wValue,
    outProj,
    ...(inBias === undefined
      ? {}
      : { bQuery: sliceVector(inBias, 0, dModel), bKey: sliceVector(inBias, dModel, dModel), bValue: sliceVector(inBias, 2 * dModel, dModel) }),
    ...(outBias === undefined ? {} : { outProjBias: sliceVector(outBias, 0, dModel) }),
  };
}

function checkDivisible(dModel: number, heads: number): void {
  if (dModel === 0) throw new ModelFileError('d_model is 0: the projection matrices are empty');
  if (dModel % heads !== 0) throw new ModelFileError(`d_model ${dModel} must be divisible by heads ${heads}`);
}

function detectPrefix(tensors: TensorMap): string {
  for (const marker of ['in_proj_weight', 'q_proj_weight']) {
    if (tensors.has(marker)) return '';
    const candidates = [...tensors.keys()].filter((key) => key.endsWith('.' + marker));
    if (candidates.length === 1) return candidates[0].slice(0, -marker.length);
    if (candidates.length > 1) {
      throw new ModelFileError(
        `the state dict holds several attention modules (${candidates.join(', ')}); pass the prefix of the one to load`,
      );
    }
  }
  return '';
}
