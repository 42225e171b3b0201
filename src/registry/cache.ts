// Registry answers on disk, so a second run (or --offline) does not ask again.
// One small JSON file per key, written to a temp name and renamed, so parallel
// workers never read half a file. A file that cannot be read is a miss: the
// cache only ever saves time.
import { createHash, randomBytes } from 'node:crypto';
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

export class DiskCache {
  constructor(
    /** The directory this cache owns (created on first write). */
    readonly dir: string,
    private readonly now: () => number = Date.now,
  ) {}

  async read<T>(key: string): Promise<CachedValue<T> | undefined> {
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
      await writeFile(temp, JSON.stringify(content), { mode: 0o600 });
      await rename(temp, file);
    } catch {
      // A read-only or full cache dir costs a lookup next time, nothing more.
      await rm(temp, { force: true }).catch(() => undefined);
    }
  }

  private fileFor(key: string): string {
    const hash = createHash('sha256').update(key).digest('hex');
    return path.join(this.dir, `v${FORMAT_VERSION}`, hash.slice(0, 2), `${hash}.json`);
  }
}
