// Bundles the CLI so startup reads few files: commander and vnode's own modules go into split ESM chunks
// (each command module stays a lazy chunk); the SDKs and UI libraries stay external and load only when used.
import { build } from 'esbuild';
import { spawnSync } from 'node:child_process';
import { rmSync, writeFileSync } from 'node:fs';
import { noDynamicImports } from './esbuild-plugins.mjs';

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
  // less to parse on the path measured against `node -e 0`
  minify: true,
  format: 'cjs',
  platform: 'node',
  target: 'node20',
  external,
  plugins: [lazyChildProcess, noDynamicImports],
  logLevel: 'warning',
});

// V8's code cache of the quick build, taken after it printed help once (so the functions help runs are in it)
const cache = spawnSync(process.execPath, ['-e', `
  const fs = require('node:fs'), vm = require('node:vm'), { wrap } = require('node:module');
  const file = 'dist/quick.cjs';
  const script = new vm.Script(wrap(fs.readFileSync(file, 'utf8')), { filename: require('node:path').resolve(file) });
  const mod = { exports: {} };
  script.runInThisContext()(mod.exports, require, mod, file, 'dist');
  process.stdout.write = () => true;
  mod.exports.main(['--help']).then(() => fs.writeFileSync(file + '.cache', script.createCachedData()));
`], { stdio: ['ignore', 'ignore', 'inherit'] });
if (cache.status !== 0) throw new Error('could not make the code cache of dist/quick.cjs');
// which Node.js made it: another version's V8 rejects the cache (bin/vnode.js then compiles as usual)
writeFileSync('dist/quick.cjs.cache.node', `${process.version}\n`);

// The in-cluster scheduling server: one self-contained file (client-node included), gzipped into the ConfigMap that
// the official Node.js image runs it from, so nothing of vnode's has to be published to a registry.
await build({
  entryPoints: ['src/webhook-main.ts'],
  outfile: 'dist/webhook.cjs',
  bundle: true,
  minify: true,
  format: 'cjs',
  platform: 'node',
  target: 'node20',
  legalComments: 'none',
  logLevel: 'warning',
});
const { gzipSync, constants } = await import('node:zlib');
const { readFileSync } = await import('node:fs');
writeFileSync('dist/webhook.cjs.gz', gzipSync(readFileSync('dist/webhook.cjs'), { level: constants.Z_BEST_COMPRESSION }));
