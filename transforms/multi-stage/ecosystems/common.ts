// Commands every build uses whatever the language: package managers, shell
// helpers, and file operations (whose targets decide whether the runtime image
// would miss something), plus finding the file the container runs.
import path from 'node:path';
import { readPackageCommand, type PackageCommand } from '../packages.js';
import { hasWildcard, isWithin, resolvePath, STANDARD_PATH, type ShellCommand, type StageModel } from '../stage.js';

const posix = path.posix;


/** Directories whose content never matters at runtime. */
const SCRATCH_DIRS = ['/tmp', '/var/tmp', '/var/cache', '/var/lib/apt/lists', '/root/.cache'];

export type CommonRole =
  | { readonly kind: 'harmless' }
  /** Creates a user or group, which the runtime stage has to do again. */
  | { readonly kind: 'users' }
  | { readonly kind: 'packages'; readonly packages: PackageCommand }
  /** Creates or changes files: every target has to be something the runtime stage does not need or gets anyway. */
  | { readonly kind: 'files'; readonly targets: readonly (string | undefined)[]; readonly produced: readonly Produced[] };

/** A file a cp/mv/install/ln puts somewhere, as a candidate for what the container runs. */
export interface Produced {
  readonly command: ShellCommand;
  /** Where the file ends up; a destination that may be a directory gives two candidates. */
  readonly candidates: readonly string[];
}

const HARMLESS = new Set([
  'set', 'cd', 'pushd', 'popd', 'echo', 'printf', 'true', 'false', ':', 'test', '[', 'ls', 'pwd', 'cat', 'head', 'tail', 'wc', 'grep',
  'which', 'type', 'id', 'whoami', 'uname', 'nproc', 'date', 'sleep', 'du', 'df', 'file', 'sha256sum', 'sha512sum', 'sha1sum', 'md5sum',
  'ldd', 'stat', 'rm', 'rmdir', 'tree', 'unset',
]);

const VERSION_PROBES = new Set(['--version', '-version', '-v', '-V', 'version']);
const USER_TOOLS = new Set(['groupadd', 'useradd', 'addgroup', 'adduser']);

/** `go version`, `node --version`: prints and changes nothing. */
export function isVersionProbe(command: ShellCommand): boolean {
  return command.args.length === 1 && command.args[0] !== undefined && VERSION_PROBES.has(command.args[0]);
}

/** What a command outside any language ecosystem does, or undefined when dockopt cannot tell. */
export function classifyCommon(command: ShellCommand): CommonRole | undefined {
  const program = command.program;
  if (program === undefined) return undefined;
  if (isVersionProbe(command)) return { kind: 'harmless' };
  if (program === 'command' && command.args[0] === '-v') return { kind: 'harmless' };
  if (program === 'env' && command.args.length === 0) return { kind: 'harmless' };
  if (program === 'find') return command.args.some((arg) => arg === undefined || /^-(?:exec|execdir|ok|okdir|fprint|fprintf|fls)/.test(arg)) ? undefined : { kind: 'harmless' };
  if (HARMLESS.has(program)) return { kind: 'harmless' };
  if (USER_TOOLS.has(program)) return { kind: 'users' };
  const packages = readPackageCommand(command);
  if (packages) return { kind: 'packages', packages };
  return fileOperation(command);
}

const VALUE_OPTIONS: Readonly<Record<string, ReadonlySet<string>>> = {
  install: new Set(['-m', '--mode', '-o', '--owner', '-g', '--group', '-S', '--suffix', '-t', '--target-directory']),
  cp: new Set(['-t', '--target-directory', '-S', '--suffix']),
  mv: new Set(['-t', '--target-directory', '-S', '--suffix']),
  ln: new Set(['-t', '--target-directory', '-S', '--suffix']),
  mkdir: new Set(['-m', '--mode']),
  chmod: new Set([]),
  chown: new Set([]),
  chgrp: new Set([]),
  touch: new Set(['-d', '-r', '-t', '--date', '--reference']),
  strip: new Set(['-o', '-R', '-K', '-N']),
};

function fileOperation(command: ShellCommand): CommonRole | undefined {
  const program = command.program!;
  const valueOptions = VALUE_OPTIONS[program];
  if (!valueOptions) return undefined;
  const words: (string | undefined)[] = [];
  let targetDirectory: string | undefined | null = null;
  let directoryMode = false;
  let output: string | undefined | null = null;
  for (let i = 0; i < command.args.length; i++) {
    const arg = command.args[i];
    if (arg === undefined || !arg.startsWith('-') || arg === '-') {
      words.push(arg);
      continue;
    }
    const [flag, inline] = arg.startsWith('--') && arg.includes('=') ? [arg.slice(0, arg.indexOf('=')), arg.slice(arg.indexOf('=') + 1)] : [arg, undefined];
    const value = valueOptions.has(flag) ? (inline ?? command.args[++i]) : undefined;
    if (flag === '-t' || flag === '--target-directory') targetDirectory = value;
    if (program === 'strip' && flag === '-o') output = value;
    if (program === 'install' && (flag === '-d' || flag === '--directory')) directoryMode = true;
  }
  const resolve = (word: string | undefined) => (word === undefined ? undefined : resolvePath(command.cwd, word));
  switch (program) {
    case 'chmod':
    case 'chown':
    case 'chgrp':
      // The first operand is the mode or owner.
      return { kind: 'files', targets: words.slice(1).map(resolve), produced: [] };
    case 'mkdir':
    case 'touch':
      return { kind: 'files', targets: words.map(resolve), produced: [] };
    case 'strip':
      return { kind: 'files', targets: output === null ? words.map(resolve) : [resolve(output)], produced: [] };
    default: {
      if (program === 'install' && directoryMode) return { kind: 'files', targets: words.map(resolve), produced: [] };
      const sources = targetDirectory === null ? words.slice(0, -1) : words;
      const destination = targetDirectory === null ? words[words.length - 1] : targetDirectory;
      const target = resolve(destination);
      if (sources.length === 0) return undefined;
      const intoDirectory = targetDirectory !== null || sources.length > 1 || (destination ?? '').endsWith('/');
      const candidates: string[] = [];
      if (target !== undefined) {
        for (const source of sources) {
          const name = source === undefined || hasWildcard(source) ? undefined : posix.basename(source);
          if (!intoDirectory) candidates.push(target);
          if (name !== undefined) candidates.push(posix.join(target, name));
        }
      }
      return { kind: 'files', targets: [target], produced: [{ command, candidates: [...new Set(candidates)] }] };
    }
  }
}

/** Whether a path only matters while building: scratch space, or inside one of the build's directories. */
export function isBuildSide(target: string, buildDirs: readonly string[]): boolean {
  return [...SCRATCH_DIRS, ...buildDirs].some((dir) => dir !== '/' && isWithin(target, dir));
}

/** PATH the container starts with: the stage's own ENV PATH when fixed, else the images' standard one plus extras. */
export function searchPath(model: StageModel, imageDirs: readonly string[] = []): string[] {
  const value = model.finalEnv.get('PATH');
  if (value !== undefined) return value.split(':').filter(Boolean);
  return [...imageDirs, ...STANDARD_PATH];
}

/** Whether the stage itself puts dir on PATH (so a runtime stage that repeats its ENV finds programs there). */
function stageAddsToPath(model: StageModel, dir: string): boolean {
  const value = model.finalEnv.get('PATH');
  return value !== undefined && value.split(':').includes(dir);
}

/**
 * The file the container runs, for a program name or path: the candidate it
 * names (directly, relative to the working directory, or through PATH).
 */
export function findRunTarget(model: StageModel, program: string, candidates: readonly string[], imagePathDirs: readonly string[] = []): string | undefined {
  if (program.includes('/')) {
    const target = resolvePath(model.finalWorkdir, program);
    return target !== undefined && candidates.includes(target) ? target : undefined;
  }
  for (const dir of searchPath(model, imagePathDirs)) {
    const target = posix.join(dir, program);
    if (candidates.includes(target)) return target;
  }
  return undefined;
}

/** Where a program found on the build's PATH goes in the runtime image so that the same CMD still finds it. */
export function runtimeDestination(model: StageModel, program: string, source: string): string {
  if (program.includes('/')) return source;
  const dir = posix.dirname(source);
  return STANDARD_PATH.includes(dir) || stageAddsToPath(model, dir) ? source : posix.join('/usr/local/bin', posix.basename(source));
}
