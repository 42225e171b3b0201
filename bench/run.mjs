#!/usr/bin/env node
// npm run bench: end-to-end speed and memory of `dockopt fix --check`.
// Generates a corpus of varied Dockerfiles in a temp dir (seeded, so runs are
// comparable), then times the real bin over it and over a single file.
// Targets (printed, never asserted): 10,000 files < 10 s on 2 cores; one file < 0.3 s;
// the parallel path >= 1.6x the single-worker throughput.
// BENCH_FILES=n changes the corpus size; BENCH_KEEP=1 keeps the corpus for profiling.
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir, cpus } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const bin = path.join(root, 'bin', 'dockopt');
const rssProbe = path.join(root, 'bench', 'report-rss.mjs');
const count = Number(process.env.BENCH_FILES ?? 10_000);

// mulberry32: a tiny seeded PRNG so the corpus is the same on every run.
function random(seed) {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
const rand = random(42);
const pick = (items) => items[Math.floor(rand() * items.length)];

const bases = ['debian:bookworm', 'debian:bookworm-slim', 'ubuntu:24.04', 'python:3.12-slim', 'node:20', 'golang:1.22', 'alpine:3.20', 'fedora:40', 'eclipse-temurin:21'];
const runs = [
  'apt-get update',
  'apt-get install -y curl ca-certificates',
  'apt-get update && apt-get install -y --no-install-recommends git && rm -rf /var/lib/apt/lists/*',
  'cd /app && make',
  'pip install -r requirements.txt',
  'npm ci && npm run build',
  'apk add --no-cache bash',
  'export GOPATH=/go',
  'mkdir -p /app/data \\\n    && chown -R 1000:1000 /app/data',
  'if [ -f setup.sh ]; then ./setup.sh; fi',
  'curl -fsSL https://example.com/install.sh | sh',
  'useradd --system app',
  'dnf install -y nginx && dnf clean all',
];
const others = ['WORKDIR /app', 'COPY . /app', 'ENV PORT=8080', 'EXPOSE 8080', 'ARG VERSION=1.0', 'LABEL org.opencontainers.image.source="https://example.com"', '# build steps', 'USER 1000'];
const tails = ['CMD ["./app"]', 'ENTRYPOINT ["python", "main.py"]', 'CMD npm start', 'CMD ["node", "server.js"]'];

function dockerfile(index) {
  const lines = [];
  if (rand() < 0.05) lines.push('# syntax=docker/dockerfile:1');
  const stages = rand() < 0.2 ? 2 : 1;
  for (let stage = 0; stage < stages; stage++) {
    lines.push(`FROM ${pick(bases)}${stages > 1 && stage === 0 ? ' AS build' : ''}`);
    const length = 2 + Math.floor(rand() * 12);
    for (let i = 0; i < length; i++) lines.push(rand() < 0.55 ? `RUN ${pick(runs)}` : pick(others));
  }
  lines.push(pick(tails));
  const eol = index % 10 === 0 ? '\r\n' : '\n';
  return lines.join('\n').replace(/\n/g, eol) + eol;
}

function timed(args, cwd) {
  const start = process.hrtime.bigint();
  const result = spawnSync(process.execPath, ['--import', rssProbe, bin, ...args], { cwd, encoding: 'utf8', env: { ...process.env, NO_COLOR: '1' }, maxBuffer: 1 << 28 });
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  const rss = /dockopt-bench-max-rss-kb=(\d+)/.exec(result.stderr);
  return { seconds, status: result.status, stdout: result.stdout, stderr: result.stderr, maxRssMiB: rss ? Number(rss[1]) / 1024 : NaN };
}

const corpus = mkdtempSync(path.join(tmpdir(), 'dockopt-bench-'));
try {
  const started = Date.now();
  for (let index = 0; index < count; index++) {
    const dir = path.join(corpus, `repo-${Math.floor(index / 100)}`, `svc-${index % 100}`);
    mkdirSync(dir, { recursive: true });
    writeFileSync(path.join(dir, index % 7 === 0 ? 'Containerfile' : 'Dockerfile'), dockerfile(index));
  }
  console.log(`corpus: ${count} Dockerfiles in ${corpus} (generated in ${((Date.now() - started) / 1000).toFixed(1)} s)`);
  console.log(`machine: ${cpus().length} cores, node ${process.version}`);

  const runs = {};
  for (const [label, extra] of [['single worker (--jobs 1)', ['--jobs', '1']], ['parallel (one worker per core)', []]]) {
    const run = timed(['fix', '--check', ...extra, '.'], corpus);
    if (run.status !== 0 && run.status !== 1) {
      console.error(`dockopt exited ${run.status}:\n${run.stderr.slice(0, 2000)}`);
      process.exitCode = 1;
    }
    const wouldChange = run.stdout.split('\n').filter(Boolean).length;
    console.log(`fix --check over ${count} files, ${label}: ${run.seconds.toFixed(2)} s, ${(count / run.seconds).toFixed(0)} files/s, peak RSS ${run.maxRssMiB.toFixed(0)} MiB, ${wouldChange} would change`);
    runs[extra.length === 0 ? 'parallel' : 'single'] = run;
  }
  console.log(`parallel speed-up: ${(runs.single.seconds / runs.parallel.seconds).toFixed(2)}x (target: >= 1.6x); parallel run ${runs.parallel.seconds.toFixed(2)} s (target: < 10 s)`);

  const single = path.join(corpus, 'repo-0', 'svc-1');
  const samples = [];
  for (let i = 0; i < 7; i++) samples.push(timed(['fix', '--check', 'Dockerfile'], single).seconds);
  samples.sort((a, b) => a - b);
  console.log(`fix --check on one file: median ${samples[3].toFixed(3)} s, min ${samples[0].toFixed(3)} s over 7 runs (target: < 0.3 s)`);
  console.log(`one file's bytes: ${readFileSync(path.join(single, 'Dockerfile')).length}`);
  if (process.env.BENCH_KEEP) { console.log("kept", corpus); process.exit(0); }
} finally {
  rmSync(corpus, { recursive: true, force: true });
}
