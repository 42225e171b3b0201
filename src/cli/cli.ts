// Command line: argument parsing (yargs), terminal output and exit codes.
// Everything it does goes through the public API (src/index.ts).
import path from 'node:path';
import yargs from 'yargs';
import { hideBin } from 'yargs/helpers';
import { createProgress } from '../report/progress.js';
import { configForFile, decodeDockerfile, DEFAULT_MAX_FILE_BYTES, docsMarkdown, DockoptError, fixFiles, fixText, listTransforms, loadTransform, type DockoptOptions, type FileResult, type FixFileOptions, type TransformInfo } from '../index.js';
import { checkLine, colorizeDiff, jsonReport, messageLines, noteLines, statisticsLines, summarize, summaryLine, unifiedDiff, unsafeHintLine, useColor, type ColorChoice, type FileReport, type LocatedError } from '../report/report.js';
import type { BuilderName } from '../verify/verify.js';

const STDIN_PATH = '\u0000stdin';

export const EXIT_OK = 0;
export const EXIT_WOULD_CHANGE = 1;
export const EXIT_ERROR = 2;

export interface CliIo {
  readonly stdout: NodeJS.WritableStream & { isTTY?: boolean };
  readonly stderr: NodeJS.WritableStream & { isTTY?: boolean };
  readonly stdin: NodeJS.ReadableStream;
  readonly env: NodeJS.ProcessEnv;
}

interface FixArguments extends TransformSelectionArguments {
  paths: string[];
  write: boolean;
  check: boolean;
  diff: boolean;
  quiet: boolean;
  verbose: boolean;
  format: 'text' | 'json' | 'sarif' | 'markdown';
  jobs?: number;
  'stdin-filename': string;
  statistics: boolean;
  color: ColorChoice;
  exclude?: string | string[];
}

/** --transform may be repeated; a path is never split on commas. */
const transformPaths = (value: unknown): string[] | undefined => (value === undefined ? undefined : (Array.isArray(value) ? value : [value]).map(String));

/** Mirrors src/verify/verify.ts's list, so that the CLI does not load the builders to print its help. */
const BUILDER_NAMES: readonly BuilderName[] = ['docker', 'podman', 'buildah'];

const TRANSFORM_OPTION = { type: 'string', alias: 't', describe: 'Also run the custom transform in this module (its default export); may be repeated' } as const;

/**
 * What fix, verify and migrate share: which transforms run and their settings.
 * None has a default here, so that a flag the user did not type leaves the
 * config file's value (and then the built-in default) in force.
 */
const TRANSFORM_SELECTION_OPTIONS = {
  select: { type: 'string', describe: 'Run exactly these transforms instead of the default set (comma-separated ids; may be repeated)' },
  'extend-select': { type: 'string', describe: 'Run these transforms too: how unsafe and network transforms are turned on (e.g. non-root, pin-base)' },
  ignore: { type: 'string', alias: 'skip', describe: 'Do not run these transforms (--skip is the same)' },
  'unsafe-fixes': { type: 'boolean', describe: 'Apply the unsafe fixes of the selected transforms (--no-unsafe-fixes: apply none) [default: false]' },
  unsafe: { type: 'boolean', describe: 'Shorthand: select the unsafe transforms too, and apply unsafe fixes [default: false]' },
  only: { type: 'string', describe: 'Run exactly these transforms and apply their unsafe fixes (= --select with --unsafe-fixes for just them)' },
  'cache-mounts': { type: 'boolean', describe: 'pkg-cleanup: use BuildKit cache mounts instead of cleaning caches [default: false]' },
  'runtime-base': { type: 'string', describe: 'multi-stage: base image of the runtime stage (default: chosen from the build image)' },
  pin: { choices: ['version', 'digest', 'both'], describe: 'pin-base: pin the exact version tag, the digest, or both [default: both]' },
  update: { type: 'boolean', describe: 'pin-base: move exact tags to the newest patch of their line (unsafe) [default: false]' },
  offline: { type: 'boolean', describe: 'pin-base: answer from the disk cache only, contact no registry [default: false]' },
  'registry-allow': { type: 'string', describe: 'pin-base: the only registries that may be contacted (comma-separated hosts)' },
  'registry-mirror': { type: 'string', describe: 'pin-base: REGISTRY=URL, ask URL instead of REGISTRY (e.g. docker.io=https://mirror.example)' },
  'insecure-registry': { type: 'string', describe: 'pin-base: registries to reach over plain http (loopback always may)' },
  'cache-dir': { type: 'string', describe: 'pin-base: cache directory (default: the user cache dir, e.g. ~/.cache/dockopt)' },
  transform: TRANSFORM_OPTION,
} as const;

/** --config / --no-config-lookup / --trust-config and the per-file limits, for the commands that fix files (fix, verify). */
const CONFIG_OPTIONS = {
  config: { type: 'string', describe: 'Use this config file for every Dockerfile instead of the nearest .dockopt.json, .dockoptrc or package.json "dockopt" above each; a named file is trusted' },
  'config-lookup': { type: 'boolean', default: true, describe: 'Look for config files (--no-config-lookup: use none)' },
  'trust-config': { type: 'boolean', default: false, describe: 'Let config files found in the tree load transforms, choose registry settings and turn on network transforms (only for trees you control)' },
  timeout: { type: 'number', describe: 'Seconds one Dockerfile may take; a slower one is left untouched with an error [default: 10]' },
  'max-file-size': { type: 'string', describe: 'Largest Dockerfile read, in bytes (or with K or M: 512K, 8M) [default: 4M]' },
} as const;

interface TransformSelectionArguments {
  select?: string | string[];
  'extend-select'?: string | string[];
  ignore?: string | string[];
  'unsafe-fixes'?: boolean;
  only?: string | string[];
  unsafe?: boolean;
  'cache-mounts'?: boolean;
  'runtime-base'?: string;
  pin?: 'version' | 'digest' | 'both';
  update?: boolean;
  offline?: boolean;
  'registry-allow'?: string | string[];
  'registry-mirror'?: string | string[];
  'insecure-registry'?: string | string[];
  'cache-dir'?: string;
  transform?: string | string[];
  verbose?: boolean;
  config?: string;
  'config-lookup'?: boolean;
  'trust-config'?: boolean;
  timeout?: number;
  'max-file-size'?: string;
}

/** The API options the shared flags stand for. */
function dockoptOptionsFrom(args: TransformSelectionArguments, io: CliIo): DockoptOptions {
  if (args.only !== undefined && args.select !== undefined) throw new UsageError('--only and --select cannot be combined: --only is --select plus consent to the unsafe fixes of the transforms it names');
  return {
    select: listOption(args.select),
    extendSelect: listOption(args['extend-select']),
    ignore: listOption(args.ignore),
    unsafeFixes: args['unsafe-fixes'],
    only: listOption(args.only),
    unsafe: args.unsafe,
    cacheMounts: args['cache-mounts'],
    pin: args.pin,
    update: args.update,
    runtimeBase: args['runtime-base'],
    offline: args.offline,
    registryAllow: listOption(args['registry-allow']),
    registryMirrors: registryMirrors(args),
    insecureRegistries: listOption(args['insecure-registry']),
    cacheDir: args['cache-dir'],
    transforms: transformPaths(args.transform),
    env: io.env,
    registryLog: args.verbose ? (line) => io.stderr.write(`registry: ${line}\n`) : undefined,
  };
}

/** true = the nearest config file above each Dockerfile; a path = that one; false = none. */
function configFileChoice(args: TransformSelectionArguments): boolean | string {
  if (args.config !== undefined) return args.config;
  return args['config-lookup'] !== false;
}

/** The options of the commands that read Dockerfiles from disk: which config applies and how far to trust it, and the per-file limits. */
function fileOptionsFrom(args: TransformSelectionArguments): Pick<FixFileOptions, 'configFile' | 'trustConfig' | 'timeout' | 'maxFileSize'> {
  if (args.timeout !== undefined && !(args.timeout > 0)) throw new UsageError(`--timeout takes a number of seconds above 0, got "${args.timeout}"`);
  return { configFile: configFileChoice(args), trustConfig: args['trust-config'] || undefined, timeout: args.timeout, maxFileSize: byteCount(args['max-file-size']) };
}

/** `4194304`, `512K`, `8M` (binary units; a trailing B or iB allowed) → bytes. */
function byteCount(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const match = /^\s*(\d+)\s*([kKmM]?)(?:i?[bB])?\s*$/.exec(String(value));
  const bytes = match ? Number(match[1]) * (match[2] === '' ? 1 : /k/i.test(match[2]) ? 1024 : 1024 * 1024) : NaN;
  if (!Number.isSafeInteger(bytes) || bytes <= 0) throw new UsageError(`--max-file-size takes a size in bytes such as 4194304, 512K or 8M, got "${value}"`);
  return bytes;
}

const listOption = (value: unknown): string[] | undefined => {
  if (value === undefined) return undefined;
  const values = Array.isArray(value) ? value : [value];
  return values.flatMap((item) => String(item).split(',')).map((item) => item.trim()).filter(Boolean);
};

export async function main(argv: readonly string[], io: CliIo): Promise<number> {
  let exitCode = EXIT_OK;
  const print = (stream: NodeJS.WritableStream, text: string) => {
    stream.write(text.endsWith('\n') ? text : `${text}\n`);
  };
  // yargs drops a bare "-", so it travels as a sentinel that no real path can be.
  const parser = yargs(argv.map((arg) => (arg === '-' ? STDIN_PATH : arg)))
    .scriptName('dockopt')
    .usage('$0 <command> [options]')
    .command(
      'fix [paths..]',
      'Fix Dockerfiles: print a unified diff (default), --write in place, or --check',
      (command) =>
        command
          .positional('paths', { type: 'string', array: true, default: ['.'], describe: 'Files or directories; "-" reads stdin' })
          .option('write', { alias: 'w', type: 'boolean', default: false, describe: 'Write the fixes in place (atomically)' })
          .option('check', { type: 'boolean', default: false, describe: 'List the files that would change, each with the transforms and lines; exit 1 if any would' })
          .option('diff', { type: 'boolean', default: false, describe: 'With "-": print a diff instead of the fixed Dockerfile' })
          .option('quiet', { alias: 'q', type: 'boolean', default: false, describe: 'Print nothing on stderr but errors' })
          .option('verbose', { alias: 'v', type: 'boolean', default: false, describe: 'Also print each registry request' })
          .option('statistics', { type: 'boolean', default: false, describe: 'Print a count per transform (fixes, files, unsafe fixes not applied, notes) instead of the diff' })
          .option('exclude', { type: 'string', describe: 'Leave out paths matching this .gitignore-style pattern when searching directories; may be repeated' })
          .option('color', { choices: ['auto', 'always', 'never'] as const, default: 'auto' as const, describe: 'Colour the diff: auto (a terminal, unless NO_COLOR; FORCE_COLOR forces it), always or never' })
          .option('format', { choices: ['text', 'json', 'sarif', 'markdown'] as const, default: 'text' as const, describe: 'Output: text (a diff), json, sarif (code scanning) or markdown (a pull-request description)' })
          .option('jobs', { alias: 'j', type: 'number', describe: 'Most threads for large batches (default: one per core; 1 = no worker threads)' })
          .option('stdin-filename', { type: 'string', default: 'Dockerfile', describe: 'Name shown for stdin input' })
          .options(TRANSFORM_SELECTION_OPTIONS)
          .options(CONFIG_OPTIONS)
          .check((args) => {
            if (args.write && args.check) throw new Error('--write and --check cannot be used together');
            if (args.diff && args.write) throw new Error('--diff and --write cannot be used together: --write changes the files, --diff only shows the change');
            if (args.diff && args.check) throw new Error('--diff and --check cannot be used together');
            return true;
          })
          .epilogue(EXIT_CODES_HELP),
      async (args) => {
        exitCode = await reportingDockoptErrors(() => runFix(args as unknown as FixArguments, io));
      },
    )
    .command(
      'list',
      'List the transforms: id, safety of their fixes (safe, unsafe, mixed), network, on by default or not',
      (command) =>
        command
          .option('transform', TRANSFORM_OPTION)
          .option('format', { choices: ['text', 'json'] as const, default: 'text' as const, describe: 'json: one object per transform on stdout' }),
      async (args) => {
        exitCode = await reportingDockoptErrors(async () => {
          const transforms = await knownTransforms(args.transform);
          if (args.format === 'json') {
            const rows = transforms.map((meta) => ({ id: meta.id, title: meta.title, fixes: meta.fixes, network: meta.network, default: meta.selectedByDefault, builtin: meta.builtin, docs: meta.docs.url }));
            print(io.stdout, JSON.stringify(rows, null, 2));
            return EXIT_OK;
          }
          const width = Math.max(...transforms.map((meta) => meta.id.length));
          print(io.stdout, `${'id'.padEnd(width)}  fixes   network  default  title`);
          for (const meta of transforms) {
            const title = meta.builtin ? meta.title : `${meta.title} (custom)`;
            print(io.stdout, `${meta.id.padEnd(width)}  ${meta.fixes.padEnd(6)}  ${(meta.network ? 'yes' : 'no').padEnd(7)}  ${(meta.selectedByDefault ? 'on' : 'off').padEnd(7)}  ${title}`);
          }
          print(io.stdout, `\nOn by default: safe and mixed transforms that need no network (mixed ones apply only their safe fixes). Turn others on with --extend-select ID; apply unsafe fixes with --unsafe-fixes.`);
          return EXIT_OK;
        });
      },
    )
    .command(
      'explain <id>',
      'Show the documentation and an example for a transform',
      (command) => command.positional('id', { type: 'string', demandOption: true }).option('transform', TRANSFORM_OPTION),
      async (args) => {
        exitCode = await reportingDockoptErrors(async () => {
          const transforms = await knownTransforms(args.transform);
          const meta = transforms.find((candidate) => candidate.id === String(args.id));
          if (!meta) {
            print(io.stderr, `dockopt: unknown transform "${args.id}"; known: ${transforms.map((t) => t.id).join(', ')}`);
            return EXIT_ERROR;
          }
          print(io.stdout, explainText(meta));
          return EXIT_OK;
        });
      },
    )
    .command(
      'verify [dockerfile]',
      'Build the Dockerfile as it is and as fixed, and compare the images: size, layers, final user, build time',
      (command) =>
        command
          .positional('dockerfile', { type: 'string', default: 'Dockerfile', describe: 'The Dockerfile to fix and build' })
          .option('context', { alias: 'c', type: 'string', describe: 'Build context of both builds (default: the Dockerfile\'s directory)' })
          .option('builder', { choices: BUILDER_NAMES, describe: 'Build with this builder (default: docker buildx with a running daemon, else podman, else buildah)' })
          .option('build-arg', { type: 'string', describe: 'NAME=VALUE for both builds; may be repeated' })
          .option('target', { type: 'string', describe: 'Build this stage of both Dockerfiles' })
          .option('keep', { type: 'boolean', default: false, describe: 'Keep both images (dockopt-verify/<hash>:original and :fixed) and the fixed Dockerfile' })
          .option('storage-root', { type: 'string', describe: 'podman/buildah: keep images in this directory instead of the default store' })
          .option('storage-driver', { type: 'string', describe: 'podman/buildah: storage driver, e.g. overlay or vfs' })
          .option('format', { choices: ['text', 'json'] as const, default: 'text' as const, describe: 'Output format' })
          .option('quiet', { alias: 'q', type: 'boolean', default: false, describe: 'Print nothing on stderr but errors' })
          .options(TRANSFORM_SELECTION_OPTIONS)
          .options(CONFIG_OPTIONS),
      async (args) => {
        exitCode = await reportingDockoptErrors(() => runVerify(args as unknown as VerifyArguments, io));
      },
    )
    .command(
      'migrate [repos..]',
      'Fix the Dockerfiles of git repositories, each on a new branch with one commit and a markdown report (never pushes)',
      (command) =>
        command
          .positional('repos', { type: 'string', array: true, describe: 'Repository directories (a directory inside a repository: only its Dockerfiles)' })
          .option('repos-file', { type: 'string', describe: 'Also the repositories in this file: one path a line, # comments, relative to the file; "-" reads stdin' })
          .option('shard', { type: 'string', describe: 'Only shard i of n (e.g. 2/4): every n-th repository of the list, starting with the i-th' })
          .option('branch', { type: 'string', describe: 'Branch to create from HEAD (default: dockopt/optimize-dockerfiles); never reused if it exists' })
          .option('force', { type: 'boolean', default: false, describe: 'Also migrate dirty work trees: modified Dockerfiles are left alone, only fixed files are committed' })
          .option('author', { type: 'string', describe: 'Commit author "Name <email>"; also the committer where git has no identity configured' })
          .option('report-dir', { type: 'string', describe: 'Write the markdown reports here as <repository>.md (default: .git/dockopt-report.md in each)' })
          .option('format', { choices: ['text', 'json'] as const, default: 'text' as const, describe: 'json: the outcomes on stdout' })
          .option('quiet', { alias: 'q', type: 'boolean', default: false, describe: 'Print nothing on stderr but problems' })
          .option('verbose', { alias: 'v', type: 'boolean', default: false, describe: 'Also print each fix and note' })
          .options(TRANSFORM_SELECTION_OPTIONS)
          .check((args) => {
            if ((args.repos ?? []).length === 0 && args['repos-file'] === undefined) throw new Error('Give repositories, or --repos-file');
            return true;
          }),
      async (args) => {
        exitCode = await reportingDockoptErrors(() => runMigrate(args as unknown as MigrateArguments, io));
      },
    )
    .demandCommand(1, 'Give a command: fix, list, explain, verify or migrate')
    .recommendCommands()
    .strict()
    .help()
    .alias('h', 'help')
    .version()
    // yargs lays out the whole help text before every command runs (to cache it); wrapping
    // that text is most of a one-file run's time, so it is only wrapped when it is shown.
    .wrap(wantsHelp(argv) ? Math.min(100, process.stdout.columns ?? 100) : null)
    .exitProcess(false)
    .fail((message, error) => {
      throw new UsageError(message ?? error?.message ?? 'invalid arguments');
    });
  const badBoolean = booleanWithValue(argv);
  if (badBoolean) {
    print(io.stderr, `dockopt: ${badBoolean}\nRun "dockopt --help" for usage.`);
    return EXIT_ERROR;
  }
  /** Bad options and transforms are the user's to fix: a message, not a stack trace. */
  async function reportingDockoptErrors(action: () => Promise<number>): Promise<number> {
    try {
      return await action();
    } catch (error) {
      if (!(error instanceof DockoptError)) throw error;
      const usage = error.code === 'INVALID_OPTIONS' || error.code === 'UNKNOWN_TRANSFORM';
      print(io.stderr, `dockopt: ${error.message}${usage ? '\nRun "dockopt --help" for usage.' : ''}`);
      return EXIT_ERROR;
    }
  }
  try {
    await parser.parseAsync();
  } catch (error) {
    if (error instanceof UsageError) {
      print(io.stderr, `dockopt: ${error.message}\nRun "dockopt --help" for usage.`);
      return EXIT_ERROR;
    }
    throw error;
  }
  return exitCode;
}

class UsageError extends Error {}

const EXIT_CODES_HELP = 'Exit codes: 0 nothing to change (or --write succeeded), 1 --check found files that would change, 2 an error (a file could not be processed, or the command line was invalid).';

/** Flags that are switches; yargs would read `--unsafe=maybe` as false without a word. */
const SWITCHES = new Set(['write', 'check', 'diff', 'quiet', 'verbose', 'statistics', 'unsafe', 'unsafe-fixes', 'cache-mounts', 'update', 'offline', 'config-lookup', 'trust-config', 'keep', 'force', 'help', 'version']);

/** `--unsafe=maybe` is a mistake, not a false: the message says what a switch takes. */
function booleanWithValue(argv: readonly string[]): string | undefined {
  for (const arg of argv) {
    if (arg === '--') break;
    const match = /^--(?:no-)?([a-z-]+)=(.*)$/.exec(arg);
    if (!match || !SWITCHES.has(match[1])) continue;
    if (match[2] !== 'true' && match[2] !== 'false') return `--${match[1]} is a switch: give it alone (or --no-${match[1]}), not "${arg}"`;
  }
  return undefined;
}

function wantsHelp(argv: readonly string[]): boolean {
  return argv.some((arg) => arg === '--help' || arg === '-h' || arg === 'help');
}

async function knownTransforms(paths: unknown): Promise<TransformInfo[]> {
  return listTransforms({ transforms: await Promise.all((transformPaths(paths) ?? []).map((file) => loadTransform(file))) });
}

/** The transform's docs page (a built-in's README.md, as it is in the repository), then its safety. */
export function explainText(meta: TransformInfo): string {
  const network = meta.network ? ', needs the network (registry lookups)' : '';
  return `${docsMarkdown(meta)}\n---\nsafety: ${meta.safety}${network}\n`;
}

async function runFix(args: FixArguments, io: CliIo): Promise<number> {
  const options: FixFileOptions = { ...dockoptOptionsFrom(args, io), exclude: listOption(args.exclude), ...fileOptionsFrom(args), write: args.write };
  const paths = args.paths.length > 0 ? args.paths : ['.'];
  if (paths.includes(STDIN_PATH)) {
    if (paths.length > 1) throw new UsageError('"-" (stdin) cannot be combined with other paths');
    if (args.write) throw new UsageError('--write cannot be used with "-" (stdin): the fixed Dockerfile goes to stdout; redirect it, or give the file\'s path');
    return fixStdin(args, options, io);
  }
  const text = args.format === 'text';
  const color = useColor(io.stdout, io.env, args.color);
  const results: FileResult[] = [];
  // Only on a terminal, and never with --quiet or machine-readable output.
  const progress = createProgress(io.stderr, !args.quiet && text && !args.check, { written: args.write });
  // Each file's output is printed as soon as every file before it (in discovery order) is done,
  // so the messages follow the work instead of arriving in one dump at the end.
  const pending = new Map<number, FileReport>();
  let nextIndex = 0;
  const flush = () => {
    for (let report = pending.get(nextIndex); report !== undefined; report = pending.get(nextIndex)) {
      pending.delete(nextIndex++);
      const shown = report;
      progress.interrupt(() => printFile(shown));
    }
  };
  const printFile = (report: FileReport) => {
    if (args.check) {
      if (report.status === 'changed') io.stdout.write(`${checkLine(report)}\n`);
    } else if (!args.write && !args.statistics && report.status === 'changed') {
      const diff = unifiedDiff(report.path, report.input!, report.output!);
      io.stdout.write(color ? colorizeDiff(diff) : diff);
    }
    const lines = messageLines(report);
    const shown = args.quiet || args.check || args.statistics ? lines.filter((line) => / error: /.test(line)) : lines;
    for (const line of shown) io.stderr.write(`${line}\n`);
  };
  try {
    for await (const result of fixFiles(paths, { ...options, jobs: args.jobs, onDiscovered: (total) => progress.start(total) })) {
      results.push(result);
      progress.advance({ changed: result.changed, failed: result.errors.length > 0 });
      if (text) {
        pending.set(result.index, toReport(result));
        flush();
      }
    }
  } finally {
    progress.finish();
  }
  // Results arrive as files finish; the output follows discovery order.
  const sorted = results.sort((a, b) => a.index - b.index);
  const all = sorted.map(toReport);
  if (args.format === 'sarif' || args.format === 'markdown') {
    io.stdout.write(await machineReport(args.format, sorted, args.transform));
  } else if (args.format === 'json') {
    io.stdout.write(`${JSON.stringify(jsonReport(all, args.write), null, 2)}\n`);
  } else {
    if (args.statistics) for (const line of statisticsLines(all, args.write)) io.stdout.write(`${line}\n`);
    if (!args.quiet && !args.check && !args.statistics) for (const line of all.flatMap(noteLines)) io.stderr.write(`${line}\n`);
    if (!args.quiet) {
      const summary = summarize(all, args.write);
      if (summary.scanned === 0 && all.every((report) => report.errors.length === 0)) io.stderr.write(`dockopt: no Dockerfiles found in ${paths.join(', ')} (Dockerfile, Dockerfile.*, *.Dockerfile, Containerfile…; .gitignore and --exclude are honoured)\n`);
      io.stderr.write(`${summaryLine(summary)}\n`);
      const hint = unsafeHintLine(all);
      if (hint) io.stderr.write(`${hint}\n`);
    }
  }
  return exitCodeFor(all, args.check);
}

function registryMirrors(args: Pick<TransformSelectionArguments, 'registry-mirror'>): Record<string, string> | undefined {
  const mirrors = listOption(args['registry-mirror']);
  if (mirrors === undefined) return undefined;
  const endpoints: Record<string, string> = {};
  for (const mirror of mirrors) {
    const [registry, url] = mirror.split('=', 2);
    if (!registry || !url) throw new UsageError(`--registry-mirror takes REGISTRY=URL, got "${mirror}"`);
    endpoints[registry] = url;
  }
  return endpoints;
}

/** Problems with a file as a whole: named by its path alone, not by a line. */
const WHOLE_FILE_CODES = new Set(['READ_ERROR', 'WRITE_ERROR', 'TIMEOUT']);

/**
 * The API's result in the shape the reporters read: the path as the user
 * would type it from here (relative to the current directory, like git diff),
 * and a transform's error message naming the transform.
 */
function toReport(result: Omit<FileResult, 'index'>): FileReport {
  return {
    path: displayPath(result.path),
    ...(result.kind && { kind: result.kind }),
    status: result.status,
    input: result.input,
    output: result.output,
    changes: result.changes,
    notes: result.notes.map((note) => ({ transform: note.transform ?? '', line: note.line, message: note.message, severity: note.severity, ...(note.unsafeFixSkipped && { unsafeFixSkipped: true }) })),
    errors: result.errors.map((error): LocatedError => ({
      line: error.line,
      message: error.transform ? `${error.transform}: ${error.message}` : error.message,
      ...(error.code !== undefined && WHOLE_FILE_CODES.has(error.code) && { wholeFile: true }),
    })),
    written: result.written,
  };
}

/** A path inside the current directory, relative to it; any other path as given. */
function displayPath(file: string): string {
  if (!path.isAbsolute(file)) return file;
  const relative = path.relative(process.cwd(), file);
  return relative === '' || relative.startsWith('..') || path.isAbsolute(relative) ? file : relative;
}

function exitCodeFor(reports: readonly FileReport[], check: boolean): number {
  if (reports.some((report) => report.errors.length > 0)) return EXIT_ERROR;
  if (check && reports.some((report) => report.status === 'changed')) return EXIT_WOULD_CHANGE;
  return EXIT_OK;
}

/** SARIF for code scanning, or markdown for a pull-request description; both name every transform that could run. */
async function machineReport(format: 'sarif' | 'markdown', results: readonly FileResult[], transformArgs: string | string[] | undefined): Promise<string> {
  const transforms = await knownTransforms(transformArgs);
  // Loaded on demand, like verify and migrate: a plain `dockopt fix` should start fast.
  if (format === 'markdown') return (await import('../report/markdown.js')).markdownReport(results, { transforms });
  const [{ sarifReport }, { dockoptReadmeUrl, dockoptVersion }] = await Promise.all([import('../report/sarif.js'), import('../runner/version.js')]);
  return `${JSON.stringify(sarifReport(results, transforms, { toolVersion: dockoptVersion(), informationUri: dockoptReadmeUrl() }), null, 2)}\n`;
}

async function fixStdin(args: FixArguments, options: FixFileOptions, io: CliIo): Promise<number> {
  const name = args['stdin-filename'];
  const maxBytes = options.maxFileSize ?? DEFAULT_MAX_FILE_BYTES;
  const chunks: Buffer[] = [];
  let total = 0;
  for await (const chunk of io.stdin) {
    const bytes = typeof chunk === 'string' ? Buffer.from(chunk) : (chunk as Buffer);
    if (total + bytes.length > maxBytes) {
      // Too large to fix: what came in still goes out, streamed, so a pipe never loses it and memory stays bounded.
      io.stderr.write(`${name}: error: cannot read: more than ${maxBytes} bytes on standard input, larger than a file may be (--max-file-size)\n`);
      for (const earlier of chunks) io.stdout.write(earlier);
      io.stdout.write(bytes);
      for await (const rest of io.stdin) io.stdout.write(rest);
      return EXIT_ERROR;
    }
    chunks.push(bytes);
    total += bytes.length;
  }
  const bytes = Buffer.concat(chunks, total);
  const decoded = decodeDockerfile(bytes);
  if ('error' in decoded) {
    io.stderr.write(`${name}:1: error: ${decoded.error}\n`);
    io.stdout.write(bytes);
    return EXIT_ERROR;
  }
  const { write: _stdinIsNeverWritten, configFile, trustConfig, maxFileSize: _alreadyApplied, ...textOptions } = options;
  // stdin has no directory of its own: the config is the one that --stdin-filename's path would get, searched from here.
  const lookup = { explicitConfigPath: typeof configFile === 'string' ? configFile : undefined, trust: trustConfig, startDirectory: process.cwd() };
  const fileConfig = configFile === false || configFile === undefined ? {} : (await configForFile(path.resolve(name), lookup)).config;
  const result: FileResult = { ...(await fixText(decoded.text, { ...textOptions, config: { ...textOptions.config, ...fileConfig } })), path: name, index: 0, written: false };
  const report = toReport(result);
  if (args.format === 'sarif' || args.format === 'markdown') {
    io.stdout.write(await machineReport(args.format, [result], args.transform));
  } else if (args.format === 'json') {
    io.stdout.write(`${JSON.stringify(jsonReport([report], false), null, 2)}\n`);
  } else if (args.check) {
    if (report.status === 'changed') io.stdout.write(`${checkLine(report)}\n`);
  } else if (args.diff) {
    if (report.status === 'changed') {
      const diff = unifiedDiff(name, report.input!, report.output!);
      io.stdout.write(useColor(io.stdout, io.env, args.color) ? colorizeDiff(diff) : diff);
    }
  } else {
    // Nothing is lost: on error the input goes through unchanged.
    io.stdout.write(report.output ?? decoded.text);
  }
  const lines = messageLines(report);
  for (const line of args.quiet ? lines.filter((l) => / error: /.test(l)) : lines) io.stderr.write(`${line}\n`);
  if (!args.quiet && !args.check && args.format === 'text') {
    for (const line of noteLines(report)) io.stderr.write(`${line}\n`);
    const hint = unsafeHintLine([report]);
    if (hint) io.stderr.write(`${hint}\n`);
  }
  return exitCodeFor([report], args.check);
}

export async function runCli(): Promise<void> {
  const code = await main(hideBin(process.argv), { stdout: process.stdout, stderr: process.stderr, stdin: process.stdin, env: process.env });
  process.exitCode = code;
}

interface VerifyArguments extends Omit<FixArguments, 'paths' | 'write' | 'check' | 'diff' | 'verbose' | 'jobs' | 'stdin-filename'> {
  dockerfile: string;
  context?: string;
  builder?: BuilderName;
  'build-arg'?: string | string[];
  target?: string;
  keep: boolean;
  'storage-root'?: string;
  'storage-driver'?: string;
}

/** `dockopt verify`: exit 0 when both images build, 1 when only the original does, 2 when nothing could be compared. */
async function runVerify(args: VerifyArguments, io: CliIo): Promise<number> {
  const buildArgs: Record<string, string> = {};
  for (const pair of args['build-arg'] === undefined ? [] : [args['build-arg']].flat()) {
    const equals = pair.indexOf('=');
    if (equals <= 0) throw new UsageError(`--build-arg takes NAME=VALUE, got "${pair}"`);
    buildArgs[pair.slice(0, equals)] = pair.slice(equals + 1);
  }
  const { verifyDockerfile, verifyExitCode } = await import('../verify/verify.js');
  const { verifyJson, verifyProblems, verifyText } = await import('../verify/table.js');
  const report = await verifyDockerfile({
    dockerfile: args.dockerfile,
    context: args.context,
    builder: args.builder,
    builderSettings: { env: io.env, storage: { root: args['storage-root'], driver: args['storage-driver'] } },
    buildArgs,
    target: args.target,
    keep: args.keep,
    fix: { ...dockoptOptionsFrom({ ...args, verbose: false }, io), ...fileOptionsFrom(args) },
    progress: args.quiet || args.format === 'json' ? undefined : (line) => io.stderr.write(`${line}\n`),
  });
  const code = verifyExitCode(report);
  io.stdout.write(args.format === 'json' ? verifyJson(report, code) : verifyText(report));
  io.stderr.write(verifyProblems(report));
  if (report.fixedDockerfile && !args.quiet && args.format !== 'json') io.stderr.write(`kept ${report.original?.tag ?? ''}${report.fixed?.ok ? ` and ${report.fixed.tag}` : ''}; the fixed Dockerfile is ${report.fixedDockerfile}\n`);
  return code;
}

interface MigrateArguments extends TransformSelectionArguments {
  repos?: string[];
  'repos-file'?: string;
  shard?: string;
  branch?: string;
  force: boolean;
  author?: string;
  'report-dir'?: string;
  format: 'text' | 'json';
  quiet: boolean;
  verbose: boolean;
}

/** `dockopt migrate`: a line per repository on stderr as each finishes, then a summary; exit 2 if any was not migrated cleanly. */
async function runMigrate(args: MigrateArguments, io: CliIo): Promise<number> {
  // Loaded on demand: fix, list and explain never need git.
  const { migrate, parseRepoList, parseShard } = await import('../migrate/migrate.js');
  const { default: path } = await import('node:path');
  const { readFile } = await import('node:fs/promises');
  const repos = (args.repos ?? []).map((repo) => (repo === STDIN_PATH ? '-' : repo));
  const listFile = args['repos-file'] === STDIN_PATH ? '-' : args['repos-file'];
  if (listFile === '-') {
    const chunks: Buffer[] = [];
    for await (const chunk of io.stdin) chunks.push(typeof chunk === 'string' ? Buffer.from(chunk) : chunk);
    repos.push(...parseRepoList(Buffer.concat(chunks).toString('utf8'), '.'));
  } else if (listFile !== undefined) {
    let text: string;
    try {
      text = await readFile(listFile, 'utf8');
    } catch (error) {
      throw new UsageError(`cannot read --repos-file ${listFile}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
    }
    repos.push(...parseRepoList(text, path.dirname(listFile)));
  }
  const outcomes: import('../migrate/migrate.js').RepoOutcome[] = [];
  const problem = (line: string) => io.stderr.write(`${line}\n`);
  const info = (line: string) => {
    if (!args.quiet && args.format === 'text') io.stderr.write(`${line}\n`);
  };
  for await (const outcome of migrate(repos, {
    branch: args.branch,
    force: args.force,
    shard: args.shard === undefined ? undefined : parseShard(args.shard),
    author: args.author,
    reportDir: args['report-dir'],
    ...dockoptOptionsFrom(args, io),
  })) {
    outcomes.push(outcome);
    const { repo } = outcome;
    if (outcome.status === 'migrated') {
      const count = outcome.changedFiles.length;
      info(`${repo}: migrated: ${count} Dockerfile${count === 1 ? '' : 's'} committed on ${outcome.branch} (${outcome.commit!.slice(0, 12)}); report: ${outcome.report}`);
    } else if (outcome.status === 'unchanged') info(`${repo}: unchanged`);
    else if (outcome.status === 'skipped-dirty') problem(`${repo}: skipped: ${outcome.error}`);
    else if (outcome.status === 'not-a-repo') problem(`${repo}: not a repository: ${outcome.error}`);
    else problem(`${repo}: error: ${outcome.error}`);
    if (outcome.leftAlone.length > 0) info(`${repo}: left alone (uncommitted changes): ${outcome.leftAlone.join(', ')}`);
    if (args.format === 'text') {
      for (const file of outcome.files) {
        const report = toReport({ ...file, path: path.join(repo, file.path) });
        for (const line of messageLines(report)) {
          if (/ error: /.test(line)) problem(line);
          else if (args.verbose) info(line);
        }
        if (args.verbose) for (const line of noteLines(report)) info(line);
      }
    }
  }
  const clean = (outcome: import('../migrate/migrate.js').RepoOutcome) => (outcome.status === 'migrated' || outcome.status === 'unchanged') && outcome.files.every((file) => file.errors.length === 0);
  if (args.format === 'json') {
    const repositories = outcomes.map(({ files, ...outcome }) => ({
      ...outcome,
      errors: files.flatMap((file) => file.errors.map((error) => ({ path: file.path, line: error.line, code: error.code, message: error.transform ? `${error.transform}: ${error.message}` : error.message }))),
    }));
    io.stdout.write(`${JSON.stringify({ version: 1, repositories }, null, 2)}\n`);
  } else {
    const count = (status: string) => outcomes.filter((outcome) => outcome.status === status).length;
    const failedFiles = outcomes.reduce((sum, outcome) => sum + outcome.files.filter((file) => file.errors.length > 0).length, 0);
    info(
      `${outcomes.length} ${outcomes.length === 1 ? 'repository' : 'repositories'}: ${count('migrated')} migrated, ${count('unchanged')} unchanged, ` +
        `${count('skipped-dirty')} skipped (dirty), ${count('not-a-repo')} not a repository, ${count('error')} failed; ${failedFiles} Dockerfile${failedFiles === 1 ? '' : 's'} with errors`,
    );
  }
  return outcomes.every(clean) ? EXIT_OK : EXIT_ERROR;
}
