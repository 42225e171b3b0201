// Reading files that a scanned repository controls: Dockerfiles, config files,
// .gitignore and .dockerignore files, build-context files. Any of them may be a
// FIFO (opening it for reading blocks until a writer comes), a device such as
// /dev/zero (endless), or far larger than a Dockerfile can sensibly be. So a
// read opens without blocking, checks with fstat that what it opened is a
// regular file, and stops counting bytes at a limit whatever the size said.
// Synchronous on purpose: these files are small and the engine is CPU-bound
// (see processFile in runner.ts).
import { closeSync, constants, fstatSync, openSync, readSync, realpathSync, type Stats } from 'node:fs';
import path from 'node:path';

export { DEFAULT_MAX_FILE_BYTES, MAX_SIDE_FILE_BYTES } from './limits.js';

const READ_CHUNK = 64 * 1024;

/** Why a file was not read: the message names the problem, `code` is the errno code when there is one. */
export class ReadProblem extends Error {
  constructor(
    message: string,
    readonly code?: string,
  ) {
    super(message);
    this.name = 'ReadProblem';
  }
}

/**
 * The bytes of a regular file, at most `maxBytes` of them. Throws ReadProblem
 * for a FIFO, socket, device or directory (without ever blocking on it), for a
 * file larger than the limit, and for any errno (`code` set: ENOENT, EACCES…).
 */
export function readRegularFile(file: string, maxBytes: number): Buffer {
  let descriptor: number;
  try {
    // O_NONBLOCK: opening a FIFO for reading would otherwise wait for a writer forever.
    descriptor = openSync(file, constants.O_RDONLY | (constants.O_NONBLOCK ?? 0));
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new ReadProblem(code ?? (error as Error).message, code);
  }
  try {
    const stats = fstatSync(descriptor);
    if (!stats.isFile()) throw new ReadProblem(`not a regular file (${fileKind(stats)})`, stats.isDirectory() ? 'EISDIR' : undefined);
    if (stats.size > maxBytes) throw new ReadProblem(tooLarge(stats.size, maxBytes));
    // The size is a hint: a file can grow while it is read, so the bytes are counted too.
    const chunks: Buffer[] = [];
    let total = 0;
    for (;;) {
      const chunk = Buffer.allocUnsafe(Math.min(READ_CHUNK, maxBytes + 1 - total));
      const count = readSync(descriptor, chunk, 0, chunk.length, null);
      if (count === 0) break;
      total += count;
      if (total > maxBytes) throw new ReadProblem(tooLarge(total, maxBytes, true));
      chunks.push(count === chunk.length ? chunk : chunk.subarray(0, count));
    }
    return chunks.length === 1 ? chunks[0] : Buffer.concat(chunks, total);
  } catch (error) {
    if (error instanceof ReadProblem) throw error;
    const code = (error as NodeJS.ErrnoException).code;
    throw new ReadProblem(code ?? (error as Error).message, code);
  } finally {
    closeSync(descriptor);
  }
}

/** Like readRegularFile, but undefined when the file does not exist (or a path component is not a directory). */
export function readRegularFileIfPresent(file: string, maxBytes: number): Buffer | undefined {
  try {
    return readRegularFile(file, maxBytes);
  } catch (error) {
    if (error instanceof ReadProblem && (error.code === 'ENOENT' || error.code === 'ENOTDIR')) return undefined;
    throw error;
  }
}

function tooLarge(size: number, maxBytes: number, atLeast = false): string {
  return `${atLeast ? 'more than ' : ''}${formatBytes(size)}, larger than the ${formatBytes(maxBytes)} a file may have here (--max-file-size)`;
}

export function formatBytes(bytes: number): string {
  if (bytes >= 1024 * 1024 && bytes % (1024 * 1024) === 0) return `${bytes / (1024 * 1024)} MiB`;
  if (bytes >= 1024 * 1024) return `${(bytes / (1024 * 1024)).toFixed(1)} MiB`;
  if (bytes >= 1024 && bytes % 1024 === 0) return `${bytes / 1024} KiB`;
  return `${bytes} bytes`;
}

function fileKind(stats: Stats): string {
  if (stats.isFIFO()) return 'a FIFO';
  if (stats.isSocket()) return 'a socket';
  if (stats.isCharacterDevice()) return 'a character device';
  if (stats.isBlockDevice()) return 'a block device';
  if (stats.isDirectory()) return 'a directory';
  return 'not a file';
}

/** Whether `inner` is `outer` or lies below it (both absolute, already resolved). */
export function isWithin(inner: string, outer: string): boolean {
  const relative = path.relative(outer, inner);
  return relative === '' || (!relative.startsWith(`..${path.sep}`) && relative !== '..' && !path.isAbsolute(relative));
}

/** The real path (symlinks resolved) of a path, or undefined when it cannot be resolved (missing, a dangling link, a loop). */
export function realPathOf(file: string): string | undefined {
  try {
    return realpathSync(file);
  } catch {
    return undefined;
  }
}
