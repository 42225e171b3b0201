// Registry answers on disk, so a second run (or --offline) does not ask again.
// One small JSON file per key, written to a temp name and renamed, so parallel
// workers never read half a file. A file that cannot be read is a miss: the
// cache only ever saves time.
//
// The cache decides what gets pinned, so whoever can write it can choose the
// digests: a cache directory that another user owns, or that others may write
// to, is refused (a pre-created /tmp/cache on a shared machine, say).
import { createHash, randomBytes } from 'node:crypto';
import { lstatSync, statSync, type Stats } from 'node:fs';
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';

const FORMAT_VERSION = 1;

export interface CachedValue<T> {
  readonly value: T;
  readonly ageMs: number;
}

interface CacheFile {
  readonly version: number;
  readonly key: string;
  readonly storedAt: number;
  readonly value: unknown;
}

/** `$XDG_CACHE_HOME/dockopt`, `~/Library/Caches/dockopt` or `%LOCALAPPDATA%\dockopt\Cache`. */
export function defaultCacheDir(env: NodeJS.ProcessEnv = process.env, platform: NodeJS.Platform = process.platform): string {
  if (platform === 'win32') return path.join(env.LOCALAPPDATA ?? path.join(os.homedir(), 'AppData', 'Local'), 'dockopt', 'Cache');
  if (platform === 'darwin') return path.join(os.homedir(), 'Library', 'Caches', 'dockopt');
  return path.join(env.XDG_CACHE_HOME || path.join(os.homedir(), '.cache'), 'dockopt');
}

/** The cache directory (or a directory on the way to it that dockopt owns) is not safe to use. */
export class UnsafeCacheDirectoryError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UnsafeCacheDirectoryError';
  }
}

/**
 * Throws UnsafeCacheDirectoryError when a directory that exists is not owned
 * by the current user or may be written by others (group or world). A
 * directory that does not exist yet is fine: it is created private (0700).
 */
export function checkCacheDirectory(dir: string): void {
  const self = process.getuid?.();
  if (self === undefined) return; // Windows: no owners or mode bits to check
  let stats: Stats;
  try {
    stats = lstatSync(dir);
    // A symlink is judged by where it leads (and may not lead anywhere unsafe).
    if (stats.isSymbolicLink()) stats = statSync(dir);
  } catch {
    return;
  }
  if (!stats.isDirectory()) throw new UnsafeCacheDirectoryError(`the cache directory ${dir} is not a directory; choose another with --cache-dir`);
  if (stats.uid !== self) {
    throw new UnsafeCacheDirectoryError(`the cache directory ${dir} belongs to uid ${stats.uid}, not to you (uid ${self}): whoever owns it could choose the digests dockopt pins; choose another with --cache-dir`);
  }
  if ((stats.mode & 0o022) !== 0) {
    throw new UnsafeCacheDirectoryError(
      `the cache directory ${dir} may be written by others (mode ${(stats.mode & 0o777).toString(8)}): they could choose the digests dockopt pins; chmod go-w it, or choose another with --cache-dir`,
    );
  }
}

export class DiskCache {
  private checked = false;

  constructor(
    /** The directory this cache owns (created on first write). */
    readonly dir: string,
    private readonly now: () => number = Date.now,
  ) {}

  /** The directory and the one above it (dockopt's cache root), checked once they exist. */
  private ensureSafe(): void {
    if (this.checked) return;
    checkCacheDirectory(path.dirname(this.dir));
    checkCacheDirectory(this.dir);
    this.checked = exists(this.dir);
  }

  /** Throws UnsafeCacheDirectoryError for a directory not safe to read answers from. */
  async read<T>(key: string): Promise<CachedValue<T> | undefined> {
    this.ensureSafe();
    let parsed: CacheFile;
    try {
      parsed = JSON.parse(await readFile(this.fileFor(key), 'utf8')) as CacheFile;
    } catch {
      return undefined;
    }
    if (parsed?.version !== FORMAT_VERSION || parsed.key !== key || typeof parsed.storedAt !== 'number') return undefined;
    return { value: parsed.value as T, ageMs: Math.max(0, this.now() - parsed.storedAt) };
  }

  async write(key: string, value: unknown): Promise<void> {
    const file = this.fileFor(key);
    const temp = `${file}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
    const content: CacheFile = { version: FORMAT_VERSION, key, storedAt: this.now(), value };
    try {
      await mkdir(path.dirname(file), { recursive: true, mode: 0o700 });
      // Someone may have made the directory between the check and the mkdir.
      this.ensureSafe();
      await writeFile(temp, JSON.stringify(content), { mode: 0o600 });
      await rename(temp, file);
    } catch (error) {
      if (error instanceof UnsafeCacheDirectoryError) throw error;
      // A read-only or full cache dir costs a lookup next time, nothing more.
      await rm(temp, { force: true }).catch(() => undefined);
    }
  }

  private fileFor(key: string): string {
    const hash = createHash('sha256').update(key).digest('hex');
    return path.join(this.dir, `v${FORMAT_VERSION}`, hash.slice(0, 2), `${hash}.json`);
  }
}

function exists(dir: string): boolean {
  try {
    lstatSync(dir);
    return true;
  } catch {
    return false;
  }
}
