// Merge runs of adjacent shell-form RUN instructions into one RUN joined with
// `&&`, so the image gets one layer instead of several. The merged command must
// behave exactly like the separate RUNs did, each of which started a fresh
// shell and stopped the build on a non-zero status. So every RUN that is not
// the last of its group is checked with the bash parser for shell state that
// would now leak into the next one (cd, export, set, functions...), and such a
// RUN is wrapped in a subshell; a RUN whose operators would bind differently
// after `&&` is grouped with `{ ...; }`; and pairs that cannot be joined
// faithfully (background jobs, errexit, different flags, exec form, heredocs,
// non-POSIX shells) are left alone with a note that says why.
import type { ModifiableInstruction } from 'dockerfile-ast';
import type { DockerfileDocument, InstructionInfo } from '../../src/dockerfile/document.js';
import {
  commandArguments,
  commandName,
  escapeRegExp,
  hasHeredoc,
  isExecForm,
  parentOf,
  parseShell,
  shellScript,
  sourceOffset,
  type ShellNode,
  type ShellScript,
} from '../../src/shell/script.js';
import { defineTransform, Edit, type Finding, type TransformContext } from '../../src/engine/transform.js';
import { readmeDocs } from '../../src/engine/docs.js';

export default defineTransform({
  meta: {
    id: 'merge-runs',
    title: 'Merge adjacent RUN instructions',
    description: 'Joins adjacent shell-form RUN instructions of a stage into one RUN with `&&`, keeping what each command sees.',
    safety: 'safe',
    network: false,
    docs: readmeDocs(import.meta.url),
  },
  run(ctx) {
    return mergeRuns(ctx);
  },
});

// ---- the pass -------------------------------------------------------------------

type Wrap = 'none' | 'group' | 'subshell';

interface Joined {
  readonly merge: true;
  /** How the left RUN is wrapped when a RUN follows it in the merged group. */
  readonly leftWrap: Wrap;
}
interface Refused {
  readonly merge: false;
  readonly reason: string;
}

function mergeRuns(ctx: TransformContext): Finding[] {
  const { doc } = ctx;
  const hasAdjacentRuns = doc.instructions.some(
    (instruction, index) => index > 0 && instruction.keyword === 'RUN' && doc.instructions[index - 1].keyword === 'RUN' && doc.instructions[index - 1].stage === instruction.stage,
  );
  if (!hasAdjacentRuns) return [];
  const shells = shellsInEffect(doc);
  // Reading the file's continuation style scans every RUN line: only worth it when something merges.
  let style: JoinStyle | undefined;
  const findings: Finding[] = [];
  const facts = new Map<InstructionInfo, RunFacts | Unsupported>();
  const factsOf = (instruction: InstructionInfo) => {
    let known = facts.get(instruction);
    if (!known) facts.set(instruction, (known = analyzeRun(doc, instruction)));
    return known;
  };

  let chain: RunFacts[] = [];
  let wraps: Wrap[] = [];
  const flush = () => {
    if (chain.length > 1) findings.push(mergeChain(doc, (style ??= joinStyle(doc)), chain, wraps));
    chain = [];
    wraps = [];
  };
  for (let index = 1; index < doc.instructions.length; index++) {
    const left = doc.instructions[index - 1];
    const right = doc.instructions[index];
    if (left.keyword !== 'RUN' || right.keyword !== 'RUN' || left.stage !== right.stage) {
      flush();
      continue;
    }
    if (ctx.isIgnored(left.start) || ctx.isIgnored(right.start)) {
      flush();
      continue;
    }
    const leftFacts = factsOf(left);
    const rightFacts = factsOf(right);
    // Read only when the RUN above sets a variable: slicing every later RUN for every pair is quadratic.
    const laterScripts = () => laterRunTexts(doc, index);
    const decision = decidePair(doc, shells.get(left) ?? DEFAULT_SHELL, leftFacts, rightFacts, chain.length > 0, laterScripts);
    if (!decision.merge) {
      flush();
      findings.push({ offset: right.start, message: `not merged with the RUN above: ${decision.reason}` });
      continue;
    }
    const leftRun = leftFacts as RunFacts;
    if (chain.length === 0) {
      chain.push(leftRun);
      wraps.push(decision.leftWrap);
    } else {
      wraps[wraps.length - 1] = decision.leftWrap;
    }
    const rightRun = rightFacts as RunFacts;
    chain.push(rightRun);
    // As the last RUN of the group it leaks nothing; it only needs grouping to stay one && operand.
    wraps.push(rightRun.needsGroup ? 'group' : 'none');
  }
  flush();
  return findings;
}

/** The text of every RUN after instructions[index - 1] up to the next other instruction, to look for uses of variables set before. */
function laterRunTexts(doc: DockerfileDocument, index: number): string[] {
  const texts: string[] = [];
  const stage = doc.instructions[index].stage;
  for (let next = index; next < doc.instructions.length; next++) {
    const instruction = doc.instructions[next];
    if (instruction.keyword !== 'RUN' || instruction.stage !== stage) break;
    texts.push(doc.text.slice(instruction.start, instruction.end));
  }
  return texts;
}

function decidePair(
  doc: DockerfileDocument,
  shell: StageShell,
  left: RunFacts | Unsupported,
  right: RunFacts | Unsupported,
  leftFollowsAnother: boolean,
  laterScripts: () => readonly string[],
): Joined | Refused {
  const refuse = (reason: string): Refused => ({ merge: false, reason });
  if (!shell.posix) return refuse(shell.description);
  if ('unsupported' in left) return refuse(left.unsupported('the RUN above'));
  if ('unsupported' in right) return refuse(right.unsupported('this RUN'));
  const differentFlags = flagDifference(left.flags, right.flags);
  if (differentFlags) return refuse(`different ${differentFlags} flags`);
  const pragma = directiveBetween(doc, left, right);
  if (pragma) return refuse(`the comment \`${pragma}\` above this RUN is meant for it alone`);
  if (left.background) return refuse(`the RUN above may leave a process running (${left.background}), which would keep running into this one`);
  if (left.hidingComment) return refuse('a shell comment in the RUN above hides the lines after it, so nothing can be chained after it');
  if (!left.simpleEnd) return refuse('the end of the RUN above is laid out in a way this transform does not rewrite');

  const leak = left.stateChange ?? leakingVariable(left, shell, laterScripts);
  const leftWrap: Wrap = leak ? 'subshell' : leftFollowsAnother && left.needsGroup ? 'group' : 'none';
  const errexit = shell.errexit ? '-e in SHELL' : left.errexit;
  if (errexit) {
    // Inside a non-final && operand the shell ignores errexit: only what the
    // statements' exit statuses already express survives the merge.
    const inOperand = leftWrap === 'none' ? left.statements.slice(-1) : left.statements;
    if (left.mayCallFunctions || !statusesSayItAll(inOperand)) {
      return refuse(`errexit (${errexit}) is on in the RUN above, and the shell ignores it inside an && chain`);
    }
  }
  return { merge: true, leftWrap };
}

function flagDifference(left: readonly string[], right: readonly string[]): string | undefined {
  if (left.join('\0') === right.join('\0')) return undefined;
  const names = new Set<string>();
  const unmatched = (ours: readonly string[], theirs: readonly string[]) => {
    const remaining = [...theirs];
    for (const flag of ours) {
      const at = remaining.indexOf(flag);
      if (at >= 0) remaining.splice(at, 1);
      else names.add(flagName(flag));
    }
  };
  unmatched(left, right);
  unmatched(right, left);
  return [...names].sort().join(', ');
}

function flagName(flag: string): string {
  return /^--[^=\s]*/.exec(flag)?.[0] ?? flag;
}

/** Comments that tools read as a directive for the instruction below them must not end up inside another one. */
const DIRECTIVE_COMMENT = /^[ \t]*#[ \t]*(hadolint|dockopt-ignore|checkov|trivy|kics|tfsec|nosec|nosemgrep|snyk)\b.*$/i;

function directiveBetween(doc: DockerfileDocument, left: RunFacts, right: RunFacts): string | undefined {
  for (const line of gapLines(doc, left, right)) {
    const match = DIRECTIVE_COMMENT.exec(doc.text.slice(line.start, line.contentEnd));
    if (match) return match[0].trim();
  }
  return undefined;
}

function leakingVariable(left: RunFacts, shell: StageShell, laterScripts: () => readonly string[]): string | undefined {
  let later: readonly string[] | undefined;
  for (const name of left.variableWrites) {
    // Names that may be special to some shell (PATH, IFS, zsh's `path`...) or
    // exported by `set -a` matter even when nothing reads them by name.
    const harmlessIfUnread = /^[a-z_][a-z0-9_]*$/.test(name) && !shell.allexport && shell.name !== 'zsh';
    if (!harmlessIfUnread || (later ??= laterScripts()).some((text) => mayRead(text, name))) return `sets $${name}`;
  }
  return undefined;
}

function mayRead(text: string, name: string): boolean {
  if (new RegExp(`(^|[^A-Za-z0-9_])${escapeRegExp(name)}([^A-Za-z0-9_]|$)`).test(text)) return true;
  // Indirect reads: eval, ${!ref}, and sourced scripts.
  return /\beval\b|\$\{!|(^|[\s;&|(])(\.|source)[ \t]/.test(text);
}

// ---- the edits ----------------------------------------------------------------------

function mergeChain(doc: DockerfileDocument, style: JoinStyle, chain: readonly RunFacts[], wraps: readonly Wrap[]): Finding {
  const edits: Edit[] = [];
  const { eol, escape } = doc;
  const first = chain[0];
  if (wraps[0] !== 'none') edits.push(Edit.insert(first.script.start, OPEN[wraps[0]]));
  for (let index = 0; index + 1 < chain.length; index++) {
    const left = chain[index];
    const right = chain[index + 1];
    const wrap = wraps[index];
    const close = closing(left, wrap);
    const keepEnd = keptEnd(left, wrap);
    const lineBreak = style.leading ? ` ${escape}` : ` && ${escape}`;
    if (left.comment) {
      // `RUN a # note` becomes `RUN a \`, `    # note` (a Dockerfile comment line BuildKit skips), then the next command.
      edits.push(Edit.replace(keepEnd, left.comment.start, `${close}${lineBreak}${eol}${style.indent}`));
    } else {
      edits.push(Edit.replace(keepEnd, doc.lineEnd(left.script.end), `${close}${lineBreak}`));
    }
    for (const line of gapLines(doc, left, right)) {
      const text = doc.text.slice(line.start, line.contentEnd);
      const indentation = /^[ \t]*/.exec(text)![0];
      // Empty continuation lines are deprecated; comment lines stay, indented like the commands around them.
      if (indentation.length === text.length) edits.push(Edit.remove(line.start, line.next));
      else if (indentation !== style.indent) edits.push(Edit.replace(line.start, line.start + indentation.length, style.indent));
    }
    // `RUN --flags` goes (the flags equal the left RUN's); comment lines between it and the command stay.
    const commandLine = doc.positionAt(right.script.start).line;
    for (let line = doc.positionAt(right.instruction.start).line; line < commandLine; line++) {
      const start = doc.offsetAt({ line, character: 0 });
      const text = doc.text.slice(start, doc.lineEnd(start));
      const indentation = /^[ \t]*/.exec(text)![0];
      if (!text.startsWith('#', indentation.length)) edits.push(Edit.remove(start, doc.offsetAt({ line: line + 1, character: 0 })));
      else if (indentation !== style.indent) edits.push(Edit.replace(start, start + indentation.length, style.indent));
    }
    const prefix = style.leading ? '&& ' : '';
    edits.push(Edit.replace(doc.offsetAt({ line: commandLine, character: 0 }), right.script.start, `${style.indent}${prefix}${OPEN[wraps[index + 1]]}`));
  }
  const last = chain[chain.length - 1];
  const lastWrap = wraps[wraps.length - 1];
  if (lastWrap !== 'none') edits.push(Edit.insert(keptEnd(last, lastWrap), closing(last, lastWrap)));
  return {
    offset: first.instruction.start,
    message: `${chain.length} adjacent RUN instructions each add a layer; merge them into one`,
    edits: coalesce(doc.text, edits),
  };
}

const OPEN: Record<Wrap, string> = { none: '', group: '{ ', subshell: '( ' };

/** Dockerfile offset after the last character of the RUN that stays: a wrapped RUN keeps its trailing `;` inside the wrapper. */
function keptEnd(run: RunFacts, wrap: Wrap): number {
  return wrap !== 'none' && run.terminatorEnd !== undefined ? run.terminatorEnd : run.bodyEnd;
}

function closing(run: RunFacts, wrap: Wrap): string {
  if (wrap === 'none') return '';
  const separator = run.terminatorEnd !== undefined ? ' ' : wrap === 'group' ? '; ' : ' ';
  return `${separator}${wrap === 'group' ? '}' : ')'}`;
}

/** Edits that touch are joined into one, so two inserts at one offset never collide. */
function coalesce(text: string, edits: readonly Edit[]): Edit[] {
  const sorted = [...edits].sort((a, b) => a.start - b.start || a.end - b.end);
  const joined: Edit[] = [];
  for (const edit of sorted) {
    const previous = joined[joined.length - 1];
    if (previous && edit.start <= previous.end) {
      joined[joined.length - 1] = Edit.replace(previous.start, Math.max(previous.end, edit.end), previous.text + text.slice(previous.end, Math.max(previous.end, edit.start)) + edit.text);
    } else {
      joined.push(edit);
    }
  }
  return joined;
}

interface GapLine {
  readonly start: number;
  readonly contentEnd: number;
  readonly next: number;
}

/** The physical lines between the left RUN's last line and the right RUN's first line (blank or comment lines). */
function gapLines(doc: DockerfileDocument, left: RunFacts, right: RunFacts): GapLine[] {
  const lines: GapLine[] = [];
  const lastLeftLine = doc.positionAt(left.script.end).line;
  const rightLine = doc.positionAt(right.instruction.start).line;
  for (let line = lastLeftLine + 1; line < rightLine; line++) {
    const start = doc.offsetAt({ line, character: 0 });
    lines.push({ start, contentEnd: doc.lineEnd(start), next: doc.offsetAt({ line: line + 1, character: 0 }) });
  }
  return lines;
}

// ---- the file's continuation style ---------------------------------------------------------

interface JoinStyle {
  /** `RUN a \` + `    && b` (true) or `RUN a && \` + `    b` (false). */
  readonly leading: boolean;
  readonly indent: string;
}

const DEFAULT_INDENT = '    ';

function joinStyle(doc: DockerfileDocument): JoinStyle {
  const endsWithAnd = new RegExp(`&&[ \\t]*${escapeRegExp(doc.escape)}[ \\t]*$`);
  const leadingIndents: string[] = [];
  const trailingIndents: string[] = [];
  const otherIndents: string[] = [];
  for (const instruction of doc.instructions) {
    if (instruction.keyword !== 'RUN' || !shellScript(doc, instruction)) continue;
    const firstLine = doc.positionAt(instruction.start).line;
    const lastLine = doc.positionAt(instruction.end).line;
    let previousEndsWithAnd = false;
    for (let line = firstLine; line <= lastLine; line++) {
      const start = doc.offsetAt({ line, character: 0 });
      const text = doc.text.slice(start, doc.lineEnd(start));
      if (line > firstLine) {
        if (/^[ \t]*(#.*)?$/.test(text)) continue;
        const indent = /^[ \t]*/.exec(text)![0];
        if (/^[ \t]*&&/.test(text)) leadingIndents.push(indent);
        else if (previousEndsWithAnd) trailingIndents.push(indent);
        else otherIndents.push(indent);
      }
      previousEndsWithAnd = endsWithAnd.test(text);
    }
  }
  const leading = leadingIndents.length >= trailingIndents.length;
  const indent = mostCommon(leading ? leadingIndents : trailingIndents) ?? mostCommon([...leadingIndents, ...trailingIndents, ...otherIndents]);
  return { leading, indent: indent ?? DEFAULT_INDENT };
}

function mostCommon(values: readonly string[]): string | undefined {
  const counts = new Map<string, number>();
  for (const value of values) counts.set(value, (counts.get(value) ?? 0) + 1);
  let best: string | undefined;
  for (const [value, count] of counts) if (best === undefined || count > counts.get(best)!) best = value;
  return best;
}

// ---- the shell of each stage ----------------------------------------------------------------

interface StageShell {
  readonly name: string;
  readonly posix: boolean;
  /** Why RUNs of this stage are not merged, when not posix. */
  readonly description: string;
  readonly errexit: boolean;
  readonly allexport: boolean;
}

const DEFAULT_SHELL: StageShell = { name: 'sh', posix: true, description: '', errexit: false, allexport: false };
const WINDOWS_SHELL: StageShell = {
  name: 'cmd',
  posix: false,
  description: 'the base image looks like Windows, where RUN uses cmd, not a POSIX shell',
  errexit: false,
  allexport: false,
};
const POSIX_SHELLS = new Set(['sh', 'bash', 'dash', 'ash', 'zsh', 'ksh', 'mksh', 'ksh93']);

/** The shell each instruction runs with: SHELL instructions, inherited through `FROM <earlier stage>`. */
function shellsInEffect(doc: DockerfileDocument): Map<InstructionInfo, StageShell> {
  const shells = new Map<InstructionInfo, StageShell>();
  const finalShellOfStage: StageShell[] = [];
  let current = DEFAULT_SHELL;
  for (const instruction of doc.instructions) {
    if (instruction.keyword === 'FROM') {
      current = baseShell(doc, instruction, finalShellOfStage);
    } else if (instruction.keyword === 'SHELL') {
      current = parseShellInstruction(instruction);
    }
    shells.set(instruction, current);
    if (instruction.stage >= 0) finalShellOfStage[instruction.stage] = current;
  }
  return shells;
}

function baseShell(doc: DockerfileDocument, from: InstructionInfo, earlier: readonly StageShell[]): StageShell {
  const image = from.node.getArguments()[0]?.getValue() ?? '';
  const stage = doc.stages.findIndex((candidate) => candidate.index < from.stage && (candidate.name === image.toLowerCase() || String(candidate.index) === image));
  if (stage >= 0) return earlier[stage] ?? DEFAULT_SHELL;
  const platform = flagsOf(doc, from).find((flag) => flag.startsWith('--platform=')) ?? '';
  if (/windows|servercore|nanoserver/i.test(`${platform} ${image}`)) return WINDOWS_SHELL;
  return DEFAULT_SHELL;
}

function parseShellInstruction(instruction: InstructionInfo): StageShell {
  const content = instruction.node.getArgumentsContent() ?? '';
  let argv: unknown;
  try {
    argv = JSON.parse(content);
  } catch {
    argv = undefined;
  }
  if (!Array.isArray(argv) || argv.length === 0 || !argv.every((item): item is string => typeof item === 'string')) {
    return { ...DEFAULT_SHELL, name: content, posix: false, description: 'the stage\'s SHELL is not a JSON array this transform understands' };
  }
  const executable = argv[0].split(/[\\/]/).pop()!.replace(/\.exe$/i, '').toLowerCase();
  const name = executable === 'busybox' && POSIX_SHELLS.has(argv[1] ?? '') ? argv[1] : executable;
  if (!POSIX_SHELLS.has(name)) {
    return { ...DEFAULT_SHELL, name, posix: false, description: `the stage's SHELL (${argv[0]}) is not a POSIX shell` };
  }
  let errexit = false;
  let allexport = false;
  for (let index = 1; index < argv.length; index++) {
    const argument = argv[index];
    const option = argv[index - 1] === '-o' || argv[index - 1] === '+o' ? argument : undefined;
    if (option !== undefined) {
      if (option === 'errexit') errexit = argv[index - 1] === '-o';
      if (option === 'allexport') allexport = argv[index - 1] === '-o';
    } else if (/^-[A-Za-z]+$/.test(argument)) {
      if (argument.includes('e')) errexit = true;
      if (argument.includes('a')) allexport = true;
    }
  }
  return { name, posix: true, description: '', errexit, allexport };
}

function flagsOf(doc: DockerfileDocument, instruction: InstructionInfo): string[] {
  const node = instruction.node as Partial<ModifiableInstruction>;
  if (typeof node.getFlags !== 'function') return [];
  return node.getFlags().map((flag) => {
    const span = doc.span(flag.getRange());
    return doc.text.slice(span.start, span.end);
  });
}

// ---- what a RUN's script does -------------------------------------------------------------------

interface Unsupported {
  /** Why the RUN cannot be merged, phrased for `subject` ("the RUN above", "this RUN"). */
  readonly unsupported: (subject: string) => string;
}

interface RunFacts {
  readonly instruction: InstructionInfo;
  readonly script: ShellScript;
  /** The flags (--mount=..., --network=...), sorted. */
  readonly flags: readonly string[];
  /** The top-level statements, without comments. */
  readonly statements: readonly StatementFacts[];
  /** Dockerfile offset just after the last statement. */
  readonly bodyEnd: number;
  /** Dockerfile offset just after a trailing `;` or `&`, if there is one. */
  readonly terminatorEnd?: number;
  /** A trailing shell comment that starts on the RUN's last line. */
  readonly comment?: { readonly start: number };
  /** A shell comment that swallows continuation lines after it. */
  readonly hidingComment: boolean;
  /** Whether the end of the RUN (statement, terminator, comment) sits on its last line, where the join is edited. */
  readonly simpleEnd: boolean;
  /** Whether the script would not stay one && operand (top-level `;`, `||`, `&`). */
  readonly needsGroup: boolean;
  /** Why the RUN changes shell state for later commands, if it does. */
  readonly stateChange?: string;
  /** Variables it sets without declaring them (loop variables, arithmetic, `${x:=}`); harmful only when read later. */
  readonly variableWrites: ReadonlySet<string>;
  /** What may keep running after the RUN ends. */
  readonly background?: string;
  /** How the script turns on errexit (or an ERR trap), if it does. */
  readonly errexit?: string;
  /** Whether any command may be a function (defined, sourced or eval'd here), whose body errexit would govern. */
  readonly mayCallFunctions: boolean;
}

/** What errexit needs to know about a statement, computed while the tree is alive. */
interface StatementFacts {
  /** It cannot fail (set, export, :, assignments without command substitution). */
  readonly infallible: boolean;
  /** Its exit status alone says whether errexit would have stopped the shell inside it. */
  readonly statusSaysItAll: boolean;
}

function statusesSayItAll(statements: readonly StatementFacts[]): boolean {
  return statements.length > 0 && statements.slice(0, -1).every((statement) => statement.infallible) && statements[statements.length - 1].statusSaysItAll;
}

function analyzeRun(doc: DockerfileDocument, instruction: InstructionInfo): RunFacts | Unsupported {
  if (hasHeredoc(instruction)) return { unsupported: (subject) => `${subject} uses a heredoc` };
  const script = shellScript(doc, instruction);
  if (!script) {
    const content = instruction.node.getArgumentsContent() ?? '';
    if (isExecForm(content)) return { unsupported: (subject) => `${subject} is in exec form (JSON), which runs without a shell` };
    return { unsupported: (subject) => `${subject} has no command` };
  }
  const tree = parseShell(script.script);
  try {
    const root = tree.rootNode;
    if (root.hasError) return { unsupported: (subject) => `${subject} does not parse as shell` };
    const children = root.children.filter((child): child is ShellNode => child !== null);
    const statements = children.filter((child) => child.isNamed && child.type !== 'comment');
    if (statements.length === 0) return { unsupported: (subject) => `${subject} has no command` };
    const lastStatement = statements[statements.length - 1];
    const lastIndex = children.indexOf(lastStatement);
    const terminator = children[lastIndex + 1] && (children[lastIndex + 1].type === ';' || children[lastIndex + 1].type === '&') ? children[lastIndex + 1] : undefined;
    const comments = descendants(root).filter((node) => node.type === 'comment');
    if (comments.some((comment) => parentOf(comment)?.type !== 'program')) {
      return { unsupported: (subject) => `${subject} has a shell comment this transform does not understand` };
    }
    const end = (index: number) => script.sourceOffsets[index - 1] + 1;
    const bodyEnd = end(lastStatement.endIndex);
    const terminatorEnd = terminator ? end(terminator.endIndex) : undefined;
    const commentStart = comments.length > 0 ? sourceOffset(script, comments[0].startIndex) : undefined;
    const lastLine = doc.lineOf(script.end);
    const hidingComment = commentStart !== undefined && doc.lineOf(commentStart) !== lastLine;
    const simpleEnd = doc.lineOf(bodyEnd) === lastLine && (terminatorEnd === undefined || doc.lineOf(terminatorEnd) === lastLine);

    const state = new StateScan();
    for (const statement of statements) state.visit(statement);
    const facts: RunFacts = {
      instruction,
      script,
      flags: flagsOf(doc, instruction).sort(),
      statements: statements.map((statement) => ({ infallible: isInfallible(statement), statusSaysItAll: statusSaysItAll(statement) })),
      bodyEnd,
      terminatorEnd,
      comment: commentStart !== undefined && !hidingComment ? { start: commentStart } : undefined,
      hidingComment,
      simpleEnd,
      needsGroup: statements.length > 1 || terminator?.type === '&' || hasTopLevelOr(statements[0]),
      stateChange: state.reason,
      variableWrites: state.variables,
      background: backgroundJob(root),
      errexit: errexitSource(root),
      mayCallFunctions: mayCallFunctions(root),
    };
    return facts;
  } finally {
    tree.delete();
  }
}

/** Every node from root down, depth first in source order; a stack, not recursion, as `a && b && …` nests one level per operand. */
function descendants(root: ShellNode): ShellNode[] {
  const found: ShellNode[] = [];
  const stack: ShellNode[] = [root];
  while (stack.length > 0) {
    const node = stack.pop()!;
    found.push(node);
    const children = node.children;
    for (let index = children.length - 1; index >= 0; index--) if (children[index]) stack.push(children[index]!);
  }
  return found;
}

/** The operands of a list, nested lists flattened in order (iteratively, for long chains). */
function listOperands(list: ShellNode): ShellNode[] {
  const operands: ShellNode[] = [];
  const stack: ShellNode[] = [list];
  while (stack.length > 0) {
    const node = stack.pop()!;
    if (node.type !== 'list') {
      operands.push(node);
      continue;
    }
    const children = namedChildren(node);
    for (let index = children.length - 1; index >= 0; index--) stack.push(children[index]);
  }
  return operands;
}

function namedChildren(node: ShellNode): ShellNode[] {
  return node.namedChildren.filter((child): child is ShellNode => child !== null);
}

/** `a || b` after `X &&` would read `(X && a) || b`: any `||` at the top of the statement needs a group. */
function hasTopLevelOr(statement: ShellNode): boolean {
  const stack = [statement];
  while (stack.length > 0) {
    const node = stack.pop()!;
    if (node.type !== 'list' && node.type !== 'redirected_statement') continue;
    for (const child of node.children) {
      if (child === null) continue;
      if (child.type === '||') return true;
      stack.push(child);
    }
  }
  return false;
}

/** The literal text of a word, or undefined when it depends on expansions. */
function literal(node: ShellNode): string | undefined {
  if (node.type === 'word') return /[$`\\]/.test(node.text) ? undefined : node.text;
  if (node.type === 'raw_string') return node.text.slice(1, -1);
  if (node.type === 'string') {
    const inner = node.text.slice(1, -1);
    return /[$`\\]/.test(inner) ? undefined : inner;
  }
  return undefined;
}

/** Builtins that change the state of the shell that runs them, for the commands after them. */
const STATE_COMMANDS: Readonly<Record<string, string>> = {
  cd: 'changes the working directory',
  chdir: 'changes the working directory',
  pushd: 'changes the working directory',
  popd: 'changes the working directory',
  export: 'exports a variable',
  declare: 'declares a variable',
  typeset: 'declares a variable',
  local: 'declares a variable',
  readonly: 'declares a variable',
  unset: 'unsets a variable',
  set: 'changes shell options',
  shopt: 'changes shell options',
  setopt: 'changes shell options',
  unsetopt: 'changes shell options',
  emulate: 'changes shell options',
  umask: 'changes the umask',
  ulimit: 'changes resource limits',
  source: 'sources a script into the shell',
  '.': 'sources a script into the shell',
  eval: 'evaluates code in the shell',
  alias: 'defines an alias',
  unalias: 'removes an alias',
  exec: 'replaces the shell or its file descriptors',
  exit: 'exits the shell',
  logout: 'exits the shell',
  return: 'returns from the shell',
  trap: 'sets a trap',
  read: 'reads into a variable',
  mapfile: 'reads into a variable',
  readarray: 'reads into a variable',
  getopts: 'sets a variable',
  let: 'sets a variable',
  shift: 'shifts the positional parameters',
  enable: 'enables or disables builtins',
  hash: 'changes the command hash table',
  newgrp: 'replaces the shell',
};

/** POSIX special builtins: `A=1 :` keeps A in the shell. */
const SPECIAL_BUILTINS = new Set(['break', ':', 'continue', '.', 'eval', 'exec', 'exit', 'export', 'readonly', 'return', 'set', 'shift', 'times', 'trap', 'unset']);

/**
 * Walks the parts of a script that run in the shell itself (not in ( ),
 * $( ), backticks or non-last pipeline elements, which are subshells) and
 * records what would outlive the script's own commands.
 */
class StateScan {
  reason?: string;
  readonly variables = new Set<string>();

  /** Visits node and what runs below it, depth first in source order (a stack: chains nest one level per operand). */
  visit(root: ShellNode): void {
    const stack: { node: ShellNode; inArithmetic: boolean }[] = [{ node: root, inArithmetic: false }];
    while (stack.length > 0) {
      const { node, inArithmetic } = stack.pop()!;
      const children = this.visitOne(node, inArithmetic);
      if (children === undefined) continue;
      for (let index = children.nodes.length - 1; index >= 0; index--) if (children.nodes[index]) stack.push({ node: children.nodes[index]!, inArithmetic: children.arithmetic });
    }
  }

  /** Records what node does; returns the children to visit next, if any. */
  private visitOne(node: ShellNode, inArithmetic: boolean): { nodes: readonly (ShellNode | null)[]; arithmetic: boolean } | undefined {
    const arithmetic = inArithmetic || node.type === 'arithmetic_expansion' || node.type === 'c_style_for_statement' || isArithmetic(node);
    switch (node.type) {
      case 'subshell':
      case 'command_substitution':
      case 'process_substitution':
        return undefined;
      case 'pipeline': {
        // bash and dash run every element in a subshell; zsh and ksh run the last one in the shell.
        const elements = namedChildren(node);
        const last = elements[elements.length - 1];
        return last ? { nodes: [last], arithmetic: inArithmetic } : undefined;
      }
      case 'function_definition':
        this.note(`defines the function ${node.childForFieldName('name')?.text ?? ''}`.trimEnd());
        return undefined;
      case 'declaration_command':
        this.note(`runs \`${node.firstChild?.text ?? 'declare'}\`, which ${STATE_COMMANDS[node.firstChild?.text ?? 'declare'] ?? 'declares a variable'}`);
        break;
      case 'unset_command':
        this.note(`runs \`${node.firstChild?.text ?? 'unset'}\`, which unsets a variable`);
        break;
      case 'variable_assignment':
        this.assignment(node);
        break;
      case 'command':
        this.command(node);
        break;
      case 'for_statement': {
        const variable = node.childForFieldName('variable');
        if (variable) this.variables.add(variable.text);
        break;
      }
      case 'expansion':
        if (node.children.some((child) => child !== null && (child.type === '=' || child.type === ':='))) this.writes(node);
        break;
      case 'binary_expression':
      case 'postfix_expression':
      case 'unary_expression':
        // Only in arithmetic: in `[ "$a" = b ]` the `=` compares.
        if (arithmetic && node.children.some((child) => child !== null && ASSIGNING_OPERATORS.has(child.type))) this.writes(node);
        break;
    }
    return { nodes: node.children, arithmetic };
  }

  private note(reason: string): void {
    this.reason ??= reason;
  }

  private writes(node: ShellNode): void {
    const name = node.descendantsOfType(['variable_name', 'word'])[0]?.text;
    if (name && /^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) this.variables.add(name);
    else this.note('assigns a variable in an expansion');
  }

  private assignment(node: ShellNode): void {
    const direct = parentOf(node);
    const parent = direct?.type === 'variable_assignments' ? parentOf(direct) : direct;
    if (parent?.type === 'command' || parent?.type === 'declaration_command') return;
    if (parent?.type === 'c_style_for_statement') {
      this.writes(node);
      return;
    }
    this.note(`assigns ${node.childForFieldName('name')?.text ?? 'a variable'} in the shell`);
  }

  private command(node: ShellNode): void {
    const nameNode = node.childForFieldName('name');
    if (!nameNode) return;
    let name = commandName(node);
    const args = commandArguments(node);
    if (name === undefined) {
      if (!namesAProgram(nameNode)) this.note(`runs \`${nameNode.text}\`, a command chosen at run time`);
      return;
    }
    if (name === 'command' || name === 'builtin') {
      const target = args.find((arg) => !arg.text.startsWith('-'));
      name = target ? literal(target) : undefined;
      if (name === undefined) {
        if (target) this.note(`runs \`${target.text}\`, a command chosen at run time`);
        return;
      }
    }
    if (name in STATE_COMMANDS) {
      this.note(`runs \`${name}\`, which ${STATE_COMMANDS[name]}`);
    } else if (name === 'printf' && args.some((arg) => arg.text === '-v')) {
      this.note('runs `printf -v`, which sets a variable');
    } else if (SPECIAL_BUILTINS.has(name) && node.children.some((child) => child?.type === 'variable_assignment')) {
      this.note(`assigns a variable for the special builtin \`${name}\`, which keeps it in the shell`);
    }
  }
}

/** A name with a literal `/` (`$JAVA_HOME/bin/java`) can only run a program; any other run-time name might expand to a builtin such as cd, or to a function. */
function namesAProgram(commandNameNode: ShellNode): boolean {
  return commandNameNode.descendantsOfType('word').some((word) => word !== null && word.text.includes('/'));
}

const ASSIGNING_OPERATORS = new Set(['=', '+=', '-=', '*=', '/=', '%=', '**=', '<<=', '>>=', '&=', '^=', '|=', '++', '--']);

const DAEMON_STARTERS = new Set(['coproc', 'nohup', 'setsid', 'disown', 'daemonize', 'start-stop-daemon']);
const SERVICE_ACTIONS = new Set(['start', 'restart', 'reload', 'force-reload', 'try-restart']);

/** Anything that may still run when the script's last command returns. */
function backgroundJob(root: ShellNode): string | undefined {
  for (const node of descendants(root)) {
    if (node.type === '&') return 'a background job with `&`';
    if (node.type !== 'command') continue;
    const name = commandName(node);
    if (name === undefined) continue;
    if (DAEMON_STARTERS.has(name)) return `\`${name}\``;
    const startsService = /^(service|rc-service|invoke-rc\.d|\/etc\/init\.d\/.+|.*ctl)$/.test(name);
    if (startsService && commandArguments(node).some((arg) => SERVICE_ACTIONS.has(literal(arg) ?? ''))) return `\`${name}\` starting a service`;
  }
  return undefined;
}

/** How the script may turn on errexit anywhere in it (subshells included), or an ERR trap that acts like it. */
function errexitSource(root: ShellNode): string | undefined {
  for (const node of descendants(root)) {
    if (node.type !== 'command') continue;
    const name = commandName(node);
    const args = commandArguments(node).map(literal);
    if (name === 'set') {
      for (const arg of args) {
        if (arg === undefined) return '`set` with options known only at run time';
        if (arg === '--' || arg === '-') break;
        if (/^-[A-Za-z]*e/.test(arg) || arg === 'errexit') return '`set -e`';
      }
    } else if (name === 'shopt' || name === 'setopt' || name === 'unsetopt') {
      if (args.some((arg) => arg === undefined || /err_?exit|err_?return/i.test(arg))) return `\`${name}\` errexit`;
    } else if (name === 'trap') {
      if (args.some((arg) => arg === undefined || /^(SIG)?ERR$/i.test(arg))) return 'an ERR trap';
    }
  }
  return undefined;
}

function mayCallFunctions(root: ShellNode): boolean {
  return descendants(root).some((node) => {
    if (node.type === 'function_definition') return true;
    if (node.type !== 'command') return false;
    const name = commandName(node);
    if (name === undefined) return !namesAProgram(node.childForFieldName('name') ?? node);
    return name === 'source' || name === '.' || name === 'eval';
  });
}

/** Commands whose exit status is always 0 (or whose failure ends the shell anyway, like a bad `set` option). */
const INFALLIBLE_COMMANDS = new Set([':', 'true', 'set', 'trap']);

function isInfallible(statement: ShellNode): boolean {
  if (hasCommandSubstitution(statement)) return false;
  switch (statement.type) {
    case 'variable_assignment':
    case 'variable_assignments':
      return true;
    case 'declaration_command':
      // `local` outside a function is an error.
      return statement.firstChild?.type !== 'local';
    case 'command': {
      const name = commandName(statement);
      return name !== undefined && INFALLIBLE_COMMANDS.has(name);
    }
    default:
      return false;
  }
}

function hasCommandSubstitution(node: ShellNode): boolean {
  return node.descendantsOfType(['command_substitution', 'process_substitution']).length > 0;
}

/**
 * Whether running the statement with errexit ignored (as a non-final &&
 * operand) ends with the same outcome as with errexit honoured: true for
 * commands, pipelines and and-or lists of them, whose failure already shows in
 * their status; false for loops and for sequences of fallible statements.
 */
function statusSaysItAll(statement: ShellNode): boolean {
  switch (statement.type) {
    case 'command':
    case 'test_command':
    case 'variable_assignment':
    case 'variable_assignments':
    case 'declaration_command':
    case 'unset_command':
      return substitutionsSayItAll(statement);
    case 'list':
      return listOperands(statement).every(statusSaysItAll);
    case 'pipeline':
    case 'negated_command':
      return namedChildren(statement).every(statusSaysItAll);
    case 'redirected_statement': {
      const body = statement.childForFieldName('body') ?? namedChildren(statement)[0];
      const redirects = namedChildren(statement).filter((child) => child !== body);
      return body !== undefined && statusSaysItAll(body) && redirects.every(substitutionsSayItAll);
    }
    case 'subshell':
    case 'compound_statement':
      return isArithmetic(statement) || sequenceSaysItAll(namedChildren(statement));
    case 'if_statement':
    case 'elif_clause':
    case 'else_clause':
    case 'case_statement':
    case 'case_item':
      return branchesSayItAll(statement);
    default:
      return false;
  }
}

function isArithmetic(statement: ShellNode): boolean {
  return statement.firstChild?.type === '((';
}

function sequenceSaysItAll(statements: readonly ShellNode[]): boolean {
  const code = statements.filter((statement) => statement.type !== 'comment');
  return code.length > 0 && code.slice(0, -1).every(isInfallible) && statusSaysItAll(code[code.length - 1]);
}

/**
 * An if or case runs one branch; that branch's statements must say it all.
 * Conditions and patterns are exempt: errexit is ignored in conditions either way.
 */
function branchesSayItAll(node: ShellNode): boolean {
  const children = node.children.filter((child): child is ShellNode => child !== null);
  if (node.type === 'case_statement') return children.filter((child) => child.type === 'case_item').every(branchesSayItAll);
  const bodyStartsAfter = node.type === 'case_item' ? ')' : node.type === 'else_clause' ? 'else' : 'then';
  const bodyStart = children.findIndex((child) => child.type === bodyStartsAfter);
  const body = children.slice(bodyStart + 1).filter((child) => child.isNamed && !['elif_clause', 'else_clause'].includes(child.type));
  const nested = children.filter((child) => child.type === 'elif_clause' || child.type === 'else_clause');
  return bodyStart >= 0 && sequenceSaysItAll(body) && nested.every(branchesSayItAll);
}

function substitutionsSayItAll(node: ShellNode): boolean {
  return node.descendantsOfType(['command_substitution', 'process_substitution']).every((substitution) => substitution !== null && sequenceSaysItAll(namedChildren(substitution)));
}
