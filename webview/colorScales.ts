// Colour scales as 256-entry lookup tables, built by linear interpolation between published control points.
// Pure data and arithmetic: no DOM, unit-tested in Node.
import type { ColorScaleName } from '../src/protocol';

/** Entries per table. */
export const LUT_SIZE = 256;

/** Human names for the legend and the settings description. */
export const SCALE_LABELS: Readonly<Record<ColorScaleName, string>> = {
  cividis: 'cividis (colour-blind safe)',
  viridis: 'viridis',
  magma: 'magma',
  blues: 'blues',
  greys: 'greys',
};

type Rgb = readonly [number, number, number];

// matplotlib's perceptually uniform maps, sampled every 16th of their 256 entries (plus the last), in 0…1.
const CIVIDIS: readonly Rgb[] = [
  [0.0, 0.135112, 0.304751], [0.0, 0.178802, 0.414764], [0.103401, 0.220406, 0.43579], [0.195057, 0.264372, 0.425924],
  [0.263738, 0.307831, 0.422789], [0.32425, 0.351289, 0.42625], [0.38083, 0.395164, 0.435653], [0.435168, 0.439763, 0.451134],
  [0.488697, 0.485318, 0.471008], [0.54784, 0.531895, 0.471704], [0.609105, 0.579816, 0.463638], [0.671991, 0.629316, 0.448018],
  [0.736488, 0.680629, 0.424028], [0.802667, 0.733978, 0.390153], [0.870717, 0.789572, 0.343333], [0.941147, 0.84753, 0.275815],
  [0.995737, 0.909344, 0.217772],
];
const VIRIDIS: readonly Rgb[] = [
  [0.267004, 0.004874, 0.329415], [0.282327, 0.094955, 0.417331], [0.278826, 0.17549, 0.483397], [0.258965, 0.251537, 0.524736],
  [0.229739, 0.322361, 0.545706], [0.19943, 0.387607, 0.554642], [0.172719, 0.448791, 0.557885], [0.149039, 0.508051, 0.55725],
  [0.127568, 0.566949, 0.550556], [0.120638, 0.625828, 0.533488], [0.157851, 0.683765, 0.501686], [0.24607, 0.73891, 0.452024],
  [0.369214, 0.788888, 0.382914], [0.515992, 0.831158, 0.294279], [0.678489, 0.863742, 0.189503], [0.845561, 0.887322, 0.099702],
  [0.993248, 0.906157, 0.143936],
];
const MAGMA: readonly Rgb[] = [
  [0.001462, 0.000466, 0.013866], [0.039608, 0.03109, 0.133515], [0.113094, 0.065492, 0.276784], [0.211718, 0.061992, 0.418647],
  [0.316654, 0.07169, 0.48538], [0.414709, 0.110431, 0.504662], [0.512831, 0.148179, 0.507648], [0.613617, 0.181811, 0.498536],
  [0.716387, 0.214982, 0.47529], [0.816914, 0.255895, 0.436461], [0.904281, 0.31961, 0.388137], [0.960949, 0.418323, 0.35963],
  [0.9867, 0.535582, 0.38221], [0.996096, 0.653659, 0.446213], [0.996898, 0.769591, 0.534892], [0.99244, 0.88433, 0.640099],
  [0.987053, 0.991438, 0.749504],
];
// ColorBrewer's 9-class sequential schemes (light = 0, dark = 1, as in matplotlib's Blues and Greys).
const hex = (h: string): Rgb => [parseInt(h.slice(1, 3), 16) / 255, parseInt(h.slice(3, 5), 16) / 255, parseInt(h.slice(5, 7), 16) / 255];
const BLUES: readonly Rgb[] = ['#f7fbff', '#deebf7', '#c6dbef', '#9ecae1', '#6baed6', '#4292c6', '#2171b5', '#08519c', '#08306b'].map(hex);
const GREYS: readonly Rgb[] = ['#ffffff', '#f0f0f0', '#d9d9d9', '#bdbdbd', '#969696', '#737373', '#525252', '#252525', '#000000'].map(hex);

const CONTROL_POINTS: Readonly<Record<ColorScaleName, readonly Rgb[]>> = {
  cividis: CIVIDIS,
  viridis: VIRIDIS,
  magma: MAGMA,
  blues: BLUES,
  greys: GREYS,
};

/** Interpolates evenly spaced control points into an RGB table of `size` entries (bytes 0…255). */
export function buildLut(points: readonly Rgb[], size = LUT_SIZE): Uint8ClampedArray {
  if (points.length < 2) throw new RangeError('a colour scale needs at least two control points');
  const out = new Uint8ClampedArray(size * 3);
  const segments = points.length - 1;
  for (let i = 0; i < size; i++) {
    const pos = (i / (size - 1)) * segments;
    const s = Math.min(segments - 1, Math.floor(pos));
    const f = pos - s;
    for (let c = 0; c < 3; c++) out[i * 3 + c] = Math.round((points[s][c] * (1 - f) + points[s + 1][c] * f) * 255);
  }
  return out;
}

const cache = new Map<ColorScaleName, Uint8ClampedArray>();

/** The scale's lookup table: RGB bytes, entry i at [3i, 3i+3). Unknown names fall back to cividis. */
export function colorLut(name: ColorScaleName): Uint8ClampedArray {
  const key: ColorScaleName = name in CONTROL_POINTS ? name : 'cividis';
  let lut = cache.get(key);
  if (!lut) {
    lut = buildLut(CONTROL_POINTS[key]);
    cache.set(key, lut);
  }
  return lut;
}

/** Table index of a value in [0, 1]: values outside are clamped; NaN gives -1 (no colour). */
export function lutIndex(t: number): number {
  if (Number.isNaN(t)) return -1;
  if (!(t > 0)) return 0;
  if (t >= 1) return LUT_SIZE - 1;
  return Math.min(LUT_SIZE - 1, Math.floor(t * LUT_SIZE));
}

/** RGB bytes for t ∈ [0, 1] (clamped), or null for NaN. */
export function colorAt(name: ColorScaleName, t: number): [number, number, number] | null {
  const i = lutIndex(t);
  if (i < 0) return null;
  const lut = colorLut(name);
  return [lut[i * 3], lut[i * 3 + 1], lut[i * 3 + 2]];
}

/** CSS colour for t ∈ [0, 1]; NaN gives 'transparent'. */
export function cssColorAt(name: ColorScaleName, t: number): string {
  const c = colorAt(name, t);
  return c ? `rgb(${c[0]}, ${c[1]}, ${c[2]})` : 'transparent';
}

/** WCAG relative luminance of an sRGB colour given as bytes. */
export function relativeLuminance(r: number, g: number, b: number): number {
  const lin = (v: number) => {
    const s = v / 255;
    return s <= 0.04045 ? s / 12.92 : ((s + 0.055) / 1.055) ** 2.4;
  };
  return 0.2126 * lin(r) + 0.7152 * lin(g) + 0.0722 * lin(b);
}

/** CIE L* (0…100) of an sRGB colour given as bytes: the perceived lightness. */
export function lightness(r: number, g: number, b: number): number {
  const y = relativeLuminance(r, g, b);
  return y <= 216 / 24389 ? (y * 24389) / 27 : 116 * Math.cbrt(y) - 16;
}

/** Black or white, whichever reads better on the given background bytes. */
export function textColorOn(r: number, g: number, b: number): '#000000' | '#ffffff' {
  const y = relativeLuminance(r, g, b);
  return (y + 0.05) / 0.05 >= 1.05 / (y + 0.05) ? '#000000' : '#ffffff';
}
