import type { Config } from 'jest';

const config: Config = {
  // A database per test file on the shared servers: spec/support/database-environment.cjs.
  testEnvironment: '<rootDir>/spec/support/database-environment.cjs',
  roots: ['<rootDir>/spec'],
  testMatch: ['**/*.spec.ts'],
  // spec/browser drives Chromium: `npm run test:browser` (jest.browser.config.ts).
  testPathIgnorePatterns: ['/node_modules/', '<rootDir>/spec/browser/'],
  transform: { '^.+\\.ts$': ['ts-jest', { tsconfig: 'tsconfig.json', diagnostics: { warnOnly: false } }] },
  // One PostgreSQL server for the whole run, chosen by spec/support/global-setup.mjs.
  globalSetup: '<rootDir>/spec/support/global-setup.mjs',
  globalTeardown: '<rootDir>/spec/support/global-teardown.mjs',
  testTimeout: 60_000,
  maxWorkers: 2,
};

export default config;
