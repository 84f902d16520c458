// Helpers for driving the VS Code workbench (code-server in Chromium) from e2e tests.
// Not a test file (only *.e2e.mjs are run).

/** The quick input box (Quick Open / command palette). */
export const quickInput = (page) => page.locator('.quick-input-widget');

async function openQuickInput(page, keys) {
  // Right after load, the first key press can be lost while the workbench wires its keybindings: retry.
  for (let attempt = 1; ; attempt++) {
    await page.keyboard.press(keys);
    try {
      await quickInput(page).locator('input').waitFor({ state: 'visible', timeout: 5000 });
      return quickInput(page).locator('input');
    } catch (err) {
      if (attempt >= 3) throw new Error(`${keys} did not open the quick input: ${err.message}`);
    }
  }
}

/** A visible row of the quick input list whose label contains `text`. */
export const quickPickRow = (page, text) =>
  quickInput(page).locator('.monaco-list-row', { hasText: text }).first();

/** Control+P, type `fileName`, Enter; waits for the editor tab. */
export async function quickOpen(page, fileName) {
  const input = await openQuickInput(page, 'Control+P');
  await input.fill(fileName);
  await quickPickRow(page, fileName).waitFor({ state: 'visible', timeout: 15_000 });
  await page.keyboard.press('Enter');
  await activeTab(page, fileName).waitFor({ state: 'visible', timeout: 15_000 });
}

/**
 * Control+Shift+P and type `>title` (e.g. "Attention Inspector: Inspect Selection"); waits for the entry.
 * Leaves the palette open and returns the row locator (press Enter to run it, Escape to close).
 */
export async function showCommand(page, title) {
  const input = await openQuickInput(page, 'Control+Shift+P');
  await input.fill(`>${title}`);
  const row = quickPickRow(page, title);
  await row.waitFor({ state: 'visible', timeout: 15_000 });
  return row;
}

/** Runs a command from the palette by its "Category: Title". */
export async function runCommand(page, title) {
  await showCommand(page, title);
  await page.keyboard.press('Enter');
  await quickInput(page).waitFor({ state: 'hidden', timeout: 10_000 });
}

/** The active editor tab with the given label. */
export const activeTab = (page, label) => page.locator('.tabs-container .tab.active', { hasText: label });

/** The visible text lines of the active text editor. */
export const editorText = (page) => page.locator('.editor-instance .monaco-editor .view-lines').first();

/** A notification toast containing `text`. */
export const notification = (page, text) => page.locator('.notification-toast', { hasText: text }).first();

/** Waits until the status bar no longer says "Activating Extensions…" (nicer screenshots). */
export async function extensionsSettled(page, { timeout = 30_000 } = {}) {
  await page.locator('.part.statusbar', { hasText: 'Activating Extensions' }).waitFor({ state: 'hidden', timeout });
}
