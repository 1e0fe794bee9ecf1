// Lint enforces the import boundaries of shared/STYLE.md: each outside dependency has exactly one
// importing folder, and http/cli never reach into store directly, nor into the room's services.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

const owners = {
  'tweetnacl': 'src/crypto',
  'ed2curve': 'src/crypto',
  'canonicalize': 'src/crypto',
  // linear-algebra.ts is its one importer inside src/model
  'ml-matrix': 'src/model',
  '@duckdb/node-api': 'src/store',
  '@openmined/psi.js': 'src/psi',
  // identifier-normalisation.ts is its one importer
  'libphonenumber-js': 'src/psi',
  // native-group.ts is its one importer (hash to ristretto255; see src/psi/PROTOCOL.md)
  'libsodium-wrappers-sumo': 'src/psi',
  'express': 'src/http',
  'pino': 'src/log',
  'pino-http': 'src/http',
  'prom-client': 'src/metrics',
};

const restrictedFor = (folder) =>
  Object.entries(owners)
    .filter(([, owner]) => owner !== folder)
    .map(([name, owner]) => ({ name, message: `only ${owner} may import ${name}` }));

const folders = ['src/crypto', 'src/store', 'src/psi', 'src/http', 'src/log', 'src/model', 'src/metrics'];

export default tseslint.config(
  { ignores: ['node_modules', 'data', 'dist', 'coverage', 'stubs'] },
  js.configs.recommended,
  {
    files: ['**/*.js', '**/*.mjs'],
    languageOptions: { globals: { process: 'readonly', console: 'readonly' } },
  },
  {
    // The console's page script runs in the browser (no build step): browser globals only.
    files: ['src/console/**/*.js'],
    languageOptions: {
      globals: Object.fromEntries(
        ['document', 'window', 'location', 'fetch', 'crypto', 'btoa', 'atob', 'Node', 'URL', 'URLSearchParams',
          'Blob', 'FormData', 'TextEncoder', 'nacl', 'globalThis'].map((name) => [name, 'readonly']),
      ),
    },
  },
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/consistent-type-imports': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
    },
  },
  {
    files: ['**/*.ts'],
    rules: {
      // Issue #9: no line of TypeScript over 120 characters. Prettier wraps code at 120 but cannot break strings,
      // template literals or comments, so this catches what it leaves long.
      'max-len': [
        'error',
        {
          code: 120,
          ignoreUrls: false,
          ignoreStrings: false,
          ignoreTemplateLiterals: false,
          ignoreComments: false,
          ignoreRegExpLiterals: false,
        },
      ],
    },
  },
  {
    files: ['src/**/*.ts'],
    ignores: folders.map((f) => `${f}/**`),
    rules: { 'no-restricted-imports': ['error', { paths: restrictedFor(null) }] },
  },
  ...folders.map((folder) => ({
    files: [`${folder}/**/*.ts`],
    rules: { 'no-restricted-imports': ['error', { paths: restrictedFor(folder) }] },
  })),
  {
    files: ['src/http/**/*.ts', 'src/cli/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', {
        paths: restrictedFor('src/http'),
        patterns: [
          { group: ['**/store/**', '../store/*', '../../store/*'], message: 'http and cli go through src/room, never src/store' },
          { group: ['**/room/room-services.ts', '**/room/open-room.ts'], message: 'http is handed a Room: its acts, never its services' },
        ],
      }],
    },
  },
  {
    files: ['src/cli/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', {
        paths: restrictedFor(null),
        patterns: [
          { group: ['**/store/**'], message: 'http and cli go through src/room, never src/store' },
          // serve.ts opens the room (the composition root) and hands http only the Room.
          { group: ['**/room/room-services.ts'], message: 'cli reaches the room through its acts, never its services' },
        ],
      }],
    },
  },
);
