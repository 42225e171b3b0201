// dockopt's own version, for commit trailers and report metadata.
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { DockoptError } from '../engine/errors.js';

let cachedVersion: string | undefined;

/** dockopt's version from its package.json (found from src/ and from the compiled dist/src/). */
export function dockoptVersion(): string {
  if (cachedVersion !== undefined) return cachedVersion;
  for (const candidate of ['../../package.json', '../../../package.json']) {
    const file = fileURLToPath(new URL(candidate, import.meta.url));
    if (!existsSync(file)) continue;
    const manifest = JSON.parse(readFileSync(file, 'utf8')) as { name?: string; version?: string };
    if (manifest.name === 'dockopt' && manifest.version) return (cachedVersion = manifest.version);
  }
  throw new DockoptError('INTERNAL_ERROR', "dockopt's package.json was not found next to its code");
}
