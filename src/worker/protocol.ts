/** Messages between the extension host and the engine's worker thread (no vscode, no DOM). */
import type { Truncation } from '../engine/limits';
import type { ExportProvenance } from '../export/format';
import type { ErrorKind } from '../errors';
import type { RandomModelConfig } from '../engine/random';
import type { InspectionSummary, LayerData, ModelView, TokenView, TraceStepView } from '../protocol';
import type { TokenizerName } from '../tokenize/types';

export type ModelSpec =
  | { readonly kind: 'random'; readonly config: RandomModelConfig }
  /** A local Hugging Face GPT-2 folder (config.json + model.safetensors); `label` names it for people. */
  | { readonly kind: 'gpt2'; readonly folder: string; readonly label: string; readonly hubId?: string }
  /** A local Hugging Face folder of any supported family (config.json's model_type says which). */
  | { readonly kind: 'folder'; readonly folder: string; readonly label: string; readonly hubId?: string };

export interface InspectJob {
  readonly text: string;
  readonly tokenizer: TokenizerName;
  readonly maxTokens: number;
  readonly model: ModelSpec;
}

export type WorkerRequest =
  /** `generation` is compared with the shared cancel counter; a newer value cancels this job. */
  | { readonly type: 'inspect'; readonly id: number; readonly generation: number; readonly resultId: number; readonly job: InspectJob }
  | { readonly type: 'layer'; readonly id: number; readonly resultId: number; readonly layer: number }
  | { readonly type: 'trace'; readonly id: number; readonly resultId: number; readonly layer: number; readonly head: number }
  | { readonly type: 'export'; readonly id: number; readonly resultId: number; readonly format: 'json' | 'csv'; readonly path: string; readonly provenance: ExportProvenance };

/** The summary the host turns into an InspectionSummary (it adds the source location and its notes). */
export interface InspectedPayload {
  readonly tokens: readonly TokenView[];
  readonly model: ModelView;
  /** Set when the input was cut to a limit; the host words it. */
  readonly truncation: Truncation | null;
  readonly metrics: InspectionSummary['metrics'];
  readonly topNext: InspectionSummary['topNext'];
  readonly perplexity: number | null;
  readonly thumbnails: InspectionSummary['thumbnails'];
  readonly elapsedMs: number;
  readonly backend: string;
  readonly firstLayer: LayerData;
}

export type WorkerResponse =
  | { readonly type: 'progress'; readonly id: number; readonly message: string; readonly fraction: number }
  | { readonly type: 'inspected'; readonly id: number; readonly payload: InspectedPayload }
  | { readonly type: 'layer'; readonly id: number; readonly layer: LayerData }
  | { readonly type: 'trace'; readonly id: number; readonly steps: readonly TraceStepView[] }
  | { readonly type: 'exported'; readonly id: number; readonly bytes: number }
  /** `kind`: cancelled (a newer job won), user (bad input or file: show as is), internal (a bug; the message has the stack). */
  | { readonly type: 'error'; readonly id: number; readonly kind: ErrorKind; readonly message: string };
