/**
 * A fake Hugging Face Hub on 127.0.0.1 serving what @huggingface/hub calls, in the Hub's URL layout:
 *   GET  /api/models/{repo}/revision/{rev}      model info with the commit sha
 *   GET  /api/models/{repo}/tree/{rev}          the file listing (size, oid, lfs)
 *   POST /api/models/{repo}/paths-info/{rev}    per-file info (oid, lfs, lastCommit)
 *   GET/HEAD /{repo}/resolve/{rev}/{file}       small files directly, *.safetensors by a 302 to /cdn/... (optionally
 *                                               on a second server: another origin), both honouring Range
 * with X-Repo-Commit, ETag, X-Linked-Etag, X-Linked-Size and X-Error-Code as the Hub sends them. Every request is
 * logged, so tests count them and read their headers.
 */
import { createHash } from 'node:crypto';
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface LoggedRequest {
  readonly method: string;
  readonly path: string;
  readonly authorization: string | undefined;
}

export type Behaviour =
  /** Stream in small chunks with a pause between them. */
  | { kind: 'slow'; chunk: number; delayMs: number }
  /** Announce the full Content-Length, send `bytes`, then drop the connection. */
  | { kind: 'truncate'; bytes: number }
  /** Send `bytes`, then nothing (the connection stays open). */
  | { kind: 'stall'; bytes: number };

export interface FakeRepo {
  files: Map<string, Uint8Array>;
  /** Gated: the file downloads need `Authorization: Bearer <token>` (metadata stays public, as on the Hub). */
  gatedToken?: string;
  /** List this SHA-256 for the LFS files instead of the real one. */
  wrongSha?: boolean;
  behaviours?: Map<string, Behaviour>;
}

export interface FakeServer {
  readonly url: string;
  readonly requests: LoggedRequest[];
  /** Set when a slow/stalled body was cut off by the client before it finished. */
  clientHungUp: boolean;
  close(): Promise<void>;
}

export interface HubState {
  repos: Map<string, FakeRepo>;
  /** Absolute base for CDN redirects (another server); relative "/cdn/..." when undefined. */
  cdnBase?: string;
}

export const COMMIT = 'c0ffee0000000000000000000000000000000001';

export async function startServer(handler: (req: IncomingMessage, res: ServerResponse, server: FakeServer) => void): Promise<FakeServer> {
  const httpServer = http.createServer();
  await new Promise<void>((resolve) => httpServer.listen(0, '127.0.0.1', resolve));
  const { port } = httpServer.address() as AddressInfo;
  const server: FakeServer = {
    url: `http://127.0.0.1:${port}`,
    requests: [],
    clientHungUp: false,
    close: () =>
      new Promise<void>((resolve) => {
        httpServer.closeAllConnections();
        httpServer.close(() => resolve());
      }),
  };
  httpServer.on('request', (req: IncomingMessage, res: ServerResponse) => {
    server.requests.push({ method: req.method ?? '', path: req.url ?? '', authorization: req.headers.authorization });
    handler(req, res, server);
  });
  return server;
}

export function sha256(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/** git's blob id, the Hub's oid (and blob name in the cache) for a non-LFS file. */
export function gitOid(bytes: Uint8Array): string {
  return createHash('sha1').update(`blob ${bytes.length}\0`).update(bytes).digest('hex');
}

export function isLfs(name: string): boolean {
  return /\.(safetensors|bin|gguf|pt)$/.test(name);
}

function entry(repo: FakeRepo, name: string, body: Uint8Array) {
  const base = { type: 'file', path: name, size: body.length, oid: gitOid(Buffer.from(`lfs pointer ${name}`)) };
  if (!isLfs(name)) return { ...base, oid: gitOid(body) };
  const oid = repo.wrongSha ? sha256(new Uint8Array([1, 2, 3])) : sha256(body);
  return { ...base, lfs: { oid, size: body.length, pointerSize: 134 } };
}

function json(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'Content-Type': 'application/json', ...headers }).end(JSON.stringify(body));
}

function refused(res: ServerResponse, status: number, code: string, message: string): void {
  json(res, status, { error: message }, { 'X-Error-Code': code });
}

export function hubHandler(state: HubState) {
  return (req: IncomingMessage, res: ServerResponse, server: FakeServer): void => {
    const path = (req.url ?? '').split('?')[0];
    const cdn = /^\/cdn\/(.+)\/([^/]+)$/.exec(path);
    if (cdn !== null) {
      const repo = state.repos.get(decodeURIComponent(cdn[1]));
      const body = repo?.files.get(decodeURIComponent(cdn[2]));
      if (repo === undefined || body === undefined) return void res.writeHead(404).end();
      return sendBody(req, res, body, `"${sha256(body)}"`, repo.behaviours?.get(decodeURIComponent(cdn[2])), server);
    }
    const api = /^\/api\/models\/(.+)\/(revision|tree|paths-info)\/([^/]+)$/.exec(path);
    const resolve = /^\/(.+)\/resolve\/([^/]+)\/(.+)$/.exec(path);
    const repoId = api?.[1] ?? resolve?.[1];
    const revision = decodeURIComponent(api?.[3] ?? resolve?.[2] ?? '');
    if (repoId === undefined) return void res.writeHead(400).end();
    const repo = state.repos.get(repoId);
    // The Hub answers 401 for a missing repo to anonymous users, so as not to reveal private ones.
    if (repo === undefined) return refused(res, req.headers.authorization ? 404 : 401, 'RepoNotFound', 'Repository not found');
    if (revision !== 'main' && revision !== COMMIT) return refused(res, 404, 'RevisionNotFound', 'Invalid rev id');
    const commitHeader = { 'X-Repo-Commit': COMMIT };

    if (api?.[2] === 'revision') {
      return json(res, 200, { _id: 'x', id: repoId, sha: COMMIT, private: false, gated: repo.gatedToken ? 'manual' : false, downloads: 0, likes: 0, lastModified: '2024-01-01T00:00:00.000Z' });
    }
    if (api?.[2] === 'tree') return json(res, 200, [...repo.files].map(([name, body]) => entry(repo, name, body)));
    if (api?.[2] === 'paths-info') {
      let text = '';
      req.on('data', (c: Buffer) => (text += c.toString()));
      req.on('end', () => {
        const { paths } = JSON.parse(text) as { paths: string[] };
        const lastCommit = { id: COMMIT, title: 'Upload', date: '2024-01-01T00:00:00.000Z' };
        json(res, 200, paths.filter((p) => repo.files.has(p)).map((p) => ({ ...entry(repo, p, repo.files.get(p) as Uint8Array), lastCommit })));
      });
      return;
    }
    const file = decodeURIComponent((resolve as RegExpExecArray)[3]);
    if (repo.gatedToken !== undefined && req.headers.authorization !== `Bearer ${repo.gatedToken}`) {
      const status = req.headers.authorization ? 403 : 401;
      return refused(res, status, 'GatedRepo', `Access to model ${repoId} is restricted. You must have access to it and be authenticated to access it.`);
    }
    const body = repo.files.get(file);
    if (body === undefined) return refused(res, 404, 'EntryNotFound', 'Entry not found');
    if (isLfs(file)) {
      const target = `${state.cdnBase ?? ''}/cdn/${encodeURIComponent(repoId)}/${encodeURIComponent(file)}`;
      const linked = repo.wrongSha ? sha256(new Uint8Array([1, 2, 3])) : sha256(body);
      res.writeHead(302, { Location: target, 'X-Linked-Size': String(body.length), 'X-Linked-Etag': `"${linked}"`, ETag: `"${gitOid(body)}"`, ...commitHeader }).end();
      return;
    }
    sendBody(req, res, body, `"${gitOid(body)}"`, repo.behaviours?.get(file), server, commitHeader);
  };
}

function sendBody(req: IncomingMessage, res: ServerResponse, full: Uint8Array, etag: string, behaviour: Behaviour | undefined, server: FakeServer, extra: Record<string, string> = {}): void {
  const range = /^bytes=(\d+)-(\d*)$/.exec(req.headers.range ?? '');
  let body = full;
  const headers: Record<string, string> = { 'Content-Type': 'application/octet-stream', 'Accept-Ranges': 'bytes', ETag: etag, ...extra };
  if (range !== null) {
    const start = Number(range[1]);
    const end = range[2] === '' ? full.length - 1 : Math.min(Number(range[2]), full.length - 1);
    body = full.subarray(start, end + 1);
    res.writeHead(206, { ...headers, 'Content-Range': `bytes ${start}-${end}/${full.length}`, 'Content-Length': String(body.length) });
    return void res.end(req.method === 'HEAD' ? undefined : body);
  }
  res.writeHead(200, { ...headers, 'Content-Length': String(body.length) });
  if (req.method === 'HEAD') return void res.end();
  if (behaviour === undefined) return void res.end(body);
  if (behaviour.kind === 'truncate') {
    res.write(body.subarray(0, behaviour.bytes), () => res.socket?.destroy());
    return;
  }
  if (behaviour.kind === 'stall') {
    res.write(body.subarray(0, behaviour.bytes));
    res.on('close', () => {
      server.clientHungUp = true;
    });
    return;
  }
  let offset = 0;
  let timer: NodeJS.Timeout | undefined;
  res.on('close', () => {
    clearTimeout(timer);
    if (offset < body.length) server.clientHungUp = true;
  });
  const step = () => {
    if (res.destroyed) return;
    const next = Math.min(body.length, offset + behaviour.chunk);
    res.write(body.subarray(offset, next));
    offset = next;
    if (offset >= body.length) res.end();
    else timer = setTimeout(step, behaviour.delayMs);
  };
  step();
}
