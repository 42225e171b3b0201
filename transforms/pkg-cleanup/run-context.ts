// Everything pkg-cleanup knows about one shell-form RUN before it decides
// anything: the package-manager calls it can see (and where they sit), the
// other commands, the cache mounts, and the stage around it (ENV, USER).
import { keywordBefore, type DockerfileDocument, type InstructionInfo } from '../../src/dockerfile/document.js';
import { commandName, descendantsOfType, type ShellNode, type ShellScript } from '../../src/shell/script.js';
import type { TransformOptions } from '../../src/engine/transform.js';
import { cacheMountTargets, covers } from './cache-mounts.js';
import { invocationOf, type Invocation } from './invocations.js';
import { chainsIn, levelsOf, literalValue, type ChainLink, type Level } from '../../src/shell/structure.js';

export interface Located {
  readonly node: ShellNode;
  readonly levels: readonly Level[];
}

export interface Call extends Located {
  readonly invocation: Invocation;
}

export interface RunContext {
  readonly doc: DockerfileDocument;
  readonly instruction: InstructionInfo;
  readonly script: ShellScript;
  /** The tree-sitter-bash program node of the script. */
  readonly root: ShellNode;
  readonly options: TransformOptions;
  /** Package-manager calls outside strings, substitutions and functions, in script order. */
  readonly calls: readonly Call[];
  /** Every other visible command, in script order (rm, exit, add-apt-repository…). */
  readonly commands: readonly Located[];
  /** The top-level chain of the RUN. */
  readonly topLinks: readonly ChainLink[];
  /** Targets of the RUN's own cache mounts. */
  readonly cacheMounts: readonly string[];
  /** ENV names set in the stage (and the stages it builds on) before this RUN. */
  readonly stageEnv: ReadonlySet<string>;
  /** False when a USER instruction before this RUN switched away from root. */
  readonly runsAsRoot: boolean;
  /** The Dockerfile mentions Yarn 2+ (Berry), whose cache is part of the project. */
  readonly yarnBerry: boolean;
}

export function createRunContext(doc: DockerfileDocument, instruction: InstructionInfo, script: ShellScript, root: ShellNode, options: TransformOptions): RunContext {
  const calls: Call[] = [];
  const commands: Located[] = [];
  for (const node of descendantsOfType(root, 'command')) {
    const levels = levelsOf(node);
    if (!levels || levels.some((level) => level.kind === 'function')) continue;
    const invocation = invocationOf(node);
    if (invocation) calls.push({ node, levels, invocation });
    else commands.push({ node, levels });
  }
  return {
    doc,
    instruction,
    script,
    root,
    options,
    calls,
    commands,
    topLinks: chainsIn(root).flatMap((segment) => segment.links),
    cacheMounts: cacheMountTargets(instruction),
    stageEnv: stageEnvNames(doc, instruction),
    runsAsRoot: runsAsRoot(doc, instruction),
    yarnBerry: mentionsYarnBerry(doc),
  };
}

function stageEnvNames(doc: DockerfileDocument, instruction: InstructionInfo): Set<string> {
  const names = new Set<string>();
  for (const other of keywordBefore(doc, instruction, 'ENV')) {
    const env = other.node as unknown as { getProperties?: () => { getName(): string }[] };
    for (const property of env.getProperties?.() ?? []) names.add(property.getName());
  }
  return names;
}

/** Root unless a USER instruction says otherwise; the base image's own USER is unknown here and taken as root. */
function runsAsRoot(doc: DockerfileDocument, instruction: InstructionInfo): boolean {
  const users = keywordBefore(doc, instruction, 'USER');
  const last = users[users.length - 1];
  if (!last) return true;
  const user = last.node.getArguments()[0]?.getValue().split(':')[0];
  return user === 'root' || user === '0';
}

/** Yarn Berry keeps its cache in the project (.yarn/cache, Plug'n'Play): `yarn cache clean` would break the app. */
function mentionsYarnBerry(doc: DockerfileDocument): boolean {
  // Asked for every RUN; the answer is the document's.
  let known = yarnBerryByDocument.get(doc);
  if (known === undefined) {
    known = doc.instructions.some((instruction) => {
      const text = doc.text.slice(instruction.start, instruction.end);
      return /\.yarnrc\.yml|\.yarn\/|\bcorepack\b|yarn\s+set\s+version|--immutable\b/.test(text);
    });
    yarnBerryByDocument.set(doc, known);
  }
  return known;
}

const yarnBerryByDocument = new WeakMap<DockerfileDocument, boolean>();

// ---- reading the calls ------------------------------------------------------

export function callsOf(context: RunContext, ...tools: Invocation['tool'][]): Call[] {
  return context.calls.filter((call) => tools.includes(call.invocation.tool));
}

/** The literal path an argument names, with `$HOME`/`${HOME}` written as `~`; undefined when it has other expansions. */
export function pathArgument(node: ShellNode): string | undefined {
  const literal = literalValue(node);
  if (literal !== undefined) return literal;
  const text = node.text.replace(/["']/g, '').replace(/^\$\{HOME\}|^\$HOME(?![A-Za-z0-9_])/, '~');
  return /[$`]/.test(text) ? undefined : text;
}

/** An `rm -r` command and the paths it removes. */
export interface Removal extends Located {
  readonly paths: readonly (string | undefined)[];
}

export function removals(context: RunContext): Removal[] {
  const found: Removal[] = [];
  for (const command of context.commands) {
    const name = commandName(command.node);
    if (name !== 'rm' && name !== '/bin/rm') continue;
    const args = command.node.childrenForFieldName('argument').filter((node): node is ShellNode => node !== null);
    const values = args.map((node) => literalValue(node));
    const recursive = values.some((value) => value === '--recursive' || (value !== undefined && /^-[a-zA-Z]*[rR]/.test(value) && !value.startsWith('--')));
    if (!recursive) continue;
    const paths = args.filter((_, i) => !values[i]?.startsWith('-')).map((node) => pathArgument(node));
    found.push({ ...command, paths });
  }
  return found;
}

/** True when some `rm -r` after script position `after` removes `directory` (or a directory above it). */
export function removedAfter(context: RunContext, directories: readonly string[], after: number): boolean {
  return removals(context).some((removal) => removal.node.startIndex >= after && removal.paths.some((path) => path !== undefined && directories.some((directory) => covers(path, directory))));
}

/** True when a cache mount of this RUN holds `directory` (mounted there or above). */
export function isMounted(context: RunContext, directories: readonly string[]): boolean {
  return context.cacheMounts.some((target) => directories.some((directory) => covers(target, directory)));
}

/** Script position where the last of the calls ends (0 when there are none). */
export function endOfLast(calls: readonly Located[]): number {
  return calls.reduce((end, call) => Math.max(end, call.node.endIndex), 0);
}

/** True when `export NAME=…` (or `export NAME`) runs in the script before position `before`. */
export function exportedBefore(context: RunContext, name: string, before: number): boolean {
  return descendantsOfType(context.root, 'declaration_command').some(
    (declaration) =>
      declaration.startIndex < before &&
      declaration.firstChild?.text === 'export' &&
      declaration.namedChildren.some((child) => (child?.type === 'variable_assignment' ? child.childForFieldName('name')?.text : child?.text) === name),
  );
}
