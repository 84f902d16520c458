import * as vscode from 'vscode';
import { CancelledError, errorKind, type ErrorKind } from '../errors';
import { ModelSetupError } from './modelErrors';

/** Longer work than this gets a progress notification with a cancel button. */
const PROGRESS_AFTER_MS = 300;

/** What people are told about a failure: a user error as it is, an internal one as "Attention Inspector failed: …". */
export function failureMessage(error: unknown, kind: ErrorKind): string {
  const message = error instanceof Error ? error.message : String(error);
  return kind === 'user' ? message : `Attention Inspector failed: ${message.split('\n')[0]}`;
}

/** One run as its work sees it. */
export interface Run {
  /** Counts up with every run; the newest run owns the views. */
  readonly id: number;
  /** Cancelled when a newer run starts or the user presses Cancel. */
  readonly token: vscode.CancellationToken;
  /** Throws CancelledError when the run was cancelled or replaced. */
  check(): void;
  /** From now on, work that lasts longer than a blink shows progress; returns where to report it. */
  showProgress(): (message: string, fraction: number) => void;
}

export type RunOutcome<T> =
  | { readonly kind: 'done'; readonly value: T }
  /** A newer run started: it owns the views now, nothing is to be said about this one. */
  | { readonly kind: 'replaced' }
  | { readonly kind: 'cancelled' }
  /** The message is for people (user errors as they are, internal ones as "Attention Inspector failed: …"). */
  | { readonly kind: 'failed'; readonly message: string };

/**
 * Runs one inspection at a time: a new run cancels the one under way. Shows progress with a Cancel
 * button (in the status bar for quiet runs), and turns errors into outcomes by their kind: cancellations
 * end quietly, user errors are shown as they are, internal errors are logged with their stack.
 */
export class RunController implements vscode.Disposable {
  private counter = 0;
  private running: vscode.CancellationTokenSource | undefined;

  constructor(private readonly log: vscode.LogOutputChannel) {}

  /** How many runs have started. */
  get started(): number {
    return this.counter;
  }

  /** Cancels the run under way, if any. */
  cancel(): void {
    this.running?.cancel();
  }

  /** `loud`: notifications for progress and errors; otherwise the status bar only. */
  async run<T>(loud: boolean, work: (run: Run) => Promise<T>): Promise<RunOutcome<T>> {
    const id = ++this.counter;
    this.running?.cancel();
    const cancellation = new vscode.CancellationTokenSource();
    this.running = cancellation;
    let progressTimer: NodeJS.Timeout | undefined;
    let progressUi: { report: (message: string, fraction: number) => void; done: () => void } | undefined;
    const run: Run = {
      id,
      token: cancellation.token,
      check: () => {
        if (id !== this.counter || cancellation.token.isCancellationRequested) throw new CancelledError();
      },
      showProgress: () => {
        progressTimer ??= setTimeout(() => (progressUi = showProgress(cancellation, loud)), PROGRESS_AFTER_MS);
        return (message, fraction) => progressUi?.report(message, fraction);
      },
    };
    try {
      const value = await work(run);
      return id === this.counter ? { kind: 'done', value } : { kind: 'replaced' };
    } catch (error) {
      if (id !== this.counter) return { kind: 'replaced' };
      return this.failure(error, loud);
    } finally {
      clearTimeout(progressTimer);
      progressUi?.done();
      if (this.running === cancellation) this.running = undefined;
      cancellation.dispose();
    }
  }

  private failure(error: unknown, loud: boolean): RunOutcome<never> {
    const kind = errorKind(error);
    if (kind === 'cancelled') return { kind: 'cancelled' };
    const message = failureMessage(error, kind);
    if (kind === 'internal') this.log.error(error instanceof Error ? error : String(error));
    if (loud) showError(message, error instanceof ModelSetupError ? error.fix : undefined);
    return { kind: 'failed', message };
  }

  dispose(): void {
    this.running?.cancel();
  }
}

const FIXES: Record<ModelSetupError['fix'], { readonly label: string; readonly run: () => Thenable<unknown> }> = {
  chooseModel: { label: 'Choose Model…', run: () => vscode.commands.executeCommand('attentionInspector.chooseModel') },
  openSettings: { label: 'Open Settings', run: () => vscode.commands.executeCommand('workbench.action.openSettings', 'attentionInspector') },
};

/** An error notification, with the button that fixes it when there is one. */
function showError(message: string, fix: ModelSetupError['fix'] | undefined): void {
  if (!fix) return void vscode.window.showErrorMessage(message);
  const { label, run } = FIXES[fix];
  void vscode.window.showErrorMessage(message, label).then((action) => action === label && void run());
}

/**
 * Progress for work that takes longer than a blink: a notification with Cancel for commands, the
 * status bar for live updates (which must not pop up notifications while the user selects text).
 */
function showProgress(cancellation: vscode.CancellationTokenSource, notify: boolean): { report: (message: string, fraction: number) => void; done: () => void } {
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
