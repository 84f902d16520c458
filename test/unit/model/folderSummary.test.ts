import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { errorKind } from '../../../src/errors';
import { describeModelFolder } from '../../../src/model/folderSummary';
import { loadModel } from '../../../src/pipeline/model';
import { loadGpt2Folder } from '../../../src/model';

const FIXTURES = join(__dirname, '..', '..', 'fixtures');
const FAMILIES = join(FIXTURES, 'families');

describe('describeModelFolder (what Choose Model… shows, without reading weights)', () => {
  const folders = [...readdirSync(FAMILIES).map((c) => join(FAMILIES, c)), join(FIXTURES, 'gpt2-tiny')];
  for (const folder of folders) {
    it(`${folder.split(/[\\/]/).pop()}: the same sizes and parameter count as loading it`, async () => {
      const summary = await describeModelFolder(folder);
      const { info } = await loadModel({ kind: 'folder', folder, label: 'x' }, loadGpt2Folder);
      assert.equal(summary.family, info.family);
      assert.deepEqual([summary.layers, summary.heads, summary.kvHeads, summary.dModel, summary.headDim, summary.causal], [info.layers, info.heads, info.kvHeads, info.dModel, info.headDim, info.causal]);
      assert.equal(summary.parameters, info.parameters);
      assert.equal(summary.tokenizer === null, info.tokenizer === null);
    });
  }

  describe('says why a folder cannot be used', () => {
    let dir: string;
    beforeEach(() => {
      dir = mkdtempSync(join(tmpdir(), 'ai-summary-'));
    });
    afterEach(() => rmSync(dir, { recursive: true, force: true }));
    const refuses = async (pattern: RegExp) => {
      await assert.rejects(describeModelFolder(dir), (e: unknown) => {
        assert.equal(errorKind(e), 'user');
        assert.match((e as Error).message, pattern);
        return true;
      });
    };

    it('a missing folder, or one without config.json', async () => {
      rmSync(dir, { recursive: true });
      await refuses(/folder not found/);
      mkdirSync(dir);
      await refuses(/config\.json is missing/);
    });
    it('an unsupported model type, by name', async () => {
      writeFileSync(join(dir, 'config.json'), JSON.stringify({ model_type: 't5' }));
      await refuses(/"model_type" "t5" is not supported; supported model types are gpt2, llama/);
    });
    it('an unsupported config feature, by name', async () => {
      const config = JSON.parse(readFileSync(join(FAMILIES, 'llama_gqa_tied', 'config.json'), 'utf8'));
      writeFileSync(join(dir, 'config.json'), JSON.stringify({ ...config, rope_scaling: { rope_type: 'yarn', factor: 4 } }));
      await refuses(/yarn/);
    });
    it('pickle weights only, or no weights', async () => {
      copyFileSync(join(FAMILIES, 'llama_gqa_tied', 'config.json'), join(dir, 'config.json'));
      await refuses(/model\.safetensors is missing/);
      writeFileSync(join(dir, 'pytorch_model.bin'), 'x');
      await refuses(/pytorch_model\.bin.*safe_serialization/);
    });
    it('an index that points outside its folder', async () => {
      copyFileSync(join(FAMILIES, 'llama_gqa_tied', 'config.json'), join(dir, 'config.json'));
      writeFileSync(join(dir, 'model.safetensors.index.json'), JSON.stringify({ weight_map: { 'model.embed_tokens.weight': '../elsewhere.safetensors' } }));
      await refuses(/"\.\.\/elsewhere\.safetensors", which must be a file name in the same folder/);
    });
    it('a safetensors file that holds none of the family tensors', async () => {
      copyFileSync(join(FAMILIES, 'llama_gqa_tied', 'config.json'), join(dir, 'config.json'));
      copyFileSync(join(FAMILIES, 'bert_noprefix', 'model.safetensors'), join(dir, 'model.safetensors'));
      await refuses(/none of the llama tensors/);
    });
  });
});
