import * as vscode from 'vscode';
import type { Inspector } from './inspector';
import { readWorkspaceSettings, SECTION } from './settings';
import type { SideViewProvider } from './views';

/** Settings that change the numbers: the last inspection is redone when one of them changes. */
const NUMBER_SETTINGS = ['model', 'modelFolder', 'gpt2Folder', 'huggingFaceModel', 'random', 'tokenizer', 'maxTokens'];
/** "Choose Model…" writes two settings; the state between them is incomplete. */
const RERUN_DELAY_MS = 500;

/** The side view follows the editor selection, debounced by `liveUpdateDelay`, while it is visible. */
export function followSelection(inspector: Inspector, sideView: SideViewProvider): vscode.Disposable {
  let timer: NodeJS.Timeout | undefined;
  const schedule = () => {
    const { settings } = readWorkspaceSettings();
    if (!settings.liveUpdate || !sideView.visible) return;
    clearTimeout(timer);
    timer = setTimeout(() => void inspector.inspectSelection({ live: true }), settings.liveUpdateDelay);
  };
  return vscode.Disposable.from(
    vscode.window.onDidChangeTextEditorSelection((e) => {
      if (e.textEditor === vscode.window.activeTextEditor && e.textEditor.document.uri.scheme !== 'output') schedule();
    }),
    sideView.onDidChangeVisibility((visible) => visible && schedule()),
    new vscode.Disposable(() => clearTimeout(timer)),
  );
}

/** Views redraw when the drawing settings change; the last inspection is redone when the model settings do. */
export function followSettings(inspector: Inspector): vscode.Disposable {
  let timer: NodeJS.Timeout | undefined;
  return vscode.Disposable.from(
    vscode.workspace.onDidChangeConfiguration((e) => {
      if (!e.affectsConfiguration(SECTION)) return;
      inspector.settingsChanged();
      const { problems } = readWorkspaceSettings();
      if (problems.length) void vscode.window.showWarningMessage(`Attention Inspector: ${problems[0]}`);
      const affectsNumbers = NUMBER_SETTINGS.some((k) => e.affectsConfiguration(`${SECTION}.${k}`));
      if (!affectsNumbers || !inspector.lastResult) return;
      clearTimeout(timer);
      const startedBefore = inspector.started;
      timer = setTimeout(() => {
        // Someone inspected since the change (a command, a test): that run already uses the new settings.
        if (inspector.started === startedBefore && vscode.window.activeTextEditor) void inspector.inspectSelection({ reveal: false });
      }, RERUN_DELAY_MS);
    }),
    new vscode.Disposable(() => clearTimeout(timer)),
  );
}
