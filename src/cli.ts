// Command line: argument parsing (yargs), terminal output and exit codes.
// Everything it does goes through the public API (src/index.ts).
import yargs from 'yargs';
import { hideBin } from 'yargs/helpers';
import { createProgress } from './progress.js';
import { decodeDockerfile, DockoptError, fixFiles, fixText, listTransforms, loadTransform, type FileResult, type FixFileOptions, type TransformInfo } from './index.js';
import { colorizeDiff, jsonReport, messageLines, summarize, summaryLine, unifiedDiff, useColor, type FileReport } from './report.js';

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

interface FixArguments {
  paths: string[];
  write: boolean;
  check: boolean;
  diff: boolean;
  only?: string | string[];
  skip?: string | string[];
  unsafe: boolean;
  quiet: boolean;
  verbose: boolean;
  format: 'text' | 'json';
  'cache-mounts': boolean;
  jobs?: number;
  'stdin-filename': string;
  pin: 'version' | 'digest' | 'both';
  update: boolean;
  offline: boolean;
  'registry-allow'?: string | string[];
  'registry-mirror'?: string | string[];
  'insecure-registry'?: string | string[];
  'cache-dir'?: string;
  'runtime-base'?: string;
  transform?: string | string[];
}

/** --transform may be repeated; a path is never split on commas. */
const transformPaths = (value: unknown): string[] | undefined => (value === undefined ? undefined : (Array.isArray(value) ? value : [value]).map(String));

const TRANSFORM_OPTION = { type: 'string', alias: 't', describe: 'Also run the custom transform in this module (its default export); may be repeated' } as const;

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
          .option('check', { type: 'boolean', default: false, describe: 'Only list files that would change; exit 1 if any would' })
          .option('diff', { type: 'boolean', default: false, describe: 'With "-": print a diff instead of the fixed Dockerfile' })
          .option('only', { type: 'string', describe: 'Run only these transforms (comma-separated ids); their unsafe fixes apply' })
          .option('skip', { type: 'string', describe: 'Do not run these transforms (comma-separated ids)' })
          .option('unsafe', { type: 'boolean', default: false, describe: 'Also run unsafe transforms and apply unsafe fixes' })
          .option('quiet', { alias: 'q', type: 'boolean', default: false, describe: 'Print nothing on stderr but errors' })
          .option('verbose', { alias: 'v', type: 'boolean', default: false, describe: 'Also print notes: what was left alone and why' })
          .option('format', { choices: ['text', 'json'] as const, default: 'text' as const, describe: 'Output format' })
          .option('jobs', { alias: 'j', type: 'number', describe: 'Most threads for large batches (default: one per core; 1 = no worker threads)' })
          .option('cache-mounts', { type: 'boolean', default: false, describe: 'pkg-cleanup: use BuildKit cache mounts instead of cleaning caches' })
          .option('stdin-filename', { type: 'string', default: 'Dockerfile', describe: 'Name shown for stdin input' })
          .option('runtime-base', { type: 'string', describe: 'multi-stage: base image of the runtime stage (default: chosen from the build image)' })
          .option('pin', { choices: ['version', 'digest', 'both'] as const, default: 'both' as const, describe: 'pin-base: pin the exact version tag, the digest, or both' })
          .option('update', { type: 'boolean', default: false, describe: 'pin-base: move exact tags to the newest patch of their line (unsafe)' })
          .option('offline', { type: 'boolean', default: false, describe: 'pin-base: answer from the disk cache only, contact no registry' })
          .option('registry-allow', { type: 'string', describe: 'pin-base: the only registries that may be contacted (comma-separated hosts)' })
          .option('registry-mirror', { type: 'string', describe: 'pin-base: REGISTRY=URL, ask URL instead of REGISTRY (e.g. docker.io=https://mirror.example)' })
          .option('insecure-registry', { type: 'string', describe: 'pin-base: registries to reach over plain http (loopback always may)' })
          .option('cache-dir', { type: 'string', describe: 'pin-base: cache directory (default: the user cache dir, e.g. ~/.cache/dockopt)' })
          .option('transform', TRANSFORM_OPTION)
          .check((args) => {
            if (args.write && args.check) throw new Error('--write and --check cannot be used together');
            return true;
          }),
      async (args) => {
        exitCode = await reportingDockoptErrors(() => runFix(args as unknown as FixArguments, io));
      },
    )
    .command(
      'list',
      'List the transforms',
      (command) => command.option('transform', TRANSFORM_OPTION),
      async (args) => {
        exitCode = await reportingDockoptErrors(async () => {
          const transforms = await knownTransforms(args.transform);
          const width = Math.max(...transforms.map((meta) => meta.id.length));
          for (const meta of transforms) {
            const tags = [meta.safety, ...(meta.network ? ['network'] : []), ...(meta.builtin ? [] : ['custom'])].join(',');
            print(io.stdout, `${meta.id.padEnd(width)}  ${tags.padEnd(14)}  ${meta.title}`);
          }
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
    .demandCommand(1, 'Give a command: fix, list or explain')
    .strict()
    .help()
    .alias('h', 'help')
    .version()
    .wrap(Math.min(100, process.stdout.columns ?? 100))
    .exitProcess(false)
    .fail((message, error) => {
      throw new UsageError(message ?? error?.message ?? 'invalid arguments');
    });
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

async function knownTransforms(paths: unknown): Promise<TransformInfo[]> {
  return listTransforms({ transforms: await Promise.all((transformPaths(paths) ?? []).map((file) => loadTransform(file))) });
}

export function explainText(meta: TransformInfo): string {
  const indent = (text: string) => text.replace(/\n$/, '').split('\n').map((line) => `    ${line}`).join('\n');
  return [
    `${meta.id}: ${meta.title}`,
    `safety: ${meta.safety}${meta.network ? ', needs the network (registry lookups)' : ''}`,
    '',
    meta.docs.summary,
    '',
    'Why:',
    meta.docs.why,
    '',
    'When the fix is unsafe:',
    meta.docs.fixSafety,
    '',
    'Before:',
    indent(meta.docs.example.before),
    '',
    'After:',
    indent(meta.docs.example.after),
    '',
  ].join('\n');
}

async function runFix(args: FixArguments, io: CliIo): Promise<number> {
  const options: FixFileOptions = {
    only: listOption(args.only),
    skip: listOption(args.skip),
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
    write: args.write,
  };
  const paths = args.paths.length > 0 ? args.paths : ['.'];
  if (paths.includes(STDIN_PATH)) {
    if (paths.length > 1) throw new UsageError('"-" (stdin) cannot be combined with other paths');
    return fixStdin(args, options, io);
  }
  const results: FileResult[] = [];
  // Only on a terminal, and never with --quiet or machine-readable output.
  const progress = createProgress(io.stderr, !args.quiet && args.format === 'text' && !args.check);
  try {
    for await (const result of fixFiles(paths, { ...options, jobs: args.jobs, onDiscovered: (total) => progress.start(total) })) {
      results.push(result);
      progress.advance({ changed: result.changed, failed: result.errors.length > 0 });
    }
  } finally {
    progress.finish();
  }
  // Results arrive as files finish; the output follows discovery order.
  const all = results.sort((a, b) => a.index - b.index).map(toReport);
  const color = useColor(io.stdout, io.env);
  if (args.format === 'json') {
    io.stdout.write(`${JSON.stringify(jsonReport(all, args.write), null, 2)}\n`);
  } else {
    for (const report of all) {
      if (args.check) {
        if (report.status === 'changed') io.stdout.write(`${report.path}\n`);
      } else if (!args.write && report.status === 'changed') {
        const diff = unifiedDiff(report.path, report.input!, report.output!);
        io.stdout.write(color ? colorizeDiff(diff) : diff);
      }
      const lines = messageLines(report, args.verbose);
      const shown = args.quiet || args.check ? lines.filter((line) => / error: /.test(line)) : lines;
      for (const line of shown) io.stderr.write(`${line}\n`);
    }
    if (!args.quiet && !args.check) io.stderr.write(`${summaryLine(summarize(all, args.write))}\n`);
  }
  return exitCodeFor(all, args.check);
}

function registryMirrors(args: FixArguments): Record<string, string> | undefined {
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

/** The API's result in the shape the reporters read (a transform's error message names the transform). */
function toReport(result: Omit<FileResult, 'index'>): FileReport {
  return {
    path: result.path,
    status: result.status,
    input: result.input,
    output: result.output,
    changes: result.changes,
    notes: result.notes.map((note) => ({ transform: note.transform ?? '', line: note.line, message: note.message, severity: note.severity })),
    errors: result.errors.map((error) => ({ line: error.line, message: error.transform ? `${error.transform}: ${error.message}` : error.message })),
    written: result.written,
  };
}

function exitCodeFor(reports: readonly FileReport[], check: boolean): number {
  if (reports.some((report) => report.errors.length > 0)) return EXIT_ERROR;
  if (check && reports.some((report) => report.status === 'changed')) return EXIT_WOULD_CHANGE;
  return EXIT_OK;
}

async function fixStdin(args: FixArguments, options: FixFileOptions, io: CliIo): Promise<number> {
  const chunks: Buffer[] = [];
  for await (const chunk of io.stdin) chunks.push(typeof chunk === 'string' ? Buffer.from(chunk) : chunk);
  const bytes = Buffer.concat(chunks);
  const name = args['stdin-filename'];
  const decoded = decodeDockerfile(bytes);
  if ('error' in decoded) {
    io.stderr.write(`${name}:1: error: ${decoded.error}\n`);
    io.stdout.write(bytes);
    return EXIT_ERROR;
  }
  const { write: _stdinIsNeverWritten, ...textOptions } = options;
  const report = toReport({ ...(await fixText(decoded.text, textOptions)), path: name, written: false });
  if (args.format === 'json') {
    io.stdout.write(`${JSON.stringify(jsonReport([report], false), null, 2)}\n`);
  } else if (args.check) {
    if (report.status === 'changed') io.stdout.write(`${name}\n`);
  } else if (args.diff) {
    if (report.status === 'changed') {
      const diff = unifiedDiff(name, report.input!, report.output!);
      io.stdout.write(useColor(io.stdout, io.env) ? colorizeDiff(diff) : diff);
    }
  } else {
    // Nothing is lost: on error the input goes through unchanged.
    io.stdout.write(report.output ?? decoded.text);
  }
  const lines = messageLines(report, args.verbose);
  for (const line of args.quiet ? lines.filter((l) => / error: /.test(l)) : lines) io.stderr.write(`${line}\n`);
  return exitCodeFor([report], args.check);
}

export async function runCli(): Promise<void> {
  const code = await main(hideBin(process.argv), { stdout: process.stdout, stderr: process.stderr, stdin: process.stdin, env: process.env });
  process.exitCode = code;
}
