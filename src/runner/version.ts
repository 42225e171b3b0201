// dockopt's own version, for commit trailers and report metadata.
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { DockoptError } from '../engine/errors.js';

let cachedRoot: { directory: URL; version: string } | undefined;

/** dockopt's package directory and version, from its package.json (found from src/ and from the compiled dist/src/). */
function packageRoot(): { directory: URL; version: string } {
  if (cachedRoot !== undefined) return cachedRoot;
  for (const candidate of ['../../', '../../../']) {
    const directory = new URL(candidate, import.meta.url);
    const file = fileURLToPath(new URL('package.json', directory));
    if (!existsSync(file)) continue;
    const manifest = JSON.parse(readFileSync(file, 'utf8')) as { name?: string; version?: string };
    if (manifest.name === 'dockopt' && manifest.version) return (cachedRoot = { directory, version: manifest.version });
  }
  throw new DockoptError('INTERNAL_ERROR', "dockopt's package.json was not found next to its code");
}

export function dockoptVersion(): string {
  return packageRoot().version;
}

/** The README.md that ships in the package, as a file: URL: the documentation SARIF logs point at (informationUri). */
export function dockoptReadmeUrl(): string {
  return new URL('README.md', packageRoot().directory).href;
}
