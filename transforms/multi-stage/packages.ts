// Packages a build installs with apt or apk, and which of them only the build
// needs. Compilers, headers (-dev), build systems and version control stay in
// the build stage; everything else may be used by the application and is
// installed again in the runtime stage.
import type { ShellCommand } from './stage.js';

export type PackageManager = 'apt' | 'apk';

export interface PackageInstall {
  readonly command: ShellCommand;
  readonly manager: PackageManager;
  /** Package names without version or architecture suffixes. */
  readonly packages: readonly string[];
  /** apt: the install skips recommended packages. */
  readonly noInstallRecommends: boolean;
}

export interface PackageCommand {
  readonly command: ShellCommand;
  readonly manager: PackageManager;
  readonly install?: PackageInstall;
  /** Names removed again (apt-get purge, apk del), including apk virtual package names. */
  readonly removed: readonly string[];
  /** The package list is computed at build time. */
  readonly dynamic: boolean;
}

const APT_VALUE_OPTIONS = new Set(['-o', '-c', '-t', '-a', '--option', '--config-file', '--target-release', '--default-release', '--host-architecture']);
const APT_SUBCOMMANDS = new Set(['update', 'install', 'upgrade', 'dist-upgrade', 'full-upgrade', 'clean', 'autoclean', 'autoremove', 'remove', 'purge', 'build-dep']);
const APK_VALUE_OPTIONS = new Set(['-X', '--repository', '-p', '--root', '--arch', '--cache-dir', '--keys-dir', '--repositories-file', '-t', '--virtual']);
const APK_SUBCOMMANDS = new Set(['add', 'del', 'update', 'upgrade', 'cache', 'fix']);

/** Reads an apt-get/apt/apk call, or undefined for anything else (including subcommands that change more than packages). */
export function readPackageCommand(command: ShellCommand): PackageCommand | undefined {
  if (command.program === 'apt-get' || command.program === 'apt') return readApt(command);
  if (command.program === 'apk') return readApk(command);
  return undefined;
}

function operands(args: readonly (string | undefined)[], valueOptions: ReadonlySet<string>): { words: (string | undefined)[]; options: Map<string, string | undefined> } {
  const words: (string | undefined)[] = [];
  const options = new Map<string, string | undefined>();
  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    if (arg !== undefined && arg.startsWith('-')) {
      const [flag, inline] = arg.includes('=') ? [arg.slice(0, arg.indexOf('=')), arg.slice(arg.indexOf('=') + 1)] : [arg, undefined];
      if (valueOptions.has(flag) && inline === undefined) options.set(flag, args[++i]);
      else options.set(flag, inline ?? '');
      continue;
    }
    words.push(arg);
  }
  return { words, options };
}

function packageName(word: string): string {
  return word.replace(/[:=].*$/, '');
}

function readApt(command: ShellCommand): PackageCommand | undefined {
  const { words, options } = operands(command.args, APT_VALUE_OPTIONS);
  const subcommand = words[0];
  if (subcommand === undefined || !APT_SUBCOMMANDS.has(subcommand)) return undefined;
  const names = words.slice(1);
  const dynamic = names.some((name) => name === undefined);
  const packages = names.filter((name): name is string => name !== undefined).map(packageName);
  if (subcommand === 'install') {
    const noInstallRecommends = options.has('--no-install-recommends') || [...options.entries()].some(([flag, value]) => flag === '-o' && /^APT::Install-Recommends=(?:false|0|no)$/i.test(value ?? ''));
    return { command, manager: 'apt', install: { command, manager: 'apt', packages, noInstallRecommends }, removed: [], dynamic };
  }
  if (subcommand === 'build-dep') return { command, manager: 'apt', removed: [], dynamic };
  return { command, manager: 'apt', removed: subcommand === 'remove' || subcommand === 'purge' ? packages : [], dynamic };
}

function readApk(command: ShellCommand): PackageCommand | undefined {
  const { words, options } = operands(command.args, APK_VALUE_OPTIONS);
  const subcommand = words[0];
  if (subcommand === undefined || !APK_SUBCOMMANDS.has(subcommand)) return undefined;
  const names = words.slice(1);
  const dynamic = names.some((name) => name === undefined);
  const packages = names.filter((name): name is string => name !== undefined).map((name) => name.replace(/[<>=~].*$/, ''));
  if (subcommand === 'add') {
    // `apk add --virtual .build-deps gcc` groups gcc under a name that `apk del .build-deps` removes again.
    const virtual = options.get('--virtual') ?? options.get('-t');
    const grouped = virtual === undefined ? packages : packages.map((name) => `${virtual}\0${name}`);
    return { command, manager: 'apk', install: { command, manager: 'apk', packages: grouped, noInstallRecommends: true }, removed: [], dynamic };
  }
  return { command, manager: 'apk', removed: subcommand === 'del' ? packages : [], dynamic };
}

/** Packages the build installed and did not remove again, in install order, virtual groups resolved. */
export function installedPackages(commands: readonly PackageCommand[]): { name: string; install: PackageInstall }[] {
  const removed = new Set(commands.flatMap((command) => command.removed));
  const result: { name: string; install: PackageInstall }[] = [];
  for (const command of commands) {
    if (!command.install) continue;
    for (const entry of command.install.packages) {
      const [group, name] = entry.includes('\0') ? entry.split('\0') : [undefined, entry];
      if (removed.has(name) || (group !== undefined && removed.has(group))) continue;
      if (!result.some((known) => known.name === name)) result.push({ name, install: command.install });
    }
  }
  return result;
}

const BUILD_ONLY = new Set([
  'build-essential', 'build-base', 'gcc', 'g++', 'cpp', 'c++', 'clang', 'llvm', 'lld', 'binutils', 'make', 'cmake', 'ninja-build', 'ninja',
  'meson', 'autoconf', 'automake', 'autoconf-archive', 'libtool', 'libtool-bin', 'pkg-config', 'pkgconf', 'pkgconfig', 'bison', 'flex',
  'patch', 'dpkg-dev', 'fakeroot', 'git', 'git-core', 'mercurial', 'subversion', 'golang', 'golang-go', 'go', 'rustc', 'cargo', 'rust',
  'musl-dev', 'linux-headers', 'nasm', 'yasm', 'swig', 'maven', 'gradle', 'default-jdk', 'default-jdk-headless', 'upx', 'upx-ucl',
]);
const BUILD_ONLY_PATTERNS = [/-dev$/, /-devel$/, /^gcc-\d+$/, /^g\+\+-\d+$/, /^clang-\d+$/, /^llvm-\d+(?:-dev)?$/, /^lld-\d+$/, /^golang-[\d.]+(?:-go)?$/, /^openjdk-?\d+-jdk(?:-headless)?$/, /^openjdk\d+(?:-jdk)?$/];

/** Whether a package is only needed to build (compilers, headers, build systems, version control). */
export function isBuildOnlyPackage(name: string): boolean {
  return BUILD_ONLY.has(name) || BUILD_ONLY_PATTERNS.some((pattern) => pattern.test(name));
}

/** Header packages whose library every Debian runtime image already has (libc, libstdc++, libgcc, zlib). */
const DEBIAN_BASE_HEADERS = [/^libc6-dev$/, /^libc-dev$/, /^linux-libc-dev$/, /^libcrypt-dev$/, /^zlib1g-dev$/, /^libstdc\+\+-\d+-dev$/, /^libgcc-\d+-dev$/, /^musl-dev$/, /^linux-headers$/];

/** Libraries the official python:*-slim images keep because the interpreter links them. */
const PYTHON_SLIM_HEADERS = [/^libffi-dev$/, /^libssl-dev$/, /^openssl-dev$/, /^libbz2-dev$/, /^liblzma-dev$/, /^xz-dev$/, /^libsqlite3-dev$/, /^sqlite-dev$/, /^libreadline-dev$/, /^readline-dev$/, /^libncurses(?:w5)?-dev$/, /^ncurses-dev$/, /^uuid-dev$/, /^libexpat1-dev$/, /^expat-dev$/, /^libgdbm-dev$/, /^python3?-dev$/, /^zlib-dev$/];

/**
 * The shared library a -dev package depends on, for the common ones whose
 * runtime package has the same name in Debian 12 and 13 (the t64 transition
 * renamed others, e.g. libssl3 → libssl3t64, so those are not guessed).
 */
const DEBIAN_RUNTIME_LIBRARY: Readonly<Record<string, string>> = {
  'libpq-dev': 'libpq5',
  'libmariadb-dev': 'libmariadb3',
  'libmariadb-dev-compat': 'libmariadb3',
  'default-libmysqlclient-dev': 'libmariadb3',
  'libxslt1-dev': 'libxslt1.1',
  'libyaml-dev': 'libyaml-0-2',
  'libffi-dev': 'libffi8',
  'libsqlite3-dev': 'libsqlite3-0',
  'libzstd-dev': 'libzstd1',
  'libjpeg-dev': 'libjpeg62-turbo',
  'libjpeg62-turbo-dev': 'libjpeg62-turbo',
};

/** Debian releases whose library names DEBIAN_RUNTIME_LIBRARY holds. */
const MAPPED_RELEASES = new Set(['bookworm', 'trixie']);

/** The runtime library package for a -dev package on a Debian runtime image, when known. */
export function runtimeLibrary(name: string, codename: string | undefined): string | undefined {
  return codename === undefined || MAPPED_RELEASES.has(codename) ? DEBIAN_RUNTIME_LIBRARY[name] : undefined;
}

/**
 * -dev packages whose shared library the runtime image would lack: a binary or
 * extension module linked against them fails to load without it, and the
 * runtime package's name cannot be derived from the -dev name reliably.
 */
export function headersWithoutRuntimeLibrary(names: readonly string[], runtime: 'debian' | 'python'): string[] {
  const known = runtime === 'python' ? [...DEBIAN_BASE_HEADERS, ...PYTHON_SLIM_HEADERS] : DEBIAN_BASE_HEADERS;
  return names.filter((name) => /-dev(?:el)?$/.test(name) && !known.some((pattern) => pattern.test(name)));
}

/** The RUN command that installs runtime packages in the runtime stage. */
export function installCommand(manager: PackageManager, packages: readonly string[], noInstallRecommends: boolean): string {
  if (manager === 'apk') return `apk add --no-cache ${packages.join(' ')}`;
  const flags = noInstallRecommends ? '-y --no-install-recommends' : '-y';
  return `apt-get update && apt-get install ${flags} ${packages.join(' ')} && rm -rf /var/lib/apt/lists/*`;
}
