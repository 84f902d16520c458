import * as vscode from 'vscode';
import type { HostRequests, ReplyError, WebviewCommand, WebviewMessage, WebviewRequests } from '../protocol';
import { RequestChannel } from '../../webview/requestChannel';
import type { EngineClient } from './engineClient';
import type { ResultStore } from './resultStore';
import { errorKind } from '../errors';
import { failureMessage } from './runController';
import type { SourceLinks } from './sourceLinks';
import type { WebviewTarget } from './views';

/** How long a layer or trace answer may take: longer than any single request the worker runs. */
const ANSWER_TIMEOUT_MS = 5 * 60_000;

const COMMANDS: Record<WebviewCommand, readonly [string, ...unknown[]]> = {
  inspectSelection: ['attentionInspector.inspectSelection'],
  chooseModel: ['attentionInspector.chooseModel'],
  export: ['attentionInspector.export'],
  openSettings: ['workbench.action.openSettings', 'attentionInspector'],
};

export type WebviewChannel = RequestChannel<HostRequests, WebviewRequests>;

/**
 * Acts on validated messages from either webview, and keeps one request channel per webview: its
 * layer and trace requests are answered from the engine (a repeat while the first is in flight is
 * answered once), and the host's own requests (the PNG) go through it.
 */
export class MessageRouter implements vscode.Disposable {
  private readonly channels = new Map<WebviewTarget, WebviewChannel>();

  constructor(
    private readonly engine: EngineClient,
    private readonly store: ResultStore,
    private readonly links: SourceLinks,
    private readonly log: vscode.LogOutputChannel,
    /** The id of the newest inspection: requests about older ones are answered as cancelled. */
    private readonly latestResultId: () => number,
  ) {}

  handle(message: WebviewMessage, from: WebviewTarget): void {
    switch (message.type) {
      case 'ready':
        // A fresh page: answers meant for the one before it must not reach it under the same ids.
        this.channels.get(from)?.peerRestarted();
        return this.store.greet(from);
      case 'request':
      case 'reply':
        return this.channel(from).receive(message);
      case 'highlight':
        return this.links.highlight(message.resultId, message.query, message.weights);
      case 'clearHighlight':
        return this.links.clear();
      case 'revealToken':
        return void this.links.reveal(message.resultId, message.index);
      case 'command':
        return void vscode.commands.executeCommand(...COMMANDS[message.command]);
    }
  }

  /** The channel to one webview, for the host's requests to it. */
  channel(target: WebviewTarget): WebviewChannel {
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
        replyError: (error, _method, p) => this.replyError(error, p.resultId),
      });
      this.channels.set(target, channel);
    }
    return channel;
  }

  /** A webview closed: the host's requests to it fail now, and its requests go unanswered. */
  forget(target: WebviewTarget): void {
    this.channels.get(target)?.dispose();
    this.channels.delete(target);
  }

  private replyError(error: unknown, resultId: number): ReplyError {
    const kind = errorKind(error);
    // Requests about an older inspection were dropped for a newer run; the webview asks again after `idle` or `result`.
    if (kind === 'cancelled' || resultId !== this.latestResultId()) return { kind: 'cancelled', message: 'cancelled' };
    if (kind === 'internal') this.log.error(error instanceof Error ? error : String(error));
    return { kind: 'failed', message: failureMessage(error, kind) };
  }

  dispose(): void {
    for (const channel of this.channels.values()) channel.dispose();
    this.channels.clear();
  }
}
