/**
 * A second, deliberately plain implementation of the decoder families (llama, mistral, qwen2, qwen3,
 * gpt_neox) for the tests: float64, one token, one head and one dimension at a time, reading the
 * checkpoint by its Hugging Face tensor names and config keys. Nothing here comes from src/engine: the
 * grouped KV index, the rotation of each pair by its angle, the rope frequencies (llama3 and linear
 * scaling written out), the mask predicate and erf are all spelled out again.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseSafetensors } from '../../../src/model';

type Vec = number[];
type Rows = Vec[]; // [n][features]

export interface NaiveResult {
  /** [layer][head][query][key]; masked weights are 0. */
  readonly attentions: number[][][][];
  /** [layer][head][query][key]; masked scores are null. */
  readonly scores: (number | null)[][][][];
  readonly lastHidden: Rows;
}

/** The tensors of a case folder, by their names in the files (every shard listed in `files`). */
export function readCheckpoint(dir: string, files: readonly string[], names: readonly string[]): Map<string, Float32Array> {
  const out = new Map<string, Float32Array>();
  for (const file of files) {
    for (const [name, t] of parseSafetensors(readFileSync(join(dir, file)), { include: (n) => names.includes(n), copy: true })) out.set(name, t.data);
  }
  return out;
}

/** y[i][o] = Σ_c x[i][c] · W[o][c] + b[o], with W stored as nn.Linear's [out, in]. */
function linear(x: Rows, w: Float32Array, outFeatures: number, b?: Float32Array): Rows {
  const inFeatures = x[0].length;
  return x.map((row) => {
    const y: Vec = [];
    for (let o = 0; o < outFeatures; o++) {
      let s = b ? b[o] : 0;
      for (let c = 0; c < inFeatures; c++) s += row[c] * w[o * inFeatures + c];
      y.push(s);
    }
    return y;
  });
}

function rmsNorm(v: Vec, w: Float32Array, eps: number): Vec {
  const meanSquare = v.reduce((s, x) => s + x * x, 0) / v.length;
  return v.map((x, i) => (x / Math.sqrt(meanSquare + eps)) * w[i]);
}

function layerNorm(v: Vec, w: Float32Array, b: Float32Array, eps: number): Vec {
  const mean = v.reduce((s, x) => s + x, 0) / v.length;
  const variance = v.reduce((s, x) => s + (x - mean) ** 2, 0) / v.length;
  return v.map((x, i) => ((x - mean) / Math.sqrt(variance + eps)) * w[i] + b[i]);
}

/** erf by its Maclaurin series (|x| < 3) or its asymptotic continued fraction: not the engine's fit. */
function erf(x: number): number {
  const z = Math.abs(x);
  if (z < 3) {
    let term = z, sum = z;
    for (let k = 1; k < 100; k++) {
      term *= (-z * z) / k;
      sum += term / (2 * k + 1);
    }
    return Math.sign(x) * (2 / Math.sqrt(Math.PI)) * sum;
  }
  let f = 0;
  for (let k = 60; k >= 1; k--) f = (k / 2) / (z + f);
  return Math.sign(x) * (1 - Math.exp(-z * z) / Math.sqrt(Math.PI) / (z + f));
}

const silu = (x: number) => x / (1 + Math.exp(-x));
const geluExact = (x: number) => 0.5 * x * (1 + erf(x / Math.SQRT2));

/** inv_freq[k] = base^(−2k/dims), then linear (÷ factor) or llama3 (three wavelength bands) scaling. */
export function naiveInverseFrequencies(base: number, dims: number, scaling: Record<string, number | string> | null | undefined): number[] {
  const freqs: number[] = [];
  for (let k = 0; k < dims / 2; k++) freqs.push(1 / Math.pow(base, (2 * k) / dims));
  const type = scaling ? (scaling.rope_type ?? scaling.type) : 'default';
  if (type === 'linear') return freqs.map((f) => f / (scaling!.factor as number));
  if (type === 'llama3') {
    const factor = scaling!.factor as number, low = scaling!.low_freq_factor as number, high = scaling!.high_freq_factor as number;
    const original = scaling!.original_max_position_embeddings as number;
    return freqs.map((f) => {
      const wavelength = (2 * Math.PI) / f;
      if (wavelength < original / high) return f;
      if (wavelength > original / low) return f / factor;
      const s = (original / wavelength - low) / (high - low);
      return (1 - s) * (f / factor) + s * f;
    });
  }
  return freqs;
}

/** Turns dims (k, k + dims/2) of one head's vector by position · inv_freq[k]; dims ≥ `dims` stay. */
function rotate(v: Vec, position: number, invFreq: number[], dims: number): Vec {
  const out = [...v];
  const half = dims / 2;
  for (let k = 0; k < half; k++) {
    const angle = position * invFreq[k];
    out[k] = v[k] * Math.cos(angle) - v[k + half] * Math.sin(angle);
    out[k + half] = v[k + half] * Math.cos(angle) + v[k] * Math.sin(angle);
  }
  return out;
}

/** Runs a llama-like or gpt_neox checkpoint on `ids`. */
export function naiveDecoder(config: Record<string, unknown>, tensors: Map<string, Float32Array>, ids: readonly number[]): NaiveResult {
  const get = (name: string): Float32Array => {
    const t = tensors.get(name);
    if (!t) throw new Error(`naiveDecoder: no tensor ${name}`);
    return t;
  };
  const type = config.model_type as string;
  const neox = type === 'gpt_neox';
  const C = config.hidden_size as number;
  const H = config.num_attention_heads as number;
  const KV = neox ? H : ((config.num_key_value_heads as number | undefined) ?? H);
  const hd = neox ? C / H : ((config.head_dim as number | undefined) ?? C / H);
  const I = config.intermediate_size as number;
  const layers = config.num_hidden_layers as number;
  const eps = (neox ? config.layer_norm_eps : config.rms_norm_eps) as number;
  const rotaryDims = neox ? Math.floor(hd * (config.rotary_pct as number)) : hd;
  const invFreq = naiveInverseFrequencies((neox ? config.rotary_emb_base : config.rope_theta) as number, rotaryDims, config.rope_scaling as Record<string, number> | null);
  const window = type === 'mistral' ? (config.sliding_window as number | null) : type === 'qwen2' || type === 'qwen3' ? (config.use_sliding_window ? (config.sliding_window as number) : null) : null;
  const windowFrom = type === 'mistral' ? 0 : ((config.max_window_layers as number | undefined) ?? 0);
  const base = neox ? 'gpt_neox.' : 'model.';
  const n = ids.length;

  const embed = get(`${base}${neox ? 'embed_in' : 'embed_tokens'}.weight`);
  let x: Rows = ids.map((id) => Array.from(embed.subarray(id * C, (id + 1) * C)));
  const result: NaiveResult = { attentions: [], scores: [], lastHidden: [] };

  for (let l = 0; l < layers; l++) {
    const at = `${base}layers.${l}.`;
    const norm1 = (row: Vec) => (neox ? layerNorm(row, get(`${at}input_layernorm.weight`), get(`${at}input_layernorm.bias`), eps) : rmsNorm(row, get(`${at}input_layernorm.weight`), eps));
    const h1 = x.map(norm1);
    // q[i][h] and k[i][g], v[i][g]: one vector per token and head (g counts KV heads).
    let q: Vec[][], k: Vec[][], v: Vec[][];
    if (neox) {
      const qkv = linear(h1, get(`${at}attention.query_key_value.weight`), 3 * C, get(`${at}attention.query_key_value.bias`));
      // Rows of the fused weight: head h's query, then its key, then its value (the [heads, 3, hd] view).
      const part = (p: number) => qkv.map((row) => Array.from({ length: H }, (_, h) => row.slice((h * 3 + p) * hd, (h * 3 + p + 1) * hd)));
      [q, k, v] = [part(0), part(1), part(2)];
    } else {
      const bias = (name: string) => tensors.get(`${at}self_attn.${name}.bias`);
      const split = (rows: Rows, heads: number) => rows.map((row) => Array.from({ length: heads }, (_, h) => row.slice(h * hd, (h + 1) * hd)));
      q = split(linear(h1, get(`${at}self_attn.q_proj.weight`), H * hd, bias('q_proj')), H);
      k = split(linear(h1, get(`${at}self_attn.k_proj.weight`), KV * hd, bias('k_proj')), KV);
      v = split(linear(h1, get(`${at}self_attn.v_proj.weight`), KV * hd, bias('v_proj')), KV);
      if (type === 'qwen3') {
        q = q.map((heads) => heads.map((vec) => rmsNorm(vec, get(`${at}self_attn.q_norm.weight`), eps)));
        k = k.map((heads) => heads.map((vec) => rmsNorm(vec, get(`${at}self_attn.k_norm.weight`), eps)));
      }
    }
    q = q.map((heads, i) => heads.map((vec) => rotate(vec, i, invFreq, rotaryDims)));
    k = k.map((heads, i) => heads.map((vec) => rotate(vec, i, invFreq, rotaryDims)));

    const layerWindow = window !== null && l >= windowFrom ? window : null;
    const visible = (i: number, j: number) => j <= i && (layerWindow === null || j > i - layerWindow);
    const context: Rows = Array.from({ length: n }, () => new Array<number>(H * hd).fill(0));
    const layerScores: (number | null)[][][] = [];
    const layerWeights: number[][][] = [];
    for (let h = 0; h < H; h++) {
      const g = Math.floor(h / (H / KV)); // the KV head query head h reads
      const headScores: (number | null)[][] = [];
      const headWeights: number[][] = [];
      for (let i = 0; i < n; i++) {
        const row: (number | null)[] = [];
        for (let j = 0; j < n; j++) {
          if (!visible(i, j)) {
            row.push(null);
            continue;
          }
          let dot = 0;
          for (let c = 0; c < hd; c++) dot += q[i][h][c] * k[j][g][c];
          row.push(dot / Math.sqrt(hd));
        }
        const max = Math.max(...row.filter((s): s is number => s !== null));
        const exps = row.map((s) => (s === null ? 0 : Math.exp(s - max)));
        const sum = exps.reduce((a, b) => a + b, 0);
        const weights = exps.map((e) => e / sum);
        for (let j = 0; j < n; j++) for (let c = 0; c < hd; c++) context[i][h * hd + c] += weights[j] * v[j][g][c];
        headScores.push(row);
        headWeights.push(weights);
      }
      layerScores.push(headScores);
      layerWeights.push(headWeights);
    }
    result.scores.push(layerScores);
    result.attentions.push(layerWeights);
    const attnOut = neox
      ? linear(context, get(`${at}attention.dense.weight`), C, get(`${at}attention.dense.bias`))
      : linear(context, get(`${at}self_attn.o_proj.weight`), C, tensors.get(`${at}self_attn.o_proj.bias`));

    const mlp = (rows: Rows): Rows => {
      if (neox) {
        const up = linear(rows, get(`${at}mlp.dense_h_to_4h.weight`), I, get(`${at}mlp.dense_h_to_4h.bias`)).map((r) => r.map(geluExact));
        return linear(up, get(`${at}mlp.dense_4h_to_h.weight`), C, get(`${at}mlp.dense_4h_to_h.bias`));
      }
      const gate = linear(rows, get(`${at}mlp.gate_proj.weight`), I);
      const up = linear(rows, get(`${at}mlp.up_proj.weight`), I);
      return linear(gate.map((r, i) => r.map((g, c) => silu(g) * up[i][c])), get(`${at}mlp.down_proj.weight`), C);
    };
    const norm2 = (rows: Rows) =>
      rows.map((row) => (neox ? layerNorm(row, get(`${at}post_attention_layernorm.weight`), get(`${at}post_attention_layernorm.bias`), eps) : rmsNorm(row, get(`${at}post_attention_layernorm.weight`), eps)));
    const add = (a: Rows, b: Rows) => a.map((row, i) => row.map((val, c) => val + b[i][c]));
    if (neox && config.use_parallel_residual !== false) {
      x = add(add(x, attnOut), mlp(norm2(x)));
    } else {
      const h = add(x, attnOut);
      x = add(h, mlp(norm2(h)));
    }
  }
  const finalNorm = neox ? 'final_layer_norm' : 'norm';
  result.lastHidden.push(...x.map((row) => (neox ? layerNorm(row, get(`${base}${finalNorm}.weight`), get(`${base}${finalNorm}.bias`), eps) : rmsNorm(row, get(`${base}${finalNorm}.weight`), eps))));
  return result;
}
