// Rust: `cargo build --release` leaves binaries in target/release/; the one CMD
// runs goes onto the slim image of the Debian release the rust image is built
// on (Rust links glibc dynamically, so the release must match).
import path from 'node:path';
import { findRunTarget, runtimeDestination, searchPath } from './common.js';
import { alpineVersion, debianCodename, debianSlim, describeRuntimeImage, isAlpine, type BaseRef, type RuntimeImage } from '../images.js';
import { imagePathDirs, resolvePath, type ShellCommand, type StageModel } from '../stage.js';
import { code, type Ecosystem, refuse, type RuntimePlan } from './types.js';

const posix = path.posix;

const SUPPORT = new Set(['fetch', 'test', 'check', 'clippy', 'fmt', 'vendor', 'generate-lockfile', 'update', 'tree', 'version', 'doc']);
const VALUE_OPTIONS = new Set(['--profile', '--target', '--target-dir', '--bin', '--example', '-p', '--package', '--features', '-F', '-j', '--jobs', '--manifest-path', '--root', '--path', '--color', '--config', '-Z']);
/** CARGO_HOME in the official rust image (its bin/ is on the image's PATH). */
const RUST_IMAGE_CARGO_HOME = '/usr/local/cargo';

interface CargoBuild {
  readonly command: ShellCommand;
  /** Directory the binaries land in. */
  readonly outputDir: string;
  /** The binary's name when --bin names it. */
  readonly name?: string;
}

export const rust: Ecosystem = {
  id: 'rust',
  label: 'Rust',
  classify(command) {
    if (command.program === 'rustup') return 'support';
    if (command.program !== 'cargo') return undefined;
    const subcommand = command.args[0];
    if (subcommand === 'build' || subcommand === 'install') return 'build';
    return subcommand !== undefined && SUPPORT.has(subcommand) ? 'support' : undefined;
  },
  plan(context) {
    const { model } = context;
    const entry = model.entry!;
    const program = entry.argv![0];
    const builds: CargoBuild[] = [];
    for (const command of context.commands) {
      if (command.program !== 'cargo' || (command.args[0] !== 'build' && command.args[0] !== 'install')) continue;
      const build = readCargo(model, command);
      if (typeof build === 'string') return refuse(build, command.instruction);
      builds.push(build);
    }
    const dirs = [...new Set(builds.map((build) => build.outputDir))];
    if (dirs.length > 1) return refuse(`the build puts binaries in several places (${dirs.join(', ')}); dockopt cannot tell which the runtime needs`, builds[1].command.instruction);
    const build = builds[0];

    const imagePath = imagePathDirs(model.base);
    const produced = context.produced.flatMap((item) => item.candidates);
    let target = findRunTarget(model, program, [...(build.name ? [posix.join(build.outputDir, build.name)] : []), ...produced], imagePath);
    if (target === undefined && build.name === undefined) {
      // Without --bin, cargo names binaries after the package; accept the one CMD runs from the output directory.
      const resolved = program.includes('/') ? resolvePath(model.finalWorkdir, program) : searchPath(model, imagePath).includes(build.outputDir) ? posix.join(build.outputDir, program) : undefined;
      if (resolved !== undefined && posix.dirname(resolved) === build.outputDir) target = resolved;
    }
    if (target === undefined) return refuse(`${entry.instruction.keyword} runs ${program}, which dockopt cannot trace to the cargo build output`, entry.instruction);

    const runtime = context.runtimeOverride ?? rustRuntime(model.base!);
    if (typeof runtime === 'string') return refuse(runtime, model.stage.from);
    const buildDirs = context.commands.map((command) => command.cwd).filter((cwd): cwd is string => cwd !== undefined && cwd !== '/');
    return {
      ecosystem: 'Rust',
      runtime,
      artifacts: [{ source: target, destination: runtimeDestination(model, program, target) }],
      buildDirs: [...new Set(buildDirs)],
      runtimePrograms: [],
      impliedPackages: model.base?.official === 'rust' && runtime.packageManager === 'apt' ? ['ca-certificates'] : [],
      libraries: 'debian',
      summary: `only ${target}`,
    } satisfies RuntimePlan;
  },
};

function readCargo(model: StageModel, command: ShellCommand): CargoBuild | string {
  const install = command.args[0] === 'install';
  const options = new Map<string, string | undefined>();
  const operands: string[] = [];
  const args = command.args.slice(1);
  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    if (arg === undefined) return `${code(command)} has computed arguments; dockopt cannot tell what it builds`;
    if (!arg.startsWith('-')) {
      operands.push(arg);
      continue;
    }
    const [flag, inline] = arg.includes('=') ? [arg.slice(0, arg.indexOf('=')), arg.slice(arg.indexOf('=') + 1)] : [arg, undefined];
    options.set(flag, VALUE_OPTIONS.has(flag) ? (inline ?? args[++i]) : '');
  }
  if (install) {
    // `cargo install <crate>` fetches a tool from crates.io; only `--path` installs the project itself.
    if (!options.has('--path') || operands.length > 0) return `${code(command)} installs a tool from crates.io, which the runtime may also need`;
    const root = options.get('--root') ?? command.env.get('CARGO_INSTALL_ROOT') ?? command.env.get('CARGO_HOME') ?? (model.base?.official === 'rust' ? RUST_IMAGE_CARGO_HOME : undefined);
    if (root === undefined) return `${code(command)} installs into CARGO_HOME, which dockopt cannot locate here`;
    return { command, outputDir: posix.join(root, 'bin'), name: options.get('--bin') };
  }
  if (options.has('--manifest-path') || options.has('--example') || options.has('--examples')) return `${code(command)} builds something other than the package in its directory`;
  if (command.cwd === undefined) return `${code(command)} runs in a directory dockopt cannot resolve`;
  const targetDir = options.get('--target-dir') ?? command.env.get('CARGO_TARGET_DIR') ?? 'target';
  const profile = options.get('--profile') ?? (options.has('--release') || options.has('-r') ? 'release' : 'debug');
  const profileDir = profile === 'dev' || profile === 'test' ? 'debug' : profile === 'bench' ? 'release' : profile;
  const triple = options.get('--target');
  const base = resolvePath(command.cwd, targetDir);
  if (base === undefined || profileDir === undefined) return `${code(command)} builds into a directory dockopt cannot resolve`;
  return { command, outputDir: triple === undefined ? posix.join(base, profileDir) : posix.join(base, triple, profileDir), name: options.get('--bin') };
}

/** The slim image of the rust image's Debian release (or the Alpine release for musl builds). */
function rustRuntime(base: BaseRef): RuntimeImage | string {
  if (isAlpine(base)) {
    const version = alpineVersion(base);
    if (version === undefined) return `${base.resolved} does not name its Alpine release, so dockopt cannot choose a matching runtime image (name it, or pass --runtime-base)`;
    return describeRuntimeImage(`alpine:${version}`);
  }
  if (base.official !== 'rust' && base.official !== 'debian' && base.official !== 'buildpack-deps') return `dockopt does not know a runtime image that matches ${base.resolved}`;
  const codename = debianCodename(base);
  if (codename === undefined) {
    return `${base.resolved} does not name its Debian release, and the binary links the build's glibc, so dockopt cannot choose a matching runtime image (name it, e.g. ${base.image.name}:${base.tag === 'latest' ? '' : `${base.tag}-`}bookworm, or pass --runtime-base)`;
  }
  return describeRuntimeImage(debianSlim(codename));
}
