// Java: Maven or Gradle packages a jar; the runtime stage is the Eclipse
// Temurin JRE of the same major version with only the jar CMD runs. The jar
// must be named exactly (a wildcard could match the plain and the -sources or
// -plain jars alike).
import path from 'node:path';
import { findRunTarget } from './common.js';
import { describeRuntimeImage, type BaseRef, type RuntimeImage } from '../images.js';
import { hasWildcard, isWithin, resolvePath, type ShellCommand } from '../stage.js';
import { code, type Ecosystem, refuse, type RuntimePlan } from './types.js';

const posix = path.posix;

const MAVEN = new Set(['mvn', 'mvnw']);
const GRADLE = new Set(['gradle', 'gradlew']);
const MAVEN_PACKAGING_GOALS = new Set(['package', 'install', 'verify', 'deploy', 'spring-boot:repackage']);
const GRADLE_PACKAGING_TASKS = new Set(['build', 'assemble', 'jar', 'bootJar', 'shadowJar']);
const MAVEN_VALUE_OPTIONS = new Set(['-f', '--file', '-s', '--settings', '-gs', '--global-settings', '-P', '--activate-profiles', '-pl', '--projects', '-T', '--threads', '-rf', '--resume-from', '-l', '--log-file', '-t', '--toolchains']);
const GRADLE_VALUE_OPTIONS = new Set(['-x', '--exclude-task', '-p', '--project-dir', '-b', '--build-file', '-c', '--settings-file', '-g', '--gradle-user-home', '-I', '--init-script', '--console', '--warning-mode']);
/** Variant suffixes the JRE images share with the JDK build images. */
const VARIANTS = ['alpine', 'jammy', 'focal', 'noble', 'ubi9-minimal', 'ubi10-minimal'];

interface JavaBuild {
  readonly command: ShellCommand;
  readonly tool: 'maven' | 'gradle';
  readonly packages: boolean;
  /** Project directory, whose target/ or build/libs/ holds the jars. */
  readonly projectDir?: string;
}

function readJavaBuild(command: ShellCommand): JavaBuild | undefined {
  const program = command.program ?? '';
  const tool = MAVEN.has(program) ? 'maven' : GRADLE.has(program) ? 'gradle' : undefined;
  if (!tool) return undefined;
  const valueOptions = tool === 'maven' ? MAVEN_VALUE_OPTIONS : GRADLE_VALUE_OPTIONS;
  let projectDir = command.cwd;
  const words: string[] = [];
  for (let i = 0; i < command.args.length; i++) {
    const arg = command.args[i];
    if (arg === undefined) continue;
    if (valueOptions.has(arg)) {
      const value = command.args[++i];
      if (arg === '-f' || arg === '--file' || arg === '-b' || arg === '--build-file') projectDir = value === undefined ? undefined : posix.dirname(resolvePath(command.cwd, value) ?? '');
      if (arg === '-p' || arg === '--project-dir') projectDir = value === undefined ? undefined : resolvePath(command.cwd, value);
      continue;
    }
    if (!arg.startsWith('-')) words.push(arg);
  }
  const goals = tool === 'maven' ? MAVEN_PACKAGING_GOALS : GRADLE_PACKAGING_TASKS;
  return { command, tool, packages: words.some((word) => goals.has(word.replace(/^:/, ''))), projectDir: projectDir === '' ? undefined : projectDir };
}

export const java: Ecosystem = {
  id: 'java',
  label: 'Java',
  classify(command) {
    const build = readJavaBuild(command);
    if (!build) return undefined;
    return build.packages ? 'build' : 'support';
  },
  plan(context) {
    const { model } = context;
    const entry = model.entry!;
    const argv = entry.argv!;
    const builds = context.commands.map(readJavaBuild).filter((build): build is JavaBuild => build !== undefined && build.packages);
    const unresolved = builds.find((build) => build.projectDir === undefined);
    if (unresolved) return refuse(`${code(unresolved.command)} builds in a directory dockopt cannot resolve`, unresolved.command.instruction);

    const program = argv[0];
    if (posix.basename(program) !== 'java') return refuse(`${entry.instruction.keyword} runs ${program}, not java -jar; dockopt cannot tell which files the runtime needs`, entry.instruction);
    const jarIndex = argv.indexOf('-jar');
    const jar = jarIndex === -1 ? undefined : argv[jarIndex + 1];
    if (jar === undefined) return refuse(`${entry.instruction.keyword} does not run java -jar <file>; dockopt cannot tell which files the runtime needs`, entry.instruction);
    if (hasWildcard(jar)) return refuse(`${entry.instruction.keyword} runs ${jar}, which can match several jars (the plain and the -sources or -plain ones); name the jar`, entry.instruction);

    const jarDirs = builds.map((build) => posix.join(build.projectDir!, build.tool === 'maven' ? 'target' : 'build/libs'));
    const resolved = resolvePath(model.finalWorkdir, jar);
    const produced = context.produced.flatMap((item) => item.candidates);
    const target = resolved !== undefined && jarDirs.some((dir) => isWithin(resolved, dir)) ? resolved : findRunTarget(model, jar, produced);
    if (target === undefined) return refuse(`${entry.instruction.keyword} runs ${jar}, which dockopt cannot trace to the Maven or Gradle output`, entry.instruction);

    const runtime = context.runtimeOverride ?? javaRuntime(model.base!);
    if (typeof runtime === 'string') return refuse(runtime, model.stage.from);
    return {
      ecosystem: 'Java',
      runtime,
      artifacts: [{ source: target, destination: target }],
      buildDirs: [...new Set(builds.map((build) => build.projectDir!).concat(context.commands.map((command) => command.cwd).filter((cwd): cwd is string => cwd !== undefined && cwd !== '/')))],
      runtimePrograms: ['java'],
      libraries: 'none',
      summary: `only ${target}`,
    } satisfies RuntimePlan;
  },
};

/** eclipse-temurin:<major>-jre with the build image's variant (jammy, alpine…). */
function javaRuntime(base: BaseRef): RuntimeImage | string {
  if (base.written.includes('$')) return `${base.written} is chosen by a build argument, which the JRE image cannot follow`;
  const tag = base.tag;
  let major: string | undefined;
  let rest = '';
  if (base.official === 'maven') {
    const match = /eclipse-temurin-(\d+)(?:-(.+))?$/.exec(tag);
    if (!match) return `${base.resolved} is not an Eclipse Temurin Maven image; dockopt knows no JRE image that matches it`;
    [, major, rest = ''] = match;
  } else if (base.official === 'gradle') {
    const match = /(?:^|-)jdk(\d+)(?:-(.+))?$/.exec(tag);
    if (!match) return `${base.resolved} does not name its JDK version; dockopt cannot choose the matching JRE`;
    [, major, rest = ''] = match;
  } else if (base.official === 'eclipse-temurin') {
    const match = /^(\d+)(?:[.\d_+]*)?(?:-jdk)?(?:-(.+))?$/.exec(tag);
    if (!match) return `${base.resolved} is not a JDK tag dockopt can read`;
    [, major, rest = ''] = match;
  } else {
    return `dockopt does not know a JRE runtime image for ${base.resolved}`;
  }
  if (rest !== '' && !VARIANTS.includes(rest)) return `dockopt does not know the JRE image for the ${rest} variant of ${base.resolved}`;
  return describeRuntimeImage(`eclipse-temurin:${major}-jre${rest === '' ? '' : `-${rest}`}`);
}
