// ESM project: ts-jest's default-esm preset compiles TypeScript on the fly and
// NODE_OPTIONS=--experimental-vm-modules (set by `npm test`) lets jest load ESM-only deps.
export default {
  preset: 'ts-jest/presets/default-esm',
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  moduleNameMapper: { '^(\\.{1,2}/.*)\\.js$': '$1' },
  transform: { '^.+\\.ts$': ['ts-jest', { useESM: true, tsconfig: 'tsconfig.test.json' }] },
  snapshotResolver: '<rootDir>/test/snapshot-resolver.cjs',
  testTimeout: 120000,
  reporters: ['default', '<rootDir>/test/plain-summary-reporter.cjs'],
};
