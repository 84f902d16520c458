import assert from 'node:assert/strict';
import fc from 'fast-check';
import { explainCell, explainMean, selectEntries, selectTerms, type DotTerm } from '../../../webview/explain';
import { Controller } from '../../../webview/controller';
import { explanationFor, findStep, stepRow } from '../../../webview/traceModel';
import { engineResult, FakeTransport } from './helpers';

/** Float32 rounding of a dot product of `d` terms: a generous bound on the engine's error. */
const tol = (magnitude: number, d: number) => 4 * d * 2 ** -24 * Math.max(1, magnitude);

describe('explain a cell', () => {
  const r = engineResult({ n: 7, dModel: 32, heads: 2 }); // headDim 16
  const n = r.n;

  for (const [head, query, key] of [
    [0, 3, 1],
    [1, 6, 6],
    [1, 0, 0],
    [0, 5, 2],
  ] as const) {
    it(`head ${head}, query ${query} → key ${key}: the terms sum to the engine's score·√d_k and the weight matches`, () => {
      const trace = r.trace(0, head);
      const q = stepRow(findStep(trace, 'queries'), query);
      const k = stepRow(findStep(trace, 'keys'), key);
      const raw = stepRow(findStep(trace, 'rawScores'), query);
      assert.ok(q && k && raw);
      const base = head * n * n + query * n;
      const scoresRow = r.layers[0].scores.subarray(base, base + n);
      const weightsRow = r.layers[0].weights.subarray(base, base + n);
      const ex = explainCell({ query, key, headDim: r.headDim, q, k, scoresRow, weightsRow, rawScore: raw[key] });
      assert.ok(ex.dot);
      assert.equal(ex.dot.terms.length, 16);
      const termSum = ex.dot.terms.reduce((s, t) => s + t.product, 0);
      const engineScore = scoresRow[key];
      assert.ok(Math.abs(termSum - engineScore * Math.sqrt(r.headDim)) <= tol(Math.abs(termSum), 16), `Σ terms ${termSum} vs score·√d_k ${engineScore * 4}`);
      assert.ok(Math.abs(ex.dot.sum - raw[key]) <= tol(Math.abs(raw[key]), 16));
      assert.ok(Math.abs((ex.scaledRecomputed ?? NaN) - engineScore) <= tol(Math.abs(engineScore), 16));
      assert.equal(ex.score, engineScore, 'the result shown is the engine’s stored score');
      assert.equal(ex.weight, weightsRow[key], 'the result shown is the engine’s stored weight');
      assert.ok(Math.abs(ex.weightRecomputed - weightsRow[key]) < 1e-6, `${ex.weightRecomputed} vs ${weightsRow[key]}`);
      // Causal: keys after the query are masked, the rest are softmax entries that sum to 1.
      assert.deepEqual(ex.maskedKeys, Array.from({ length: n - query - 1 }, (_, i) => query + 1 + i));
      assert.equal(ex.entries.length, query + 1);
      assert.ok(Math.abs(ex.entries.reduce((s, e) => s + e.recomputed, 0) - 1) < 1e-9);
      assert.equal(Math.max(...ex.entries.map((e) => e.shifted)), 0, 'the row maximum is subtracted');
      for (const e of ex.entries) assert.ok(Math.abs(e.recomputed - e.weight) < 1e-6);
    });
  }

  it('a masked cell: score −∞, weight 0, but the dot product is still shown', () => {
    const trace = r.trace(0, 1);
    const query = 2, key = 5;
    const base = n * n + query * n;
    const ex = explainCell({
      query,
      key,
      headDim: r.headDim,
      q: stepRow(findStep(trace, 'queries'), query),
      k: stepRow(findStep(trace, 'keys'), key),
      scoresRow: r.layers[0].scores.subarray(base, base + n),
      weightsRow: r.layers[0].weights.subarray(base, base + n),
    });
    assert.equal(ex.masked, true);
    assert.equal(ex.score, -Infinity);
    assert.equal(ex.weight, 0);
    assert.equal(ex.weightRecomputed, 0);
    assert.ok(ex.maskedKeys.includes(key));
    assert.ok(ex.dot && Number.isFinite(ex.dot.sum));
  });

  it('without the trace, explains the softmax and leaves the dot product for later', () => {
    const ex = explainCell({ query: 1, key: 0, headDim: 4, q: null, k: null, scoresRow: Float32Array.of(0.5, 1.5, -Infinity), weightsRow: Float32Array.of(0.2689, 0.7311, 0) });
    assert.equal(ex.dot, null);
    assert.equal(ex.scaledRecomputed, null);
    assert.equal(ex.rowMax, 1.5);
    assert.ok(Math.abs(ex.expSum - (Math.exp(-1) + 1)) < 1e-12);
    assert.ok(Math.abs(ex.weightRecomputed - Math.exp(-1) / (Math.exp(-1) + 1)) < 1e-12);
  });

  it('refuses q and k of the wrong width', () => {
    assert.throws(() => explainCell({ query: 0, key: 0, headDim: 4, q: [1, 2], k: [1, 2], scoresRow: [0], weightsRow: [1] }), /4 values/);
  });

  it('lists every term up to d_k = 16, else the first 8 and the largest 4, with the rest summed', () => {
    const terms = (d: number, f: (c: number) => number): DotTerm[] => Array.from({ length: d }, (_, c) => ({ c, q: f(c), k: 1, product: f(c) }));
    const small = selectTerms(terms(16, (c) => c));
    assert.equal(small.shown.length, 16);
    assert.equal(small.omitted, 0);
    const wide = terms(64, (c) => (c === 40 ? -100 : c === 63 ? 50 : c % 3));
    const sel = selectTerms(wide);
    assert.equal(sel.shown.length, 12);
    assert.deepEqual(sel.shown.slice(0, 8).map((t) => t.c), [0, 1, 2, 3, 4, 5, 6, 7]);
    assert.ok(sel.largest.has(40) && sel.largest.has(63));
    assert.equal(sel.omitted, 52);
    const total = wide.reduce((s, t) => s + t.product, 0);
    assert.ok(Math.abs(sel.shown.reduce((s, t) => s + t.product, 0) + sel.omittedSum - total) < 1e-9);
  });

  it('shown terms plus the omitted sum always give the dot product (property)', () => {
    fc.assert(
      fc.property(fc.array(fc.double({ min: -10, max: 10, noNaN: true }), { minLength: 1, maxLength: 128 }), (qs) => {
        const t = qs.map((q, c) => ({ c, q, k: 0.5, product: q * 0.5 }));
        const sel = selectTerms(t);
        const total = t.reduce((s, x) => s + x.product, 0);
        const shown = sel.shown.reduce((s, x) => s + x.product, 0);
        assert.ok(Math.abs(shown + sel.omittedSum - total) <= 1e-9 * (1 + Math.abs(total)));
        assert.equal(sel.shown.length + sel.omitted, t.length);
      }),
    );
  });

  it('long rows list the clicked key and the largest weights, summarising the rest', () => {
    const n2 = 300;
    const scores = Float32Array.from({ length: n2 }, (_, j) => Math.sin(j) * 3);
    const ex = explainCell({ query: n2 - 1, key: 17, headDim: 64, q: null, k: null, scoresRow: scores, weightsRow: new Float32Array(n2) });
    const sel = selectEntries(ex.entries, 17);
    assert.ok(sel.shown.some((e) => e.key === 17));
    assert.ok(sel.shown.length <= 13);
    assert.equal(sel.shown.length + sel.omitted, n2);
    const shownExp = sel.shown.reduce((s, e) => s + e.exp, 0);
    assert.ok(Math.abs(shownExp + sel.omittedExpSum - ex.expSum) < 1e-9 * ex.expSum);
    const keys = sel.shown.map((e) => e.key);
    assert.deepEqual(keys, [...keys].sort((a, b) => a - b), 'in key order');
  });

  it('the mean view explains the average of the heads', () => {
    const w = r.layers[0].weights;
    const ex = explainMean(w, r.heads, n, 4, 2, 0.123);
    assert.equal(ex.perHead.length, 2);
    assert.equal(ex.perHead[1], w[(1 * n + 4) * n + 2]);
    assert.ok(Math.abs(ex.meanRecomputed - (ex.perHead[0] + ex.perHead[1]) / 2) < 1e-12);
    assert.equal(ex.mean, 0.123);
  });

  it('explanationFor combines the controller’s layer and trace', () => {
    const transport = new FakeTransport();
    const c = new Controller(transport);
    c.start();
    transport.send({ type: 'result', summary: r.summary, layer: r.layers[0] });
    c.selectHead(1);
    c.explainCell({ query: 4, key: 3 });
    let ex = explanationFor(c.state, c.state.view.selected);
    assert.ok(ex && ex.kind === 'head');
    assert.equal(ex.traceLoaded, false);
    assert.equal(ex.cell.dot, null);
    transport.send({ type: 'trace', trace: r.trace(0, 1) });
    ex = explanationFor(c.state, c.state.view.selected);
    assert.ok(ex && ex.kind === 'head' && ex.cell.dot);
    assert.equal(ex.cell.score, r.layers[0].scores[(1 * n + 4) * n + 3]);
    assert.equal(ex.cell.dot.engineRaw, stepRow(findStep(r.trace(0, 1), 'rawScores'), 4)?.[3]);
    c.selectHead('mean');
    const mean = explanationFor(c.state, c.state.view.selected);
    assert.ok(mean && mean.kind === 'mean');
    assert.equal(mean.heads, 2);
  });
});
