#!/usr/bin/env node
// Measures dockopt's transforms on real builds: for each case under
// bench/images/<name>/ it runs the named transforms through the engine, builds
// the original and the optimized Dockerfile in the image lab (bench/lab/), runs
// both images' command, and compares size, layers, user and output.
//
//   node bench/measure-images.mjs [--only name[,name...]] [--json] [--keep] [--cases dir]
//
// Needs `npm run build` (it loads dist/) and bench/lab/setup.sh (as root).
// Exit status: 0 all cases pass, 1 a case failed, 2 the lab, the build output
// or the arguments are not usable.
import { existsSync } from 'node:fs';
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { build, LabError, loadLab, remove, run } from './lab/lab.mjs';

const BENCH_DIR = path.dirname(fileURLToPath(import.meta.url));
/** DOCKOPT_DIST_DIR points at another compiled tree (tests of this script). */
const DIST_DIR = path.resolve(process.env.DOCKOPT_DIST_DIR ?? path.join(BENCH_DIR, '..', 'dist'));
const USAGE = 'usage: node bench/measure-images.mjs [--only name[,name...]] [--json] [--keep] [--cases dir]';

class UsageError extends Error {}

// ---- arguments and cases ----------------------------------------------------------

function parseArguments(argv) {
  const options = { only: undefined, json: false, keep: false, casesDir: path.join(BENCH_DIR, 'images') };
  for (let i = 0; i < argv.length; i++) {
    const argument = argv[i];
    const value = () => {
      if (i + 1 >= argv.length) throw new UsageError(`${argument} needs a value\n${USAGE}`);
      return argv[++i];
    };
    if (argument === '--json') options.json = true;
    else if (argument === '--keep') options.keep = true;
    else if (argument === '--only') options.only = value().split(',').filter(Boolean);
    else if (argument === '--cases') options.casesDir = path.resolve(value());
    else if (argument === '--help' || argument === '-h') {
      console.log(USAGE);
      process.exit(0);
    } else throw new UsageError(`unknown argument ${argument}\n${USAGE}`);
  }
  return options;
}

async function loadCases(casesDir, only) {
  let entries;
  try {
    entries = await readdir(casesDir, { withFileTypes: true });
  } catch (error) {
    throw new UsageError(`cannot read the cases directory ${casesDir}: ${error.code ?? error.message}`);
  }
  const names = entries
    .filter((entry) => entry.isDirectory() && existsSync(path.join(casesDir, entry.name, 'case.json')))
    .map((entry) => entry.name)
    .sort();
  const unknown = (only ?? []).filter((name) => !names.includes(name));
  if (unknown.length > 0) throw new UsageError(`no case named ${unknown.join(', ')} in ${casesDir} (cases: ${names.join(', ') || 'none'})`);
  const selected = only ? names.filter((name) => only.includes(name)) : names;
  return Promise.all(selected.map((name) => loadCase(path.join(casesDir, name), name)));
}

async function loadCase(dir, name) {
  const file = path.join(dir, 'case.json');
  let spec;
  try {
    spec = JSON.parse(await readFile(file, 'utf8'));
  } catch (error) {
    throw new UsageError(`${file}: ${error.message}`);
  }
  const problem = (message) => new UsageError(`${file}: ${message}`);
  if (!Array.isArray(spec.transforms) || spec.transforms.length === 0 || !spec.transforms.every((id) => typeof id === 'string')) {
    throw problem('"transforms" must be a non-empty array of transform ids');
  }
  if (spec.unsafe !== undefined && typeof spec.unsafe !== 'boolean' && !Array.isArray(spec.unsafe)) {
    throw problem('"unsafe" must be true, false or an array of transform ids');
  }
  if (spec.runArgs !== undefined && !(Array.isArray(spec.runArgs) && spec.runArgs.every((arg) => typeof arg === 'string'))) {
    throw problem('"runArgs" must be an array of strings');
  }
  if (spec.expectOutput !== undefined && typeof spec.expectOutput !== 'string') throw problem('"expectOutput" must be a string');
  const dockerfile = path.join(dir, spec.dockerfile ?? 'Dockerfile');
  if (!existsSync(dockerfile)) throw problem(`${path.relative(dir, dockerfile)} does not exist`);
  return {
    name,
    dir,
    dockerfile,
    context: path.resolve(dir, spec.context ?? '.'),
    transforms: spec.transforms,
    unsafe: spec.unsafe ?? false,
    options: spec.options ?? {},
    buildArgs: spec.buildArgs ?? {},
    target: spec.target,
    runArgs: spec.runArgs,
    expectOutput: spec.expectOutput,
    expectSmaller: spec.expectSmaller ?? false,
    expectChange: spec.expectChange ?? true,
    expectNonRoot: spec.expectNonRoot ?? false,
    timeoutSeconds: spec.timeoutSeconds,
  };
}

// ---- the compiled engine and transforms -------------------------------------------------

async function loadEngine(cases) {
  const enginePath = path.join(DIST_DIR, 'src', 'engine', 'fixpoint.js');
  if (!existsSync(enginePath)) throw new UsageError(`${enginePath} does not exist; run npm run build first`);
  const ids = [...new Set(cases.flatMap((testCase) => testCase.transforms))];
  const missing = ids.filter((id) => !existsSync(transformPath(id)));
  if (missing.length > 0) {
    const lines = missing.map((id) => {
      const users = cases.filter((testCase) => testCase.transforms.includes(id)).map((testCase) => testCase.name);
      return `  ${id} (case ${users.join(', ')}): ${path.relative(process.cwd(), transformPath(id))} is missing; is transforms/${id}/index.ts written yet? then npm run build`;
    });
    throw new UsageError(`transforms not built:\n${lines.join('\n')}`);
  }
  const { fixDockerfile } = await import(pathToFileURL(enginePath).href);
  const transforms = new Map();
  for (const id of ids) {
    const transform = (await import(pathToFileURL(transformPath(id)).href)).default;
    if (transform?.meta?.id !== id || typeof transform.run !== 'function') {
      throw new UsageError(`${transformPath(id)} must export default a transform whose meta.id is ${id}`);
    }
    transforms.set(id, transform);
  }
  return { fixDockerfile, transforms, services: {} };
}

/**
 * Network transforms (meta.network) ask a registry; here that is the lab's,
 * standing in for docker.io, with no disk cache so digests are the lab's current ones.
 */
async function addResolver(engine, lab) {
  if (![...engine.transforms.values()].some((transform) => transform.meta.network)) return;
  const registryPath = path.join(DIST_DIR, 'src', 'registry', 'index.js');
  if (!existsSync(registryPath)) throw new UsageError(`${registryPath} does not exist; network transforms need the registry client (npm run build)`);
  const { createImageResolver } = await import(pathToFileURL(registryPath).href);
  engine.services.resolver = createImageResolver({ endpoints: { 'docker.io': `http://${lab.registry}` }, diskCache: false });
}

function transformPath(id) {
  return path.join(DIST_DIR, 'transforms', id, 'index.js');
}

// ---- one case -----------------------------------------------------------------------------

async function measureCase(testCase, engine, workDir, keep) {
  const result = {
    name: testCase.name,
    transforms: testCase.transforms,
    changed: false,
    changes: [],
    notes: [],
    dockerfiles: { original: testCase.dockerfile, optimized: null },
    original: null,
    optimized: null,
    savedBytes: null,
    savedPercent: null,
    outputMatches: null,
    failures: [],
    ok: false,
  };
  const fail = (message) => result.failures.push(message);

  const input = await readFile(testCase.dockerfile, 'utf8');
  let fixed;
  try {
    fixed = await engine.fixDockerfile(input, {
      transforms: testCase.transforms.map((id) => engine.transforms.get(id)),
      unsafeAllowed: testCase.unsafe === true ? 'all' : new Set(testCase.unsafe || []),
      options: testCase.options,
      services: engine.services,
    });
  } catch (error) {
    fail(`engine: ${error.message}`);
    return result;
  }
  result.changed = fixed.changed;
  result.changes = fixed.changes;
  result.notes = fixed.notes;
  for (const note of fixed.notes.filter((note) => note.severity === 'error')) fail(`engine error from ${note.transform} at line ${note.line}: ${note.message}`);
  if (!fixed.changed && testCase.expectChange) fail('the transforms changed nothing (set "expectChange": false if that is the point)');

  const caseWorkDir = path.join(workDir, testCase.name);
  await mkdir(caseWorkDir, { recursive: true });
  const optimizedPath = path.join(caseWorkDir, 'Dockerfile.optimized');
  await writeFile(optimizedPath, fixed.output);
  result.dockerfiles.optimized = optimizedPath;

  for (const variant of ['original', 'optimized']) {
    const dockerfile = variant === 'original' ? testCase.dockerfile : optimizedPath;
    progress(`${testCase.name}: building ${variant}`);
    result[variant] = await buildAndRun(testCase, dockerfile, `dockopt-measure/${testCase.name}:${variant}`, keep);
  }
  const { original, optimized } = result;
  if (!original.ok) fail(`the original does not build (the case is broken): ${original.error}`);
  if (!optimized.ok) fail(`the optimized Dockerfile does not build${heredocHint(optimized, fixed.output)}: ${optimized.error}`);
  if (original.ok && optimized.ok) {
    result.savedBytes = original.sizeBytes - optimized.sizeBytes;
    result.savedPercent = Math.round((result.savedBytes / original.sizeBytes) * 1000) / 10;
    if (testCase.expectSmaller && result.savedBytes <= 0) {
      fail(`expected a smaller image: ${original.sizeBytes} -> ${optimized.sizeBytes} bytes`);
    }
    if (testCase.expectNonRoot) {
      // Images without `id` (scratch, distroless) are judged by their config's numeric USER.
      const configUid = /^(\d+)(:\d+)?$/.exec(optimized.user ?? '')?.[1];
      const uid = optimized.uid ?? (configUid === undefined ? null : Number(configUid));
      if (uid === null || uid === 0) fail(`expected a non-root image, uid is ${uid} (user "${optimized.user}")`);
    }
    result.outputMatches = outputsMatch(original.output, optimized.output, testCase.expectOutput);
    if (original.output.timedOut || optimized.output.timedOut) fail('the command timed out (a CMD that serves forever needs runArgs that exit)');
    if (testCase.expectOutput !== undefined && !original.output.stdout.includes(testCase.expectOutput)) {
      fail(`the original's command does not print ${JSON.stringify(testCase.expectOutput)} (the case is broken): ${describeOutput(original.output)}`);
    }
    if (!result.outputMatches) fail(`the command's output differs: original ${describeOutput(original.output)}, optimized ${describeOutput(optimized.output)}`);
  }
  result.ok = result.failures.length === 0;
  return result;
}

async function buildAndRun(testCase, dockerfile, tag, keep) {
  const built = await build({
    dockerfile,
    context: testCase.context,
    tag,
    buildArgs: testCase.buildArgs,
    target: testCase.target,
    timeoutSeconds: testCase.timeoutSeconds,
  });
  const { log, env, ...summary } = built;
  if (!built.ok) return { ...summary, uid: null, output: null };
  try {
    const output = await run(tag, testCase.runArgs);
    // `id` straight, not through the ENTRYPOINT, which may not pass commands on.
    const probe = await run(tag, ['id', '-u'], { entrypoint: [] });
    const uid = probe.exitCode === 0 && /^\d+$/.test(probe.stdout.trim()) ? Number(probe.stdout.trim()) : null;
    return { ...summary, uid, output: { argv: output.argv, exitCode: output.exitCode, stdout: output.stdout, stderr: output.stderr, timedOut: output.timedOut } };
  } catch (error) {
    return { ...summary, ok: false, error: `built, but running it failed: ${error.message}`, uid: null, output: null };
  } finally {
    if (!keep) await remove(tag);
  }
}

function outputsMatch(original, optimized, expectOutput) {
  return (
    original.exitCode === optimized.exitCode &&
    original.stdout === optimized.stdout &&
    !original.timedOut &&
    !optimized.timedOut &&
    (expectOutput === undefined || optimized.stdout.includes(expectOutput))
  );
}

function describeOutput(output) {
  const stdout = output.stdout.length > 200 ? `${output.stdout.slice(0, 200)}...` : output.stdout;
  return `exit ${output.exitCode}, stdout ${JSON.stringify(stdout)}`;
}

/** buildah 1.28 has no heredocs; say so instead of leaving "Unknown instruction" to be decoded. */
function heredocHint(built, dockerfileText) {
  return /Unknown instruction/i.test(built.log ?? built.error ?? '') && /<<-?\s*['"]?[A-Za-z_]/.test(dockerfileText)
    ? ' (the lab builds with buildah 1.28, which does not support RUN/COPY heredocs)'
    : '';
}

// ---- reporting --------------------------------------------------------------------------------

function progress(message) {
  process.stderr.write(`[measure] ${message}\n`);
}

/** Decimal units, as docker and registries show them. */
function formatBytes(bytes) {
  if (bytes === null || bytes === undefined) return '-';
  const magnitude = Math.abs(bytes);
  if (magnitude >= 1e6) return `${(bytes / 1e6).toFixed(1)} MB`;
  if (magnitude >= 1e3) return `${(bytes / 1e3).toFixed(1)} kB`;
  return `${bytes} B`;
}

function pair(before, after) {
  return `${before ?? '-'} -> ${after ?? '-'}`;
}

function userName(image) {
  if (!image?.ok) return null;
  return image.user === '' ? 'root' : image.user;
}

function table(results) {
  const header = ['case', 'build', 'original', 'optimized', 'saved', 'layers', 'user', 'uid', 'output', 'result'];
  const rows = results.map((result) => {
    const { original, optimized } = result;
    const saved = result.savedBytes === null ? '-' : `${formatBytes(result.savedBytes)} (${result.savedPercent}%)`;
    return [
      result.name,
      original && optimized ? `${original.ok ? 'ok' : 'FAIL'}/${optimized.ok ? 'ok' : 'FAIL'}` : '-',
      formatBytes(original?.sizeBytes),
      formatBytes(optimized?.sizeBytes),
      saved,
      pair(original?.layers, optimized?.layers),
      pair(userName(original), userName(optimized)),
      pair(original?.uid, optimized?.uid),
      result.outputMatches === null ? '-' : result.outputMatches ? 'same' : 'DIFFERS',
      result.ok ? 'ok' : 'FAIL',
    ];
  });
  const widths = header.map((title, column) => Math.max(title.length, ...rows.map((row) => String(row[column]).length)));
  const line = (cells) => cells.map((cell, column) => String(cell).padEnd(widths[column])).join('  ').trimEnd();
  const lines = [line(header), line(widths.map((width) => '-'.repeat(width))), ...rows.map(line)];
  for (const result of results.filter((result) => !result.ok)) {
    lines.push('', `${result.name}: FAIL`);
    for (const failure of result.failures) lines.push(`  - ${failure.replace(/\n/g, '\n    ')}`);
    if (result.dockerfiles.optimized) lines.push(`  optimized Dockerfile: ${result.dockerfiles.optimized}`);
    for (const variant of ['original', 'optimized']) {
      if (result[variant]?.logFile) lines.push(`  ${variant} build log: ${result[variant].logFile}`);
    }
  }
  return lines.join('\n');
}

// ---- main -------------------------------------------------------------------------------------

async function main() {
  const options = parseArguments(process.argv.slice(2));
  const cases = await loadCases(options.casesDir, options.only);
  if (cases.length === 0) throw new UsageError(`no cases in ${options.casesDir} (a case is a directory with a case.json)`);
  const engine = await loadEngine(cases);
  const lab = await loadLab();
  await addResolver(engine, lab);
  const workDir = path.join(lab.workDir, 'measure');
  const results = [];
  for (const testCase of cases) {
    results.push(await measureCase(testCase, engine, workDir, options.keep));
    progress(`${testCase.name}: ${results.at(-1).ok ? 'ok' : 'FAIL'}`);
  }
  if (options.json) console.log(JSON.stringify(results, null, 2));
  else console.log(table(results));
  return results.every((result) => result.ok) ? 0 : 1;
}

// Ctrl-C: exit through process.exit so lab.mjs kills the build it started.
for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => process.exit(130));

main().then(
  (status) => {
    process.exitCode = status;
  },
  (error) => {
    process.stderr.write(`measure-images: ${error instanceof UsageError || error instanceof LabError ? error.message : error.stack}\n`);
    process.exitCode = 2;
  },
);
