import * as vscode from 'vscode';
import { readSettings, SECTION, type Settings } from '../settings';

export { SECTION, type Settings } from '../settings';

export function readWorkspaceSettings(): { settings: Settings; problems: string[] } {
  const config = vscode.workspace.getConfiguration(SECTION);
  return readSettings((key) => config.get(key));
}
