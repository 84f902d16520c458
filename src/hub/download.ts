/**
 * Gets a model from the Hugging Face Hub into the standard Hugging Face cache with @huggingface/hub: only
 * the files we read (config.json, the tokenizer files when present, safetensors weights). A revision already
 * complete in the cache, whoever downloaded it, is used without any request.
 *
 * Pure Node, no editor imports: the extension host wraps it with a progress notification and a cancel button.
 */
import { createHash } from 'node:crypto';
import { mkdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { downloadFileToCacheDir, HubApiError, InvalidApiResponseFormatError, listFiles, modelInfo, type ListFileEntry } from '@huggingface/hub';
import { findCachedSnapshot, hubCacheDir, isSnapshotName, repoFolder } from './cache';
import { DEFAULT_HUB_ENDPOINT, HubAbortError, HubError, printable, validateRepoId, validateRevision } from './errors';
import { createHubFetch, DEFAULT_STALL_TIMEOUT_MS, type HubFetchContext } from './fetch';
import { CONFIG_FILE, INDEX_FILE, isFile, MAX_INDEX_BYTES, noExistMarker, OTHER_WEIGHTS, shardsOfIndex, SINGLE_WEIGHTS, snapshotIsUsable, tokenizerSettled, TOKENIZER_FILES } from './files';

export interface HubDownloadProgress {
  /** The file being downloaded (a name inside the repo, e.g. "model.safetensors"). */
  readonly file: string;
  readonly receivedBytes: number;
  /** The file's size as the Hub lists it. */
  readonly totalBytes: number | undefined;
  /** Bytes of every file of this download so far (never decreases). */
  readonly overallReceived: number;
  /** Sum of the sizes of the files this download fetches, once all are known (after a sharded model's index). */
  readonly overallTotal: number | undefined;
}

export interface HubDownloadOptions {
  /** Default: hubCacheDir() (HF_HUB_CACHE, else $HF_HOME/hub, else ~/.cache/huggingface/hub). */
  readonly cacheDir?: string;
  /** Default: HF_ENDPOINT, else https://huggingface.co; a mirror or a test server (http://127.0.0.1:PORT) also works. */
  readonly endpoint?: string;
  /** Branch, tag or commit. Default "main". */
  readonly revision?: string;
  /** Default: HF_TOKEN. Sent as `Authorization: Bearer` to the endpoint's origin only, never to a CDN. */
  readonly token?: string;
  /** Aborting stops the requests, removes the partial file and rejects with a HubAbortError ("AbortError"). */
  readonly signal?: AbortSignal;
  /** Called for every chunk received (the caller should throttle UI updates). Exceptions it throws are ignored. */
  readonly onProgress?: (progress: HubDownloadProgress) => void;
  /** No bytes for this long (waiting for an answer or inside a body) fails the download. Default 30 s. */
  readonly stallTimeoutMs?: number;
}

export interface HubDownloadResult {
  /** The snapshot folder, ready for loadModelFolder. */
  readonly folder: string;
  /** True when no file was downloaded. */
  readonly fromCache: boolean;
}

export async function downloadHubModel(repoId: string, options: HubDownloadOptions = {}): Promise<HubDownloadResult> {
  const repo = validateRepoId(repoId);
  const revision = validateRevision(options.revision ?? 'main');
  const cacheDir = options.cacheDir ?? hubCacheDir();
  const endpoint = parseEndpoint(options.endpoint || process.env.HF_ENDPOINT || DEFAULT_HUB_ENDPOINT);
  const token = (options.token ?? process.env.HF_TOKEN)?.trim() || undefined;
  if (token !== undefined && /[^\x21-\x7e]/.test(token)) throw new HubError('unauthorized', 'the Hugging Face token (HF_TOKEN) contains spaces or other characters a token cannot have');
  const signal = options.signal;
  throwIfAborted(signal, repo);

  return withLock(repoFolder(cacheDir, repo), signal, repo, async () => {
    const cached = await findCachedSnapshot(cacheDir, repo, revision);
    if (cached !== undefined) return { folder: cached, fromCache: true };
    if (/^(1|true|yes|on)$/i.test(process.env.HF_HUB_OFFLINE ?? '')) {
      // Offline, a snapshot whose tokenizer was never fetched still serves token ids.
      const withoutTokenizer = await findCachedSnapshot(cacheDir, repo, revision, { tokenizer: false });
      if (withoutTokenizer !== undefined) return { folder: withoutTokenizer, fromCache: true };
      throw new HubError('offline', `${repo} (revision ${revision}) is not in the Hugging Face cache at ${cacheDir}, and HF_HUB_OFFLINE forbids downloading it`);
    }
    const ctx: HubFetchContext = { endpoint, token, signal, repo, stallMs: options.stallTimeoutMs ?? DEFAULT_STALL_TIMEOUT_MS };
    const job: Job = { repo, revision, cacheDir, ctx, fetch: createHubFetch(ctx), onProgress: options.onProgress, gated: false };
    try {
      return await fetchSnapshot(job);
    } catch (error) {
      throw explain(job, error);
    }
  });
}

interface Job {
  readonly repo: string;
  readonly revision: string;
  readonly cacheDir: string;
  readonly ctx: HubFetchContext;
  readonly fetch: typeof fetch;
  readonly onProgress?: (progress: HubDownloadProgress) => void;
  /** The Hub's model info says it is gated (a 401/403 then means: accept the licence). */
  gated: boolean;
}

async function fetchSnapshot(job: Job): Promise<HubDownloadResult> {
  const { repo, revision, cacheDir, ctx } = job;
  const hubUrl = ctx.endpoint.href.replace(/\/+$/, '');
  const info = await modelInfo({ name: repo, revision, hubUrl, fetch: job.fetch, additionalFields: ['sha'] });
  job.gated = Boolean(info.gated);
  const commit = info.sha;
  if (typeof commit !== 'string' || !isSnapshotName(commit)) throw new HubError('http', `the Hub at ${ctx.endpoint.host} gave no valid commit for ${repo} (revision ${revision})`);
  const storage = repoFolder(cacheDir, repo);
  const snapshot = join(storage, 'snapshots', commit);
  let downloaded = 0;

  if (!(await snapshotIsUsable(snapshot)) || !(await tokenizerSettled(storage, commit))) {
    const listing = new Map<string, ListFileEntry>();
    for await (const entry of listFiles({ repo, revision: commit, hubUrl, fetch: job.fetch })) if (entry.type === 'file') listing.set(entry.path, entry);
    if (!listing.has(CONFIG_FILE)) throw new HubError('not-found', `${repo} (revision ${revision}) has no ${CONFIG_FILE}; expected a Transformers model`);
    // Record, as huggingface_hub does, that the repo has no tokenizer, so the next use needs no request.
    for (const name of TOKENIZER_FILES.filter((f) => !listing.has(f))) {
      await mkdir(dirname(noExistMarker(storage, commit, name)), { recursive: true });
      await writeFile(noExistMarker(storage, commit, name), '');
    }

    const progress = { overall: 0, total: undefined as number | undefined };
    const fetchFile = async (name: string): Promise<void> => {
      downloaded += await fetchOne(job, storage, commit, listing.get(name) as ListFileEntry, progress);
    };
    const missing = async (names: readonly string[]): Promise<string[]> => {
      const out: string[] = [];
      for (const name of names) if (!(await inCache(storage, snapshot, listing.get(name) as ListFileEntry))) out.push(name);
      return out;
    };

    let weights: string[];
    const indexPending: string[] = [];
    if (listing.has(SINGLE_WEIGHTS)) {
      weights = [SINGLE_WEIGHTS];
    } else if (listing.has(INDEX_FILE)) {
      // The index names the shards, so it comes first; the overall total is known once it is read.
      indexPending.push(...(await missing([INDEX_FILE])));
      for (const name of indexPending) await fetchFile(name);
      weights = await readShards(job, join(snapshot, INDEX_FILE), listing);
    } else {
      throw noWeights(repo, revision, [...listing.keys()]);
    }
    const todo = await missing([CONFIG_FILE, ...TOKENIZER_FILES.filter((f) => listing.has(f)), ...weights]);
    progress.total = [...indexPending, ...todo].reduce((sum, name) => sum + (listing.get(name)?.size ?? 0), 0);
    for (const name of todo) await fetchFile(name);
  }

  if (revision !== commit) await writeRef(storage, revision, commit);
  return { folder: snapshot, fromCache: downloaded === 0 };
}

/** A file is in the cache when its snapshot link resolves or its blob is there (the library then only links it). */
async function inCache(storage: string, snapshot: string, entry: ListFileEntry): Promise<boolean> {
  return (await isFile(join(snapshot, entry.path))) || (await isFile(join(storage, 'blobs', blobName(entry))));
}

/** The blob name the library gives a file (LFS sha256, else xet hash, else git oid), as Python's cache does. */
function blobName(entry: ListFileEntry): string {
  return entry.lfs?.oid ?? entry.xetHash ?? entry.oid ?? '';
}

/** Downloads one file through the library, counting and checking its bytes; resolves to the bytes received. */
async function fetchOne(job: Job, storage: string, commit: string, entry: ListFileEntry, progress: { overall: number; total: number | undefined }): Promise<number> {
  const { ctx, repo } = job;
  const name = entry.path;
  const blob = join(storage, 'blobs', blobName(entry));
  const hash = entry.lfs !== undefined ? createHash('sha256') : undefined;
  let received = 0;
  const report = () => {
    try {
      job.onProgress?.({ file: name, receivedBytes: received, totalBytes: entry.size, overallReceived: progress.overall, overallTotal: progress.total });
    } catch {
      // A failing progress callback must not break the download.
    }
  };
  ctx.onBody = (chunk) => {
    received += chunk.length;
    progress.overall += chunk.length;
    hash?.update(chunk);
    report();
  };
  report();
  let pointer: string;
  try {
    pointer = await downloadFileToCacheDir({ repo, path: name, revision: commit, hubUrl: ctx.endpoint.href.replace(/\/+$/, ''), cacheDir: job.cacheDir, fetch: job.fetch });
  } catch (error) {
    // The library streams into `<blob>.incomplete` and leaves it behind on failure.
    await rm(`${blob}.incomplete`, { force: true }).catch(() => undefined);
    if (received > 0 && received < entry.size && ctx.failure instanceof HubError && ctx.failure.kind === 'network') {
      throw new HubError('truncated', `the download of ${name} from ${repo} was cut short (received ${received} of ${entry.size} bytes); try again`, { cause: ctx.failure });
    }
    throw error;
  } finally {
    ctx.onBody = undefined;
  }
  if (received === 0) return 0; // linked to a blob already in the cache
  const bad =
    received !== entry.size
      ? `the download of ${name} from ${repo} has ${received} bytes, not the ${entry.size} the Hub lists; try again`
      : hash !== undefined && hash.digest('hex') !== entry.lfs?.oid
        ? `${name} from ${repo} does not match the Hub's SHA-256 checksum (corrupted in transit?); try again`
        : undefined;
  if (bad !== undefined) {
    await rm(pointer, { force: true });
    await rm(blob, { force: true });
    throw new HubError(received !== entry.size ? 'truncated' : 'checksum', bad);
  }
  return received;
}

async function readShards(job: Job, indexPath: string, listing: ReadonlyMap<string, ListFileEntry>): Promise<string[]> {
  let shards: string[];
  try {
    // Parsed on the extension host's thread: a file this big is no safetensors index.
    if ((await stat(indexPath)).size > MAX_INDEX_BYTES) throw new Error(`${INDEX_FILE} is over ${MAX_INDEX_BYTES / 1024 ** 2} MiB, too big for a safetensors index`);
    shards = shardsOfIndex(JSON.parse(await readFile(indexPath, 'utf8')));
  } catch (cause) {
    throw new HubError('invalid-index', `${job.repo}: ${cause instanceof Error ? cause.message : String(cause)}`, { cause });
  }
  const absent = shards.filter((s) => !listing.has(s));
  if (absent.length > 0) throw new HubError('not-found', `${job.repo} (revision ${job.revision}): ${INDEX_FILE} names ${absent.join(', ')}, which the repo does not have`);
  return shards;
}

function noWeights(repo: string, revision: string, names: readonly string[]): HubError {
  const other = names.filter((n) => OTHER_WEIGHTS.test(n));
  const found = other.length > 0 ? `it has ${other.slice(0, 4).join(', ')}${other.length > 4 ? ` and ${other.length - 4} more` : ''}` : 'it has no weight files';
  return new HubError(
    'no-weights',
    `${repo} (revision ${revision}) has no ${SINGLE_WEIGHTS} or ${INDEX_FILE} (${found}); Attention Inspector reads safetensors weights only, so pick a repo that has them`,
  );
}

/** refs/<revision> → commit, as huggingface_hub writes it (no newline), so the next run needs no request. */
async function writeRef(storage: string, revision: string, commit: string): Promise<void> {
  const path = join(storage, 'refs', revision);
  const current = await readFile(path, 'utf8').catch(() => undefined);
  if (current?.trim() === commit) return;
  await mkdir(dirname(path), { recursive: true });
  const temp = `${path}.${process.pid}.tmp`;
  await writeFile(temp, commit);
  await rename(temp, path);
}

// ---------------------------------------------------------------------------------------------------------
// Errors

/** Any failure of a download as the error to show: a cancel, a HubError, or (a bug) the error itself. */
function explain(job: Job, error: unknown): unknown {
  const { ctx, repo } = job;
  if (ctx.signal?.aborted) return ctx.failure instanceof HubAbortError ? ctx.failure : new HubAbortError(`the download of ${repo} was cancelled`);
  if (error instanceof HubError) return error;
  if (ctx.failure !== undefined) return ctx.failure;
  if (error instanceof HubApiError) return statusError(job, error.statusCode, error);
  // downloadFileToCacheDir says only "invalid response" when the file it was asked for answers 404.
  if (ctx.lastFailure !== undefined && error instanceof Error && /invalid response|cannot get path info/.test(error.message)) return statusError(job, ctx.lastFailure.status, error);
  if (error instanceof InvalidApiResponseFormatError) {
    return new HubError('http', `the Hub at ${ctx.endpoint.host} answered in an unexpected form (${error.message}); check the Hub address`, { cause: error });
  }
  const code = (error as { code?: unknown } | null)?.code;
  if (typeof code === 'string' && DISK_CODES[code] !== undefined) {
    return new HubError('disk', `could not write to the Hugging Face cache at ${job.cacheDir}: ${DISK_CODES[code]} (${code})`, { cause: error });
  }
  return error;
}

const DISK_CODES: Record<string, string> = {
  ENOSPC: 'the disk is full',
  EDQUOT: 'the disk quota is exceeded',
  EACCES: 'permission denied',
  EPERM: 'permission denied',
  EROFS: 'the file system is read-only',
  EISDIR: 'a folder is in the way',
  ENOTDIR: 'a file is in the way',
  EBUSY: 'a file is in use',
};

function statusError(job: Job, status: number, cause: unknown): HubError {
  const { repo, revision, ctx } = job;
  const last = ctx.lastFailure?.status === status ? ctx.lastFailure : undefined;
  const code = last?.errorCode;
  const page = `${DEFAULT_HUB_ENDPOINT}/${repo}`;
  const options = { status, cause };
  if (code === 'RepoNotFound' || (status === 404 && last?.path.startsWith('/api/') && code === undefined)) {
    // The Hub answers 401 rather than 404 for a missing repo to anonymous users, so as not to reveal private ones.
    const hint = ctx.token === undefined ? '; if it is private, set HF_TOKEN to a Hugging Face access token that can read it' : '';
    return new HubError('not-found', `no model ${repo} on the Hugging Face Hub (${ctx.endpoint.host})${hint}`, options);
  }
  if (code === 'RevisionNotFound') return new HubError('not-found', `no revision ${revision} in model ${repo} on the Hub`, options);
  if (code === 'EntryNotFound' || status === 404) {
    return new HubError('not-found', `${repo} (revision ${revision}) has no ${last === undefined ? 'such file' : printable(decodeURIComponent(last.path.split('/').pop() ?? ''))}`, options);
  }
  if ((status === 401 || status === 403) && last !== undefined && !last.fromEndpoint) {
    return new HubError('http', `the download link of a file of ${repo} was refused (HTTP ${status}; expired?); try again`, options);
  }
  if (status === 401 || status === 403) {
    const what = code === 'GatedRepo' || job.gated ? 'is gated' : 'is gated or private';
    return new HubError(
      'unauthorized',
      ctx.token === undefined
        ? `${repo} ${what}: accept its licence on its model page (${page}) and set HF_TOKEN to a Hugging Face access token of that account`
        : `${repo} ${what} and the token in HF_TOKEN was refused (HTTP ${status}): accept the licence on its model page (${page}) with the account the token belongs to, and check the token`,
      options,
    );
  }
  if (status === 429) return new HubError('http', 'the Hugging Face Hub is rate-limiting requests (HTTP 429); wait a minute and try again', options);
  if (status >= 500) return new HubError('http', `the Hugging Face Hub failed (HTTP ${status}) for ${repo}; try again later`, options);
  return new HubError('http', `the Hugging Face Hub answered HTTP ${status} for ${repo}`, options);
}

// ---------------------------------------------------------------------------------------------------------
// Small helpers

function parseEndpoint(endpoint: string): URL {
  let url: URL;
  try {
    url = new URL(endpoint.trim());
  } catch {
    throw new HubError('invalid-endpoint', `the Hub address "${printable(endpoint)}" is not a valid URL`);
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') throw new HubError('invalid-endpoint', `the Hub address "${printable(endpoint)}" must start with https://`);
  url.search = '';
  url.hash = '';
  return url;
}

function throwIfAborted(signal: AbortSignal | undefined, repo: string): void {
  if (signal?.aborted) throw new HubAbortError(`the download of ${repo} was cancelled`);
}

/** Two downloads of one repo in this process run one after the other (the second then usually hits the cache). */
const locks = new Map<string, Promise<unknown>>();

async function withLock<T>(key: string, signal: AbortSignal | undefined, repo: string, task: () => Promise<T>): Promise<T> {
  for (let current = locks.get(key); current !== undefined; current = locks.get(key)) {
    await new Promise<void>((resolve, reject) => {
      const onAbort = () => reject(new HubAbortError(`the download of ${repo} was cancelled`));
      if (signal?.aborted) return onAbort();
      signal?.addEventListener('abort', onAbort, { once: true });
      void current
        .then(
          () => resolve(),
          () => resolve(),
        )
        .finally(() => signal?.removeEventListener('abort', onAbort));
    });
  }
  const running = task();
  locks.set(key, running);
  try {
    return await running;
  } finally {
    if (locks.get(key) === running) locks.delete(key);
  }
}
