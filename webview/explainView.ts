// "Explain this cell": the arithmetic from q·k to the softmax weight, with the engine's stored numbers as
// the results and every term listed (or the first and the largest ones for wide heads).
import { bidirectionalSentence, groupSentence, inputSentence, maskedCellSentence, passThroughSentence, qkNormSentence, rotarySentence, SPECIAL_TOKEN, type MaskKind } from '../src/present/family';
import type { TokenView } from '../src/protocol';
import { codicon, custom, h, replaceChildren } from './dom';
import { keyRuns, selectEntries, selectTerms, type CellExplanation, type MeanExplanation } from './explain';
import { selectPairs, type GroupsExplanation, type RotaryExplanation } from './explainFamily';
import { exactNumber, formatNumber, quoted, tokenText, tokenTitle } from './format';
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

function cellNum(v: number, digits = 4): HTMLTableCellElement {
  const td = h('td', { class: v === -Infinity ? 'num neg-inf' : 'num', text: formatNumber(v, digits) });
  td.title = exactNumber(v);
  return td;
}

interface FamilyParts {
  readonly rotary: RotaryExplanation | null;
  readonly groups: GroupsExplanation | null;
  readonly mask: MaskKind;
  readonly head: number;
  readonly norm: 'layerNorm' | 'rmsNorm' | 'none' | null;
  readonly traced: boolean;
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

  update(ex: Explanation | null, tokens: readonly TokenView[], pendingTrace: boolean): void {
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
    const body =
      ex.kind === 'head'
        ? this.headSteps(ex.cell, tokens, { rotary: ex.rotary, groups: ex.groups, mask: ex.mask, head: ex.head, norm: ex.norm, traced: ex.traceLoaded }, pendingTrace && !ex.traceLoaded)
        : this.meanSteps(ex.cell, ex.heads);
    replaceChildren(this.element, [title, where, body]);
  }

  private tokenRef(tokens: readonly TokenView[], i: number, role: string): HTMLElement {
    if (tokens[i]?.special) return h('span', { class: 'token-ref special-token', text: tokenText(tokens[i], 20), title: `${role} token #${i}: ${SPECIAL_TOKEN}` });
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

  private headSteps(c: CellExplanation, tokens: readonly TokenView[], family: FamilyParts, loading: boolean): HTMLElement {
    const i = c.query, j = c.key;
    const steps: Child[] = [];
    let no = 1;

    // 0. Rotary: how q and k were turned by their positions.
    if (family.rotary) steps.push(this.step(String(no++), 'Turn q and k by their positions', this.rotaryBody(family.rotary, i, j, family.norm, family.groups !== null)));

    // 1. Dot product.
    const dotBody: Child[] = [];
    if (family.traced && !family.rotary) dotBody.push(h('p', { class: 'muted small', text: inputSentence(family.norm ?? undefined, family.groups !== null) }));
    if (family.groups) dotBody.push(this.groupsBody(family.groups, family.head));
    dotBody.push(h('p', { class: 'formula-line' }, [sub('q', i), ' · ', sub('k', j), ' = Σ', h('sub', { text: 'c' }), ' ', sub('q', i), '[c] · ', sub('k', j), `[c]   (c = 0 … ${c.headDim - 1})`]));
    if (family.rotary) dotBody.push(h('p', { class: 'muted small', text: `q${i} and k${j} here are the turned vectors: what enters QKᵀ.` }));
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
    steps.push(this.step(String(no++), 'Match the query with the key', dotBody));

    // 2. Scale (and mask).
    const scaleBody: Child[] = [];
    if (c.masked) {
      scaleBody.push(h('p', { text: maskedCellSentence(family.mask, i, j) }));
    } else {
      if (family.mask.kind === 'none' && j > i) scaleBody.push(h('p', { class: 'muted small', text: bidirectionalSentence(i, j) }));
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
    steps.push(this.step(String(no++), c.masked ? 'Mask' : 'Scale by √d_k', scaleBody));

    // 3. Softmax over the row.
    const sel = selectEntries(c.entries, j);
    const rows: HTMLElement[] = sel.shown.map((e) =>
      h('tr', { class: e.key === j ? 'clicked' : '' }, [
        h('th', { attrs: { scope: 'row' }, title: tokenTitle(tokens, e.key, 60) }, [
          h('span', { class: 'th-index', text: `#${e.key} ` }),
          h('span', { class: tokens[e.key]?.special ? 'th-token special-token' : 'th-token', text: tokenText(tokens[e.key], 10) }),
        ]),
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
      rows.push(
        h('tr', { class: c.masked ? 'omitted clicked' : 'omitted' }, [
          h('th', { attrs: { scope: 'row' }, title: 'masked keys' }, [keyRuns(c.maskedKeys)]),
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
    steps.push(this.step(String(no), `Softmax over row #${i}`, softBody));
    return h('ol', { class: 'explain-steps' }, steps);
  }

  /** The rotary turn: θ, each pair's frequency (scaled where the config scales), both angles, and its share of q·k before and after. */
  private rotaryBody(r: RotaryExplanation, i: number, j: number, norm?: 'layerNorm' | 'rmsNorm' | 'none' | null, gqa = false): Child[] {
    const half = r.rope.rotaryDims / 2;
    const scaled = r.pairs.some((p) => p.unscaledFreq !== null);
    const sel = selectPairs(r.pairs);
    const th = (cells: Child[]) => h('th', { attrs: { scope: 'col' } }, cells);
    const head = h('tr', {}, [
      th(['k']),
      ...(scaled ? [th(['θ', h('sup', { text: `−2k/${r.rope.rotaryDims}` })])] : []),
      th([scaled ? 'f' : 'f = θ', scaled ? h('sub', { text: 'k' }) : h('sup', { text: `−2k/${r.rope.rotaryDims}` }), scaled ? ' scaled' : null]),
      th([`${i}·f`, h('sub', { text: 'k' })]),
      th([`${j}·f`, h('sub', { text: 'k' })]),
      th(['before']),
      th(['after']),
    ]);
    const rows: HTMLElement[] = sel.shown.map((p) =>
      h('tr', {}, [
        h('th', { attrs: { scope: 'row', title: `dims ${p.k} and ${p.k + half}` }, text: String(p.k) }),
        ...(scaled ? [cellNum(p.unscaledFreq ?? NaN, 3)] : []),
        cellNum(p.freq, 3),
        cellNum(p.angleQuery, 3),
        cellNum(p.angleKey, 3),
        cellNum(p.before, 3),
        cellNum(p.after, 3),
      ]),
    );
    if (sel.omitted > 0) {
      rows.push(h('tr', { class: 'omitted' }, [h('th', { attrs: { scope: 'row' }, text: '…' }), h('td', { attrs: { colspan: scaled ? 5 : 4 }, text: `${sel.omitted} more pairs` }), cellNum(sel.omittedSum)]));
    }
    const foot: HTMLElement[] = [h('tr', {}, [h('th', { attrs: { scope: 'row', colspan: scaled ? 6 : 5 }, text: 'Σ pairs' }), cellNum(r.pairsSum)])];
    if (r.passThroughSum !== null) {
      foot.push(h('tr', {}, [h('th', { attrs: { scope: 'row', colspan: scaled ? 6 : 5 }, text: `+ dims ${r.rope.rotaryDims}…${r.headDim - 1} (not turned)` }), cellNum(r.passThroughSum)]));
    }
    const total = r.pairsSum + (r.passThroughSum ?? 0);
    const body: Child[] = [h('p', { text: rotarySentence(r.rope, r.headDim, i, j) })];
    if (norm !== undefined) body.push(h('p', { class: 'muted small', text: inputSentence(norm ?? undefined, gqa) }));
    if (r.qNorm || r.kNorm) body.push(h('p', { class: 'muted small', text: qkNormSentence(r.qNorm, r.kNorm) }));
    if (r.passThroughSum !== null) body.push(h('p', { class: 'muted small', text: passThroughSentence(r.rope.rotaryDims, r.headDim) }));
    body.push(
      h('div', { class: 'table-scroll' }, [
        h('table', { class: 'terms rotary' }, [h('thead', {}, [head]), h('tbody', {}, rows), h('tfoot', {}, foot)]),
      ]),
      h('p', { class: 'muted small' }, [
        'before: the pair’s share of ',
        sub('q', i),
        ' · ',
        sub('k', j),
        ' without positions; after: once query and key are turned (angles in radians). The shares after add up to ',
        num(total),
        ', the match below.',
      ]),
    );
    return body;
  }

  /** Grouped-query attention: the KV head this head reads, and the map of every group. */
  private groupsBody(g: GroupsExplanation, head: number): HTMLElement {
    const groups = Array.from({ length: g.kvHeads }, (_, kv) =>
      h('li', { class: kv === g.kvHead ? 'group current' : 'group' }, [
        h('span', { class: 'group-heads' }, g.map.flatMap((m, hd) => (m === kv ? [h('span', { class: hd === head ? 'qhead current' : 'qhead', text: `H${hd}` })] : []))),
        h('span', { class: 'group-arrow', text: '→', attrs: { 'aria-hidden': 'true' } }),
        h('span', { class: 'kvhead', text: `KV${kv}` }),
      ]),
    );
    return h('div', { class: 'groups' }, [
      h('p', { class: 'small', text: groupSentence(head, g.kvHead, g.heads, g.kvHeads) }),
      h('ul', { class: 'group-map', attrs: { 'aria-label': 'Query heads → KV heads' } }, groups),
    ]);
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
