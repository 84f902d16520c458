import assert from 'node:assert/strict';
import { thumbnail } from '../../../src/engine/downsample';

describe('thumbnails', () => {
  it('keep small heads exact and block-average large ones', () => {
    const w = Float32Array.from([1, 0, 0.5, 0.5]);
    assert.deepEqual(Array.from(thumbnail(w, 1, 2, 48)), [1, 0, 0.5, 0.5]);
    const n = 4;
    const big = new Float32Array(n * n).map((_, i) => (i % n === 0 ? 1 : 0)); // all weight on key 0
    const t = thumbnail(big, 1, n, 2);
    assert.deepEqual(Array.from(t), [0.5, 0, 0.5, 0]);
  });
});
