// Keeps what a build should never see out of the build context: version
// control, installed dependencies, caches, logs, editor files and secrets.
// Unlike the other transforms it does not rewrite a Dockerfile: it proposes
// the .dockerignore of one build context (a directory), from what exists in it
// and from what the Dockerfiles built there COPY by name. It only appends, under
// a `# added by dockopt` header, and never removes or reorders the user's lines.
import path from 'node:path';
import ignore, { type Ignore } from 'ignore';
import type { BuildContext } from '../../src/engine/build-context.js';
import { DockerfileDocument } from '../../src/dockerfile/document.js';
import { argumentsStart, hasHeredoc, isExecForm } from '../../src/shell/script.js';
import type { ContextProposal, ContextTransform, ContextTransformInput } from '../../src/engine/transform.js';
import { readmeDocs } from '../../src/engine/docs.js';

const posix = path.posix;

export const ADDED_HEADER = '# added by dockopt';

/** Names that are never part of what an image needs, wherever they are; walked around, never into. */
const JUNK_NAMES = ['.git', 'node_modules', '__pycache__', '.pytest_cache', '.mypy_cache', '.idea', '.vscode', '.DS_Store'] as const;
/** File suffixes of the same kind: logs and vim swap files. */
const JUNK_SUFFIXES = ['.log', '.swp'] as const;
/** Build output directories, recognised only next to the build file that makes them. */
const BUILD_OUTPUT_MARKERS = ['Cargo.toml', 'pom.xml'] as const;
/** .env files that document the variables rather than hold them. */
const ENV_TEMPLATES = new Set(['example', 'sample', 'template', 'dist', 'defaults']);
const PRIVATE_KEY_NAMES = /^id_(rsa|dsa|ecdsa|ed25519)$/;
const PRIVATE_KEY_SUFFIXES = /\.(pem|key)$/;
const PRIVATE_KEY_MARKER = /-----BEGIN [A-Z ]*PRIVATE KEY-----/;

/** How far the walk goes, so a huge context (a home directory) stays quick. */
const MAX_DEPTH = 8;
const MAX_PATHS = 20_000;

type Kind = 'junk' | 'exact' | 'secret';

interface Candidate {
  /** The line added to .dockerignore. */
  readonly entry: string;
  /** The existing paths the entry excludes. */
  readonly paths: readonly string[];
  /**
   * junk and exact: left out only when a COPY names one of the paths or something inside it;
   * secret: also when a COPY names a directory holding it (other than the whole context).
   */
  readonly kind: Kind;
}

/** What the walk found, by rule. */
interface Found {
  readonly junk: Map<string, string[]>;
  readonly suffixes: Map<string, string[]>;
  readonly exact: string[];
  readonly secrets: string[];
  truncated: boolean;
}

export function proposeDockerignore(input: ContextTransformInput): ContextProposal {
  const existing = input.existing ?? '';
  const notes: string[] = [];
  const user = userPatterns(existing);
  const sources = input.dockerfiles.flatMap(copySources);
  const found = walkContext(input.context);
  if (found.truncated) notes.push(`the build context has more than ${MAX_PATHS} paths (or deeper than ${MAX_DEPTH} directories): only the part walked was considered`);

  const added: string[] = [];
  for (const candidate of candidates(found)) {
    const alreadyExcluded = candidate.paths.filter((file) => user.exclusions.ignores(file));
    if (alreadyExcluded.length === candidate.paths.length) continue;
    const reincluded = candidate.paths.find((file) => user.exceptions.ignores(file));
    if (reincluded) {
      notes.push(`${candidate.entry} not added: the .dockerignore re-includes ${reincluded} with a ! pattern`);
      continue;
    }
    const named = namedByCopy(candidate, sources);
    if (named) {
      notes.push(`${candidate.entry} not added: \`${named.instruction}\` copies ${named.path}`);
      continue;
    }
    added.push(candidate.entry);
  }
  if (added.length === 0) return { output: existing, added, notes };
  const eol = existing.includes('\r\n') ? '\r\n' : '\n';
  const separator = existing === '' ? '' : /\r?\n$/.test(existing) ? eol : eol + eol;
  return { output: `${existing}${separator}${[ADDED_HEADER, ...added].join(eol)}${eol}`, added, notes };
}

// ---- the context ------------------------------------------------------------

function walkContext(context: BuildContext): Found {
  const found: Found = { junk: new Map(), suffixes: new Map(), exact: [], secrets: [], truncated: false };
  let seen = 0;
  const visit = (directory: string, depth: number) => {
    const names = context.list(directory);
    const hasBuildMarker = BUILD_OUTPUT_MARKERS.some((marker) => names.includes(marker));
    for (const name of names) {
      if (++seen > MAX_PATHS) {
        found.truncated = true;
        return;
      }
      const relative = directory === '' ? name : `${directory}/${name}`;
      if ((JUNK_NAMES as readonly string[]).includes(name)) {
        push(found.junk, name, relative);
        continue;
      }
      if ((name === 'venv' || name === '.venv') && context.exists(`${relative}/pyvenv.cfg`)) {
        found.exact.push(relative);
        continue;
      }
      if (name === 'target' && hasBuildMarker && context.list(relative).length > 0) {
        found.exact.push(relative);
        continue;
      }
      const children = context.list(relative);
      if (children.length > 0) {
        if (depth + 1 >= MAX_DEPTH) found.truncated = true;
        else visit(relative, depth + 1);
        continue;
      }
      const suffix = JUNK_SUFFIXES.find((ending) => name.endsWith(ending) && name !== ending);
      if (suffix) push(found.suffixes, suffix, relative);
      else if (isSecret(context, name, relative)) found.secrets.push(relative);
    }
  };
  visit('', 0);
  return found;
}

function push(map: Map<string, string[]>, key: string, value: string): void {
  const list = map.get(key);
  if (list) list.push(value);
  else map.set(key, [value]);
}

/** .env files with values, and files holding a private key (a .pem may well be a public certificate). */
function isSecret(context: BuildContext, name: string, relative: string): boolean {
  if (name === '.env') return true;
  if (name.startsWith('.env.')) return !ENV_TEMPLATES.has(name.slice('.env.'.length).toLowerCase());
  if (PRIVATE_KEY_NAMES.test(name) || PRIVATE_KEY_SUFFIXES.test(name)) return PRIVATE_KEY_MARKER.test(context.read(relative) ?? '');
  return false;
}

/** One entry per rule, in a fixed order: a name anywhere becomes `**\/name` unless it only occurs at the root. */
function candidates(found: Found): Candidate[] {
  const anywhere = (pattern: string, paths: readonly string[]) => (paths.every((file) => !file.includes('/')) ? pattern : `**/${pattern}`);
  const list: Candidate[] = [];
  for (const name of JUNK_NAMES) {
    const paths = found.junk.get(name);
    if (paths) list.push({ entry: anywhere(name, paths), paths, kind: 'junk' });
  }
  for (const file of found.exact) list.push({ entry: file, paths: [file], kind: 'exact' });
  for (const suffix of JUNK_SUFFIXES) {
    const paths = found.suffixes.get(suffix);
    if (paths) list.push({ entry: anywhere(`*${suffix}`, paths), paths, kind: 'junk' });
  }
  for (const file of found.secrets) list.push({ entry: file, paths: [file], kind: 'secret' });
  return list;
}

// ---- the existing .dockerignore ---------------------------------------------

/**
 * The user's exclusions, and their `!` exceptions as a matcher of their own.
 * Docker anchors every pattern at the context root and cleans it like a path,
 * so each is handed to the gitignore matcher with a leading `/`.
 */
function userPatterns(text: string): { exclusions: Ignore; exceptions: Ignore } {
  const exclusions = ignore();
  const exceptions = ignore();
  for (const line of text.split(/\r\n|\r|\n/)) {
    const trimmed = line.trim();
    if (trimmed === '' || trimmed.startsWith('#')) continue;
    const exception = trimmed.startsWith('!');
    const cleaned = posix.normalize(exception ? trimmed.slice(1).trim() : trimmed).replace(/^\/+/, '').replace(/\/+$/, '');
    if (cleaned === '' || cleaned === '.') continue;
    (exception ? exceptions : exclusions).add(`/${cleaned}`);
  }
  return { exclusions, exceptions };
}

// ---- what the Dockerfiles copy ----------------------------------------------

interface CopySource {
  /** The source as written, cleaned: `/`-separated segments relative to the context root. */
  readonly segments: readonly string[];
  /** The instruction's first line, for notes. */
  readonly instruction: string;
}

/** The context paths each COPY/ADD names (not the whole context, not other stages, not URLs or heredocs). */
function copySources(text: string): CopySource[] {
  let doc: DockerfileDocument;
  try {
    doc = new DockerfileDocument(text);
  } catch {
    return [];
  }
  const sources: CopySource[] = [];
  for (const instruction of doc.instructions) {
    if (instruction.keyword !== 'COPY' && instruction.keyword !== 'ADD') continue;
    const node = instruction.node as unknown as { getFlags(): { getName(): string }[] };
    if (node.getFlags().some((flag) => flag.getName() === 'from')) continue;
    const start = argumentsStart(doc, instruction);
    if (start === undefined) continue;
    const argumentsText = doc.text.slice(start, instruction.end);
    const words = isExecForm(argumentsText)
      ? (JSON.parse(argumentsText.trim()) as string[])
      : instruction.node.getArguments().map((argument) => argument.getValue());
    const written = doc.text.slice(instruction.start, instruction.end).split(/\r?\n/)[0].trim();
    for (const word of words.slice(0, -1)) {
      if (hasHeredoc(instruction) && word.startsWith('<<')) continue;
      if (/^[a-z][a-z0-9+.-]*:\/\//i.test(word) || word.startsWith('git@')) continue;
      // A variable could stand for anything: read it as a wildcard.
      const cleaned = posix.normalize(word.replace(/\$\{[^}]*\}|\$[A-Za-z_][A-Za-z0-9_]*/g, '*')).replace(/^\/+/, '').replace(/\/+$/, '');
      if (cleaned === '' || cleaned === '.') continue;
      sources.push({ segments: cleaned.split('/'), instruction: written });
    }
  }
  return sources;
}

/** The first COPY source that names one of the candidate's paths, or something inside one (or, for a secret, a directory holding it). */
function namedByCopy(candidate: Candidate, sources: readonly CopySource[]): { instruction: string; path: string } | undefined {
  for (const file of candidate.paths) {
    const segments = file.split('/');
    for (const source of sources) {
      const shared = Math.min(segments.length, source.segments.length);
      let matches = true;
      for (let index = 0; index < shared && matches; index++) matches = segmentMatches(source.segments[index], segments[index]);
      if (!matches) continue;
      const holdsIt = source.segments.length < segments.length;
      if (!holdsIt || candidate.kind === 'secret') return { instruction: source.instruction, path: file };
    }
  }
  return undefined;
}

/** One path segment against a COPY source segment: Go's filepath.Match syntax (`*`, `?`, `[…]`); `**` as any name. */
function segmentMatches(pattern: string, name: string): boolean {
  let source = '';
  for (let index = 0; index < pattern.length; index++) {
    const char = pattern[index];
    const end = char === '[' ? pattern.indexOf(']', index + 1) : -1;
    if (char === '*') source += '.*';
    else if (char === '?') source += '.';
    else if (end > index) {
      const body = pattern.slice(index + 1, end);
      source += `[${body.startsWith('^') || body.startsWith('!') ? `^${body.slice(1)}` : body}]`;
      index = end;
    } else if (char === '\\' && index + 1 < pattern.length) source += `\\${pattern[++index]}`;
    else source += char.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
  }
  try {
    return new RegExp(`^${source}$`, 's').test(name);
  } catch {
    return true; // an unreadable pattern might name anything
  }
}

// ---- metadata ---------------------------------------------------------------

const EXAMPLE_CONTEXT: Readonly<Record<string, string>> = {
  Dockerfile: 'FROM node:22-slim\nWORKDIR /app\nCOPY . .\nRUN npm ci --omit=dev\nCMD ["node", "server.js"]\n',
  '.dockerignore': '# local scratch files\ntmp/\n',
  '.git/HEAD': 'ref: refs/heads/main\n',
  'node_modules/express/package.json': '{}\n',
  'npm-debug.log': '\n',
  '.env': 'API_TOKEN=secret\n',
  '.env.example': 'API_TOKEN=\n',
  'package.json': '{}\n',
  'server.js': '\n',
};

const dockerignore: ContextTransform = {
  meta: {
    id: 'dockerignore',
    title: 'Keep version control, dependencies, caches and secrets out of the build context',
    description:
      'Creates or extends the .dockerignore of each build context (the Dockerfile\'s directory) with entries for what exists there and an image does not need: .git, node_modules, __pycache__ and tool caches, Python virtualenvs, Cargo/Maven target directories, *.log, editor files (.idea, .vscode, *.swp, .DS_Store), .env files and private keys. Appends under a `# added by dockopt` header; never removes or reorders the user\'s entries.',
    safety: 'unsafe',
    network: false,
    docs: readmeDocs(import.meta.url),
  },
  exampleContext: EXAMPLE_CONTEXT,
  propose: proposeDockerignore,
};

export default dockerignore;
