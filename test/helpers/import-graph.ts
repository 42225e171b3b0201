// The import graph of dockopt's own sources, for the architecture test: every
// relative import (static, dynamic, type-only and re-exports) of every .ts file
// under src/ and transforms/, read with TypeScript's own pre-processor so that
// comments and strings never count as imports.
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import ts from 'typescript';

export interface ImportEdge {
  /** Repository-relative, `/`-separated. */
  readonly from: string;
  readonly to: string;
  readonly line: number;
}

export function sourceFiles(root: string, directories: readonly string[]): string[] {
  const files: string[] = [];
  const walk = (relative: string) => {
    for (const entry of readdirSync(path.join(root, relative), { withFileTypes: true })) {
      const child = `${relative}/${entry.name}`;
      if (entry.isDirectory()) walk(child);
      else if (entry.name.endsWith('.ts') && !entry.name.endsWith('.d.ts')) files.push(child);
    }
  };
  for (const directory of directories) walk(directory);
  return files.sort();
}

export function importEdges(root: string, files: readonly string[]): ImportEdge[] {
  const edges: ImportEdge[] = [];
  for (const file of files) {
    const text = readFileSync(path.join(root, file), 'utf8');
    const { importedFiles } = ts.preProcessFile(text, true, true);
    for (const imported of importedFiles) {
      if (!imported.fileName.startsWith('.')) continue;
      const target = path.posix.normalize(path.posix.join(path.posix.dirname(file), imported.fileName)).replace(/\.js$/, '.ts');
      const line = text.slice(0, imported.pos).split('\n').length;
      edges.push({ from: file, to: target, line });
    }
  }
  return edges;
}
