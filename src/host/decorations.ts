import * as vscode from 'vscode';
import type { TokenView } from '../protocol';

/** Shading steps: weights are bucketed so a handful of decoration types cover every token. */
const LEVELS = 8;

/**
 * Shades source text by one query token's attention weights: the stronger the weight, the stronger
 * the background; the query token itself gets a border. Light and dark themes get their own tints.
 */
export class AttentionHighlights implements vscode.Disposable {
  private readonly levels: vscode.TextEditorDecorationType[];
  private readonly queryType: vscode.TextEditorDecorationType;
  private shownIn: vscode.TextEditor[] = [];
  private shownArgs: Parameters<AttentionHighlights['show']> | undefined;
  private readonly changed = new vscode.EventEmitter<boolean>();
  private readonly editorsListener: vscode.Disposable;
  /** Fires true when highlights appear, false when they are cleared. */
  readonly onDidChange = this.changed.event;

  constructor() {
    // VS Code drops decorations when an editor is hidden (a tab switch): draw them again when it returns.
    this.editorsListener = vscode.window.onDidChangeVisibleTextEditors(() => {
      if (this.shownArgs) this.show(...this.shownArgs);
    });
    this.levels = Array.from({ length: LEVELS }, (_, k) => {
      const alpha = ((k + 1) / LEVELS) * 0.55;
      return vscode.window.createTextEditorDecorationType({
        light: { backgroundColor: `rgba(255, 140, 0, ${alpha.toFixed(3)})` },
        dark: { backgroundColor: `rgba(255, 196, 0, ${(alpha * 0.8).toFixed(3)})` },
        rangeBehavior: vscode.DecorationRangeBehavior.ClosedClosed,
      });
    });
    this.queryType = vscode.window.createTextEditorDecorationType({
      borderWidth: '1px',
      borderStyle: 'solid',
      borderColor: new vscode.ThemeColor('editor.wordHighlightStrongBorder'),
      outlineColor: new vscode.ThemeColor('focusBorder'),
      outlineWidth: '1px',
      outlineStyle: 'solid',
      rangeBehavior: vscode.DecorationRangeBehavior.ClosedClosed,
    });
  }

  get active(): boolean {
    return this.shownArgs !== undefined;
  }

  /**
   * Highlights `weights` (one per token) in every visible editor showing `uri`. Returns how many
   * tokens got a shade. Offsets are document offsets of the inspected text's start plus token offsets.
   */
  show(uri: string, baseOffset: number, tokens: readonly TokenView[], query: number, weights: Float32Array, queryLabel: string): number {
    const editors = vscode.window.visibleTextEditors.filter((e) => e.document.uri.toString() === uri);
    this.clear();
    if (weights.length !== tokens.length || !tokens[query]) return 0;
    this.shownArgs = [uri, baseOffset, tokens, query, weights, queryLabel];
    this.changed.fire(true);
    if (!editors.length) return 0;
    let shaded = 0;
    for (const editor of editors) {
      const doc = editor.document;
      const range = (t: TokenView) => new vscode.Range(doc.positionAt(baseOffset + t.start), doc.positionAt(baseOffset + t.end));
      const byLevel: vscode.DecorationOptions[][] = Array.from({ length: LEVELS }, () => []);
      // Special tokens (BOS, [CLS]) cover no text and often take most of a row (an attention sink):
      // they get no shade and do not set the scale, so the text's own tokens stay readable.
      let max = 0;
      for (let j = 0; j < weights.length; j++) if (!tokens[j].special) max = Math.max(max, weights[j]);
      shaded = 0;
      for (let j = 0; j < tokens.length; j++) {
        const w = weights[j];
        if (!(w > 0) || max === 0 || tokens[j].special) continue;
        // Relative to the row's largest weight, so long rows with small weights stay visible.
        const level = Math.min(LEVELS - 1, Math.floor((w / max) * LEVELS - 1e-9));
        if (level < 0) continue;
        byLevel[level].push({
          range: range(tokens[j]),
          hoverMessage: new vscode.MarkdownString(`Attention from **${escapeMarkdown(queryLabel)}**: ${w.toPrecision(4)}`),
        });
        shaded++;
      }
      byLevel.forEach((options, k) => editor.setDecorations(this.levels[k], options));
      // A special query ([CLS], <s>) covers no text: nothing to outline.
      editor.setDecorations(this.queryType, tokens[query].special ? [] : [{ range: range(tokens[query]), hoverMessage: 'Query token' }]);
    }
    this.shownIn = editors;
    return shaded;
  }

  clear(): void {
    for (const editor of this.shownIn) {
      for (const type of this.levels) editor.setDecorations(type, []);
      editor.setDecorations(this.queryType, []);
    }
    this.shownIn = [];
    if (!this.shownArgs) return;
    this.shownArgs = undefined;
    this.changed.fire(false);
  }

  dispose(): void {
    this.clear();
    this.editorsListener.dispose();
    for (const type of this.levels) type.dispose();
    this.queryType.dispose();
    this.changed.dispose();
  }
}

function escapeMarkdown(text: string): string {
  return text.replace(/[\\`*_{}[\]()#+\-.!|<>]/g, (c) => `\\${c}`);
}
