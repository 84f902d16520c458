/** The files of a Hub model repo we read, and whether a snapshot folder holds them. */
import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { shardNameProblem } from '../model/shardNames';

export const CONFIG_FILE = 'config.json';
export const SINGLE_WEIGHTS = 'model.safetensors';
export const INDEX_FILE = 'model.safetensors.index.json';
/** Fetched when the repo has them; a folder without them still loads (token ids only). */
export const TOKENIZER_FILES = ['tokenizer.json', 'tokenizer_config.json'] as const;

/** Weights in formats we refuse to read (pickle can run code; the rest need their own readers). */
export const OTHER_WEIGHTS = /\.(bin|pt|pth|ckpt|gguf|h5|msgpack|onnx)$/i;

/** An index bigger than this is not a safetensors index (real ones are tens of kilobytes). */
export const MAX_INDEX_BYTES = 16 * 1024 * 1024;

/**
 * The shard files an index names (weight_map values, first-seen order). Shards must be .safetensors names in
 * the same folder: a path in a downloaded index must not reach outside the snapshot.
 */
export function shardsOfIndex(index: unknown): string[] {
  const weightMap = (index as { weight_map?: unknown } | null)?.weight_map;
  if (typeof weightMap !== 'object' || weightMap === null || Array.isArray(weightMap)) {
    throw new Error(`${INDEX_FILE}: "weight_map" must be an object mapping tensor names to shard files`);
  }
  const shards = new Set<string>();
  for (const [tensor, shard] of Object.entries(weightMap)) {
    const problem = shardNameProblem(shard);
    if (problem !== undefined) throw new Error(`${INDEX_FILE}: the shard of "${tensor.slice(0, 80)}" ${problem}, got ${JSON.stringify(shard)?.slice(0, 80)}`);
    shards.add(shard as string);
  }
  if (shards.size === 0) throw new Error(`${INDEX_FILE} lists no shard files`);
  return [...shards];
}

/** The shards a snapshot's index names; undefined when the index is unreadable. */
export async function readShardList(indexPath: string): Promise<string[] | undefined> {
  try {
    if ((await stat(indexPath)).size > MAX_INDEX_BYTES) return undefined;
    return shardsOfIndex(JSON.parse(await readFile(indexPath, 'utf8')));
  } catch {
    return undefined;
  }
}

/**
 * True when a snapshot folder has config.json and safetensors weights (the single file, or the index and every
 * shard it names). stat follows the cache's symlinks, so a link to a missing blob does not count.
 */
export async function snapshotIsUsable(folder: string): Promise<boolean> {
  if (!(await isFile(join(folder, CONFIG_FILE)))) return false;
  if (await isFile(join(folder, SINGLE_WEIGHTS))) return true;
  const shards = await readShardList(join(folder, INDEX_FILE));
  if (shards === undefined) return false;
  for (const shard of shards) if (!(await isFile(join(folder, shard)))) return false;
  return true;
}

/**
 * True when the snapshot's tokenizer is settled: tokenizer.json is there, or a download found the repo has none
 * and left huggingface_hub's marker `.no_exist/<commit>/tokenizer.json` (Python writes the same marker).
 */
export async function tokenizerSettled(repoStorage: string, commit: string): Promise<boolean> {
  return (await isFile(join(repoStorage, 'snapshots', commit, TOKENIZER_FILES[0]))) || (await isFile(noExistMarker(repoStorage, commit, TOKENIZER_FILES[0])));
}

/** huggingface_hub's record that a file does not exist at a commit. */
export function noExistMarker(repoStorage: string, commit: string, file: string): string {
  return join(repoStorage, '.no_exist', commit, file);
}

export async function isFile(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isFile();
  } catch {
    return false;
  }
}
