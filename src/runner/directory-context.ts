// The build context on disk: the BuildContext (src/engine/build-context.ts)
// that the runner hands to transforms for a Dockerfile's directory.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { contextPath, type BuildContext } from '../engine/build-context.js';

/** The context in a directory on disk. Answers are cached: one context serves one run over one file. */
export function directoryBuildContext(directory: string): BuildContext {
  const stats = new Map<string, 'file' | 'directory' | undefined>();
  const texts = new Map<string, string | undefined>();
  const kind = (relative: string): 'file' | 'directory' | undefined => {
    if (stats.has(relative)) return stats.get(relative);
    let found: 'file' | 'directory' | undefined;
    try {
      const stat = statSync(path.join(directory, relative));
      found = stat.isDirectory() ? 'directory' : 'file';
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
          text = readFileSync(path.join(directory, relative), 'utf8');
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
