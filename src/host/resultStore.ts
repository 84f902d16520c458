import * as vscode from 'vscode';
import type { HostMessage, InspectionSummary, LayerData } from '../protocol';
import { readWorkspaceSettings } from './settings';
import type { WebviewTarget } from './views';

const LAST_REQUEST_KEY = 'attentionInspector.lastRequest';
const NOTHING_YET = 'Select text in an editor and run “Attention Inspector: Inspect Selection”.';

/** Where the last inspection's text came from, kept across window reloads to revive the panel. */
export interface SourceRequest {
  readonly uri: string;
  readonly startOffset: number;
  readonly endOffset: number;
}

/** What the last inspection showed, for export, highlights and newly opened views. */
interface CurrentResult {
  readonly summary: InspectionSummary;
  readonly firstLayer: LayerData;
  /** The document's version when inspected: offsets are only valid while it is unchanged. */
  readonly documentVersion: number;
}

/**
 * The latest result and every view that shows it: keeps the webviews in step (a view that opens later
 * is told what the others show), and remembers the last request across window reloads.
 */
export class ResultStore {
  private current: CurrentResult | undefined;
  /** The message that describes the views' state when there is no result (empty or error). */
  private lastStatus: HostMessage | undefined;
  private readonly views = new Set<WebviewTarget>();

  constructor(private readonly workspaceState: vscode.Memento) {}

  get summary(): InspectionSummary | undefined {
    return this.current?.summary;
  }

  get targets(): readonly WebviewTarget[] {
    return [...this.views];
  }

  addTarget(target: WebviewTarget): vscode.Disposable {
    this.views.add(target);
    return new vscode.Disposable(() => this.views.delete(target));
  }

  broadcast(message: HostMessage): void {
    if (message.type === 'empty' || message.type === 'error') this.lastStatus = message;
    for (const t of this.views) void t.post(message);
  }

  /** A new result: every view shows it, and it is remembered as the request to revive after a reload. */
  setResult(summary: InspectionSummary, firstLayer: LayerData, documentVersion: number): void {
    this.current = { summary, firstLayer, documentVersion };
    this.lastStatus = undefined;
    void vscode.commands.executeCommand('setContext', 'attentionInspector.hasResult', true);
    const { uri, startOffset, endOffset } = summary.source;
    void this.workspaceState.update(LAST_REQUEST_KEY, { uri, startOffset, endOffset } satisfies SourceRequest);
    this.broadcast({ type: 'result', summary, layer: firstLayer });
  }

  /** The request the panel showed before a window reload, unless something was inspected since. */
  get requestToRevive(): SourceRequest | undefined {
    return this.current ? undefined : this.workspaceState.get<SourceRequest>(LAST_REQUEST_KEY);
  }

  /** The current result, if `resultId` names it and its document is unchanged since. */
  currentFor(resultId: number): InspectionSummary | undefined {
    const current = this.current;
    if (!current || current.summary.resultId !== resultId) return undefined;
    const doc = vscode.workspace.textDocuments.find((d) => d.uri.toString() === current.summary.source.uri);
    if (doc && doc.version !== current.documentVersion) return undefined;
    return current.summary;
  }

  /** A webview said `ready`: give it the settings and whatever it should show now. */
  greet(target: WebviewTarget): void {
    void target.post(settingsMessage(target));
    if (this.current) void target.post({ type: 'result', summary: this.current.summary, layer: this.current.firstLayer });
    else void target.post(this.lastStatus ?? { type: 'empty', message: NOTHING_YET });
  }

  settingsChanged(): void {
    for (const t of this.views) void t.post(settingsMessage(t));
  }
}

function settingsMessage(target: WebviewTarget): HostMessage {
  const { settings } = readWorkspaceSettings();
  return { type: 'settings', settings: { colorScale: settings.colorScale, compact: target.kind === 'side' } };
}
