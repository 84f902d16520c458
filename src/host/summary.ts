import { basename } from 'node:path';
import { EXTENSION_LIMIT_NAMES, truncationNote } from '../present/limits';
import type { InspectionSummary } from '../protocol';
import type { InspectedPayload } from '../worker/protocol';
import type { SourceText } from './selection';

/** The worker's answer and where its text came from, as the views show it; a cut input gets a note in words. */
export function buildSummary(resultId: number, source: SourceText, notes: readonly string[], payload: InspectedPayload, elapsedMs: number): InspectionSummary {
  const { doc, startOffset, endOffset } = source;
  return {
    resultId,
    source: { uri: doc.uri.toString(), fileName: basename(doc.fileName), startOffset, endOffset, startLine: doc.positionAt(startOffset).line },
    tokens: payload.tokens,
    notes: payload.truncation ? [...notes, truncationNote(payload.truncation, EXTENSION_LIMIT_NAMES, 'selection')] : notes,
    model: payload.model,
    truncation: payload.truncation,
    metrics: payload.metrics,
    topNext: payload.topNext,
    perplexity: payload.perplexity,
    thumbnails: payload.thumbnails,
    elapsedMs,
    backend: payload.backend,
  };
}
