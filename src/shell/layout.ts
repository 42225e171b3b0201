// How a RUN is laid out (operators at line ends or line starts, indentation)
// so that pkg-cleanup can add lines that look hand-written, and which spans
// of the Dockerfile can be removed without taking a comment line with them.
import type { DockerfileDocument, Span } from '../dockerfile/document.js';
import { parseShell, shellScript, sourceOffset, sourceSpan, type ShellScript } from './script.js';
import { chainsIn, type ChainLink } from './structure.js';

export type OperatorStyle = 'trailing' | 'leading';

export interface RunLayout {
  /** `&& \` at the end of a line, or `\` then `&& cmd` on the next. */
  readonly style: OperatorStyle;
  /** Indentation of a continued command line. */
  readonly indent: string;
}

const LINE_BREAK = /\r\n|\r|\n/;
const DEFAULT_INDENT = '    ';

interface Observed {
  trailing: number;
  leading: number;
  indent?: string;
}

/** Style and indentation seen at the top-level operators of one RUN. */
function observe(doc: DockerfileDocument, script: ShellScript, links: readonly ChainLink[]): Observed {
  const observed: Observed = { trailing: 0, leading: 0 };
  for (let i = 1; i < links.length; i++) {
    const gapStart = links[i - 1].end;
    const gapEnd = links[i].start;
    const operatorIndex = script.script.slice(gapStart, gapEnd).search(/\S/);
    if (operatorIndex < 0) continue;
    const operatorAt = sourceOffset(script, gapStart + operatorIndex);
    const from = offsetAfter(script, gapStart);
    const to = sourceOffset(script, gapEnd);
    const breakAt = doc.text.slice(from, to).search(LINE_BREAK);
    if (breakAt < 0) continue;
    if (operatorAt < from + breakAt) observed.trailing++;
    else observed.leading++;
    // The line that starts this operand (or its leading operator) gives the indentation.
    const lineStart = doc.lineStart(operatorAt < from + breakAt ? to : operatorAt);
    const before = doc.text.slice(lineStart, operatorAt < from + breakAt ? to : operatorAt);
    if (/^[ \t]*$/.test(before)) observed.indent = before;
  }
  return observed;
}

const fileLayouts = new WeakMap<DockerfileDocument, Observed>();

/** Style and indentation over all RUNs of the file (this RUN's own lines count too; they agree when it has any). */
function fileLayout(doc: DockerfileDocument): Observed {
  let file = fileLayouts.get(doc);
  if (file) return file;
  file = { trailing: 0, leading: 0 };
  for (const instruction of doc.instructions) {
    if (instruction.keyword !== 'RUN') continue;
    const script = shellScript(doc, instruction);
    if (!script) continue;
    const tree = parseShell(script.script);
    if (tree.rootNode.hasError) continue;
    const seen = observe(doc, script, chainsIn(tree.rootNode).flatMap((segment) => segment.links));
    file.trailing += seen.trailing;
    file.leading += seen.leading;
    file.indent ??= seen.indent;
  }
  fileLayouts.set(doc, file);
  return file;
}

/** The layout to use for lines added to this RUN: its own, else the file's, else `&& \` with four spaces. */
export function layoutOf(doc: DockerfileDocument, script: ShellScript, links: readonly ChainLink[]): RunLayout {
  const own = observe(doc, script, links);
  if (own.trailing + own.leading > 0 && own.indent !== undefined) {
    return { style: own.leading > own.trailing ? 'leading' : 'trailing', indent: own.indent };
  }
  const file = fileLayout(doc);
  const style: OperatorStyle = own.trailing + own.leading > 0 ? (own.leading > own.trailing ? 'leading' : 'trailing') : file.leading > file.trailing ? 'leading' : 'trailing';
  return { style, indent: own.indent ?? file.indent ?? DEFAULT_INDENT };
}

/** Text that continues a RUN with the commands, each on its own line, joined with `&&`. */
export function continuationText(doc: DockerfileDocument, layout: RunLayout, commands: readonly string[]): string {
  const newline = `${doc.escape}${doc.eol}${layout.indent}`;
  return commands.map((command) => (layout.style === 'leading' ? ` ${newline}&& ${command}` : ` && ${newline}${command}`)).join('');
}

/** Text that puts each flag on its own continued line before the command (`--mount=… \`). */
export function flagLinesText(doc: DockerfileDocument, layout: RunLayout, flags: readonly string[]): string {
  return flags.map((flag) => `${flag} ${doc.escape}${doc.eol}${layout.indent}`).join('');
}

/** The Dockerfile offset just after script[end - 1]: the end of a node, on its own line even before a continuation. */
export function offsetAfter(script: ShellScript, end: number): number {
  return sourceSpan(script, end - 1, end).end;
}

/** True when the span crosses a comment line that BuildKit drops from a continued RUN. */
export function crossesCommentLine(doc: DockerfileDocument, span: Span): boolean {
  const lines = doc.text.slice(span.start, span.end).split(LINE_BREAK);
  return lines.slice(1).some((line) => /^[ \t]*#/.test(line));
}

/**
 * The Dockerfile span that removes operand links[index] together with one
 * operator so that the rest of the chain means what it meant, or undefined
 * when no such span exists (an `||` next to it, a comment line in the way).
 */
export function operandRemovalSpan(doc: DockerfileDocument, script: ShellScript, links: readonly ChainLink[], index: number): Span | undefined {
  const link = links[index];
  let span: Span | undefined;
  const sequential = (op: string | undefined) => op === ';' || op === '&&';
  if (link.after && sequential(link.after) && index + 1 < links.length && (link.before === undefined || link.before === ';' || (link.before === '&&' && link.after === '&&'))) {
    // `x && a && y` → `x && y`; `a; y` → `y`: drop the operand and the operator after it.
    span = { start: sourceOffset(script, link.start), end: sourceOffset(script, links[index + 1].start) };
  } else if (index > 0 && sequential(link.before) && (link.after === undefined || link.after === ';')) {
    // `x && a` → `x`; `x && a; y` → `x; y`: drop the operator before it and the operand.
    span = { start: offsetAfter(script, links[index - 1].end), end: offsetAfter(script, link.end) };
  }
  if (!span || crossesCommentLine(doc, span)) return undefined;
  return span;
}
