// "Explain this cell": the arithmetic from q·k to the softmax weight, with the engine's stored numbers as
// the results and every term listed (or the first and the largest ones for wide heads).
import type { TokenView } from '../src/protocol';
import { codicon, custom, h, replaceChildren } from './dom';
import { selectEntries, selectTerms, type CellExplanation, type MeanExplanation } from './explain';
import { exactNumber, formatNumber, quoted, tokenLabel } from './format';
import type { Explanation } from './traceModel';

type Child = Node | string | null;

/** A number with the exact value as its tooltip. */
function num(v: number, cls = 'num'): HTMLElement {
  const el = h('span', { class: cls, text: formatNumber(v, 4) });
  el.title = exactNumber(v);
  return el;
}

/** name with a subscript index: q₁₂ → q<sub>12</sub>. */
function sub(name: string, index: number | string): HTMLElement {
  return h('span', { class: 'var' }, [name, h('sub', { text: String(index) })]);
}

function cellNum(v: number): HTMLTableCellElement {
  const td = h('td', { class: v === -Infinity ? 'num neg-inf' : 'num', text: formatNumber(v, 4) });
  td.title = exactNumber(v);
  return td;
}

export interface ExplainCallbacks {
  close(): void;
  reveal(index: number): void;
}

export class ExplainView {
  readonly element: HTMLDivElement;
  private shownKey = '';

  constructor(private readonly cb: ExplainCallbacks) {
    this.element = h('div', { class: 'explain', attrs: { role: 'region', 'aria-label': 'Explanation of the selected cell' } });
  }

  update(ex: Explanation | null, tokens: readonly TokenView[], causal: boolean, pendingTrace: boolean): void {
    const key = ex ? `${ex.kind}:${ex.layer}:${ex.kind === 'head' ? `${ex.head}:${ex.traceLoaded}` : 'mean'}:${ex.cell.query}:${ex.cell.key}:${pendingTrace}` : 'none';
    if (key === this.shownKey && ex !== null) return;
    this.shownKey = key;
    if (!ex) {
      replaceChildren(this.element, []);
      return;
    }
    const title = h('div', { class: 'explain-title' }, [
      h('h3', {}, [
        'Why ',
        this.tokenRef(tokens, ex.cell.query, 'query'),
        ' → ',
        this.tokenRef(tokens, ex.cell.key, 'key'),
        ` gets ${formatNumber(ex.kind === 'head' ? ex.cell.weight : ex.cell.mean, 4)}`,
      ]),
      custom('vscode-button', { attrs: { secondary: true, 'icon-only': true, 'aria-label': 'Close the explanation', title: 'Close' }, on: { click: () => this.cb.close() } }, [codicon('close')]),
    ]);
    const where = h('p', { class: 'muted small' }, [
      `Layer ${ex.layer}, ${ex.kind === 'head' ? `head ${ex.head}` : `mean over ${ex.heads} heads`} · query #${ex.cell.query} (row), key #${ex.cell.key} (column)`,
    ]);
    const body = ex.kind === 'head' ? this.headSteps(ex.cell, tokens, causal, pendingTrace && !ex.traceLoaded) : this.meanSteps(ex.cell, ex.heads);
    replaceChildren(this.element, [title, where, body]);
  }

  private tokenRef(tokens: readonly TokenView[], i: number, role: string): HTMLElement {
    return h('a', {
      class: 'token-ref',
      text: quoted(tokens[i], 20),
      attrs: { href: '#', title: `Reveal ${role} token #${i} in the editor` },
      on: {
        click: (e) => {
          e.preventDefault();
          this.cb.reveal(i);
        },
      },
    });
  }

  private headSteps(c: CellExplanation, tokens: readonly TokenView[], causal: boolean, loading: boolean): HTMLElement {
    const i = c.query, j = c.key;
    const steps: Child[] = [];

    // 1. Dot product.
    const dotBody: Child[] = [h('p', { class: 'formula-line' }, [sub('q', i), ' · ', sub('k', j), ' = Σ', h('sub', { text: 'c' }), ' ', sub('q', i), '[c] · ', sub('k', j), `[c]   (c = 0 … ${c.headDim - 1})`])];
    if (c.dot) {
      const sel = selectTerms(c.dot.terms);
      const rows = sel.shown.map((t) =>
        h('tr', { class: sel.largest.has(t.c) ? 'largest' : '' }, [h('th', { attrs: { scope: 'row' }, text: String(t.c) }), cellNum(t.q), cellNum(t.k), cellNum(t.product)]),
      );
      if (sel.omitted > 0) {
        rows.push(
          h('tr', { class: 'omitted' }, [
            h('th', { attrs: { scope: 'row' }, text: '…' }),
            h('td', { attrs: { colspan: 2 }, text: `${sel.omitted} smaller terms` }),
            cellNum(sel.omittedSum),
          ]),
        );
      }
      const table = h('table', { class: 'terms' }, [
        h('thead', {}, [h('tr', {}, [h('th', { text: 'c', attrs: { scope: 'col' } }), h('th', { attrs: { scope: 'col' } }, [sub('q', i), '[c]']), h('th', { attrs: { scope: 'col' } }, [sub('k', j), '[c]']), h('th', { text: 'product', attrs: { scope: 'col' } })])]),
        h('tbody', {}, rows),
        h('tfoot', {}, [h('tr', {}, [h('th', { attrs: { scope: 'row', colspan: 3 }, text: 'Σ' }), cellNum(c.dot.sum)])]),
      ]);
      if (sel.largest.size) dotBody.push(h('p', { class: 'muted small', text: `d_k = ${c.headDim}: the first 8 terms and the ${sel.largest.size} largest of the rest (highlighted) are listed.` }));
      dotBody.push(h('div', { class: 'table-scroll' }, [table]));
      const engine = c.dot.engineRaw;
      dotBody.push(
        h('p', {}, [
          sub('q', i),
          ' · ',
          sub('k', j),
          ' = ',
          h('strong', {}, [num(engine ?? c.dot.sum)]),
          engine !== null ? h('span', { class: 'muted' }, ['  (the engine’s QKᵀ entry; the terms above sum to ', num(c.dot.sum), ')']) : null,
        ]),
      );
    } else {
      dotBody.push(h('p', { class: 'muted' }, [loading ? codicon('loading', 'codicon-modifier-spin') : codicon('info'), loading ? ' Loading q and k from the step trace…' : ' q and k come from the step trace, which is not loaded.']));
    }
    steps.push(this.step('1', 'Match the query with the key', dotBody));

    // 2. Scale (and mask).
    const scaleBody: Child[] = [];
    if (c.masked) {
      scaleBody.push(
        h('p', {}, [
          causal ? `Key #${j} comes after query #${i}, so the causal mask sets the score to ` : 'The mask sets this score to ',
          h('strong', { class: 'neg-inf', text: '−∞' }),
          '. A query may not look at later tokens.',
        ]),
      );
    } else {
      const raw = c.dot ? (c.dot.engineRaw ?? c.dot.sum) : null;
      scaleBody.push(
        h('p', { class: 'formula-line' }, [
          'score = ',
          raw !== null ? num(raw) : h('span', {}, [sub('q', i), ' · ', sub('k', j)]),
          ` ÷ √${c.headDim} = `,
          raw !== null ? num(raw) : '…',
          ` ÷ ${Number.isInteger(c.sqrtDk) ? String(c.sqrtDk) : formatNumber(c.sqrtDk, 4)} = `,
          h('strong', {}, [num(c.score)]),
        ]),
      );
    }
    steps.push(this.step('2', c.masked ? 'Mask' : 'Scale by √d_k', scaleBody));

    // 3. Softmax over the row.
    const sel = selectEntries(c.entries, j);
    const rows: HTMLElement[] = sel.shown.map((e) =>
      h('tr', { class: e.key === j ? 'clicked' : '' }, [
        h('th', { attrs: { scope: 'row' }, title: quoted(tokens[e.key], 60) }, [h('span', { class: 'th-index', text: `#${e.key} ` }), h('span', { class: 'th-token', text: tokenLabel(tokens[e.key]?.text ?? '', 10) })]),
        cellNum(e.score),
        cellNum(e.shifted),
        cellNum(e.exp),
        cellNum(e.weight),
      ]),
    );
    if (sel.omitted > 0) {
      rows.push(h('tr', { class: 'omitted' }, [h('th', { attrs: { scope: 'row' }, text: `${sel.omitted} other keys` }), h('td', { attrs: { colspan: 2 } }), cellNum(sel.omittedExpSum), h('td')]));
    }
    if (c.maskedKeys.length) {
      const first = c.maskedKeys[0], last = c.maskedKeys[c.maskedKeys.length - 1];
      rows.push(
        h('tr', { class: c.masked ? 'omitted clicked' : 'omitted' }, [
          h('th', { attrs: { scope: 'row' }, title: 'masked keys' }, [c.maskedKeys.length === 1 ? `#${first}` : `#${first}–#${last}`]),
          cellNum(-Infinity),
          cellNum(-Infinity),
          cellNum(0),
          cellNum(0),
        ]),
      );
    }
    const table = h('table', { class: 'softmax' }, [
      h('thead', {}, [
        h('tr', {}, [
          h('th', { text: 'key', attrs: { scope: 'col' } }),
          h('th', { text: 'score s', attrs: { scope: 'col' } }),
          h('th', { text: 's − max', attrs: { scope: 'col' } }),
          h('th', { text: 'exp(s − max)', attrs: { scope: 'col' } }),
          h('th', { text: 'weight', attrs: { scope: 'col' } }),
        ]),
      ]),
      h('tbody', {}, rows),
      h('tfoot', {}, [h('tr', {}, [h('th', { attrs: { scope: 'row', colspan: 3 }, text: 'Σ exp' }), cellNum(c.expSum), h('td')])]),
    ]);
    const softBody: Child[] = [
      h('p', {}, ['Each row becomes a probability distribution: subtract the row’s largest score (max = ', num(c.rowMax), ') for numerical safety, exponentiate, divide by the sum.']),
      h('div', { class: 'table-scroll' }, [table]),
    ];
    const clicked = c.entries.find((e) => e.key === j);
    softBody.push(
      c.masked || !clicked
        ? h('p', {}, [`Key #${j} is masked: exp(−∞) = 0, so its `, h('span', { class: 'var' }, ['weight']), ' = ', h('strong', { text: '0' }), '.'])
        : h('p', { class: 'formula-line' }, [
            'weight = exp(',
            num(clicked.score),
            ' − ',
            num(c.rowMax),
            ') ÷ ',
            num(c.expSum),
            ' = ',
            num(clicked.exp),
            ' ÷ ',
            num(c.expSum),
            ' = ',
            h('strong', {}, [num(c.weight)]),
          ]),
    );
    steps.push(this.step('3', `Softmax over row #${i}`, softBody));
    return h('ol', { class: 'explain-steps' }, steps);
  }

  private meanSteps(c: MeanExplanation, heads: number): HTMLElement {
    const rows = c.perHead.map((w, hd) => h('tr', {}, [h('th', { attrs: { scope: 'row' }, text: `H${hd}` }), cellNum(w)]));
    const table = h('table', { class: 'terms' }, [
      h('thead', {}, [h('tr', {}, [h('th', { text: 'head', attrs: { scope: 'col' } }), h('th', { text: 'weight', attrs: { scope: 'col' } })])]),
      h('tbody', {}, rows),
      h('tfoot', {}, [h('tr', {}, [h('th', { attrs: { scope: 'row' }, text: 'Σ' }), cellNum(c.sum)])]),
    ]);
    return h('ol', { class: 'explain-steps' }, [
      this.step('1', 'Each head’s weight for this cell', [h('div', { class: 'table-scroll' }, [table])]),
      this.step('2', 'Average', [h('p', { class: 'formula-line' }, ['mean = ', num(c.sum), ` ÷ ${heads} = `, h('strong', {}, [num(c.mean)])]), h('p', { class: 'muted small', text: 'Choose a single head to see how its weight comes from q·k and the softmax.' })]),
    ]);
  }

  private step(no: string, title: string, body: Child[]): HTMLLIElement {
    return h('li', { class: 'explain-step' }, [h('h4', {}, [h('span', { class: 'step-no', text: no, attrs: { 'aria-hidden': 'true' } }), ` ${title}`]), ...body]);
  }
}
