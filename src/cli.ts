// Command line: argument parsing (yargs), terminal output and exit codes.
import yargs from 'yargs';
import { hideBin } from 'yargs/helpers';
import type { EngineOptions } from './engine.js';
import { discoverFiles, processFiles, processText, decodeDockerfile, type WorkerPlan } from './runner.js';
import { colorizeDiff, jsonReport, messageLines, summarize, summaryLine, unifiedDiff, useColor, type FileReport } from './report.js';
import { selectTransforms, TransformSelectionError } from './selection.js';
import { TRANSFORMS, findTransform } from '../transforms/index.js';
import type { TransformOptions } from './transform.js';
import type { ImageResolverOptions } from './registry/index.js';

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
  'stdin-filename': string;
  pin: 'version' | 'digest' | 'both';
  update: boolean;
  offline: boolean;
  'registry-allow'?: string | string[];
  'registry-mirror'?: string | string[];
  'insecure-registry'?: string | string[];
  'cache-dir'?: string;
  'runtime-base'?: string;
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
          .option('check', { type: 'boolean', default: false, describe: 'Only list files that would change; exit 1 if any would' })
          .option('diff', { type: 'boolean', default: false, describe: 'With "-": print a diff instead of the fixed Dockerfile' })
          .option('only', { type: 'string', describe: 'Run only these transforms (comma-separated ids); their unsafe fixes apply' })
          .option('skip', { type: 'string', describe: 'Do not run these transforms (comma-separated ids)' })
          .option('unsafe', { type: 'boolean', default: false, describe: 'Also run unsafe transforms and apply unsafe fixes' })
          .option('quiet', { alias: 'q', type: 'boolean', default: false, describe: 'Print nothing on stderr but errors' })
          .option('verbose', { alias: 'v', type: 'boolean', default: false, describe: 'Also print notes: what was left alone and why' })
          .option('format', { choices: ['text', 'json'] as const, default: 'text' as const, describe: 'Output format' })
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
          .check((args) => {
            if (args.write && args.check) throw new Error('--write and --check cannot be used together');
            return true;
          }),
      async (args) => {
        exitCode = await runFix(args as unknown as FixArguments, io);
      },
    )
    .command(
      'list',
      'List the transforms',
      () => undefined,
      () => {
        const width = Math.max(...TRANSFORMS.map((transform) => transform.meta.id.length));
        for (const transform of TRANSFORMS) {
          const tags = [transform.meta.safety, ...(transform.meta.network ? ['network'] : [])].join(',');
          print(io.stdout, `${transform.meta.id.padEnd(width)}  ${tags.padEnd(14)}  ${transform.meta.title}`);
        }
      },
    )
    .command(
      'explain <id>',
      'Show the documentation and an example for a transform',
      (command) => command.positional('id', { type: 'string', demandOption: true }),
      (args) => {
        const transform = findTransform(String(args.id));
        if (!transform) {
          print(io.stderr, `dockopt: unknown transform "${args.id}"; known: ${TRANSFORMS.map((t) => t.meta.id).join(', ')}`);
          exitCode = EXIT_ERROR;
          return;
        }
        print(io.stdout, explainText(transform.meta));
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
  try {
    await parser.parseAsync();
  } catch (error) {
    if (error instanceof UsageError || error instanceof TransformSelectionError) {
      print(io.stderr, `dockopt: ${error.message}\nRun "dockopt --help" for usage.`);
      return EXIT_ERROR;
    }
    throw error;
  }
  return exitCode;
}

class UsageError extends Error {}

export function explainText(meta: (typeof TRANSFORMS)[number]['meta']): string {
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
  const selection = selectTransforms(TRANSFORMS, { only: listOption(args.only), skip: listOption(args.skip), unsafe: args.unsafe });
  const options: TransformOptions = { cacheMounts: args['cache-mounts'], pin: args.pin, update: args.update, runtimeBase: args['runtime-base'] };
  const needsRegistry = selection.transforms.some((transform) => transform.meta.network);
  // Loaded only when a transform asks a registry: most runs never need the client.
  const services = needsRegistry ? { resolver: (await import('./registry/index.js')).createImageResolver(resolverOptions(args, io)) } : undefined;
  const engine: EngineOptions = { transforms: selection.transforms, unsafeAllowed: selection.unsafeAllowed, options, services };
  const paths = args.paths.length > 0 ? args.paths : ['.'];
  if (paths.includes(STDIN_PATH)) {
    if (paths.length > 1) throw new UsageError('"-" (stdin) cannot be combined with other paths');
    return fixStdin(args, engine, io);
  }
  const { files, missing } = await discoverFiles(paths);
  const color = useColor(io.stdout, io.env);
  // The registry client's dedupe and cache live in this thread, so network runs stay in it.
  const workerPlan: WorkerPlan | undefined = needsRegistry
    ? undefined
    : { transformIds: selection.transforms.map((transform) => transform.meta.id), unsafeAllowed: selection.unsafeAllowed === 'all' ? 'all' : [...selection.unsafeAllowed], options, write: args.write };
  const reports = await processFiles(files, engine, { write: args.write, workerPlan });
  const missingReports: FileReport[] = missing.map((file) => ({ path: file, status: 'error', changes: [], notes: [], errors: [{ line: 1, message: 'no such file or directory' }], written: false }));
  const all = [...missingReports, ...reports];
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

function resolverOptions(args: FixArguments, io: CliIo): ImageResolverOptions {
  const endpoints: Record<string, string> = {};
  for (const mirror of listOption(args['registry-mirror']) ?? []) {
    const [registry, url] = mirror.split('=', 2);
    if (!registry || !url) throw new UsageError(`--registry-mirror takes REGISTRY=URL, got "${mirror}"`);
    endpoints[registry] = url;
  }
  return {
    offline: args.offline,
    allowRegistries: listOption(args['registry-allow']),
    plainHttpRegistries: listOption(args['insecure-registry']),
    endpoints,
    cacheDir: args['cache-dir'],
    env: io.env,
    log: args.verbose ? (line) => io.stderr.write(`registry: ${line}\n`) : undefined,
  };
}

function exitCodeFor(reports: readonly FileReport[], check: boolean): number {
  if (reports.some((report) => report.errors.length > 0)) return EXIT_ERROR;
  if (check && reports.some((report) => report.status === 'changed')) return EXIT_WOULD_CHANGE;
  return EXIT_OK;
}

async function fixStdin(args: FixArguments, engine: EngineOptions, io: CliIo): Promise<number> {
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
  const report = await processText(name, decoded.text, engine);
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
