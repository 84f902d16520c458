import { Worker } from 'node:worker_threads';
import { CancelledError as BaseCancelledError, UserError } from '../errors';
import type { InspectedPayload, InspectJob, WorkerRequest, WorkerResponse } from '../worker/protocol';
import type { ExportProvenance } from '../export/format';
import type { LayerData, TraceStepView } from '../protocol';

/** The worker said the job was replaced by a newer one. */
export class CancelledError extends BaseCancelledError {
  constructor() {
    super('The inspection was cancelled.');
  }
}

/** A problem with the user's input or files, worded for people (the worker's `user` errors). */
export class EngineUserError extends UserError {
  constructor(message: string) {
    super(message);
    this.name = 'EngineUserError';
  }
}

type Pending = {
  request: WorkerRequest;
  resolve: (value: WorkerResponse) => void;
  reject: (error: Error) => void;
  onProgress?: (message: string, fraction: number) => void;
  /** The last progress message, so a job that is still loading a model is not mistaken for stuck. */
  phase?: string;
};

/**
 * Runs the engine in a worker_threads worker, so the extension host's thread never computes.
 * A new inspection cancels the running one through a shared counter; a worker that does not stop
 * within `stuckMs` (one huge layer) is terminated and a fresh one takes over.
 */
export class EngineClient {
  private worker: Worker | undefined;
  private cancel = new Int32Array(new SharedArrayBuffer(4));
  private nextId = 1;
  private generation = 0;
  private pending = new Map<number, Pending>();
  private inspectId: number | undefined;
  /** How many workers were started: the integration tests read it to see the worker is real. */
  workersStarted = 0;

  constructor(
    private readonly workerPath: string,
    private readonly stuckMs = 3000,
  ) {}

  private ensureWorker(): Worker {
    if (this.worker) return this.worker;
    this.cancel = new Int32Array(new SharedArrayBuffer(4));
    Atomics.store(this.cancel, 0, this.generation);
    const worker = new Worker(this.workerPath, { workerData: { cancel: this.cancel.buffer }, resourceLimits: { maxOldGenerationSizeMb: 8192 } });
    this.workersStarted++;
    // Answers still in flight from a worker we replaced must not settle the requests handed to its successor.
    worker.on('message', (message: WorkerResponse) => {
      if (this.worker === worker) this.onMessage(message);
    });
    // Only the current worker's death fails the pending requests; a worker we replaced has handed them on.
    worker.on('error', (error) => {
      if (this.worker === worker) this.failAll(new Error(`The engine worker failed: ${error.message}`));
    });
    worker.on('exit', (code) => {
      if (this.worker !== worker) return;
      this.worker = undefined;
      if (code !== 0) this.failAll(new Error(`The engine worker stopped (exit code ${code}); it restarts with the next inspection.`));
    });
    this.worker = worker;
    return worker;
  }

  private onMessage(message: WorkerResponse): void {
    const pending = this.pending.get(message.id);
    if (!pending) return;
    if (message.type === 'progress') {
      pending.phase = message.message;
      return pending.onProgress?.(message.message, message.fraction);
    }
    this.pending.delete(message.id);
    if (message.id === this.inspectId) this.inspectId = undefined;
    if (message.type === 'error') {
      if (message.kind === 'cancelled') pending.reject(new CancelledError());
      else if (message.kind === 'user') pending.reject(new EngineUserError(message.message));
      else pending.reject(new Error(message.message));
      return;
    }
    pending.resolve(message);
  }

  private failAll(error: Error): void {
    for (const [, p] of this.pending) p.reject(error);
    this.pending.clear();
    this.inspectId = undefined;
  }

  private request<T extends WorkerResponse['type']>(
    build: (id: number) => WorkerRequest,
    expect: T,
    onProgress?: Pending['onProgress'],
  ): { id: number; done: Promise<Extract<WorkerResponse, { type: T }>> } {
    const id = this.nextId++;
    const done = new Promise<WorkerResponse>((resolve, reject) => {
      const request = build(id);
      this.pending.set(id, { request, resolve, reject, onProgress });
      try {
        this.ensureWorker().postMessage(request);
      } catch (error) {
        this.pending.delete(id);
        reject(error instanceof Error ? error : new Error(String(error)));
      }
    }).then((message) => {
      if (message.type !== expect) throw new Error(`engine worker answered ${message.type} to a ${expect} request`);
      return message as Extract<WorkerResponse, { type: T }>;
    });
    return { id, done };
  }

  /** Cancels whatever inspection is running (it rejects with CancelledError). */
  cancelRunning(): void {
    this.generation++;
    Atomics.store(this.cancel, 0, this.generation);
    const running = this.inspectId;
    if (running === undefined || !this.worker) return;
    const worker = this.worker;
    // The worker checks for cancellation between the big matrix products; one that does not yield in
    // time is restarted. Loading a checkpoint is not interrupted: it ends with a check of its own.
    const watch = () => {
      const job = this.pending.get(running);
      if (!job || this.worker !== worker) return;
      if (job.phase?.startsWith('Loading')) {
        setTimeout(watch, this.stuckMs).unref?.();
        return;
      }
      this.worker = undefined;
      void worker.terminate();
      const stuck = this.pending.get(running)!;
      this.pending.delete(running);
      stuck.reject(new CancelledError());
      // Requests queued behind the stuck job (the newer inspection among them) go to a fresh worker;
      // ones about the old result fail there with a clear "no longer available".
      const queued = [...this.pending.values()];
      if (queued.length) {
        const fresh = this.ensureWorker();
        for (const p of queued) fresh.postMessage(p.request);
      }
    };
    setTimeout(watch, this.stuckMs).unref?.();
  }

  async inspect(resultId: number, job: InspectJob, onProgress?: Pending['onProgress']): Promise<InspectedPayload> {
    this.cancelRunning();
    const generation = this.generation;
    const { id, done } = this.request((id) => ({ type: 'inspect', id, generation, resultId, job }), 'inspected', onProgress);
    this.inspectId = id;
    return (await done).payload;
  }

  async layer(resultId: number, layer: number): Promise<LayerData> {
    return (await this.request((id) => ({ type: 'layer', id, resultId, layer }), 'layer').done).layer;
  }

  async trace(resultId: number, layer: number, head: number): Promise<readonly TraceStepView[]> {
    return (await this.request((id) => ({ type: 'trace', id, resultId, layer, head }), 'trace').done).steps;
  }

  async exportTo(resultId: number, format: 'json' | 'csv', path: string, provenance: ExportProvenance = {}): Promise<number> {
    return (await this.request((id) => ({ type: 'export', id, resultId, format, path, provenance }), 'exported').done).bytes;
  }

  dispose(): void {
    this.failAll(new CancelledError());
    void this.worker?.terminate();
    this.worker = undefined;
  }
}
