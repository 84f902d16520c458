// The layers and traces the host sent, kept within byte budgets: least recently used entries go first,
// and what is on show always stays. Pure functions over immutable maps (insertion order = LRU order).
import type { LayerData, TraceData } from '../src/protocol';

export const traceKey = (layer: number, head: number) => `${layer}:${head}`;

/** A layer's matrices have the summary's shape: [heads, n, n] each. */
export function layerShapeOk(layer: LayerData, heads: number, n: number): boolean {
  const size = heads * n * n;
  return layer.weights instanceof Float32Array && layer.scores instanceof Float32Array && layer.weights.length === size && layer.scores.length === size;
}

const layerBytes = (l: LayerData) => l.weights.byteLength + l.scores.byteLength;
const traceBytes = (t: TraceData) => t.steps.reduce((sum, s) => sum + s.data.byteLength, 0);

/** The map with `key` moved to the most recently used end, or the same map when it is not there. */
export function touched<K, V>(entries: ReadonlyMap<K, V>, key: K): ReadonlyMap<K, V> {
  const value = entries.get(key);
  if (value === undefined) return entries;
  const m = new Map(entries);
  m.delete(key);
  m.set(key, value);
  return m;
}

/** The layers with `layer` added (most recently used); older ones beyond `maxBytes` go, except layer `keep`. */
export function withLayer(layers: ReadonlyMap<number, LayerData>, layer: LayerData, keep: number | null, maxBytes: number): Map<number, LayerData> {
  const m = new Map(layers);
  m.delete(layer.layer);
  m.set(layer.layer, layer);
  let bytes = 0;
  for (const l of m.values()) bytes += layerBytes(l);
  for (const [index, l] of m) {
    if (bytes <= maxBytes) break;
    if (index === keep) continue;
    m.delete(index);
    bytes -= layerBytes(l);
  }
  return m;
}

/**
 * The traces with `trace` added, bounded by count and by bytes: one GPT-2 XL trace at n=1024 is ~75 MB.
 * The newest always stays.
 */
export function withTrace(traces: ReadonlyMap<string, TraceData>, trace: TraceData, maxTraces: number, maxBytes: number): Map<string, TraceData> {
  const m = new Map(traces);
  const key = traceKey(trace.layer, trace.head);
  m.delete(key);
  m.set(key, trace);
  let bytes = [...m.values()].reduce((sum, t) => sum + traceBytes(t), 0);
  while (m.size > 1 && (m.size > maxTraces || bytes > maxBytes)) {
    const oldest = m.keys().next().value as string;
    bytes -= traceBytes(m.get(oldest)!);
    m.delete(oldest);
  }
  return m;
}
