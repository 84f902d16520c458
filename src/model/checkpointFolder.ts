/**
 * A Hugging Face checkpoint folder on disk: config.json beside model.safetensors, or beside
 * model.safetensors.index.json and its shards. Every family's loader reads its files through here.
 */
import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { Tensor } from '../engine/tensor';
import { ModelFileError } from './errors';
import { shardNameProblem } from './shardNames';
import { readJsonFile, readSafetensorsFile } from './safetensorsFile';

export interface CheckpointTensors {
  readonly tensors: Map<string, Tensor>;
  /** Names in the files that `include` left out (unread). */
  readonly skipped: readonly string[];
  /** The file the tensors were listed in: model.safetensors or the index. */
  readonly source: string;
}

/**
 * Checks that `dir` is a folder with a config.json and returns the parsed JSON and its path.
 * `expectedLayout` ends every message, saying what a good folder holds.
 */
export async function readCheckpointConfig(dir: string, expectedLayout: string): Promise<{ json: unknown; configPath: string }> {
  const info = await stat(dir).catch(() => undefined);
  if (info === undefined) throw new ModelFileError(`folder not found; ${expectedLayout}`, { filePath: dir });
  if (!info.isDirectory()) throw new ModelFileError(`not a folder; ${expectedLayout}`, { filePath: dir });
  const configPath = join(dir, 'config.json');
  if (!(await isFile(configPath))) throw new ModelFileError(`config.json is missing; ${expectedLayout}`, { filePath: dir });
  return { json: await readJsonFile(configPath), configPath };
}

/**
 * Reads the tensors `include` selects, each straight into its own buffer, from model.safetensors or
 * from the shards an index lists (only the shards holding a selected tensor are opened).
 */
export async function readCheckpointTensors(dir: string, include: (name: string) => boolean, expectedLayout: string): Promise<CheckpointTensors> {
  const singlePath = join(dir, 'model.safetensors');
  const indexPath = join(dir, 'model.safetensors.index.json');
  if (await isFile(singlePath)) {
    const { tensors, skipped } = await readSafetensorsFile(singlePath, { include });
    return { tensors, skipped, source: singlePath };
  }
  if (await isFile(indexPath)) return { ...(await readShardedSafetensors(dir, indexPath, include)), source: indexPath };
  const hasPickle = await isFile(join(dir, 'pytorch_model.bin'));
  const hint = hasPickle
    ? ' (found pytorch_model.bin, which cannot be read safely; convert it with `model.save_pretrained(folder, safe_serialization=True)`)'
    : '';
  throw new ModelFileError(`model.safetensors is missing${hint}; ${expectedLayout}`, { filePath: dir });
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
    const problem = shardNameProblem(shard);
    if (problem !== undefined) throw new ModelFileError(`"weight_map" entry for "${name}" ${problem}, got ${JSON.stringify(shard)}`, { filePath: indexPath });
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

export async function isFile(path: string): Promise<boolean> {
  const info = await stat(path).catch(() => undefined);
  return info?.isFile() ?? false;
}
