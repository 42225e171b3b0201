// The shape of the house (ARCHITECTURE.md): every part of src/ is a folder
// whose README.md says what it owns and which parts it may import, and the
// import graph keeps to it. A transform imports only the shared parts and its
// own folder, never another transform's; the engine never imports the cli.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { importEdges, sourceFiles, type ImportEdge } from './helpers/import-graph.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

/** The part a source file belongs to: a folder of src/, the public entry, the transforms registry, or one transform. */
function partOf(file: string): string {
  if (file === 'src/index.ts') return 'index';
  if (file === 'transforms/index.ts') return 'transforms';
  const [top, folder] = file.split('/');
  return top === 'src' ? folder : `transform:${folder}`;
}

/** The backticked part names of the `May import:` line of a README, up to its first `;`. */
function allowedImports(readme: string, where: string): string[] {
  const line = /^May import: (.*(?:\n(?!\n).*)*)/m.exec(readme);
  if (!line) throw new Error(`${where} has no "May import:" line`);
  const sentence = line[1].split(';')[0];
  return [...sentence.matchAll(/`([a-z-]+)`/g)].map((match) => match[1]);
}

interface Rules {
  readonly parts: ReadonlyMap<string, readonly string[]>;
  readonly transformParts: readonly string[];
}

function readRules(): Rules {
  const parts = new Map<string, readonly string[]>();
  for (const entry of readdirSync(path.join(root, 'src'), { withFileTypes: true })) {
    if (!entry.isDirectory()) continue;
    const readme = path.join(root, 'src', entry.name, 'README.md');
    parts.set(entry.name, existsSync(readme) ? allowedImports(readFileSync(readme, 'utf8'), `src/${entry.name}/README.md`) : []);
  }
  const transformParts = allowedImports(readFileSync(path.join(root, 'transforms', 'README.md'), 'utf8'), 'transforms/README.md');
  return { parts, transformParts };
}

/** The edges that break the rules, each as `from:line -> to (why)`. */
function violations(edges: readonly ImportEdge[], rules: Rules): string[] {
  const problems: string[] = [];
  for (const edge of edges) {
    const from = partOf(edge.from);
    const to = partOf(edge.to);
    if (from === to) continue;
    const where = `${edge.from}:${edge.line} -> ${edge.to}`;
    if (from === 'index') {
      if (to === 'cli') problems.push(`${where} (the public entry must not load the cli)`);
    } else if (from === 'transforms') {
      if (!to.startsWith('transform:') && to !== 'engine') problems.push(`${where} (the registry line lists transforms only)`);
    } else if (from.startsWith('transform:')) {
      if (to.startsWith('transform:') || to === 'transforms') problems.push(`${where} (a transform never imports another transform)`);
      else if (!rules.transformParts.includes(to)) problems.push(`${where} (a transform may import ${rules.transformParts.join(', ')})`);
    } else {
      const allowed = rules.parts.get(from) ?? [];
      if (!allowed.includes(to)) problems.push(`${where} (src/${from} may import ${allowed.join(', ') || 'nothing'}: see src/${from}/README.md)`);
    }
  }
  return problems;
}

const files = sourceFiles(root, ['src', 'transforms']);
const edges = importEdges(root, files);

test('every part of src/ is a folder with a README.md saying what it owns and what it may import', () => {
  const loose = readdirSync(path.join(root, 'src')).filter((name) => name.endsWith('.ts') && name !== 'index.ts');
  expect(loose).toEqual([]);
  for (const entry of readdirSync(path.join(root, 'src'), { withFileTypes: true })) {
    if (!entry.isDirectory()) continue;
    const readme = readFileSync(path.join(root, 'src', entry.name, 'README.md'), 'utf8');
    expect(readme).toMatch(new RegExp(`^# src/${entry.name}: `));
    expect(() => allowedImports(readme, entry.name)).not.toThrow();
  }
});

test('every import follows the direction the parts allow', () => {
  expect(edges.length).toBeGreaterThan(100);
  expect(violations(edges, readRules())).toEqual([]);
});

test('one folder per transform: index.ts and its README.md', () => {
  for (const entry of readdirSync(path.join(root, 'transforms'), { withFileTypes: true })) {
    if (!entry.isDirectory()) continue;
    expect([entry.name, existsSync(path.join(root, 'transforms', entry.name, 'index.ts'))]).toEqual([entry.name, true]);
    expect([entry.name, existsSync(path.join(root, 'transforms', entry.name, 'README.md'))]).toEqual([entry.name, true]);
  }
  const looseFiles = readdirSync(path.join(root, 'transforms')).filter((name) => name.endsWith('.ts') && name !== 'index.ts');
  expect(looseFiles).toEqual([]);
});

test('src/ has no file whose only users are one transform (it belongs in that transform\'s folder)', () => {
  const users = new Map<string, Set<string>>();
  for (const edge of edges) {
    if (!edge.to.startsWith('src/')) continue;
    users.set(edge.to, (users.get(edge.to) ?? new Set()).add(partOf(edge.from)));
  }
  const privateToOne = [...users]
    .filter(([file, parts]) => parts.size === 1 && [...parts][0].startsWith('transform:') && partOf(file) !== [...parts][0])
    .map(([file, parts]) => `${file} (only ${[...parts][0]})`);
  expect(privateToOne).toEqual([]);
});

test('the rules catch a forbidden import (the check can fail)', () => {
  const rules = readRules();
  const edge = (from: string, to: string): ImportEdge => ({ from, to, line: 1 });
  expect(violations([edge('transforms/merge-runs/index.ts', 'transforms/pkg-cleanup/plan.ts')], rules)).toHaveLength(1);
  expect(violations([edge('transforms/merge-runs/index.ts', 'src/runner/runner.ts')], rules)).toHaveLength(1);
  expect(violations([edge('transforms/merge-runs/index.ts', 'src/report/report.ts')], rules)).toHaveLength(1);
  expect(violations([edge('transforms/merge-runs/index.ts', 'src/cli/cli.ts')], rules)).toHaveLength(1);
  expect(violations([edge('src/engine/fixpoint.ts', 'src/cli/cli.ts')], rules)).toHaveLength(1);
  expect(violations([edge('src/engine/fixpoint.ts', 'transforms/index.ts')], rules)).toHaveLength(1);
  expect(violations([edge('src/index.ts', 'src/cli/cli.ts')], rules)).toHaveLength(1);
  expect(violations([edge('transforms/merge-runs/index.ts', 'src/shell/script.ts'), edge('transforms/merge-runs/index.ts', 'transforms/merge-runs/helper.ts')], rules)).toEqual([]);
});
