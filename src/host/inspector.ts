import * as vscode from 'vscode';
import type { InspectionSummary, LayerData, WebviewMessage } from '../protocol';
import type { EngineClient } from './engineClient';
import { MessageRouter } from './messageRouter';
import { resolveModel } from './models';
import { ResultStore } from './resultStore';
import { RunController } from './runController';
import { readRange, readSelection, type SelectionReading } from './selection';
import { readWorkspaceSettings } from './settings';
import { SourceLinks } from './sourceLinks';
import { buildSummary } from './summary';
import type { WebviewTarget } from './views';

/** How long export waits for a view to draw its heatmap. */
const PNG_TIMEOUT_MS = 15_000;

export interface InspectOptions {
  /** Live updates stay quiet: no notifications, no panel reveal, and an empty selection is left alone. */
  readonly live?: boolean;
  /** Open or reveal the panel (default: unless live). */
  readonly reveal?: boolean;
}

/**
 * One inspection pipeline: the selection's text → the model (a Hub model may download first) → the
 * worker → the summary every view shows. The pieces each do one job: reading the selection, running
 * with progress and cancellation, keeping the result and the views, routing what the views send, and
 * linking the views back to the editor. Nothing here computes on the extension host's thread.
 */
export class Inspector implements vscode.Disposable {
  private readonly store: ResultStore;
  private readonly runs: RunController;
  private readonly links: SourceLinks;
  private readonly router: MessageRouter;

  constructor(
    readonly engine: EngineClient,
    context: vscode.ExtensionContext,
    private readonly log: vscode.LogOutputChannel,
    /** Opens (or reveals) the panel. */
    private readonly showPanel: () => void,
  ) {
    this.store = new ResultStore(context.workspaceState);
    this.runs = new RunController(log);
    this.links = new SourceLinks(this.store);
    this.router = new MessageRouter(engine, this.store, this.links, log, () => this.runs.started);
  }

  /** The editor highlights the views draw. */
  get highlights(): SourceLinks['highlights'] {
    return this.links.highlights;
  }

  /** How many inspections have started; lets callers tell whether one began since some moment. */
  get started(): number {
    return this.runs.started;
  }

  get lastResult(): InspectionSummary | undefined {
    return this.store.summary;
  }

  /** The webviews that show results. */
  get views(): readonly WebviewTarget[] {
    return this.store.targets;
  }

  addTarget(target: WebviewTarget): vscode.Disposable {
    const added = this.store.addTarget(target);
    return new vscode.Disposable(() => {
      added.dispose();
      this.router.forget(target);
    });
  }

  settingsChanged(): void {
    this.store.settingsChanged();
  }

  /** Cancels the inspection under way, if any (the progress notification's Cancel button). */
  cancel(): void {
    this.runs.cancel();
  }

  /** Validated messages from either webview. */
  handleMessage(message: WebviewMessage, from: WebviewTarget): void {
    this.router.handle(message, from);
  }

  /** Asks a webview for the heatmap it shows, as PNG bytes. */
  async requestPng(target: WebviewTarget, timeoutMs = PNG_TIMEOUT_MS): Promise<Uint8Array> {
    const dataUrl = await this.router.channel(target).request('png', {}, timeoutMs);
    return Buffer.from(dataUrl.slice(dataUrl.indexOf(',') + 1), 'base64');
  }

  /**
   * Inspects the active editor's selection (or the current line when nothing is selected). Resolves
   * with the summary, or undefined when there was nothing to do or the run was replaced.
   */
  async inspectSelection(options: InspectOptions = {}): Promise<InspectionSummary | undefined> {
    if (options.reveal ?? !options.live) this.showPanel();
    return this.inspect(readSelection(vscode.window.activeTextEditor, options.live === true), options);
  }

  /** Re-runs the inspection the panel showed before a window reload, if its document is still there. */
  async reviveLastInspection(): Promise<void> {
    const last = this.store.requestToRevive;
    if (!last) return;
    try {
      const doc = await vscode.workspace.openTextDocument(vscode.Uri.parse(last.uri));
      const end = Math.min(last.endOffset, doc.getText().length);
      if (last.startOffset < end) await this.inspect(readRange(doc, last.startOffset, end, ['Restored after the window reloaded.']), { reveal: false, live: true });
    } catch {
      // The file is gone or unreadable: the panel keeps its empty state.
    }
  }

  private async inspect(reading: SelectionReading, options: InspectOptions): Promise<InspectionSummary | undefined> {
    const loud = !options.live;
    if (reading.kind === 'none') return undefined;
    if (reading.kind === 'empty') {
      this.store.broadcast({ type: 'empty', message: reading.message });
      if (loud) void vscode.window.showInformationMessage(reading.message);
      return undefined;
    }
    const { source } = reading;
    const { settings, problems } = readWorkspaceSettings();
    if (problems.length && loud) {
      void vscode.window.showWarningMessage(`Attention Inspector: ${problems[0]}`, 'Open Settings').then((a) => a && void vscode.commands.executeCommand('workbench.action.openSettings', 'attentionInspector'));
    }
    this.store.broadcast({ type: 'busy', message: 'Inspecting…' });
    const started = Date.now();
    const outcome = await this.runs.run(loud, async (run): Promise<{ summary: InspectionSummary; firstLayer: LayerData }> => {
      // A Hub download shows its own progress and cancel, so the inspection's progress starts after it.
      const model = await resolveModel(settings, this.log);
      run.check();
      const report = run.showProgress();
      const onCancel = run.token.onCancellationRequested(() => this.engine.cancelRunning());
      try {
        const payload = await this.engine.inspect(run.id, { text: source.text, tokenizer: settings.tokenizer, maxTokens: settings.maxTokens, model }, report);
        return { summary: buildSummary(run.id, source, [...source.notes, ...problems], payload, Date.now() - started), firstLayer: payload.firstLayer };
      } finally {
        onCancel.dispose();
      }
    });
    switch (outcome.kind) {
      case 'done': {
        const { summary, firstLayer } = outcome.value;
        this.links.clear();
        this.store.setResult(summary, firstLayer, source.doc.version);
        // A cut input changes what the numbers mean: say so outside the panel too.
        if (summary.truncation && loud) void vscode.window.showWarningMessage(`Attention Inspector: ${summary.notes[summary.notes.length - 1]}`);
        this.log.info(`Inspected ${summary.tokens.length} tokens of ${summary.source.fileName} with ${summary.model.label} in ${summary.elapsedMs} ms (${summary.backend}).`);
        return summary;
      }
      case 'cancelled':
        if (this.store.summary) this.store.broadcast({ type: 'idle' });
        else this.store.broadcast({ type: 'empty', message: 'The inspection was cancelled. Select text and run Inspect Selection again.' });
        return undefined;
      case 'failed':
        this.store.broadcast({ type: 'error', message: outcome.message });
        return undefined;
      case 'replaced':
        return undefined;
    }
  }

  dispose(): void {
    this.runs.dispose();
    this.router.dispose();
    this.links.dispose();
  }
}
