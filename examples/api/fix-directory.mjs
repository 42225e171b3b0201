// Fixes the Dockerfiles under a directory in place with merge-runs and the
// custom maintainer-to-label transform, and prints what changed as a diff.
// Usage: node examples/api/fix-directory.mjs path/to/repo
import { DockoptError, fixFiles, formatDiff } from 'dockopt';

const directory = process.argv[2] ?? '.';
const options = {
  only: ['merge-runs', 'maintainer-to-label'],
  transforms: [new URL('../custom-transform/maintainer-to-label.mjs', import.meta.url)],
  write: true,
};

try {
  for await (const result of fixFiles(directory, options)) {
    if (result.written) process.stdout.write(`fixed ${result.path}\n${formatDiff(result.path, result.input, result.output)}`);
    for (const error of result.errors) {
      console.error(`${result.path}:${error.line}: ${error.code}: ${error.message}`);
      process.exitCode = 2;
    }
  }
} catch (error) {
  if (!(error instanceof DockoptError)) throw error;
  console.error(`dockopt: ${error.code}: ${error.message}`);
  process.exitCode = 2;
}
