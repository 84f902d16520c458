/**
 * What a model family is to the loader: a config already read into the engine's TransformerConfig,
 * which tensors of a checkpoint to read, and how to assemble them into TransformerWeights.
 *
 * Families write one `build(take)` function that asks for each tensor by its Hugging Face name and
 * expected shape. It runs twice: once with a recording `take`, which lists what to read (so buffers,
 * pooler and MLM heads are never read), and once on the tensors read, checking every shape.
 */
import type { Tensor } from '../engine/tensor';
import type { Linear, NormWeights, TransformerConfig, TransformerWeights } from '../engine/types';
import { ModelFileError } from './errors';
import { describeKeys, expectTensorShape, type TensorMap } from './stateDict';

export interface CheckpointFamily {
  readonly config: TransformerConfig;
  /** True for the tensor names to read from the files. */
  include(name: string): boolean;
  /** Weights from the tensors read; `skipped` are the names left unread, listed when a tensor is missing. */
  assemble(tensors: TensorMap, skipped: readonly string[]): TransformerWeights;
}

/**
 * Asks for a tensor by its name inside the base model (found with or without the model prefix) or, when
 * `topLevel`, by its full name (heads outside the base model, such as lm_head.weight).
 */
export type Take = (name: string, shape: readonly number[], topLevel?: boolean) => Tensor;

export interface FamilyLayout {
  readonly config: TransformerConfig;
  /** The base model's prefix in files saved from a *ForCausalLM / *ForMaskedLM class ("model.", "bert."). */
  readonly prefix: string;
  /** Matches a base-model name inside layer i (group 1 is i), to catch weights with more layers than the config. */
  readonly layerKey: RegExp;
  /** The key that says how many layers the config has, for that refusal. */
  readonly layersKey: string;
  /** Everything but the config, which the layout already holds. */
  readonly build: (take: Take) => Omit<TransformerWeights, 'config'>;
}

export function familyFromLayout(layout: FamilyLayout): CheckpointFamily {
  const { config, prefix, layerKey, layersKey, build } = layout;
  const wanted = new Map<string, { shape: readonly number[]; topLevel: boolean }>();
  build((name, shape, topLevel = false) => {
    wanted.set(name, { shape, topLevel });
    return { shape, data: new Float32Array(0) };
  });
  /** The base-model name a file name stands for, or undefined for a top-level name. */
  const baseName = (name: string) => (name.startsWith(prefix) ? name.slice(prefix.length) : name);
  const needed = (name: string) => wanted.get(name)?.topLevel === true || wanted.get(baseName(name))?.topLevel === false;
  const layerOf = (name: string) => {
    const match = layerKey.exec(baseName(name));
    return match === null ? -1 : Number(match[1]);
  };
  return {
    config,
    // Tensors of surplus layers are read too, only so that assemble can report the mismatch.
    include: (name) => needed(name) || layerOf(name) >= config.layers,
    assemble: (tensors, skipped) => {
      const extra = [...tensors.keys(), ...skipped].find((name) => layerOf(name) >= config.layers);
      if (extra !== undefined) {
        throw new ModelFileError(`the checkpoint has layer ${layerOf(extra)} but config ${layersKey} is ${config.layers}; config.json does not match the weights`, { tensorName: extra });
      }
      const weights = build((name, shape, topLevel = false) => {
        const candidates = topLevel ? [name] : [prefix + name, name];
        const foundAs = candidates.find((candidate) => tensors.has(candidate));
        if (foundAs === undefined) {
          const also = candidates.length > 1 ? ` (also looked for "${candidates[1]}")` : '';
          throw new ModelFileError(`missing tensor "${candidates[0]}"${also}; ${describeKeys(tensors, skipped)}`, { tensorName: candidates[0] });
        }
        const t = tensors.get(foundAs) as Tensor;
        expectTensorShape(foundAs, t, shape, ` for the config (${config.family}: hidden ${config.dModel}, ${config.heads} heads of ${config.headDim}, ${config.kvHeads} KV heads, intermediate ${config.mlpWidth}, vocab ${config.vocabSize})`);
        return t;
      });
      return { config, ...weights };
    },
  };
}

/** nn.Linear weights as stored ([out, in]) and their bias, named by module for the trace. */
export function linearOf(take: Take, layer: string, module: string, outFeatures: number, inFeatures: number, bias: boolean): Linear {
  const weight = take(`${layer}${module}.weight`, [outFeatures, inFeatures]);
  return bias ? { weight, bias: take(`${layer}${module}.bias`, [outFeatures]), layout: 'outIn', name: module } : { weight, layout: 'outIn', name: module };
}

export function layerNormOf(take: Take, layer: string, module: string, size: number, eps: number): NormWeights {
  return { kind: 'layerNorm', weight: take(`${layer}${module}.weight`, [size]), bias: take(`${layer}${module}.bias`, [size]), eps, name: module };
}

export function rmsNormOf(take: Take, layer: string, module: string, size: number, eps: number): NormWeights {
  return { kind: 'rmsNorm', weight: take(`${layer}${module}.weight`, [size]), eps, name: module };
}
