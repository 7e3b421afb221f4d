// One Jest run for the whole workspace. Tests run from TypeScript sources (transformed by swc, kept as ESM),
// so `@kinora/*` imports are mapped to each workspace's src/index.ts instead of its built dist/.
import { readdirSync, existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

const root = new URL('.', import.meta.url).pathname;
const moduleNameMapper = { '^(\\.{1,2}/.*)\\.js$': '$1' };
for (const group of ['libs', 'apps', 'operators']) {
  if (!existsSync(join(root, group))) continue;
  for (const dir of readdirSync(join(root, group))) {
    const pkgFile = join(root, group, dir, 'package.json');
    if (!existsSync(pkgFile)) continue;
    const { name } = JSON.parse(readFileSync(pkgFile, 'utf8'));
    const escaped = name.replace(/[/\\^$*+?.()|[\]{}]/g, '\\$&');
    moduleNameMapper[`^${escaped}$`] = `<rootDir>/${group}/${dir}/src/index.ts`;
    moduleNameMapper[`^${escaped}/(.*)$`] = `<rootDir>/${group}/${dir}/src/$1`;
  }
}

/** @type {import('jest').Config} */
export default {
  rootDir: root,
  testEnvironment: 'node',
  extensionsToTreatAsEsm: ['.ts'],
  transform: {
    '^.+\\.ts$': [
      '@swc/jest',
      {
        jsc: { parser: { syntax: 'typescript' }, target: 'es2022', keepClassNames: true },
        module: { type: 'es6' },
        sourceMaps: 'inline',
      },
    ],
    '/node_modules/cookie/.+\\.js$': ['@swc/jest', { jsc: { target: 'es2022' }, module: { type: 'commonjs' } }],
  },
  // light-my-request (fastify.inject) require()s cookie 2, which is ESM-only: Node 20 cannot require() ESM, so
  // Jest compiles that one package to CommonJS.
  transformIgnorePatterns: ['/node_modules/(?!cookie/)'],
  moduleNameMapper,
  testMatch: ['<rootDir>/{apps,libs,operators,bench}/**/*.spec.ts', '<rootDir>/{apps,libs,operators}/*/test/**/*.test.ts', '<rootDir>/test/**/*.test.ts', '<rootDir>/charts/test/**/*.test.ts'],
  testPathIgnorePatterns: ['/node_modules/', '/dist/'],
  globalSetup: '<rootDir>/libs/testing/src/jest/global-setup.ts',
  globalTeardown: '<rootDir>/libs/testing/src/jest/global-teardown.ts',
  testTimeout: 60000,
  maxWorkers: 2,
};
