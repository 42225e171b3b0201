// Services the engine hands to transforms in offline tests: network
// transforms get test doubles answering from recorded registry contents. The
// real clients are tested against real servers in test/registry/.
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadRecordedRegistry, recordedResolver } from './recorded-resolver.js';

const recordings = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', 'fixtures', 'pin-base', 'registry.json');

export function recordedServices(): Record<string, unknown> {
  return { resolver: recordedResolver(loadRecordedRegistry(recordings)) };
}
