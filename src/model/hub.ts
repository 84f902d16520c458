/**
 * Downloads a GPT-2 checkpoint from the Hugging Face Hub into a cache folder, in the layout loadGpt2Folder reads:
 * config.json + model.safetensors, or config.json + model.safetensors.index.json + its shards.
 *
 * Pure Node (node:http/https, node:fs), no editor imports: the extension host wraps it with a progress
 * notification and a cancel button. node:http/https rather than global fetch because VS Code's extension
 * host patches those modules for its proxy settings.
 *
 * Files come from `${endpoint}/${repo}/resolve/${revision}/${file}`, the Hub's layout; large files answer
 * with a redirect to a CDN. Every file is streamed to `<name>.part`, checked, flushed and renamed, so a crash
 * or cancel never leaves a half file under its real name; a `.complete` marker is written last, and a folder
 * with the marker (and every file at its recorded size) is served from the cache without any request.
 */
import { createHash, type Hash } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, open, rename, rm, stat, writeFile, readFile } from 'node:fs/promises';
import http, { type IncomingHttpHeaders, type IncomingMessage } from 'node:http';
import https from 'node:https';
import { basename, join } from 'node:path';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { parseGpt2Config } from './gpt2Checkpoint';
import { parseSafetensorsHeader, readHeaderLength } from './safetensors';
import { UserError } from '../errors';

export const DEFAULT_HUB_ENDPOINT = 'https://huggingface.co';
/** No bytes for this long (while connecting, waiting for headers or streaming the body) fails the download. */
export const DEFAULT_STALL_TIMEOUT_MS = 30_000;
export const MAX_REDIRECTS = 5;
/** The marker written last into a finished folder. */
export const COMPLETE_MARKER = '.complete';

const CONFIG_FILE = 'config.json';
const SINGLE_WEIGHTS = 'model.safetensors';
const INDEX_FILE = 'model.safetensors.index.json';
const PART_SUFFIX = '.part';
/** A plan entry that no file can be named (it contains "/"). */
const SHARDS_PLACEHOLDER = '/shards';
/** config.json and the index are parsed in memory; real ones are kilobytes. */
const MAX_JSON_BYTES = 16 * 1024 * 1024;
const MARKER_FORMAT = 1;
const USER_AGENT = 'attention-inspector (GPT-2 attention viewer; hub.ts)';

export interface HubDownloadProgress {
  /** The file being downloaded (a name inside the repo, e.g. "model.safetensors"). */
  readonly file: string;
  readonly receivedBytes: number;
  /** From Content-Length; undefined when the server did not say. */
  readonly totalBytes: number | undefined;
  /** Bytes of every file of this download so far (never decreases). */
  readonly overallReceived: number;
  /** Sum of every file's size once all of them are known, else undefined. */
  readonly overallTotal: number | undefined;
}

export interface HubDownloadOptions {
  /** Default https://huggingface.co; a mirror or a test server (http://127.0.0.1:PORT) also works. */
  readonly endpoint?: string;
  /** Branch, tag or commit. Default "main". */
  readonly revision?: string;
  /** Hugging Face token, sent as `Authorization: Bearer` to the endpoint only (never to a CDN on another host). */
  readonly token?: string;
  /** Aborting stops the requests, removes the partial file and rejects with an error named "AbortError". */
  readonly signal?: AbortSignal;
  /** Called for every chunk received (the caller should throttle UI updates). Exceptions it throws are ignored. */
  readonly onProgress?: (progress: HubDownloadProgress) => void;
  /** Download again even if the cache folder is complete. */
  readonly force?: boolean;
  /** Default 30 s. */
  readonly stallTimeoutMs?: number;
}

export interface HubDownloadResult {
  /** The cache folder, ready for loadGpt2Folder. */
  readonly folder: string;
  readonly fromCache: boolean;
}

export type HubErrorKind =
  | 'invalid-repo'
  | 'invalid-revision'
  | 'not-found'
  | 'unauthorized'
  | 'not-gpt2'
  | 'invalid-config'
  | 'no-weights'
  | 'invalid-index'
  | 'invalid-weights'
  | 'network'
  | 'timeout'
  | 'truncated'
  | 'checksum'
  | 'http'
  | 'disk';

/** Every download failure except cancellation; `message` is one line meant to be shown as it is. */
export class HubError extends UserError {
  readonly kind: HubErrorKind;
  /** The HTTP status, for errors that came from one. */
  readonly status?: number;

  constructor(kind: HubErrorKind, message: string, options: { status?: number; cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'HubError';
    this.kind = kind;
    if (options.status !== undefined) this.status = options.status;
  }
}

/** Thrown when the signal aborts; named "AbortError" (code ABORT_ERR) like fetch's, so callers can tell a cancel from a failure. */
export class HubAbortError extends Error {
  readonly code = 'ABORT_ERR';
  constructor(message = 'the download was cancelled') {
    super(message);
    this.name = 'AbortError';
  }
}

export function isAbortError(error: unknown): boolean {
  return error instanceof Error && error.name === 'AbortError';
}

// ---------------------------------------------------------------------------------------------------------
// Names

const NAME_PART = /^[A-Za-z0-9_.-]+$/;

/**
 * Checks a Hub model id ("gpt2", "openai-community/gpt2") with the Hub's own rules and returns it without
 * surrounding whitespace. Throws HubError('invalid-repo') with a message saying what is wrong.
 */
export function validateRepoId(id: string): string {
  const fail = (why: string): never => {
    throw new HubError('invalid-repo', `"${printable(id)}" is not a Hugging Face model id: ${why}`);
  };
  if (typeof id !== 'string') return fail('expected a string such as "openai-community/gpt2"');
  const trimmed = id.trim();
  if (trimmed === '') return fail('it is empty; expected "owner/name" or "name", e.g. "openai-community/gpt2"');
  const url = /^(?:https?:\/\/)?(?:www\.)?(?:huggingface\.co|hf\.co)\/(?:models\/)?([^/?#\s]+(?:\/[^/?#\s]+)?)/i.exec(trimmed);
  if (url !== null) {
    const suggestion = url[1].split('/').filter((p) => p !== 'tree' && p !== 'resolve' && p !== 'blob').join('/');
    return fail(`paste only the id, not the page address (e.g. "${printable(suggestion)}")`);
  }
  if (/^[a-z][a-z0-9+.-]*:/i.test(trimmed) || trimmed.includes('://')) return fail('paste only the id such as "openai-community/gpt2", not an address or a path');
  if (/\s/.test(trimmed)) return fail('it contains a space');
  const parts = trimmed.split('/');
  if (parts.length > 2) return fail('expected at most one "/" ("owner/name")');
  if (parts.some((p) => p === '')) return fail('expected "owner/name" with both parts non-empty');
  for (const part of parts) {
    if (!NAME_PART.test(part)) return fail('only letters, digits, "-", "_" and "." are allowed');
    if (part.includes('..') || part.includes('--')) return fail('".." and "--" are not allowed');
    if (/^[-.]|[-.]$/.test(part)) return fail('a part cannot start or end with "-" or "."');
    if (part.length > 96) return fail('a part is longer than 96 characters');
  }
  return trimmed;
}

/** Checks a branch, tag or commit name: git-ref-like characters, no "..", no empty path segments. */
export function validateRevision(revision: string): string {
  const fail = (why: string): never => {
    throw new HubError('invalid-revision', `"${printable(revision)}" is not a valid revision: ${why}`);
  };
  if (typeof revision !== 'string' || revision === '') return fail('expected a branch, tag or commit such as "main"');
  if (revision.length > 256) return fail('it is longer than 256 characters');
  if (!/^[A-Za-z0-9_.\-/]+$/.test(revision)) return fail('only letters, digits, "-", "_", "." and "/" are allowed');
  if (revision.includes('..') || revision.split('/').some((p) => p === '' || p === '.')) return fail('".." and empty path segments are not allowed');
  return revision;
}

/**
 * The cache folder for one repo revision: `<cacheRoot>/models--<owner>--<name>/<revision>`, every part a single
 * safe path segment. "--" cannot occur in ids, and the revision encoding (anything but [A-Za-z0-9.-] becomes
 * "_" + hex) is one-to-one, so different repos and revisions never share a folder.
 */
export function hubCacheFolder(cacheRoot: string, repoId: string, revision: string): string {
  const repo = validateRepoId(repoId);
  const rev = validateRevision(revision);
  const encoded = [...rev].map((c) => (/[A-Za-z0-9.-]/.test(c) ? c : `_${c.charCodeAt(0).toString(16).padStart(2, '0')}`)).join('');
  return join(cacheRoot, `models--${repo.replace('/', '--')}`, encoded);
}

// ---------------------------------------------------------------------------------------------------------
// Download

interface Context {
  readonly repo: string;
  readonly revision: string;
  readonly endpoint: URL;
  readonly token: string | undefined;
  readonly signal: AbortSignal | undefined;
  readonly onProgress: HubDownloadOptions['onProgress'];
  readonly stallMs: number;
  readonly folder: string;
  /** Planned files and their sizes (undefined until known), in download order. */
  readonly plan: Map<string, number | undefined>;
  overallReceived: number;
}

/** Downloads (or finds in the cache) a GPT-2 checkpoint; see the file comment. */
export async function downloadHubModel(repoId: string, cacheRoot: string, options: HubDownloadOptions = {}): Promise<HubDownloadResult> {
  const repo = validateRepoId(repoId);
  const revision = validateRevision(options.revision ?? 'main');
  const endpoint = parseEndpoint(options.endpoint ?? DEFAULT_HUB_ENDPOINT);
  const folder = hubCacheFolder(cacheRoot, repo, revision);
  const token = options.token?.trim() || undefined;
  if (token !== undefined && /[^\x21-\x7e]/.test(token)) throw new HubError('unauthorized', 'the Hugging Face token contains spaces or other characters a token cannot have');
  const stallMs = options.stallTimeoutMs ?? DEFAULT_STALL_TIMEOUT_MS;
  const signal = options.signal;
  throwIfAborted(signal, repo);

  return withFolderLock(folder, signal, repo, async () => {
    if (options.force !== true && (await readCompleteMarker(folder, repo, revision))) return { folder, fromCache: true };
    throwIfAborted(signal, repo);

    await diskStep(folder, () => mkdir(folder, { recursive: true }));
    // A re-download must never leave an old marker next to new, possibly partial files.
    await diskStep(join(folder, COMPLETE_MARKER), () => rm(join(folder, COMPLETE_MARKER), { force: true }));

    const ctx: Context = {
      repo,
      revision,
      endpoint,
      token,
      signal,
      onProgress: options.onProgress,
      stallMs,
      folder,
      plan: new Map([
        [CONFIG_FILE, undefined],
        [SINGLE_WEIGHTS, undefined],
      ]),
      overallReceived: 0,
    };

    await fetchFile(ctx, CONFIG_FILE, { maxBytes: MAX_JSON_BYTES, onMissing: 'repo', validate: (part) => checkConfig(ctx, part) });

    const single = await fetchFile(ctx, SINGLE_WEIGHTS, { onMissing: 'skip', validate: (part) => checkSafetensors(ctx, SINGLE_WEIGHTS, part) });
    let weightFiles: string[];
    if (single !== undefined) {
      weightFiles = [SINGLE_WEIGHTS];
    } else {
      ctx.plan.delete(SINGLE_WEIGHTS);
      ctx.plan.set(INDEX_FILE, undefined);
      // Stands for the shards until the index names them, so no overall total is reported that is too small.
      ctx.plan.set(SHARDS_PLACEHOLDER, undefined);
      let shards: string[] = [];
      const index = await fetchFile(ctx, INDEX_FILE, {
        maxBytes: MAX_JSON_BYTES,
        onMissing: 'skip',
        validate: async (part) => {
          shards = await readShardList(ctx, part);
        },
      });
      if (index === undefined) {
        throw new HubError(
          'no-weights',
          `${repo} (revision ${revision}) has no ${SINGLE_WEIGHTS} or ${INDEX_FILE}; Attention Inspector reads only safetensors checkpoints`,
        );
      }
      ctx.plan.delete(SHARDS_PLACEHOLDER);
      for (const shard of shards) ctx.plan.set(shard, undefined);
      for (const shard of shards) ctx.plan.set(shard, await probeSize(ctx, shard));
      // A model.safetensors left from an older download would shadow the shards in loadGpt2Folder.
      await diskStep(join(folder, SINGLE_WEIGHTS), () => rm(join(folder, SINGLE_WEIGHTS), { force: true }));
      for (const shard of shards) {
        const size = await fetchFile(ctx, shard, { onMissing: 'error', validate: (part) => checkSafetensors(ctx, shard, part) });
        if (size === undefined) throw new HubError('not-found', `${repo} (revision ${revision}): shard ${shard} listed in ${INDEX_FILE} is missing`);
      }
      weightFiles = [INDEX_FILE, ...shards];
    }

    const files = [CONFIG_FILE, ...weightFiles].map((name) => ({ name, size: ctx.plan.get(name) as number }));
    const marker = { format: MARKER_FORMAT, repo, revision, endpoint: endpoint.href, files, downloadedAt: new Date().toISOString() };
    throwIfAborted(signal, repo);
    const markerPath = join(folder, COMPLETE_MARKER);
    await diskStep(markerPath, async () => {
      await writeFile(markerPath + PART_SUFFIX, JSON.stringify(marker, null, 2) + '\n');
      await rename(markerPath + PART_SUFFIX, markerPath);
    });
    return { folder, fromCache: false };
  });
}

/** True when the folder has a marker for this repo and revision and every file it lists has its recorded size. */
async function readCompleteMarker(folder: string, repo: string, revision: string): Promise<boolean> {
  let marker: unknown;
  try {
    marker = JSON.parse(await readFile(join(folder, COMPLETE_MARKER), 'utf8'));
  } catch {
    return false;
  }
  const m = marker as { format?: unknown; repo?: unknown; revision?: unknown; files?: unknown } | null;
  if (m === null || typeof m !== 'object' || m.format !== MARKER_FORMAT || m.repo !== repo || m.revision !== revision) return false;
  if (!Array.isArray(m.files) || !m.files.some((f) => (f as { name?: unknown })?.name === CONFIG_FILE)) return false;
  for (const file of m.files as { name?: unknown; size?: unknown }[]) {
    if (typeof file?.name !== 'string' || !isPlainFileName(file.name) || typeof file.size !== 'number') return false;
    const info = await stat(join(folder, file.name)).catch(() => undefined);
    if (info === undefined || !info.isFile() || info.size !== file.size) return false;
  }
  return true;
}

interface FetchOptions {
  readonly maxBytes?: number;
  /** What a 404 means: the repo/revision does not exist, the file is optional (resolve undefined), or an error. */
  readonly onMissing: 'repo' | 'skip' | 'error';
  /** Checks the finished `.part` file before it gets its real name. */
  readonly validate?: (partPath: string) => Promise<void>;
}

/** Streams one repo file to `<folder>/<name>` via `<name>.part`; resolves to its size, or undefined for a skipped 404. */
async function fetchFile(ctx: Context, name: string, options: FetchOptions): Promise<number | undefined> {
  throwIfAborted(ctx.signal, ctx.repo);
  const { res, linkedEtag, fromEndpoint } = await openUrl(ctx, resolveUrl(ctx, name), 'GET', name);
  if (res.statusCode !== 200) {
    res.resume();
    if (res.statusCode === 404 && options.onMissing === 'skip') return undefined;
    throw statusError(ctx, name, res, fromEndpoint, options.onMissing === 'repo');
  }

  const finalPath = join(ctx.folder, name);
  const partPath = finalPath + PART_SUFFIX;
  const total = contentLength(res.headers);
  if (options.maxBytes !== undefined && total !== undefined && total > options.maxBytes) {
    res.destroy();
    throw new HubError('invalid-config', `${name} of ${ctx.repo} is ${total} bytes, too large for a ${name}`);
  }
  ctx.plan.set(name, total);
  const expectedSha256 = linkedEtag;
  const hash: Hash | undefined = expectedSha256 === undefined ? undefined : createHash('sha256');

  let received = 0;
  const report = () => {
    if (ctx.onProgress === undefined) return;
    const overallTotal = [...ctx.plan.values()].every((s) => s !== undefined) ? [...ctx.plan.values()].reduce((a, b) => (a as number) + (b as number), 0) : undefined;
    try {
      ctx.onProgress({ file: name, receivedBytes: received, totalBytes: total, overallReceived: ctx.overallReceived, overallTotal });
    } catch {
      // A failing progress callback must not break the download.
    }
  };

  let stallError: HubError | undefined;
  let timer: NodeJS.Timeout | undefined;
  const kick = () => {
    if (timer !== undefined) {
      timer.refresh();
      return;
    }
    timer = setTimeout(() => {
      stallError = new HubError(
        'timeout',
        `the download of ${name} from ${ctx.repo} stalled (no data for ${formatSeconds(ctx.stallMs)}); check your connection and try again, or pick a local model folder instead`,
      );
      res.destroy(stallError);
    }, ctx.stallMs);
  };
  let tooLarge: HubError | undefined;
  const meter = new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      received += chunk.length;
      ctx.overallReceived += chunk.length;
      if (options.maxBytes !== undefined && received > options.maxBytes) {
        tooLarge = new HubError('invalid-config', `${name} of ${ctx.repo} is larger than ${options.maxBytes} bytes, too large for a ${name}`);
        callback(tooLarge);
        return;
      }
      hash?.update(chunk);
      kick();
      report();
      callback(null, chunk);
    },
  });

  // pipeline() destroys every stream with the first error, so the stream that failed first tells disk from network.
  let firstFailure: { source: 'network' | 'disk'; error: unknown } | undefined;
  const out = createWriteStream(partPath);
  res.on('error', (error) => {
    firstFailure ??= { source: 'network', error };
  });
  out.on('error', (error) => {
    firstFailure ??= { source: 'disk', error };
  });

  try {
    report();
    kick();
    try {
      await pipeline(res, meter, out, ctx.signal === undefined ? {} : { signal: ctx.signal });
    } finally {
      clearTimeout(timer);
    }
    if (total !== undefined && received !== total) throw truncatedError(ctx, name, received, total);
    if (hash !== undefined && hash.digest('hex') !== expectedSha256) {
      throw new HubError('checksum', `${name} from ${ctx.repo} does not match the Hub's SHA-256 checksum (corrupted in transit?); try again`);
    }
    ctx.plan.set(name, received);
    throwIfAborted(ctx.signal, ctx.repo);
    await options.validate?.(partPath);
    await diskStep(finalPath, async () => {
      // Flush before the rename, so a crash cannot leave an empty or short file under the real name.
      const handle = await open(partPath, 'r+');
      try {
        await handle.sync();
      } finally {
        await handle.close();
      }
      await rename(partPath, finalPath);
    });
    return received;
  } catch (error) {
    res.destroy();
    if (!out.closed) {
      out.destroy();
      await new Promise<void>((resolve) => out.once('close', () => resolve()));
    }
    await rm(partPath, { force: true }).catch(() => undefined);
    if (ctx.signal?.aborted) throw new HubAbortError(`the download of ${ctx.repo} was cancelled`);
    if (error instanceof HubError || isAbortError(error)) throw error;
    if (firstFailure?.source === 'disk') throw diskError(partPath, firstFailure.error);
    if (stallError !== undefined) throw stallError;
    if (tooLarge !== undefined) throw tooLarge;
    if (total !== undefined && received < total) throw truncatedError(ctx, name, received, total);
    throw networkError(ctx, error, name);
  }
}

/** The size of a file without downloading it: HEAD, reading the Hub's X-Linked-Size on a CDN redirect. Best effort. */
async function probeSize(ctx: Context, name: string): Promise<number | undefined> {
  try {
    const { res, linkedSize } = await openUrl(ctx, resolveUrl(ctx, name), 'HEAD', name);
    res.resume();
    if (res.statusCode === 200) return contentLength(res.headers) ?? linkedSize;
    if (res.statusCode !== undefined && res.statusCode >= 300 && res.statusCode < 400) return linkedSize;
    return undefined;
  } catch (error) {
    if (isAbortError(error)) throw error;
    return undefined; // the GET will report the real problem
  }
}

interface Opened {
  readonly res: IncomingMessage;
  /** The SHA-256 the Hub announced for an LFS file (X-Linked-Etag on its redirect), if any. */
  readonly linkedEtag: string | undefined;
  readonly linkedSize: number | undefined;
  /** Whether the final response came from the endpoint's origin (so 401/403 are about the repo, not a CDN link). */
  readonly fromEndpoint: boolean;
}

/**
 * Requests `start`, following up to MAX_REDIRECTS redirects; resolves at the final response's headers (any status).
 * The token goes only to the endpoint's origin. HEAD stops at a cross-origin redirect (signed CDN links are
 * method-specific) and reports the X-Linked-Size it carried.
 */
async function openUrl(ctx: Context, start: URL, method: 'GET' | 'HEAD', name: string): Promise<Opened> {
  let url = start;
  let linkedEtag: string | undefined;
  let linkedSize: number | undefined;
  for (let hop = 0; ; hop++) {
    const sameOrigin = url.origin === ctx.endpoint.origin;
    const headers: Record<string, string> = { 'User-Agent': USER_AGENT, 'Accept-Encoding': 'identity' };
    if (sameOrigin && ctx.token !== undefined) headers.Authorization = `Bearer ${ctx.token}`;
    const res = await sendRequest(ctx, url, method, headers, name);
    linkedEtag = sha256FromEtag(res.headers['x-linked-etag']) ?? linkedEtag;
    linkedSize = parseSize(res.headers['x-linked-size']) ?? linkedSize;
    const status = res.statusCode ?? 0;
    if (![301, 302, 303, 307, 308].includes(status)) return { res, linkedEtag, linkedSize, fromEndpoint: sameOrigin };
    const location = res.headers.location;
    res.resume();
    if (location === undefined) throw new HubError('http', `the Hub answered HTTP ${status} for ${name} of ${ctx.repo} without a Location to follow`, { status });
    let next: URL;
    try {
      next = new URL(location, url);
    } catch {
      throw new HubError('http', `the Hub redirected ${name} of ${ctx.repo} to an invalid address`, { status });
    }
    if (next.protocol !== 'https:' && next.protocol !== 'http:') throw new HubError('http', `the Hub redirected ${name} of ${ctx.repo} to a non-HTTP address`, { status });
    if (url.protocol === 'https:' && next.protocol === 'http:') throw new HubError('http', `the Hub redirected ${name} of ${ctx.repo} from HTTPS to plain HTTP; refusing`, { status });
    if (hop >= MAX_REDIRECTS) throw new HubError('http', `too many redirects (more than ${MAX_REDIRECTS}) while downloading ${name} of ${ctx.repo}`, { status });
    if (method === 'HEAD' && next.origin !== url.origin) return { res, linkedEtag, linkedSize, fromEndpoint: sameOrigin };
    url = next;
  }
}

/** One request; resolves at the response headers. Abort and the stall timeout destroy it. */
function sendRequest(ctx: Context, url: URL, method: 'GET' | 'HEAD', headers: Record<string, string>, name: string): Promise<IncomingMessage> {
  return new Promise((resolve, reject) => {
    if (ctx.signal?.aborted) {
      reject(new HubAbortError(`the download of ${ctx.repo} was cancelled`));
      return;
    }
    const transport = url.protocol === 'https:' ? https : http;
    const req = transport.request(url, { method, headers });
    const timer = setTimeout(() => {
      req.destroy(
        new HubError(
          'timeout',
          `the Hugging Face Hub at ${ctx.endpoint.host} did not answer for ${formatSeconds(ctx.stallMs)} (requesting ${name}); check your connection or proxy, or pick a local model folder instead`,
        ),
      );
    }, ctx.stallMs);
    const onAbort = () => req.destroy(new HubAbortError(`the download of ${ctx.repo} was cancelled`));
    ctx.signal?.addEventListener('abort', onAbort, { once: true });
    const cleanup = () => {
      clearTimeout(timer);
      ctx.signal?.removeEventListener('abort', onAbort);
    };
    req.on('response', (res) => {
      cleanup();
      resolve(res);
    });
    req.on('error', (error) => {
      cleanup();
      reject(error instanceof HubError || isAbortError(error) ? error : networkError(ctx, error, name));
    });
    req.end();
  });
}

function resolveUrl(ctx: Context, name: string): URL {
  const base = ctx.endpoint.href.replace(/\/+$/, '');
  return new URL(`${base}/${ctx.repo}/resolve/${encodeURIComponent(ctx.revision)}/${encodeURIComponent(name)}`);
}

function parseEndpoint(endpoint: string): URL {
  let url: URL;
  try {
    url = new URL(endpoint);
  } catch {
    throw new HubError('network', `the Hub address "${printable(endpoint)}" is not a valid URL`);
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') throw new HubError('network', `the Hub address "${printable(endpoint)}" must start with https://`);
  url.search = '';
  url.hash = '';
  return url;
}

// ---------------------------------------------------------------------------------------------------------
// Checks of downloaded files

async function readJsonPart(ctx: Context, name: string, partPath: string, kind: HubErrorKind): Promise<unknown> {
  const text = await diskStep(partPath, () => readFile(partPath, 'utf8'));
  try {
    return JSON.parse(text);
  } catch (cause) {
    throw new HubError(kind, `${name} of ${ctx.repo} is not valid JSON (${cause instanceof Error ? cause.message : String(cause)})`, { cause });
  }
}

async function checkConfig(ctx: Context, partPath: string): Promise<void> {
  const json = await readJsonPart(ctx, CONFIG_FILE, partPath, 'invalid-config');
  const modelType = (json as { model_type?: unknown } | null)?.model_type;
  if (typeof modelType === 'string' && modelType !== 'gpt2') {
    throw new HubError('not-gpt2', `${ctx.repo} is a ${printable(modelType)} model; Attention Inspector runs GPT-2 checkpoints`);
  }
  try {
    parseGpt2Config(json, CONFIG_FILE);
  } catch (cause) {
    throw new HubError('invalid-config', `${ctx.repo}: ${cause instanceof Error ? cause.message : String(cause)}`, { cause });
  }
}

/** The shard files an index lists (weight_map values, deduplicated, in first-seen order), checked like loadGpt2Folder does. */
async function readShardList(ctx: Context, partPath: string): Promise<string[]> {
  const index = await readJsonPart(ctx, INDEX_FILE, partPath, 'invalid-index');
  const weightMap = (index as { weight_map?: unknown } | null)?.weight_map;
  if (typeof weightMap !== 'object' || weightMap === null || Array.isArray(weightMap)) {
    throw new HubError('invalid-index', `${INDEX_FILE} of ${ctx.repo}: "weight_map" must be an object mapping tensor names to shard files`);
  }
  const shards = new Set<string>();
  for (const [tensor, shard] of Object.entries(weightMap)) {
    // Shards must sit next to the index (a path would let a downloaded index write anywhere) and be safetensors.
    if (typeof shard !== 'string' || !isPlainFileName(shard) || !shard.endsWith('.safetensors') || [SINGLE_WEIGHTS, CONFIG_FILE, INDEX_FILE].includes(shard)) {
      throw new HubError(
        'invalid-index',
        `${INDEX_FILE} of ${ctx.repo}: the shard for "${printable(tensor)}" must be a .safetensors file name in the same folder, got ${printable(JSON.stringify(shard) ?? String(shard))}`,
      );
    }
    shards.add(shard);
  }
  if (shards.size === 0) throw new HubError('invalid-index', `${INDEX_FILE} of ${ctx.repo} lists no shard files`);
  return [...shards];
}

/** Reads only the safetensors header, so an HTML error page or a corrupt file never gets a real name. */
async function checkSafetensors(ctx: Context, name: string, partPath: string): Promise<void> {
  const handle = await diskStep(partPath, () => open(partPath, 'r'));
  try {
    const size = (await handle.stat()).size;
    const first = new Uint8Array(Math.min(8, size));
    await handle.read(first, 0, first.length, 0);
    const headerLength = readHeaderLength(first, size);
    const header = new Uint8Array(headerLength);
    const { bytesRead } = await handle.read(header, 0, headerLength, 8);
    if (bytesRead !== headerLength) throw new Error('file ended inside the header');
    parseSafetensorsHeader(header, size - 8 - headerLength);
  } catch (cause) {
    if (cause instanceof HubError) throw cause;
    throw new HubError('invalid-weights', `${name} of ${ctx.repo} is not a valid safetensors file (${cause instanceof Error ? cause.message : String(cause)})`, {
      cause,
    });
  } finally {
    await handle.close();
  }
}

// ---------------------------------------------------------------------------------------------------------
// Errors

function statusError(ctx: Context, name: string, res: IncomingMessage, fromEndpoint: boolean, missingMeansRepo: boolean): HubError {
  const status = res.statusCode ?? 0;
  const code = headerText(res.headers['x-error-code']);
  const { repo, revision } = ctx;
  if (code === 'RepoNotFound' && (status === 401 || status === 404)) {
    // The Hub answers 401 rather than 404 for a missing repo to anonymous users, so as not to reveal private ones.
    const privateHint = ctx.token === undefined ? ', or it is private; if it is private, set a Hugging Face token' : '';
    return new HubError('not-found', `no model ${repo} on the Hub (revision ${revision})${privateHint}`, { status });
  }
  if (code === 'RevisionNotFound') return new HubError('not-found', `no revision ${revision} in model ${repo} on the Hub`, { status });
  if (code === 'GatedRepo') {
    return new HubError(
      'unauthorized',
      ctx.token === undefined
        ? `${repo} is gated; accept its terms on its Hub page and set a Hugging Face token`
        : `${repo} is gated and the Hugging Face token has no access yet; accept the model's terms on its Hub page`,
      { status },
    );
  }
  if ((status === 401 || status === 403) && !fromEndpoint) {
    return new HubError('http', `the download link for ${name} of ${repo} was refused (HTTP ${status}; expired?); try again`, { status });
  }
  if (status === 401 || status === 403) {
    return new HubError(
      'unauthorized',
      ctx.token === undefined
        ? `${repo} is gated or private; set a Hugging Face token (and accept the model's terms on its Hub page if it is gated)`
        : `${repo} is gated or private and the Hugging Face token was refused (HTTP ${status}); check the token and that you accepted the model's terms on its Hub page`,
      { status },
    );
  }
  if (status === 404) {
    if (code === 'EntryNotFound' && missingMeansRepo) {
      return new HubError('not-found', `${repo} (revision ${revision}) has no ${name}; expected a Transformers GPT-2 model`, { status });
    }
    if (missingMeansRepo) return new HubError('not-found', `no model ${repo} on the Hub (revision ${revision})`, { status });
    return new HubError('not-found', `${repo} (revision ${revision}) has no ${name}`, { status });
  }
  if (status === 429) return new HubError('http', `the Hugging Face Hub is rate-limiting requests (HTTP 429); wait a minute and try again`, { status });
  if (status >= 500) return new HubError('http', `the Hugging Face Hub failed (HTTP ${status}) for ${name} of ${repo}; try again later`, { status });
  return new HubError('http', `the Hugging Face Hub answered HTTP ${status} for ${name} of ${repo}`, { status });
}

function truncatedError(ctx: Context, name: string, received: number, total: number): HubError {
  return new HubError('truncated', `the download of ${name} from ${ctx.repo} was cut short (received ${received} of ${total} bytes); try again`);
}

const NETWORK_CODES: Record<string, string> = {
  ECONNREFUSED: 'connection refused',
  ENOTFOUND: 'host not found',
  EAI_AGAIN: 'DNS lookup failed',
  ECONNRESET: 'connection reset',
  ETIMEDOUT: 'connection timed out',
  EHOSTUNREACH: 'host unreachable',
  ENETUNREACH: 'network unreachable',
  EPIPE: 'connection closed',
  ECONNABORTED: 'connection aborted',
};

function networkError(ctx: Context, error: unknown, name: string): HubError {
  const code = (error as { code?: unknown } | null)?.code;
  const message = error instanceof Error ? error.message : String(error);
  const reason = typeof code === 'string' ? (NETWORK_CODES[code] ? `${NETWORK_CODES[code]}, ${code}` : code) : message;
  const tls = typeof code === 'string' && /CERT|SSL|TLS/.test(code) ? ' (a proxy or firewall may be intercepting HTTPS)' : '';
  return new HubError(
    'network',
    `could not reach the Hugging Face Hub at ${ctx.endpoint.host} while downloading ${name} (${reason})${tls}; check your connection or proxy, or pick a local model folder instead`,
    { cause: error },
  );
}

function diskError(path: string, error: unknown): HubError {
  const code = (error as { code?: unknown } | null)?.code;
  const reasons: Record<string, string> = {
    ENOSPC: 'the disk is full',
    EDQUOT: 'the disk quota is exceeded',
    EACCES: 'permission denied',
    EPERM: 'permission denied',
    EROFS: 'the file system is read-only',
    EISDIR: 'a folder is in the way',
    ENOTDIR: 'a file is in the way',
    EBUSY: 'the file is in use',
  };
  const reason = typeof code === 'string' ? `${reasons[code] ?? 'error'} (${code})` : error instanceof Error ? error.message : String(error);
  return new HubError('disk', `could not write ${path}: ${reason}`, { cause: error });
}

/** Runs a file-system step, turning its failure into a one-line disk error. */
async function diskStep<T>(path: string, step: () => Promise<T>): Promise<T> {
  try {
    return await step();
  } catch (error) {
    if (error instanceof HubError || isAbortError(error)) throw error;
    throw diskError(path, error);
  }
}

function throwIfAborted(signal: AbortSignal | undefined, repo: string): void {
  if (signal?.aborted) throw new HubAbortError(`the download of ${repo} was cancelled`);
}

// ---------------------------------------------------------------------------------------------------------
// Small helpers

/** Two downloads into the same folder in this process run one after the other (the second then usually hits the cache). */
const folderLocks = new Map<string, Promise<unknown>>();

async function withFolderLock<T>(folder: string, signal: AbortSignal | undefined, repo: string, task: () => Promise<T>): Promise<T> {
  for (let current = folderLocks.get(folder); current !== undefined; current = folderLocks.get(folder)) {
    await waitOrAbort(current, signal, repo);
  }
  const running = task();
  folderLocks.set(folder, running);
  try {
    return await running;
  } finally {
    if (folderLocks.get(folder) === running) folderLocks.delete(folder);
  }
}

function waitOrAbort(promise: Promise<unknown>, signal: AbortSignal | undefined, repo: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const onAbort = () => reject(new HubAbortError(`the download of ${repo} was cancelled`));
    if (signal?.aborted) {
      onAbort();
      return;
    }
    signal?.addEventListener('abort', onAbort, { once: true });
    promise.then(
      () => resolve(),
      () => resolve(),
    ).finally(() => signal?.removeEventListener('abort', onAbort));
  });
}

function isPlainFileName(name: string): boolean {
  // eslint-disable-next-line no-control-regex -- control characters are exactly what must be refused
  return name !== '' && name !== '.' && name !== '..' && basename(name) === name && !/[\\/:\x00-\x1f]/.test(name) && !name.startsWith('.');
}

function contentLength(headers: IncomingHttpHeaders): number | undefined {
  return parseSize(headers['content-length']);
}

function parseSize(value: string | string[] | undefined): number | undefined {
  const text = headerText(value);
  if (text === undefined || !/^\d+$/.test(text.trim())) return undefined;
  const n = Number(text.trim());
  return Number.isSafeInteger(n) ? n : undefined;
}

function sha256FromEtag(value: string | string[] | undefined): string | undefined {
  const text = headerText(value)?.trim().replace(/^W\//, '').replace(/^"|"$/g, '').toLowerCase();
  return text !== undefined && /^[0-9a-f]{64}$/.test(text) ? text : undefined;
}

function headerText(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

function formatSeconds(ms: number): string {
  return ms >= 1000 ? `${Math.round(ms / 100) / 10} s` : `${ms} ms`;
}

/** Keeps user text in messages short and on one line. */
function printable(value: string): string {
  // eslint-disable-next-line no-control-regex -- control characters are exactly what must be replaced
  const oneLine = String(value).replace(/[\x00-\x1f\x7f]/g, '?');
  return oneLine.length > 80 ? `${oneLine.slice(0, 77)}...` : oneLine;
}
