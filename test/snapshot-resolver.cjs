// Snapshots live in the top-level snapshots/ folder (design card), mirroring test/.
const path = require('path');
const root = path.resolve(__dirname, '..');
module.exports = {
  resolveSnapshotPath: (testPath, ext) =>
    path.join(root, 'snapshots', path.relative(path.join(root, 'test'), testPath) + ext),
  resolveTestPath: (snapshotPath, ext) =>
    path.join(root, 'test', path.relative(path.join(root, 'snapshots'), snapshotPath).slice(0, -ext.length)),
  testPathForConsistencyCheck: path.join(root, 'test', 'transforms', 'example.test.ts'),
};
