// Colours and fonts for canvas drawing, read from VS Code's --vscode-* CSS variables and re-read when the
// theme changes (VS Code rewrites the variables on <html> and the vscode-light/dark/high-contrast class on <body>).
import type { Disposable } from './transport';

export type ThemeKind = 'light' | 'dark' | 'high-contrast' | 'high-contrast-light';

export interface Theme {
  readonly kind: ThemeKind;
  readonly background: string;
  readonly foreground: string;
  /** Secondary text (descriptionForeground). */
  readonly muted: string;
  readonly border: string;
  readonly focus: string;
  readonly hoverBackground: string;
  readonly selectionBackground: string;
  readonly selectionForeground: string;
  readonly error: string;
  /** UI font (CSS font-family list) and size in px. */
  readonly uiFont: string;
  readonly uiSize: number;
  /** Editor (monospace) font for token labels and numbers. */
  readonly monoFont: string;
  /** Colour of the masked-cell hatch lines. */
  readonly hatch: string;
  /** Outline colour for contrast borders in high-contrast themes (empty when none). */
  readonly contrastBorder: string;
}

function themeKind(): ThemeKind {
  const c = document.body.classList;
  if (c.contains('vscode-high-contrast-light')) return 'high-contrast-light';
  if (c.contains('vscode-high-contrast')) return 'high-contrast';
  if (c.contains('vscode-light')) return 'light';
  return 'dark';
}

/** Reads the current theme. Missing variables fall back to VS Code's Dark Modern / Light Modern values. */
export function readTheme(): Theme {
  const style = getComputedStyle(document.documentElement);
  const bodyStyle = getComputedStyle(document.body);
  const kind = themeKind();
  const light = kind === 'light' || kind === 'high-contrast-light';
  const v = (name: string, fallback: string) => (style.getPropertyValue(`--vscode-${name}`) || bodyStyle.getPropertyValue(`--vscode-${name}`)).trim() || fallback;
  const foreground = v('editor-foreground', v('foreground', light ? '#3b3b3b' : '#cccccc'));
  // The page background (styles.css: the editor's in the panel, the side bar's in the side view).
  const background = bodyStyle.getPropertyValue('--ai-bg').trim() || v('editor-background', light ? '#ffffff' : '#1f1f1f');
  const sizePx = parseFloat(v('font-size', '13px'));
  return {
    kind,
    background,
    foreground,
    muted: v('descriptionForeground', light ? '#717171' : '#9d9d9d'),
    border: v('widget-border', v('panel-border', light ? '#e5e5e5' : '#2b2b2b')),
    focus: v('focusBorder', '#0078d4'),
    hoverBackground: v('list-hoverBackground', light ? '#f2f2f2' : '#2a2d2e'),
    selectionBackground: v('list-activeSelectionBackground', light ? '#e4e6f1' : '#04395e'),
    selectionForeground: v('list-activeSelectionForeground', foreground),
    error: v('errorForeground', '#f85149'),
    uiFont: v('font-family', 'system-ui, sans-serif'),
    uiSize: Number.isFinite(sizePx) && sizePx > 0 ? sizePx : 13,
    monoFont: v('editor-font-family', 'ui-monospace, Menlo, Consolas, monospace'),
    hatch: foreground,
    contrastBorder: v('contrastBorder', ''),
  };
}

/** Calls `onChange` (debounced to one animation frame) when the theme's class or variables change. */
export function watchTheme(onChange: () => void): Disposable {
  let frame = 0;
  const fire = () => {
    if (frame) return;
    frame = requestAnimationFrame(() => {
      frame = 0;
      onChange();
    });
  };
  const observer = new MutationObserver(fire);
  observer.observe(document.body, { attributes: true, attributeFilter: ['class', 'data-vscode-theme-kind'] });
  observer.observe(document.documentElement, { attributes: true, attributeFilter: ['style', 'class'] });
  const media = matchMedia('(prefers-reduced-motion: reduce)');
  media.addEventListener('change', fire);
  return {
    dispose() {
      observer.disconnect();
      media.removeEventListener('change', fire);
      if (frame) cancelAnimationFrame(frame);
    },
  };
}

/** A CSS colour with its alpha multiplied by `alpha` (uses the canvas parser, so any CSS colour works). */
export function withAlpha(ctx: CanvasRenderingContext2D, color: string, alpha: number): string {
  ctx.save();
  ctx.fillStyle = '#000000';
  ctx.fillStyle = color;
  const parsed = String(ctx.fillStyle);
  ctx.restore();
  const m = /^#([0-9a-f]{2})([0-9a-f]{2})([0-9a-f]{2})$/i.exec(parsed);
  if (m) return `rgba(${parseInt(m[1], 16)}, ${parseInt(m[2], 16)}, ${parseInt(m[3], 16)}, ${alpha})`;
  const r = /^rgba?\(([^)]+)\)$/.exec(parsed);
  if (r) {
    const [red, green, blue, a = '1'] = r[1].split(',').map((s) => s.trim());
    return `rgba(${red}, ${green}, ${blue}, ${Number(a) * alpha})`;
  }
  return parsed;
}
