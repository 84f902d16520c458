/**
 * Reading a Hugging Face config.json: keys as HF's config classes write them, HF's defaults where a key
 * is absent (or null, which HF's classes treat as "use the default"), and refusals that name the key of
 * anything the engine would otherwise compute differently.
 */
import type { Activation, RopeConfig } from '../engine/types';
import { ModelFileError } from './errors';

export class ConfigReader {
  private constructor(
    private readonly json: Readonly<Record<string, unknown>>,
    /** The file, for every message. */
    readonly source: string,
    /** The outer key of a nested object (rope_scaling), for its messages. */
    private readonly within?: string,
  ) {}

  static from(json: unknown, source = 'config.json'): ConfigReader {
    if (typeof json !== 'object' || json === null || Array.isArray(json)) {
      throw new ModelFileError(`must be a JSON object, got ${json === null ? 'null' : Array.isArray(json) ? 'an array' : typeof json}`, { filePath: source });
    }
    return new ConfigReader(json as Record<string, unknown>, source);
  }

  fail(detail: string): never {
    throw new ModelFileError(this.within === undefined ? detail : `in "${this.within}": ${detail}`, { filePath: this.source });
  }

  /** The raw value, undefined when absent or null. */
  get(key: string): unknown {
    const value = this.json[key];
    return value === null ? undefined : value;
  }

  has(key: string): boolean {
    return this.get(key) !== undefined;
  }

  /** True when the key is written as null: for a few keys (sliding_window) that means "off", not "the default". */
  isNull(key: string): boolean {
    return this.json[key] === null;
  }

  /** A positive integer; without a fallback the key is required. */
  positiveInt(key: string, fallback?: number): number {
    return this.integer(key, fallback, 1, 'a positive integer');
  }

  nonNegativeInt(key: string, fallback: number): number {
    return this.integer(key, fallback, 0, 'a non-negative integer');
  }

  private integer(key: string, fallback: number | undefined, min: number, what: string): number {
    const value = this.get(key);
    if (value === undefined) return fallback ?? this.fail(`"${key}" is missing`);
    if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < min) this.fail(`"${key}" must be ${what}, got ${JSON.stringify(value)}`);
    return value as number;
  }

  positiveNumber(key: string, fallback?: number): number {
    const value = this.get(key);
    if (value === undefined) return fallback ?? this.fail(`"${key}" is missing`);
    if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) this.fail(`"${key}" must be a positive number, got ${JSON.stringify(value)}`);
    return value as number;
  }

  bool(key: string, fallback: boolean): boolean {
    const value = this.get(key);
    if (value === undefined) return fallback;
    if (typeof value !== 'boolean') this.fail(`"${key}" must be true or false, got ${JSON.stringify(value)}`);
    return value as boolean;
  }

  string(key: string, fallback: string): string {
    const value = this.get(key);
    if (value === undefined) return fallback;
    if (typeof value !== 'string') this.fail(`"${key}" must be a string, got ${JSON.stringify(value)}`);
    return value as string;
  }

  /** A nested object (rope_scaling, rope_parameters) as its own reader, or undefined when absent. */
  object(key: string): ConfigReader | undefined {
    const value = this.get(key);
    if (value === undefined) return undefined;
    if (typeof value !== 'object' || Array.isArray(value)) this.fail(`"${key}" must be an object, got ${JSON.stringify(value)}`);
    return new ConfigReader(value as Record<string, unknown>, this.source, key);
  }
}

/** HF activation names (transformers' ACT2FN) and the engine's function that computes each exactly. */
const ACTIVATIONS: Readonly<Record<string, Activation>> = {
  gelu: 'geluErf',
  gelu_new: 'geluTanh',
  gelu_pytorch_tanh: 'geluTanh',
  gelu_fast: 'geluTanh',
  silu: 'silu',
  swish: 'silu',
};

export function readActivation(config: ConfigReader, key: string, fallback: string): Activation {
  const name = config.string(key, fallback);
  const activation = ACTIVATIONS[name];
  if (activation === undefined || !Object.hasOwn(ACTIVATIONS, name)) {
    config.fail(`"${key}" ${JSON.stringify(name)} is not supported; supported activations are ${Object.keys(ACTIVATIONS).join(', ')}`);
  }
  return activation;
}

const ROPE_TYPES = ['default', 'linear', 'llama3'];

/**
 * The rotary embedding of a config: theta from rope_theta (or the family's own key), scaling from
 * rope_scaling, or all of it from the newer rope_parameters; the rotated dims are
 * int(headDim · partial factor) as HF computes them. Scalings other than linear and llama3 (dynamic,
 * yarn, longrope, …) are refused by name, never approximated.
 */
export function readRope(config: ConfigReader, headDim: number, keys: { theta: readonly string[]; partial: readonly string[]; defaultTheta: number; defaultPartial: number }): RopeConfig {
  const parameters = config.object('rope_parameters');
  const scalingReader = parameters ?? config.object('rope_scaling');
  const firstKey = (candidates: readonly string[]) => candidates.find((k) => config.has(k));
  const thetaKey = firstKey(keys.theta);
  const theta = parameters?.positiveNumber('rope_theta', keys.defaultTheta) ?? (thetaKey === undefined ? keys.defaultTheta : config.positiveNumber(thetaKey));
  const partialKey = firstKey(keys.partial);
  const partial = parameters?.has('partial_rotary_factor') ? parameters.positiveNumber('partial_rotary_factor') : partialKey === undefined ? keys.defaultPartial : config.positiveNumber(partialKey);
  if (partial > 1) config.fail(`"${partialKey ?? 'partial_rotary_factor'}" ${partial} must be at most 1`);
  const rotaryDims = Math.floor(headDim * partial);
  if (rotaryDims < 2 || rotaryDims % 2 !== 0) config.fail(`rotary embedding over ${rotaryDims} of each head's ${headDim} dims is not supported; it needs an even number of dims`);

  const type = scalingReader === undefined ? 'default' : scalingReader.string('rope_type', scalingReader.string('type', 'default'));
  if (!ROPE_TYPES.includes(type)) {
    config.fail(`rope type ${JSON.stringify(type)} (in "${parameters ? 'rope_parameters' : 'rope_scaling'}") is not supported; supported rope types are ${ROPE_TYPES.join(', ')}`);
  }
  if (type === 'linear') return { theta, rotaryDims, scaling: { type, factor: scalingReader!.positiveNumber('factor') } };
  if (type === 'llama3') {
    const s = scalingReader!;
    const scaling = {
      type,
      factor: s.positiveNumber('factor'),
      lowFreqFactor: s.positiveNumber('low_freq_factor'),
      highFreqFactor: s.positiveNumber('high_freq_factor'),
      originalMaxPositions: s.positiveInt('original_max_position_embeddings'),
    } as const;
    if (scaling.highFreqFactor <= scaling.lowFreqFactor) s.fail(`"high_freq_factor" ${scaling.highFreqFactor} must exceed "low_freq_factor" ${scaling.lowFreqFactor}`);
    return { theta, rotaryDims, scaling };
  }
  return { theta, rotaryDims, scaling: { type: 'default' } };
}

/** Settings no supported family computes, whatever the model_type: refused by the key that asks for them. */
export function refuseUnsupportedFeatures(config: ConfigReader): void {
  if (config.has('quantization_config')) config.fail('"quantization_config" is not supported: the engine reads float weights (F32, F16, BF16) only');
  if (config.get('alibi') === true) config.fail('"alibi": true is not supported: the engine implements learned and rotary positions only');
}
