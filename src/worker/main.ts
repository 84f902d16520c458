/**
 * The engine's worker thread: the extension host never computes on its own thread. One job runs at
 * a time; a newer job bumps the shared generation counter, and the running one stops at the next
 * layer boundary.
 */
import { parentPort, workerData } from 'node:worker_threads';
import type { Gpt2Weights } from '../engine/types';
import { inspectionCsv, inspectionJson } from '../export/format';
import { writeChunksToFile } from '../export/write';
import { loadGpt2Folder } from '../model';
import { CancelledError, InspectInputError, runInspection, type InspectionSession } from './session';
import type { WorkerRequest, WorkerResponse } from './protocol';
import { kernelBackend } from './backend';

const port = parentPort;
if (!port) throw new Error('src/worker/main.ts must run in a worker thread');
const generation = new Int32Array((workerData as { cancel: SharedArrayBuffer }).cancel);

// One checkpoint at a time: a GPT-2 XL alone is ~6 GB of float32.
let loaded: { folder: string; model: Promise<Gpt2Weights> } | undefined;
function loadGpt2(folder: string): Promise<Gpt2Weights> {
  if (loaded?.folder !== folder) {
    loaded = { folder, model: loadGpt2Folder(folder) };
    loaded.model.catch(() => (loaded = undefined));
  }
  return loaded.model;
}

let session: InspectionSession | undefined;

function send(message: WorkerResponse, transfer: ArrayBuffer[] = []): void {
  port!.postMessage(message, transfer);
}

const USER_ERRORS = new Set(['ModelFileError', 'ShapeError', 'RangeError', 'InspectInputError']);

function fail(id: number, error: unknown): void {
  if (error instanceof CancelledError) return send({ type: 'error', id, kind: 'cancelled', message: 'cancelled' });
  const e = error instanceof Error ? error : new Error(String(error));
  const user = USER_ERRORS.has(e.name) || ('code' in e && typeof (e as { code: unknown }).code === 'string');
  send({ type: 'error', id, kind: user ? 'user' : 'internal', message: user ? e.message : `${e.name}: ${e.message}\n${e.stack ?? ''}` });
}

function requireSession(resultId: number): InspectionSession {
  if (!session || session.resultId !== resultId) throw new InspectInputError('That inspection is no longer available; run Inspect Selection again.');
  return session;
}

async function handle(request: WorkerRequest): Promise<void> {
  const { id } = request;
  try {
    switch (request.type) {
      case 'inspect': {
        session = undefined; // free the previous result before computing the next
        const { session: next, payload } = await runInspection(request.resultId, request.job, {
          loadGpt2,
          isCancelled: () => Atomics.load(generation, 0) !== request.generation,
          progress: (message, fraction) => send({ type: 'progress', id, message, fraction }),
          backend: kernelBackend,
        });
        session = next;
        return send({ type: 'inspected', id, payload });
      }
      case 'layer': {
        const layer = requireSession(request.resultId).layer(request.layer);
        // Copies: the session keeps its own arrays for later requests.
        const weights = layer.weights.slice();
        const scores = layer.scores.slice();
        return send({ type: 'layer', id, layer: { ...layer, weights, scores } }, [weights.buffer, scores.buffer]);
      }
      case 'trace': {
        const steps = requireSession(request.resultId).trace(request.layer, request.head);
        return send({ type: 'trace', id, steps }, steps.map((s) => s.data.buffer as ArrayBuffer));
      }
      case 'export': {
        const s = requireSession(request.resultId);
        const source = s.exportSource();
        const chunks =
          request.format === 'csv'
            ? inspectionCsv(source, s.tokens)
            : inspectionJson(source, { tokens: s.tokens, decodeId: s.tokenizer.decodeId?.bind(s.tokenizer) }, { ...s.model });
        const bytes = await writeChunksToFile(request.path, chunks);
        return send({ type: 'exported', id, bytes });
      }
    }
  } catch (error) {
    fail(id, error);
  }
}

// Requests are handled strictly in order, so a layer request never races the inspection it belongs to.
let queue = Promise.resolve();
port.on('message', (request: WorkerRequest) => {
  queue = queue.then(() => handle(request));
});
