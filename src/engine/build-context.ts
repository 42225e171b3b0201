// What the build context holds, for transforms that write COPY instructions
// naming single files (cache-deps): which files exist next to the Dockerfile,
// what they contain, and whether .dockerignore keeps them out of what the
// builder receives. A COPY of a file that is not sent fails the build, so a
// transform asks here before naming one. The interface and the pure parts live
// here; the runner reads a context on disk (src/runner/directory-context.ts).
import path from 'node:path';
import ignore from 'ignore';

const posix = path.posix;

/** Paths are relative to the context root and `/`-separated; '' is the root itself. */
export interface BuildContext {
  /** True when the file or directory exists. */
  exists(relativePath: string): boolean;
  /** The file's text, or undefined when it is absent, a directory or unreadable. */
  read(relativePath: string): string | undefined;
  /** The names in a directory, or [] when it is absent. */
  list(relativeDirectory: string): readonly string[];
}

/** The normalised relative path, or undefined when it leaves the context (`../x`, `/etc`). */
export function contextPath(relativePath: string): string | undefined {
  if (posix.isAbsolute(relativePath)) return undefined;
  const normalized = posix.normalize(relativePath === '' ? '.' : relativePath).replace(/\/+$/, '');
  if (normalized === '..' || normalized.startsWith('../')) return undefined;
  return normalized === '.' ? '' : normalized;
}

/** A context held in memory (tests, editors): file paths → contents; directories are implied by the paths. */
export function inMemoryBuildContext(files: Readonly<Record<string, string>>): BuildContext {
  const normalized = new Map<string, string>();
  for (const [name, text] of Object.entries(files)) {
    const relative = contextPath(name);
    if (relative) normalized.set(relative, text);
  }
  const under = (directory: string) => (directory === '' ? [...normalized.keys()] : [...normalized.keys()].filter((name) => name.startsWith(`${directory}/`)));
  return {
    exists(relativePath) {
      const relative = contextPath(relativePath);
      if (relative === undefined) return false;
      return relative === '' || normalized.has(relative) || under(relative).length > 0;
    },
    read(relativePath) {
      const relative = contextPath(relativePath);
      return relative === undefined ? undefined : normalized.get(relative);
    },
    list(relativeDirectory) {
      const relative = contextPath(relativeDirectory);
      if (relative === undefined) return [];
      const prefix = relative === '' ? '' : `${relative}/`;
      return [...new Set(under(relative).map((name) => name.slice(prefix.length).split('/')[0]))].sort();
    },
  };
}

/**
 * What the builder receives of a path: `absent` (not in the directory),
 * `sent`, `ignored` (a .dockerignore pattern excludes it), or `unsure` when
 * dockopt cannot tell (see sentFiles).
 */
export type SentState = 'absent' | 'sent' | 'ignored' | 'unsure';

export interface SentFiles {
  state(relativePath: string): SentState;
}

/**
 * Reads .dockerignore the way BuildKit applies it. Docker anchors every
 * pattern at the context root and cleans it like a path (`./a/` is `a`), so
 * each pattern is handed to the gitignore matcher with a leading `/`, where
 * the two syntaxes agree. They differ on `!` exceptions under an excluded
 * directory (Docker re-includes, git cannot), so with exceptions present a
 * path that some exclusion matches is `unsure`. A `<name>.dockerignore` next
 * to the Dockerfile replaces .dockerignore for that Dockerfile only, and the
 * context does not say which Dockerfile is built: then every existing path is
 * `unsure`.
 */
export function sentFiles(context: BuildContext): SentFiles {
  const perDockerfile = context.list('').some((name) => name !== '.dockerignore' && name.endsWith('.dockerignore'));
  const exclusions = ignore();
  let hasExceptions = false;
  for (const line of (context.read('.dockerignore') ?? '').split(/\r\n|\r|\n/)) {
    const trimmed = line.trim();
    if (trimmed === '' || trimmed.startsWith('#')) continue;
    const exception = trimmed.startsWith('!');
    const pattern = dockerPattern(exception ? trimmed.slice(1).trim() : trimmed);
    if (pattern === undefined) continue;
    if (exception) hasExceptions = true;
    else exclusions.add(`/${pattern}`);
  }
  return {
    state(relativePath) {
      const relative = contextPath(relativePath);
      if (relative === undefined || relative === '' || !context.exists(relative)) return 'absent';
      if (perDockerfile) return 'unsure';
      if (!exclusions.ignores(relative)) return 'sent';
      return hasExceptions ? 'unsure' : 'ignored';
    },
  };
}

/** A .dockerignore pattern as Docker's pattern matcher sees it: cleaned, relative, without trailing slash. */
function dockerPattern(pattern: string): string | undefined {
  const cleaned = posix.normalize(pattern).replace(/^\/+/, '').replace(/\/+$/, '');
  if (cleaned === '' || cleaned === '.') return undefined;
  return cleaned;
}
