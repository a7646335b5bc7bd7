// esbuild plugins shared by scripts/build.mjs and scripts/build-exe.mjs

/** Leaves every dynamic import out of the bundle: help and version load no command module. */
export const noDynamicImports = {
  name: 'no-dynamic-imports',
  setup(b) {
    b.onResolve({ filter: /.*/ }, (args) => (args.kind === 'dynamic-import' ? { path: args.path, external: true } : undefined));
  },
};
