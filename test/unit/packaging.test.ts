import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import pkg from '../../package.json';

const ROOT = join(__dirname, '..', '..');

describe('packaging', function () {
  this.timeout(60_000);

  it('the .vsix holds only the bundles, codicons, icons and docs (.vscodeignore)', () => {
    const listed = execFileSync(process.execPath, [join(ROOT, 'node_modules', '@vscode', 'vsce', 'vsce'), 'ls', '--no-dependencies'], { cwd: ROOT, encoding: 'utf8' })
      .split('\n')
      .map((l) => l.trim())
      .filter(Boolean)
      .sort();
    assert.deepEqual(listed, [
      'CHANGELOG.md',
      'LICENSE',
      'README.md',
      'dist/codicon.css',
      'dist/codicon.ttf',
      'dist/extension.js',
      'dist/webview.css',
      'dist/webview.js',
      'dist/worker.js',
      'media/activity-icon.svg',
      'media/icon.png',
      'package.json',
    ]);
  });

  it('every command has a category, and every setting a markdown description', () => {
    for (const c of pkg.contributes.commands) assert.equal(c.category, 'Attention Inspector', c.command);
    for (const [key, setting] of Object.entries(pkg.contributes.configuration.properties)) {
      assert.ok((setting as { markdownDescription?: string }).markdownDescription, `${key} has a markdownDescription`);
    }
  });
});
