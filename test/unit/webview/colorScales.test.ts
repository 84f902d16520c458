import assert from 'node:assert/strict';
import fc from 'fast-check';
import { COLOR_SCALES, type ColorScaleName } from '../../../src/protocol';
import { buildLut, colorAt, colorLut, cssColorAt, lightness, LUT_SIZE, lutIndex, relativeLuminance, textColorOn } from '../../../webview/colorScales';
import { colorize } from '../../../webview/matrix';

const L = (name: ColorScaleName, i: number) => {
  const lut = colorLut(name);
  return lightness(lut[i * 3], lut[i * 3 + 1], lut[i * 3 + 2]);
};

describe('webview colour scales', () => {
  it('has a 256-entry RGB table for every scale in the protocol', () => {
    for (const name of COLOR_SCALES) assert.equal(colorLut(name).length, LUT_SIZE * 3, name);
    assert.equal(LUT_SIZE, 256);
  });

  it('starts and ends at the published endpoints', () => {
    assert.deepEqual(colorAt('cividis', 0), [0, 34, 78]);
    assert.deepEqual(colorAt('cividis', 1), [254, 232, 56]);
    assert.deepEqual(colorAt('viridis', 0), [68, 1, 84]);
    assert.deepEqual(colorAt('viridis', 1), [253, 231, 37]);
    assert.deepEqual(colorAt('magma', 0), [0, 0, 4]);
    assert.deepEqual(colorAt('magma', 1), [252, 253, 191]);
    assert.deepEqual(colorAt('greys', 0), [255, 255, 255]);
    assert.deepEqual(colorAt('greys', 1), [0, 0, 0]);
    assert.deepEqual(colorAt('blues', 0), [247, 251, 255]);
    assert.deepEqual(colorAt('blues', 1), [8, 48, 107]);
  });

  it('passes through the middle control point (viridis at 0.5 is its teal)', () => {
    // matplotlib's viridis[128] = (0.127568, 0.566949, 0.550556) → (33, 145, 140).
    const mid = colorLut('viridis').slice(127 * 3, 129 * 3);
    for (let c = 0; c < 3; c++) assert.ok(Math.abs(mid[c] - [33, 145, 140][c]) <= 1 && Math.abs(mid[3 + c] - [33, 145, 140][c]) <= 2, `channel ${c}: ${mid}`);
  });

  for (const [name, direction] of [
    ['cividis', 1],
    ['viridis', 1],
    ['magma', 1],
    ['greys', -1],
    ['blues', -1],
  ] as const) {
    it(`${name}: lightness is monotone (${direction > 0 ? 'dark → light' : 'light → dark'})`, () => {
      for (let i = 1; i < LUT_SIZE; i++) {
        const step = (L(name, i) - L(name, i - 1)) * direction;
        // Rounding to bytes may flatten a step, but it never goes the wrong way by more than rounding noise.
        assert.ok(step > -0.35, `${name}[${i - 1}→${i}]: L* ${L(name, i - 1).toFixed(2)} → ${L(name, i).toFixed(2)}`);
      }
      assert.ok((L(name, 255) - L(name, 0)) * direction > 60, `${name} spans a wide lightness range`);
    });
  }

  it('clamps values outside [0, 1] and maps NaN to no colour', () => {
    assert.deepEqual(colorAt('viridis', -3), colorAt('viridis', 0));
    assert.deepEqual(colorAt('viridis', 7), colorAt('viridis', 1));
    assert.deepEqual(colorAt('viridis', Infinity), colorAt('viridis', 1));
    assert.deepEqual(colorAt('viridis', -Infinity), colorAt('viridis', 0));
    assert.equal(colorAt('viridis', NaN), null);
    assert.equal(lutIndex(NaN), -1);
    assert.equal(cssColorAt('cividis', NaN), 'transparent');
    assert.equal(cssColorAt('greys', 0), 'rgb(255, 255, 255)');
  });

  it('indexes monotonically and covers every entry', () => {
    fc.assert(
      fc.property(fc.double({ min: 0, max: 1, noNaN: true }), fc.double({ min: 0, max: 1, noNaN: true }), (a, b) => {
        const [lo, hi] = a <= b ? [a, b] : [b, a];
        return lutIndex(lo) <= lutIndex(hi);
      }),
    );
    const seen = new Set<number>();
    for (let i = 0; i <= 4096; i++) seen.add(lutIndex(i / 4096));
    assert.equal(seen.size, LUT_SIZE);
  });

  it('falls back to cividis for an unknown name', () => {
    assert.deepEqual(colorLut('rainbow' as ColorScaleName), colorLut('cividis'));
  });

  it('needs two control points', () => {
    assert.throws(() => buildLut([[0, 0, 0]]), /two control points/);
    assert.deepEqual([...buildLut([[0, 0, 0], [1, 1, 1]], 3)], [0, 0, 0, 128, 128, 128, 255, 255, 255]);
  });

  it('picks readable text colours', () => {
    assert.equal(textColorOn(255, 255, 255), '#000000');
    assert.equal(textColorOn(0, 0, 0), '#ffffff');
    assert.equal(textColorOn(0, 34, 78), '#ffffff'); // cividis 0
    assert.equal(textColorOn(254, 232, 56), '#000000'); // cividis 1
    assert.ok(Math.abs(relativeLuminance(255, 255, 255) - 1) < 1e-12);
  });

  it('colorize: value/max through the table, masked cells transparent, NaN flagged', () => {
    const lut = colorLut('greys');
    const out = new Uint8ClampedArray(5 * 4);
    colorize(out, [0, 0.5, 1, 0.25, NaN], [0, 0, 0, 1, 0], lut, 0.5, [1, 2, 3, 4]);
    assert.deepEqual([...out.slice(0, 4)], [255, 255, 255, 255]); // 0 → white
    assert.deepEqual([...out.slice(4, 8)], [0, 0, 0, 255]); // = max → black
    assert.deepEqual([...out.slice(8, 12)], [0, 0, 0, 255]); // above max → clamped
    assert.equal(out[15], 0); // masked → alpha 0
    assert.deepEqual([...out.slice(16, 20)], [1, 2, 3, 4]); // NaN
  });
});
