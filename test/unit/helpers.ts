import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

export const FIXTURES = join(__dirname, '..', 'fixtures');

export function readJson<T = unknown>(...parts: string[]): T {
  return JSON.parse(readFileSync(join(FIXTURES, ...parts), 'utf8')) as T;
}

/** Relative tolerance the brief sets against PyTorch; the absolute floor only matters for values near 0. */
export const RTOL = 1e-4;
export const ATOL = 1e-6;

type Nested = number | null | Nested[];

/** Flattens nested JSON numbers (null = masked = -Infinity). */
export function flatten(x: Nested): number[] {
  if (x === null) return [-Infinity];
  if (typeof x === 'number') return [x];
  return x.flatMap(flatten);
}

/** Asserts |actual − expected| ≤ RTOL·|expected| + ATOL everywhere; -Infinity must match exactly. */
export function assertClose(actual: ArrayLike<number>, expected: Nested | ArrayLike<number>, what: string, rtol = RTOL, atol = ATOL): void {
  const exp = Array.isArray(expected) || expected === null || typeof expected === 'number' ? flatten(expected as Nested) : Array.from(expected as ArrayLike<number>);
  assert.equal(actual.length, exp.length, `${what}: length ${actual.length} vs expected ${exp.length}`);
  let worst = 0;
  let worstAt = -1;
  for (let i = 0; i < exp.length; i++) {
    const a = actual[i];
    const e = exp[i];
    if (!Number.isFinite(e)) {
      assert.ok(Object.is(a, e) || (Number.isNaN(a) && Number.isNaN(e)), `${what}[${i}]: expected ${e}, got ${a}`);
      continue;
    }
    const excess = Math.abs(a - e) - (rtol * Math.abs(e) + atol);
    if (!(excess <= worst)) {
      worst = Number.isNaN(excess) ? Infinity : excess;
      worstAt = i;
    }
  }
  assert.ok(worstAt < 0, `${what}[${worstAt}]: got ${actual[worstAt]}, expected ${exp[worstAt]} (beyond rtol ${rtol}, atol ${atol})`);
}
