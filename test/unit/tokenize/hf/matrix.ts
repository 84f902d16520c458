// Prints the verification matrix: for each fixture and text set, whether ids, special tokens and
// offsets equal Hugging Face's Rust tokenizers (see vsRust.test.ts, which asserts the same).
// Run: npx tsx test/unit/tokenize/hf/matrix.ts [random runs per fixture, default 1000]

import fc from 'fast-check';
import { HfTokenizer } from '../../../../src/tokenize/hf/tokenizer';
import { FIXTURES } from './fixtures';
import { expectedTokens, rawAddedTokens, rustReference, unicodeForms } from './reference';
import { randomText, TEXT_SETS } from './texts';

type Verdict = { ids: number; specials: number; offsets: number; texts: number };

async function main(): Promise<void> {
  const runs = Number(process.argv[2] ?? 1000);
  const randomTexts = fc.sample(randomText, { numRuns: runs, seed: 42 });
  const sets: Array<readonly [string, readonly string[]]> = [...TEXT_SETS, [`random ×${runs}`, randomTexts]];
  console.log(`| tokenizer | ${sets.map(([name]) => name).join(' | ')} |`);
  console.log(`|---|${sets.map(() => '---').join('|')}|`);
  for (const fixture of FIXTURES) {
    const json = fixture.json();
    const mine = HfTokenizer.fromJson(json, fixture.config?.());
    const reference = rustReference(json);
    const forms = unicodeForms(json);
    const rawAdded = rawAddedTokens(json);
    const before = await reference.specialsBefore();
    const cells: string[] = [];
    for (const [, texts] of sets) {
      const verdict: Verdict = { ids: 0, specials: 0, offsets: 0, texts: texts.length };
      for (const text of texts) {
        const rust = await reference.encode(text);
        const expected = expectedTokens(text, rust, before, forms, rawAdded);
        const got = mine.encode(text);
        if (JSON.stringify(got.map((t) => t.id)) !== JSON.stringify(rust.ids)) continue;
        verdict.ids++;
        if (JSON.stringify(got.map((t) => t.special === true)) === JSON.stringify(expected.map((t) => t.special))) verdict.specials++;
        if (JSON.stringify(got.map((t) => [t.start, t.end])) === JSON.stringify(expected.map((t) => [t.start, t.end]))) verdict.offsets++;
      }
      const all = verdict.ids === verdict.texts && verdict.specials === verdict.texts && verdict.offsets === verdict.texts;
      cells.push(all ? `✓ ${verdict.texts}` : `ids ${verdict.ids}/${verdict.texts}, specials ${verdict.specials}, offsets ${verdict.offsets}`);
    }
    console.log(`| ${fixture.name} | ${cells.join(' | ')} |`);
  }
}

void main();
