// esbuild plugins shared by scripts/build.mjs and scripts/build-exe.mjs

/** Leaves every dynamic import out of the bundle: help and version load no command module. */
export const noDynamicImports = {
  name: 'no-dynamic-imports',
  setup(b) {
    b.onResolve({ filter: /.*/ }, (args) => (args.kind === 'dynamic-import' ? { path: args.path, external: true } : undefined));
  },
};

// commander requires child_process (~4 ms to load) only for executable subcommands, which vnode has none of:
// hand it a stand-in that loads the real module on first use.
export const lazyChildProcess = {
  name: 'lazy-child-process',
  setup(b) {
    b.onResolve({ filter: /^(node:)?child_process$/ }, (args) =>
      args.importer.includes('node_modules/commander/') ? { path: 'lazy-child-process', namespace: 'vnode' } : undefined);
    b.onLoad({ filter: /.*/, namespace: 'vnode' }, () => ({
      contents: "module.exports = new Proxy({}, { get: (_t, k) => require('node:child_process')[k] });",
      loader: 'js',
    }));
  },
};
