// BuildKit cache mounts (`RUN --mount=type=cache,target=…`): which caches a
// RUN already keeps outside its layer, and the flags and `# syntax=`
// directive pkg-cleanup adds with --cache-mounts.
import type { Flag } from 'dockerfile-ast';
import type { DockerfileDocument, InstructionInfo } from '../../src/dockerfile/document.js';
import { Edit } from '../../src/engine/transform.js';

/** The targets of the RUN's `--mount=type=cache` flags, without trailing slashes. */
export function cacheMountTargets(instruction: InstructionInfo): string[] {
  const node = instruction.node as unknown as { getFlags?: () => Flag[] };
  if (typeof node.getFlags !== 'function') return [];
  const targets: string[] = [];
  for (const flag of node.getFlags()) {
    if (flag.getName().toLowerCase() !== 'mount') continue;
    const options = new Map(flag.getOptions().map((option) => [option.getName().toLowerCase(), option.getValue() ?? '']));
    if (options.get('type') !== 'cache') continue;
    const target = options.get('target') ?? options.get('dst') ?? options.get('destination');
    if (target) targets.push(normalizePath(target));
  }
  return targets;
}

/** `/var/lib/apt/lists/*` and `/var/lib/apt/lists/` both name the directory /var/lib/apt/lists. */
export function normalizePath(path: string): string {
  let normalized = path.replace(/\/+/g, '/');
  while (normalized.length > 1 && (normalized.endsWith('/') || normalized.endsWith('/*'))) {
    normalized = normalized.endsWith('/*') ? normalized.slice(0, -2) : normalized.slice(0, -1);
  }
  return normalized;
}

/** True when removing or mounting `outer` also covers `inner` (the same directory or one above it). */
export function covers(outer: string, inner: string): boolean {
  const a = normalizePath(outer);
  const b = normalizePath(inner);
  return a === b || b.startsWith(a === '/' ? '/' : `${a}/`);
}

export function mountFlag(target: string, locked: boolean): string {
  return `--mount=type=cache,target=${target}${locked ? ',sharing=locked' : ''}`;
}

const SYNTAX_DIRECTIVE = 'docker/dockerfile:1';

/** The edit that adds `# syntax=docker/dockerfile:1` as the first line, or undefined when a syntax directive exists. */
export function syntaxDirectiveEdit(doc: DockerfileDocument): Edit | undefined {
  if (doc.ast.getDirectives().some((directive) => directive.getName().toLowerCase() === 'syntax')) return undefined;
  // A BOM stays the very first character; parser directives follow it.
  const at = doc.text.startsWith('\uFEFF') ? 1 : 0;
  return Edit.insert(at, `# syntax=${SYNTAX_DIRECTIVE}${doc.eol}`);
}
