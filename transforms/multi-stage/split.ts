// Deciding whether and how a single-stage build splits into a build stage and
// a runtime stage. Every RUN command has to be understood (an ecosystem's
// build, a package install, a harmless helper, or a file operation whose
// target the runtime does not need); anything else means dockopt cannot tell
// what the runtime would miss, and the stage is left alone with the reason.
import path from 'node:path';
import type { InstructionInfo } from '../../src/dockerfile/document.js';
import { expandVariables, globalArgDefaults, isRootUser, propertiesOf } from '../../src/image/base-image.js';
import type { TransformOptions } from '../../src/engine/transform.js';
import { classifyCommon, isBuildSide, isVersionProbe, type Produced } from './ecosystems/common.js';
import { go } from './ecosystems/go.js';
import { describeRuntimeImage, type RuntimeImage } from './images.js';
import { java } from './ecosystems/java.js';
import { native } from './ecosystems/native.js';
import { node } from './ecosystems/node.js';
import { headersWithoutRuntimeLibrary, installCommand, installedPackages, isBuildOnlyPackage, runtimeLibrary, type PackageCommand, type PackageInstall } from './packages.js';
import { python } from './ecosystems/python.js';
import { rust } from './ecosystems/rust.js';
import { hasWildcard, isWithin, MOVABLE, type ShellCommand, type StageModel } from './stage.js';
import { code, type Ecosystem, isRefusal, type Refusal, refuse, type RuntimePlan } from './ecosystems/types.js';

const posix = path.posix;

export const ECOSYSTEMS: readonly Ecosystem[] = [go, rust, java, node, python, native];

/** ENV names that only steer the build; an ENV setting nothing else is not repeated in the runtime stage. */
const BUILD_ONLY_ENV = /^(?:CGO_ENABLED|GOOS|GOARCH|GOARM|GOAMD64|GOFLAGS|GOPROXY|GOPRIVATE|GONOSUMDB|GONOPROXY|GOSUMDB|GO111MODULE|GOCACHE|GOMODCACHE|GOTOOLCHAIN|DEBIAN_FRONTEND|PIP_[A-Z_]+|CARGO_[A-Z_]+|RUSTFLAGS|RUSTUP_[A-Z_]+|MAVEN_OPTS|MAVEN_CONFIG|GRADLE_OPTS|GRADLE_USER_HOME|npm_config_[a-z_]+|NPM_CONFIG_[A-Z_]+|YARN_[A-Z_]+|CC|CXX|CFLAGS|CXXFLAGS|CPPFLAGS|LDFLAGS|MAKEFLAGS|PKG_CONFIG_PATH)$/;

export interface SplitPlan extends RuntimePlan {
  /** ARG, ENV and SHELL instructions of the build stage the runtime stage repeats, in order. */
  readonly repeated: readonly InstructionInfo[];
  /** Descriptive instructions in the middle of the build that move to the runtime stage. */
  readonly moved: readonly InstructionInfo[];
  /** Working directory the runtime stage sets before copying ('/' = none). */
  readonly workdir: string;
  /** The build's last USER, repeated after the copies. */
  readonly user?: InstructionInfo;
  /** The RUN that installs the runtime's packages, if any. */
  readonly packageInstall?: string;
  /** RUNs of the build that only create users, repeated in the runtime stage. */
  readonly userRuns: readonly InstructionInfo[];
  /** Build-only packages that stay behind, for the message. */
  readonly leftBehind: readonly string[];
  /** Shared-library packages the runtime stage installs in place of the -dev packages the build used. */
  readonly runtimeLibraries: readonly string[];
}

export function planSplit(model: StageModel, options: TransformOptions): SplitPlan | Refusal | undefined {
  const claimed = new Map<Ecosystem, ShellCommand[]>();
  const builders = new Set<Ecosystem>();
  const unknown: ShellCommand[] = [];
  const packageCommands: PackageCommand[] = [];
  const fileTargets: { command: ShellCommand; target: string | undefined }[] = [];
  const produced: Produced[] = [];
  const userCommands: ShellCommand[] = [];
  for (const command of model.commands) {
    // `yarn --version` and the like only print.
    if (isVersionProbe(command)) continue;
    let owner: Ecosystem | undefined;
    for (const ecosystem of ECOSYSTEMS) {
      const role = ecosystem.classify(command);
      if (role === undefined) continue;
      owner ??= ecosystem;
      if (role === 'build') {
        owner = ecosystem;
        builders.add(ecosystem);
        break;
      }
    }
    if (owner) {
      claimed.set(owner, [...(claimed.get(owner) ?? []), command]);
      continue;
    }
    const role = classifyCommon(command);
    if (role === undefined) unknown.push(command);
    else if (role.kind === 'packages') packageCommands.push(role.packages);
    else if (role.kind === 'users') userCommands.push(command);
    else if (role.kind === 'files') {
      fileTargets.push(...role.targets.map((target) => ({ command, target })));
      produced.push(...role.produced);
    }
  }
  // Nothing is built here: there is nothing to split, and nothing worth a note.
  if (builders.size === 0) return undefined;
  if (builders.size > 1) return refuse(`the stage builds with ${[...builders].map((ecosystem) => ecosystem.label).join(' and ')}; dockopt splits one ecosystem at a time`, model.stage.from);
  const ecosystem = [...builders][0];

  if (model.baseProblem) return refuse(model.baseProblem, model.stage.from);
  const opaqueRun = model.runs.find((run) => run.opaque);
  if (opaqueRun) return refuse(`RUN ${opaqueRun.opaque}; dockopt cannot tell what it builds or installs`, opaqueRun.instruction);
  if (unknown.length > 0) {
    const first = unknown[0];
    return refuse(`${code(first)} may change files the runtime needs, and dockopt cannot tell`, first.instruction);
  }
  const opaqueCopy = model.copies.find((copy) => copy.opaque);
  if (opaqueCopy) return refuse(`${opaqueCopy.instruction.keyword} ${opaqueCopy.opaque}; dockopt cannot tell whether the runtime needs it`, opaqueCopy.instruction);
  if (model.workdir === undefined) return refuse('WORKDIR uses a build argument or a variable dockopt cannot resolve, so it cannot tell where the build output is', model.stage.from);
  const dynamicPackages = packageCommands.find((command) => command.dynamic);
  if (dynamicPackages) return refuse(`${code(dynamicPackages.command)} works on a computed package list`, dynamicPackages.command.instruction);
  const entry = model.entry;
  if (!entry) return refuse('there is no CMD or ENTRYPOINT, so dockopt cannot tell what the runtime runs', model.stage.from);
  if (!entry.argv || entry.argv.length === 0) return refuse(`${entry.instruction.keyword} is a shell command dockopt cannot read as one program`, entry.instruction);

  const userSetup = userSetupRuns(model, userCommands);
  if (isRefusal(userSetup)) return userSetup;

  const runtimeOverride = options.runtimeBase === undefined ? undefined : overrideImage(model, options.runtimeBase);
  const packages = installedPackages(packageCommands);
  const plan = ecosystem.plan({ model, options, commands: claimed.get(ecosystem) ?? [], produced, packages, runtimeOverride });
  if (isRefusal(plan)) return plan;
  return checkRuntime(model, plan, packages, fileTargets, produced, userSetup);
}

/** RUNs that only create users and groups (the runtime stage repeats them), and the names they create. */
interface UserSetup {
  readonly runs: readonly InstructionInfo[];
  readonly names: ReadonlySet<string>;
}

function userSetupRuns(model: StageModel, userCommands: readonly ShellCommand[]): UserSetup | Refusal {
  const runs = [...new Set(userCommands.map((command) => command.instruction))];
  for (const instruction of runs) {
    const other = model.commands.find((command) => command.instruction === instruction && classifyCommon(command)?.kind !== 'users' && classifyCommon(command)?.kind !== 'harmless');
    if (other) return refuse(`the RUN that creates users also runs ${code(other)}; dockopt can only repeat a RUN that does nothing else in the runtime stage`, instruction);
  }
  const names = new Set(userCommands.flatMap((command) => command.args.filter((arg): arg is string => arg !== undefined && !arg.startsWith('-'))));
  return { runs, names };
}

function overrideImage(model: StageModel, reference: string): RuntimeImage {
  const globals = globalArgDefaults(model.doc);
  return describeRuntimeImage(reference, expandVariables(reference, (name) => globals.get(name)) ?? reference);
}

/** What the general rules say once the ecosystem has chosen the artifacts and the runtime image. */
function checkRuntime(
  model: StageModel,
  plan: RuntimePlan,
  packages: readonly { name: string; install: PackageInstall }[],
  fileTargets: readonly { command: ShellCommand; target: string | undefined }[],
  produced: readonly Produced[],
  userSetup: UserSetup,
): SplitPlan | Refusal | undefined {
  const runtime = plan.runtime;
  const artifactSources = plan.artifacts.map((artifact) => artifact.source);
  // Inside a build directory (left behind on purpose) or inside what the runtime stage copies.
  const keptByBuild = (target: string) => isBuildSide(target, plan.buildDirs) || artifactSources.some((source) => isWithin(target, source));
  // `mkdir -p /out` or `chmod 755 /out` before the binary lands there: the runtime gets what matters of it.
  const parentOfArtifact = (target: string) => target !== '/' && artifactSources.some((source) => isWithin(source, target));

  for (const copy of model.copies) {
    if (copy.destination === undefined) return refuse(`${copy.instruction.keyword} puts files at a path dockopt cannot resolve`, copy.instruction);
    // A file copied into a directory lands at dir/name; a directory's contents land in dir itself.
    const landings = copy.intoDirectory && copy.sources.every((source) => !source.endsWith('/') && source !== '.' && !hasWildcard(source)) ? copy.sources.map((source) => posix.join(copy.destination!, posix.basename(source))) : [];
    if (!keptByBuild(copy.destination) && (landings.length === 0 || !landings.every(keptByBuild))) {
      return refuse(`${copy.instruction.keyword} puts files in ${copy.destination}, outside what the runtime stage gets; dockopt cannot tell whether the runtime needs them`, copy.instruction);
    }
  }
  for (const { command, target } of fileTargets) {
    if (target === undefined) return refuse(`${code(command)} changes a path dockopt cannot resolve`, command.instruction);
    const copied = produced.filter((item) => item.command === command);
    const ok =
      keptByBuild(target) ||
      (copied.length === 0 ? parentOfArtifact(target) : copied.every((item) => item.candidates.some((candidate) => keptByBuild(candidate))));
    if (!ok) return refuse(`${code(command)} changes ${target}, which the runtime stage would not get`, command.instruction);
  }
  for (const run of model.runs) {
    for (const write of run.writes) {
      if (write === undefined || !keptByBuild(write)) return refuse(`RUN writes to ${write ?? 'a computed path'}, which the runtime stage would not get`, run.instruction);
    }
  }

  // Packages: build-only ones stay; the rest are installed again, unless a CMD or HEALTHCHECK uses a "build-only" one.
  const usedPrograms = new Set([model.entry?.argv?.[0], ...(model.healthcheck?.programs ?? [])].filter((program): program is string => program !== undefined).map((program) => posix.basename(program)));
  const buildOnly = (name: string) => (isBuildOnlyPackage(name) || plan.extraBuildOnly?.(name) === true) && !usedPrograms.has(name);
  const names = packages.map((item) => item.name);
  const libraries: string[] = [];
  if (plan.libraries !== 'none') {
    const headers = headersWithoutRuntimeLibrary(names, plan.libraries);
    const library = (header: string) => (runtime.debian ? runtimeLibrary(header, runtime.debian.codename) : undefined);
    libraries.push(...headers.map(library).filter((name): name is string => name !== undefined));
    const missing = headers.filter((header) => library(header) === undefined);
    if (missing.length > 0) {
      const install = packages.find((item) => item.name === missing[0])!.install;
      return refuse(`${missing.join(', ')} ${missing.length === 1 ? 'is' : 'are'} installed for the build; the runtime would need the shared ${missing.length === 1 ? 'library' : 'libraries'}, whose package dockopt cannot derive from the -dev name`, install.command.instruction);
    }
  }
  const wanted = [...new Set([...names.filter((name) => !buildOnly(name)), ...libraries, ...(plan.impliedPackages ?? [])])];
  const explicit = names.filter((name) => !buildOnly(name));
  const buildManager = packages[0]?.install.manager;
  let packageInstall: string | undefined;
  const needed = runtime.packageManager === undefined ? wanted.filter((name) => !runtime.provides.includes(name)) : wanted;
  const neededExplicit = needed.filter((name) => explicit.includes(name));
  if (runtime.packageManager === undefined) {
    if (neededExplicit.length > 0) {
      return refuse(`the runtime needs ${neededExplicit.join(', ')}, and ${runtime.reference} has no package manager dockopt knows to install ${neededExplicit.length === 1 ? 'it' : 'them'} with`, packages.find((item) => item.name === neededExplicit[0])!.install.command.instruction);
    }
  } else if (needed.length > 0) {
    if (buildManager !== undefined && buildManager !== runtime.packageManager && neededExplicit.length > 0) {
      return refuse(`the build installs ${neededExplicit.join(', ')} with ${buildManager}, but ${runtime.reference} uses ${runtime.packageManager}`, model.stage.from);
    }
    const noInstallRecommends = packages.length === 0 || packages.every((item) => item.install.noInstallRecommends);
    packageInstall = `RUN ${installCommand(runtime.packageManager, needed, noInstallRecommends)}`;
  }
  const runtimePackages = new Set(needed.concat(runtime.provides));

  // What the container and its health check run must exist in the runtime image.
  const entry = model.entry!;
  if (entry.shellForm && !runtime.shell) return refuse(`${entry.instruction.keyword} is in shell form, which needs /bin/sh, and ${runtime.reference} has no shell`, entry.instruction);
  const health = model.healthcheck;
  if (health && !health.none) {
    if (health.programs === undefined) return refuse('HEALTHCHECK runs a command dockopt cannot read', health.instruction);
    if (health.shellForm && !runtime.shell) return refuse(`HEALTHCHECK is in shell form, which needs /bin/sh, and ${runtime.reference} has no shell`, health.instruction);
    const missing = health.programs.find((program) => {
      const name = posix.basename(program);
      return !plan.runtimePrograms.includes(name) && !runtimePackages.has(name) && !plan.artifacts.some((artifact) => posix.basename(artifact.destination) === name || isWithin(program, artifact.destination));
    });
    if (missing !== undefined) return refuse(`HEALTHCHECK runs ${missing}, which ${runtime.reference} may not have`, health.instruction);
  }
  // Users the build created are created again, unless the runtime cannot run a command and only numeric USERs need them.
  const userSpecs = model.users.map((user) => ({ user, spec: user.node.getArguments()[0]?.getValue() ?? '' }));
  const numericOnly = userSpecs.every(({ spec }) => /^\d+(?::\d+)?$/.test(spec) || isRootUser(spec));
  const userRuns = userSetup.runs.length > 0 && !(runtime.shell && runtime.packageManager !== undefined) && numericOnly ? [] : userSetup.runs;
  if (userRuns.length > 0 && !(runtime.shell && runtime.packageManager !== undefined)) {
    return refuse(`the build creates users, and ${runtime.reference} cannot run the command that creates them again (a numeric USER needs no account there)`, userRuns[0]);
  }
  for (const { user, spec } of userSpecs) {
    const name = spec.split(':')[0];
    if (spec.includes('$')) return refuse('USER uses a variable, so dockopt cannot tell whether the runtime image has that user', user);
    if (isRootUser(spec) || /^\d+$/.test(name)) continue;
    if (!runtime.users.includes(name) && !(userRuns.length > 0 && userSetup.names.has(name))) return refuse(`USER ${name} may not exist in ${runtime.reference}`, user);
  }

  const body = model.body;
  const moved = body.filter((instruction) => MOVABLE.has(instruction.keyword));
  const bodyUsers = body.filter((instruction) => instruction.keyword === 'USER');
  const lastUser = bodyUsers[bodyUsers.length - 1];
  const user = lastUser && !isRootUser(lastUser.node.getArguments()[0]?.getValue() ?? '') ? lastUser : undefined;
  const needsShell = packageInstall !== undefined || userRuns.length > 0 || (plan.setup ?? []).some((step) => 'run' in step) || entry.shellForm || health?.shellForm === true;
  const repeated = repeatedInstructions(model, runtime, moved, user, needsShell);
  if (isRefusal(repeated)) return repeated;
  const leftBehind = names.filter((name) => buildOnly(name));
  if (plan.copiesEverything && leftBehind.length === 0 && runtime.reference === model.base?.written) return undefined;
  return { ...plan, repeated, moved, workdir: model.workdir!, user, packageInstall, userRuns, leftBehind, runtimeLibraries: libraries };
}

/** ENVs (except build-only ones), the ARGs runtime instructions refer to, and SHELL when the runtime stage runs a shell. */
function repeatedInstructions(model: StageModel, runtime: RuntimeImage, moved: readonly InstructionInfo[], user: InstructionInfo | undefined, needsShell: boolean): InstructionInfo[] | Refusal {
  const body = model.body;
  const envs = body.filter((instruction) => instruction.keyword === 'ENV' && propertiesOf(instruction).some((property) => !BUILD_ONLY_ENV.test(property.name)));
  const shells = body.filter((instruction) => instruction.keyword === 'SHELL');
  const shell = shells[shells.length - 1];
  if (needsShell && shell && !shellAvailable(shell, runtime)) return refuse(`SHELL names a shell ${runtime.reference} may not have`, shell);
  const runtimeBound = [...envs, ...moved, ...model.tail, ...(user ? [user] : [])];
  const referenced = new Set(runtimeBound.flatMap((instruction) => instruction.node.getVariables().map((variable) => variable.getName())));
  const args = body.filter((instruction) => instruction.keyword === 'ARG' && propertiesOf(instruction).some((property) => referenced.has(property.name)));
  const chosen = new Set([...envs, ...args, ...(needsShell ? shells : [])]);
  return body.filter((instruction) => chosen.has(instruction));
}

/** /bin/sh is in every image with a shell; bash only in the Debian-based ones dockopt knows. */
function shellAvailable(shell: InstructionInfo, runtime: RuntimeImage): boolean {
  const program = (shell.node as unknown as { getJSONStrings(): { getJSONValue(): string }[] }).getJSONStrings()[0]?.getJSONValue();
  if (program === '/bin/sh' || program === 'sh') return runtime.shell;
  return (program === '/bin/bash' || program === 'bash') && runtime.packageManager === 'apt';
}
