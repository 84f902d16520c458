// Tiny DOM helpers. Never sets inline style attributes from strings (the CSP forbids them); styles are
// classes in styles.css, or `el.style.x = …` from script where a size must be computed.

type Child = Node | string | null | undefined | false;

export interface Props {
  class?: string;
  text?: string;
  title?: string;
  attrs?: Record<string, string | number | boolean | undefined>;
  on?: { [K in keyof HTMLElementEventMap]?: (event: HTMLElementEventMap[K]) => void };
}

export function h<K extends keyof HTMLElementTagNameMap>(tag: K, props: Props = {}, children: readonly Child[] = []): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  if (props.class) el.className = props.class;
  if (props.text !== undefined) el.textContent = props.text;
  if (props.title !== undefined) el.title = props.title;
  if (props.attrs) {
    for (const [name, value] of Object.entries(props.attrs)) {
      if (value === undefined || value === false) continue;
      el.setAttribute(name, value === true ? '' : String(value));
    }
  }
  if (props.on) {
    for (const [type, handler] of Object.entries(props.on)) el.addEventListener(type, handler as EventListener);
  }
  append(el, children);
  return el;
}

/** A custom element (e.g. vscode-button) with attributes. */
export function custom<T extends HTMLElement = HTMLElement>(tag: string, props: Props = {}, children: readonly Child[] = []): T {
  const el = document.createElement(tag) as T;
  if (props.class) el.className = props.class;
  if (props.text !== undefined) el.textContent = props.text;
  if (props.title !== undefined) el.title = props.title;
  for (const [name, value] of Object.entries(props.attrs ?? {})) {
    if (value === undefined || value === false) continue;
    el.setAttribute(name, value === true ? '' : String(value));
  }
  for (const [type, handler] of Object.entries(props.on ?? {})) el.addEventListener(type, handler as EventListener);
  append(el, children);
  return el;
}

export function append(el: Element, children: readonly Child[]): void {
  for (const c of children) {
    if (c === null || c === undefined || c === false) continue;
    el.append(typeof c === 'string' ? document.createTextNode(c) : c);
  }
}

export function replaceChildren(el: Element, children: readonly Child[]): void {
  el.replaceChildren();
  append(el, children);
}

/** `<span class="codicon codicon-NAME" aria-hidden="true">`. */
export function codicon(name: string, extra = ''): HTMLSpanElement {
  return h('span', { class: `codicon codicon-${name}${extra ? ` ${extra}` : ''}`, attrs: { 'aria-hidden': 'true' } });
}

/** Sets a boolean attribute/property-backed visibility without inline styles. */
export function setHidden(el: HTMLElement, hidden: boolean): void {
  if (el.hidden !== hidden) el.hidden = hidden;
}

/** Whether people asked for less motion (checked at call time; the setting can change). */
export function reducedMotion(): boolean {
  return typeof matchMedia === 'function' && matchMedia('(prefers-reduced-motion: reduce)').matches;
}

export function scrollBehavior(): ScrollBehavior {
  return reducedMotion() ? 'auto' : 'smooth';
}

/** A focusable canvas with its 2-D context, announced to assistive tech as an image of `roleDescription`. */
export function focusableCanvas(className: string, roleDescription: string): { canvas: HTMLCanvasElement; ctx: CanvasRenderingContext2D } {
  const canvas = h('canvas', { class: className, attrs: { tabindex: 0, role: 'img', 'aria-roledescription': roleDescription } });
  const ctx = canvas.getContext('2d');
  if (!ctx) throw new Error('canvas 2-D context unavailable');
  return { canvas, ctx };
}

/** Coalesces redraw requests into one `draw` per animation frame; returns the function that requests one. */
export function frameScheduler(draw: () => void): () => void {
  let frame = 0;
  return () => {
    if (frame) return;
    frame = requestAnimationFrame(() => {
      frame = 0;
      draw();
    });
  };
}
