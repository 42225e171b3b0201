// Credentials the way the docker CLI stores them in ~/.docker/config.json:
// `credHelpers` (one helper per registry), then `credsStore` (one helper for
// all), then the base64 `auths` entries. Nothing here prints a secret: the
// secret lives in a private field that logging and JSON.stringify never see.
import { spawn } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { inspect } from 'node:util';
import { DOCKER_HUB, normalizeRegistry } from '../image/reference.js';

/** Where docker keeps Docker Hub credentials; helpers are asked with this exact URL. */
const DOCKER_HUB_SERVER_URL = 'https://index.docker.io/v1/';
const HELPER_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;
const HELPER_TIMEOUT_MS = 10_000;

export type CredentialKind =
  /** Username and password (or personal access token) for Basic auth. */
  | 'password'
  /** An OAuth2 refresh token from `docker login` with SSO; traded at the token realm. */
  | 'identity-token'
  /** A bearer token to send to the registry as is. */
  | 'registry-token';

export class Credentials {
  readonly #secret: string;

  constructor(
    readonly kind: CredentialKind,
    readonly username: string,
    secret: string,
  ) {
    this.#secret = secret;
  }

  /** The secret itself, only for building an Authorization header or a token request. */
  reveal(): string {
    return this.#secret;
  }

  basicAuthorization(): string {
    return `Basic ${Buffer.from(`${this.username}:${this.#secret}`).toString('base64')}`;
  }

  toJSON(): object {
    return { kind: this.kind, username: this.username, secret: '[redacted]' };
  }

  toString(): string {
    return `[credentials ${this.kind} for ${this.username || 'token'}]`;
  }

  [inspect.custom](): string {
    return this.toString();
  }
}

export interface CredentialSource {
  /** Credentials for a registry as references name it (`docker.io`, `ghcr.io`, `localhost:5000`), or undefined. */
  get(registry: string): Promise<Credentials | undefined>;
}

export class CredentialError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CredentialError';
  }
}

export interface DockerConfigOptions {
  /** Path of config.json; default $DOCKER_CONFIG/config.json or ~/.docker/config.json. */
  readonly configPath?: string;
  /** Environment for the credential helpers (PATH finds them). */
  readonly env?: NodeJS.ProcessEnv;
  readonly helperTimeoutMs?: number;
}

interface DockerConfigFile {
  readonly auths?: Record<string, { auth?: string; username?: string; password?: string; identitytoken?: string; registrytoken?: string }>;
  readonly credHelpers?: Record<string, string>;
  readonly credsStore?: string;
}

export function defaultDockerConfigPath(env: NodeJS.ProcessEnv = process.env): string {
  return path.join(env.DOCKER_CONFIG ?? path.join(os.homedir(), '.docker'), 'config.json');
}

/** Credentials from docker's config file and helpers, read once and only when a registry asks for them. */
export function dockerConfigCredentials(options: DockerConfigOptions = {}): CredentialSource {
  const env = options.env ?? process.env;
  const configPath = options.configPath ?? defaultDockerConfigPath(env);
  let config: Promise<DockerConfigFile> | undefined;
  const byRegistry = new Map<string, Promise<Credentials | undefined>>();

  const lookup = async (registry: string): Promise<Credentials | undefined> => {
    config ??= readDockerConfig(configPath);
    const file = await config;
    const wanted = normalizeRegistry(registry);
    const helper = entryFor(file.credHelpers ?? {}, wanted) ?? file.credsStore;
    if (helper !== undefined && helper !== '') {
      const fromHelper = await runCredentialHelper(helper, serverUrlFor(wanted), env, options.helperTimeoutMs ?? HELPER_TIMEOUT_MS);
      if (fromHelper) return fromHelper;
    }
    const auth = entryFor(file.auths ?? {}, wanted);
    return auth ? credentialsFromAuthEntry(auth, configPath) : undefined;
  };

  return {
    get(registry: string) {
      const key = normalizeRegistry(registry);
      let pending = byRegistry.get(key);
      if (!pending) {
        pending = lookup(key);
        byRegistry.set(key, pending);
      }
      return pending;
    },
  };
}

async function readDockerConfig(configPath: string): Promise<DockerConfigFile> {
  let text: string;
  try {
    text = await readFile(configPath, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return {};
    throw new CredentialError(`cannot read docker config ${configPath}: ${(error as Error).message}`);
  }
  try {
    const parsed: unknown = JSON.parse(text);
    if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) throw new Error('not a JSON object');
    return parsed as DockerConfigFile;
  } catch {
    // The parser's message may quote the file, and the file holds secrets: say only where.
    throw new CredentialError(`docker config ${configPath} is not valid JSON`);
  }
}

/** Config keys are written many ways (`https://index.docker.io/v1/`, `localhost:5000`); compare them normalised. */
function entryFor<T>(entries: Record<string, T>, registry: string): T | undefined {
  for (const [key, value] of Object.entries(entries)) {
    if (normalizeRegistry(key) === registry) return value;
  }
  return undefined;
}

function serverUrlFor(registry: string): string {
  return registry === DOCKER_HUB ? DOCKER_HUB_SERVER_URL : registry;
}

function credentialsFromAuthEntry(entry: NonNullable<DockerConfigFile['auths']>[string], configPath: string): Credentials | undefined {
  if (entry.identitytoken) return new Credentials('identity-token', entry.username ?? '', entry.identitytoken);
  if (entry.registrytoken) return new Credentials('registry-token', '', entry.registrytoken);
  if (entry.auth) {
    const decoded = Buffer.from(entry.auth, 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    if (colon <= 0) throw new CredentialError(`docker config ${configPath}: an "auth" entry is not base64 of user:password`);
    return new Credentials('password', decoded.slice(0, colon), decoded.slice(colon + 1));
  }
  if (entry.username && entry.password) return new Credentials('password', entry.username, entry.password);
  return undefined;
}

/** `docker-credential-<name> get`: server URL on stdin, {Username, Secret} on stdout. */
export async function runCredentialHelper(name: string, serverUrl: string, env: NodeJS.ProcessEnv, timeoutMs = HELPER_TIMEOUT_MS): Promise<Credentials | undefined> {
  if (!HELPER_NAME.test(name)) throw new CredentialError(`invalid credential helper name "${name}"`);
  const program = `docker-credential-${name}`;
  const { code, stdout, stderr } = await new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve, reject) => {
    const child = spawn(program, ['get'], { env, stdio: ['pipe', 'pipe', 'pipe'] });
    // Our own timer rather than spawn's `timeout`, which stays armed when the program is missing.
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, timeoutMs);
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (chunk: Buffer) => out.push(chunk));
    child.stderr.on('data', (chunk: Buffer) => err.push(chunk));
    child.on('error', (error: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      reject(new CredentialError(error.code === 'ENOENT' ? `credential helper ${program} is not installed` : `credential helper ${program} failed to start: ${error.code ?? error.message}`));
    });
    child.on('close', (exitCode, signal) => {
      clearTimeout(timer);
      if (timedOut) reject(new CredentialError(`credential helper ${program} did not answer within ${timeoutMs} ms`));
      else if (signal) reject(new CredentialError(`credential helper ${program} was stopped by ${signal}`));
      else resolve({ code: exitCode, stdout: Buffer.concat(out).toString('utf8'), stderr: Buffer.concat(err).toString('utf8') });
    });
    child.stdin.on('error', () => undefined);
    child.stdin.end(serverUrl);
  });
  const notFound = /credentials not found/i.test(stdout) || /credentials not found/i.test(stderr);
  if (code !== 0) {
    if (notFound) return undefined;
    throw new CredentialError(`credential helper ${program} exited with code ${code}`);
  }
  let parsed: { Username?: unknown; Secret?: unknown };
  try {
    parsed = JSON.parse(stdout) as typeof parsed;
  } catch {
    // Never echo the output: it is a secret when it is anything at all.
    throw new CredentialError(`credential helper ${program} printed something that is not JSON`);
  }
  if (typeof parsed.Secret !== 'string' || parsed.Secret === '') return undefined;
  const username = typeof parsed.Username === 'string' ? parsed.Username : '';
  // The docker CLI's convention: the username <token> marks an identity token.
  return username === '<token>' ? new Credentials('identity-token', '', parsed.Secret) : new Credentials('password', username, parsed.Secret);
}
