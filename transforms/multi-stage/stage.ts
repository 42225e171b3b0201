// A single-stage Dockerfile read the way the multi-stage split needs it: which
// instructions build and which only describe the image, every command of every
// RUN with the directory and environment it runs in, where COPY puts files,
// and what the container runs. Values are evaluated only when they are fixed
// by the Dockerfile itself (ENV, literal words); ARG values can be overridden
// at build time, so they count as unknown.
import path from 'node:path';
import type { DockerfileDocument, InstructionInfo, Range, Stage } from '../../src/dockerfile/document.js';
import { expandVariables, globalArgDefaults, propertiesOf } from '../../src/image/base-image.js';
import { commandArguments, commandName, descendantsOfType, hasHeredoc, isExecForm, parseShell, shellScript, visitDescendants, type NodeSpan, type ShellNode } from '../../src/shell/script.js';
import { baseRef, type BaseRef } from './images.js';

const posix = path.posix;

/** Instructions that only describe the image; a run of them at the end of the stage moves to the runtime stage as it is. */
const DESCRIPTIVE = new Set(['ARG', 'ENV', 'EXPOSE', 'WORKDIR', 'LABEL', 'HEALTHCHECK', 'USER', 'CMD', 'ENTRYPOINT', 'STOPSIGNAL', 'VOLUME', 'ONBUILD', 'MAINTAINER', 'SHELL']);

/** Descriptive instructions that do not affect later build steps, so they can move out of the middle of the build. */
export const MOVABLE = new Set(['EXPOSE', 'LABEL', 'HEALTHCHECK', 'CMD', 'ENTRYPOINT', 'STOPSIGNAL', 'VOLUME', 'ONBUILD', 'MAINTAINER']);

/** Variables as the Dockerfile fixes them: a string, or undefined when set but not known (ARG, or an unresolvable ENV). */
export type Environment = ReadonlyMap<string, string | undefined>;

export interface ShellCommand {
  readonly instruction: InstructionInfo;
  /** The command as written, for messages. */
  readonly text: string;
  /** The program as written (`./mvnw`, `/usr/local/bin/pip`), undefined when it is computed. */
  readonly name?: string;
  /** The program's file name (`pip` for `/usr/local/bin/pip`). */
  readonly program?: string;
  /** Argument values; undefined where an argument is computed at build time. */
  readonly args: readonly (string | undefined)[];
  /** Arguments as written, for telling which option a computed value belongs to. */
  readonly rawArgs: readonly string[];
  /** Absolute working directory, undefined when it cannot be told. */
  readonly cwd?: string;
  /** Variables the program sees (ENV, ARG, exports and `NAME=value` prefixes). */
  readonly env: Environment;
}

export interface RunInfo {
  readonly instruction: InstructionInfo;
  readonly commands: readonly ShellCommand[];
  /** Files the RUN writes through `>`/`>>` redirections; undefined entries are computed paths. */
  readonly writes: readonly (string | undefined)[];
  /** Why the RUN cannot be read (heredoc, shell that does not parse), if so. */
  readonly opaque?: string;
}

export interface CopyInfo {
  readonly instruction: InstructionInfo;
  /** The --from stage or image, if any. */
  readonly from?: string;
  readonly sources: readonly string[];
  /** Absolute destination, undefined when it cannot be told. */
  readonly destination?: string;
  /** Sources land inside the destination (it ends with `/`, or there are several sources or a wildcard). */
  readonly intoDirectory: boolean;
  /** Why the copy cannot be followed (heredoc, remote ADD), if so. */
  readonly opaque?: string;
}

export interface EntryPoint {
  /** The instruction that decides what runs: the last ENTRYPOINT, else the last CMD. */
  readonly instruction: InstructionInfo;
  /** The program and its arguments; undefined when a shell-form command is more than one static command. */
  readonly argv?: readonly string[];
  /** The container starts /bin/sh (shell-form ENTRYPOINT, or shell-form CMD without ENTRYPOINT). */
  readonly shellForm: boolean;
}

export interface HealthCheck {
  readonly instruction: InstructionInfo;
  /** The programs the check runs (`curl` in `curl -f … || exit 1`); undefined when one of them is computed. */
  readonly programs?: readonly string[];
  readonly shellForm: boolean;
  readonly none: boolean;
}

export interface StageModel {
  readonly doc: DockerfileDocument;
  readonly stage: Stage;
  readonly base?: BaseRef;
  /** Why the base image cannot be read (a variable without default), if so. */
  readonly baseProblem?: string;
  /** Instructions after FROM up to the descriptive run at the end. */
  readonly body: readonly InstructionInfo[];
  /** The descriptive instructions at the end, which stay in place and so end up in the runtime stage. */
  readonly tail: readonly InstructionInfo[];
  readonly runs: readonly RunInfo[];
  readonly commands: readonly ShellCommand[];
  readonly copies: readonly CopyInfo[];
  /** Working directory after the body (undefined when it cannot be told); `/` when none is set. */
  readonly workdir?: string;
  /** Working directory the container starts in (tail WORKDIRs included). */
  readonly finalWorkdir?: string;
  /** Environment after the body. */
  readonly env: Environment;
  /** Environment the container starts with (tail ENVs included). */
  readonly finalEnv: Environment;
  readonly entry?: EntryPoint;
  readonly healthcheck?: HealthCheck;
  /** USER instructions anywhere in the stage. */
  readonly users: readonly InstructionInfo[];
}

export function readStage(doc: DockerfileDocument, stage: Stage): StageModel {
  const instructions = stage.instructions;
  let split = instructions.length;
  while (split > 0 && DESCRIPTIVE.has(instructions[split - 1].keyword)) split--;
  const body = instructions.slice(0, split);
  const tail = instructions.slice(split);

  const globals = globalArgDefaults(doc);
  const written = stage.from.node.getArguments()[0]?.getValue() ?? '';
  const resolved = expandVariables(written, (name) => globals.get(name));
  const base = resolved === undefined ? undefined : baseRef(written, resolved);
  const baseProblem = resolved === undefined ? `the base image ${written} uses a build argument without a default` : base ? undefined : `${resolved} is not an image reference`;

  const env = new Map<string, string | undefined>();
  const defaultPath = imageDefaultPath(base);
  const lookup = (key: string) => (env.has(key) ? env.get(key) : key === 'PATH' ? defaultPath : undefined);
  let workdir: string | undefined = '/';
  const runs: RunInfo[] = [];
  const copies: CopyInfo[] = [];
  let bodyWorkdir: string | undefined = '/';
  let bodyEnv: Environment = env;
  for (const [index, instruction] of instructions.entries()) {
    if (index === split) {
      bodyWorkdir = workdir;
      bodyEnv = new Map(env);
    }
    switch (instruction.keyword) {
      case 'ENV':
        for (const { name, value } of propertiesOf(instruction)) env.set(name, value === undefined ? undefined : expandVariables(value, lookup));
        break;
      case 'ARG':
        for (const { name } of propertiesOf(instruction)) env.set(name, undefined);
        break;
      case 'WORKDIR': {
        const argument = instruction.node.getArguments()[0]?.getValue();
        const value = argument === undefined ? undefined : expandVariables(argument, lookup);
        workdir = value === undefined ? undefined : resolvePath(workdir, value);
        break;
      }
      case 'RUN':
        runs.push(readRun(doc, instruction, workdir, env.has('PATH') ? env : new Map([...env, ['PATH', defaultPath]])));
        break;
      case 'COPY':
      case 'ADD':
        copies.push(readCopy(instruction, workdir, env));
        break;
    }
  }
  if (split === instructions.length) {
    bodyWorkdir = workdir;
    bodyEnv = new Map(env);
  }
  const entry = readEntryPoint(doc, instructions);
  const healthcheck = readHealthCheck(doc, instructions);
  return {
    doc,
    stage,
    base,
    baseProblem,
    body,
    tail,
    runs,
    commands: runs.flatMap((run) => run.commands),
    copies,
    workdir: bodyWorkdir,
    finalWorkdir: workdir,
    env: bodyEnv,
    finalEnv: env,
    entry,
    healthcheck,
    users: instructions.filter((instruction) => instruction.keyword === 'USER'),
  };
}

// ---- paths ---------------------------------------------------------------------

/** PATH in the images Debian, Alpine and the official language images build on. */
export const STANDARD_PATH = ['/usr/local/sbin', '/usr/local/bin', '/usr/sbin', '/usr/bin', '/sbin', '/bin'];

/** Directories official language images put in front of the standard PATH. */
export function imagePathDirs(base: BaseRef | undefined): string[] {
  if (base?.official === 'golang') return ['/go/bin', '/usr/local/go/bin'];
  if (base?.official === 'rust') return ['/usr/local/cargo/bin'];
  return [];
}

function imageDefaultPath(base: BaseRef | undefined): string {
  return [...imagePathDirs(base), ...STANDARD_PATH].join(':');
}

/** An absolute, normalised path for value read from cwd; undefined when either is unknown. */
export function resolvePath(cwd: string | undefined, value: string): string | undefined {
  if (value.startsWith('/')) return normalize(value);
  if (cwd === undefined || value.startsWith('~')) return undefined;
  return normalize(posix.join(cwd, value));
}

function normalize(value: string): string {
  const normal = posix.normalize(value);
  return normal.length > 1 && normal.endsWith('/') ? normal.slice(0, -1) : normal;
}

/** Whether inner is outer or lies below it. */
export function isWithin(inner: string, outer: string): boolean {
  return inner === outer || outer === '/' || inner.startsWith(`${outer}/`);
}

export function hasWildcard(value: string): boolean {
  return /[*?[]/.test(value);
}

// ---- RUN -------------------------------------------------------------------------

interface ScopedChange {
  readonly at: number;
  /** The script range the change holds in (a subshell, or the whole script). */
  readonly scopeStart: number;
  readonly scopeEnd: number;
  readonly cwd?: string | null;
  readonly variable?: { readonly name: string; readonly value: string | undefined };
}

function readRun(doc: DockerfileDocument, instruction: InstructionInfo, workdir: string | undefined, env: Environment): RunInfo {
  const args = instruction.node.getArguments();
  const argumentsText = args.length === 0 ? '' : doc.text.slice(doc.offsetAt(args[0].getRange().start), instruction.end);
  if (isExecForm(argumentsText)) {
    const argv = JSON.parse(argumentsText.trim()) as string[];
    const text = argv.join(' ');
    const command: ShellCommand = { instruction, text, name: argv[0], program: argv[0] === undefined ? undefined : posix.basename(argv[0]), args: argv.slice(1), rawArgs: argv.slice(1), cwd: workdir, env: new Map(env) };
    return { instruction, commands: argv.length === 0 ? [] : [command], writes: [] };
  }
  if (hasHeredoc(instruction)) return { instruction, commands: heredocCommands(doc, instruction, workdir, new Map(env)), writes: [], opaque: 'uses a heredoc' };
  const script = shellScript(doc, instruction);
  if (!script) return { instruction, commands: [], writes: [], opaque: 'has no command' };
  const tree = parseShell(script.script);
  if (tree.rootNode.hasError) return { instruction, commands: [], writes: [], opaque: 'does not parse as shell' };
  const root = tree.rootNode;

  const changes: ScopedChange[] = [];
  // One walk gives each node its scope and parent type (Node.parent is quadratic on long chains).
  const nodes: { node: ShellNode; scope: { scopeStart: number; scopeEnd: number }; parentType: string }[] = [];
  visitDescendants(root, STATEFUL_NODES, (node, ancestors) => nodes.push({ node, scope: scopeOf(ancestors, root), parentType: ancestors[ancestors.length - 1].type }));
  const commands: ShellCommand[] = [];
  const stateAt = (at: number) => {
    let cwd = workdir;
    const variables = new Map(env);
    for (const change of changes) {
      if (change.at >= at || at < change.scopeStart || at >= change.scopeEnd) continue;
      if (change.cwd !== undefined) cwd = change.cwd ?? undefined;
      if (change.variable) variables.set(change.variable.name, change.variable.value);
    }
    return { cwd, variables };
  };
  for (const { node, scope, parentType } of nodes) {
    const state = stateAt(node.startIndex);
    if (node.type === 'declaration_command') {
      for (const assignment of node.namedChildren.filter((child): child is ShellNode => child?.type === 'variable_assignment')) {
        changes.push({ at: node.startIndex, ...scope, variable: assignmentOf(assignment, state.variables) });
      }
      continue;
    }
    if (node.type === 'variable_assignment') {
      // Statement-level `NAME=value` (not a prefix of a command, not inside export).
      if (parentType === 'command' || parentType === 'declaration_command') continue;
      changes.push({ at: node.startIndex, ...scope, variable: assignmentOf(node, state.variables) });
      continue;
    }
    const commandEnv = new Map(state.variables);
    for (const prefix of node.children.filter((child): child is ShellNode => child?.type === 'variable_assignment')) {
      const { name, value } = assignmentOf(prefix, state.variables);
      commandEnv.set(name, value);
    }
    let name = commandName(node);
    const argumentNodes = commandArguments(node);
    let values = argumentNodes.map((argument) => wordValue(argument, commandEnv));
    let raw = argumentNodes.map((argument) => argument.text);
    if (name === 'exec' && values.length > 0) {
      name = values[0];
      values = values.slice(1);
      raw = raw.slice(1);
    }
    const command: ShellCommand = { instruction, text: node.text, name, program: name === undefined ? undefined : posix.basename(name), args: values, rawArgs: raw, cwd: state.cwd, env: commandEnv };
    commands.push(command);
    if (name === 'cd') {
      const target = values.length === 1 ? values[0] : undefined;
      const next = target === undefined || target === '-' ? null : (resolvePath(state.cwd, target) ?? null);
      changes.push({ at: node.endIndex, ...scope, cwd: next });
    } else if (name === 'pushd' || name === 'popd') {
      changes.push({ at: node.endIndex, ...scope, cwd: null });
    }
  }
  const writes: (string | undefined)[] = [];
  for (const redirect of descendantsOfType(root, 'file_redirect')) {
    const operator = redirect.children.find((child) => child && /^(?:>|>>|&>|&>>|>\|)$/.test(child.type));
    const destination = redirect.childForFieldName('destination');
    if (!operator || !destination) continue;
    const state = stateAt(redirect.startIndex);
    const value = wordValue(destination, state.variables);
    if (value !== undefined && /^\d+$/.test(value)) continue;
    if (value === '/dev/null' || value === '/dev/stdout' || value === '/dev/stderr') continue;
    writes.push(value === undefined ? undefined : resolvePath(state.cwd, value));
  }
  return { instruction, commands, writes };
}

/** Commands of heredoc bodies, read as shell: enough to tell which ecosystem builds here, never to split it. */
function heredocCommands(doc: DockerfileDocument, instruction: InstructionInfo, workdir: string | undefined, env: Environment): ShellCommand[] {
  const node = instruction.node as unknown as { getHeredocs(): { getContentRange(): Range | null }[] };
  const commands: ShellCommand[] = [];
  for (const heredoc of node.getHeredocs()) {
    const range = heredoc.getContentRange();
    if (!range) continue;
    const root = parseShell(doc.text.slice(doc.offsetAt(range.start), doc.offsetAt(range.end))).rootNode;
    for (const command of descendantsOfType(root, 'command')) {
      const name = commandName(command);
      const argumentNodes = commandArguments(command);
      const args = argumentNodes.map((argument) => wordValue(argument, env));
      commands.push({ instruction, text: command.text, name, program: name === undefined ? undefined : posix.basename(name), args, rawArgs: argumentNodes.map((argument) => argument.text), cwd: workdir, env });
    }
  }
  return commands;
}

const STATEFUL_NODES: ReadonlySet<string> = new Set(['command', 'declaration_command', 'variable_assignment']);

function scopeOf(ancestors: readonly NodeSpan[], root: ShellNode): { scopeStart: number; scopeEnd: number } {
  for (let index = ancestors.length - 1; index >= 0; index--) {
    const parent = ancestors[index];
    if (parent.type === 'subshell' || parent.type === 'command_substitution' || parent.type === 'process_substitution' || parent.type === 'pipeline') {
      return { scopeStart: parent.startIndex, scopeEnd: parent.endIndex };
    }
  }
  return { scopeStart: root.startIndex, scopeEnd: root.endIndex };
}

function assignmentOf(node: ShellNode, variables: Environment): { name: string; value: string | undefined } {
  const name = node.childForFieldName('name')?.text ?? '';
  const valueNode = node.childForFieldName('value');
  return { name, value: valueNode ? wordValue(valueNode, variables) : '' };
}

/** A shell word's value when it has no computed part (expansions of known variables are fine). */
function wordValue(node: ShellNode, variables: Environment): string | undefined {
  switch (node.type) {
    case 'word':
      return /[$`]/.test(node.text) ? undefined : node.text.replace(/\\(.)/g, '$1');
    case 'number':
      return node.text;
    case 'raw_string':
      return node.text.slice(1, -1);
    case 'string': {
      let value = '';
      for (const child of node.namedChildren) {
        if (!child) continue;
        if (child.type === 'string_content') value += child.text.replace(/\\([$`"\\])/g, '$1');
        else {
          const part = wordValue(child, variables);
          if (part === undefined) return undefined;
          value += part;
        }
      }
      if (node.namedChildren.length === 0) value = node.text.slice(1, -1);
      return value;
    }
    case 'concatenation': {
      let value = '';
      for (const child of node.children) {
        if (!child) continue;
        const part = wordValue(child, variables);
        if (part === undefined) return undefined;
        value += part;
      }
      return value;
    }
    case 'simple_expansion':
    case 'expansion': {
      const names = node.namedChildren.filter((child) => child !== null);
      if (names.length !== 1 || names[0]!.type !== 'variable_name') return undefined;
      return variables.get(names[0]!.text);
    }
    default:
      return undefined;
  }
}

// ---- COPY / ADD --------------------------------------------------------------------

function readCopy(instruction: InstructionInfo, workdir: string | undefined, env: Environment): CopyInfo {
  const node = instruction.node as unknown as {
    getFlags(): { getName(): string; getValue(): string | null }[];
    getJSONStrings(): { getJSONValue(): string }[];
    getHeredocs?: () => unknown[];
  };
  const from = node.getFlags().find((flag) => flag.getName().toLowerCase() === 'from')?.getValue() ?? undefined;
  if (hasHeredoc(instruction)) return { instruction, from, sources: [], intoDirectory: false, opaque: 'uses a heredoc' };
  const json = node.getJSONStrings().map((item) => item.getJSONValue());
  const words = json.length > 0 ? json : instruction.node.getArguments().map((argument) => argument.getValue());
  const expanded = words.map((word) => expandVariables(word, (name) => env.get(name)));
  if (expanded.length < 2 || expanded.some((word) => word === undefined)) {
    return { instruction, from, sources: [], intoDirectory: false, opaque: 'uses a build argument in its paths' };
  }
  const values = expanded as string[];
  const sources = values.slice(0, -1);
  const target = values[values.length - 1];
  if (instruction.keyword === 'ADD' && sources.some((source) => /^[a-z][a-z0-9+.-]*:\/\//i.test(source) || /^git@/.test(source))) {
    return { instruction, from, sources, intoDirectory: false, opaque: 'downloads from a URL' };
  }
  const intoDirectory = target.endsWith('/') || target === '.' || sources.length > 1 || sources.some(hasWildcard);
  return { instruction, from, sources, destination: resolvePath(workdir, target), intoDirectory };
}

// ---- CMD / ENTRYPOINT / HEALTHCHECK ----------------------------------------------------

function readEntryPoint(doc: DockerfileDocument, instructions: readonly InstructionInfo[]): EntryPoint | undefined {
  const last = (keyword: string) => [...instructions].reverse().find((instruction) => instruction.keyword === keyword);
  const entrypoint = last('ENTRYPOINT');
  const cmd = last('CMD');
  if (entrypoint) {
    const form = commandForm(doc, entrypoint);
    if (form.shellForm) return { instruction: entrypoint, argv: form.argv, shellForm: true };
    const cmdForm = cmd ? commandForm(doc, cmd) : undefined;
    const cmdArgs = cmd && cmdForm && !cmdForm.shellForm ? (cmdForm.argv ?? []) : cmd ? undefined : [];
    return { instruction: entrypoint, argv: form.argv && cmdArgs ? [...form.argv, ...cmdArgs] : form.argv, shellForm: false };
  }
  if (!cmd) return undefined;
  const form = commandForm(doc, cmd);
  return { instruction: cmd, argv: form.argv, shellForm: form.shellForm };
}

/** argv of an exec-form instruction, or of a shell-form one that is a single static command. */
function commandForm(doc: DockerfileDocument, instruction: InstructionInfo): { argv?: string[]; shellForm: boolean } {
  const node = instruction.node as unknown as { getJSONStrings?: () => { getJSONValue(): string }[] };
  const args = instruction.node.getArguments();
  const text = args.length === 0 ? '' : doc.text.slice(doc.offsetAt(args[0].getRange().start), instruction.end);
  if (isExecForm(text)) return { argv: node.getJSONStrings?.().map((item) => item.getJSONValue()) ?? (JSON.parse(text.trim()) as string[]), shellForm: false };
  const script = shellScript(doc, instruction);
  return { argv: script ? singleCommand(script.script) : undefined, shellForm: true };
}

function singleCommand(script: string): string[] | undefined {
  const root = parseShell(script).rootNode;
  if (root.hasError) return undefined;
  const statements = root.namedChildren.filter((child) => child && child.type !== 'comment');
  if (statements.length !== 1 || statements[0]!.type !== 'command') return undefined;
  const command = statements[0]!;
  if (command.children.some((child) => child?.type === 'variable_assignment')) return undefined;
  const name = commandName(command);
  const values = commandArguments(command).map((argument) => wordValue(argument, new Map()));
  if (name === undefined || values.some((value) => value === undefined)) return undefined;
  const argv = [name, ...(values as string[])];
  return argv[0] === 'exec' ? argv.slice(1) : argv;
}

function readHealthCheck(doc: DockerfileDocument, instructions: readonly InstructionInfo[]): HealthCheck | undefined {
  const instruction = [...instructions].reverse().find((candidate) => candidate.keyword === 'HEALTHCHECK');
  if (!instruction) return undefined;
  const args = instruction.node.getArguments();
  if (args[0]?.getValue().toUpperCase() === 'NONE') return { instruction, shellForm: false, none: true };
  if (args.length < 2) return { instruction, shellForm: false, none: false };
  const text = doc.text.slice(doc.offsetAt(args[1].getRange().start), instruction.end);
  if (isExecForm(text)) {
    const argv = JSON.parse(text.trim()) as string[];
    return { instruction, programs: argv.slice(0, 1), shellForm: false, none: false };
  }
  // The check command is args[1..], run by /bin/sh.
  const scriptText = args
    .slice(1)
    .map((argument) => argument.getValue())
    .join(' ');
  return { instruction, programs: programsOf(scriptText), shellForm: true, none: false };
}

/** Shell builtins a check script may use without any program in the image. */
const BUILTINS = new Set(['exit', 'test', '[', 'true', 'false', 'echo', 'printf', ':', 'exec']);

function programsOf(script: string): string[] | undefined {
  const root = parseShell(script).rootNode;
  if (root.hasError) return undefined;
  const names = descendantsOfType(root, 'command').map((command) => commandName(command));
  if (names.some((name) => name === undefined)) return undefined;
  return [...new Set((names as string[]).filter((name) => !BUILTINS.has(name)))];
}
