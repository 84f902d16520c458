import assert from 'node:assert/strict';
import type { Token } from '../../../src/tokenize/types';

/** [display text, start, end] triples: compact expectations for offset tests. */
export function spans(tokens: readonly Token[]): Array<[string, number, number]> {
  return tokens.map((t) => [t.text, t.start, t.end]);
}

/**
 * The invariants every tokenizer promises: starts never go backwards, each token covers at least one
 * code unit, no gaps (a token starts at or before the previous end, and never before the previous
 * start), the first starts at 0 and the last ends at text.length. Returns the text rebuilt from the
 * distinct parts of the ranges, which must equal the input.
 */
export function assertCoverage(text: string, tokens: readonly Token[]): void {
  if (text.length === 0) {
    assert.equal(tokens.length, 0, 'empty text gives no tokens');
    return;
  }
  assert.ok(tokens.length > 0, 'non-empty text gives tokens');
  assert.equal(tokens[0].start, 0, 'first token starts at 0');
  assert.equal(tokens[tokens.length - 1].end, text.length, 'last token ends at text.length');
  let previousStart = 0;
  let previousEnd = 0;
  let rebuilt = '';
  tokens.forEach((token, i) => {
    assert.ok(Number.isInteger(token.start) && Number.isInteger(token.end), `token ${i}: integer offsets`);
    assert.ok(token.start < token.end, `token ${i}: start ${token.start} < end ${token.end}`);
    assert.ok(token.start >= previousStart, `token ${i}: start ${token.start} goes back before ${previousStart}`);
    assert.ok(token.start <= previousEnd, `token ${i}: gap between ${previousEnd} and ${token.start}`);
    assert.ok(token.end >= previousEnd, `token ${i}: end ${token.end} goes back before ${previousEnd}`);
    rebuilt += text.slice(Math.max(token.start, previousEnd), token.end);
    previousStart = token.start;
    previousEnd = token.end;
  });
  assert.equal(rebuilt, text, 'distinct ranges rebuild the input');
}
