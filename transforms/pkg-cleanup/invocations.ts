// Recognising package-manager calls in a parsed RUN: which tool, which
// subcommand, and which options are already there (in any of their
// spellings). Reading only; the transform decides what to edit.
import { commandArguments, commandName, type ShellNode } from '../../src/shell/script.js';
import { literalValue } from '../../src/shell/structure.js';

export type Tool = 'apt-get' | 'apt' | 'apk' | 'yum' | 'dnf' | 'microdnf' | 'zypper' | 'pip' | 'npm' | 'yarn' | 'gem';

export interface Argument {
  readonly node: ShellNode;
  /** The word as the tool receives it, or undefined when it has an expansion. */
  readonly value?: string;
}

export interface Invocation {
  readonly tool: Tool;
  /** The program as written, for messages: `apt-get`, `/usr/bin/apt`, `python3 -m pip`. */
  readonly program: string;
  readonly command: ShellNode;
  /** The command_name node (`apt` in `apt install`). */
  readonly nameNode: ShellNode;
  /** Arguments after the program (after `-m pip` for `python -m pip`). */
  readonly args: readonly Argument[];
  /** Index into args of the subcommand, -1 when there is none (bare `yarn`). */
  readonly subcommandIndex: number;
  /** The subcommand, with `yarn global add` folded to `global add`. */
  readonly subcommand?: string;
  /** Names set by `NAME=value` in front of the command. */
  readonly envPrefix: readonly string[];
}

/** Options that take the next word as their value, per tool (both spellings where they exist). */
const OPTIONS_WITH_VALUE: Record<Tool, readonly string[]> = {
  'apt-get': ['-o', '-c', '-t', '-a', '--option', '--config-file', '--target-release', '--default-release', '--host-architecture'],
  apt: ['-o', '-c', '-t', '-a', '--option', '--config-file', '--target-release', '--default-release', '--host-architecture'],
  apk: ['-X', '--repository', '-p', '--root', '--arch', '--cache-dir', '--keys-dir', '--repositories-file', '--wait', '--timeout', '--progress-fd'],
  yum: ['-c', '--config', '--installroot', '--enablerepo', '--disablerepo', '--repo', '--repoid', '--setopt', '-x', '--exclude', '--releasever', '-d', '--debuglevel', '-e', '--errorlevel', '--downloaddir', '--forcearch'],
  dnf: ['-c', '--config', '--installroot', '--enablerepo', '--disablerepo', '--repo', '--repoid', '--setopt', '-x', '--exclude', '--releasever', '-d', '--debuglevel', '-e', '--errorlevel', '--downloaddir', '--forcearch'],
  microdnf: ['--config', '--installroot', '--enablerepo', '--disablerepo', '--setopt', '--releasever'],
  zypper: ['-c', '--config', '-R', '--root', '--installroot', '-D', '--reposd-dir', '-C', '--cache-dir', '--raw-cache-dir', '--solv-cache-dir', '--pkg-cache-dir', '-p', '--plus-repo', '--userdata'],
  pip: ['--proxy', '--log', '--cache-dir', '--timeout', '--retries', '--exists-action', '--trusted-host', '--cert', '--client-cert', '--python'],
  npm: ['--prefix', '-C', '--loglevel', '--registry', '--cache', '--userconfig', '-w', '--workspace'],
  yarn: ['--cwd', '--cache-folder', '--modules-folder', '--network-timeout', '--mutex', '--registry', '--global-folder'],
  gem: [],
};

/** Short options whose value is the rest of the cluster (`-oAPT::Foo=1`). */
const SHORT_WITH_VALUE: Partial<Record<Tool, string>> = { 'apt-get': 'octa', apt: 'octa' };

const PIP = /^pip(?:3(?:\.\d+)?)?$/;
const PYTHON = /^python(?:3(?:\.\d+)?)?$/;

/** The program's file name: `/usr/bin/apt-get` → `apt-get`. */
export function basename(name: string): string {
  return name.slice(name.lastIndexOf('/') + 1);
}

function toolOf(name: string): Tool | undefined {
  const base = basename(name);
  if (PIP.test(base)) return 'pip';
  switch (base) {
    case 'apt-get':
    case 'apt':
    case 'apk':
    case 'yum':
    case 'dnf':
    case 'microdnf':
    case 'zypper':
    case 'npm':
    case 'yarn':
    case 'gem':
      return base;
    default:
      return undefined;
  }
}

/** The package-manager call a command node is, or undefined. */
export function invocationOf(command: ShellNode): Invocation | undefined {
  const name = commandName(command);
  const nameNode = command.childForFieldName('name');
  if (!name || !nameNode) return undefined;
  let tool = toolOf(name);
  // Arguments are only worth reading (each node crosses into WASM) for a package manager or python.
  if (!tool && !PYTHON.test(basename(name))) return undefined;
  let args: Argument[] = commandArguments(command).map((node) => ({ node, value: literalValue(node) }));
  let program = name;
  if (!tool && args[0]?.value === '-m' && args[1]?.value === 'pip') {
    tool = 'pip';
    program = `${name} -m pip`;
    args = args.slice(2);
  }
  if (!tool) return undefined;
  const envPrefix = command.children
    .filter((child): child is ShellNode => child?.type === 'variable_assignment')
    .map((assignment) => assignment.childForFieldName('name')?.text ?? '');
  const subcommandIndex = findSubcommand(tool, args);
  let subcommand = subcommandIndex >= 0 ? args[subcommandIndex].value : undefined;
  if (tool === 'yarn' && subcommand === 'global' && args[subcommandIndex + 1]?.value) subcommand = `global ${args[subcommandIndex + 1].value}`;
  return { tool, program, command, nameNode, args, subcommandIndex, subcommand, envPrefix };
}

function findSubcommand(tool: Tool, args: readonly Argument[]): number {
  const withValue = OPTIONS_WITH_VALUE[tool];
  for (let i = 0; i < args.length; i++) {
    const value = args[i].value;
    if (value === undefined) continue; // an expansion: most likely options, keep looking
    if (!value.startsWith('-')) return i;
    if (withValue.includes(value)) i++;
  }
  return -1;
}

/** The literal options of an invocation, split so that `-qy` yields `-q` and `-y` and `-oX=1` yields `-o` + `X=1`. */
export interface Option {
  readonly name: string;
  readonly value?: string;
  /** Index in args of the word that holds the option name. */
  readonly index: number;
}

export function optionsOf(invocation: Invocation): Option[] {
  const options: Option[] = [];
  const { args, tool } = invocation;
  const withValue = OPTIONS_WITH_VALUE[tool];
  const shortWithValue = SHORT_WITH_VALUE[tool] ?? '';
  for (let i = 0; i < args.length; i++) {
    const word = args[i].value;
    if (word === undefined || !word.startsWith('-') || word === '-' || word === '--') continue;
    if (word.startsWith('--')) {
      const equals = word.indexOf('=');
      if (equals > 0) options.push({ name: word.slice(0, equals), value: word.slice(equals + 1), index: i });
      else if (withValue.includes(word)) options.push({ name: word, value: args[++i]?.value, index: i - 1 });
      else options.push({ name: word, index: i });
      continue;
    }
    if (withValue.includes(word) && word.length === 2) {
      options.push({ name: word, value: args[++i]?.value, index: i - 1 });
      continue;
    }
    // A cluster of short options; for apt, a value-taking letter ends it.
    for (let c = 1; c < word.length; c++) {
      const letter = word[c];
      if (shortWithValue.includes(letter)) {
        const rest = word.slice(c + 1);
        if (rest) options.push({ name: `-${letter}`, value: rest, index: i });
        else options.push({ name: `-${letter}`, value: args[++i]?.value, index: i - 1 });
        break;
      }
      options.push({ name: `-${letter}`, index: i });
    }
  }
  return options;
}

export function hasOption(invocation: Invocation, ...names: string[]): boolean {
  return optionsOf(invocation).some((option) => names.includes(option.name));
}

/** The value of `-o Key=value` / `--setopt=key=value` style settings, keys compared case-insensitively. */
export function settingValue(invocation: Invocation, optionNames: readonly string[], key: string): string | undefined {
  for (const option of optionsOf(invocation)) {
    if (!optionNames.includes(option.name) || option.value === undefined) continue;
    const equals = option.value.indexOf('=');
    if (equals > 0 && option.value.slice(0, equals).toLowerCase() === key.toLowerCase()) return option.value.slice(equals + 1);
  }
  return undefined;
}

const FALSE_VALUES = new Set(['0', 'false', 'no', 'off']);
export function isFalse(value: string | undefined): boolean {
  return value !== undefined && FALSE_VALUES.has(value.toLowerCase());
}
