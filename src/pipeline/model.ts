/**
 * A model as every caller names it (a spec), and the same model loaded: the engine's weights, the
 * tokenizer that produces its ids, and what exports and views say about it.
 */
import { errorKind, UserError } from '../errors';
import { gpt2AsTransformer } from '../engine/gpt2';
import type { InspectModel } from '../engine/inspection';
import { validateRandomConfig, type RandomModelConfig } from '../engine/random';
import { parameterCount } from '../engine/transformer';
import type { Gpt2Weights, ModelFamily, TransformerWeights } from '../engine/types';
import { loadModelFolder, modelFolderConfig } from '../model/modelFolder';
import { createTokenizer } from '../tokenize';
import { loadFolderTokenizer } from '../tokenize/hf/load';
import type { Tokenizer, TokenizerKind, TokenizerName } from '../tokenize/types';

export type ModelSpec =
  | { readonly kind: 'random'; readonly config: RandomModelConfig; readonly tokenizer: TokenizerName }
  /** A local Hugging Face GPT-2 folder; `label` names it for people (a Hub id or the folder's name). */
  | { readonly kind: 'gpt2'; readonly folder: string; readonly label: string; readonly hubId?: string }
  /** A local Hugging Face folder of any supported family: config.json's model_type says which. */
  | { readonly kind: 'folder'; readonly folder: string; readonly label: string; readonly hubId?: string };

/** What exports, the CLI and the views say about the model that ran. */
export interface ModelInfo {
  /** 'gpt2' for GPT-2 checkpoints (however named), 'checkpoint' for the other families. */
  readonly kind: 'random' | 'gpt2' | 'checkpoint';
  /** The checkpoint's model_type, or 'random'. Optional only for views built by hand: loadModel always sets it, kvHeads and parameters. */
  readonly family?: 'random' | ModelFamily;
  /** Short label for people, e.g. "gpt2 (12 layers, 12 heads, d_model 768)". */
  readonly label: string;
  readonly layers: number;
  readonly heads: number;
  /** Key/value heads: fewer than heads under grouped-query attention. */
  readonly kvHeads?: number;
  readonly dModel: number;
  readonly headDim: number;
  readonly causal: boolean;
  /** Learned parameters (a tied LM head counted once). */
  readonly parameters?: number;
  /** The tokenizer that makes the ids ('huggingface': the folder's tokenizer.json); null when the folder has none we can read (ids only). */
  readonly tokenizer: TokenizerKind | null;
  /** The checkpoint folder, for models read from disk. */
  readonly path?: string;
  readonly hubId?: string;
  /** Longest input the model takes (a checkpoint's positions). */
  readonly nPositions?: number;
  readonly vocabSize?: number;
  /** The random model's seed. */
  readonly seed?: number;
}

/** What the pipeline asks of a model's tokenizer. */
export type ModelTokenizer = Pick<Tokenizer, 'encode' | 'decodeId' | 'displayId'>;

export interface LoadedModel {
  readonly model: InspectModel;
  readonly info: ModelInfo;
  readonly tokenizer: ModelTokenizer;
}

/** How a spec's folder is read; the worker passes its cached loaders, the CLI the plain ones. */
export interface ModelLoaders {
  readonly loadGpt2: (folder: string) => Promise<Gpt2Weights>;
  readonly loadFolder?: (folder: string) => Promise<TransformerWeights>;
  /** The folder's tokenizer.json; a UserError (missing or unsupported) leaves the model usable with ids only. */
  readonly loadTokenizer?: (folder: string) => Promise<ModelTokenizer>;
}

/**
 * The tokenizer a checkpoint of `family` reads (its ids index its embeddings): GPT-2's own BPE, or the
 * folder's tokenizer.json for every other family. Asking for another is refused, never switched silently.
 */
export function tokenizerForFamily(family: ModelFamily, requested?: TokenizerName): TokenizerName | 'huggingface' {
  if (family === 'gpt2') {
    if (requested !== undefined && requested !== 'gpt2') throw new UserError(`a GPT-2 checkpoint reads GPT-2 token ids, so it needs the gpt2 tokenizer, not ${requested}`);
    return 'gpt2';
  }
  if (requested !== undefined) throw new UserError(`a ${family} checkpoint reads its own token ids with the folder's tokenizer.json, so --tokenizer ${requested} does not apply to it`);
  return 'huggingface';
}

/** Stands in for a folder whose tokenizer.json is missing or not supported: ids work, text is refused with the reason. */
function idsOnly(reason: string): ModelTokenizer {
  return {
    encode: () => {
      throw new UserError(`${reason}. Without it the model cannot read text; give token ids instead (the CLI's --ids 1,2,3)`);
    },
  };
}

/** The folder's tokenizer, or ids only when the folder has none we can read (the reason is kept for text input). */
async function folderTokenizer(folder: string, load: (folder: string) => Promise<ModelTokenizer>): Promise<{ tokenizer: ModelTokenizer; kind: 'huggingface' | null; problem?: string }> {
  try {
    return { tokenizer: await load(folder), kind: 'huggingface' };
  } catch (error) {
    if (errorKind(error) !== 'user') throw error;
    return { tokenizer: idsOnly((error as Error).message), kind: null, problem: (error as Error).message };
  }
}

/** GPT-2's own BPE has this many ids; a gpt2-architecture checkpoint with another vocabulary reads its own tokenizer.json. */
const GPT2_VOCAB_SIZE = 50257;

export interface LoadModelOptions {
  /**
   * The caller will tokenize text: a folder without a tokenizer it can read is refused before its weights are
   * read (they may be gigabytes), with `hint` after the reason.
   */
  readonly forText?: { readonly hint?: string };
}

function checkpointInfo(weights: TransformerWeights, spec: { folder: string; label: string; hubId?: string }, tokenizer: TokenizerKind | null): ModelInfo {
  const c = weights.config;
  const kv = c.kvHeads < c.heads ? ` (${c.kvHeads} KV)` : '';
  return {
    kind: c.family === 'gpt2' ? 'gpt2' : 'checkpoint',
    family: c.family,
    label: `${spec.label} (${c.family === 'gpt2' ? '' : `${c.family}, `}${c.layers} layers, ${c.heads} heads${kv}, d_model ${c.dModel})`,
    layers: c.layers,
    heads: c.heads,
    kvHeads: c.kvHeads,
    dModel: c.dModel,
    headDim: c.headDim,
    causal: c.causal,
    parameters: parameterCount(weights),
    tokenizer,
    path: spec.folder,
    ...(spec.hubId === undefined ? {} : { hubId: spec.hubId }),
    nPositions: c.maxPositions,
    vocabSize: c.vocabSize,
  };
}

/**
 * Loads what a spec names. `loaders` reads folders (the worker keeps one checkpoint cached); a bare
 * function is the GPT-2 loader, as callers passed it before any other family existed.
 */
export async function loadModel(spec: ModelSpec, loaders: ModelLoaders | ModelLoaders['loadGpt2'], options: LoadModelOptions = {}): Promise<LoadedModel> {
  const { loadGpt2, loadFolder = loadModelFolder, loadTokenizer = loadFolderTokenizer } = typeof loaders === 'function' ? { loadGpt2: loaders } : loaders;
  if (spec.kind === 'random') {
    validateRandomConfig(spec.config);
    const { dModel, heads, seed, causal } = spec.config;
    return {
      model: { kind: 'random', config: spec.config },
      tokenizer: createTokenizer(spec.tokenizer),
      info: {
        kind: 'random',
        family: 'random',
        label: `Random (d_model ${dModel}, ${heads} heads, seed ${seed}${causal ? ', causal' : ''})`,
        layers: 1,
        heads,
        kvHeads: heads,
        dModel,
        headDim: dModel / heads,
        causal,
        parameters: 4 * dModel * dModel + 4 * dModel,
        tokenizer: spec.tokenizer,
        seed,
      },
    };
  }
  if (spec.kind === 'gpt2') {
    const weights = await loadGpt2(spec.folder);
    return { model: { kind: 'gpt2', weights }, tokenizer: createTokenizer('gpt2'), info: checkpointInfo(gpt2AsTransformer(weights), spec, 'gpt2') };
  }
  // config.json first: it says which tokenizer the ids need, and an unsupported model is refused before any weight is read.
  const config = await modelFolderConfig(spec.folder);
  const builtIn = tokenizerForFamily(config.family) === 'gpt2' && config.vocabSize === GPT2_VOCAB_SIZE;
  const { tokenizer, kind, problem } = builtIn ? { tokenizer: createTokenizer('gpt2'), kind: 'gpt2' as const, problem: undefined } : await folderTokenizer(spec.folder, loadTokenizer);
  if (problem !== undefined && options.forText) throw new UserError(options.forText.hint ? `${problem}. ${options.forText.hint}` : problem);
  const weights = await loadFolder(spec.folder);
  return { model: { kind: 'transformer', weights }, tokenizer, info: checkpointInfo(weights, spec, kind) };
}
