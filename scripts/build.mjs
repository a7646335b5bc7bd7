// Bundles the CLI so startup reads few files: commander and vnode's own modules go into split ESM chunks
// (each command module stays a lazy chunk); the SDKs and UI libraries stay external and load only when used.
import { build } from 'esbuild';
import { rmSync } from 'node:fs';

// commander requires child_process (~4 ms to load) only for executable subcommands, which vnode has none of:
// hand it a stand-in that loads the real module on first use.
const lazyChildProcess = {
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

const external = ['@kubernetes/client-node', '@alicloud/*', '@darabonba/*', '@peculiar/*', 'inquirer', 'ora', 'chalk', 'yaml'];

rmSync('dist/bundle', { recursive: true, force: true });
await build({
  entryPoints: ['src/main.ts'],
  outdir: 'dist/bundle',
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  sourcemap: true,
  // @darabonba/typescript too: the external @alicloud SDKs load it themselves, so bundling it would load it twice
  external,
  // CommonJS dependencies inside an ESM bundle need a require
  banner: { js: "import { createRequire as __vnodeCreateRequire } from 'node:module'; const require = __vnodeCreateRequire(import.meta.url);" },
  plugins: [lazyChildProcess],
  logLevel: 'warning',
});

// `vnode`, `vnode --help`, `vnode --version` (bin/vnode.js picks them): the same entry as CommonJS, which spares them
// Node's ES module loader (~8 ms). They load no command module, so every dynamic import stays out of this file.
await build({
  entryPoints: ['src/main.ts'],
  outfile: 'dist/quick.cjs',
  bundle: true,
  format: 'cjs',
  platform: 'node',
  target: 'node20',
  external,
  plugins: [lazyChildProcess, {
    name: 'no-dynamic-imports',
    setup(b) {
      b.onResolve({ filter: /.*/ }, (args) => (args.kind === 'dynamic-import' ? { path: args.path, external: true } : undefined));
    },
  }],
  logLevel: 'warning',
});
