/** What an index's weight_map may name: one rule for the loader, the folder summary and the Hub download. */

/**
 * Why `name` cannot be a shard, or undefined: a shard is a .safetensors file in the index's own folder, so a
 * downloaded index cannot point anywhere else on disk (no separators, no "..", no hidden or control names).
 */
export function shardNameProblem(name: unknown): string | undefined {
  if (typeof name !== 'string' || name === '') return 'must be a file name';
  // eslint-disable-next-line no-control-regex -- control characters are exactly what must be refused
  if (/[\\/:\x00-\x1f]/.test(name) || name.startsWith('.')) return 'must be a file name in the same folder';
  if (!name.endsWith('.safetensors') || name === 'model.safetensors') return 'must be a .safetensors shard file';
  return undefined;
}
