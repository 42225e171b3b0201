// Node.js: dependencies are installed (npm/yarn/pnpm) and usually a build
// script writes dist/. The runtime stage is the slim image of the same Node
// version with production dependencies only:
// - when CMD runs a file under the build's output directory, the runtime stage
//   installs production dependencies from the lockfile and copies only that
//   directory (the issue's `npm ci --omit=dev`);
// - otherwise (CMD runs sources, `npm start`, or native modules were compiled
//   with node-gyp, which a slim image cannot redo) the build stage prunes its
//   dev dependencies and the runtime stage copies the whole app directory.
import path from 'node:path';
import { describeRuntimeImage, isAlpine, isSlim, writtenName, writtenTag, type BaseRef, type RuntimeImage } from '../images.js';
import { isWithin, resolvePath, type ShellCommand } from '../stage.js';
import { code, type Ecosystem, type PlanContext, refuse, type RuntimePlan, type SetupStep } from './types.js';

const posix = path.posix;

type Manager = 'npm' | 'yarn' | 'pnpm';

/** Directories build scripts conventionally write; CMD running a file below one means the build output is all it needs. */
const OUTPUT_DIRS = new Set(['dist', 'build', 'out', 'lib', '.output']);
/** Subcommands that install exactly what the lockfile and package.json say. */
const INSTALL = new Set(['ci', 'install', 'i', 'clean-install']);
const NPM_SUPPORT = new Set(['prune', 'cache', 'config', 'test', 't', 'audit', 'ls', 'list', 'pkg', 'set-script', 'dedupe', 'fund', 'doctor']);
/** Packages node-gyp needs to compile native modules; without them a slim image cannot reinstall those. */
const NODE_GYP_TOOLCHAIN = ['python3', 'python-is-python3', 'make', 'g++', 'build-essential', 'gcc'];

interface NodeCommand {
  readonly manager: Manager;
  readonly kind: 'install' | 'add' | 'script' | 'support' | 'global';
  readonly command: ShellCommand;
}

function readNodeCommand(command: ShellCommand): NodeCommand | undefined {
  const program = command.program;
  const args = command.args;
  if (program === 'npm') {
    if (args.some((arg) => arg === '-g' || arg === '--global' || arg === '--location=global')) return { manager: 'npm', kind: 'global', command };
    const subcommand = args.find((arg) => arg === undefined || !arg.startsWith('-'));
    if (subcommand === undefined) return undefined;
    if (INSTALL.has(subcommand)) {
      const operands = args.filter((arg) => arg === undefined || !arg.startsWith('-')).slice(1);
      return { manager: 'npm', kind: operands.length > 0 ? 'add' : 'install', command };
    }
    if (subcommand === 'run' || subcommand === 'run-script') return { manager: 'npm', kind: 'script', command };
    if (NPM_SUPPORT.has(subcommand)) return { manager: 'npm', kind: 'support', command };
    return undefined;
  }
  if (program === 'yarn') {
    const subcommand = args.find((arg) => arg === undefined || !arg.startsWith('-'));
    if (subcommand === undefined || subcommand === 'install') return { manager: 'yarn', kind: 'install', command };
    if (subcommand === 'global') return { manager: 'yarn', kind: 'global', command };
    if (subcommand === 'add') return { manager: 'yarn', kind: 'add', command };
    if (subcommand === 'cache' || subcommand === 'config' || subcommand === 'test' || subcommand === 'autoclean') return { manager: 'yarn', kind: 'support', command };
    return { manager: 'yarn', kind: 'script', command };
  }
  if (program === 'pnpm') {
    if (args.some((arg) => arg === '-g' || arg === '--global')) return { manager: 'pnpm', kind: 'global', command };
    const subcommand = args.find((arg) => arg === undefined || !arg.startsWith('-'));
    if (subcommand === undefined) return undefined;
    if (subcommand === 'install' || subcommand === 'i') return { manager: 'pnpm', kind: 'install', command };
    if (subcommand === 'add') return { manager: 'pnpm', kind: 'add', command };
    if (subcommand === 'fetch' || subcommand === 'prune' || subcommand === 'store' || subcommand === 'config' || subcommand === 'test') return { manager: 'pnpm', kind: 'support', command };
    return { manager: 'pnpm', kind: 'script', command };
  }
  // `node scripts/build.js`: a build script run directly.
  if (program === 'node' && args[0] !== undefined && /\.[cm]?js$/.test(args[0])) return { manager: 'npm', kind: 'script', command };
  if (program === 'corepack' && (args[0] === 'enable' || args[0] === 'prepare' || args[0] === 'install')) return { manager: 'npm', kind: 'support', command };
  if (program === 'npx' && (args[0] === 'tsc' || args[0] === 'vite' || args[0] === 'webpack' || args[0] === 'esbuild' || args[0] === 'next')) return { manager: 'npm', kind: 'script', command };
  return undefined;
}

export const node: Ecosystem = {
  id: 'node',
  label: 'Node.js',
  classify(command) {
    const read = readNodeCommand(command);
    if (!read) return undefined;
    return read.kind === 'support' ? 'support' : 'build';
  },
  plan(context) {
    const { model } = context;
    const entry = model.entry!;
    const argv = entry.argv!;
    const commands = context.commands.map(readNodeCommand).filter((read): read is NodeCommand => read !== undefined);
    const global = commands.find((read) => read.kind === 'global');
    if (global) return refuse(`${code(global.command)} installs a global package, which the runtime image would not have`, global.command.instruction);
    const installs = commands.filter((read) => read.kind === 'install' || read.kind === 'add');
    const managers = [...new Set(installs.map((read) => read.manager))];
    if (managers.length > 1) return refuse(`the build installs with ${managers.join(' and ')}; dockopt cannot tell which lockfile is the app's`, installs[0].command.instruction);
    const manager = managers[0];
    const appDir = model.finalWorkdir;
    if (appDir === undefined || appDir === '/') return refuse('the app has no WORKDIR of its own, so dockopt cannot tell which files are the app', model.stage.from);
    const outside = commands.find((read) => read.kind !== 'support' && (read.command.cwd === undefined || !isWithin(read.command.cwd, appDir)));
    if (outside) return refuse(`${code(outside.command)} runs outside the app directory ${appDir}`, outside.command.instruction);
    if (manager === 'yarn' && installs.some((read) => read.command.args.includes('--immutable'))) {
      return refuse('Yarn 2+ (--immutable) has no production-only install that dockopt can rely on', installs[0].command.instruction);
    }

    const runtime = context.runtimeOverride ?? nodeRuntime(model.base!);
    if (typeof runtime === 'string') return refuse(runtime, model.stage.from);
    const program = argv[0];
    const script = program === 'node' ? argv.slice(1).find((arg) => !arg.startsWith('-')) : undefined;
    const scriptPath = script === undefined ? undefined : resolvePath(appDir, script);
    if (script !== undefined && (scriptPath === undefined || !isWithin(scriptPath, appDir))) {
      return refuse(`${entry.instruction.keyword} runs ${script}, which is outside the app directory ${appDir}`, entry.instruction);
    }
    if (!['node', 'npm', 'yarn', 'pnpm'].includes(program)) return refuse(`${entry.instruction.keyword} runs ${program}, which dockopt cannot trace to the Node.js build`, entry.instruction);
    if ((program === 'yarn' || program === 'pnpm') && manager !== program) return refuse(`${entry.instruction.keyword} runs ${program}, which the runtime image does not have`, entry.instruction);

    const outputDir = scriptPath === undefined ? undefined : posix.relative(appDir, scriptPath).split('/')[0];
    const built = commands.some((read) => read.kind === 'script');
    const nativeModules = context.packages.some((item) => NODE_GYP_TOOLCHAIN.includes(item.name));
    const pinnedInstall = installs.length > 0 && installs.every((read) => read.kind === 'install');
    const common = {
      ecosystem: 'Node.js',
      runtime,
      buildDirs: [appDir],
      runtimePrograms: ['node', 'npm', ...(manager === 'yarn' ? ['yarn'] : [])],
      extraBuildOnly: nativeModules ? (name: string) => NODE_GYP_TOOLCHAIN.includes(name) : undefined,
      libraries: 'debian' as const,
    };
    if (built && outputDir !== undefined && OUTPUT_DIRS.has(outputDir) && !nativeModules && (pinnedInstall || installs.length === 0)) {
      const output = posix.join(appDir, outputDir);
      // Node reads package.json next to the code ("type": "module", "imports"), even without dependencies.
      const setup: SetupStep[] = installs.length === 0 ? [{ copyFromBuild: [posix.join(appDir, 'package.json')] }] : productionInstall(context, manager!, appDir);
      return { ...common, artifacts: [{ source: output, destination: output }], setup, summary: `${output} and production dependencies` } satisfies RuntimePlan;
    }
    const prune = installs.length === 0 ? undefined : pruneCommand(manager!, nodeMajor(model.base!));
    return {
      ...common,
      artifacts: [{ source: appDir, destination: appDir }],
      buildInsertions: prune === undefined ? [] : [{ lines: [`RUN ${prune}`] }],
      summary: prune === undefined ? `the app directory ${appDir}` : `the app directory ${appDir} with dev dependencies pruned`,
    } satisfies RuntimePlan;
  },
};

/** The manifest and lockfile from the build stage, then the production-only install. */
function productionInstall(context: PlanContext, manager: Manager, appDir: string): SetupStep[] {
  const manifests = manager === 'npm' ? ['package*.json'] : manager === 'yarn' ? ['package.json', 'yarn.lock'] : ['package.json', 'pnpm-lock.yaml'];
  const corepack = context.commands.some((command) => command.program === 'corepack');
  const major = nodeMajor(context.model.base!);
  const install =
    manager === 'npm'
      ? `npm ci ${major !== undefined && major < 16 ? '--production' : '--omit=dev'}`
      : manager === 'yarn'
        ? 'yarn install --frozen-lockfile --production'
        : 'pnpm install --frozen-lockfile --prod';
  return [{ copyFromBuild: manifests.map((file) => posix.join(appDir, file)) }, { run: `${corepack ? 'corepack enable && ' : ''}${install}` }];
}

function pruneCommand(manager: Manager, major: number | undefined): string {
  if (manager === 'npm') return `npm prune ${major !== undefined && major < 16 ? '--production' : '--omit=dev'}`;
  if (manager === 'pnpm') return 'pnpm prune --prod';
  // Yarn 1 has no prune: a production install from its own cache removes the dev dependencies.
  return 'yarn install --frozen-lockfile --production --ignore-scripts --prefer-offline';
}

function nodeMajor(base: BaseRef): number | undefined {
  const match = /^(\d+)/.exec(base.tag);
  return match ? Number(match[1]) : undefined;
}

/** node:<version>-slim (keeping the Debian release the tag names); slim and Alpine tags are already minimal. */
function nodeRuntime(base: BaseRef): RuntimeImage | string {
  if (base.official !== 'node') return `dockopt does not know a slimmer Node.js runtime image for ${base.resolved}`;
  if (isSlim(base) || isAlpine(base)) return describeRuntimeImage(base.written, base.resolved);
  const tag = writtenTag(base);
  const name = writtenName(base);
  if (tag === undefined || base.tag === 'latest') return describeRuntimeImage(`${name}:slim`, 'node:slim');
  // node:20 → node:20-slim, node:20-bookworm → node:20-bookworm-slim: the same Node and Debian release.
  return describeRuntimeImage(`${name}:${tag}-slim`, `node:${base.tag}-slim`);
}
