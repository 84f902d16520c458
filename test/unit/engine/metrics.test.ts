import assert from 'node:assert/strict';
import { headMetrics } from '../../../src/engine/metrics';
import { tensor } from '../../../src/engine/tensor';

describe('head metrics', () => {
  it('a diagonal head: zero entropy, all mass on self, distance 0', () => {
    const eye = tensor([1, 3, 3], [1, 0, 0, 0, 1, 0, 0, 0, 1]);
    const [m] = headMetrics(eye);
    assert.equal(m.entropy, 0);
    assert.equal(m.diagonalMass, 1);
    assert.equal(m.meanDistance, 0);
    assert.equal(m.sinkMass, 1 / 3);
    assert.equal(m.maxWeight, 1);
    assert.equal(m.previousTokenMass, 0);
  });

  it('a previous-token head and a sink head', () => {
    const prev = [1, 0, 0, 1, 0, 0, 0, 1, 0];
    const sink = [1, 0, 0, 1, 0, 0, 1, 0, 0];
    const [p, s] = headMetrics(tensor([2, 3, 3], [...prev, ...sink]));
    assert.equal(p.previousTokenMass, 1);
    assert.equal(p.meanDistance, 2 / 3);
    assert.equal(s.sinkMass, 1);
    assert.equal(s.meanDistance, (0 + 1 + 2) / 3);
  });

  it('a uniform head has entropy ln(n)', () => {
    const [m] = headMetrics(tensor([1, 4, 4], new Array(16).fill(0.25)));
    assert.ok(Math.abs(m.entropy - Math.log(4)) < 1e-6);
    assert.equal(m.maxWeight, 0.25);
  });

  it('names the op and the shape of a wrong input', () => {
    assert.throws(() => headMetrics(tensor([4, 4])), /headMetrics: attention weights has shape \[4, 4\], expected \[\*, \*, \*\]/);
  });
});

describe('head metrics over masked rows', () => {
  it('zero weights (masked keys) add nothing, and a NaN weight still reaches the mean distance', () => {
    const causal = tensor([1, 3, 3], [1, 0, 0, 0.25, 0.75, 0, 0.5, 0.25, 0.25]);
    const [m] = headMetrics(causal);
    const rowEntropy = (ps: number[]) => ps.reduce((s, p) => s - p * Math.log(p), 0);
    assert.equal(m.entropy, (rowEntropy([Math.fround(0.25), Math.fround(0.75)]) + rowEntropy([0.5, 0.25, 0.25])) / 3);
    assert.equal(m.meanDistance, (0.25 * 1 + 0.5 * 2 + 0.25 * 1) / 3);
    const [withNaN] = headMetrics(tensor([1, 2, 2], [1, 0, NaN, 0]));
    assert.ok(Number.isNaN(withNaN.meanDistance));
    assert.equal(withNaN.maxWeight, 1);
  });
});
