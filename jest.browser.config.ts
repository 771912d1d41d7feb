import type { Config } from 'jest';

// `npm run test:browser`: the tests that drive headless Chromium (spec/browser). They start their
// own PostgreSQL server, so no global setup.
const config: Config = {
  testEnvironment: 'node',
  roots: ['<rootDir>/spec/browser'],
  testMatch: ['**/*.spec.ts'],
  transform: { '^.+\\.ts$': ['ts-jest', { tsconfig: 'tsconfig.json', diagnostics: { warnOnly: false } }] },
  testTimeout: 60_000,
  maxWorkers: 1,
};

export default config;
