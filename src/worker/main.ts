/**
 * The engine's worker thread: the extension host never computes on its own thread. Requests run one
 * at a time in arrival order; a newer inspection bumps the shared generation counter, so the running
 * one stops at its next checkpoint, and requests still queued for the old result are dropped.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { CancelledError, errorKind } from '../errors';
import type { Gpt2Weights, TransformerWeights } from '../engine/types';
import { writeChunksToFile } from '../export/write';
import { loadGpt2Folder } from '../model';
import { loadModelFolder } from '../model/modelFolder';
import type { ModelLoaders, ModelTokenizer } from '../pipeline/model';
import { loadFolderTokenizer } from '../tokenize/hf/load';
import { kernelBackend } from './backend';
import { startNodeKernelThreads } from './kernelThreads';
import type { WorkerRequest, WorkerResponse } from './protocol';
import { noLongerAvailable, runInspection, type InspectionSession } from './session';

const port = parentPort;
if (!port) throw new Error('src/worker/main.ts must run in a worker thread');
const generation = new Int32Array((workerData as { cancel: SharedArrayBuffer }).cancel);
// Helper threads for the kernels, one per further core, sharing one WebAssembly.Memory; they end with
// this worker. Where shared memory is unavailable the kernels run here alone, and kernelBackend says why.
startNodeKernelThreads();

// The result the webviews show. It is kept until a newer inspection succeeds, so a cancelled or
// failed run leaves the previous heatmaps fully usable (unless the run reads another checkpoint).
let session: InspectionSession | undefined;

// One checkpoint at a time (a GPT-2 XL alone is ~6 GB of float32), and the tokenizer of its folder.
let loaded: { key: string; model: Promise<Gpt2Weights | TransformerWeights> } | undefined;
let tokenizer: { folder: string; tokenizer: Promise<ModelTokenizer> } | undefined;
function cached<T extends Gpt2Weights | TransformerWeights>(key: string, load: () => Promise<T>): Promise<T> {
  if (loaded?.key !== key) {
    // The previous result holds the previous checkpoint: let both go before the next one is read, so the
    // worker never holds two models (its memory budget counts one).
    session = undefined;
    const model = load();
    loaded = { key, model };
    model.catch(() => {
      if (loaded?.model === model) loaded = undefined;
    });
  }
  return loaded.model as Promise<T>;
}
const loaders: ModelLoaders = {
  loadGpt2: (folder) => cached(`gpt2:${folder}`, () => loadGpt2Folder(folder)),
  loadFolder: (folder) => cached(`folder:${folder}`, () => loadModelFolder(folder)),
  loadTokenizer: (folder) => {
    if (tokenizer?.folder !== folder) {
      const next = { folder, tokenizer: loadFolderTokenizer(folder) };
      tokenizer = next;
      next.tokenizer.catch(() => {
        if (tokenizer === next) tokenizer = undefined;
      });
    }
    return tokenizer.tokenizer;
  },
};

function send(message: WorkerResponse, transfer: ArrayBuffer[] = []): void {
  port!.postMessage(message, transfer);
}

function fail(id: number, error: unknown): void {
  const kind = errorKind(error);
  const e = error instanceof Error ? error : new Error(String(error));
  // Internal errors travel with their stack: the host logs it as a bug report.
  send({ type: 'error', id, kind, message: kind === 'internal' ? `${e.name}: ${e.message}\n${e.stack ?? ''}` : e.message });
}

function requireSession(resultId: number): InspectionSession {
  if (!session || session.resultId !== resultId) throw noLongerAvailable();
  return session;
}

async function handle(request: WorkerRequest): Promise<void> {
  const { id } = request;
  // A layer, trace or export stops as soon as a newer inspection is asked for.
  const asked = Atomics.load(generation, 0);
  const checkpoint = () => {
    if (Atomics.load(generation, 0) !== asked) throw new CancelledError();
  };
  try {
    switch (request.type) {
      case 'inspect': {
        const isCancelled = () => Atomics.load(generation, 0) !== request.generation;
        if (isCancelled()) throw new CancelledError();
        if (request.job.model.kind === 'random') loaded = tokenizer = undefined; // let a big checkpoint go
        else if (request.job.model.folder !== tokenizer?.folder) tokenizer = undefined;
        const { session: next, payload } = await runInspection(request.resultId, request.job, {
          loaders,
          isCancelled,
          progress: (message, fraction) => send({ type: 'progress', id, message, fraction }),
          backend: kernelBackend,
        });
        session = next;
        return send({ type: 'inspected', id, payload });
      }
      case 'layer': {
        const layer = requireSession(request.resultId).layer(request.layer, checkpoint);
        // Copies: the session keeps its own arrays for later requests.
        const weights = layer.weights.slice();
        const scores = layer.scores.slice();
        return send({ type: 'layer', id, layer: { ...layer, weights, scores } }, [weights.buffer, scores.buffer]);
      }
      case 'trace': {
        const steps = requireSession(request.resultId).trace(request.layer, request.head, checkpoint);
        return send({ type: 'trace', id, steps }, steps.map((s) => s.data.buffer as ArrayBuffer));
      }
      case 'export': {
        const chunks = requireSession(request.resultId).exportChunks(request.format, request.provenance, checkpoint);
        const bytes = await writeChunksToFile(request.path, chunks);
        return send({ type: 'exported', id, bytes });
      }
    }
  } catch (error) {
    fail(id, error);
  }
}

const queue: WorkerRequest[] = [];
let running = false;

async function drain(): Promise<void> {
  if (running) return;
  running = true;
  while (queue.length) await handle(queue.shift()!);
  running = false;
}

port.on('message', (request: WorkerRequest) => {
  if (request.type === 'inspect') {
    // Layer and trace requests still waiting are for a result that is about to be replaced.
    for (let i = queue.length - 1; i >= 0; i--) {
      const queued = queue[i];
      if (queued.type === 'layer' || queued.type === 'trace') {
        queue.splice(i, 1);
        send({ type: 'error', id: queued.id, kind: 'cancelled', message: 'cancelled' });
      }
    }
  }
  queue.push(request);
  void drain();
});
