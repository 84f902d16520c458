// End-to-end: the workbench loads with the extension, Quick Open and the command palette work.
// Each exported async function is a test: ({ page, theme, screenshot }) => Promise<void>.
import assert from 'node:assert/strict';
import { editorText, extensionsSettled, quickInput, quickOpen, showCommand } from './helpers.mjs';

export async function workbenchLoadsWithTheExtension({ page }) {
  assert.match(await page.title(), /Extension Development Host/, 'not an Extension Development Host window');
  await page.locator('.explorer-folders-view .monaco-list-row', { hasText: 'sample.md' }).waitFor({ timeout: 30_000 });
}

export async function quickOpenAndCommandPalette({ page, screenshot }) {
  await quickOpen(page, 'sample.md');
  await editorText(page).getByText('The cat sat on the mat').waitFor({ timeout: 15_000 });
  await extensionsSettled(page);

  const row = await showCommand(page, 'Attention Inspector: Inspect Selection');
  assert.match(await row.innerText(), /Inspect Selection/);
  await screenshot('workbench');
  await page.keyboard.press('Escape');
  await quickInput(page).waitFor({ state: 'hidden' });
}
