import * as vscode from 'vscode';

/** Characters sent to the tokenizer at most; far beyond any token limit, and keeps huge selections cheap. */
export const MAX_SOURCE_CHARS = 2_000_000;

/** Text of a document to inspect, with where it came from. */
export interface SourceText {
  readonly doc: vscode.TextDocument;
  /** Document offset of the first character read. */
  readonly startOffset: number;
  /** Document offset just after the last character read (`startOffset + text.length`). */
  readonly endOffset: number;
  readonly text: string;
  /** For people: what was inspected instead of the selection, or that it was cut. */
  readonly notes: readonly string[];
}

/** What a selection gives: text to inspect, a reason there is none (for the views), or nothing to say at all. */
export type SelectionReading = { readonly kind: 'text'; readonly source: SourceText } | { readonly kind: 'empty'; readonly message: string } | { readonly kind: 'none' };

/**
 * The editor's selection as text to inspect; an empty selection means its line (live updates leave an
 * empty selection alone).
 */
export function readSelection(editor: vscode.TextEditor | undefined, live: boolean): SelectionReading {
  if (!editor) return { kind: 'empty', message: 'Open a file and select some text, then run “Attention Inspector: Inspect Selection”.' };
  const doc = editor.document;
  if (!editor.selection.isEmpty) return readRange(doc, doc.offsetAt(editor.selection.start), doc.offsetAt(editor.selection.end));
  if (live) return { kind: 'none' };
  const line = doc.lineAt(editor.selection.active.line);
  if (line.isEmptyOrWhitespace) return { kind: 'empty', message: `Line ${line.lineNumber + 1} is empty. Select some text to inspect.` };
  return readRange(doc, doc.offsetAt(line.range.start), doc.offsetAt(line.range.end), [`No text was selected, so line ${line.lineNumber + 1} was inspected.`]);
}

/** Document offsets [start, end) as text to inspect: cut to MAX_SOURCE_CHARS, never inside a surrogate pair. */
export function readRange(doc: vscode.TextDocument, startOffset: number, endOffset: number, notes: readonly string[] = []): SelectionReading {
  const totalChars = endOffset - startOffset;
  let readEnd = Math.min(endOffset, startOffset + MAX_SOURCE_CHARS);
  let text = doc.getText(new vscode.Range(doc.positionAt(startOffset), doc.positionAt(readEnd)));
  if (readEnd < endOffset && /[\uD800-\uDBFF]$/.test(text)) {
    text = text.slice(0, -1);
    readEnd--;
  }
  const cut = readEnd < endOffset ? [`The selection has ${totalChars.toLocaleString()} characters; only the first ${text.length.toLocaleString()} were read.`] : [];
  if (!text.trim()) return { kind: 'empty', message: 'The selection is only whitespace. Select some text to inspect.' };
  return { kind: 'text', source: { doc, startOffset, endOffset: startOffset + text.length, text, notes: [...notes, ...cut] } };
}
