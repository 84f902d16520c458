import * as vscode from 'vscode';
import { EngineClient } from './host/engineClient';
import { exportResult, type ExportFormat } from './host/exporter';
import { Inspector } from './host/inspector';
import { chooseModel } from './host/models';
import { readWorkspaceSettings, SECTION } from './host/settings';
import { InspectorPanel, SideViewProvider, type MessageHandler } from './host/views';

/** What activate() returns: the integration tests use it to see inside a real extension host. */
export interface AttentionInspectorApi {
  readonly inspector: Inspector;
  readonly engine: EngineClient;
}

export function activate(context: vscode.ExtensionContext): AttentionInspectorApi {
  const log = vscode.window.createOutputChannel('Attention Inspector', { log: true });
  const engine = new EngineClient(vscode.Uri.joinPath(context.extensionUri, 'dist', 'worker.js').fsPath);
  let panel: InspectorPanel | undefined;
  let panelTarget: vscode.Disposable | undefined;
  const handler: MessageHandler = (message, from) => inspector.handleMessage(message, from);
  const adoptPanel = (p: InspectorPanel) => {
    panel = p;
    panelTarget = inspector.addTarget(p);
    return p;
  };
  const onPanelDisposed = () => {
    panelTarget?.dispose();
    panel = undefined;
  };
  const showPanel = () => {
    if (panel) panel.reveal();
    else adoptPanel(InspectorPanel.create(context.extensionUri, handler, log, onPanelDisposed));
    return panel!;
  };
  const inspector = new Inspector(engine, context, log, showPanel);
  const sideView = new SideViewProvider(context.extensionUri, handler, log);

  // Live updates: the side view follows the selection, debounced.
  let liveTimer: NodeJS.Timeout | undefined;
  let rerunTimer: NodeJS.Timeout | undefined;
  const scheduleLive = () => {
    const { settings } = readWorkspaceSettings();
    if (!settings.liveUpdate || !sideView.visible) return;
    clearTimeout(liveTimer);
    liveTimer = setTimeout(() => void inspector.inspectSelection({ live: true }), settings.liveUpdateDelay);
  };

  context.subscriptions.push(
    log,
    engine,
    inspector,
    sideView,
    inspector.addTarget(sideView),
    vscode.window.registerWebviewViewProvider(SideViewProvider.viewId, sideView),
    vscode.window.registerWebviewPanelSerializer(InspectorPanel.viewType, {
      deserializeWebviewPanel: async (webviewPanel) => {
        panel?.dispose();
        adoptPanel(InspectorPanel.revive(webviewPanel, context.extensionUri, handler, log, onPanelDisposed));
        // The worker's results did not survive the reload: compute the last inspection again.
        await inspector.reviveLastInspection();
      },
    }),
    vscode.commands.registerCommand('attentionInspector.inspectSelection', () => inspector.inspectSelection()),
    vscode.commands.registerCommand('attentionInspector.openSideView', () => vscode.commands.executeCommand(`${SideViewProvider.viewId}.focus`)),
    // A new model re-runs the last inspection through the configuration listener below.
    vscode.commands.registerCommand('attentionInspector.chooseModel', () => chooseModel(context, log)),
    vscode.commands.registerCommand('attentionInspector.export', (format?: ExportFormat, target?: vscode.Uri) => exportResult(inspector, format, target)),
    vscode.commands.registerCommand('attentionInspector.clearHighlights', () => inspector.highlights.clear()),
    vscode.window.onDidChangeTextEditorSelection((e) => {
      if (e.textEditor === vscode.window.activeTextEditor && e.textEditor.document.uri.scheme !== 'output') scheduleLive();
    }),
    sideView.onDidChangeVisibility((visible) => visible && scheduleLive()),
    vscode.workspace.onDidChangeConfiguration((e) => {
      if (!e.affectsConfiguration(SECTION)) return;
      inspector.settingsChanged();
      const { problems } = readWorkspaceSettings();
      if (problems.length) void vscode.window.showWarningMessage(`Attention Inspector: ${problems[0]}`);
      // Model settings change the numbers: redo the last inspection so the views do not show stale ones.
      // Debounced, because "Choose Model…" writes two settings and the state between them is incomplete.
      const affectsNumbers = ['model', 'gpt2Folder', 'huggingFaceModel', 'random', 'tokenizer', 'maxTokens'].some((k) => e.affectsConfiguration(`${SECTION}.${k}`));
      if (!affectsNumbers || !inspector.lastResult) return;
      clearTimeout(rerunTimer);
      const startedBefore = inspector.started;
      rerunTimer = setTimeout(() => {
        // Someone inspected since the change (a command, a test): that run already uses the new settings.
        if (inspector.started === startedBefore && vscode.window.activeTextEditor) void inspector.inspectSelection({ reveal: false });
      }, 500);
    }),
    new vscode.Disposable(() => {
      clearTimeout(liveTimer);
      clearTimeout(rerunTimer);
    }),
  );
  void vscode.commands.executeCommand('setContext', 'attentionInspector.hasResult', false);
  return { inspector, engine };
}

export function deactivate(): void {}
