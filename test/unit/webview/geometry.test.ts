import assert from 'node:assert/strict';
import fc from 'fast-check';
import { contentSize, effectiveCell, END_PAD, fitCell, hitTest, MAX_FIT_CELL, moveCell, scrollToReveal, visibleRange, zoomAround, type Geometry } from '../../../webview/geometry';
import { colorTop, maskedBlocks, maxFinite, meanMask, meanOverHeads } from '../../../webview/matrix';
import { isExplainableStep, matrixDims, stepAxes } from '../../../webview/traceModel';

const g: Geometry = { n: 10, cell: 20, rowLabelW: 80, colLabelH: 60 };

describe('heatmap geometry', () => {
  it('hit-tests cells, row labels and column labels', () => {
    assert.deepEqual(hitTest(g, 0, 0, 80, 60), { kind: 'cell', cell: { query: 0, key: 0 } });
    assert.deepEqual(hitTest(g, 0, 0, 80 + 3 * 20 + 5, 60 + 7 * 20 + 19), { kind: 'cell', cell: { query: 7, key: 3 } });
    assert.deepEqual(hitTest(g, 40, 100, 80 + 5, 60 + 5), { kind: 'cell', cell: { query: 5, key: 2 } }, 'scrolled');
    assert.deepEqual(hitTest(g, 0, 0, 10, 60 + 2 * 20), { kind: 'row', index: 2 });
    assert.deepEqual(hitTest(g, 0, 0, 80 + 9 * 20, 5), { kind: 'col', index: 9 });
    assert.equal(hitTest(g, 0, 0, 10, 10), null, 'the corner');
    assert.equal(hitTest(g, 0, 0, 80 + 10 * 20 + 1, 70), null, 'right of the grid');
  });

  it('visible range covers exactly the cells on screen', () => {
    assert.deepEqual(visibleRange(g, 0, 80 + 200, 80), [0, 9]);
    assert.deepEqual(visibleRange(g, 30, 80 + 50, 80), [1, 3]);
    const big: Geometry = { n: 1024, cell: 0.7, rowLabelW: 100, colLabelH: 100 };
    const [a, b] = visibleRange(big, 0, 100 + 700, 100);
    assert.equal(a, 0);
    assert.equal(b, 999);
  });

  it('fits long inputs below a pixel per cell and short ones up to a cap', () => {
    assert.equal(fitCell(5, 2000, 2000, 100, 100), MAX_FIT_CELL);
    const c = fitCell(1024, 900, 900, 120, 120);
    assert.ok(c < 1 && c > 0.5);
    assert.ok(120 + 1024 * c + END_PAD <= 900 + 1e-9);
    assert.equal(effectiveCell(null, 3), 3);
    assert.equal(effectiveCell(2, 3), 3, 'never smaller than the fit');
    assert.equal(effectiveCell(12, 3), 12);
    assert.equal(effectiveCell(1000, 3), 64);
    assert.deepEqual(contentSize(g), { width: 80 + 200 + END_PAD, height: 60 + 200 + END_PAD });
  });

  it('zooming around the pointer keeps the cell under it', () => {
    fc.assert(
      fc.property(
        fc.double({ min: 0.5, max: 40, noNaN: true }),
        fc.double({ min: 0.5, max: 40, noNaN: true }),
        fc.double({ min: 0, max: 500, noNaN: true }),
        fc.double({ min: 0, max: 500, noNaN: true }),
        (c1, c2, px, py) => {
          const from: Geometry = { n: 1000, cell: c1, rowLabelW: 90, colLabelH: 70 };
          const sx = 0.5 * c1 * 100, sy = 0.25 * c1 * 100;
          const x = 90 + px, y = 70 + py;
          const s = zoomAround(from, sx, sy, x, y, c2);
          const fx = (sx + px) / c1, fy = (sy + py) / c1;
          // Scroll offsets cannot go below 0: near the origin the grid point moves instead.
          if (fx * c2 - px >= 0) assert.ok(Math.abs((s.x + px) / c2 - fx) < 1e-6, 'x');
          else assert.equal(s.x, 0);
          if (fy * c2 - py >= 0) assert.ok(Math.abs((s.y + py) / c2 - fy) < 1e-6, 'y');
          else assert.equal(s.y, 0);
        },
      ),
    );
  });

  it('keyboard moves clamp to the matrix', () => {
    const at = { query: 0, key: 0 };
    assert.deepEqual(moveCell(at, 'ArrowUp', 10, 5, false), at);
    assert.deepEqual(moveCell(at, 'ArrowDown', 10, 5, false), { query: 1, key: 0 });
    assert.deepEqual(moveCell({ query: 4, key: 4 }, 'End', 10, 5, false), { query: 4, key: 9 });
    assert.deepEqual(moveCell({ query: 4, key: 4 }, 'End', 10, 5, true), { query: 9, key: 9 });
    assert.deepEqual(moveCell({ query: 4, key: 4 }, 'Home', 10, 5, false), { query: 4, key: 0 });
    assert.deepEqual(moveCell({ query: 8, key: 4 }, 'PageDown', 10, 5, false), { query: 9, key: 4 });
    assert.deepEqual(moveCell({ query: 8, key: 4 }, 'PageUp', 10, 5, false), { query: 3, key: 4 });
    assert.equal(moveCell(at, 'a', 10, 5, false), null);
  });

  it('scrolls just enough to reveal a cell', () => {
    const view = { w: 80 + 100 + END_PAD, h: 60 + 100 + END_PAD };
    assert.deepEqual(scrollToReveal(g, 0, 0, view.w, view.h, { query: 2, key: 2 }), { x: 0, y: 0 });
    assert.deepEqual(scrollToReveal(g, 0, 0, view.w, view.h, { query: 9, key: 6 }), { x: 7 * 20 - 100, y: 10 * 20 - 100 });
    assert.deepEqual(scrollToReveal(g, 150, 150, view.w, view.h, { query: 1, key: 0 }), { x: 0, y: 20 });
  });
});

describe('webview matrices', () => {
  it('mean over heads and its mask', () => {
    const w = Float32Array.of(1, 0, 0.5, 0.5, /* head 1 */ 1, 0, 0.25, 0.75);
    assert.deepEqual([...meanOverHeads(w, 2, 2)], [1, 0, 0.375, 0.625]);
    const s = Float32Array.of(0, -Infinity, 0, 0, /* head 1 */ 0, -Infinity, 0, -Infinity);
    assert.deepEqual([...meanMask(s, 2, 2)], [0, 1, 0, 0], 'masked only where every head masks');
    assert.equal(maxFinite([0.2, NaN, 0.9, Infinity]), 0.9);
  });

  it('the colour scale top is the max for small inputs and a high quantile for long ones', () => {
    const small = Float32Array.from({ length: 100 }, (_, i) => i / 100);
    assert.equal(colorTop(small, null, 0.99), 0.99);
    // A long causal head: row 0 holds a weight of 1, everything else is tiny.
    const n = 300;
    const w = new Float32Array(n * n);
    const mask = new Uint8Array(n * n);
    for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) if (j > i) mask[i * n + j] = 1; else w[i * n + j] = 1 / (i + 1);
    const top = colorTop(w, mask, 1);
    assert.ok(top < 0.25 && top > 0.01, `top ${top}`);
    let above = 0, count = 0;
    for (let i = 0; i < w.length; i++) {
      if (mask[i]) continue;
      count++;
      if (w[i] > top) above++;
    }
    assert.ok(above / count <= 0.006, `${above} of ${count} cells above the top`);
  });

  it('marks fully masked thumbnail blocks of a causal model', () => {
    assert.deepEqual([...maskedBlocks(4, 4)], [0, 1, 1, 1, 0, 0, 1, 1, 0, 0, 0, 1, 0, 0, 0, 0]);
    const m = maskedBlocks(100, 10);
    assert.equal(m[0 * 10 + 1], 1);
    assert.equal(m[1 * 10 + 1], 0, 'the diagonal block has visible cells');
  });

  it('trace steps: token and feature axes', () => {
    assert.deepEqual(matrixDims([7, 16]), { rows: 7, cols: 16 });
    assert.deepEqual(matrixDims([2, 7, 16]), { rows: 14, cols: 16 });
    assert.equal(stepAxes('attnWeights').rows, 'query');
    assert.equal(stepAxes('attnWeights').cols, 'key');
    assert.equal(stepAxes('keys').rows, 'key');
    assert.equal(stepAxes('wQuery').rows, 'input');
    assert.ok(isExplainableStep('maskedScores'));
    assert.ok(!isExplainableStep('values'));
  });
});
