// Package-manager calls pkg-cleanup can see but must not edit: inside quoted
// `sh -c '…'` strings, command substitutions, function bodies, behind sudo,
// in heredoc bodies and in exec-form RUNs. Each becomes a note, so users know
// the RUN was looked at and why it was left alone.
import type { DockerfileDocument, InstructionInfo } from '../../src/dockerfile/document.js';
import { commandArguments, commandName, descendantsOfType, isExecForm, parseShell, type ShellNode } from '../../src/shell/script.js';
import { basename, invocationOf } from './invocations.js';
import { levelsOf, literalValue } from '../../src/shell/structure.js';

export interface HiddenCall {
  /** Position in the shell script the tree came from. */
  readonly index: number;
  readonly message: string;
}

const SHELLS = new Set(['sh', 'bash', 'dash', 'ash', 'zsh', 'ksh', 'busybox']);
const WRAPPERS = new Set(['sudo', 'doas', 'env', 'xargs', 'nice', 'nohup', 'time', 'timeout', 'chroot', 'su', 'runuser', 'gosu', 'su-exec']);

/** The package managers a piece of shell text calls (parsed, not grepped). */
export function packageManagersIn(text: string | ShellNode): string[] {
  const root = typeof text === 'string' ? parseShell(text).rootNode : text;
  const tools = new Set<string>();
  for (const command of descendantsOfType(root, 'command')) {
    const invocation = invocationOf(command);
    if (invocation) tools.add(invocation.program);
    for (const nested of nestedScripts(command)) for (const tool of packageManagersIn(nested)) tools.add(tool);
  }
  return [...tools];
}

/** The script of `sh -c '…'`, when it is a literal string. */
function nestedScripts(command: ShellNode): string[] {
  const name = commandName(command);
  if (!name || !SHELLS.has(basename(name))) return [];
  const args = commandArguments(command);
  const flag = args.findIndex((arg) => /^-[a-z]*c[a-z]*$/.test(literalValue(arg) ?? ''));
  const script = flag >= 0 ? args[flag + 1] : undefined;
  const value = script ? literalValue(script) : undefined;
  return value ? [value] : [];
}

/** The package-manager calls of a parsed RUN that are out of reach, with the reason. */
export function hiddenCalls(root: ShellNode): HiddenCall[] {
  const hidden: HiddenCall[] = [];
  for (const command of descendantsOfType(root, 'command')) {
    const invocation = invocationOf(command);
    if (invocation) {
      const levels = levelsOf(command);
      if (!levels) hidden.push({ index: command.startIndex, message: `\`${command.text}\` left alone: it runs inside a command substitution or another construct pkg-cleanup does not edit` });
      else if (levels.some((level) => level.kind === 'function')) hidden.push({ index: command.startIndex, message: `\`${command.text}\` left alone: it is inside a shell function, which may run any number of times` });
      continue;
    }
    const name = commandName(command);
    if (!name) continue;
    const nested = nestedScripts(command).flatMap((script) => packageManagersIn(script));
    if (nested.length > 0) {
      hidden.push({ index: command.startIndex, message: `${nested.join(', ')} inside the quoted script of \`${basename(name)} -c\` left alone: pkg-cleanup never edits inside quoted strings` });
      continue;
    }
    if (WRAPPERS.has(basename(name))) {
      const wrapped = commandArguments(command).map((arg) => literalValue(arg)).find((value) => value !== undefined && !value.startsWith('-') && !value.includes('='));
      const tool = wrapped ? packageManagersIn(wrapped) : [];
      if (tool.length > 0) hidden.push({ index: command.startIndex, message: `\`${basename(name)} ${wrapped} …\` left alone: calls through ${basename(name)} are not edited (the cleanup would need the same privileges)` });
    }
  }
  return hidden;
}

/** A note for a RUN that has no editable shell form but calls a package manager: heredoc or exec form. */
export function unreachableRunNote(doc: DockerfileDocument, instruction: InstructionInfo): string | undefined {
  const node = instruction.node as unknown as { getHeredocs?: () => { getContentRange(): { start: { line: number; character: number }; end: { line: number; character: number } } | null }[] };
  const heredocs = node.getHeredocs?.() ?? [];
  if (heredocs.length > 0) {
    const tools = heredocs.flatMap((heredoc) => {
      const range = heredoc.getContentRange();
      if (!range) return [];
      const body = doc.text.slice(doc.offsetAt(range.start), doc.offsetAt(range.end));
      return packageManagersIn(body);
    });
    return tools.length > 0 ? `RUN with a heredoc calls ${[...new Set(tools)].join(', ')}: left alone, pkg-cleanup never edits heredoc bodies` : undefined;
  }
  const args = instruction.node.getArguments();
  if (args.length === 0) return undefined;
  const text = doc.text.slice(doc.offsetAt(args[0].getRange().start), instruction.end);
  if (!isExecForm(text)) return undefined;
  const words = JSON.parse(text.trim()) as string[];
  const asShell = words.length >= 3 && SHELLS.has(basename(words[0])) && /^-[a-z]*c[a-z]*$/.test(words[1]) ? packageManagersIn(words[2]) : [];
  const direct = words.length > 0 ? packageManagersIn(words.map((word) => `'${word.replace(/'/g, `'\\''`)}'`).join(' ')) : [];
  const tools = [...new Set([...asShell, ...direct])];
  return tools.length > 0 ? `exec-form RUN calls ${tools.join(', ')}: left alone, an exec-form RUN has no shell to chain a cleanup in` : undefined;
}
