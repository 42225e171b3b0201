// C and C++ built with the distribution's compilers (gcc, clang, make, cmake):
// the runtime stage is the slim variant of the same release with only the
// program the container runs.
import path from 'node:path';
import { findRunTarget, runtimeDestination } from './common.js';
import { debianCodename, describeRuntimeImage, isSlim, writtenName, writtenTag, type BaseRef, type RuntimeImage } from '../images.js';
import { isWithin, resolvePath, type ShellCommand } from '../stage.js';
import { code, type Ecosystem, refuse, type RuntimePlan } from './types.js';

const posix = path.posix;

const COMPILER = /^(?:gcc|cc|g\+\+|c\+\+|clang|clang\+\+)(?:-\d+)?$/;
const BUILD_SYSTEMS = new Set(['make', 'cmake', 'ninja', 'meson', 'configure']);
const LINKER_HELPERS = new Set(['ar', 'ranlib', 'ld', 'objcopy']);
/** Libraries every glibc/musl runtime has. */
const SYSTEM_LIBRARIES = new Set(['c', 'm', 'pthread', 'dl', 'rt', 'stdc++', 'gcc_s', 'crypt', 'util', 'resolv']);
const INTERMEDIATE = /\.(?:o|obj|a|d|gch|i|s)$/;

export const native: Ecosystem = {
  id: 'native',
  label: 'C/C++',
  classify(command) {
    const program = command.program;
    if (program === undefined) return undefined;
    if (COMPILER.test(program) || BUILD_SYSTEMS.has(program)) return 'build';
    if (LINKER_HELPERS.has(program)) return 'support';
    return undefined;
  },
  plan(context) {
    const { model, commands } = context;
    const entry = model.entry!;
    const argv = entry.argv!;

    const outputs: string[] = [];
    const buildDirs: string[] = [];
    let linksStatically = false;
    for (const command of commands) {
      if (command.cwd !== undefined && command.cwd !== '/') buildDirs.push(command.cwd);
      if (isInstallStep(command)) return refuse(`${code(command)} installs files all over the image; dockopt cannot tell which the runtime needs`, command.instruction);
      if (!COMPILER.test(command.program ?? '')) continue;
      const compiled = readCompile(command);
      if (typeof compiled === 'string') return refuse(compiled, command.instruction);
      if (compiled.static) linksStatically = true;
      if (compiled.output !== undefined && !INTERMEDIATE.test(compiled.output)) outputs.push(compiled.output);
      buildDirs.push(...compiled.inputs);
    }
    const distinct = [...new Set(outputs)];
    if (distinct.length > 1) return refuse(`the build produces several programs (${distinct.join(', ')}); dockopt cannot tell which the runtime needs`, commands[0].instruction);

    const produced = context.produced.flatMap((item) => item.candidates);
    const program = argv[0];
    let target = findRunTarget(model, program, [...distinct, ...produced]);
    if (target === undefined && program.includes('/')) {
      // make, cmake and ninja leave their programs in the directory they ran in.
      const resolved = resolvePath(model.finalWorkdir, program);
      const builtBy = commands.find((command) => BUILD_SYSTEMS.has(command.program ?? '') && command.cwd !== undefined && resolved !== undefined && isWithin(resolved, command.cwd));
      if (builtBy && resolved !== undefined) target = resolved;
    }
    if (target === undefined) return refuse(`${entry.instruction.keyword} runs ${program}, which dockopt cannot trace to the build's output`, entry.instruction);

    const runtime = context.runtimeOverride ?? nativeRuntime(model.base!);
    if (typeof runtime === 'string') return refuse(runtime, model.stage.from);
    return {
      ecosystem: 'C/C++',
      runtime,
      artifacts: [{ source: target, destination: runtimeDestination(model, program, target) }],
      buildDirs,
      runtimePrograms: [],
      impliedPackages: model.base?.official === 'buildpack-deps' ? ['ca-certificates'] : [],
      libraries: linksStatically ? 'none' : 'debian',
      summary: `only ${target}`,
    } satisfies RuntimePlan;
  },
};

function isInstallStep(command: ShellCommand): boolean {
  const args = command.args;
  if (command.program === 'make' || command.program === 'ninja') return args.includes('install');
  if (command.program === 'cmake') return args.includes('--install') || (args.includes('--target') && args.includes('install'));
  if (command.program === 'meson') return args[0] === 'install';
  return false;
}

interface Compile {
  readonly output?: string;
  readonly inputs: readonly string[];
  readonly static: boolean;
}

const COMPILER_VALUE_OPTIONS = new Set(['-o', '-I', '-L', '-l', '-D', '-U', '-x', '-MF', '-MT', '-include', '-isystem', '-std']);

function readCompile(command: ShellCommand): Compile | string {
  let output: string | undefined;
  const inputs: string[] = [];
  let compileOnly = false;
  let isStatic = false;
  for (let i = 0; i < command.args.length; i++) {
    const arg = command.args[i];
    if (arg === undefined) return `${code(command)} has computed arguments; dockopt cannot tell what it builds`;
    if (arg === '-c' || arg === '-S' || arg === '-E') compileOnly = true;
    if (arg === '-static') isStatic = true;
    if (arg === '-shared') return `${code(command)} builds a shared library, which the program would load at runtime`;
    const library = /^-l(.*)$/.exec(arg)?.[1] ?? (arg === '-l' ? command.args[i + 1] : undefined);
    if (library !== undefined && !SYSTEM_LIBRARIES.has(library) && !isStatic) {
      return `${code(command)} links lib${library}, which the runtime image would not have`;
    }
    if (arg === '-o' || /^-o./.test(arg)) {
      const value = arg === '-o' ? command.args[++i] : arg.slice(2);
      if (value === undefined) return `${code(command)} writes to a computed path`;
      output = resolvePath(command.cwd, value);
      if (output === undefined) return `${code(command)} writes to a path dockopt cannot resolve`;
      continue;
    }
    if (COMPILER_VALUE_OPTIONS.has(arg)) {
      i++;
      continue;
    }
    if (arg.startsWith('-')) continue;
    const input = resolvePath(command.cwd, arg);
    if (input !== undefined) inputs.push(input);
  }
  if (output === undefined && !compileOnly) output = command.cwd === undefined ? undefined : posix.join(command.cwd, 'a.out');
  return { output: compileOnly && output !== undefined && INTERMEDIATE.test(output) ? undefined : output, inputs, static: isStatic };
}

/** The slim variant of the build's own distribution release. */
function nativeRuntime(base: BaseRef): RuntimeImage | string {
  const tag = writtenTag(base);
  switch (base.official) {
    case 'debian': {
      if (isSlim(base)) return describeRuntimeImage(base.written, base.resolved);
      if (tag === undefined || base.tag === 'latest') return describeRuntimeImage('debian:stable-slim');
      return describeRuntimeImage(`${writtenName(base)}:${tag.replace(/@.*$/, '')}-slim`, `debian:${base.tag}-slim`);
    }
    case 'buildpack-deps': {
      const codename = debianCodename(base);
      if (codename === undefined) return `${base.resolved} does not name its Debian release, so dockopt cannot choose a matching runtime image (name it, or pass --runtime-base)`;
      return describeRuntimeImage(`debian:${codename}-slim`);
    }
    case 'ubuntu':
    case 'alpine':
      // No slimmer variant exists; the runtime stage still sheds the compilers.
      return describeRuntimeImage(base.written, base.resolved);
    case 'gcc':
      return `${base.resolved} ships its own compiler runtime libraries (libstdc++, libgcc) newer than Debian's; a Debian runtime image may not run the program`;
    default:
      return `dockopt does not know a slimmer runtime image for ${base.resolved}`;
  }
}
