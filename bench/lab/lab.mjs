// dockopt's image lab from Node: build a Dockerfile with buildah in the lab's
// private store, measure the image, run its command, remove it. Base images
// come from the lab's loopback registry; bench/lab/setup.sh must have run (it
// writes $DOCKOPT_LAB_DIR/lab.json, which this module reads).
//
// Operations are serialized, within this process and across processes (the
// lab lock is shared with setup.sh): timings on 2 cores mean nothing when
// builds overlap, and a prune must never race a build in the same store.
import { spawn } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { mkdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { performance } from 'node:perf_hooks';

export const LAB_DIR = process.env.DOCKOPT_LAB_DIR ?? '/var/tmp/dockopt-lab';
/** chroot (default) or oci (runc with the host network); crun does not work on this host. */
export const ISOLATION = process.env.DOCKOPT_LAB_ISOLATION ?? 'chroot';

const DEFAULT_BUILD_TIMEOUT_SECONDS = 900;
const DEFAULT_RUN_TIMEOUT_SECONDS = 120;
const LOCK_WAIT_SECONDS = 3600;
/** A build log kept in memory beyond this is cut from the front; the log file keeps all of it. */
const MAX_LOG_CHARS = 4 * 1024 * 1024;
const MAX_OUTPUT_CHARS = 1024 * 1024;
const ERROR_TAIL_LINES = 15;

export class LabError extends Error {
  constructor(message) {
    super(message);
    this.name = 'LabError';
  }
}

// ---- configuration --------------------------------------------------------------

let labConfig;

/** The lab written by setup.sh, after checking that its registry answers. */
export function loadLab() {
  labConfig ??= readLabConfig();
  return labConfig;
}

async function readLabConfig() {
  const file = path.join(LAB_DIR, 'lab.json');
  let config;
  try {
    config = JSON.parse(await readFile(file, 'utf8'));
  } catch (error) {
    throw new LabError(`the image lab is not set up (${file}: ${error.code ?? error.message}); run bench/lab/setup.sh as root`);
  }
  let status;
  try {
    status = (await fetch(`http://${config.registry}/v2/`, { signal: AbortSignal.timeout(3000) })).status;
  } catch (error) {
    status = error.cause?.code ?? error.message;
  }
  if (status !== 200) {
    throw new LabError(`the lab registry at ${config.registry} does not answer (${status}); run bench/lab/setup.sh`);
  }
  if (!['chroot', 'oci'].includes(ISOLATION)) {
    throw new LabError(`DOCKOPT_LAB_ISOLATION must be chroot or oci, not ${ISOLATION}`);
  }
  return config;
}

function labEnv(lab) {
  // The private HOME carries our registries.conf and policy.json; see setup.sh.
  return { ...process.env, HOME: lab.home, CONTAINERS_CONF: lab.containersConf, CONTAINERS_STORAGE_CONF: lab.storageConf };
}

function buildahArgs(lab, args) {
  return ['--root', lab.storageRoot, '--runroot', lab.storageRunRoot, '--storage-driver', lab.storageDriver, ...args];
}

function isolationArgs() {
  // With oci isolation and the default network, buildah creates a netavark
  // bridge and leaves iptables chains behind; the host network avoids that.
  return ISOLATION === 'oci' ? ['--isolation', 'oci', '--runtime', 'runc', '--network', 'host'] : ['--isolation', 'chroot'];
}

// ---- processes -------------------------------------------------------------------

/** Process groups still running, killed if this process exits early. */
const runningGroups = new Set();
process.on('exit', () => {
  for (const pid of runningGroups) killGroup(pid, 'SIGKILL');
});

function killGroup(pid, signal) {
  try {
    process.kill(-pid, signal);
  } catch {
    // already gone
  }
}

/**
 * Runs a command in its own process group (a timeout must also stop the
 * build's RUN processes) and collects stdout, stderr and both interleaved.
 */
function execute(command, args, { env, timeoutSeconds, logFile, maxChars = MAX_OUTPUT_CHARS }) {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
    const logStream = logFile ? createWriteStream(logFile) : undefined;
    const collected = { stdout: '', stderr: '', output: '' };
    const append = (key, text) => {
      collected[key] += text;
      if (collected[key].length > maxChars) collected[key] = collected[key].slice(-maxChars);
    };
    const onData = (key) => (chunk) => {
      const text = chunk.toString('utf8');
      append(key, text);
      append('output', text);
      logStream?.write(chunk);
    };
    child.stdout.on('data', onData('stdout'));
    child.stderr.on('data', onData('stderr'));
    let timedOut = false;
    let killTimer;
    const timer = setTimeout(() => {
      timedOut = true;
      killGroup(child.pid, 'SIGTERM');
      killTimer = setTimeout(() => killGroup(child.pid, 'SIGKILL'), 5000);
    }, timeoutSeconds * 1000);
    child.on('spawn', () => runningGroups.add(child.pid));
    child.on('error', (error) => {
      clearTimeout(timer);
      reject(new LabError(`cannot run ${command}: ${error.message}`));
    });
    child.on('close', (exitCode, signal) => {
      clearTimeout(timer);
      clearTimeout(killTimer);
      runningGroups.delete(child.pid);
      const done = () => resolve({ exitCode, signal, timedOut, ...collected });
      if (logStream) logStream.end(done);
      else done();
    });
  });
}

async function buildah(lab, args, options = {}) {
  return execute('buildah', buildahArgs(lab, args), { env: labEnv(lab), timeoutSeconds: 120, ...options });
}

async function buildahChecked(lab, args, options) {
  const result = await buildah(lab, args, options);
  if (result.exitCode !== 0) throw new LabError(`buildah ${args[0]} failed: ${lastLines(result.output, 5)}`);
  return result.stdout;
}

// ---- serialization ----------------------------------------------------------------

let queue = Promise.resolve();

function exclusive(lab, operation) {
  const result = queue.then(() => withFileLock(lab.lockFile, operation));
  queue = result.catch(() => undefined);
  return result;
}

/** Holds flock(1) on the lab lock for the duration of operation; the lock dies with us. */
async function withFileLock(lockFile, operation) {
  const holder = spawn('flock', ['--exclusive', '--wait', String(LOCK_WAIT_SECONDS), lockFile, '-c', 'echo locked && exec cat'], {
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  holder.stdin.on('error', () => undefined);
  const waiting = setTimeout(() => process.stderr.write(`[lab] waiting for ${lockFile} (another build or setup.sh holds it)\n`), 2000);
  await new Promise((resolve, reject) => {
    let said = '';
    holder.stdout.on('data', (chunk) => {
      said += chunk;
      if (said.includes('locked')) resolve();
    });
    holder.on('error', (error) => reject(new LabError(`cannot run flock: ${error.message}`)));
    holder.on('exit', (code) => reject(new LabError(`could not lock ${lockFile} within ${LOCK_WAIT_SECONDS}s (flock exited ${code})`)));
  }).finally(() => clearTimeout(waiting));
  try {
    return await operation();
  } finally {
    holder.stdin.end();
  }
}

// ---- the API ----------------------------------------------------------------------

/**
 * Builds dockerfile (a path) with context as `tag`, without any cache, one
 * layer per RUN/COPY/ADD as docker build makes them, and measures the image.
 * A failed build is a result ({ok: false, error, log}), not an exception.
 */
export async function build({ dockerfile, context, tag, buildArgs = {}, target, timeoutSeconds = DEFAULT_BUILD_TIMEOUT_SECONDS }) {
  const lab = await loadLab();
  return exclusive(lab, async () => {
    await mkdir(lab.logDir, { recursive: true });
    const logFile = path.join(lab.logDir, `build-${slug(tag)}-${Date.now()}.log`);
    const args = [
      'build',
      '--layers', // without it buildah squashes every new instruction into one layer
      '--force-rm', // a failed build must not leave a container with a live mount
      '--no-cache',
      // As docker build does: use the base image in the store (setup.sh pulled
      // it) and pull only a missing one, so a build does not hinge on the registry.
      '--pull=false',
      '--format', 'docker', // OCI format drops HEALTHCHECK, SHELL and ONBUILD
      ...isolationArgs(),
      '--file', path.resolve(dockerfile),
      '--tag', tag,
      ...Object.entries(buildArgs).flatMap(([name, value]) => ['--build-arg', `${name}=${value}`]),
      ...(target ? ['--target', target] : []),
      path.resolve(context),
    ];
    const started = performance.now();
    const result = await buildah(lab, args, { timeoutSeconds, logFile, maxChars: MAX_LOG_CHARS });
    const buildSeconds = Math.round(performance.now() - started) / 1000;
    const failure = { tag, sizeBytes: null, layerSizes: null, layers: null, user: null, runsAsRoot: null, cmd: null, entrypoint: null, buildSeconds, log: result.output, logFile };
    if (result.timedOut || result.exitCode !== 0) {
      await clearStore(lab);
      const error = result.timedOut ? `build timed out after ${timeoutSeconds}s` : lastLines(result.output, ERROR_TAIL_LINES);
      return { ok: false, error, exitCode: result.exitCode, ...failure };
    }
    try {
      return { ok: true, error: null, exitCode: 0, ...(await inspectImage(lab, tag)), buildSeconds, log: result.output, logFile };
    } catch (error) {
      return { ok: false, error: `built, but cannot inspect ${tag}: ${error.message}`, exitCode: 0, ...failure };
    }
  });
}

/**
 * Runs the image's command the way `docker run IMAGE [argv]` would: the
 * ENTRYPOINT followed by argv, or by CMD when argv is not given. Passing
 * options.entrypoint replaces the ENTRYPOINT and, as with docker, drops CMD.
 * The image's USER, WORKDIR and ENV apply. Resolves to {exitCode, stdout, stderr, timedOut, argv}.
 */
export async function run(tag, argv, { entrypoint, timeoutSeconds = DEFAULT_RUN_TIMEOUT_SECONDS } = {}) {
  const lab = await loadLab();
  return exclusive(lab, async () => {
    const config = await imageConfig(lab, tag);
    const args = argv?.length ? argv : undefined;
    const command = entrypoint !== undefined ? [...entrypoint, ...(args ?? [])] : [...(config.Entrypoint ?? []), ...(args ?? config.Cmd ?? [])];
    if (command.length === 0) throw new LabError(`${tag} has neither ENTRYPOINT nor CMD, and no command was given`);
    const container = (await buildahChecked(lab, ['from', '--pull=never', '--quiet', tag])).trim();
    try {
      const result = await buildah(lab, ['run', ...isolationArgs(), container, '--', ...command], { timeoutSeconds });
      return { argv: command, exitCode: result.exitCode, stdout: result.stdout, stderr: result.stderr, timedOut: result.timedOut };
    } finally {
      await buildah(lab, ['rm', container]);
    }
  });
}

/** Removes the image and the dangling intermediate images its build left in the store. */
export async function remove(tag) {
  const lab = await loadLab();
  return exclusive(lab, async () => {
    await buildah(lab, ['rmi', '--force', tag]);
    await buildah(lab, ['rmi', '--prune']);
  });
}

// ---- inspection -------------------------------------------------------------------

async function inspect(lab, tag) {
  return JSON.parse(await buildahChecked(lab, ['inspect', '--type', 'image', tag]));
}

async function imageConfig(lab, tag) {
  return (await inspect(lab, tag)).OCIv1?.config ?? {};
}

async function inspectImage(lab, tag) {
  const image = await inspect(lab, tag);
  const config = image.OCIv1?.config ?? {};
  // The manifest buildah stores for an image it committed lists every layer,
  // base layers included, as an uncompressed tar: about what `docker images` shows.
  const manifest = JSON.parse(
    (
      await execute('skopeo', ['inspect', '--raw', `containers-storage:[${lab.storageDriver}@${lab.storageRoot}+${lab.storageRunRoot}]${image.FromImageID}`], {
        env: labEnv(lab),
        timeoutSeconds: 60,
      })
    ).stdout || '{}',
  );
  const layerSizes = (manifest.layers ?? []).map((layer) => layer.size);
  if (layerSizes.length === 0 || manifest.layers.some((layer) => !/\.tar$/.test(layer.mediaType ?? ''))) {
    throw new LabError(`unexpected manifest for ${tag}: ${JSON.stringify(manifest).slice(0, 300)}`);
  }
  const user = config.User ?? '';
  return {
    tag,
    imageId: image.FromImageID,
    sizeBytes: layerSizes.reduce((sum, size) => sum + size, 0),
    layerSizes,
    layers: image.OCIv1?.rootfs?.diff_ids?.length ?? layerSizes.length,
    user,
    runsAsRoot: isRootUser(user),
    cmd: config.Cmd ?? null,
    entrypoint: config.Entrypoint ?? null,
    workdir: config.WorkingDir ?? '',
    env: config.Env ?? [],
  };
}

/** By the config alone; a named user could still map to uid 0, which run(tag, ['id', '-u']) shows. */
export function isRootUser(user) {
  const name = user.split(':')[0];
  return name === '' || name === 'root' || name === '0';
}

// ---- helpers ----------------------------------------------------------------------

/** After a failed or killed build: its containers and half-made images. The store is ours alone. */
async function clearStore(lab) {
  await buildah(lab, ['rm', '--all']);
  await buildah(lab, ['rmi', '--prune']);
}

function lastLines(text, count) {
  return text.trimEnd().split('\n').slice(-count).join('\n');
}

function slug(tag) {
  return tag.replace(/[^A-Za-z0-9_.-]+/g, '_').slice(0, 80);
}
