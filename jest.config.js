/** @type {import('jest').Config} */
module.exports = {
  preset: 'ts-jest',
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  transform: { '^.+\\.ts$': ['ts-jest', { tsconfig: 'tsconfig.test.json' }] },
  testTimeout: 120000,
  // A TMPDIR of the run's own, removed at its end (test/run-tmpdir.js).
  globalSetup: '<rootDir>/test/run-tmpdir-setup.js',
  globalTeardown: '<rootDir>/test/run-tmpdir-teardown.js',
  reporters: ['default', '<rootDir>/test/summary-reporter.js'],
  modulePathIgnorePatterns: ['<rootDir>/dist/', '<rootDir>/dist-test/', '<rootDir>/cdktf.out/'],
};
