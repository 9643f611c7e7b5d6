// jest.config.js - the jest suite of npm test: TypeScript tests under test/, run with ts-jest.
/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  transform: { '^.+\\.ts$': ['ts-jest', { tsconfig: '<rootDir>/tsconfig.test.json' }] },
  testTimeout: 60000,
  // Two cores on CI: two workers keep the suite fast without starving the tests that measure RSS.
  maxWorkers: 2,
};
