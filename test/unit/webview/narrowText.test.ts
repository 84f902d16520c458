// Words that must fit a narrow panel: the legend's layout (wrapped below the bar when the swatch's words
// do not fit beside it), the status line's short model name, and byte-fallback token names.
import assert from 'node:assert/strict';
import { legendLayout, wrapText, type TextMeasurer } from '../../../webview/heatmapDraw';
import { shortModelName, tokenLabel, tokenText } from '../../../webview/format';
import type { Theme } from '../../../webview/theme';

/** A measurer where every character is as wide as 0.6 of the font's size (about what 11–12 px UI fonts do). */
function fakeMeasurer(): TextMeasurer {
  let font = '12px sans-serif';
  const stack: string[] = [];
  return {
    get font() {
      return font;
    },
    set font(f: string) {
      font = f;
    },
    save: () => void stack.push(font),
    restore: () => void (font = stack.pop() ?? font),
    measureText: (text: string) => ({ width: Array.from(text).length * 0.6 * Number(/(\d+)px/.exec(font)?.[1] ?? 12) }) as TextMetrics,
  };
}

const theme = { uiFont: 'sans-serif', monoFont: 'monospace' } as Theme;
const spec = (o: { causal?: boolean; window?: number | null; clipped?: boolean } = {}) => ({
  theme,
  top: o.clipped ? 0.5 : 1,
  max: 1,
  mean: false,
  scaleLabel: 'cividis (colour-blind safe)',
  causal: o.causal ?? true,
  window: o.window ?? null,
});

describe('narrow panels', () => {
  it('wraps words to a width, a word too long for it alone on its line', () => {
    const m = fakeMeasurer();
    m.font = '10px x'; // 6 px a character
    assert.deepEqual(wrapText(m, 'later key, or ≥ 6 back: −∞, weight 0', 60), ['later key,', 'or ≥ 6', 'back: −∞,', 'weight 0']);
    assert.deepEqual(wrapText(m, 'supercalifragilistic word', 60), ['supercalifragilistic', 'word']);
    assert.deepEqual(wrapText(m, 'short', 600), ['short']);
  });

  it('lays the legend out so no word runs past its width, at every width from the side view up', () => {
    const m = fakeMeasurer();
    for (const s of [spec(), spec({ window: 6 }), spec({ window: 4096, clipped: true }), spec({ causal: false })]) {
      for (let width = 120; width <= 620; width += 7) {
        const L = legendLayout(m, width, s);
        const textX = L.swatchX + (s.causal ? 22 : 0);
        m.font = '12px x';
        for (const line of L.labelLines) assert.ok(textX + m.measureText(line).width <= width + 1e-9 || !line.includes(' '), `${width}: "${line}"`);
        m.font = '11px x';
        for (const line of [...L.detailLines]) assert.ok(textX + m.measureText(line).width <= width + 1e-9 || !line.includes(' '), `${width}: "${line}"`);
        for (const line of L.clipLines) assert.ok(m.measureText(line).width <= width + 1e-9, `${width}: "${line}"`);
        assert.ok(L.barW <= width, `${width}: bar ${L.barW}`);
        // Everything drawn lies inside the height.
        assert.ok(L.height >= L.swatchY + 16 && L.height > L.barY + 12 + 15, `${width}: height ${L.height}`);
        // The whole of the mask's words is there, in order.
        const words = [...L.labelLines, ...L.detailLines].join(' ');
        if (s.window === 6) assert.equal(words, 'masked (causal, window 6) later key, or ≥ 6 back: −∞, weight 0');
      }
    }
    // Wide enough: the swatch sits beside the bar on one line each; narrow: below it, wrapped.
    const wide = legendLayout(m, 508, spec({ window: 6 }));
    assert.ok(wide.swatchX > wide.barW && wide.detailLines.length === 1);
    const narrow = legendLayout(m, 200, spec({ window: 6 }));
    assert.equal(narrow.swatchX, 0);
    assert.ok(narrow.swatchY > narrow.barY + 12 && narrow.detailLines.length > 1);
  });

  it('names the model without its description in the status line', () => {
    assert.equal(shortModelName('mistral_text_bytefallback (mistral, 2 layers, 4 heads (2 KV), d_model 32)'), 'mistral_text_bytefallback');
    assert.equal(shortModelName('gpt2 (12 layers, 12 heads, d_model 768)'), 'gpt2');
    assert.equal(shortModelName('Random (d_model 64, 4 heads, seed 1, causal)'), 'Random');
    assert.equal(shortModelName('HuggingFaceTB/SmolLM2-135M'), 'HuggingFaceTB/SmolLM2-135M');
    assert.equal(shortModelName('my model (v2) (llama, 2 layers, 4 heads, d_model 8)'), 'my model (v2)');
    assert.equal(shortModelName('(odd)'), '(odd)');
    assert.equal(shortModelName('unbalanced)'), 'unbalanced)');
  });

  it('shows byte-fallback token names as they are, not as U+FFFD', () => {
    assert.equal(tokenLabel('<0xC4>', 24), '<0xC4>');
    assert.equal(tokenText({ id: 200, text: '<0xC4>', start: 0, end: 1 }), '<0xC4>');
  });
});
