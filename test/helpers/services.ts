// Services the engine hands to transforms in offline tests: network
// transforms get test doubles answering from recorded registry contents. The
// real clients are tested against real servers in test/registry/.
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { inMemoryBuildContext } from '../../src/engine/build-context.js';
import { loadRecordedRegistry, recordedResolver } from './recorded-resolver.js';

const recordings = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', 'fixtures', 'pin-base', 'registry.json');

/** The build context next to the docs examples' Dockerfiles: a small Node.js app whose dependencies run no install scripts. */
export const EXAMPLE_CONTEXT_FILES: Readonly<Record<string, string>> = {
  'package.json': JSON.stringify({ name: 'app', version: '1.0.0', dependencies: { express: '^4.19.2' } }, null, 2),
  'package-lock.json': JSON.stringify({ name: 'app', lockfileVersion: 3, packages: { '': { name: 'app' }, 'node_modules/express': { version: '4.19.2' } } }, null, 2),
  'server.js': "require('express')().listen(8080);\n",
  '.dockerignore': 'node_modules\n',
};

export function recordedServices(): Record<string, unknown> {
  return { resolver: recordedResolver(loadRecordedRegistry(recordings)), buildContext: inMemoryBuildContext(EXAMPLE_CONTEXT_FILES) };
}
