/**
 * The standard Hugging Face cache, shared with Python's huggingface_hub: `models--org--name/` holding
 * `blobs/<etag>`, `refs/<revision>` (a commit hash) and `snapshots/<commit>/<file>` (links to the blobs).
 */
import { lstat, readdir, readFile, stat } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { scanCacheDir, type CachedRepoInfo, type CachedRevisionInfo } from '@huggingface/hub';
import { snapshotIsUsable, tokenizerSettled } from './files';

/** The cache folder, resolved as huggingface_hub resolves it, so both share one copy of each model. */
export function hubCacheDir(env: NodeJS.ProcessEnv = process.env): string {
  const explicit = env.HF_HUB_CACHE || env.HUGGINGFACE_HUB_CACHE;
  if (explicit) return expandHome(explicit);
  const hfHome = env.HF_HOME || join(env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'huggingface');
  return join(expandHome(hfHome), 'hub');
}

function expandHome(path: string): string {
  return path === '~' || path.startsWith('~/') ? join(homedir(), path.slice(1)) : path;
}

/** The repo id of a snapshot folder in the cache layout (`…/models--org--name/snapshots/<commit>`), else undefined. */
export function repoOfSnapshot(folder: string): string | undefined {
  const parts = folder.split(/[\\/]+/).filter(Boolean);
  const [repoDir, snapshots, commit] = parts.slice(-3);
  if (parts.length < 3 || snapshots !== 'snapshots' || !isSnapshotName(commit ?? '') || !repoDir?.startsWith('models--')) return undefined;
  return repoDir.slice('models--'.length).split('--').join('/');
}

/** `models--org--name`: the repo's folder in the cache. */
export function repoFolder(cacheDir: string, repoId: string): string {
  return join(cacheDir, `models--${repoId.split('/').join('--')}`);
}

const COMMIT = /^[0-9a-f]{40}$/;

/** The commit a revision points to in the cache: itself when it is a commit hash, else refs/<revision>. */
export async function cachedCommit(cacheDir: string, repoId: string, revision: string): Promise<string | undefined> {
  if (COMMIT.test(revision)) return revision;
  try {
    const commit = (await readFile(join(repoFolder(cacheDir, repoId), 'refs', revision), 'utf8')).trim();
    return isSnapshotName(commit) ? commit : undefined;
  } catch {
    return undefined;
  }
}

/** A snapshot folder name taken from a ref file or the Hub must stay one path segment. */
export function isSnapshotName(name: string): boolean {
  return /^[A-Za-z0-9_-]{1,128}$/.test(name);
}

/**
 * The snapshot folder of a revision, when it already holds everything we read (with `tokenizer`: its
 * tokenizer too, or the record that the repo has none); no network.
 */
export async function findCachedSnapshot(cacheDir: string, repoId: string, revision: string, { tokenizer = true } = {}): Promise<string | undefined> {
  const commit = await cachedCommit(cacheDir, repoId, revision);
  if (commit === undefined) return undefined;
  const storage = repoFolder(cacheDir, repoId);
  const folder = join(storage, 'snapshots', commit);
  if (!(await snapshotIsUsable(folder))) return undefined;
  return !tokenizer || (await tokenizerSettled(storage, commit)) ? folder : undefined;
}

export interface CachedModel {
  /** "org/name", or "name" for the Hub's old un-namespaced models. */
  readonly repoId: string;
  /** The snapshot folder of refs/main, else the newest snapshot. */
  readonly folder: string;
  /** Bytes of the repo's blobs (every revision). */
  readonly sizeOnDisk: number;
  readonly lastAccessed?: Date;
  /** The folder has config.json and safetensors weights. */
  readonly usable: boolean;
}

/** The models in the cache (not datasets or spaces), most recently used first; no cache folder gives []. */
export async function listCachedModels(cacheDir: string = hubCacheDir()): Promise<CachedModel[]> {
  try {
    if (!(await stat(cacheDir)).isDirectory()) return [];
  } catch {
    return [];
  }
  const scan = await scanCacheDir(cacheDir);
  const models: CachedModel[] = [];
  const seen = new Set<string>();
  for (const repo of scan.repos) {
    if (repo.id.type !== 'model') continue;
    seen.add(repo.path);
    const revision = pickRevision(repo.revisions);
    if (revision === undefined) continue;
    models.push({ repoId: repo.id.name, folder: revision.path, sizeOnDisk: repo.size, lastAccessed: latest(repo), usable: await snapshotIsUsable(revision.path) });
  }
  // scanCacheDir skips (as a warning) a repo without refs/, as one downloaded by commit hash leaves it, or
  // with a ref to a deleted snapshot; such a model is still on disk and loadable.
  for (const entry of await readdir(cacheDir)) {
    const path = join(cacheDir, entry);
    if (!entry.startsWith('models--') || seen.has(path)) continue;
    const model = await scanWithoutRefs(path, entry);
    if (model !== undefined) models.push(model);
  }
  return models.sort((a, b) => (b.lastAccessed?.getTime() ?? 0) - (a.lastAccessed?.getTime() ?? 0));
}

function pickRevision(revisions: readonly CachedRevisionInfo[]): CachedRevisionInfo | undefined {
  return revisions.find((r) => r.refs.includes('main')) ?? [...revisions].sort((a, b) => b.lastModifiedAt.getTime() - a.lastModifiedAt.getTime())[0];
}

/** Access times are often not updated (relatime, noatime); a newer modification counts as a use too. */
function latest(repo: CachedRepoInfo): Date {
  return new Date(Math.max(repo.lastAccessedAt.getTime(), repo.lastModifiedAt.getTime()));
}

async function scanWithoutRefs(path: string, entry: string): Promise<CachedModel | undefined> {
  try {
    const snapshots = join(path, 'snapshots');
    const folders: { path: string; mtime: number }[] = [];
    for (const name of await readdir(snapshots)) {
      const info = await stat(join(snapshots, name));
      if (info.isDirectory()) folders.push({ path: join(snapshots, name), mtime: info.mtimeMs });
    }
    const newest = folders.sort((a, b) => b.mtime - a.mtime)[0];
    if (newest === undefined) return undefined;
    let size = 0;
    let used = 0;
    for (const blob of await readdir(join(path, 'blobs')).catch(() => [] as string[])) {
      const info = await lstat(join(path, 'blobs', blob));
      size += info.size;
      used = Math.max(used, info.atimeMs, info.mtimeMs);
    }
    const repoId = entry.slice('models--'.length).split('--').join('/');
    return { repoId, folder: newest.path, sizeOnDisk: size, lastAccessed: new Date(used || newest.mtime), usable: await snapshotIsUsable(newest.path) };
  } catch {
    return undefined;
  }
}
