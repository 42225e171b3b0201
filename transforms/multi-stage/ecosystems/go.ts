// Go: `go build` (or `go install`) makes one binary. Built with CGO_ENABLED=0 it
// is static and runs on distroless/static, which still has CA certificates,
// tzdata and a nonroot user (scratch has none of them, and a Go program that
// calls HTTPS or loads a time zone fails there at runtime, not at build time).
// With cgo possibly on, the binary links the build's glibc, so the runtime is
// the slim image of the same Debian release.
import path from 'node:path';
import { findRunTarget, runtimeDestination, searchPath } from './common.js';
import { alpineVersion, debianCodename, debianSlim, describeRuntimeImage, distrolessStatic, isAlpine, type BaseRef, type RuntimeImage } from '../images.js';
import { imagePathDirs, isWithin, resolvePath, type ShellCommand, type StageModel } from '../stage.js';
import { code, type Ecosystem, refuse, type RuntimePlan } from './types.js';

const posix = path.posix;

/** go build flags that take a value, and those that do not (`-buildvcs=false` is still boolean). */
const VALUE_FLAGS = new Set(['o', 'C', 'p', 'asmflags', 'buildmode', 'compiler', 'gccgoflags', 'gcflags', 'installsuffix', 'ldflags', 'mod', 'modfile', 'overlay', 'pgo', 'pkgdir', 'tags', 'toolexec', 'coverpkg', 'covermode']);
/** Flags whose value decides what gets built and where it lands. */
const OUTPUT_FLAGS = new Set(['o', 'C', 'buildmode']);
const BOOLEAN_FLAGS = new Set(['buildvcs', 'trimpath', 'race', 'msan', 'asan', 'cover', 'a', 'n', 'v', 'x', 'work', 'linkshared']);
const SUPPORT_SUBCOMMANDS = new Set(['mod', 'get', 'env', 'vet', 'test', 'generate', 'version', 'list', 'work', 'clean', 'fmt', 'tool']);

interface GoBuild {
  readonly command: ShellCommand;
  /** The binary's path; a directory output or default name is resolved against CMD later. */
  readonly output?: string;
  /** The binary lands in this directory under a name dockopt cannot tell (module name, -o dir/). */
  readonly outputDir?: string;
  readonly static: boolean;
  readonly inputs: readonly string[];
}

export const go: Ecosystem = {
  id: 'go',
  label: 'Go',
  classify(command) {
    if (command.program !== 'go') return undefined;
    const subcommand = command.args[0];
    if (subcommand === 'build' || subcommand === 'install') return 'build';
    return subcommand !== undefined && SUPPORT_SUBCOMMANDS.has(subcommand) ? 'support' : undefined;
  },
  plan(context) {
    const { model } = context;
    const entry = model.entry!;
    const program = entry.argv![0];
    const builds: GoBuild[] = [];
    for (const command of context.commands) {
      if (command.args[0] !== 'build' && command.args[0] !== 'install') continue;
      const build = readBuild(model, command);
      if (typeof build === 'string') return refuse(build, command.instruction);
      if (build) builds.push(build);
    }
    const outputs = [...new Set(builds.map((build) => build.output ?? `${build.outputDir}/`))];
    if (outputs.length > 1) return refuse(`the build produces several binaries (${outputs.join(', ')}); dockopt cannot tell which the runtime needs`, builds[1].command.instruction);
    if (builds.length === 0) return refuse('no go build leaves a binary behind', context.commands[0].instruction);

    const build = builds[0];
    const imagePath = imagePathDirs(model.base);
    const produced = context.produced.flatMap((item) => item.candidates);
    let target = findRunTarget(model, program, [...(build.output ? [build.output] : []), ...produced], imagePath);
    if (target === undefined && build.outputDir !== undefined) {
      // The binary is named after the module or package, which dockopt cannot read: accept what CMD runs from that directory.
      const dir = build.outputDir;
      if (program.includes('/')) {
        const resolved = resolvePath(model.finalWorkdir, program);
        if (resolved !== undefined && posix.dirname(resolved) === dir) target = resolved;
      } else if (searchPath(model, imagePath).includes(dir)) {
        target = posix.join(dir, program);
      }
    }
    if (target === undefined) return refuse(`${entry.instruction.keyword} runs ${program}, which dockopt cannot trace to the go build output`, entry.instruction);

    const allStatic = builds.every((each) => each.static);
    const needsShell = entry.shellForm || model.healthcheck?.shellForm === true;
    const runtime = context.runtimeOverride ?? goRuntime(model.base!, allStatic, needsShell);
    if (typeof runtime === 'string') return refuse(runtime, model.stage.from);
    const directories = context.commands.map((command) => command.cwd).filter((cwd): cwd is string => cwd !== undefined && cwd !== '/');
    const buildDirs = [...new Set([...directories, ...builds.flatMap((each) => each.inputs)])];
    return {
      ecosystem: 'Go',
      runtime,
      artifacts: [{ source: target, destination: runtimeDestination(model, program, target) }],
      buildDirs,
      runtimePrograms: [],
      impliedPackages: model.base?.official === 'golang' && runtime.packageManager === 'apt' ? ['ca-certificates'] : [],
      libraries: allStatic ? 'none' : 'debian',
      runtimeReason: context.runtimeOverride ? undefined : !allStatic ? 'cgo is not disabled, so the binary may link glibc' : needsShell && !isAlpine(model.base!) ? `${entry.shellForm ? entry.instruction.keyword : 'HEALTHCHECK'} is in shell form and needs /bin/sh` : undefined,
      summary: `only ${target}`,
    } satisfies RuntimePlan;
  },
};

function readBuild(model: StageModel, command: ShellCommand): GoBuild | string | undefined {
  const install = command.args[0] === 'install';
  let cwd = command.cwd;
  let output: string | undefined;
  let outputDir: string | undefined;
  let buildmode: string | undefined;
  const packages: string[] = [];
  const args = command.args.slice(1);
  const raw = command.rawArgs.slice(1);
  for (let i = 0; i < args.length; i++) {
    // A computed value is fine for flags that do not decide where the binary goes (-ldflags "-X main.version=$VERSION").
    const flag = /^--?([A-Za-z]+)(?:=(.*))?$/s.exec(args[i] ?? raw[i].replace(/^["']/, ''));
    if (!flag) {
      if (args[i] === undefined) return `${code(command)} builds a computed package path; dockopt cannot tell what it builds`;
      packages.push(args[i]!);
      continue;
    }
    const [, name, rawInline] = flag;
    if (!VALUE_FLAGS.has(name) && !BOOLEAN_FLAGS.has(name)) return `${code(command)} uses -${name}, which dockopt does not know`;
    const inline = rawInline === undefined ? undefined : args[i] === undefined ? undefined : rawInline;
    const value = rawInline !== undefined ? inline : BOOLEAN_FLAGS.has(name) ? '' : args[++i];
    if (value === undefined) {
      if (OUTPUT_FLAGS.has(name)) return `${code(command)} has a computed -${name}; dockopt cannot tell where the binary goes`;
      continue;
    }
    if (name === 'C') cwd = resolvePath(cwd, value);
    if (name === 'buildmode') buildmode = value;
    if (name === 'o') {
      const resolved = resolvePath(cwd, value);
      if (resolved === undefined) return `${code(command)} writes to a path dockopt cannot resolve`;
      if (value.endsWith('/')) outputDir = resolved;
      else output = resolved;
    }
  }
  if (buildmode !== undefined && buildmode !== 'exe' && buildmode !== 'pie' && buildmode !== 'default') {
    return `${code(command)} builds a ${buildmode} library, which the program would load at runtime`;
  }
  // Several packages (or ./...) without -o are only compiled: go build writes nothing.
  const severalPackages = packages.some((item) => item.endsWith('...')) || (packages.length > 1 && !packages.every((item) => item.endsWith('.go')));
  if (!install && output === undefined && outputDir === undefined && severalPackages) return undefined;
  if (install) {
    const gopath = model.env.get('GOPATH') ?? (model.base?.official === 'golang' ? '/go' : undefined);
    const gobin = command.env.get('GOBIN') ?? (gopath === undefined ? undefined : posix.join(gopath, 'bin'));
    if (gobin === undefined) return `${code(command)} installs into GOPATH/bin, which dockopt cannot locate here`;
    outputDir = gobin;
  } else if (output === undefined && outputDir === undefined) {
    if (cwd === undefined) return `${code(command)} runs in a directory dockopt cannot resolve`;
    const files = packages.filter((item) => item.endsWith('.go'));
    if (files.length > 0) output = posix.join(cwd, posix.basename(files[0], '.go'));
    // `.` is named after the module or directory, which only go.mod can tell: matched against CMD later.
    else if (packages.length === 0 || packages[0] === '.' || packages[0] === './') outputDir = cwd;
    else output = posix.join(cwd, binaryName(packages[0]));
  }
  const cgo = command.env.get('CGO_ENABLED');
  const inputs = packages.filter((item) => item.startsWith('/') || item.startsWith('./') || item.endsWith('.go')).map((item) => resolvePath(cwd, item.replace(/\/\.\.\.$/, ''))).filter((item): item is string => item !== undefined);
  return { command, output, outputDir, static: cgo === '0', inputs: inputs.filter((input) => cwd === undefined || !isWithin(input, cwd)) };
}

/** distroless/static for static binaries (Debian slim when CMD needs a shell), else the slim image of the build's libc. */
function goRuntime(base: BaseRef, isStatic: boolean, needsShell: boolean): RuntimeImage | string {
  if (isAlpine(base)) {
    const version = alpineVersion(base);
    if (version === undefined) return `${base.resolved} does not name its Alpine release, so dockopt cannot choose a matching runtime image (name it, or pass --runtime-base)`;
    return describeRuntimeImage(`alpine:${version}`);
  }
  const codename = debianCodename(base);
  if (base.official === 'ubuntu') return describeRuntimeImage(base.written, base.resolved);
  if (base.official !== 'golang' && base.official !== 'debian' && base.official !== 'buildpack-deps') {
    return `dockopt does not know a runtime image that matches ${base.resolved}`;
  }
  if (isStatic && !needsShell) return describeRuntimeImage(distrolessStatic(codename));
  if (isStatic) return describeRuntimeImage(debianSlim(codename ?? 'bookworm'));
  if (codename === undefined) {
    return `cgo is not disabled with CGO_ENABLED=0, so the binary may link the build's glibc, and ${base.resolved} does not name its Debian release (name it, set CGO_ENABLED=0, or pass --runtime-base)`;
  }
  return describeRuntimeImage(debianSlim(codename));
}

/** The binary go build names after a package path: its last element, skipping a major-version suffix (`/v2`). */
function binaryName(packagePath: string): string {
  const elements = packagePath.replace(/\/+$/, '').split('/');
  const last = elements.pop()!;
  return /^v\d+$/.test(last) && elements.length > 0 ? elements.pop()! : last;
}
