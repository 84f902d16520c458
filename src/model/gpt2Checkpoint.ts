/**
 * GPT-2 checkpoints in Hugging Face layout: config.json + model.safetensors (or a sharded
 * model.safetensors.index.json). Works for every GPT-2 size; all dimensions come from the config.
 *
 * Weight names (optionally prefixed "transformer.", as GPT2LMHeadModel saves them):
 *   wte.weight [vocab, d], wpe.weight [n_positions, d], ln_f.{weight,bias} [d], and for each layer i
 *   h.i.ln_1.{weight,bias} [d], h.i.attn.c_attn.weight [d, 3d] + bias [3d], h.i.attn.c_proj.weight [d, d] + bias [d],
 *   h.i.ln_2.{weight,bias} [d], h.i.mlp.c_fc.weight [d, 4d] + bias [4d], h.i.mlp.c_proj.weight [4d, d] + bias [d].
 * Conv1D weights are already [in, out], so they load without transposing. Buffers such as h.i.attn.bias
 * (the causal mask) and h.i.attn.masked_bias, and the tied lm_head.weight, are ignored.
 */
import { stat } from 'node:fs/promises';
import { basename, join } from 'node:path';
import type { Tensor } from '../engine/tensor';
import type { Gpt2Block, Gpt2Config, Gpt2Weights, LayerNormWeights } from '../engine/types';
import { ModelFileError } from './errors';
import { readJsonFile, readSafetensorsFile } from './safetensorsFile';
import { describeKeys, expectTensorShape, type TensorMap } from './stateDict';

const DEFAULT_LAYER_NORM_EPSILON = 1e-5;
const PREFIX = 'transformer.';
/** Activations computed exactly as the engine's tanh-approximated GELU. */
const TANH_GELU_NAMES = ['gelu_new', 'gelu_pytorch_tanh', 'gelu_fast'];

/**
 * Reads the hyper-parameters from a parsed Hugging Face GPT-2 config.json. `source` names the file in errors.
 * Also refuses settings the engine would silently compute differently (other activations, n_inner ≠ 4·n_embd,
 * non-default attention scaling).
 */
export function parseGpt2Config(json: unknown, source = 'config.json'): Gpt2Config {
  const fail = (detail: string): never => {
    throw new ModelFileError(detail, { filePath: source });
  };
  if (typeof json !== 'object' || json === null || Array.isArray(json)) {
    return fail(`must be a JSON object, got ${json === null ? 'null' : Array.isArray(json) ? 'an array' : typeof json}`);
  }
  const config = json as Record<string, unknown>;

  if (config.model_type !== undefined && config.model_type !== 'gpt2') {
    fail(`"model_type" is ${JSON.stringify(config.model_type)}; only GPT-2 checkpoints ("gpt2") are supported`);
  }
  const positiveInteger = (key: string, value: unknown): number => {
    if (value === undefined) return fail(`"${key}" is missing`);
    if (typeof value !== 'number' || !Number.isSafeInteger(value) || value <= 0) {
      return fail(`"${key}" must be a positive integer, got ${JSON.stringify(value)}`);
    }
    return value;
  };

  const nLayer = positiveInteger('n_layer', config.n_layer);
  const nHead = positiveInteger('n_head', config.n_head);
  const nEmbd = positiveInteger('n_embd', config.n_embd);
  const vocabSize = positiveInteger('vocab_size', config.vocab_size);
  // Old configs call the context length n_ctx.
  const nPositions =
    config.n_positions === undefined && config.n_ctx !== undefined
      ? positiveInteger('n_ctx', config.n_ctx)
      : positiveInteger('n_positions', config.n_positions);

  let layerNormEpsilon = DEFAULT_LAYER_NORM_EPSILON;
  if (config.layer_norm_epsilon !== undefined) {
    const eps = config.layer_norm_epsilon;
    if (typeof eps !== 'number' || !Number.isFinite(eps) || eps <= 0) {
      fail(`"layer_norm_epsilon" must be a positive number, got ${JSON.stringify(eps)}`);
    }
    layerNormEpsilon = eps as number;
  }

  if (nEmbd % nHead !== 0) fail(`"n_embd" ${nEmbd} must be divisible by "n_head" ${nHead}`);
  if (config.n_inner !== undefined && config.n_inner !== null && config.n_inner !== 4 * nEmbd) {
    fail(`"n_inner" ${JSON.stringify(config.n_inner)} is not supported; the MLP width must be 4·n_embd = ${4 * nEmbd}`);
  }
  const activation = config.activation_function;
  if (activation !== undefined && !(typeof activation === 'string' && TANH_GELU_NAMES.includes(activation))) {
    fail(`"activation_function" ${JSON.stringify(activation)} is not supported; expected one of ${TANH_GELU_NAMES.join(', ')}`);
  }
  if (config.scale_attn_weights === false) fail('"scale_attn_weights": false is not supported (scores are always divided by √d_head)');
  if (config.scale_attn_by_inverse_layer_idx === true) fail('"scale_attn_by_inverse_layer_idx": true is not supported');

  return { nLayer, nHead, nEmbd, nPositions, vocabSize, layerNormEpsilon };
}

/** The canonical (unprefixed) names of every tensor a GPT-2 of this config needs, with their shapes. */
export function gpt2TensorShapes(config: Gpt2Config): Map<string, number[]> {
  const d = config.nEmbd;
  const shapes = new Map<string, number[]>([
    ['wte.weight', [config.vocabSize, d]],
    ['wpe.weight', [config.nPositions, d]],
  ]);
  for (let i = 0; i < config.nLayer; i++) {
    const layer = `h.${i}.`;
    shapes.set(`${layer}ln_1.weight`, [d]);
    shapes.set(`${layer}ln_1.bias`, [d]);
    shapes.set(`${layer}attn.c_attn.weight`, [d, 3 * d]);
    shapes.set(`${layer}attn.c_attn.bias`, [3 * d]);
    shapes.set(`${layer}attn.c_proj.weight`, [d, d]);
    shapes.set(`${layer}attn.c_proj.bias`, [d]);
    shapes.set(`${layer}ln_2.weight`, [d]);
    shapes.set(`${layer}ln_2.bias`, [d]);
    shapes.set(`${layer}mlp.c_fc.weight`, [d, 4 * d]);
    shapes.set(`${layer}mlp.c_fc.bias`, [4 * d]);
    shapes.set(`${layer}mlp.c_proj.weight`, [4 * d, d]);
    shapes.set(`${layer}mlp.c_proj.bias`, [d]);
  }
  shapes.set('ln_f.weight', [d]);
  shapes.set('ln_f.bias', [d]);
  return shapes;
}

const LAYER_KEY = /^(?:transformer\.)?h\.(\d+)\./;

/** True for tensors of blocks the config does not have: a sign that config and weights do not belong together. */
function isBeyondLayers(config: Gpt2Config): (name: string) => boolean {
  return (name) => {
    const match = LAYER_KEY.exec(name);
    return match !== null && Number(match[1]) >= config.nLayer;
  };
}

/** True for the tensors a GPT-2 of this config uses, with or without the "transformer." prefix. */
export function isGpt2TensorName(config: Gpt2Config): (name: string) => boolean {
  const names = gpt2TensorShapes(config);
  return (name) => names.has(name.startsWith(PREFIX) ? name.slice(PREFIX.length) : name);
}

export interface Gpt2FromTensorsOptions {
  /** Names present in the source but not loaded, listed in "missing tensor" errors so the real keys are visible. */
  readonly unloadedKeys?: readonly string[];
}

/**
 * Assembles GPT-2 weights from a name → tensor map, checking every shape against the config.
 * Tensors are used as they are (no copies). Extra tensors are ignored, except blocks beyond n_layer,
 * which mean the config does not belong to these weights.
 */
export function gpt2WeightsFromTensors(config: Gpt2Config, tensors: TensorMap, options: Gpt2FromTensorsOptions = {}): Gpt2Weights {
  const shapes = gpt2TensorShapes(config);
  const take = (name: string): Tensor => {
    const t = tensors.get(name) ?? tensors.get(PREFIX + name);
    if (t === undefined) {
      throw new ModelFileError(`missing tensor "${name}" (also looked for "${PREFIX + name}"); ${describeKeys(tensors, options.unloadedKeys)}`, { tensorName: name });
    }
    const expected = shapes.get(name) as number[];
    const foundAs = tensors.has(name) ? name : PREFIX + name;
    expectTensorShape(foundAs, t, expected, ` for the config (n_embd ${config.nEmbd}, n_positions ${config.nPositions}, vocab_size ${config.vocabSize})`);
    return t;
  };
  const layerNorm = (prefix: string): LayerNormWeights => ({ weight: take(`${prefix}.weight`), bias: take(`${prefix}.bias`) });

  const extraLayer = [...tensors.keys()].find(isBeyondLayers(config));
  if (extraLayer !== undefined) {
    const layer = LAYER_KEY.exec(extraLayer)?.[1];
    throw new ModelFileError(
      `the checkpoint has layer h.${layer} but config n_layer is ${config.nLayer}; config.json does not match the weights`,
      { tensorName: extraLayer },
    );
  }

  const blocks: Gpt2Block[] = [];
  for (let i = 0; i < config.nLayer; i++) {
    const layer = `h.${i}`;
    blocks.push({
      ln1: layerNorm(`${layer}.ln_1`),
      cAttnWeight: take(`${layer}.attn.c_attn.weight`),
      cAttnBias: take(`${layer}.attn.c_attn.bias`),
      cProjWeight: take(`${layer}.attn.c_proj.weight`),
      cProjBias: take(`${layer}.attn.c_proj.bias`),
      ln2: layerNorm(`${layer}.ln_2`),
      fcWeight: take(`${layer}.mlp.c_fc.weight`),
      fcBias: take(`${layer}.mlp.c_fc.bias`),
      mlpProjWeight: take(`${layer}.mlp.c_proj.weight`),
      mlpProjBias: take(`${layer}.mlp.c_proj.bias`),
    });
  }
  return { config, wte: take('wte.weight'), wpe: take('wpe.weight'), blocks, lnF: layerNorm('ln_f') };
}

const EXPECTED_LAYOUT =
  'expected a Hugging Face GPT-2 folder containing config.json and model.safetensors ' +
  '(or model.safetensors.index.json with its shards), e.g. from `huggingface-cli download gpt2 config.json model.safetensors --local-dir <folder>`';

/**
 * Loads a GPT-2 checkpoint folder. Only the tensors GPT-2 needs are read (the causal-mask buffers and a
 * stored lm_head are skipped), each straight into its own buffer, so memory ≈ the weights in float32.
 */
export async function loadGpt2Folder(dir: string): Promise<Gpt2Weights> {
  const info = await stat(dir).catch(() => undefined);
  if (info === undefined) throw new ModelFileError(`folder not found; ${EXPECTED_LAYOUT}`, { filePath: dir });
  if (!info.isDirectory()) throw new ModelFileError(`not a folder; ${EXPECTED_LAYOUT}`, { filePath: dir });

  const configPath = join(dir, 'config.json');
  if (!(await isFile(configPath))) throw new ModelFileError(`config.json is missing; ${EXPECTED_LAYOUT}`, { filePath: dir });
  const config = parseGpt2Config(await readJsonFile(configPath), configPath);
  const needed = isGpt2TensorName(config);
  const beyondLayers = isBeyondLayers(config);
  // Tensors of surplus layers are read too, only so that gpt2WeightsFromTensors can report the mismatch.
  const include = (name: string): boolean => needed(name) || beyondLayers(name);

  const singlePath = join(dir, 'model.safetensors');
  const indexPath = join(dir, 'model.safetensors.index.json');
  let loaded: { tensors: Map<string, Tensor>; skipped: readonly string[] };
  let weightsSource: string;
  if (await isFile(singlePath)) {
    weightsSource = singlePath;
    loaded = await readSafetensorsFile(singlePath, { include });
  } else if (await isFile(indexPath)) {
    weightsSource = indexPath;
    loaded = await readShardedSafetensors(dir, indexPath, include);
  } else {
    const hasPickle = await isFile(join(dir, 'pytorch_model.bin'));
    const hint = hasPickle
      ? ' (found pytorch_model.bin, which cannot be read safely; convert it with `model.save_pretrained(folder, safe_serialization=True)`)'
      : '';
    throw new ModelFileError(`model.safetensors is missing${hint}; ${EXPECTED_LAYOUT}`, { filePath: dir });
  }

  try {
    return gpt2WeightsFromTensors(config, loaded.tensors, { unloadedKeys: loaded.skipped });
  } catch (error) {
    throw error instanceof ModelFileError ? error.inFile(weightsSource) : error;
  }
}

/** Loads the shards listed in a model.safetensors.index.json ({"weight_map": {tensor: shard file}}). */
async function readShardedSafetensors(
  dir: string,
  indexPath: string,
  include: (name: string) => boolean,
): Promise<{ tensors: Map<string, Tensor>; skipped: string[] }> {
  const index = await readJsonFile(indexPath);
  const weightMap = (index as { weight_map?: unknown } | null)?.weight_map;
  if (typeof weightMap !== 'object' || weightMap === null || Array.isArray(weightMap)) {
    throw new ModelFileError('"weight_map" must be an object mapping tensor names to shard files', { filePath: indexPath });
  }
  const shards = new Set<string>();
  const skipped: string[] = [];
  for (const [name, shard] of Object.entries(weightMap)) {
    // Shards must sit next to the index: a path would let a downloaded index point anywhere on disk.
    if (typeof shard !== 'string' || shard === '' || basename(shard) !== shard || shard === '..') {
      throw new ModelFileError(`"weight_map" entry for "${name}" must be a file name in the same folder, got ${JSON.stringify(shard)}`, {
        filePath: indexPath,
      });
    }
    if (include(name)) shards.add(shard);
    else skipped.push(name);
  }
  const tensors = new Map<string, Tensor>();
  for (const shard of shards) {
    const contents = await readSafetensorsFile(join(dir, shard), { include });
    for (const [name, t] of contents.tensors) tensors.set(name, t);
  }
  return { tensors, skipped };
}

async function isFile(path: string): Promise<boolean> {
  const info = await stat(path).catch(() => undefined);
  return info?.isFile() ?? false;
}
