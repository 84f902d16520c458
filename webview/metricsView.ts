// Head metrics of the shown layer (one row per head, the chosen head highlighted), and for GPT-2 the
// most likely next tokens with the text's perplexity.
import type { InspectionSummary } from '../src/protocol';
import { ENCODER_NO_NEXT_TOKEN, isEncoder } from '../src/present/family';
import { codicon, h, replaceChildren } from './dom';
import { exactNumber, formatNumber, formatPercent, METRIC_COLUMNS, tokenLabel } from './format';
import type { HeadChoice } from './viewState';

export class MetricsView {
  readonly element: HTMLDivElement;
  private readonly table: HTMLTableElement;
  private readonly caption: HTMLElement;
  private key: { summary: InspectionSummary; layer: number } | null = null;
  private rows: HTMLTableRowElement[] = [];

  constructor(private readonly onSelectHead: (head: HeadChoice) => void) {
    this.caption = h('caption', { class: 'visually-hidden' });
    this.table = h('table', { class: 'metrics-table' });
    this.element = h('div', { class: 'metrics' }, [h('div', { class: 'table-scroll' }, [this.table])]);
  }

  update(summary: InspectionSummary, layer: number, head: HeadChoice): void {
    if (!this.key || this.key.summary !== summary || this.key.layer !== layer) {
      this.key = { summary, layer };
      this.build(summary, layer);
    }
    this.rows.forEach((row, i) => {
      const chosen = head === i;
      row.classList.toggle('selected', chosen);
      row.setAttribute('aria-selected', String(chosen));
    });
  }

  private build(summary: InspectionSummary, layer: number): void {
    const metrics = summary.metrics[layer] ?? [];
    this.caption.textContent = `Head metrics for layer ${layer}`;
    const maxes = METRIC_COLUMNS.map((c) => Math.max(1e-12, ...metrics.map((m) => (Number.isFinite(m[c.key]) ? m[c.key] : 0))));
    const head = h('thead', {}, [
      h('tr', {}, [
        h('th', { text: 'Head', attrs: { scope: 'col' } }),
        ...METRIC_COLUMNS.map((c) => h('th', { text: c.label, title: c.help, attrs: { scope: 'col' } })),
      ]),
    ]);
    this.rows = metrics.map((m, i) => {
      const row = h(
        'tr',
        {
          attrs: { tabindex: 0, 'aria-selected': 'false' },
          title: `Show head ${i}`,
          on: {
            click: () => this.onSelectHead(i),
            keydown: (e) => {
              if (e.key === 'Enter' || e.key === ' ') {
                e.preventDefault();
                this.onSelectHead(i);
              }
            },
          },
        },
        [
          h('th', { text: `H${i}`, attrs: { scope: 'row' } }),
          ...METRIC_COLUMNS.map((c, ci) => {
            const v = m[c.key];
            const bar = h('span', { class: 'metric-bar', attrs: { 'aria-hidden': 'true' } });
            bar.style.width = `${Math.max(0, Math.min(1, v / maxes[ci])) * 100}%`;
            return h('td', { class: 'num', title: exactNumber(v) }, [bar, h('span', { class: 'metric-value', text: formatNumber(v, 3) })]);
          }),
        ],
      );
      return row;
    });
    replaceChildren(this.table, [this.caption, head, h('tbody', {}, this.rows)]);
  }
}

export class NextTokenView {
  readonly element: HTMLDivElement;
  private shown: InspectionSummary | null = null;

  constructor() {
    this.element = h('div', { class: 'next-tokens' });
  }

  update(summary: InspectionSummary): void {
    if (this.shown === summary) return;
    this.shown = summary;
    const top = summary.topNext;
    const maxP = Math.max(1e-12, ...top.map((t) => t.prob));
    const list = h(
      'ol',
      { class: 'next-list', attrs: { 'aria-label': 'Most likely next tokens' } },
      top.map((t) => {
        const bar = h('span', { class: 'next-bar', attrs: { 'aria-hidden': 'true' } });
        bar.style.width = `${(t.prob / maxP) * 100}%`;
        return h('li', { title: `token id ${t.id}: p = ${exactNumber(t.prob)}` }, [
          h('code', { class: 'next-token', text: tokenLabel(t.text, 24) }),
          h('span', { class: 'next-bar-track' }, [bar]),
          h('span', { class: 'next-prob', text: formatPercent(t.prob) }),
        ]);
      }),
    );
    const ppl =
      summary.perplexity === null
        ? null
        : h('p', { class: 'perplexity' }, [
            h('span', { text: 'Perplexity ' }),
            h('strong', { text: formatNumber(summary.perplexity, 4), title: exactNumber(summary.perplexity) }),
            h('span', { class: 'muted', text: ' — how surprised the model is by this text (lower is more predictable)' }),
          ]);
    if (isEncoder(summary.model)) {
      replaceChildren(this.element, [h('p', { class: 'encoder-note' }, [codicon('info'), ` ${ENCODER_NO_NEXT_TOKEN}`])]);
      return;
    }
    replaceChildren(this.element, [
      top.length ? h('p', { class: 'muted small', text: 'After the last token, the model predicts:' }) : null,
      top.length ? list : null,
      ppl,
    ]);
  }
}
