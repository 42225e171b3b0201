// cache-deps: a stage that copies the whole build context and then installs
// dependencies reinstalls all of them whenever any source file changes, since
// the COPY's layer (and so every later one) changes with it. Copying the
// dependency manifests first, installing, and copying the rest afterwards lets
// the builder reuse the install layer until a manifest changes. The rewrite
// names single files, so it needs to know which of them exist in the build
// context (ctx.buildContext) and whether .dockerignore keeps them out; it
// moves only an install that reads nothing but those manifests, and says why
// whenever it leaves one alone.
import path from 'node:path';
import { sentFiles, type BuildContext } from '../../src/engine/build-context.js';
import type { DockerfileDocument, InstructionInfo, Range, Stage } from '../../src/dockerfile/document.js';
import { crossesCommentLine, offsetAfter } from '../../src/shell/layout.js';
import { chainsIn, literalValue, type ChainLink } from '../../src/shell/structure.js';
import { argumentsStart, commandArguments, commandName, foreignShell, hasHeredoc, isExecForm, parseShell, shellScript, sourceOffset, type ShellScript } from '../../src/shell/script.js';
import { defineTransform, Edit, type Finding, type TransformContext } from '../../src/engine/transform.js';
import { readmeDocs } from '../../src/engine/docs.js';

const posix = path.posix;

export default defineTransform({
  meta: {
    id: 'cache-deps',
    title: 'Install dependencies before copying the sources',
    description:
      'Where a stage copies the whole build context and then installs dependencies (npm, yarn, pnpm, pip -r, poetry, bundler, composer, go mod download, mvn dependency:go-offline), copies the dependency manifests that exist in the context first, installs, and copies the rest after, so that a source change no longer reinstalls the dependencies.',
    safety: 'safe',
    hasUnsafeFixes: true,
    network: false,
    docs: readmeDocs(import.meta.url),
  },
  run(ctx: TransformContext): Finding[] {
    const findings: Finding[] = [];
    for (const stage of ctx.doc.stages) {
      const workdirs = workingDirectories(stage);
      for (const instruction of stage.instructions) {
        if ((instruction.keyword !== 'COPY' && instruction.keyword !== 'ADD') || ctx.isIgnored(instruction.start)) continue;
        const finding = reorderCopy(ctx, stage, workdirs, instruction);
        if (finding) findings.push(finding);
      }
    }
    return findings;
  },
});

// ---- the COPY of the whole context ------------------------------------------

/** Flags that mean the same for the manifests as for the sources. */
const KEPT_FLAGS = new Set(['chown', 'chmod', 'link']);
/** Instructions that may stand between the COPY and the install: none of them reads the copied files. */
const PASSIVE = new Set(['ENV', 'ARG', 'WORKDIR', 'USER', 'LABEL', 'EXPOSE', 'SHELL']);

interface ContextCopy {
  readonly instruction: InstructionInfo;
  readonly destination: string;
  /** The kept flags as written, e.g. `--chown=node:node`. */
  readonly flags: readonly string[];
}

/** The COPY/ADD of the whole context, a reason it cannot move, or undefined when it copies something else. */
function contextCopyOf(doc: DockerfileDocument, instruction: InstructionInfo): ContextCopy | { reason: string } | undefined {
  if (hasHeredoc(instruction)) return undefined;
  const node = instruction.node as unknown as { getFlags(): { getName(): string; getRange(): Range }[] };
  const flags = node.getFlags();
  if (flags.some((flag) => flag.getName() === 'from')) return undefined;
  const start = argumentsStart(doc, instruction);
  if (start === undefined) return undefined;
  const argumentsText = doc.text.slice(start, instruction.end);
  let words: string[];
  if (isExecForm(argumentsText)) words = JSON.parse(argumentsText.trim()) as string[];
  else words = instruction.node.getArguments().map((argument) => argument.getValue());
  if (words.length !== 2 || (words[0] !== '.' && words[0] !== './')) return undefined;
  const written = doc.text.slice(instruction.start, instruction.end);
  if (written.includes('$')) return { reason: 'the COPY uses a variable' };
  const other = flags.find((flag) => !KEPT_FLAGS.has(flag.getName()));
  if (other) return { reason: `the COPY has --${other.getName()}` };
  const kept = flags.map((flag) => {
    const span = doc.span(flag.getRange());
    return doc.text.slice(span.start, span.end);
  });
  return { instruction, destination: words[1], flags: kept };
}

// ---- working directories ----------------------------------------------------

/**
 * Where each instruction of a stage runs, as an absolute path; a stage that
 * sets no WORKDIR runs in its base image's, which is unknown and written
 * BASE here, so that two instructions can still be told to share it.
 * undefined when a WORKDIR uses a variable or climbs out of the unknown.
 */
const BASE = '/\u0000base';

function workingDirectories(stage: Stage): Map<InstructionInfo, string | undefined> {
  const result = new Map<InstructionInfo, string | undefined>();
  let current: string | undefined = BASE;
  for (const instruction of stage.instructions) {
    result.set(instruction, current);
    if (instruction.keyword !== 'WORKDIR') continue;
    const value = instruction.node.getArguments().map((argument) => argument.getValue()).join(' ');
    current = current === undefined || value.includes('$') ? undefined : resolve(current, value);
  }
  return result;
}

function resolve(directory: string, value: string): string | undefined {
  if (value.startsWith('/')) return normalizeDirectory(value);
  const joined = normalizeDirectory(posix.join(directory, value));
  if (directory.startsWith(BASE) && !joined.startsWith(BASE)) return undefined;
  return joined;
}

function normalizeDirectory(value: string): string {
  const normalized = posix.normalize(value);
  return normalized.length > 1 ? normalized.replace(/\/+$/, '') : normalized;
}

function isWithin(inner: string, outer: string): boolean {
  return inner === outer || inner.startsWith(outer === '/' ? '/' : `${outer}/`);
}

// ---- the RUN after it ---------------------------------------------------------

/** A simple command: the program and its words (undefined where a word is computed). */
interface Command {
  readonly name?: string;
  readonly args: readonly (string | undefined)[];
  readonly text: string;
}

type Ecosystem = 'npm' | 'yarn' | 'pnpm' | 'pip' | 'poetry' | 'bundler' | 'composer' | 'go' | 'maven';

interface Install {
  readonly ecosystem: Ecosystem;
  readonly command: Command;
  /** Options and positional words of the command after its subcommand. */
  readonly options: readonly string[];
  readonly operands: readonly string[];
  /** pip: the files named by -r/-c, as written. */
  readonly requirementFiles?: readonly string[];
}

type Role =
  | { readonly role: 'install'; readonly install: Install }
  /** Needs nothing from the sources and leaves nothing they would replace: may share the install's RUN. */
  | { readonly role: 'neutral' }
  /** Changes the shell's own state (set): fine in a RUN that moves whole, not across a split. */
  | { readonly role: 'state' }
  /** An install dockopt cannot use, with the reason (about `it`, the command). */
  | { readonly role: 'refused'; readonly reason: string }
  | { readonly role: 'other' };

const OTHER: Role = { role: 'other' };
const NEUTRAL: Role = { role: 'neutral' };

function reorderCopy(ctx: TransformContext, stage: Stage, workdirs: Map<InstructionInfo, string | undefined>, instruction: InstructionInfo): Finding | undefined {
  const { doc } = ctx;
  const copy = contextCopyOf(doc, instruction);
  if (copy === undefined) return undefined;
  const written = oneLine(doc.text.slice(instruction.start, instruction.end));
  const note = (message: string): Finding => ({ offset: instruction.start, message });
  const following = stage.instructions.slice(stage.instructions.indexOf(instruction) + 1);
  const next = following.findIndex((other) => !PASSIVE.has(other.keyword));
  const run = next >= 0 && following[next].keyword === 'RUN' ? following[next] : undefined;
  const laterNote = (): Finding | undefined => {
    const later = laterInstall(doc, following.slice(next < 0 ? following.length : next + (run ? 1 : 0)));
    if (!later) return undefined;
    return note(`\`${oneLine(later.command.text)}\` (line ${doc.lineOf(later.run.start)}) installs dependencies after \`${written}\` with other steps in between: copy its manifests before the sources by hand`);
  };
  if (run === undefined) return laterNote();
  const reading = readRun(doc, run);
  if ('opaque' in reading) {
    if (!INSTALL_WORDS.test(doc.text.slice(run.start, run.end))) return laterNote();
    return note(`\`${written}\` is followed by a RUN that may install dependencies, but the RUN ${reading.opaque}: left alone`);
  }
  if (!reading.commands.some((command) => isInstallLike(classify(command, undefined)))) return laterNote();
  if (ctx.isIgnored(run.start)) return undefined;
  const firstInstall = reading.commands.find((command) => isInstallLike(classify(command, undefined)))!;
  const stays = (reason: string, command = firstInstall): Finding => note(`\`${oneLine(command.text)}\` stays after \`${written}\`: ${reason}`);
  if ('reason' in copy) return stays(copy.reason);
  if (reading.foreignShell) return stays(`the RUN runs under SHELL ${reading.foreignShell}`);

  // The install must run in the directory the sources land in, and the COPY must mean the same after the RUN.
  const copyDirectory = workdirs.get(instruction);
  const runDirectory = workdirs.get(run);
  const destination = copyDirectory === undefined ? undefined : resolve(copyDirectory, copy.destination);
  if (destination === undefined || runDirectory === undefined) return stays('cannot tell the working directories (a WORKDIR uses a variable)');
  if (destination !== runDirectory) return stays('it does not run in the directory the sources are copied to');
  if (!copy.destination.startsWith('/') && copyDirectory !== runDirectory) return stays('the COPY names a relative directory and a WORKDIR follows it');

  const roles = reading.commands.map((command) => classify(command, destination));
  const refusedAt = roles.findIndex((role) => role.role === 'refused');
  if (refusedAt >= 0) return stays((roles[refusedAt] as Extract<Role, { role: 'refused' }>).reason, reading.commands[refusedAt]);
  const prefix = movablePrefix(reading, roles);
  if (typeof prefix === 'string') return stays(prefix);
  const installs = roles.slice(0, prefix).flatMap((role) => (role.role === 'install' ? [role.install] : []));
  const installText = installs.map((install) => `\`${oneLine(install.command.text)}\``).join(' and ');

  if (!ctx.buildContext) return stays('build context unknown, so the manifests to copy first cannot be checked');
  const plan = planManifests(installs, ctx.buildContext, { commands: reading.commands.slice(0, prefix), destination });
  if ('refuse' in plan) return stays(plan.refuse);

  const split = prefix < reading.commands.length ? '; the RUN is split after the install' : '';
  const unsafe = plan.unsafe.length > 0;
  return {
    offset: instruction.start,
    message: `${installText} after \`${written}\` ${installs.length > 1 ? 'reinstall' : 'reinstalls'} the dependencies whenever a source file changes: copy ${plan.manifests.map((manifest) => manifest.path).join(', ')} first, install, then the sources${split}${unsafe ? ` (unsafe: ${plan.unsafe.join('; ')})` : ''}`,
    edits: moveEdits(doc, copy, run, reading, prefix, plan.manifests),
    safety: unsafe ? 'unsafe' : 'safe',
  };
}

function isInstallLike(role: Role): boolean {
  return role.role === 'install' || role.role === 'refused';
}

const INSTALL_WORDS = /\b(npm|yarn|pnpm|pip[0-9.]*|poetry|bundle|composer|go|mvnw?)\b/;

type RunReading =
  | { readonly opaque: string }
  | {
      readonly commands: readonly Command[];
      /** Shell form: the script and its top-level links, one per command. */
      readonly script?: ShellScript;
      readonly links?: readonly ChainLink[];
      readonly foreignShell?: string;
    };

/**
 * The commands of a RUN's top-level chain. A statement that is not a bare
 * simple command (a pipeline, a redirection, an if, a subshell) becomes an
 * unnamed command, which classifies as `other`.
 */
function readRun(doc: DockerfileDocument, run: InstructionInfo): RunReading {
  if (hasHeredoc(run)) return { opaque: 'is a heredoc' };
  const start = argumentsStart(doc, run);
  if (start === undefined) return { commands: [] };
  const argumentsText = doc.text.slice(start, run.end);
  if (isExecForm(argumentsText)) {
    const argv = JSON.parse(argumentsText.trim()) as string[];
    if (argv.length === 0) return { commands: [] };
    return { commands: [{ name: argv[0], args: argv.slice(1), text: argv.join(' ') }] };
  }
  const script = shellScript(doc, run);
  if (!script) return { commands: [] };
  const tree = parseShell(script.script);
  try {
    if (tree.rootNode.hasError) return { opaque: 'does not parse as shell' };
    const links = chainsIn(tree.rootNode).flatMap((segment) => segment.links);
    const commands = links.map((link): Command => {
      if (!link.bare || link.node.type !== 'command') return { args: [], text: script.script.slice(link.start, link.end) };
      return { name: commandName(link.node), args: commandArguments(link.node).map((argument) => literalValue(argument)), text: link.node.text };
    });
    return { commands, script, links, foreignShell: foreignShell(doc, run) };
  } finally {
    tree.delete();
  }
}

/**
 * How many leading commands move before the sources: all of them when every
 * command of the RUN is an install or neutral; else the installs and neutral
 * commands up to the first other one, which must follow an `&&` (a fresh
 * RUN then starts where the shell went on). A reason when none can move.
 */
function movablePrefix(reading: Extract<RunReading, { commands: unknown }>, roles: readonly Role[]): number | string {
  const links = reading.links;
  const movable = (role: Role) => role.role === 'install' || role.role === 'neutral' || role.role === 'state';
  let count = 0;
  while (count < roles.length && movable(roles[count])) count++;
  const firstInstall = roles.findIndex((role) => role.role === 'install');
  if (firstInstall < 0 || firstInstall >= count) {
    const blocker = reading.commands[count];
    return `it runs after \`${oneLine(blocker?.text ?? '')}\`, which may need the sources`;
  }
  if (links?.some((link, i) => i < count && (link.before === '||' || link.after === '||' || link.after === '&'))) return 'the install is part of an `||` or background chain';
  if (count === roles.length) return count;
  // Split: the commands from the first other one on go into a RUN of their own, after the sources.
  if (!links || links[count].before !== '&&') return 'the commands after the install do not follow it with `&&`';
  if (roles.slice(0, count).some((role) => role.role === 'state')) return 'it changes the shell\'s state (set) before the commands that stay after the sources';
  return count;
}

/** The first later RUN of the stage (up to the next copy of the context) that installs dependencies. */
function laterInstall(doc: DockerfileDocument, instructions: readonly InstructionInfo[]): { run: InstructionInfo; command: Command } | undefined {
  for (const instruction of instructions) {
    if ((instruction.keyword === 'COPY' || instruction.keyword === 'ADD') && contextCopyOf(doc, instruction) !== undefined) return undefined;
    if (instruction.keyword !== 'RUN') continue;
    const reading = readRun(doc, instruction);
    if (!('commands' in reading)) continue;
    const command = reading.commands.find((candidate) => isInstallLike(classify(candidate, undefined)));
    if (command) return { run: instruction, command };
  }
  return undefined;
}

// ---- recognising installs -----------------------------------------------------

/** The program's file name: `/usr/local/bin/npm` → `npm`. */
function basename(name: string): string {
  return name.slice(name.lastIndexOf('/') + 1);
}

/** Splits words into options (with their values folded in) and operands; valueOptions take the next word. */
function splitWords(words: readonly string[], valueOptions: readonly string[]): { options: string[]; operands: string[] } {
  const options: string[] = [];
  const operands: string[] = [];
  for (let i = 0; i < words.length; i++) {
    const word = words[i];
    if (word.startsWith('-') && word !== '-') {
      if (valueOptions.includes(word) && i + 1 < words.length) options.push(`${word}=${words[++i]}`);
      else options.push(word);
    } else {
      operands.push(word);
    }
  }
  return { options, operands };
}

function optionName(option: string): string {
  const equals = option.indexOf('=');
  return equals > 0 ? option.slice(0, equals) : option;
}

function hasAny(options: readonly string[], ...names: string[]): boolean {
  return options.some((option) => names.includes(optionName(option)));
}

const NPM_VALUES = ['--prefix', '-C', '--loglevel', '--registry', '--cache', '--userconfig', '-w', '--workspace', '--omit', '--include', '--only', '--install-strategy', '--location', '--tag', '--before', '--fetch-retries', '--fetch-timeout'];
const YARN_VALUES = ['--cwd', '--cache-folder', '--modules-folder', '--network-timeout', '--mutex', '--registry', '--global-folder', '--network-concurrency', '--child-concurrency'];
const PNPM_VALUES = ['--dir', '-C', '--filter', '-F', '--store-dir', '--virtual-store-dir', '--modules-dir', '--lockfile-dir', '--reporter', '--network-concurrency', '--child-concurrency', '--loglevel'];
const PIP_GLOBAL_VALUES = ['--proxy', '--log', '--cache-dir', '--timeout', '--retries', '--exists-action', '--trusted-host', '--cert', '--client-cert', '--python'];
const PIP_INSTALL_VALUES = [
  ...PIP_GLOBAL_VALUES,
  '-r', '--requirement', '-c', '--constraint', '-e', '--editable', '-t', '--target', '--prefix', '--root', '--src', '-f', '--find-links', '-i', '--index-url', '--extra-index-url',
  '--only-binary', '--no-binary', '--progress-bar', '--root-user-action', '--platform', '--python-version', '--implementation', '--abi', '--upgrade-strategy',
  '--global-option', '--config-settings', '-C', '--report', '--use-feature', '--use-deprecated', '--keyring-provider',
];
const POETRY_VALUES = ['--only', '--with', '--without', '-E', '--extras', '-C', '--directory', '-P', '--project'];
const BUNDLE_VALUES = ['--gemfile', '--path', '--jobs', '-j', '--retry', '--without', '--with', '--binstubs', '--standalone', '--trust-policy', '--shebang'];
const COMPOSER_VALUES = ['-d', '--working-dir', '--prefer-install', '--ignore-platform-req'];
const MAVEN_VALUES = ['-f', '--file', '-s', '--settings', '-gs', '--global-settings', '-pl', '--projects', '-P', '--activate-profiles', '-T', '--threads', '-t', '--toolchains', '-l', '--log-file', '-rf', '--resume-from'];
const MAVEN_DEPENDENCY_GOALS = /^(?:dependency|org\.apache\.maven\.plugins:maven-dependency-plugin(?::[^:]+)?):(?:go-offline|resolve|resolve-plugins)$/;

/** What a command is to the reordering; destination is the directory the sources are copied to (undefined: only recognise). */
function classify(command: Command, destination: string | undefined): Role {
  const program = command.name === undefined ? undefined : basename(command.name);
  if (program === undefined) return OTHER;
  const known = /^(npm|yarn|pnpm|pip[0-9.]*|python[0-9.]*|poetry|bundle|bundler|composer|go|mvn|mvnw|corepack|gem|rm|true|:|echo|set)$/.test(program);
  if (!known) return OTHER;
  if (command.args.some((arg) => arg === undefined)) {
    // A computed word can be any option or package. Without it, is the command an install? Then say why it stays.
    const literal = classify({ ...command, args: command.args.filter((arg) => arg !== undefined) }, destination);
    return literal.role === 'install' ? { role: 'refused', reason: 'it has a computed argument' } : OTHER;
  }
  const args = command.args as readonly string[];
  switch (program) {
    case 'npm':
      return classifyNpm(command, args);
    case 'yarn':
      return classifyYarn(command, args);
    case 'pnpm':
      return classifyPnpm(command, args);
    case 'poetry':
      return classifyPoetry(command, args);
    case 'bundle':
    case 'bundler':
      return classifyBundler(command, args);
    case 'composer':
      return classifyComposer(command, args);
    case 'go':
      return classifyGo(command, args);
    case 'mvn':
    case 'mvnw':
      return classifyMaven(command, args);
    case 'corepack':
      return (args[0] === 'enable' || args[0] === 'disable') || (args[0] === 'prepare' && args.length > 1) || (args[0] === 'install' && hasAny(args, '-g', '--global')) ? NEUTRAL : OTHER;
    case 'gem': {
      const { operands } = splitWords(args, []);
      return operands[0] === 'install' && operands.length > 1 && operands.slice(1).every((operand) => !operand.includes('/') && !operand.endsWith('.gem')) ? NEUTRAL : OTHER;
    }
    case 'rm':
      return classifyRemove(args, destination);
    case 'true':
    case ':':
    case 'echo':
      return NEUTRAL;
    case 'set':
      return { role: 'state' };
    default:
      if (program.startsWith('pip')) return classifyPip(command, args, destination);
      if (args[0] === '-m' && /^pip[0-9.]*$/.test(args[1] ?? '')) return classifyPip(command, args.slice(2), destination);
      return OTHER;
  }
}

function classifyNpm(command: Command, args: readonly string[]): Role {
  const { options, operands } = splitWords(args, NPM_VALUES);
  const [subcommand, ...rest] = operands;
  const global = hasAny(options, '-g', '--global');
  if (subcommand === 'cache') return NEUTRAL;
  if (subcommand === 'config') return hasAny(options, '--location') && !options.some((option) => /^--location=(user|global)$/.test(option)) ? OTHER : NEUTRAL;
  const ci = ['ci', 'clean-install', 'ic', 'install-clean'].includes(subcommand ?? '');
  const install = ['install', 'i', 'add'].includes(subcommand ?? '');
  if (!ci && !install) return OTHER;
  if (global) return rest.length > 0 ? NEUTRAL : OTHER;
  if (install && rest.length > 0) return OTHER;
  if (hasAny(options, '--prefix', '-C', '-w', '--workspace', '--workspaces', '--ws', '--install-links')) {
    return { role: 'refused', reason: 'it installs somewhere else than the copied directory' };
  }
  return { role: 'install', install: { ecosystem: 'npm', command, options, operands: [ci ? 'ci' : 'install'] } };
}

function classifyYarn(command: Command, args: readonly string[]): Role {
  const { options, operands } = splitWords(args, YARN_VALUES);
  const [subcommand, second] = operands;
  if (subcommand === 'cache') return NEUTRAL;
  if (subcommand === 'global' && second === 'add') return NEUTRAL;
  if (subcommand === 'config' && second === 'set') return NEUTRAL;
  if (subcommand !== undefined && (subcommand !== 'install' || operands.length > 1)) return OTHER;
  if (hasAny(options, '--cwd', '--modules-folder')) return { role: 'refused', reason: 'it installs somewhere else than the copied directory' };
  return { role: 'install', install: { ecosystem: 'yarn', command, options, operands } };
}

function classifyPnpm(command: Command, args: readonly string[]): Role {
  const { options, operands } = splitWords(args, PNPM_VALUES);
  const [subcommand, second] = operands;
  if (subcommand === 'store' && second === 'prune') return NEUTRAL;
  if ((subcommand === 'add' || subcommand === 'install' || subcommand === 'i') && hasAny(options, '-g', '--global') && operands.length > 1) return NEUTRAL;
  if (subcommand !== 'install' && subcommand !== 'i') return OTHER;
  if (operands.length > 1) return OTHER;
  if (hasAny(options, '--dir', '-C', '--filter', '-F', '-r', '--recursive', '-w', '--workspace-root', '--virtual-store-dir', '--modules-dir', '--lockfile-dir')) {
    return { role: 'refused', reason: 'it installs somewhere else than the copied directory' };
  }
  return { role: 'install', install: { ecosystem: 'pnpm', command, options, operands } };
}

function isLocalReference(value: string): boolean {
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(value) || /^git\+/.test(value)) return false;
  return value.startsWith('.') || value.startsWith('/') || value.startsWith('~') || value.includes('/') || value.startsWith('file:') || /\.(whl|zip|tar\.gz|tgz|tar\.bz2)$/.test(value);
}

function classifyPip(command: Command, args: readonly string[], destination: string | undefined): Role {
  const global = splitWords(args, PIP_GLOBAL_VALUES);
  if (global.operands[0] === 'cache') return NEUTRAL;
  if (global.operands[0] !== 'install') return OTHER;
  const installArgs = args.slice(args.indexOf('install') + 1);
  const { options, operands } = splitWords(installArgs, PIP_INSTALL_VALUES);
  const requirementFiles: string[] = [];
  for (const option of options) {
    const name = optionName(option);
    const value = option.slice(name.length + 1);
    // Short options may carry their value attached: -rrequirements.txt.
    const attached = /^-[rc]./.test(option) && !option.includes('=') ? option.slice(2) : undefined;
    if (name === '-r' || name === '--requirement' || name === '-c' || name === '--constraint' || attached !== undefined) requirementFiles.push(attached ?? value);
    else if (name === '-e' || name === '--editable') return OTHER; // an editable install is the project itself
    else if ((name === '-f' || name === '--find-links') && isLocalReference(value)) return OTHER;
    else if (['-t', '--target', '--prefix', '--root', '--src'].includes(name) && (!value.startsWith('/') || (destination !== undefined && isWithin(normalizeDirectory(value), destination)))) return OTHER;
  }
  const local = operands.find(isLocalReference);
  if (local !== undefined) {
    return requirementFiles.length > 0 ? { role: 'refused', reason: `it also installs ${local} from the sources` } : OTHER;
  }
  if (requirementFiles.length === 0) return NEUTRAL;
  return { role: 'install', install: { ecosystem: 'pip', command, options, operands, requirementFiles } };
}

function classifyPoetry(command: Command, args: readonly string[]): Role {
  const { options, operands } = splitWords(args, POETRY_VALUES);
  if (operands[0] === 'config') return hasAny(options, '--local') ? OTHER : NEUTRAL;
  if (operands[0] === 'self') return NEUTRAL;
  if (operands[0] !== 'install' || operands.length > 1) return OTHER;
  if (hasAny(options, '-C', '--directory', '-P', '--project')) return { role: 'refused', reason: 'it installs another project than the copied directory' };
  if (!hasAny(options, '--no-root') || hasAny(options, '--only-root')) {
    return { role: 'refused', reason: 'it also installs the project itself, from its sources (with --no-root it installs only the dependencies)' };
  }
  return { role: 'install', install: { ecosystem: 'poetry', command, options, operands } };
}

function classifyBundler(command: Command, args: readonly string[]): Role {
  const { options, operands } = splitWords(args, BUNDLE_VALUES);
  if (operands[0] === 'config') return NEUTRAL;
  if (operands[0] !== 'install' || operands.length > 1) return OTHER;
  if (hasAny(options, '--gemfile', '--binstubs', '--standalone')) return { role: 'refused', reason: 'it reads or writes files in the project beyond the Gemfile' };
  return { role: 'install', install: { ecosystem: 'bundler', command, options, operands } };
}

function classifyComposer(command: Command, args: readonly string[]): Role {
  const { options, operands } = splitWords(args, COMPOSER_VALUES);
  if (['clear-cache', 'clearcache', 'cc'].includes(operands[0] ?? '')) return NEUTRAL;
  if (operands[0] === 'global') return NEUTRAL;
  if (operands[0] !== 'install' || operands.length > 1) return OTHER;
  if (hasAny(options, '-d', '--working-dir')) return { role: 'refused', reason: 'it installs another project than the copied directory' };
  if (!hasAny(options, '--no-scripts') || !hasAny(options, '--no-autoloader')) {
    return { role: 'refused', reason: 'it runs the project\'s scripts and builds the autoloader from its sources (use --no-scripts --no-autoloader and `composer dump-autoload` after the copy)' };
  }
  return { role: 'install', install: { ecosystem: 'composer', command, options, operands } };
}

function classifyGo(command: Command, args: readonly string[]): Role {
  const { options, operands } = splitWords(args, []);
  if (operands[0] === 'clean' && options.every((option) => option === '-modcache' || option === '-cache')) return NEUTRAL;
  if (operands[0] === 'env' && hasAny(options, '-w')) return NEUTRAL;
  if (operands[0] === 'install' && operands.length > 1 && operands.slice(1).every((operand) => operand.includes('@'))) return NEUTRAL;
  if (operands[0] !== 'mod' || operands[1] !== 'download') return OTHER;
  if (hasAny(options, '-modfile')) return { role: 'refused', reason: 'it reads another go.mod' };
  return { role: 'install', install: { ecosystem: 'go', command, options, operands: operands.slice(2) } };
}

function classifyMaven(command: Command, args: readonly string[]): Role {
  const { options, operands } = splitWords(args, MAVEN_VALUES);
  if (operands.length === 0 || !operands.every((goal) => MAVEN_DEPENDENCY_GOALS.test(goal))) return OTHER;
  if (hasAny(options, '-f', '--file', '-s', '--settings', '-gs', '--global-settings', '-pl', '--projects', '-rf', '--resume-from')) {
    return { role: 'refused', reason: 'it reads project files beyond pom.xml' };
  }
  return { role: 'install', install: { ecosystem: 'maven', command, options, operands } };
}

/** `rm` of absolute paths that lie neither in nor above the directory the sources go to. */
function classifyRemove(args: readonly string[], destination: string | undefined): Role {
  const { options, operands } = splitWords(args, []);
  if (!options.every((option) => /^-[rRf]+$/.test(option) || option === '--recursive' || option === '--force')) return OTHER;
  if (destination === undefined || operands.length === 0) return OTHER;
  for (const operand of operands) {
    if (!operand.startsWith('/')) return OTHER;
    // A glob removes entries of the directory its fixed part names: `/tmp/*` and `/tmp/npm-*` empty /tmp.
    const glob = operand.search(/[*?[]/);
    const removed = normalizeDirectory(glob < 0 ? operand : posix.dirname(`${operand.slice(0, glob)}x`));
    if (isWithin(removed, destination) || isWithin(destination, removed)) return OTHER;
  }
  return NEUTRAL;
}

// ---- the manifests ------------------------------------------------------------

interface Manifest {
  /** Relative to the context root (and so to the directory the sources are copied to). */
  readonly path: string;
  readonly directory: boolean;
}

type ManifestPlan = { readonly manifests: readonly Manifest[]; readonly unsafe: readonly string[] } | { readonly refuse: string };

class Refusal {
  constructor(readonly reason: string) {}
}

/** Collects manifests and risks; a missing requirement throws a Refusal, turned into a note. */
interface Collector {
  /** The file must be sent: refuses when it is absent, ignored or unsure. */
  need(file: string, directory?: boolean): void;
  /** The file is copied when it is sent. */
  optional(file: string, directory?: boolean): void;
  /** The path must not reach the image through the later copy (it would replace what the install wrote). */
  forbid(file: string, why: string): void;
  refuse(reason: string): never;
  unsafe(reason: string): void;
  /** The file reaches the builder (or may: an unsure answer counts as present). */
  present(file: string): boolean;
  read(file: string): string | undefined;
}

function planManifests(installs: readonly Install[], context: BuildContext, scope: PlanScope): ManifestPlan {
  const files = sentFiles(context);
  const manifests: Manifest[] = [];
  const unsafe: string[] = [];
  const add = (file: string, directory: boolean) => {
    if (!manifests.some((manifest) => manifest.path === file)) manifests.push({ path: file, directory });
  };
  const collector: Collector = {
    need(file, directory = false) {
      const state = files.state(file);
      if (state === 'absent') throw new Refusal(`${file} is not in the build context`);
      if (state === 'ignored') throw new Refusal(`.dockerignore excludes ${file}`);
      if (state === 'unsure') throw new Refusal(`cannot tell whether .dockerignore excludes ${file}`);
      add(file, directory);
    },
    optional(file, directory = false) {
      const state = files.state(file);
      if (state === 'unsure') throw new Refusal(`cannot tell whether .dockerignore excludes ${file}`);
      if (state === 'sent') add(file, directory);
    },
    forbid(file, why) {
      const state = files.state(file);
      if (state === 'sent' || state === 'unsure') throw new Refusal(`${file} in the build context ${why}`);
    },
    refuse(reason) {
      throw new Refusal(reason);
    },
    unsafe(reason) {
      if (!unsafe.includes(reason)) unsafe.push(reason);
    },
    read(file) {
      return files.state(file) === 'sent' ? context.read(file) : undefined;
    },
    present(file) {
      const state = files.state(file);
      return state === 'sent' || state === 'unsure';
    },
  };
  try {
    for (const install of installs) PLANNERS[install.ecosystem](install, collector, scope);
    // `bundle config --local` writes .bundle/config into the directory, where the later copy would replace it.
    if (scope.commands.some((command) => isBundleConfig(command) && hasAny(command.args as string[], '--local'))) collector.forbid('.bundle', 'would be copied over the Bundler settings the RUN writes');
  } catch (error) {
    if (error instanceof Refusal) return { refuse: error.reason };
    throw error;
  }
  // The directory an early COPY creates for a nested manifest exists when the sources arrive; whether
  // the builder then gives it the context directory's mode and owner is not something dockopt can be sure of.
  const created = [...new Set(manifests.filter((manifest) => manifest.directory || manifest.path.includes('/')).map((manifest) => `${manifest.directory ? manifest.path : posix.dirname(manifest.path)}/`))];
  if (created.length > 0) unsafe.push(`copying the manifests creates ${created.join(', ')} before the sources, which may leave ${created.length > 1 ? 'them' : 'it'} with another mode or owner than in the context`);
  return { manifests, unsafe };
}

interface PlanScope {
  /** The commands that move with the installs (settings made in the same RUN count). */
  readonly commands: readonly Command[];
  /** Absolute directory the sources are copied to, where the installs run. */
  readonly destination: string;
}

const PLANNERS: Record<Ecosystem, (install: Install, collect: Collector, scope: PlanScope) => void> = {
  npm: planNpm,
  yarn: planYarn,
  pnpm: planPnpm,
  pip: planPip,
  poetry: planPoetry,
  bundler: planBundler,
  composer: planComposer,
  go: planGo,
  maven: planMaven,
};

const ROOT_INSTALL_SCRIPTS = ['preinstall', 'install', 'postinstall', 'prepublish', 'preprepare', 'prepare', 'postprepare'];
const DEPENDENCY_FIELDS = ['dependencies', 'devDependencies', 'optionalDependencies', 'peerDependencies', 'overrides', 'resolutions'];
const LOCAL_SPEC = /^(?:file:|link:|portal:|workspace:|\.{1,2}\/|\/|~\/)/;

/** The checks every Node.js package manager shares; returns the parsed package.json. */
function planNode(install: Install, collect: Collector): Record<string, unknown> {
  const ignoreScripts = hasAny(install.options, '--ignore-scripts');
  collect.need('package.json');
  let parsed: unknown;
  try {
    parsed = JSON.parse(collect.read('package.json') ?? '');
  } catch {
    collect.refuse('package.json does not parse');
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) collect.refuse('package.json is not an object');
  const manifest = parsed as Record<string, unknown>;
  if (manifest.workspaces !== undefined) collect.refuse('package.json declares workspaces, whose packages are part of the sources');
  const scripts = typeof manifest.scripts === 'object' && manifest.scripts !== null ? (manifest.scripts as Record<string, unknown>) : {};
  const lifecycle = ROOT_INSTALL_SCRIPTS.filter((name) => name in scripts);
  if (!ignoreScripts && lifecycle.length > 0) collect.refuse(`package.json has ${lifecycle.length > 1 ? `${lifecycle.join(', ')} scripts` : `a ${lifecycle[0]} script`}, which the install runs and which may need the sources`);
  if (!ignoreScripts && !('install' in scripts) && !('preinstall' in scripts) && collect.present('binding.gyp')) collect.refuse('binding.gyp makes the install build the native addon from the sources');
  for (const field of DEPENDENCY_FIELDS) {
    const specs = manifest[field];
    if (typeof specs !== 'object' || specs === null) continue;
    const local = Object.entries(specs as Record<string, unknown>).find(([, spec]) => typeof spec === 'string' && LOCAL_SPEC.test(spec));
    if (local) collect.refuse(`package.json depends on ${local[0]} from a local path (${String(local[1])})`);
  }
  collect.forbid('node_modules', 'would be copied over the installed node_modules');
  return manifest;
}

function planNpm(install: Install, collect: Collector): void {
  planNode(install, collect);
  collect.optional('package-lock.json');
  collect.optional('npm-shrinkwrap.json');
  collect.optional('.npmrc');
  const lock = collect.read('npm-shrinkwrap.json') !== undefined ? 'npm-shrinkwrap.json' : collect.read('package-lock.json') !== undefined ? 'package-lock.json' : undefined;
  if (install.operands[0] === 'install' && lock) collect.unsafe(`\`npm install\` may rewrite ${lock}, and the later copy puts the context's version back`);
  if (hasAny(install.options, '--ignore-scripts')) return;
  if (!lock) {
    collect.unsafe('without a lock file dockopt cannot tell whether a dependency\'s install script reads the project');
    return;
  }
  let packages: Record<string, { hasInstallScript?: boolean }> | undefined;
  try {
    packages = (JSON.parse(collect.read(lock) ?? '') as { packages?: Record<string, { hasInstallScript?: boolean }> }).packages;
  } catch {
    packages = undefined;
  }
  if (!packages) {
    collect.unsafe(`${lock} does not record install scripts (lockfileVersion 1), and a dependency's install script may read the project`);
    return;
  }
  const scripted = Object.entries(packages)
    .filter(([key, entry]) => key !== '' && entry.hasInstallScript === true)
    .map(([key]) => key.slice(key.lastIndexOf('node_modules/') + 'node_modules/'.length));
  if (scripted.length > 0) collect.unsafe(`install scripts of ${describeList(scripted)} run during the install and may read the project (use --ignore-scripts if they do not)`);
}

function planYarn(install: Install, collect: Collector): void {
  if (collect.present('.yarnrc.yml')) collect.refuse('.yarnrc.yml marks a Yarn 2+ project, whose install reads .yarn/ and writes the Plug\'n\'Play files into the project');
  planNode(install, collect);
  collect.optional('yarn.lock');
  collect.optional('.yarnrc');
  collect.optional('.npmrc');
  collect.optional('.yarnclean');
  if (/yarn-offline-mirror|yarn-path/.test(collect.read('.yarnrc') ?? '')) collect.refuse('.yarnrc points yarn at files in the project (yarn-offline-mirror or yarn-path)');
  if (collect.read('yarn.lock') !== undefined && !hasAny(install.options, '--frozen-lockfile', '--pure-lockfile', '--immutable')) {
    collect.unsafe('`yarn install` without --frozen-lockfile may rewrite yarn.lock, and the later copy puts the context\'s version back');
  }
  if (!hasAny(install.options, '--ignore-scripts')) collect.unsafe('yarn.lock does not record which dependencies run install scripts, and such a script may read the project');
}

function planPnpm(install: Install, collect: Collector): void {
  if (collect.present('pnpm-workspace.yaml')) collect.refuse('pnpm-workspace.yaml declares a workspace, whose packages are part of the sources');
  const manifest = planNode(install, collect);
  const pnpmSettings = manifest.pnpm as { patchedDependencies?: unknown } | undefined;
  if (pnpmSettings?.patchedDependencies !== undefined) collect.refuse('package.json applies patches from the project (pnpm.patchedDependencies)');
  collect.optional('pnpm-lock.yaml');
  collect.optional('.npmrc');
  collect.optional('.pnpmfile.cjs');
  const lock = collect.read('pnpm-lock.yaml');
  if (lock !== undefined && /^patchedDependencies:/m.test(lock)) collect.refuse('pnpm-lock.yaml applies patches from the project');
  if (lock !== undefined && !hasAny(install.options, '--frozen-lockfile')) collect.unsafe('`pnpm install` without --frozen-lockfile may rewrite pnpm-lock.yaml, and the later copy puts the context\'s version back');
  if (hasAny(install.options, '--ignore-scripts')) return;
  const version = lock === undefined ? undefined : Number(/^lockfileVersion: *'?(\d+)/m.exec(lock)?.[1]);
  if (lock === undefined || version === undefined || Number.isNaN(version) || version >= 9) {
    collect.unsafe('pnpm-lock.yaml does not record which dependencies run install scripts, and such a script may read the project');
  } else if (/requiresBuild: true/.test(lock)) {
    collect.unsafe('dependencies with install scripts (requiresBuild in pnpm-lock.yaml) run them during the install, and they may read the project');
  }
}

/** Requirement-file options that only tune where packages come from. */
const HARMLESS_REQUIREMENT_OPTIONS = new Set(['-i', '--index-url', '--extra-index-url', '--trusted-host', '--pre', '--prefer-binary', '--require-hashes', '--only-binary', '--no-binary', '--use-feature', '--no-index', '--hash']);

function planPip(install: Install, collect: Collector, scope: PlanScope): void {
  const pending = (install.requirementFiles ?? []).map((file) => contextRelative(file, '', scope.destination, collect));
  const seen = new Set<string>();
  while (pending.length > 0) {
    const file = pending.shift()!;
    if (seen.has(file)) continue;
    seen.add(file);
    collect.need(file);
    for (const line of requirementLines(collect.read(file) ?? '')) {
      const option = /^(-[a-zA-Z]|--[a-z-]+)(?:[ =]+(.*))?$/.exec(line);
      if (!option) {
        const requirement = line.split(/\s*;/)[0].trim();
        const target = /\s@\s*(\S+)/.exec(requirement)?.[1] ?? requirement.split(/\s/)[0];
        if (line.includes('$') || isLocalReference(target)) collect.refuse(`${file} installs from a local path (${line})`);
        continue;
      }
      const [, name, value = ''] = option;
      if (name === '-r' || name === '--requirement' || name === '-c' || name === '--constraint') {
        if (!/^[a-z][a-z0-9+.-]*:\/\//i.test(value)) pending.push(contextRelative(value, posix.dirname(file), scope.destination, collect));
      } else if ((name === '-f' || name === '--find-links') && !isLocalReference(value)) {
        continue;
      } else if (!HARMLESS_REQUIREMENT_OPTIONS.has(name)) {
        collect.refuse(`${file} has \`${line}\`, which may read the project`);
      }
    }
  }
}

/** The lines of a requirements file as pip reads them: comments dropped, `\` continuations joined. */
function requirementLines(text: string): string[] {
  return text
    .replace(/\\\r?\n/g, '')
    .split(/\r?\n/)
    .map((line) => line.replace(/(^|\s)#.*$/, '').trim())
    .filter((line) => line !== '');
}

/** A path the install reads, relative to the context root; refuses paths outside the copied directory. */
function contextRelative(file: string, base: string, destination: string, collect: Collector): string {
  if (file.includes('$')) collect.refuse(`${file} uses a variable`);
  const absolute = file.startsWith('/') ? posix.normalize(file) : posix.join(destination, base, file);
  if (!isWithin(absolute, destination) || absolute === destination) collect.refuse(`${file} is outside the directory the sources are copied to`);
  return posix.relative(destination, absolute);
}

function planPoetry(_install: Install, collect: Collector): void {
  collect.need('pyproject.toml');
  collect.optional('poetry.lock');
  collect.optional('poetry.toml');
  const project = collect.read('pyproject.toml') ?? '';
  if (/^\s*[\w".-]+\s*=\s*\{[^}\n]*\bpath\s*=/m.test(project)) collect.refuse('pyproject.toml has a path dependency, which is part of the sources');
  collect.forbid('.venv', 'would be copied over the virtualenv the install may create there');
}

function planBundler(install: Install, collect: Collector, scope: PlanScope): void {
  if (collect.present('gems.rb')) collect.refuse('the project uses gems.rb, which cache-deps does not read');
  collect.need('Gemfile');
  collect.optional('Gemfile.lock');
  const gemfile = collect.read('Gemfile') ?? '';
  const reads = /^\s*(gemspec|eval_gemfile)\b|\bpath\s*:|:path\s*=>|\bFile\.|\bfile\s*:|\brequire_relative\b|__dir__/m.exec(gemfile);
  if (reads) collect.refuse(`the Gemfile reads files of the project (${reads[0].trim()})`);
  collect.forbid('.bundle', 'holds Bundler settings that the later copy would replace');
  collect.forbid('vendor', 'may hold cached gems Bundler reads and installed gems the later copy would replace');
  const path = install.options.find((option) => optionName(option) === '--path');
  if (path && !path.slice('--path='.length).startsWith('/')) collect.forbid(posix.normalize(path.slice('--path='.length)), 'would be copied over the installed gems');
  const frozenBefore = scope.commands.slice(0, scope.commands.indexOf(install.command)).some(setsBundleFrozen);
  if (collect.read('Gemfile.lock') !== undefined && !frozenBefore && !hasAny(install.options, '--frozen', '--deployment')) {
    collect.unsafe('`bundle install` without --frozen or --deployment may rewrite Gemfile.lock, and the later copy puts the context\'s version back');
  }
}

function isBundleConfig(command: Command): boolean {
  return command.name !== undefined && /^bundler?$/.test(basename(command.name)) && command.args[0] === 'config';
}

/** `bundle config [set] [--local|--global] frozen|deployment true`: the install after it leaves Gemfile.lock alone. */
function setsBundleFrozen(command: Command): boolean {
  if (!isBundleConfig(command)) return false;
  const { operands } = splitWords(command.args as string[], []);
  const words = operands[1] === 'set' ? operands.slice(2) : operands.slice(1);
  return (words[0] === 'frozen' || words[0] === 'deployment') && (words[1] === 'true' || words[1] === '1');
}

function planComposer(install: Install, collect: Collector): void {
  collect.need('composer.json');
  collect.optional('composer.lock');
  collect.optional('auth.json');
  if (/"type"\s*:\s*"path"/.test(collect.read('composer.json') ?? '')) collect.refuse('composer.json has a path repository, which is part of the sources');
  collect.forbid('vendor', 'would be copied over the installed packages');
  if (!hasAny(install.options, '--no-plugins')) collect.unsafe('Composer plugins run during the install and may read the project (use --no-plugins if they do not)');
}

function planGo(install: Install, collect: Collector): void {
  collect.need('go.mod');
  collect.optional('go.sum');
  if (collect.present('go.work')) collect.refuse('go.work makes the module graph depend on other modules in the sources');
  const module = collect.read('go.mod') ?? '';
  if (/=>\s*(\.{1,2}\/|\/)/.test(module)) collect.refuse('go.mod replaces a module with a local directory, which is part of the sources');
  if (install.operands.length > 0) collect.unsafe(`\`go mod download\` of named modules may add their sums to go.sum, and the later copy puts the context's version back`);
}

function planMaven(install: Install, collect: Collector): void {
  const wrapper = install.command.name !== undefined && basename(install.command.name) === 'mvnw';
  if (wrapper) {
    if (install.command.name !== './mvnw' && install.command.name !== 'mvnw') collect.refuse(`${install.command.name} is not the project's own wrapper`);
    collect.need('mvnw');
    collect.need('.mvn', true);
  } else {
    collect.optional('.mvn', true);
  }
  collect.need('pom.xml');
  const pom = collect.read('pom.xml') ?? '';
  if (/<modules>/.test(pom)) collect.refuse('pom.xml is a multi-module build, whose modules are part of the sources');
  if (/<systemPath>/.test(pom)) collect.refuse('pom.xml has a system-scoped dependency on a file');
  const relativePath = /<relativePath>\s*([^<\s]*)\s*<\/relativePath>/.exec(pom);
  if (relativePath && relativePath[1] !== '' && !relativePath[1].startsWith('..')) collect.refuse(`pom.xml inherits from a parent in the project (${relativePath[1]})`);
}

function describeList(names: readonly string[]): string {
  const unique = [...new Set(names)];
  return unique.length <= 3 ? unique.join(', ') : `${unique.slice(0, 3).join(', ')} and ${unique.length - 3} more`;
}

// ---- edits --------------------------------------------------------------------

function moveEdits(doc: DockerfileDocument, copy: ContextCopy, run: InstructionInfo, reading: Extract<RunReading, { commands: unknown }>, prefix: number, manifests: readonly Manifest[]): Edit[] {
  const eol = doc.eol;
  // The COPY moves with the comment lines above it, and with the blank line that set it apart.
  const copyStart = doc.commentBlockStart(copy.instruction);
  const copyEnd = doc.nextLineStart(copy.instruction.end);
  const blankBefore = copyStart > 0 && isBlankLineAt(doc, doc.lineStart(copyStart - 1));
  const blankAfter = isBlankLineAt(doc, copyEnd);
  const moved = `${eol}${blankAfter ? eol : ''}${doc.text.slice(copyStart, doc.lineEnd(copy.instruction.end))}`;
  const edits: Edit[] = [Edit.remove(copyStart, blankBefore && blankAfter ? doc.nextLineStart(copyEnd) : copyEnd)];

  // The manifests go right above the RUN, below its comments unless one of them is a directive that must stay on the RUN.
  const runIndent = doc.indentationAt(run.start);
  const manifestLines = manifestCopies(doc, copy, manifests).map((line) => `${runIndent}${line}${eol}`).join('');
  const runBlock = doc.commentBlockStart(run);
  const runLine = doc.lineStart(run.start);
  const directiveAbove = DIRECTIVE.test(doc.text.slice(runBlock, runLine));
  edits.push(Edit.insert(directiveAbove ? runBlock : runLine, manifestLines));

  if (prefix === reading.commands.length) {
    // The line break after the RUN is replaced rather than inserted at: an edit of the RUN's end
    // by another transform (merging it with the next RUN) then collides and waits a pass.
    const end = doc.lineEnd(run.end);
    const next = doc.nextLineStart(run.end);
    edits.push(Edit.replace(end, next, `${moved}${doc.text.slice(end, next)}`));
    return edits;
  }
  // Split at the `&&` after the install: the first part ends the RUN, the sources follow, the rest is a new RUN.
  const script = reading.script!;
  const links = reading.links!;
  const gapStart = offsetAfter(script, links[prefix - 1].end);
  const gapEnd = sourceOffset(script, links[prefix].start);
  const comments = crossesCommentLine(doc, { start: gapStart, end: gapEnd })
    ? doc.text
        .slice(gapStart, gapEnd)
        .split(/\r\n|\r|\n/)
        .slice(1)
        .filter((line) => /^[ \t]*#/.test(line))
        .map((line) => `${line}${eol}`)
        .join('')
    : '';
  const keyword = doc.text.slice(run.start, doc.offsetAt(run.node.getInstructionRange().end));
  const flags = (run.node as unknown as { getFlags(): { getRange(): Range }[] }).getFlags().map((flag) => {
    const span = doc.span(flag.getRange());
    return `${doc.text.slice(span.start, span.end)} `;
  });
  edits.push(Edit.replace(gapStart, gapEnd, `${moved}${eol}${comments}${runIndent}${keyword} ${flags.join('')}`));
  return edits;
}

/** Comments that tools read as being about the instruction below them. */
const DIRECTIVE = /^[ \t]*#[ \t]*(?:dockopt-ignore|hadolint|checkov|trivy|kics|nosemgrep)/im;

function isBlankLineAt(doc: DockerfileDocument, lineStart: number): boolean {
  return lineStart < doc.text.length && /^[ \t]*$/.test(doc.text.slice(lineStart, doc.lineEnd(lineStart)));
}

/** One COPY per directory of manifests (files of the root together), each into the matching place under the destination. */
function manifestCopies(doc: DockerfileDocument, copy: ContextCopy, manifests: readonly Manifest[]): string[] {
  const written = doc.text.slice(copy.instruction.start, doc.offsetAt(copy.instruction.node.getInstructionRange().end));
  const keyword = written === written.toLowerCase() ? 'copy' : 'COPY';
  const flags = copy.flags.map((flag) => `${flag} `).join('');
  const base = copy.destination.startsWith('/') ? `${normalizeDirectory(copy.destination).replace(/\/$/, '')}/` : './';
  const groups = new Map<string, string[]>();
  const lines: string[] = [];
  for (const manifest of manifests) {
    if (manifest.directory) continue;
    const directory = posix.dirname(manifest.path);
    groups.set(directory, [...(groups.get(directory) ?? []), manifest.path]);
  }
  for (const [directory, files] of groups) lines.push(`${keyword} ${flags}${files.join(' ')} ${base}${directory === '.' ? '' : `${directory}/`}`);
  for (const manifest of manifests) if (manifest.directory) lines.push(`${keyword} ${flags}${manifest.path} ${base}${manifest.path}/`);
  return lines;
}

function oneLine(text: string): string {
  return text.replace(/\s*\\?\r?\n\s*/g, ' ').trim();
}
