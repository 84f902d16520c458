/**
 * The bench's compute cases: for each, the inputs and weights (seeded, so the parent that runs the
 * onnxruntime references and the child that runs the engine build the same numbers), the engine's run,
 * and the same computation as an ONNX graph holding those weights.
 */
import { multiHeadAttention } from '../../src/engine/attention';
import { gpt2Forward } from '../../src/engine/gpt2';
import { inspect } from '../../src/engine/inspection';
import { matmulInto } from '../../src/engine/kernels';
import { randomMhaWeights, Xoshiro128 } from '../../src/engine/random';
import { tensor } from '../../src/engine/tensor';
import type { Gpt2Config, Gpt2Weights } from '../../src/engine/types';
import { gpt2TensorShapes, gpt2WeightsFromTensors } from '../../src/model';
import { GraphBuilder } from './onnxGraph';

const D_MODEL = 768;
const HEADS = 12;

export function randomData(size: number, seed: number, scale = 1): Float32Array {
  const rng = new Xoshiro128(seed);
  const out = new Float32Array(size);
  for (let i = 0; i < size; i++) out[i] = rng.uniform(scale);
  return out;
}

export interface Feed {
  readonly data: Float32Array;
  readonly dims: readonly number[];
}

/** One case as both sides build it. */
export interface CaseData {
  /** The engine's run; returns the outputs compared with the references (the same order as `outputs`). */
  readonly engine: () => Float32Array[];
  /** The reference graph (weights as initializers) and its inputs. */
  readonly graph: () => Uint8Array;
  readonly feeds: Readonly<Record<string, Feed>>;
  readonly outputs: readonly string[];
}

export interface ComputeCase {
  readonly name: string;
  readonly title: string;
  /** Timed runs of each engine after the checked run (which is also the warm-up). */
  readonly runs: number;
  /** Largest |ours − reference| allowed, per output. */
  readonly tolerance: number;
  /** Most ours / onnxruntime-node on all cores may be, when the issue sets a target. */
  readonly nativeTarget?: number;
  /** Multiply-adds of one run, for GFLOP/s. */
  readonly macs?: number;
  readonly setup: () => CaseData;
}

function causalMask(n: number): Float32Array {
  const mask = new Float32Array(n * n);
  for (let i = 0; i < n; i++) for (let j = i + 1; j < n; j++) mask[i * n + j] = -Infinity;
  return mask;
}

/**
 * Causal multi-head attention on [n, d] queries/keys/values already projected, as ONNX nodes:
 * split heads, QKᵀ/√d_k + mask, softmax, weights·V, merge heads. Returns [n, d] context and the weights.
 */
function attentionNodes(g: GraphBuilder, q: string, k: string, v: string, n: number, d: number, heads: number): { context: string; weights: string } {
  const headDim = d / heads;
  const split = g.int64s(`split_heads_${g.nodes.length}`, [-1, heads, headDim]);
  const qh = g.op('Transpose', [g.op('Reshape', [q, split])], { perm: [1, 0, 2] }); // [heads, n, headDim]
  const kt = g.op('Transpose', [g.op('Reshape', [k, split])], { perm: [1, 2, 0] }); // [heads, headDim, n]
  const vh = g.op('Transpose', [g.op('Reshape', [v, split])], { perm: [1, 0, 2] }); // [heads, n, headDim]
  const scale = g.scalar(`scale_${g.nodes.length}`, 1 / Math.sqrt(headDim));
  const mask = g.initializers.some((t) => t.name === 'mask') ? 'mask' : g.weight('mask', [n, n], causalMask(n));
  const scores = g.op('Add', [g.op('Mul', [g.op('MatMul', [qh, kt]), scale]), mask]); // [heads, n, n]
  const weights = g.op('Softmax', [scores], { axis: -1 });
  const merge = g.int64s(`merge_heads_${g.nodes.length}`, [-1, d]);
  const context = g.op('Reshape', [g.op('Transpose', [g.op('MatMul', [weights, vh])], { perm: [1, 0, 2] }), merge]); // [n, d]
  return { context, weights };
}

function gemmCase(m: number, k: number, n: number): ComputeCase {
  return {
    name: 'gemm',
    title: `GEMM ${m}×${k}×${n}`,
    runs: 9,
    tolerance: 1e-3,
    macs: m * k * n,
    setup: () => {
      const a = randomData(m * k, 1), b = randomData(k * n, 2);
      return {
        engine: () => {
          const out = new Float32Array(m * n);
          matmulInto(a, b, out, m, k, n);
          return [out];
        },
        graph: () => {
          const g = new GraphBuilder();
          g.op('MatMul', ['a', g.weight('b', [k, n], b)], undefined, 'c');
          return g.build([{ name: 'a', dims: [m, k] }], [{ name: 'c', dims: [m, n] }]);
        },
        feeds: { a: { data: a, dims: [m, k] } },
        outputs: ['c'],
      };
    },
  };
}

function mhaCase(n: number): ComputeCase {
  const d = D_MODEL;
  return {
    name: `mha-${n}`,
    title: `MHA d=768 h=12 causal n=${n}`,
    runs: n <= 128 ? 15 : n <= 512 ? 7 : 3,
    tolerance: 1e-4,
    nativeTarget: n >= 512 ? 1.5 : undefined,
    macs: 4 * n * d * d + 2 * n * n * d,
    setup: () => {
      const x = tensor([n, d], randomData(n * d, n));
      const weights = randomMhaWeights({ dModel: d, heads: HEADS, seed: 1, causal: true });
      // Weights without biases: both engines do the same work.
      const noBias = { ...weights, bQuery: undefined, bKey: undefined, bValue: undefined, outProjBias: undefined };
      return {
        engine: () => {
          const r = multiHeadAttention(x, noBias, { causal: true });
          return [r.output.data, r.attnWeights.data];
        },
        graph: () => {
          const g = new GraphBuilder();
          const proj = (name: string, w: Float32Array) => g.op('MatMul', ['x', g.weight(name, [d, d], w)]);
          const { context, weights: attn } = attentionNodes(g, proj('w_query', weights.wQuery.data), proj('w_key', weights.wKey.data), proj('w_value', weights.wValue.data), n, d, HEADS);
          g.op('MatMul', [context, g.weight('out_proj', [d, d], weights.outProj.data)], undefined, 'output');
          g.op('Identity', [attn], undefined, 'attn_weights');
          return g.build([{ name: 'x', dims: [n, d] }], [
            { name: 'output', dims: [n, d] },
            { name: 'attn_weights', dims: [HEADS, n, n] },
          ]);
        },
        feeds: { x: { data: x.data, dims: [n, d] } },
        outputs: ['output', 'attn_weights'],
      };
    },
  };
}

export const GPT2_SMALL: Gpt2Config = { nLayer: 12, nHead: 12, nEmbd: 768, nPositions: 1024, vocabSize: 50257, layerNormEpsilon: 1e-5 };

/** GPT-2 small's shapes with seeded random weights (uniform ±0.05, layer-norm gains 1 ± 0.1). */
export function randomGpt2Small(): Gpt2Weights {
  const rng = new Xoshiro128(3);
  const tensors = new Map<string, { shape: number[]; data: Float32Array }>();
  for (const [name, shape] of gpt2TensorShapes(GPT2_SMALL)) {
    const data = new Float32Array(shape.reduce((a, b) => a * b, 1));
    const gain = /ln_\d?\.?weight|ln_f\.weight/.test(name);
    for (let i = 0; i < data.length; i++) data[i] = gain ? 1 + rng.uniform(0.1) : rng.uniform(0.05);
    tensors.set(name, { shape, data });
  }
  return gpt2WeightsFromTensors(GPT2_SMALL, tensors);
}

/** Token ids spread over the vocabulary, the same in every process. */
export const benchIds = (n: number, vocab = GPT2_SMALL.vocabSize): number[] => Array.from({ length: n }, (_, i) => (i * 7919) % vocab);

/** The 12 blocks and ln_f of GPT-2 small as one ONNX graph; the input is the embedded tokens (wte + wpe). */
function gpt2BodyGraph(model: Gpt2Weights, n: number): Uint8Array {
  const d = model.config.nEmbd;
  const eps = { float: model.config.layerNormEpsilon };
  const g = new GraphBuilder();
  const c = 0.7978845608028654; // √(2/π)
  const [half, one, geluC, geluK] = [g.scalar('half', 0.5), g.scalar('one', 1), g.scalar('gelu_c', c), g.scalar('gelu_k', 0.044715)];
  const three = g.int64s('qkv_split', [d, d, d]);
  let h = 'h';
  model.blocks.forEach((b, i) => {
    const w = (name: string, dims: number[], data: Float32Array) => g.weight(`h${i}.${name}`, dims, data);
    const x = g.op('LayerNormalization', [h, w('ln_1.weight', [d], b.ln1.weight.data), w('ln_1.bias', [d], b.ln1.bias.data)], { axis: -1, epsilon: eps });
    const qkv = g.op('Add', [g.op('MatMul', [x, w('attn.c_attn.weight', [d, 3 * d], b.cAttnWeight.data)]), w('attn.c_attn.bias', [3 * d], b.cAttnBias.data)]);
    const [q, k, v] = g.ops('Split', [qkv, three], 3, { axis: 1 });
    const { context } = attentionNodes(g, q, k, v, n, d, model.config.nHead);
    const attnOut = g.op('Add', [g.op('MatMul', [context, w('attn.c_proj.weight', [d, d], b.cProjWeight.data)]), w('attn.c_proj.bias', [d], b.cProjBias.data)]);
    h = g.op('Add', [h, attnOut]);
    const x2 = g.op('LayerNormalization', [h, w('ln_2.weight', [d], b.ln2.weight.data), w('ln_2.bias', [d], b.ln2.bias.data)], { axis: -1, epsilon: eps });
    const f = g.op('Add', [g.op('MatMul', [x2, w('mlp.c_fc.weight', [d, 4 * d], b.fcWeight.data)]), w('mlp.c_fc.bias', [4 * d], b.fcBias.data)]);
    // GELU, tanh form (GPT-2's gelu_new): 0.5·f·(1 + tanh(√(2/π)·(f + 0.044715·f³)))
    const inner = g.op('Mul', [geluC, g.op('Add', [f, g.op('Mul', [geluK, g.op('Mul', [f, g.op('Mul', [f, f])])])])]);
    const act = g.op('Mul', [g.op('Mul', [half, f]), g.op('Add', [one, g.op('Tanh', [inner])])]);
    const mlpOut = g.op('Add', [g.op('MatMul', [act, w('mlp.c_proj.weight', [4 * d, d], b.mlpProjWeight.data)]), w('mlp.c_proj.bias', [d], b.mlpProjBias.data)]);
    h = g.op('Add', [h, mlpOut]);
  });
  g.op('LayerNormalization', [h, g.weight('ln_f.weight', [d], model.lnF.weight.data), g.weight('ln_f.bias', [d], model.lnF.bias.data)], { axis: -1, epsilon: eps }, 'hidden');
  return g.build([{ name: 'h', dims: [n, d] }], [{ name: 'hidden', dims: [n, d] }]);
}

function gpt2BodyCase(n: number): ComputeCase {
  const d = GPT2_SMALL.nEmbd;
  return {
    name: `gpt2-${n}`,
    title: `GPT-2 small body (12 blocks + ln_f) n=${n}`,
    runs: 3,
    tolerance: 2e-3,
    nativeTarget: 2,
    macs: 12 * (12 * n * d * d + 2 * n * n * d),
    setup: () => {
      const model = randomGpt2Small();
      const ids = benchIds(n);
      const h = new Float32Array(n * d);
      for (let i = 0; i < n; i++) for (let j = 0; j < d; j++) h[i * d + j] = model.wte.data[ids[i] * d + j] + model.wpe.data[i * d + j];
      return {
        engine: () => [gpt2Forward(model, ids, { lmHead: false }).lastHidden.data],
        graph: () => gpt2BodyGraph(model, n),
        feeds: { h: { data: h, dims: [n, d] } },
        outputs: ['hidden'],
      };
    },
  };
}

export const COMPUTE_CASES: readonly ComputeCase[] = [gemmCase(512, 768, 768), mhaCase(128), mhaCase(512), mhaCase(2048), gpt2BodyCase(512), gpt2BodyCase(1024)];

/** The whole inspection of GPT-2 small at n tokens: every layer's attention and metrics, the LM head (top next, perplexity). */
export function inspectGpt2(model: Gpt2Weights, n: number): { perplexity: number | null; layers: number } {
  const inspection = inspect(benchIds(n), { kind: 'gpt2', weights: model }, { topK: 10 });
  return { perplexity: inspection.perplexity, layers: inspection.metrics.length };
}
