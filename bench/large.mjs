#!/usr/bin/env node
// Part of npm run bench: the inputs that once cost super-linear time or
// unbounded memory (issue 16), timed through the real bin, one process each:
// - one RUN with a 2,000 and a 4,000 command `&&` chain, with --unsafe
//   (multi-stage was cubic in it);
// - 400 and 4,000 RUN lines, in the default mode (merge-runs and pkg-cleanup
//   across passes were quadratic or worse);
// - a registry whose tags/list streams 2 GiB without Content-Length (the
//   process grew to 6.4 GB and V8 aborted it): peak RSS and the exit code.
// Targets (printed, never asserted): every file well inside the 10 s --timeout,
// doubling the input at most ~2.5x the time, and the hostile tag list refused
// with a per-file error under 200 MiB peak RSS.
// BENCH_BIN=path/to/bin/dockopt times another build (a before/after comparison).
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { longChain, manyRuns } from './large-files.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const bin = process.env.BENCH_BIN ?? path.join(root, 'bin', 'dockopt');
const rssProbe = path.join(root, 'bench', 'report-rss.mjs');

/** Runs the bin with the RSS probe; resolves with wall time, CPU time, peak RSS and output. */
function timed(args, cwd) {
  return new Promise((resolve) => {
    const start = process.hrtime.bigint();
    const child = spawn(process.execPath, ['--import', rssProbe, bin, ...args], { cwd, env: { ...process.env, NO_COLOR: '1' } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk) => (stdout += chunk));
    child.stderr.on('data', (chunk) => (stderr += chunk));
    child.on('exit', (status) => {
      const seconds = Number(process.hrtime.bigint() - start) / 1e9;
      const rss = /dockopt-bench-max-rss-kb=(\d+)/.exec(stderr);
      resolve({ seconds, status, stdout, stderr: stderr.replace(/dockopt-bench-max-rss-kb=\d+\n/, ''), maxRssMiB: rss ? Number(rss[1]) / 1024 : NaN });
    });
  });
}

/** The shape of many RUN lines: plain commands alternating with installs. */
function alternatingRuns(count) {
  const lines = ['FROM debian:bookworm'];
  for (let index = 0; index < count; index++) lines.push(index % 2 ? `RUN apt-get install -y pkg${index}` : `RUN echo ${index}`);
  return `${lines.join('\n')}\n`;
}

const dir = mkdtempSync(path.join(tmpdir(), 'dockopt-bench-large-'));
try {
  console.log(`large files (${bin}):`);
  const cases = [
    ['2,000-command && chain, --unsafe', longChain(2000), ['--unsafe']],
    ['4,000-command && chain, --unsafe', longChain(4000), ['--unsafe']],
    ['400 RUN lines (install/echo), default', alternatingRuns(400), []],
    ['4,000 RUN lines (install/echo), default', alternatingRuns(4000), []],
    ['400 RUN lines (mixed), default', manyRuns(400), []],
    ['4,000 RUN lines (mixed), default', manyRuns(4000), []],
  ];
  const seconds = [];
  for (const [label, text, flags] of cases) {
    const file = path.join(dir, `case-${seconds.length}.Dockerfile`);
    writeFileSync(file, text);
    // No budget: the point is how long it takes.
    const run = await timed(['fix', '--check', '--no-config-lookup', '--timeout', '3600', ...flags, file], dir);
    const problem = run.status === 0 || run.status === 1 ? '' : `, exit ${run.status}: ${run.stderr.trim().split('\n')[0]}`;
    console.log(`  ${label} (${(text.length / 1024).toFixed(0)} KiB): ${run.seconds.toFixed(2)} s, peak RSS ${run.maxRssMiB.toFixed(0)} MiB${problem}`);
    seconds.push(run.seconds);
  }
  console.log(`  doubling the chain: ${(seconds[1] / seconds[0]).toFixed(2)}x the time; 10x the RUN lines: ${(seconds[3] / seconds[2]).toFixed(1)}x and ${(seconds[5] / seconds[4]).toFixed(1)}x (target: near-linear)`);

  // A registry that answers the manifest honestly, then streams a tag list without end.
  const manifest = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: 'application/vnd.oci.image.index.v1+json', manifests: [] }));
  const { createHash } = await import('node:crypto');
  const digest = `sha256:${createHash('sha256').update(manifest).digest('hex')}`;
  const chunk = Buffer.alloc(1024 * 1024, 'x');
  let sent = 0;
  const server = http.createServer((request, response) => {
    if (request.url?.includes('/manifests/')) {
      response.writeHead(200, { 'content-type': 'application/vnd.oci.image.index.v1+json', 'docker-content-digest': digest, 'content-length': String(manifest.length) }).end(request.method === 'HEAD' ? undefined : manifest);
      return;
    }
    response.writeHead(200, { 'content-type': 'application/json' });
    response.write('{"tags":["');
    let closed = false;
    response.once('close', () => (closed = true));
    const pump = () => {
      while (!closed && sent < 2 * 1024 ** 3) {
        sent += chunk.length;
        if (!response.write(chunk)) return void response.once('drain', pump);
      }
      response.end('"]}');
    };
    pump();
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const host = `127.0.0.1:${server.address().port}`;
  const file = path.join(dir, 'hostile.Dockerfile');
  writeFileSync(file, `FROM ${host}/library/python:3.12-slim\n`);
  const cacheDir = mkdtempSync(path.join(tmpdir(), 'dockopt-bench-cache-'));
  const run = await timed(['fix', '--check', '--no-config-lookup', '--only', 'pin-base', '--cache-dir', cacheDir, file], dir);
  server.closeAllConnections();
  server.close();
  rmSync(cacheDir, { recursive: true, force: true });
  console.log(`hostile registry, a chunked 2 GiB tags/list: exit ${run.status} in ${run.seconds.toFixed(2)} s, peak RSS ${run.maxRssMiB.toFixed(0)} MiB (target: < 200 MiB), ${(sent / 1024 ** 2).toFixed(0)} MiB sent before dockopt hung up`);
  console.log(`  ${run.stderr.trim().split('\n')[0]}`);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
