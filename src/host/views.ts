import * as vscode from 'vscode';
import { parseWebviewMessage, type HostMessage, type WebviewMessage } from '../protocol';
import { webviewHtml, webviewOptions, type WebviewKind } from './webviewHtml';

/** Either webview (panel or side view) as the inspector sees it. */
export interface WebviewTarget {
  readonly kind: WebviewKind;
  readonly visible: boolean;
  /** Resolves false when the webview is gone or not listening yet. */
  post(message: HostMessage): Thenable<boolean>;
}

export type MessageHandler = (message: WebviewMessage, from: WebviewTarget) => void;

/** Wires a webview to the handler: only messages that pass validation get through; others are logged. */
function listen(webview: vscode.Webview, target: WebviewTarget, handler: MessageHandler, log: vscode.LogOutputChannel): vscode.Disposable {
  return webview.onDidReceiveMessage((raw: unknown) => {
    const parsed = parseWebviewMessage(raw);
    if (parsed.ok) handler(parsed.message, target);
    else log.warn(`Ignored a message from the ${target.kind} webview: ${parsed.reason}`);
  });
}

/** The one inspector panel: created on demand, reused, revived after a window reload. */
export class InspectorPanel implements WebviewTarget, vscode.Disposable {
  static readonly viewType = 'attentionInspector.panel';
  readonly kind = 'panel' as const;
  private readonly disposables: vscode.Disposable[] = [];

  private constructor(
    readonly panel: vscode.WebviewPanel,
    extensionUri: vscode.Uri,
    handler: MessageHandler,
    log: vscode.LogOutputChannel,
    private readonly onDispose: () => void,
  ) {
    panel.webview.options = webviewOptions(extensionUri);
    panel.webview.html = webviewHtml(panel.webview, extensionUri, 'panel');
    panel.iconPath = vscode.Uri.joinPath(extensionUri, 'media', 'activity-icon.svg');
    this.disposables.push(listen(panel.webview, this, handler, log), panel.onDidDispose(() => this.dispose()));
  }

  static create(extensionUri: vscode.Uri, handler: MessageHandler, log: vscode.LogOutputChannel, onDispose: () => void): InspectorPanel {
    const column = vscode.window.activeTextEditor ? vscode.ViewColumn.Beside : vscode.ViewColumn.Active;
    const panel = vscode.window.createWebviewPanel(
      InspectorPanel.viewType,
      'Attention Inspector',
      { viewColumn: column, preserveFocus: true },
      { ...webviewOptions(extensionUri), retainContextWhenHidden: true },
    );
    return new InspectorPanel(panel, extensionUri, handler, log, onDispose);
  }

  static revive(panel: vscode.WebviewPanel, extensionUri: vscode.Uri, handler: MessageHandler, log: vscode.LogOutputChannel, onDispose: () => void): InspectorPanel {
    return new InspectorPanel(panel, extensionUri, handler, log, onDispose);
  }

  get visible(): boolean {
    return this.panel.visible;
  }

  reveal(): void {
    this.panel.reveal(undefined, true);
  }

  post(message: HostMessage): Thenable<boolean> {
    return this.panel.webview.postMessage(message);
  }

  private disposed = false;
  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.onDispose();
    this.panel.dispose();
    for (const d of this.disposables) d.dispose();
  }
}

/** The one panel: created on first use, revealed after that, replaced when VS Code revives one after a reload. */
export class PanelSlot {
  private panel: InspectorPanel | undefined;
  private adopted: vscode.Disposable | undefined;

  constructor(
    private readonly extensionUri: vscode.Uri,
    private readonly handler: MessageHandler,
    private readonly log: vscode.LogOutputChannel,
    /** Connects a panel to the results; what it returns is disposed when the panel closes. */
    private readonly adopt: (panel: InspectorPanel) => vscode.Disposable,
  ) {}

  /** Opens the panel, or reveals it when it is open. */
  show(): void {
    if (this.panel) return this.panel.reveal();
    const panel: InspectorPanel = InspectorPanel.create(this.extensionUri, this.handler, this.log, () => this.release(panel));
    this.take(panel);
  }

  /** Takes over a panel VS Code restored after a window reload. */
  revive(webviewPanel: vscode.WebviewPanel): void {
    this.panel?.dispose();
    const panel: InspectorPanel = InspectorPanel.revive(webviewPanel, this.extensionUri, this.handler, this.log, () => this.release(panel));
    this.take(panel);
  }

  private take(panel: InspectorPanel): void {
    this.panel = panel;
    this.adopted = this.adopt(panel);
  }

  private release(panel: InspectorPanel): void {
    if (this.panel !== panel) return;
    this.adopted?.dispose();
    this.adopted = undefined;
    this.panel = undefined;
  }
}

/** The side view in the activity bar: the compact heatmap that follows the selection. */
export class SideViewProvider implements vscode.WebviewViewProvider, WebviewTarget, vscode.Disposable {
  static readonly viewId = 'attentionInspector.sideView';
  readonly kind = 'side' as const;
  private view: vscode.WebviewView | undefined;
  /** Listeners of the current view; VS Code may resolve the view again after disposing it. */
  private viewDisposables: vscode.Disposable[] = [];
  private readonly visibility = new vscode.EventEmitter<boolean>();
  readonly onDidChangeVisibility = this.visibility.event;

  constructor(
    private readonly extensionUri: vscode.Uri,
    private readonly handler: MessageHandler,
    private readonly log: vscode.LogOutputChannel,
  ) {}

  resolveWebviewView(view: vscode.WebviewView): void {
    for (const d of this.viewDisposables) d.dispose();
    this.view = view;
    view.webview.options = webviewOptions(this.extensionUri);
    view.webview.html = webviewHtml(view.webview, this.extensionUri, 'side');
    this.viewDisposables = [
      listen(view.webview, this, this.handler, this.log),
      view.onDidChangeVisibility(() => this.visibility.fire(view.visible)),
      view.onDidDispose(() => {
        if (this.view === view) this.view = undefined;
        this.visibility.fire(false);
      }),
    ];
    this.visibility.fire(view.visible);
  }

  get visible(): boolean {
    return this.view?.visible ?? false;
  }

  post(message: HostMessage): Thenable<boolean> {
    return this.view ? this.view.webview.postMessage(message) : Promise.resolve(false);
  }

  dispose(): void {
    for (const d of this.viewDisposables) d.dispose();
    this.visibility.dispose();
  }
}
