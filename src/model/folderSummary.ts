/**
 * What a model folder holds, read without its weights: config.json through the family's own reader
 * (so an unsupported model type or feature is refused by name, as loading would), and the safetensors
 * headers for the parameter count and storage types. "Choose Model…" shows this before anything heavy runs.
 */
import { open } from 'node:fs/promises';
import { join } from 'node:path';
import type { ModelFamily } from '../engine/types';
import { isFile, readCheckpointConfig } from './checkpointFolder';
import { ModelFileError } from './errors';
import { shardNameProblem } from './shardNames';
import { checkpointFamily, SUPPORTED_MODEL_TYPES } from './modelFolder';
import { parseSafetensorsHeader, readHeaderLength } from './safetensors';
import { readJsonFile } from './safetensorsFile';

export interface ModelFolderSummary {
  readonly family: ModelFamily;
  readonly layers: number;
  readonly heads: number;
  readonly kvHeads: number;
  readonly dModel: number;
  readonly headDim: number;
  readonly causal: boolean;
  readonly maxPositions: number;
  readonly vocabSize: number;
  /** Elements of the tensors the model reads (a tied LM head is stored, and counted, once). */
  readonly parameters: number;
  /** Storage types of those tensors, e.g. ["BF16"]. */
  readonly dtypes: readonly string[];
  /** How text becomes ids: GPT-2's own BPE, the folder's tokenizer.json, or none (ids only). */
  readonly tokenizer: 'gpt2' | 'tokenizer.json' | null;
}

const LAYOUT = `expected a Hugging Face model folder with config.json and model.safetensors (or model.safetensors.index.json and its shards), of model type ${SUPPORTED_MODEL_TYPES.join(', ')}`;

async function readHeader(path: string, include: (name: string) => boolean): Promise<{ elements: number; dtypes: Set<string> }> {
  const file = await open(path, 'r').catch((error: unknown) => {
    throw new ModelFileError(`cannot be opened (${(error as Error).message})`, { filePath: path });
  });
  try {
    const { size } = await file.stat();
    const first = new Uint8Array(Math.min(8, size));
    await file.read(first, 0, first.length, 0);
    const length = readHeaderLength(first, size);
    const headerBytes = new Uint8Array(length);
    await file.read(headerBytes, 0, length, 8);
    const header = parseSafetensorsHeader(headerBytes, size - 8 - length, include);
    let elements = 0;
    const dtypes = new Set<string>();
    for (const entry of header.entries) {
      elements += entry.elementCount;
      dtypes.add(entry.dtype);
    }
    return { elements, dtypes };
  } catch (error) {
    throw error instanceof ModelFileError ? error : new ModelFileError((error as Error).message, { filePath: path });
  } finally {
    await file.close();
  }
}

/** The weight files of a folder: model.safetensors, or the shards its index names. */
async function weightFiles(dir: string): Promise<string[]> {
  if (await isFile(join(dir, 'model.safetensors'))) return [join(dir, 'model.safetensors')];
  const indexPath = join(dir, 'model.safetensors.index.json');
  if (await isFile(indexPath)) {
    const map = ((await readJsonFile(indexPath)) as { weight_map?: unknown } | null)?.weight_map;
    if (typeof map !== 'object' || map === null) throw new ModelFileError('"weight_map" must be an object mapping tensor names to shard files', { filePath: indexPath });
    const shards = [...new Set(Object.values(map as Record<string, unknown>))];
    for (const shard of shards) {
      const problem = shardNameProblem(shard);
      if (problem !== undefined) throw new ModelFileError(`"weight_map" names ${JSON.stringify(shard)}, which ${problem}`, { filePath: indexPath });
    }
    return (shards as string[]).map((shard) => join(dir, shard));
  }
  const pickle = (await isFile(join(dir, 'pytorch_model.bin'))) ? ' (found pytorch_model.bin, which cannot be read safely; save the model with safe_serialization=True)' : '';
  throw new ModelFileError(`model.safetensors is missing${pickle}; ${LAYOUT}`, { filePath: dir });
}

/** Describes a model folder, or throws a ModelFileError saying why it cannot be used. */
export async function describeModelFolder(dir: string): Promise<ModelFolderSummary> {
  const { json, configPath } = await readCheckpointConfig(dir, LAYOUT);
  const family = checkpointFamily(json, configPath);
  const c = family.config;
  let parameters = 0;
  const dtypes = new Set<string>();
  for (const file of await weightFiles(dir)) {
    const { elements, dtypes: found } = await readHeader(file, family.include);
    parameters += elements;
    for (const d of found) dtypes.add(d);
  }
  if (parameters === 0) throw new ModelFileError(`holds none of the ${c.family} tensors the model needs; ${LAYOUT}`, { filePath: dir });
  const tokenizer = c.family === 'gpt2' ? 'gpt2' : (await isFile(join(dir, 'tokenizer.json'))) ? 'tokenizer.json' : null;
  return {
    family: c.family,
    layers: c.layers,
    heads: c.heads,
    kvHeads: c.kvHeads,
    dModel: c.dModel,
    headDim: c.headDim,
    causal: c.causal,
    maxPositions: c.maxPositions,
    vocabSize: c.vocabSize,
    parameters,
    dtypes: [...dtypes].sort(),
    tokenizer,
  };
}
