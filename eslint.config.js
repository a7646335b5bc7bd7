import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['dist/', 'node_modules/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_' }],
      // long lines crept back in review: the linter holds them
      'max-len': ['error', { code: 250, ignoreUrls: false, ignoreStrings: false, ignoreTemplateLiterals: false, ignoreRegExpLiterals: false }],
      'no-restricted-syntax': ['error', {
        selector: "CallExpression[callee.object.name='process'][callee.property.name='exit']",
        message: 'Only src/main.ts ends the process; throw a typed error instead.',
      }],
    },
  },
  { files: ['src/main.ts'], rules: { 'no-restricted-syntax': 'off' } },
  // the features stand side by side on src/steps/ground: none imports another, and the ground imports none
  ...featureBoundaries(),
  { files: ['**/*.mjs'], languageOptions: { globals: { process: 'readonly' } } },
);

function featureBoundaries() {
  const features = ['addon', 'virtual-node', 'scheduling'];
  const above = ['doctor', 'status', 'cost'];
  const rule = (banned, why) => ['error', { patterns: banned.map((f) => ({ group: [`../${f}/*`, `**/steps/${f}/*`], message: why })) }];
  return [
    ...features.map((f) => ({
      files: [`src/steps/${f}/**/*.ts`],
      rules: { 'no-restricted-imports': rule([...features.filter((x) => x !== f), ...above], `a feature never imports another feature (or status/doctor): share it through src/steps/ground`) },
    })),
    { files: ['src/steps/ground/**/*.ts'], rules: { 'no-restricted-imports': rule([...features, ...above], 'the ground floor imports no feature') } },
    // the RAM user is shared by the add-on: the add-on may read it, RAM takes what it needs of the add-on from the ground
    { files: ['src/steps/ram/**/*.ts'], rules: { 'no-restricted-imports': rule([...features, ...above], 'RAM imports no feature: share it through src/steps/ground') } },
  ];
}
