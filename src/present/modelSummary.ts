/** How Choose Model… and the status line name a model's size and shape in words. */

/** "134.5 M", "1.24 B", "28.9 K": parameters as people quote them. */
export function formatParameters(count: number): string {
  if (count >= 1e9) return `${(count / 1e9).toFixed(count >= 1e10 ? 1 : 2)} B`;
  if (count >= 1e6) return `${(count / 1e6).toFixed(count >= 1e8 ? 0 : 1)} M`;
  if (count >= 1e3) return `${(count / 1e3).toFixed(1)} K`;
  return String(count);
}

export interface ModelShapeWords {
  readonly family: string;
  readonly layers: number;
  readonly heads: number;
  readonly kvHeads?: number;
  readonly dModel: number;
  readonly parameters?: number;
  readonly causal: boolean;
  readonly dtypes?: readonly string[];
}

/** "llama · 30 layers × 9 heads (3 KV heads) · d_model 576 · 134.5 M parameters · BF16 · encoder". */
export function modelShapeText(m: ModelShapeWords): string {
  const kv = m.kvHeads !== undefined && m.kvHeads < m.heads ? ` (${m.kvHeads} KV head${m.kvHeads === 1 ? '' : 's'})` : '';
  const parts = [m.family, `${m.layers} layer${m.layers === 1 ? '' : 's'} × ${m.heads} head${m.heads === 1 ? '' : 's'}${kv}`, `d_model ${m.dModel}`];
  if (m.parameters !== undefined) parts.push(`${formatParameters(m.parameters)} parameters`);
  if (m.dtypes?.length) parts.push(m.dtypes.join('+'));
  if (!m.causal) parts.push('bidirectional encoder');
  return parts.join(' · ');
}
