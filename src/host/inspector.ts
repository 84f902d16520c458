import { basename } from 'node:path';
import * as vscode from 'vscode';
import type { HostMessage, InspectionSummary, LayerData, WebviewMessage } from '../protocol';
import { AttentionHighlights } from './decorations';
import { CancelledError, EngineClient, EngineUserError } from './engineClient';
import { ModelSetupError, resolveModel, UserCancelled } from './models';
import { readWorkspaceSettings, type Settings } from './settings';
import type { WebviewTarget } from './views';

/** Characters sent to the tokenizer at most; far beyond any token limit, and keeps huge selections cheap. */
export const MAX_SOURCE_CHARS = 2_000_000;
/** Longer work than this gets a progress notification with a cancel button. */
const PROGRESS_AFTER_MS = 300;

export interface InspectOptions {
  /** Live updates stay quiet: no notifications, no panel reveal, and an empty selection is left alone. */
  readonly live?: boolean;
  /** Open or reveal the panel (default: unless live). */
  readonly reveal?: boolean;
}

/** What the last inspection showed, for export, highlights and newly opened views. */
interface CurrentResult {
  readonly summary: InspectionSummary;
  readonly firstLayer: LayerData;
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
  private readonly pngRequests = new Map<number, { resolve: (dataUrl: string) => void; reject: (e: Error) => void }>();
  private pngCounter = 0;
  private readonly resultEmitter = new vscode.EventEmitter<InspectionSummary>();
  /** Fires after every successful inspection (the integration tests listen). */
  readonly onDidInspect = this.resultEmitter.event;
  private lastMessage: HostMessage | undefined;

  constructor(
    readonly engine: EngineClient,
    private readonly context: vscode.ExtensionContext,
    private readonly log: vscode.LogOutputChannel,
    /** Opens (or reveals) the panel; returns it. */
    private readonly showPanel: () => WebviewTarget,
  ) {
    this.disposables.push(
      this.resultEmitter,
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
    return new vscode.Disposable(() => this.targets.delete(target));
  }

  private broadcast(message: HostMessage): void {
    this.lastMessage = message;
    for (const t of this.targets) void t.post(message);
  }

  /** A webview said `ready`: give it the settings and whatever it should show now. */
  private greet(target: WebviewTarget): void {
    const { settings } = readWorkspaceSettings();
    void target.post({ type: 'settings', settings: { colorScale: settings.colorScale, compact: target.kind === 'side' } });
    if (this.current) void target.post({ type: 'result', summary: this.current.summary, layer: this.current.firstLayer });
    else if (this.lastMessage && this.lastMessage.type !== 'result') void target.post(this.lastMessage);
    else void target.post({ type: 'empty', message: 'Select text in an editor and run “Attention Inspector: Inspect Selection”.' });
  }

  settingsChanged(): void {
    const { settings } = readWorkspaceSettings();
    for (const t of this.targets) void t.post({ type: 'settings', settings: { colorScale: settings.colorScale, compact: t.kind === 'side' } });
  }

  /**
   * Inspects the active editor's selection (or the current line when nothing is selected). Resolves
   * with the summary, or undefined when there was nothing to do or the run was replaced.
   */
  async inspectSelection(options: InspectOptions = {}): Promise<InspectionSummary | undefined> {
    const editor = vscode.window.activeTextEditor;
    if (options.reveal ?? !options.live) this.showPanel();
    if (!editor) {
      const message = 'Open a file and select some text, then run “Attention Inspector: Inspect Selection”.';
      this.broadcast({ type: 'empty', message });
      if (!options.live) void vscode.window.showInformationMessage(message);
      return undefined;
    }
    const notes: string[] = [];
    const doc = editor.document;
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
    const startOffset = doc.offsetAt(range.start);
    let text = doc.getText(range);
    if (text.length > MAX_SOURCE_CHARS) {
      text = text.slice(0, MAX_SOURCE_CHARS);
      // Never cut between the two halves of a surrogate pair.
      if (/[\uD800-\uDBFF]$/.test(text)) text = text.slice(0, -1);
      notes.push(`The selection has ${doc.getText(range).length.toLocaleString()} characters; only the first ${text.length.toLocaleString()} were read.`);
    }
    if (!text.trim()) {
      const message = 'The selection is only whitespace. Select some text to inspect.';
      this.broadcast({ type: 'empty', message });
      if (!options.live) void vscode.window.showInformationMessage(message);
      return undefined;
    }
    const { settings, problems } = readWorkspaceSettings();
    for (const problem of problems) {
      notes.push(problem);
      this.log.warn(problem);
    }
    if (problems.length && !options.live) void vscode.window.showWarningMessage(`Attention Inspector: ${problems[0]}`, 'Open Settings').then((a) => a && void vscode.commands.executeCommand('workbench.action.openSettings', 'attentionInspector'));
    return this.run(doc, startOffset, text, settings, notes, options);
  }

  private async run(doc: vscode.TextDocument, startOffset: number, text: string, settings: Settings, notes: string[], options: InspectOptions): Promise<InspectionSummary | undefined> {
    const resultId = ++this.resultCounter;
    this.broadcast({ type: 'busy', message: 'Inspecting…' });
    const started = Date.now();
    let progressUi: { report: (message: string, fraction: number) => void; done: () => void } | undefined;
    const progressTimer = setTimeout(() => (progressUi = this.showProgress()), PROGRESS_AFTER_MS);
    try {
      const model = await resolveModel(settings, this.context.globalStorageUri, this.log);
      const payload = await this.engine.inspect(resultId, { text, tokenizer: settings.tokenizer, maxTokens: settings.maxTokens, model }, (message, fraction) =>
        progressUi?.report(message, fraction),
      );
      if (resultId !== this.resultCounter) return undefined;
      const summary: InspectionSummary = {
        resultId,
        source: {
          uri: doc.uri.toString(),
          fileName: basename(doc.fileName),
          startOffset,
          endOffset: startOffset + text.length,
          startLine: doc.positionAt(startOffset).line,
        },
        tokens: payload.tokens,
        notes: [...notes, ...payload.notes],
        model: payload.model,
        metrics: payload.metrics,
        topNext: payload.topNext,
        perplexity: payload.perplexity,
        thumbnails: payload.thumbnails,
        elapsedMs: Date.now() - started,
        backend: payload.backend,
      };
      this.current = { summary, firstLayer: payload.firstLayer };
      this.highlights.clear();
      void vscode.commands.executeCommand('setContext', 'attentionInspector.hasResult', true);
      this.broadcast({ type: 'result', summary, layer: payload.firstLayer });
      this.log.info(`Inspected ${summary.tokens.length} tokens of ${summary.source.fileName} with ${summary.model.label} in ${summary.elapsedMs} ms (${payload.backend}).`);
      this.resultEmitter.fire(summary);
      return summary;
    } catch (error) {
      if (error instanceof CancelledError || error instanceof UserCancelled) {
        if (resultId === this.resultCounter && this.current) this.broadcast({ type: 'result', summary: this.current.summary, layer: this.current.firstLayer });
        return undefined;
      }
      const message = error instanceof EngineUserError || error instanceof ModelSetupError ? error.message : `Attention Inspector failed: ${(error as Error).message.split('\n')[0]}`;
      if (!(error instanceof EngineUserError || error instanceof ModelSetupError)) this.log.error(error as Error);
      if (resultId === this.resultCounter) this.broadcast({ type: 'error', message });
      if (!options.live) {
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
    }
  }

  /** A notification with a progress bar and Cancel, for work that takes longer than a blink. */
  private showProgress(): { report: (message: string, fraction: number) => void; done: () => void } {
    let finish: () => void = () => {};
    let reportTo: ((message: string, fraction: number) => void) | undefined;
    let reported = 0;
    void vscode.window.withProgress({ location: vscode.ProgressLocation.Notification, title: 'Attention Inspector', cancellable: true }, (progress, token) => {
      token.onCancellationRequested(() => this.engine.cancelRunning());
      reportTo = (message, fraction) => {
        const increment = Math.max(0, fraction * 100 - reported);
        reported += increment;
        progress.report({ message, increment });
      };
      return new Promise<void>((resolve) => (finish = resolve));
    });
    return { report: (m, f) => reportTo?.(m, f), done: () => finish() };
  }

  /** Validated messages from either webview. */
  handleMessage(message: WebviewMessage, from: WebviewTarget): void {
    switch (message.type) {
      case 'ready':
        return this.greet(from);
      case 'requestLayer':
        return void this.engine.layer(message.resultId, message.layer).then(
          (layer) => from.post({ type: 'layer', layer }),
          (error: Error) => this.reportRequestError(error, from, message.resultId),
        );
      case 'requestTrace':
        return void this.engine.trace(message.resultId, message.layer, message.head).then(
          (steps) => from.post({ type: 'trace', trace: { resultId: message.resultId, layer: message.layer, head: message.head, steps } }),
          (error: Error) => this.reportRequestError(error, from, message.resultId),
        );
      case 'highlight': {
        const current = this.current?.summary;
        if (!current || current.resultId !== message.resultId || message.query >= current.tokens.length) return;
        this.highlights.show(current.source.uri, current.source.startOffset, current.tokens, message.query, message.weights, current.tokens[message.query].text);
        return;
      }
      case 'clearHighlight':
        return this.highlights.clear();
      case 'revealToken':
        return void this.revealToken(message.resultId, message.index);
      case 'png': {
        const pending = this.pngRequests.get(message.requestId);
        if (!pending) return;
        this.pngRequests.delete(message.requestId);
        if (message.dataUrl) pending.resolve(message.dataUrl);
        else pending.reject(new Error(message.error ?? 'the webview could not draw the image'));
        return;
      }
      case 'command': {
        const commands = { inspectSelection: 'attentionInspector.inspectSelection', chooseModel: 'attentionInspector.chooseModel', export: 'attentionInspector.export', openSettings: 'workbench.action.openSettings' } as const;
        const args = message.command === 'openSettings' ? ['attentionInspector'] : [];
        return void vscode.commands.executeCommand(commands[message.command], ...args);
      }
    }
  }

  private reportRequestError(error: Error, from: WebviewTarget, resultId: number): void {
    if (error instanceof CancelledError || resultId !== this.resultCounter) return;
    void from.post({ type: 'error', message: error.message });
  }

  private async revealToken(resultId: number, index: number): Promise<void> {
    const current = this.current?.summary;
    if (!current || current.resultId !== resultId || !current.tokens[index]) return;
    const uri = vscode.Uri.parse(current.source.uri);
    const doc = await vscode.workspace.openTextDocument(uri);
    const token = current.tokens[index];
    const range = new vscode.Range(doc.positionAt(current.source.startOffset + token.start), doc.positionAt(current.source.startOffset + token.end));
    const editor = await vscode.window.showTextDocument(doc, { preserveFocus: false, preview: false, viewColumn: vscode.window.visibleTextEditors.find((e) => e.document === doc)?.viewColumn });
    editor.selection = new vscode.Selection(range.start, range.end);
    editor.revealRange(range, vscode.TextEditorRevealType.InCenterIfOutsideViewport);
  }

  /** Asks a webview for the heatmap it shows, as PNG bytes. */
  requestPng(target: WebviewTarget, timeoutMs = 15000): Promise<Uint8Array> {
    const requestId = ++this.pngCounter;
    return new Promise<string>((resolve, reject) => {
      this.pngRequests.set(requestId, { resolve, reject });
      setTimeout(() => {
        if (this.pngRequests.delete(requestId)) reject(new Error('the heatmap view did not answer in time'));
      }, timeoutMs);
      void target.post({ type: 'requestPng', requestId }).then((delivered) => {
        if (!delivered && this.pngRequests.delete(requestId)) reject(new Error('the heatmap view is not open'));
      });
    }).then((dataUrl) => Buffer.from(dataUrl.slice(dataUrl.indexOf(',') + 1), 'base64'));
  }

  /** The targets that can draw a PNG: the panel first, then the side view. */
  get drawingTargets(): WebviewTarget[] {
    return [...this.targets].sort((a, b) => (a.kind === 'panel' ? -1 : 1) - (b.kind === 'panel' ? -1 : 1));
  }

  dispose(): void {
    for (const d of this.disposables) d.dispose();
    for (const [, p] of this.pngRequests) p.reject(new Error('closed'));
  }
}
