// Python: pip installs into a virtualenv that the runtime stage copies whole,
// next to the app directory, onto python:<same version>-slim. Packages built
// from source (gcc, -dev headers) stay in the build stage; their shared
// libraries must exist in the slim image, which is checked by the caller.
import { describeRuntimeImage, isAlpine, isSlim, writtenName, writtenTag, DEBIAN_RELEASES, type BaseRef, type RuntimeImage } from '../images.js';
import { isWithin, resolvePath, type ShellCommand } from '../stage.js';
import { code, type Ecosystem, refuse, type RuntimePlan } from './types.js';

const PIP = /^pip(?:3(?:\.\d+)?)?$/;
const PYTHON = /^python(?:3(?:\.\d+)?)?$/;
/** Where the build stage creates the virtualenv when the Dockerfile has none. */
const VENV = '/opt/venv';
/** Tools with their own environments and lockfiles, which this transform does not model yet. */
const OTHER_TOOLS = new Set(['poetry', 'pipenv', 'uv', 'pdm', 'conda', 'mamba', 'virtualenv']);
const PIP_SUPPORT = new Set(['uninstall', 'list', 'freeze', 'check', 'show', 'config', 'cache', 'wheel', 'download', 'debug', '--version']);
/** pip options that install somewhere other than the active environment. */
const ELSEWHERE = /^(?:--user|--target|-t|--prefix|--root)(?:=|$)/;

type PythonCommand =
  | { readonly kind: 'pip-install' | 'pip-support'; readonly command: ShellCommand; readonly args: readonly (string | undefined)[] }
  | { readonly kind: 'venv'; readonly command: ShellCommand; readonly dir?: string }
  | { readonly kind: 'compileall' | 'setup'; readonly command: ShellCommand }
  | { readonly kind: 'other-tool'; readonly command: ShellCommand };

function readPythonCommand(command: ShellCommand): PythonCommand | undefined {
  const program = command.program ?? '';
  if (OTHER_TOOLS.has(program)) return { kind: 'other-tool', command };
  let args = command.args;
  if (PYTHON.test(program)) {
    if (args[0] === '-m' && args[1] !== undefined && PIP.test(args[1])) args = args.slice(2);
    else if (args[0] === '-m' && args[1] === 'venv') {
      const dir = args.slice(2).find((arg) => arg === undefined || !arg.startsWith('-'));
      return { kind: 'venv', command, dir: dir === undefined ? undefined : resolvePath(command.cwd, dir) };
    } else if (args[0] === '-m' && args[1] === 'compileall') return { kind: 'compileall', command };
    else if (args[0] === 'setup.py' && (args[1] === 'install' || args[1] === 'build' || args[1] === 'bdist_wheel')) return { kind: 'setup', command };
    else return undefined;
  } else if (!PIP.test(program)) return undefined;
  const subcommand = args.find((arg) => arg === undefined || !arg.startsWith('-'));
  if (subcommand === 'install') return { kind: 'pip-install', command, args };
  if (subcommand !== undefined && PIP_SUPPORT.has(subcommand)) return { kind: 'pip-support', command, args };
  if (subcommand === undefined && args.length === 1 && args[0] === '--version') return { kind: 'pip-support', command, args };
  return undefined;
}

export const python: Ecosystem = {
  id: 'python',
  label: 'Python',
  classify(command) {
    const read = readPythonCommand(command);
    if (!read) return undefined;
    return read.kind === 'pip-install' || read.kind === 'setup' || read.kind === 'other-tool' ? 'build' : 'support';
  },
  plan(context) {
    const { model } = context;
    const entry = model.entry!;
    const argv = entry.argv!;
    const commands = context.commands.map(readPythonCommand).filter((read): read is PythonCommand => read !== undefined);
    const tool = commands.find((read) => read.kind === 'other-tool');
    if (tool) return refuse(`${tool.command.program} manages its own environment, which dockopt does not split yet`, tool.command.instruction);
    const appDir = model.finalWorkdir;
    if (appDir === undefined || appDir === '/') return refuse('the app has no WORKDIR of its own, so dockopt cannot tell which files are the app', model.stage.from);

    const venvs = commands.filter((read): read is Extract<PythonCommand, { kind: 'venv' }> => read.kind === 'venv');
    if (venvs.some((venv) => venv.dir === undefined)) return refuse('the virtualenv is created at a path dockopt cannot resolve', venvs[0].command.instruction);
    const venvDirs = [...new Set(venvs.map((venv) => venv.dir!))];
    if (venvDirs.length > 1) return refuse(`the build creates several virtualenvs (${venvDirs.join(', ')})`, venvs[1].command.instruction);
    const ownVenv = venvDirs[0];
    const venv = ownVenv ?? VENV;

    const installs = commands.filter((read) => read.kind === 'pip-install' || read.kind === 'setup');
    for (const install of installs) {
      const args = install.kind === 'pip-install' ? install.args : [];
      const elsewhere = args.find((arg) => arg !== undefined && ELSEWHERE.test(arg));
      if (elsewhere) return refuse(`${code(install.command)} installs with ${elsewhere} outside the environment the runtime stage copies`, install.command.instruction);
      const name = install.command.name ?? '';
      if (name.startsWith('/') && !isWithin(name, venv)) return refuse(`${code(install.command)} runs ${name}, outside the virtualenv ${venv}`, install.command.instruction);
      if (ownVenv !== undefined && !name.startsWith('/') && !onPath(install.command, `${ownVenv}/bin`)) {
        return refuse(`${code(install.command)} does not run inside the virtualenv ${ownVenv}`, install.command.instruction);
      }
      if (ownVenv !== undefined && venvs[0].command.instruction.start > install.command.instruction.start) {
        return refuse(`${code(install.command)} runs before the virtualenv ${ownVenv} exists`, install.command.instruction);
      }
    }
    if (installs.length === 0) return refuse('no pip install runs', context.commands[0].instruction);

    const program = argv[0];
    if (program.startsWith('/') && !isWithin(program, venv) && !isWithin(program, appDir)) {
      return refuse(`${entry.instruction.keyword} runs ${program}, which bypasses the virtualenv the runtime stage gets`, entry.instruction);
    }
    const runtime = context.runtimeOverride ?? pythonRuntime(model.base!);
    if (typeof runtime === 'string') return refuse(runtime, model.stage.from);

    const firstInstall = installs[0].command.instruction;
    const inputs = installs.flatMap((install) => (install.kind === 'pip-install' ? requirementFiles(install.command, install.args) : []));
    const artifacts = isWithin(venv, appDir) ? [{ source: appDir, destination: appDir }] : [{ source: venv, destination: venv }, { source: appDir, destination: appDir }];
    return {
      ecosystem: 'Python',
      runtime,
      artifacts,
      env: ownVenv === undefined ? [`ENV PATH="${VENV}/bin:$PATH"`] : [],
      buildInsertions: ownVenv === undefined ? [{ before: firstInstall, lines: [`RUN python -m venv ${VENV}`, `ENV PATH="${VENV}/bin:$PATH"`] }] : [],
      buildDirs: [appDir, venv, ...inputs],
      runtimePrograms: ['python', 'python3', 'pip', 'pip3'],
      libraries: 'python',
      copiesEverything: true,
      summary: `the virtualenv ${venv} and the app directory ${appDir}`,
    } satisfies RuntimePlan;
  },
};

function onPath(command: ShellCommand, dir: string): boolean {
  return command.env.get('PATH')?.split(':').includes(dir) ?? false;
}

function requirementFiles(command: ShellCommand, args: readonly (string | undefined)[]): string[] {
  const files: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    const value = arg === '-r' || arg === '--requirement' || arg === '-c' || arg === '--constraint' ? args[++i] : /^--(?:requirement|constraint)=(.*)$/.exec(arg ?? '')?.[1];
    const resolved = value === undefined ? undefined : resolvePath(command.cwd, value);
    if (resolved !== undefined) files.push(resolved);
  }
  return files;
}

/** python:<version>-slim of the same Debian release; slim and Alpine tags are already minimal. */
function pythonRuntime(base: BaseRef): RuntimeImage | string {
  if (base.official !== 'python') return `dockopt does not know a slimmer Python runtime image for ${base.resolved}`;
  if (/windowsservercore|nanoserver/.test(base.tag)) return `${base.resolved} is a Windows image`;
  if (isSlim(base) || isAlpine(base)) return describeRuntimeImage(base.written, base.resolved);
  const tag = writtenTag(base);
  const name = writtenName(base);
  if (tag === undefined || base.tag === 'latest') return describeRuntimeImage(`${name}:slim`, 'python:slim');
  // python:3.12-bookworm → python:3.12-slim-bookworm (Python's tags put slim before the release).
  const release = Object.keys(DEBIAN_RELEASES).find((codename) => tag.endsWith(`-${codename}`));
  if (release !== undefined) {
    const slim = `${tag.slice(0, -release.length - 1)}-slim-${release}`;
    return describeRuntimeImage(`${name}:${slim}`, `python:${base.tag.slice(0, -release.length - 1)}-slim-${release}`);
  }
  if (Object.keys(DEBIAN_RELEASES).includes(tag)) return describeRuntimeImage(`${name}:slim-${tag}`, `python:slim-${tag}`);
  return describeRuntimeImage(`${name}:${tag}-slim`, `python:${base.tag}-slim`);
}
