// Smoke test: the extension loads in a real VS Code and contributes working commands.
// Generic on purpose: ids come from package.json, not hard-coded.
import * as assert from 'node:assert/strict';
import * as vscode from 'vscode';
import pkg from '../../package.json';

const EXTENSION_ID = `${pkg.publisher}.${pkg.name}`;

describe('extension smoke test', () => {
  it(`is installed as ${EXTENSION_ID}`, () => {
    const ext = vscode.extensions.getExtension(EXTENSION_ID);
    assert.ok(ext, `extension ${EXTENSION_ID} not found`);
  });

  it('activates', async () => {
    const ext = vscode.extensions.getExtension(EXTENSION_ID);
    assert.ok(ext);
    await ext.activate();
    assert.equal(ext.isActive, true);
  });

  it('registers every command it contributes', async () => {
    const ext = vscode.extensions.getExtension(EXTENSION_ID);
    assert.ok(ext);
    await ext.activate();
    const contributed: string[] = (ext.packageJSON?.contributes?.commands ?? []).map((c: { command: string }) => c.command);
    assert.ok(contributed.length > 0, 'package.json contributes no commands');
    const registered = new Set(await vscode.commands.getCommands(true));
    const missing = contributed.filter((id) => !registered.has(id));
    assert.deepEqual(missing, [], `contributed but not registered: ${missing.join(', ')}`);
  });

  it('opens the test workspace', async () => {
    const folder = vscode.workspace.workspaceFolders?.[0];
    assert.ok(folder, 'no workspace folder open');
    const found = await vscode.workspace.findFiles('sample.md');
    assert.equal(found.length, 1, 'sample.md not found in the workspace');
    const doc = await vscode.workspace.openTextDocument(found[0]);
    assert.match(doc.getText(), /attention/i);
  });
});
