// Shell inside RUN: the command text as the shell will see it (continuations
// and embedded comment lines removed), a map from every character of it back
// to the Dockerfile, and a tree-sitter-bash parse of it.
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import v8 from 'node:v8';
import { Language, Parser, type Node, type Tree } from 'web-tree-sitter';
import { keywordBefore, type DockerfileDocument, type InstructionInfo } from '../dockerfile/document.js';

export type { Node as ShellNode, Tree as ShellTree } from 'web-tree-sitter';

let parser: Parser | undefined;
let loading: Promise<Parser> | undefined;

/** Loads the WASM bash grammar once per process; the engine awaits this before any transform runs. */
export function initShell(): Promise<Parser> {
  loading ??= (async () => {
    // V8 otherwise optimises the grammar's huge parse function with TurboFan on the
    // first parse, blocking the main thread ~300 ms: that alone would triple a
    // single-file run. Liftoff's baseline code parses these short scripts just as fast.
    v8.setFlagsFromString('--liftoff-only');
    await Parser.init();
    const bash = await Language.load(grammarPath());
    const created = new Parser();
    created.setLanguage(bash);
    parser = created;
    return created;
  })();
  return loading;
}

/**
 * The bash grammar's WASM build. The package ships it in dist/grammar/ (the
 * build copies it from the tree-sitter-bash release pinned in
 * devDependencies, whose npm package also holds 20 MB of native builds and C
 * sources that dockopt never uses); run from the sources, it is read from
 * that package directly.
 */
function grammarPath(): string {
  const shipped = fileURLToPath(new URL('../../grammar/tree-sitter-bash.wasm', import.meta.url));
  if (existsSync(shipped)) return shipped;
  return createRequire(import.meta.url).resolve('tree-sitter-bash/tree-sitter-bash.wasm');
}

export function parseShell(script: string): Tree {
  if (!parser) throw new Error('shell parser used before initShell() finished');
  const tree = parser.parse(script);
  if (!tree) throw new Error('tree-sitter-bash returned no tree');
  return tree;
}

/** The shell-form command of a RUN (or CMD/ENTRYPOINT) with its way back to the Dockerfile. */
export interface ShellScript {
  readonly instruction: InstructionInfo;
  /** The command as the shell receives it. */
  readonly script: string;
  /** sourceOffsets[i] is the Dockerfile offset of script[i]; the extra last entry is the end of the command. */
  readonly sourceOffsets: readonly number[];
  /** Dockerfile offset where the command text begins (after keyword and flags). */
  readonly start: number;
  /** Dockerfile offset just after the last command character (before any trailing escape). */
  readonly end: number;
}

/** Dockerfile offset of a script position, for inserting before script[index]. */
export function sourceOffset(script: ShellScript, index: number): number {
  return script.sourceOffsets[Math.min(index, script.script.length)];
}

/** Dockerfile span of script[start, end): from the first character to just after the last. */
export function sourceSpan(script: ShellScript, start: number, end: number): { start: number; end: number } {
  if (end <= start) {
    const at = sourceOffset(script, start);
    return { start: at, end: at };
  }
  return { start: script.sourceOffsets[start], end: script.sourceOffsets[end - 1] + 1 };
}

/** Whether the arguments are a JSON array of strings, which BuildKit runs without a shell. */
export function isExecForm(argumentsText: string): boolean {
  const trimmed = argumentsText.trim();
  if (!trimmed.startsWith('[')) return false;
  try {
    const parsed: unknown = JSON.parse(trimmed);
    return Array.isArray(parsed) && parsed.every((item) => typeof item === 'string');
  } catch {
    return false;
  }
}

export function hasHeredoc(instruction: InstructionInfo): boolean {
  // Only RUN (and COPY/ADD) expose their heredocs publicly; the base class keeps the method protected.
  const node = instruction.node as unknown as { getHeredocs?: () => unknown[] };
  return typeof node.getHeredocs === 'function' && node.getHeredocs().length > 0;
}

/** Offset where an instruction's arguments begin, after the keyword and any --flags. */
export function argumentsStart(doc: DockerfileDocument, instruction: InstructionInfo): number | undefined {
  const args = instruction.node.getArguments();
  if (args.length === 0) return undefined;
  return doc.offsetAt(args[0].getRange().start);
}

const LINE_BREAK = /\r\n|\r|\n/g;
const BLANK_OR_COMMENT = /^[ \t]*(#.*)?$/;

/**
 * The shell command of a shell-form instruction, or undefined for exec form,
 * heredocs and instructions without arguments. Mirrors BuildKit: an escape at
 * the end of a line (trailing blanks allowed) joins it with the next, and
 * blank or comment-only lines inside the continuation are dropped.
 */
export function shellScript(doc: DockerfileDocument, instruction: InstructionInfo): ShellScript | undefined {
  // Transforms and the engine ask for the same RUN several times per pass; dockerfile-ast recomputes arguments on every call.
  if (scriptCache.has(instruction)) return scriptCache.get(instruction);
  const script = extractShellScript(doc, instruction);
  scriptCache.set(instruction, script);
  return script;
}

const scriptCache = new WeakMap<InstructionInfo, ShellScript | undefined>();

function extractShellScript(doc: DockerfileDocument, instruction: InstructionInfo): ShellScript | undefined {
  if (hasHeredoc(instruction)) return undefined;
  const start = argumentsStart(doc, instruction);
  if (start === undefined) return undefined;
  const text = doc.text;
  const end = instruction.end;
  const continuation = new RegExp(`${escapeRegExp(doc.escape)}[ \\t]*$`);
  const chars: string[] = [];
  const offsets: number[] = [];
  let lineStart = start;
  let commandEnd = start;
  let continued = true;
  while (continued && lineStart < end) {
    const { lineEnd, next } = physicalLine(text, lineStart, end);
    const line = text.slice(lineStart, lineEnd);
    const match = continuation.exec(line);
    const contentEnd = match ? lineStart + match.index : lineEnd;
    for (let offset = lineStart; offset < contentEnd; offset++) {
      chars.push(text[offset]);
      offsets.push(offset);
    }
    commandEnd = contentEnd;
    continued = match !== null;
    lineStart = next;
    while (continued && lineStart < end) {
      const following = physicalLine(text, lineStart, end);
      if (!BLANK_OR_COMMENT.test(text.slice(lineStart, following.lineEnd))) break;
      lineStart = following.next;
    }
  }
  const script = chars.join('');
  if (isExecForm(script)) return undefined;
  offsets.push(commandEnd);
  return { instruction, script, sourceOffsets: offsets, start, end: commandEnd };
}

function physicalLine(text: string, from: number, limit: number): { lineEnd: number; next: number } {
  LINE_BREAK.lastIndex = from;
  const match = LINE_BREAK.exec(text);
  if (!match || match.index >= limit) return { lineEnd: limit, next: limit };
  return { lineEnd: match.index, next: match.index + match[0].length };
}

export function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** The literal command name of a `command` node (`apt-get` in `DEBIAN_FRONTEND=x apt-get ...`), if static. */
export function commandName(command: Node): string | undefined {
  const name = command.childForFieldName('name');
  if (!name) return undefined;
  const word = name.firstChild;
  if (!word || (word.type !== 'word' && word.type !== 'raw_string' && word.type !== 'string')) return undefined;
  if (word.type === 'word') return /[$`\\]/.test(word.text) ? undefined : word.text;
  const unquoted = word.text.slice(1, -1);
  return /[$`\\]/.test(unquoted) ? undefined : unquoted;
}

/** The arguments of a command node, in order (redirections excluded). */
export function commandArguments(command: Node): Node[] {
  return command.childrenForFieldName('argument').filter((node): node is Node => node !== null);
}

/** A node's type and range, as the walk below hands out ancestors (no Node object made for them). */
export interface NodeSpan {
  readonly type: string;
  readonly startIndex: number;
  readonly endIndex: number;
}

/**
 * Calls visit for every node below root whose type is in `types`, depth
 * first in source order (the order of descendantsOfType), with its
 * ancestors from root to parent. One cursor walk, linear in the tree: asking
 * `node.parent` instead walks down from the root each time, which is
 * quadratic in the depth of a long `a && b && …` chain. `ancestors` changes
 * as the walk goes on: read it during the call, do not keep it.
 */
export function visitDescendants(root: Node, types: ReadonlySet<string>, visit: (node: Node, ancestors: readonly NodeSpan[]) => void): void {
  const cursor = root.walk();
  const ancestors: NodeSpan[] = [];
  try {
    if (!cursor.gotoFirstChild()) return;
    ancestors.push({ type: root.type, startIndex: root.startIndex, endIndex: root.endIndex });
    for (;;) {
      if (types.has(cursor.nodeType)) visit(cursor.currentNode, ancestors);
      const span = { type: cursor.nodeType, startIndex: cursor.startIndex, endIndex: cursor.endIndex };
      if (cursor.gotoFirstChild()) {
        ancestors.push(span);
        continue;
      }
      while (!cursor.gotoNextSibling()) {
        if (!cursor.gotoParent() || ancestors.length <= 1) return;
        ancestors.pop();
      }
    }
  } finally {
    cursor.delete();
  }
}

const parentIndexes = new WeakMap<Tree, Map<number, Node>>();

/**
 * A node's parent, like `node.parent` but from an index of the whole tree
 * built once per tree by one cursor walk: tree-sitter's own parent lookup
 * walks down from the root, so climbing from every command of a long chain
 * would be quadratic (cubic with the climbs).
 */
export function parentOf(node: Node): Node | null {
  let index = parentIndexes.get(node.tree);
  if (index === undefined) {
    index = new Map();
    const cursor = node.tree.walk();
    const ancestors: Node[] = [cursor.currentNode];
    try {
      if (cursor.gotoFirstChild()) {
        for (;;) {
          const current = cursor.currentNode;
          index.set(current.id, ancestors[ancestors.length - 1]);
          if (cursor.gotoFirstChild()) {
            ancestors.push(current);
            continue;
          }
          let done = false;
          while (!cursor.gotoNextSibling()) {
            if (!cursor.gotoParent() || ancestors.length <= 1) {
              done = true;
              break;
            }
            ancestors.pop();
          }
          if (done) break;
        }
      }
    } finally {
      cursor.delete();
    }
    parentIndexes.set(node.tree, index);
  }
  return index.get(node.id) ?? null;
}

/** Every node of a type below root, depth first, in source order. */
export function descendantsOfType(root: Node, type: string | readonly string[]): Node[] {
  return root.descendantsOfType(type as string | string[]).filter((node): node is Node => node !== null);
}

const POSIX_SHELLS = new Set(['sh', 'bash', 'dash', 'ash', 'zsh', 'ksh', 'busybox']);

/** The stage's SHELL when it is not a POSIX shell (PowerShell, cmd…), else undefined. */
export function foreignShell(doc: DockerfileDocument, instruction: InstructionInfo): string | undefined {
  const shells = keywordBefore(doc, instruction, 'SHELL');
  const last = shells[shells.length - 1];
  if (!last) return undefined;
  const text = doc.text.slice(argumentsStart(doc, last) ?? last.end, last.end);
  try {
    const words = JSON.parse(text) as unknown;
    const program = Array.isArray(words) && typeof words[0] === 'string' ? words[0] : undefined;
    if (program && POSIX_SHELLS.has(program.slice(program.lastIndexOf('/') + 1))) return undefined;
    return program ?? text;
  } catch {
    return text;
  }
}
