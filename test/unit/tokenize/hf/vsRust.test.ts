// The tokenizer.json tokenizer against Hugging Face's own (Rust) tokenizers, through its Node binding:
// ids, which tokens are special, and offsets (Rust's, converted and completed by the documented rules,
// see reference.ts), for every fixture and every text set, and for random text.

import assert from 'node:assert/strict';
import fc from 'fast-check';
import { HfTokenizer } from '../../../../src/tokenize/hf/tokenizer';
import { FIXTURES } from './fixtures';
import { randomText, TEXT_SETS } from './texts';
import { expectedTokens, rawAddedTokens, type Reference, rustReference, type UnicodeForm, unicodeForms } from './reference';

interface Mismatch {
  readonly what: 'ids' | 'specials' | 'offsets';
  readonly text: string;
  readonly detail: string;
}

interface Subject {
  readonly mine: HfTokenizer;
  readonly reference: Reference;
  readonly forms: readonly UnicodeForm[];
  readonly rawAdded: ReadonlyMap<number, string>;
}

async function compare({ mine, reference, forms, rawAdded }: Subject, text: string): Promise<Mismatch[]> {
  const rust = await reference.encode(text);
  const expected = expectedTokens(text, rust, await reference.specialsBefore(), forms, rawAdded);
  const got = mine.encode(text);
  const mismatches: Mismatch[] = [];
  const show = (tokens: ReadonlyArray<{ id: number; start: number; end: number; special?: boolean }>) => tokens.map((t) => `${t.id}${t.special ? '*' : ''}[${t.start},${t.end}]`).join(' ');
  const ids = got.map((t) => t.id);
  if (JSON.stringify(ids) !== JSON.stringify(rust.ids)) {
    mismatches.push({ what: 'ids', text, detail: `rust ${rust.tokens.map((t, i) => `${JSON.stringify(t)}=${rust.ids[i]}`).join(' ')}\n  ours ${got.map((t) => `${JSON.stringify(t.text)}=${t.id}`).join(' ')}` });
    return mismatches;
  }
  if (JSON.stringify(got.map((t) => t.special === true)) !== JSON.stringify(expected.map((t) => t.special))) mismatches.push({ what: 'specials', text, detail: `expected ${show(expected)}\n  ours ${show(got)}` });
  if (JSON.stringify(got.map((t) => [t.start, t.end])) !== JSON.stringify(expected.map((t) => [t.start, t.end]))) {
    mismatches.push({ what: 'offsets', text, detail: `rust tokens ${JSON.stringify(rust.tokens)} raw ${JSON.stringify(rust.offsets)}\n  expected ${show(expected)}\n  ours     ${show(got)}` });
  }
  return mismatches;
}

function report(mismatches: readonly Mismatch[]): string {
  return mismatches
    .slice(0, 3)
    .map((m) => `${m.what} differ for ${JSON.stringify(m.text)}:\n  ${m.detail}`)
    .join('\n');
}

describe('tokenizer.json tokenizer vs Hugging Face tokenizers (Rust, npm "tokenizers")', function () {
  this.timeout(120_000);

  for (const fixture of FIXTURES) {
    describe(`${fixture.name}: ${fixture.about}`, () => {
      let subject: Subject;

      before(() => {
        const json = fixture.json();
        subject = { mine: HfTokenizer.fromJson(json, fixture.config?.()), reference: rustReference(json), forms: unicodeForms(json), rawAdded: rawAddedTokens(json) };
      });

      for (const [set, texts] of TEXT_SETS) {
        it(`${set}: ids, specials and offsets equal`, async () => {
          const mismatches: Mismatch[] = [];
          for (const text of texts) mismatches.push(...(await compare(subject, text)));
          assert.equal(mismatches.length, 0, report(mismatches));
        });
      }

      it('random text over a mixed alphabet (fast-check): ids, specials and offsets equal', async () => {
        await fc.assert(
          fc.asyncProperty(randomText, async (text) => {
            const mismatches = await compare(subject, text);
            assert.equal(mismatches.length, 0, report(mismatches));
          }),
          { numRuns: Number(process.env.HF_FC_RUNS ?? 150) },
        );
      });
    });
  }
});
