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
import { gpt2AsTransformer, gpt2TransformerConfig } from '../engine/gpt2';
import type { Tensor } from '../engine/tensor';
import type { Gpt2Block, Gpt2Config, Gpt2Weights, LayerNormWeights } from '../engine/types';
import { readCheckpointConfig, readCheckpointTensors } from './checkpointFolder';
import { ModelFileError } from './errors';
import type { CheckpointFamily } from './family';
import { ConfigReader, refuseUnsupportedFeatures } from './hfConfig';
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
  const config = ConfigReader.from(json, source);
  const modelType = config.get('model_type');
  if (modelType !== undefined && modelType !== 'gpt2') {
    config.fail(`"model_type" is ${JSON.stringify(modelType)}; only GPT-2 checkpoints ("gpt2") are supported`);
  }
  const nLayer = config.positiveInt('n_layer');
  const nHead = config.positiveInt('n_head');
  const nEmbd = config.positiveInt('n_embd');
  const vocabSize = config.positiveInt('vocab_size');
  // Old configs call the context length n_ctx.
  const nPositions = !config.has('n_positions') && config.has('n_ctx') ? config.positiveInt('n_ctx') : config.positiveInt('n_positions');
  const layerNormEpsilon = config.positiveNumber('layer_norm_epsilon', DEFAULT_LAYER_NORM_EPSILON);

  if (nEmbd % nHead !== 0) config.fail(`"n_embd" ${nEmbd} must be divisible by "n_head" ${nHead}`);
  const nInner = config.get('n_inner');
  if (nInner !== undefined && nInner !== 4 * nEmbd) {
    config.fail(`"n_inner" ${JSON.stringify(nInner)} is not supported; the MLP width must be 4·n_embd = ${4 * nEmbd}`);
  }
  const activation = config.get('activation_function');
  if (activation !== undefined && !(typeof activation === 'string' && TANH_GELU_NAMES.includes(activation))) {
    config.fail(`"activation_function" ${JSON.stringify(activation)} is not supported; expected one of ${TANH_GELU_NAMES.join(', ')}`);
  }
  if (config.get('scale_attn_weights') === false) config.fail('"scale_attn_weights": false is not supported (scores are always divided by √d_head)');
  if (config.get('scale_attn_by_inverse_layer_idx') === true) config.fail('"scale_attn_by_inverse_layer_idx": true is not supported');
  refuseUnsupportedFeatures(config);

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
  const { json, configPath } = await readCheckpointConfig(dir, EXPECTED_LAYOUT);
  const config = parseGpt2Config(json, configPath);
  const { tensors, skipped, source } = await readCheckpointTensors(dir, gpt2TensorsToRead(config), EXPECTED_LAYOUT);
  try {
    return gpt2WeightsFromTensors(config, tensors, { unloadedKeys: skipped });
  } catch (error) {
    throw error instanceof ModelFileError ? error.inFile(source) : error;
  }
}

/**
 * The tensors a GPT-2 loader reads: those the config needs, and those of surplus layers, only so that
 * gpt2WeightsFromTensors can report the mismatch.
 */
export function gpt2TensorsToRead(config: Gpt2Config): (name: string) => boolean {
  const needed = isGpt2TensorName(config);
  const beyondLayers = isBeyondLayers(config);
  return (name) => needed(name) || beyondLayers(name);
}

/** GPT-2 as one of the checkpoint families loadModelFolder reads: its own config reader, names and checks. */
export function gpt2Family(json: unknown, source: string): CheckpointFamily {
  const config = parseGpt2Config(json, source);
  return {
    config: gpt2TransformerConfig(config),
    include: gpt2TensorsToRead(config),
    assemble: (tensors, skipped) => gpt2AsTransformer(gpt2WeightsFromTensors(config, tensors, { unloadedKeys: skipped })),
  };
}
