/**
 * A model as every caller names it (a spec), and the same model loaded: the engine's weights, the
 * tokenizer that produces its ids, and what exports and views say about it.
 */
import { UserError } from '../errors';
import type { InspectModel } from '../engine/inspection';
import { validateRandomConfig, type RandomModelConfig } from '../engine/random';
import type { Gpt2Weights } from '../engine/types';
import { createTokenizer } from '../tokenize';
import type { Tokenizer, TokenizerName } from '../tokenize/types';

export type ModelSpec =
  | { readonly kind: 'random'; readonly config: RandomModelConfig; readonly tokenizer: TokenizerName }
  /** A local Hugging Face GPT-2 folder; `label` names it for people (a Hub id or the folder's name). */
  | { readonly kind: 'gpt2'; readonly folder: string; readonly label: string; readonly hubId?: string };

/** What exports, the CLI and the views say about the model that ran. */
export interface ModelInfo {
  readonly kind: 'random' | 'gpt2';
  /** Short label for people, e.g. "gpt2 (12 layers, 12 heads, d_model 768)". */
  readonly label: string;
  readonly layers: number;
  readonly heads: number;
  readonly dModel: number;
  readonly headDim: number;
  readonly causal: boolean;
  readonly tokenizer: TokenizerName;
  /** The checkpoint folder, for models read from disk. */
  readonly path?: string;
  readonly hubId?: string;
  readonly nPositions?: number;
  readonly vocabSize?: number;
  /** The random model's seed. */
  readonly seed?: number;
}

export interface LoadedModel {
  readonly model: InspectModel;
  readonly info: ModelInfo;
  readonly tokenizer: Tokenizer;
}

/**
 * The tokenizer a model reads: a checkpoint's own (its ids index its embeddings), the chosen one for
 * the random model. Asking a checkpoint for another tokenizer is refused, never switched silently.
 */
export function tokenizerFor(spec: ModelSpec, requested?: TokenizerName): TokenizerName {
  if (spec.kind === 'random') return spec.tokenizer;
  if (requested !== undefined && requested !== 'gpt2') {
    throw new UserError(`a GPT-2 checkpoint reads GPT-2 token ids, so it needs the gpt2 tokenizer, not ${requested}`);
  }
  return 'gpt2';
}

/** Loads what a spec names; `loadGpt2` reads a folder (the worker keeps one checkpoint cached). */
export async function loadModel(spec: ModelSpec, loadGpt2: (folder: string) => Promise<Gpt2Weights>): Promise<LoadedModel> {
  if (spec.kind === 'random') {
    validateRandomConfig(spec.config);
    const { dModel, heads, seed, causal } = spec.config;
    return {
      model: { kind: 'random', config: spec.config },
      tokenizer: createTokenizer(spec.tokenizer),
      info: {
        kind: 'random',
        label: `Random (d_model ${dModel}, ${heads} heads, seed ${seed}${causal ? ', causal' : ''})`,
        layers: 1,
        heads,
        dModel,
        headDim: dModel / heads,
        causal,
        tokenizer: spec.tokenizer,
        seed,
      },
    };
  }
  const weights = await loadGpt2(spec.folder);
  const c = weights.config;
  return {
    model: { kind: 'gpt2', weights },
    tokenizer: createTokenizer('gpt2'),
    info: {
      kind: 'gpt2',
      label: `${spec.label} (${c.nLayer} layers, ${c.nHead} heads, d_model ${c.nEmbd})`,
      layers: c.nLayer,
      heads: c.nHead,
      dModel: c.nEmbd,
      headDim: c.nEmbd / c.nHead,
      causal: true,
      tokenizer: 'gpt2',
      path: spec.folder,
      ...(spec.hubId === undefined ? {} : { hubId: spec.hubId }),
      nPositions: c.nPositions,
      vocabSize: c.vocabSize,
    },
  };
}
