// The step trace: one card per step of the computation (X … output projection) with its formula, shape and
// values as a table. Large matrices show a corner first and grow on request; score and weight cells explain.
import type { StepId } from '../src/engine/attention';
import { traceStepText } from '../src/present/steps';
import type { TokenView, TraceData, TraceStepView } from '../src/protocol';
import { codicon, custom, h, replaceChildren } from './dom';
import { exactNumber, formatNumber, formatShape, tokenText, tokenTitle } from './format';
import type { Cell } from './viewState';
import { isExplainableStep, isTokenAxis, matrixDims, stepAxes, type AxisKind } from './traceModel';

/** Rows and columns a matrix shows before "show more". */
export const INITIAL_ROWS = 32;
export const INITIAL_COLS = 16;
const MORE_ROWS = 64;
const MORE_COLS = 16;
/** Largest table "Show all" or following the selected cell may build. */
const MAX_AUTO_CELLS = 256 * 128;

class MatrixTable {
  readonly element: HTMLDivElement;
  private rowsShown: number;
  private colsShown: number;
  private readonly rows: number;
  private readonly cols: number;
  private readonly scroll: HTMLDivElement;
  private readonly footer: HTMLDivElement;
  private marked: HTMLTableCellElement | null = null;
  private table: HTMLTableElement | null = null;

  constructor(
    private readonly step: TraceStepView,
    title: string,
    private readonly tokens: readonly TokenView[],
    private readonly onExplain: ((cell: Cell) => void) | null,
    private readonly head: number,
  ) {
    const dims = matrixDims(step.shape);
    this.rows = dims.rows;
    this.cols = dims.cols;
    this.rowsShown = Math.min(this.rows, INITIAL_ROWS);
    this.colsShown = Math.min(this.cols, INITIAL_COLS);
    this.scroll = h('div', { class: 'matrix-scroll', attrs: { tabindex: 0, role: 'region', 'aria-label': `${title} values` } });
    this.footer = h('div', { class: 'matrix-footer' });
    this.element = h('div', { class: 'matrix-wrap' }, [this.scroll, this.footer]);
    this.render();
  }

  private header(kind: AxisKind, i: number, asColumn: boolean): HTMLTableCellElement {
    if (isTokenAxis(kind)) {
      const token = this.tokens[i];
      return h('th', { attrs: { scope: asColumn ? 'col' : 'row' }, title: tokenTitle(this.tokens, i) }, [
        h('span', { class: 'th-index', text: String(i) }),
        h('span', { class: token?.special ? 'th-token special-token' : 'th-token', text: tokenText(token, asColumn ? 8 : 12) }),
      ]);
    }
    if (kind === 'head') return h('th', { attrs: { scope: asColumn ? 'col' : 'row' }, class: 'th-dim', text: `H${this.head}` });
    return h('th', { attrs: { scope: asColumn ? 'col' : 'row' }, class: 'th-dim', text: String(i) });
  }

  private render(): void {
    const { step, rows, cols } = this;
    const axes = stepAxes(step.id, step.params);
    const data = step.data;
    const corner = h('th', { class: 'corner', attrs: { scope: 'col' }, text: `${axisWord(axes.rows)} ╲ ${axisWord(axes.cols)}` });
    const head = h('thead', {}, [h('tr', {}, [corner, ...range(this.colsShown).map((j) => this.header(axes.cols, j, true))])]);
    const body = h('tbody');
    for (let i = 0; i < this.rowsShown; i++) {
      const tr = h('tr', {}, [this.header(axes.rows, i, false)]);
      for (let j = 0; j < this.colsShown; j++) {
        const v = data[i * cols + j];
        const td = h('td', { class: v === -Infinity ? 'num neg-inf' : 'num', text: formatNumber(v, 4) });
        td.title = exactNumber(v);
        if (this.onExplain) {
          td.dataset.r = String(i);
          td.dataset.c = String(j);
        }
        tr.append(td);
      }
      body.append(tr);
    }
    const table = h('table', { class: `matrix${this.onExplain ? ' explainable' : ''}` }, [head, body]);
    if (this.onExplain) {
      const explain = this.onExplain;
      table.addEventListener('click', (e) => {
        const td = (e.target as HTMLElement).closest('td');
        if (td?.dataset.r !== undefined && td.dataset.c !== undefined) explain({ query: Number(td.dataset.r), key: Number(td.dataset.c) });
      });
    }
    this.table = table;
    this.marked = null;
    replaceChildren(this.scroll, [table]);

    const notes: (Node | string)[] = [];
    if (rows > this.rowsShown || cols > this.colsShown) {
      notes.push(h('span', { class: 'muted', text: `Showing ${this.rowsShown} of ${rows} rows, ${this.colsShown} of ${cols} columns.` }));
    }
    if (rows > this.rowsShown) {
      notes.push(this.button(`${Math.min(MORE_ROWS, rows - this.rowsShown)} more rows`, 'chevron-down', () => (this.rowsShown = Math.min(rows, this.rowsShown + MORE_ROWS))));
    }
    if (cols > this.colsShown) {
      notes.push(this.button(`${Math.min(MORE_COLS, cols - this.colsShown)} more columns`, 'chevron-right', () => (this.colsShown = Math.min(cols, this.colsShown + MORE_COLS))));
    }
    if ((rows > this.rowsShown || cols > this.colsShown) && rows * cols <= MAX_AUTO_CELLS) {
      notes.push(
        this.button('Show all', 'unfold', () => {
          this.rowsShown = rows;
          this.colsShown = cols;
        }),
      );
    }
    replaceChildren(this.footer, notes);
    this.footer.hidden = notes.length === 0;
  }

  private button(label: string, icon: string, action: () => void): HTMLElement {
    return custom('vscode-button', { attrs: { secondary: true }, on: { click: () => (action(), this.render()) } }, [codicon(icon), ` ${label}`]);
  }

  /**
   * Outlines the selected cell, growing the table to reveal it if that stays a reasonable table. Only
   * the [n, n] score and weight steps are indexed by (query, key); the others are left alone.
   */
  mark(cell: Cell | null): void {
    this.marked?.classList.remove('marked');
    this.marked = null;
    if (!cell || !this.table || !isExplainableStep(this.step.id)) return;
    if (cell.query >= this.rowsShown || cell.key >= this.colsShown) {
      const rowsNeeded = Math.max(this.rowsShown, cell.query + 1);
      const colsNeeded = Math.max(this.colsShown, cell.key + 1);
      // Far out in a long input the explanation panel carries the numbers; a 1000×1000 table would freeze the view.
      if (rowsNeeded * colsNeeded > MAX_AUTO_CELLS) return;
      if (cell.query < this.rows && cell.key < this.cols) {
        this.rowsShown = Math.max(this.rowsShown, Math.min(this.rows, cell.query + 1));
        this.colsShown = Math.max(this.colsShown, Math.min(this.cols, cell.key + 1));
        this.render();
      } else return;
    }
    const td = this.table.querySelector<HTMLTableCellElement>(`td[data-r="${cell.query}"][data-c="${cell.key}"]`);
    if (td) {
      td.classList.add('marked');
      this.marked = td;
    }
  }
}

function axisWord(kind: AxisKind): string {
  switch (kind) {
    case 'query':
      return 'query';
    case 'key':
      return 'key';
    case 'token':
      return 'token';
    case 'input':
      return 'in';
    case 'pair':
      return 'pair';
    case 'head':
      return 'head';
    default:
      return 'dim';
  }
}

const range = (k: number) => Array.from({ length: k }, (_, i) => i);

/** Grouped-query attention: every query head with the KV head it reads, this head's group marked. */
function groupMap(step: TraceStepView, head: number): HTMLElement {
  const heads = step.params?.heads ?? 0;
  const kvHeads = step.params?.kvHeads ?? 0;
  const mine = step.data[0];
  if (!heads || !kvHeads) return h('p', { class: 'muted', text: `KV head ${mine}` });
  const group = heads / kvHeads;
  const items = range(kvHeads).map((kv) =>
    h('li', { class: kv === mine ? 'group current' : 'group' }, [
      h('span', { class: 'group-heads' }, range(group).map((g) => h('span', { class: kv * group + g === head ? 'qhead current' : 'qhead', text: `H${kv * group + g}` }))),
      h('span', { class: 'group-arrow', text: '→', attrs: { 'aria-hidden': 'true' } }),
      h('span', { class: 'kvhead', text: `KV${kv}` }),
    ]),
  );
  return h('ul', { class: 'group-map', attrs: { 'aria-label': `Query heads → KV heads; head ${head} reads KV head ${mine}` } }, items);
}

export interface TraceInput {
  readonly trace: TraceData | null;
  readonly tokens: readonly TokenView[];
  readonly layer: number;
  readonly head: number | 'mean';
  readonly pending: boolean;
  readonly selected: Cell | null;
  readonly heads: number;
}

export class TraceView {
  readonly element: HTMLDivElement;
  private shown: TraceData | null = null;
  private tables: MatrixTable[] = [];
  private status: string = '';

  private slots = new Map<string, HTMLElement>();

  constructor(private readonly onExplain: (cell: Cell, step: StepId) => void) {
    this.element = h('div', { class: 'trace' });
  }

  /** Where an explanation opened from a step's table is shown (just below that table), if the step is shown. */
  slot(step: StepId): HTMLElement | null {
    return this.shown ? (this.slots.get(step) ?? null) : null;
  }

  update(input: TraceInput): void {
    if (input.head === 'mean') {
      this.setStatus('mean', 'The step trace follows one head. Choose a head above (or click a thumbnail) to see every step.');
      return;
    }
    if (!input.trace) {
      this.setStatus(input.pending ? 'pending' : 'none', input.pending ? `Computing the step trace of layer ${input.layer}, head ${input.head}…` : 'The step trace appears here.');
      return;
    }
    if (this.shown !== input.trace) this.build(input.trace, input);
    for (const t of this.tables) t.mark(input.selected);
  }

  private setStatus(key: string, text: string): void {
    if (this.status === key && !this.shown) return;
    this.status = key;
    this.shown = null;
    this.tables = [];
    replaceChildren(this.element, [h('p', { class: 'muted trace-status' }, [key === 'pending' ? codicon('loading', 'codicon-modifier-spin') : codicon('info'), ` ${text}`])]);
  }

  private build(trace: TraceData, input: TraceInput): void {
    this.shown = trace;
    this.status = '';
    this.tables = [];
    this.slots = new Map();
    const words = trace.steps.map((s) => traceStepText(s, trace.head));
    const intro = h('p', { class: 'trace-intro' }, [
      `Layer ${trace.layer}, head ${trace.head}. The steps for Q, K, V, the scores, the softmax and weights·V show only this head’s slice; `,
      'X, the weight matrices, concat and the output cover all heads. Click a score or weight to see its arithmetic.',
    ]);
    const toc = h(
      'nav',
      { class: 'trace-toc', attrs: { 'aria-label': 'Steps' } },
      trace.steps.map((s, i) =>
        h('a', {
          class: 'chip',
          text: words[i].title,
          attrs: { href: `#step-${s.id}` },
          on: {
            click: (e) => {
              e.preventDefault();
              document.getElementById(`step-${s.id}`)?.scrollIntoView({ block: 'start' });
            },
          },
          title: `Step ${i + 1}: ${words[i].formula}`,
        }),
      ),
    );
    const cards = trace.steps.map((s, i) => {
      const axes = stepAxes(s.id, s.params);
      const explainable = isExplainableStep(s.id);
      const table = new MatrixTable(s, words[i].title, input.tokens, explainable ? (cell) => this.onExplain(cell, s.id) : null, trace.head);
      this.tables.push(table);
      const slot = h('div', { class: 'explain-slot' });
      if (explainable) this.slots.set(s.id, slot);
      return h('article', { class: 'trace-card', attrs: { id: `step-${s.id}`, 'aria-labelledby': `step-${s.id}-title` } }, [
        h('header', { class: 'trace-card-head' }, [
          h('span', { class: 'step-no', text: String(i + 1), attrs: { 'aria-hidden': 'true' } }),
          h('h3', { text: words[i].title, attrs: { id: `step-${s.id}-title` } }),
          h('code', { class: 'formula', text: words[i].formula }),
        ]),
        h('p', { class: 'trace-expl', text: words[i].explanation }),
        h('p', { class: 'trace-shape' }, [h('span', { class: 'shape', text: formatShape(s.shape) }), ` ${axes.describe}`]),
        s.id === 'keys.groups' ? groupMap(s, trace.head) : table.element,
        explainable ? slot : null,
      ]);
    });
    replaceChildren(this.element, [intro, toc, h('div', { class: 'trace-cards' }, cards)]);
  }
}
