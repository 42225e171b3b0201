// The build context on disk: the BuildContext (src/engine/build-context.ts)
// that the runner hands to transforms for a Dockerfile's directory.
import { readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { contextPath, type BuildContext } from '../engine/build-context.js';
import { isWithin, MAX_SIDE_FILE_BYTES, readRegularFile, realPathOf } from './read.js';

/**
 * The context in a directory on disk. Answers are cached: one context serves
 * one run over one file. As in the builder, nothing outside the directory is
 * part of the context: a symlink that leads out of it counts as absent, and
 * only regular files of a sane size are read (a FIFO would hang the run).
 */
export function directoryBuildContext(directory: string): BuildContext {
  const stats = new Map<string, 'file' | 'directory' | undefined>();
  const texts = new Map<string, string | undefined>();
  let realDirectory: string | undefined;
  const kind = (relative: string): 'file' | 'directory' | undefined => {
    if (stats.has(relative)) return stats.get(relative);
    let found: 'file' | 'directory' | undefined;
    try {
      const full = path.join(directory, relative);
      const stat = statSync(full);
      realDirectory ??= realPathOf(directory) ?? path.resolve(directory);
      const real = realPathOf(full);
      found = real === undefined || !isWithin(real, realDirectory) ? undefined : stat.isDirectory() ? 'directory' : 'file';
    } catch {
      found = undefined;
    }
    stats.set(relative, found);
    return found;
  };
  return {
    exists(relativePath) {
      const relative = contextPath(relativePath);
      return relative !== undefined && kind(relative) !== undefined;
    },
    read(relativePath) {
      const relative = contextPath(relativePath);
      if (relative === undefined || kind(relative) !== 'file') return undefined;
      if (!texts.has(relative)) {
        let text: string | undefined;
        try {
          text = readRegularFile(path.join(directory, relative), MAX_SIDE_FILE_BYTES).toString('utf8');
        } catch {
          text = undefined;
        }
        texts.set(relative, text);
      }
      return texts.get(relative);
    },
    list(relativeDirectory) {
      const relative = contextPath(relativeDirectory);
      if (relative === undefined || kind(relative) !== 'directory') return [];
      try {
        return readdirSync(path.join(directory, relative)).sort();
      } catch {
        return [];
      }
    },
  };
}
