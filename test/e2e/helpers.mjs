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

// ---- Added for the robustness tests (test/e2e/robustness.e2e.mjs); usable by any test. ----

/** Polls `fn` until it returns a truthy value (returned), or throws after `timeout` ms with the last error. */
export async function waitUntil(fn, { timeout = 15_000, interval = 100, message = 'condition' } = {}) {
  const end = Date.now() + timeout;
  let last;
  for (;;) {
    try {
      const v = await fn();
      if (v) return v;
      last = new Error(`got ${JSON.stringify(v)}`);
    } catch (err) {
      last = err;
    }
    if (Date.now() > end) throw new Error(`timed out after ${timeout} ms waiting for ${message}: ${last?.message}`);
    await new Promise((r) => setTimeout(r, interval));
  }
}

/** Selects line `line` (1-based) of the active editor whose length is `length`: Ctrl+G, Home, Shift+End (again while wrapped), checked in the status bar. */
export async function selectWholeLine(page, line, length) {
  await page.keyboard.press('Control+G');
  await quickInput(page).locator('input').waitFor({ state: 'visible', timeout: 10_000 });
  await page.keyboard.type(String(line));
  await page.keyboard.press('Enter');
  await quickInput(page).waitFor({ state: 'hidden', timeout: 10_000 });
  await page.keyboard.press('Home');
  // On a wrapped line, End stops at the end of the visual line; pressed again, it goes to the line's end.
  const want = selectionStatus(page, `Ln ${line}, Col ${length + 1} (${length} selected)`);
  for (let attempt = 1; ; attempt++) {
    await page.keyboard.press('Shift+End');
    try {
      await want.waitFor({ timeout: attempt < 4 ? 1000 : 10_000 });
      return;
    } catch (err) {
      if (attempt >= 4) throw err;
    }
  }
}

/** The status bar entry of the editor selection, optionally the one showing `text`. */
export const selectionStatus = (page, text) => page.locator('.part.statusbar .statusbar-item', text ? { hasText: text } : { hasText: /Ln \d+, Col \d+/ }).first();

/**
 * Merges `settings` into the workspace folder's .vscode/settings.json (use the throwaway copy tests get).
 * The workbench watches the file and applies the change within about a second; callers check the effect
 * (e.g. the model the panel names). Workspace settings, not User ones: code-server reads machine-scoped
 * settings (such as attentionInspector.gpt2Folder) only from the remote or the workspace, and the workbench
 * writes User/settings.json itself (a concurrent write there fails with "File Modified Since").
 */
export async function updateWorkspaceSettings(workspace, settings) {
  const { existsSync, mkdirSync, readFileSync, writeFileSync } = await import('node:fs');
  const { join } = await import('node:path');
  const dir = join(workspace, '.vscode');
  const file = join(dir, 'settings.json');
  mkdirSync(dir, { recursive: true });
  const current = existsSync(file) ? JSON.parse(readFileSync(file, 'utf8')) : {};
  writeFileSync(file, JSON.stringify({ ...current, ...settings }, null, 2) + '\n');
}

/**
 * The extension's log ("Attention Inspector" output channel) as the extension host writes it on the
 * server: <user-data>/logs/<session>/exthost<N>/<publisher.name>/Attention Inspector.log (and its rotated
 * older parts, oldest first). '' before the first line is written.
 */
export async function readExtensionLog(server, channel = 'Attention Inspector') {
  const { existsSync, readdirSync, readFileSync } = await import('node:fs');
  const { join } = await import('node:path');
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8'));
  const logs = join(server.userDataDir, 'logs');
  if (!existsSync(logs)) return '';
  let text = '';
  for (const session of readdirSync(logs)) {
    const dir = join(logs, session);
    let hosts = [];
    try {
      hosts = readdirSync(dir).filter((d) => d.startsWith('exthost'));
    } catch {
      continue;
    }
    for (const host of hosts) {
      const folder = join(dir, host, `${pkg.publisher}.${pkg.name}`);
      if (!existsSync(folder)) continue;
      // spdlog rotates a long log into "<channel>.1.log", "<channel>.2.log", … (higher = older).
      const rank = (f) => (f === `${channel}.log` ? 0 : Number(f.slice(channel.length + 1, -4)));
      const files = readdirSync(folder)
        .filter((f) => f === `${channel}.log` || new RegExp(`^${channel.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\.\\d+\\.log$`).test(f))
        .sort((a, b) => rank(b) - rank(a));
      for (const f of files) text += readFileSync(join(folder, f), 'utf8');
    }
  }
  return text;
}

/** The inner frame (FrameLocator) of the Attention Inspector panel's webview. */
export async function panelWebview(page, { timeout = 20_000 } = {}) {
  await page.locator('.tabs-container .tab', { hasText: 'Attention Inspector' }).waitFor({ timeout });
  const name = await waitUntil(
    () =>
      page.evaluate(() => {
        const part = document.querySelector('.part.editor')?.getBoundingClientRect();
        if (!part) return null;
        for (const f of document.querySelectorAll('iframe.webview.ready')) {
          const r = f.getBoundingClientRect();
          if (r.width >= 50 && r.height >= 50 && r.left >= part.left - 1 && r.right <= part.right + 1 && r.top >= part.top - 1 && r.bottom <= part.bottom + 1) return f.getAttribute('name');
        }
        return null;
      }),
    { timeout, message: 'the panel webview in the editor area' },
  );
  const frame = page.frameLocator(`iframe.webview.ready[name="${name}"]`).frameLocator('#active-frame');
  await frame.locator('body[data-view="panel"]').waitFor({ state: 'attached', timeout });
  return frame;
}

/** Waits until the locator's trimmed text matches `re` (a string: equals it); returns the text. */
export async function waitForText(locator, re, { timeout = 10_000, what = 'text' } = {}) {
  let text = '';
  const ok = () => (typeof re === 'string' ? text === re : re.test(text));
  try {
    return await waitUntil(async () => {
      text = (await locator.innerText({ timeout: 1000 }).catch(() => '')).trim();
      return ok() && text;
    }, { timeout, message: what });
  } catch {
    throw new Error(`${what}: expected ${typeof re === 'string' ? JSON.stringify(re) : re}, got ${JSON.stringify(text)} (after ${timeout} ms)`);
  }
}

/**
 * A notification containing `text`, from the notification centre (opened here if it is not showing). The
 * e2e workbench never shows toasts: VS Code skips them while the smoke-test driver is enabled (which the
 * `payload` URL parameter needs), so `notification()` only sees toasts in a normal window.
 */
export async function notificationInCenter(page, text, { timeout = 15_000 } = {}) {
  const center = page.locator('.notifications-center');
  if (!(await center.isVisible())) await runCommand(page, 'Notifications: Show Notifications');
  const item = center.locator('.notification-list-item', { hasText: text }).first();
  await item.waitFor({ state: 'visible', timeout });
  return item;
}

// ---- Added for the timing test (test/e2e/timing.e2e.mjs); usable by any test. ----

/**
 * The pid of the extension host of `server` (Linux /proc): the process in the server's process group (the
 * server runs detached, so its group id is its pid) whose command line says `--type=extensionHost`; the
 * newest one when there are several. Null when there is none (or no /proc).
 */
export async function extensionHostPid(server) {
  const { readdirSync, readFileSync } = await import('node:fs');
  let best = null;
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' '); // state ppid pgrp …
      if (Number(fields[2]) !== server.pid) continue;
      const cmd = readFileSync(`/proc/${entry}/cmdline`, 'utf8');
      if (!cmd.includes('extensionHost')) continue;
      const start = Number(fields[19]); // starttime
      if (!best || start > best.start) best = { pid: Number(entry), start };
    } catch {
      /* gone meanwhile */
    }
  }
  return best?.pid ?? null;
}

/** Resident memory of a process in MiB from /proc/<pid>/status: { rss, peak } (peak = VmHWM, the high-water mark), or null. */
export async function processMemory(pid) {
  const { readFileSync } = await import('node:fs');
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = (key) => Number(new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN);
    return { rss: kb('VmRSS') / 1024, peak: kb('VmHWM') / 1024 };
  } catch {
    return null;
  }
}

/** Resets the process's peak resident memory (VmHWM) to its current size (Linux ≥ 4.0); false when not allowed. */
export async function resetPeakMemory(pid) {
  const { writeFileSync } = await import('node:fs');
  try {
    writeFileSync(`/proc/${pid}/clear_refs`, '5');
    return true;
  } catch {
    return false;
  }
}
