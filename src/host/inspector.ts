import { basename } from 'node:path';
import * as vscode from 'vscode';
import { EXTENSION_LIMIT_NAMES, truncationNote } from '../present/limits';
import type { HostMessage, HostRequests, InspectionSummary, LayerData, ReplyError, WebviewMessage, WebviewRequests } from '../protocol';
import { RequestChannel } from '../../webview/requestChannel';
import { AttentionHighlights } from './decorations';
import { CancelledError, EngineClient, EngineUserError } from './engineClient';
import { ModelSetupError, resolveModel, UserCancelled } from './models';
import { readWorkspaceSettings } from './settings';
import type { WebviewTarget } from './views';

/** Characters sent to the tokenizer at most; far beyond any token limit, and keeps huge selections cheap. */
export const MAX_SOURCE_CHARS = 2_000_000;
/** Longer work than this gets a progress notification with a cancel button. */
const PROGRESS_AFTER_MS = 300;
const LAST_REQUEST_KEY = 'attentionInspector.lastRequest';
/** How long a layer or trace answer may take: longer than any single request the worker runs. */
const ANSWER_TIMEOUT_MS = 5 * 60_000;

type WebviewChannel = RequestChannel<HostRequests, WebviewRequests>;

export interface InspectOptions {
  /** Live updates stay quiet: no notifications, no panel reveal, and an empty selection is left alone. */
  readonly live?: boolean;
  /** Open or reveal the panel (default: unless live). */
  readonly reveal?: boolean;
}

/** Where the last inspection's text came from, kept across window reloads to revive the panel. */
interface SourceRequest {
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
 * The host side of one inspection: reads the selection, asks the worker, and keeps every webview in
 * step with the latest result. It never computes on the extension host's thread.
 */
export class Inspector implements vscode.Disposable {
  private resultCounter = 0;
  private current: CurrentResult | undefined;
  private readonly targets = new Set<WebviewTarget>();
  readonly highlights = new AttentionHighlights();
  private readonly disposables: vscode.Disposable[] = [this.highlights];
  /** One request channel per webview: its layer and trace requests, and the host's PNG requests. */
  private readonly channels = new Map<WebviewTarget, WebviewChannel>();
  /** The message that describes the views' state when there is no result (empty or error). */
  private lastStatus: HostMessage | undefined;
  private running: vscode.CancellationTokenSource | undefined;

  constructor(
    readonly engine: EngineClient,
    private readonly context: vscode.ExtensionContext,
    private readonly log: vscode.LogOutputChannel,
    /** Opens (or reveals) the panel; returns it. */
    private readonly showPanel: () => WebviewTarget,
  ) {
    this.disposables.push(
      this.highlights.onDidChange((active) => void vscode.commands.executeCommand('setContext', 'attentionInspector.hasHighlights', active)),
      // Offsets go stale as soon as the document changes: drop highlights rather than shade the wrong text.
      vscode.workspace.onDidChangeTextDocument((e) => {
        if (this.current && e.document.uri.toString() === this.current.summary.source.uri && e.contentChanges.length) this.highlights.clear();
      }),
    );
  }

  /** How many inspections have started; lets callers tell whether one began since some moment. */
  get started(): number {
    return this.resultCounter;
  }

  get lastResult(): InspectionSummary | undefined {
    return this.current?.summary;
  }

  addTarget(target: WebviewTarget): vscode.Disposable {
    this.targets.add(target);
    return new vscode.Disposable(() => {
      this.targets.delete(target);
      this.forget(target);
    });
  }

  private broadcast(message: HostMessage): void {
    if (message.type === 'empty' || message.type === 'error') this.lastStatus = message;
    for (const t of this.targets) void t.post(message);
  }

  private settingsMessage(target: WebviewTarget): HostMessage {
    const { settings } = readWorkspaceSettings();
    return { type: 'settings', settings: { colorScale: settings.colorScale, compact: target.kind === 'side' } };
  }

  /** A webview said `ready`: give it the settings and whatever it should show now. */
  private greet(target: WebviewTarget): void {
    void target.post(this.settingsMessage(target));
    if (this.current) void target.post({ type: 'result', summary: this.current.summary, layer: this.current.firstLayer });
    else void target.post(this.lastStatus ?? { type: 'empty', message: 'Select text in an editor and run “Attention Inspector: Inspect Selection”.' });
  }

  settingsChanged(): void {
    for (const t of this.targets) void t.post(this.settingsMessage(t));
  }

  /** Cancels the inspection under way, if any (the progress notification's Cancel button). */
  cancel(): void {
    this.running?.cancel();
  }

  /**
   * Inspects the active editor's selection (or the current line when nothing is selected). Resolves
   * with the summary, or undefined when there was nothing to do or the run was replaced.
   */
  async inspectSelection(options: InspectOptions = {}): Promise<InspectionSummary | undefined> {
    const editor = vscode.window.activeTextEditor;
    const loud = !options.live;
    if (options.reveal ?? loud) this.showPanel();
    if (!editor) {
      const message = 'Open a file and select some text, then run “Attention Inspector: Inspect Selection”.';
      this.broadcast({ type: 'empty', message });
      if (loud) void vscode.window.showInformationMessage(message);
      return undefined;
    }
    const doc = editor.document;
    const notes: string[] = [];
    let range: vscode.Range = editor.selection;
    if (editor.selection.isEmpty) {
      if (options.live) return undefined;
      const line = doc.lineAt(editor.selection.active.line);
      range = line.range;
      notes.push(`No text was selected, so line ${line.lineNumber + 1} was inspected.`);
      if (line.isEmptyOrWhitespace) {
        const message = `Line ${line.lineNumber + 1} is empty. Select some text to inspect.`;
        this.broadcast({ type: 'empty', message });
        void vscode.window.showInformationMessage(message);
        return undefined;
      }
    }
    return this.inspectRange(doc, doc.offsetAt(range.start), doc.offsetAt(range.end), notes, options);
  }

  /** Re-runs the inspection the panel showed before a window reload, if its document is still there. */
  async reviveLastInspection(): Promise<void> {
    const last = this.context.workspaceState.get<SourceRequest>(LAST_REQUEST_KEY);
    if (!last || this.current) return;
    try {
      const doc = await vscode.workspace.openTextDocument(vscode.Uri.parse(last.uri));
      const end = Math.min(last.endOffset, doc.getText().length);
      if (last.startOffset < end) await this.inspectRange(doc, last.startOffset, end, ['Restored after the window reloaded.'], { reveal: false, live: true });
    } catch {
      // The file is gone or unreadable: the panel keeps its empty state.
    }
  }

  private async inspectRange(doc: vscode.TextDocument, startOffset: number, endOffset: number, notes: string[], options: InspectOptions): Promise<InspectionSummary | undefined> {
    const loud = !options.live;
    const totalChars = endOffset - startOffset;
    let readEnd = Math.min(endOffset, startOffset + MAX_SOURCE_CHARS);
    let text = doc.getText(new vscode.Range(doc.positionAt(startOffset), doc.positionAt(readEnd)));
    // Never cut between the two halves of a surrogate pair.
    if (readEnd < endOffset && /[\uD800-\uDBFF]$/.test(text)) {
      text = text.slice(0, -1);
      readEnd--;
    }
    if (readEnd < endOffset) notes.push(`The selection has ${totalChars.toLocaleString()} characters; only the first ${text.length.toLocaleString()} were read.`);
    if (!text.trim()) {
      const message = 'The selection is only whitespace. Select some text to inspect.';
      this.broadcast({ type: 'empty', message });
      if (loud) void vscode.window.showInformationMessage(message);
      return undefined;
    }
    const { settings, problems } = readWorkspaceSettings();
    for (const problem of problems) notes.push(problem);
    if (problems.length && loud) {
      void vscode.window.showWarningMessage(`Attention Inspector: ${problems[0]}`, 'Open Settings').then((a) => a && void vscode.commands.executeCommand('workbench.action.openSettings', 'attentionInspector'));
    }

    const resultId = ++this.resultCounter;
    this.running?.cancel();
    const cancellation = new vscode.CancellationTokenSource();
    this.running = cancellation;
    this.broadcast({ type: 'busy', message: 'Inspecting…' });
    const started = Date.now();
    let progressUi: { report: (message: string, fraction: number) => void; done: () => void } | undefined;
    let progressTimer: NodeJS.Timeout | undefined;
    try {
      // A Hub download shows its own progress and cancel, so the inspection's progress starts after it.
      const model = await resolveModel(settings, this.context.globalStorageUri, this.log);
      if (resultId !== this.resultCounter || cancellation.token.isCancellationRequested) throw new CancelledError();
      progressTimer = setTimeout(() => (progressUi = this.showProgress(cancellation, loud)), PROGRESS_AFTER_MS);
      const onCancel = cancellation.token.onCancellationRequested(() => this.engine.cancelRunning());
      let payload;
      try {
        payload = await this.engine.inspect(resultId, { text, tokenizer: settings.tokenizer, maxTokens: settings.maxTokens, model }, (message, fraction) =>
          progressUi?.report(message, fraction),
        );
      } finally {
        onCancel.dispose();
      }
      if (resultId !== this.resultCounter) return undefined;
      const summary: InspectionSummary = {
        resultId,
        source: { uri: doc.uri.toString(), fileName: basename(doc.fileName), startOffset, endOffset: startOffset + text.length, startLine: doc.positionAt(startOffset).line },
        tokens: payload.tokens,
        notes: payload.truncation ? [...notes, truncationNote(payload.truncation, EXTENSION_LIMIT_NAMES, 'selection')] : notes,
        model: payload.model,
        truncation: payload.truncation,
        metrics: payload.metrics,
        topNext: payload.topNext,
        perplexity: payload.perplexity,
        thumbnails: payload.thumbnails,
        elapsedMs: Date.now() - started,
        backend: payload.backend,
      };
      this.current = { summary, firstLayer: payload.firstLayer, documentVersion: doc.version };
      this.lastStatus = undefined;
      this.highlights.clear();
      void vscode.commands.executeCommand('setContext', 'attentionInspector.hasResult', true);
      void this.context.workspaceState.update(LAST_REQUEST_KEY, { uri: summary.source.uri, startOffset, endOffset: summary.source.endOffset } satisfies SourceRequest);
      this.broadcast({ type: 'result', summary, layer: payload.firstLayer });
      // A cut input changes what the numbers mean: say so outside the panel too.
      if (payload.truncation && loud) void vscode.window.showWarningMessage(`Attention Inspector: ${summary.notes[summary.notes.length - 1]}`);
      this.log.info(`Inspected ${summary.tokens.length} tokens of ${summary.source.fileName} with ${summary.model.label} in ${summary.elapsedMs} ms (${payload.backend}).`);
      return summary;
    } catch (error) {
      if (resultId !== this.resultCounter) return undefined; // a newer run owns the views now
      if (error instanceof CancelledError || error instanceof UserCancelled) {
        if (this.current) this.broadcast({ type: 'idle' });
        else this.broadcast({ type: 'empty', message: 'The inspection was cancelled. Select text and run Inspect Selection again.' });
        return undefined;
      }
      const known = error instanceof EngineUserError || error instanceof ModelSetupError;
      const message = known ? (error as Error).message : `Attention Inspector failed: ${(error as Error).message.split('\n')[0]}`;
      if (!known) this.log.error(error as Error);
      this.broadcast({ type: 'error', message });
      if (loud) {
        const fix = error instanceof ModelSetupError ? (error.fix === 'chooseModel' ? 'Choose Model…' : 'Open Settings') : undefined;
        void (fix ? vscode.window.showErrorMessage(message, fix) : vscode.window.showErrorMessage(message)).then((action) => {
          if (action === 'Choose Model…') void vscode.commands.executeCommand('attentionInspector.chooseModel');
          if (action === 'Open Settings') void vscode.commands.executeCommand('workbench.action.openSettings', 'attentionInspector');
        });
      }
      return undefined;
    } finally {
      clearTimeout(progressTimer);
      progressUi?.done();
      if (this.running === cancellation) this.running = undefined;
      cancellation.dispose();
    }
  }

  /**
   * Progress for work that takes longer than a blink: a notification with Cancel for commands, the
   * status bar for live updates (which must not pop up notifications while the user selects text).
   */
  private showProgress(cancellation: vscode.CancellationTokenSource, notify: boolean): { report: (message: string, fraction: number) => void; done: () => void } {
    let finish: () => void = () => {};
    let reportTo: ((message: string, fraction: number) => void) | undefined;
    let reported = 0;
    const location = notify ? vscode.ProgressLocation.Notification : vscode.ProgressLocation.Window;
    void vscode.window.withProgress({ location, title: 'Attention Inspector', cancellable: notify }, (progress, token) => {
      token.onCancellationRequested(() => cancellation.cancel());
      reportTo = (message, fraction) => {
        const increment = Math.max(0, fraction * 100 - reported);
        reported += increment;
        progress.report({ message, increment });
      };
      return new Promise<void>((resolve) => (finish = resolve));
    });
    return { report: (m, f) => reportTo?.(m, f), done: () => finish() };
  }

  /** The current result, if `resultId` names it and its document is unchanged since. */
  private currentFor(resultId: number): InspectionSummary | undefined {
    const current = this.current;
    if (!current || current.summary.resultId !== resultId) return undefined;
    const doc = vscode.workspace.textDocuments.find((d) => d.uri.toString() === current.summary.source.uri);
    if (doc && doc.version !== current.documentVersion) return undefined;
    return current.summary;
  }

  /** Validated messages from either webview. */
  handleMessage(message: WebviewMessage, from: WebviewTarget): void {
    switch (message.type) {
      case 'ready':
        // A fresh page: answers meant for the one before it must not reach it under the same ids.
        this.forget(from);
        return this.greet(from);
      case 'request':
      case 'reply':
        return this.channel(from).receive(message);
      case 'highlight': {
        const current = this.currentFor(message.resultId);
        if (!current || message.query >= current.tokens.length) return this.highlights.clear();
        this.highlights.show(current.source.uri, current.source.startOffset, current.tokens, message.query, message.weights, current.tokens[message.query].text);
        return;
      }
      case 'clearHighlight':
        return this.highlights.clear();
      case 'revealToken':
        return void this.revealToken(message.resultId, message.index);
      case 'command': {
        const commands = { inspectSelection: 'attentionInspector.inspectSelection', chooseModel: 'attentionInspector.chooseModel', export: 'attentionInspector.export', openSettings: 'workbench.action.openSettings' } as const;
        const args = message.command === 'openSettings' ? ['attentionInspector'] : [];
        return void vscode.commands.executeCommand(commands[message.command], ...args);
      }
    }
  }

  /** The channel to one webview: its layer and trace requests are answered from the engine (a repeat while the first is in flight is answered once). */
  private channel(target: WebviewTarget): WebviewChannel {
    let channel = this.channels.get(target);
    if (!channel) {
      channel = new RequestChannel<HostRequests, WebviewRequests>({
        post: (message) => target.post(message),
        peer: 'the heatmap view',
        timeoutMs: ANSWER_TIMEOUT_MS,
        handlers: {
          layer: ({ resultId, layer }) => this.engine.layer(resultId, layer),
          trace: async ({ resultId, layer, head }) => ({ resultId, layer, head, steps: await this.engine.trace(resultId, layer, head) }),
        },
        sameRequest: (method, p) => `${method}:${p.resultId}:${p.layer}:${'head' in p ? p.head : ''}`,
        replyError: (error, _method, p) => this.replyError(error as Error, p.resultId),
      });
      this.channels.set(target, channel);
    }
    return channel;
  }

  /** A webview closed or reloaded: the host's requests to it fail now, and its old requests go unanswered. */
  private forget(target: WebviewTarget): void {
    this.channels.get(target)?.dispose();
    this.channels.delete(target);
  }

  private replyError(error: Error, resultId: number): ReplyError {
    // Requests about an older inspection were dropped for a newer run; the webview asks again after `idle` or `result`.
    if (error instanceof CancelledError || resultId !== this.resultCounter) return { kind: 'cancelled', message: 'cancelled' };
    return { kind: 'failed', message: error.message };
  }

  private async revealToken(resultId: number, index: number): Promise<void> {
    const current = this.currentFor(resultId);
    if (!current) {
      if (this.current?.summary.resultId === resultId) void vscode.window.showInformationMessage('The document changed since it was inspected; inspect it again to jump to its tokens.');
      return;
    }
    const token = current.tokens[index];
    if (!token) return;
    const doc = await vscode.workspace.openTextDocument(vscode.Uri.parse(current.source.uri));
    const range = new vscode.Range(doc.positionAt(current.source.startOffset + token.start), doc.positionAt(current.source.startOffset + token.end));
    const editor = await vscode.window.showTextDocument(doc, { preserveFocus: false, preview: false, viewColumn: vscode.window.visibleTextEditors.find((e) => e.document === doc)?.viewColumn });
    editor.selection = new vscode.Selection(range.start, range.end);
    editor.revealRange(range, vscode.TextEditorRevealType.InCenterIfOutsideViewport);
  }

  /** Asks a webview for the heatmap it shows, as PNG bytes. */
  async requestPng(target: WebviewTarget, timeoutMs = 15000): Promise<Uint8Array> {
    const dataUrl = await this.channel(target).request('png', {}, timeoutMs);
    return Buffer.from(dataUrl.slice(dataUrl.indexOf(',') + 1), 'base64');
  }

  /** The targets that can draw a PNG: the panel first, then the side view. */
  get drawingTargets(): WebviewTarget[] {
    return [...this.targets].sort((a, b) => (a.kind === 'panel' ? -1 : 1) - (b.kind === 'panel' ? -1 : 1));
  }

  dispose(): void {
    this.running?.cancel();
    for (const d of this.disposables) d.dispose();
    for (const channel of this.channels.values()) channel.dispose();
    this.channels.clear();
  }
}
