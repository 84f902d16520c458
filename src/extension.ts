import * as vscode from 'vscode';
import { EngineClient } from './host/engineClient';
import { exportResult, type ExportFormat } from './host/exporter';
import { Inspector } from './host/inspector';
import { followSelection, followSettings } from './host/liveUpdates';
import { chooseModel } from './host/models';
import { InspectorPanel, PanelSlot, SideViewProvider, type MessageHandler } from './host/views';

/** What activate() returns: the integration tests use it to see inside a real extension host. */
export interface AttentionInspectorApi {
  readonly inspector: Inspector;
  readonly engine: EngineClient;
}

export function activate(context: vscode.ExtensionContext): AttentionInspectorApi {
  const log = vscode.window.createOutputChannel('Attention Inspector', { log: true });
  const engine = new EngineClient(vscode.Uri.joinPath(context.extensionUri, 'dist', 'worker.js').fsPath);
  const handler: MessageHandler = (message, from) => inspector.handleMessage(message, from);
  const panel = new PanelSlot(context.extensionUri, handler, log, (p) => inspector.addTarget(p));
  const inspector = new Inspector(engine, context, log, () => panel.show());
  const sideView = new SideViewProvider(context.extensionUri, handler, log);

  context.subscriptions.push(
    log,
    engine,
    inspector,
    sideView,
    inspector.addTarget(sideView),
    vscode.window.registerWebviewViewProvider(SideViewProvider.viewId, sideView),
    vscode.window.registerWebviewPanelSerializer(InspectorPanel.viewType, {
      deserializeWebviewPanel: async (webviewPanel) => {
        panel.revive(webviewPanel);
        // The worker's results did not survive the reload: compute the last inspection again.
        await inspector.reviveLastInspection();
      },
    }),
    vscode.commands.registerCommand('attentionInspector.inspectSelection', () => inspector.inspectSelection()),
    vscode.commands.registerCommand('attentionInspector.openSideView', () => vscode.commands.executeCommand(`${SideViewProvider.viewId}.focus`)),
    // A new model re-runs the last inspection through followSettings.
    vscode.commands.registerCommand('attentionInspector.chooseModel', () => chooseModel(context, log)),
    vscode.commands.registerCommand('attentionInspector.export', (format?: ExportFormat, target?: vscode.Uri) => exportResult(inspector, format, target)),
    vscode.commands.registerCommand('attentionInspector.clearHighlights', () => inspector.highlights.clear()),
    followSelection(inspector, sideView),
    followSettings(inspector),
  );
  void vscode.commands.executeCommand('setContext', 'attentionInspector.hasResult', false);
  return { inspector, engine };
}

export function deactivate(): void {}
