import { UserError } from '../errors';
import { tensor, type Tensor } from './tensor';
import type { MhaWeights } from './types';

/**
 * SplitMix32 (a 32-bit variant of Steele, Lea & Flood's SplitMix64, finaliser from Mulberry32).
 * Only used to derive seeds, so its modest quality does not matter.
 */
export function splitMix32(state: number): () => number {
  let s = state >>> 0;
  return () => {
    s = (s + 0x9e3779b9) >>> 0;
    let z = s;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
    return (z ^ (z >>> 16)) >>> 0;
  };
}

/**
 * xoshiro128** 1.1 (Blackman & Vigna, 2018), seeded through SplitMix32. Deterministic across
 * platforms: integer arithmetic only, so every machine draws the same numbers for the same seed.
 */
export class Xoshiro128 {
  private s0: number;
  private s1: number;
  private s2: number;
  private s3: number;
  private spareNormal: number | undefined;

  constructor(seed: number) {
    const next = splitMix32(seed);
    this.s0 = next();
    this.s1 = next();
    this.s2 = next();
    this.s3 = next();
    if ((this.s0 | this.s1 | this.s2 | this.s3) === 0) this.s0 = 1; // the all-zero state is a fixed point
  }

  nextUint32(): number {
    const result = Math.imul(rotl(Math.imul(this.s1, 5), 7), 9) >>> 0;
    const t = this.s1 << 9;
    this.s2 ^= this.s0;
    this.s3 ^= this.s1;
    this.s1 ^= this.s2;
    this.s0 ^= this.s3;
    this.s2 ^= t;
    this.s3 = rotl(this.s3, 11);
    return result;
  }

  /** Uniform in [0, 1) with 32 bits of resolution. */
  nextFloat(): number {
    return this.nextUint32() / 4294967296;
  }

  /** Uniform in [-bound, bound). */
  uniform(bound: number): number {
    return (this.nextFloat() * 2 - 1) * bound;
  }

  /** Standard normal (Box–Muller; the second value is kept for the next call). */
  normal(): number {
    if (this.spareNormal !== undefined) {
      const v = this.spareNormal;
      this.spareNormal = undefined;
      return v;
    }
    const u1 = 1 - this.nextFloat(); // (0, 1]: log(0) would be -Infinity
    const u2 = this.nextFloat();
    const radius = Math.sqrt(-2 * Math.log(u1));
    this.spareNormal = radius * Math.sin(2 * Math.PI * u2);
    return radius * Math.cos(2 * Math.PI * u2);
  }
}

function rotl(x: number, k: number): number {
  return (x << k) | (x >>> (32 - k));
}

/** Mixes a seed with stream labels (e.g. a token id), so each purpose gets its own reproducible stream. */
export function deriveSeed(seed: number, ...labels: number[]): number {
  let h = (seed >>> 0) ^ 0x6a09e667;
  for (const label of labels) {
    h = Math.imul(h ^ (label >>> 0), 0x9e3779b1);
    h ^= h >>> 15;
    h = Math.imul(h, 0x85ebca77);
    h ^= h >>> 13;
  }
  return h >>> 0;
}

export interface RandomModelConfig {
  readonly dModel: number;
  readonly heads: number;
  readonly seed: number;
  readonly causal: boolean;
}

export const DEFAULT_RANDOM_MODEL: RandomModelConfig = { dModel: 64, heads: 4, seed: 42, causal: true };

const STREAM_EMBEDDING = 1;
const STREAM_WEIGHTS = 2;

export function validateRandomConfig(config: RandomModelConfig): void {
  const op = 'randomModel';
  if (!Number.isInteger(config.dModel) || config.dModel < 1 || config.dModel > 4096) {
    throw new UserError(`${op}: d_model must be an integer from 1 to 4096, got ${config.dModel}`);
  }
  if (!Number.isInteger(config.heads) || config.heads < 1) throw new UserError(`${op}: heads must be a positive integer, got ${config.heads}`);
  if (config.dModel % config.heads !== 0) throw new UserError(`${op}: d_model ${config.dModel} must be divisible by heads ${config.heads}`);
  if (!Number.isInteger(config.seed) || config.seed < 0 || config.seed > 0xffffffff) {
    throw new UserError(`${op}: seed must be an integer from 0 to 4294967295, got ${config.seed}`);
  }
}

/**
 * The token's embedding: d standard-normal values drawn from a stream keyed by (seed, token id), so
 * the same token always gets the same vector, wherever it appears.
 */
export function tokenEmbedding(tokenId: number, dModel: number, seed: number): Float32Array {
  const rng = new Xoshiro128(deriveSeed(seed, STREAM_EMBEDDING, tokenId));
  const out = new Float32Array(dModel);
  for (let j = 0; j < dModel; j++) out[j] = rng.normal();
  return out;
}

/** Sinusoidal position encoding (Vaswani et al. 2017): PE[pos, 2i] = sin(pos / 10000^(2i/d)), PE[pos, 2i+1] = cos(…). */
export function sinusoidalPositions(n: number, dModel: number): Tensor {
  const out = new Float32Array(n * dModel);
  // The divisor depends only on the column: compute it once, not n times.
  const divisors = Float64Array.from({ length: dModel }, (_, j) => Math.pow(10000, (2 * Math.floor(j / 2)) / dModel));
  for (let pos = 0; pos < n; pos++) {
    for (let j = 0; j < dModel; j++) {
      const angle = pos / divisors[j];
      out[pos * dModel + j] = j % 2 === 0 ? Math.sin(angle) : Math.cos(angle);
    }
  }
  return { shape: [n, dModel], data: out }; // [n, d]
}

/** X = token embedding + sinusoidal position encoding, one row per token. */
export function randomModelInput(tokenIds: readonly number[], config: RandomModelConfig, checkpoint?: () => void): Tensor {
  validateRandomConfig(config);
  const n = tokenIds.length;
  const d = config.dModel;
  const x = sinusoidalPositions(n, d); // [n, d]
  for (let i = 0; i < n; i++) {
    if ((i & 63) === 63) checkpoint?.();
    const emb = tokenEmbedding(tokenIds[i], d, config.seed);
    for (let j = 0; j < d; j++) x.data[i * d + j] += emb[j];
  }
  return x;
}

/**
 * The default model's attention weights, initialised as torch.nn.Linear does: weights and biases
 * uniform in ±1/√fan_in. Drawn in a fixed order (W_query, b_query, W_key, b_key, W_value, b_value,
 * out_proj, out_proj bias), each in [d_in, d_out] row-major order.
 */
export function randomMhaWeights(config: RandomModelConfig): MhaWeights {
  validateRandomConfig(config);
  const d = config.dModel;
  const rng = new Xoshiro128(deriveSeed(config.seed, STREAM_WEIGHTS));
  const bound = 1 / Math.sqrt(d);
  const draw = (size: number): Float32Array => {
    const out = new Float32Array(size);
    for (let i = 0; i < size; i++) out[i] = rng.uniform(bound);
    return out;
  };
  const wQuery = tensor([d, d], draw(d * d));
  const bQuery = tensor([d], draw(d));
  const wKey = tensor([d, d], draw(d * d));
  const bKey = tensor([d], draw(d));
  const wValue = tensor([d, d], draw(d * d));
  const bValue = tensor([d], draw(d));
  const outProj = tensor([d, d], draw(d * d));
  const outProjBias = tensor([d], draw(d));
  return { dModel: d, heads: config.heads, wQuery, wKey, wValue, outProj, bQuery, bKey, bValue, outProjBias };
}
