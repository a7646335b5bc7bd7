// `npm run build:exe`: single-file executables (Node.js single executable applications) for linux x64 and arm64,
// on the Node.js LTS below from npm's node-linux-* packages, plus their sha256 files, kubectl-vnode archives and
// the krew manifest plugins/vnode.yaml. Run after `npm run build` (the scheduling server's code is an asset).
import { build } from 'esbuild';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import path from 'node:path';
import { noDynamicImports } from './esbuild-plugins.mjs';

export const EXE_NODE_VERSION = '26.12.1';
const ARCHES = ['x64', 'arm64'];
const OUT = 'dist/exe';
const VERSION = JSON.parse(readFileSync('package.json', 'utf8')).version;
// where a release publishes the archives (the krew manifest's uri); a fork sets its own
const RELEASE_URL = process.env.VNODE_RELEASE_URL || `https://github.com/vnode-dev/vnode/releases/download/v${VERSION}`;

const run = (cmd, args, opts = {}) => {
  const r = spawnSync(cmd, args, { stdio: ['ignore', 'pipe', 'inherit'], ...opts });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed (${r.error?.message ?? `exit ${r.status}`})`);
  return r.stdout?.toString() ?? '';
};

/** npm's node-linux-<arch>@version binary, unpacked once into vnode's cache. */
function nodeBinary(arch) {
  const dir = path.join(process.env.VNODE_CACHE_DIR || path.join(homedir(), '.cache', 'vnode'), 'node-dist', `${EXE_NODE_VERSION}-linux-${arch}`);
  const bin = path.join(dir, 'node');
  if (existsSync(bin)) return bin;
  mkdirSync(path.dirname(dir), { recursive: true });
  const tmp = mkdtempSync(`${dir}.tmp-`);
  try {
    process.stderr.write(`build-exe: fetching node-linux-${arch}@${EXE_NODE_VERSION} from npm\n`);
    const tgz = run('npm', ['pack', '--silent', '--pack-destination', tmp, `node-linux-${arch}@${EXE_NODE_VERSION}`]).trim().split('\n').pop();
    run('tar', ['xzf', path.join(tmp, tgz), '-C', tmp, 'package/bin/node']);
    mkdirSync(dir, { recursive: true });
    renameSync(path.join(tmp, 'package', 'bin', 'node'), bin);
    return bin;
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}

const sha256 = (file) => createHash('sha256').update(readFileSync(file)).digest('hex');

rmSync(OUT, { recursive: true, force: true });
mkdirSync(`${OUT}/work`, { recursive: true });
const common = { bundle: true, minify: true, format: 'cjs', platform: 'node', target: 'node26', legalComments: 'none', logLevel: 'warning' };
// the whole CLI, SDKs included: the executable has no node_modules beside it
await build({
  ...common,
  entryPoints: ['src/main.ts'],
  outfile: `${OUT}/work/app.cjs`,
  define: { 'import.meta.url': '__vnodeImportMetaUrl' },
  banner: { js: "var __vnodeImportMetaUrl = require('node:url').pathToFileURL(__filename).href;" },
  plugins: [{
    name: 'bundle-lazy-requires',
    setup(b) {
      // Node warns of its deprecated punycode when code outside node_modules loads it, as bundled code is: the npm
      // package of that name instead
      b.onResolve({ filter: /^punycode$/ }, () => ({ path: path.resolve('node_modules/punycode/punycode.js') }));
      // output.ts loads yaml through createRequire, which a bundler cannot follow: a plain require it can
      b.onLoad({ filter: /src\/ui\/output\.ts$/ }, (args) => {
        const lazy = "(requireLazy('yaml') as typeof import('yaml'))";
        const text = readFileSync(args.path, 'utf8');
        // a changed line would leave -o yaml broken in the executable only: fail the build instead
        if (!text.includes(lazy)) throw new Error(`${args.path} no longer loads yaml as ${lazy}: update scripts/build-exe.mjs`);
        return { contents: text.replace(lazy, "(require('yaml') as typeof import('yaml'))"), loader: 'ts' };
      });
    },
  }],
});
// the entry: runs the asset quick.cjs (help and version: dist/quick.cjs of `npm run build`) or app.cjs
await build({
  ...common,
  entryPoints: ['src/exe-main.ts'],
  outfile: `${OUT}/work/entry.cjs`,
  plugins: [noDynamicImports],
});

const builder = nodeBinary('x64');
// V8's code caches, made by the executable's own Node.js (x64 only: a cache is per CPU architecture): of the whole
// CLI as compiled, and of the help-and-version program after it printed help once (the functions help runs are in it)
run(builder, ['-e', `
  const fs = require('node:fs'), vm = require('node:vm'), { wrap } = require('node:module');
  const s = new vm.Script(wrap(fs.readFileSync('${OUT}/work/app.cjs', 'utf8')), { filename: 'app.cjs' });
  fs.writeFileSync('${OUT}/work/app.cjs.cache', s.createCachedData());
  const q = new vm.Script(wrap(fs.readFileSync('dist/quick.cjs', 'utf8')), { filename: 'quick.cjs' });
  const mod = { exports: {} };
  q.runInThisContext()(mod.exports, require, mod, 'quick.cjs', '.');
  process.stdout.write = () => true;
  mod.exports.main(['--help']).then(() => fs.writeFileSync('${OUT}/work/quick.cjs.cache', q.createCachedData()));
`]);

const assets = {};
const add = (rel, file = rel) => { assets[rel] = path.resolve(file); };
for (const dir of ['templates', 'docs']) for (const f of readdirSync(dir)) add(`${dir}/${f}`);
add('dist/webhook.cjs.gz');
add('scripts/kube-bins.sh');
add('scripts/sandbox-deps.sh');
add('app.cjs', `${OUT}/work/app.cjs`);
add('quick.cjs', 'dist/quick.cjs');

mkdirSync('plugins', { recursive: true });
const platforms = [];
for (const arch of ARCHES) {
  const exe = `${OUT}/vnode-linux-${arch}`;
  const own = arch === 'x64';
  const config = {
    main: path.resolve(`${OUT}/work/entry.cjs`),
    executable: nodeBinary(arch),
    output: path.resolve(exe),
    disableExperimentalSEAWarning: true,
    // Node warns of url.parse() when code outside node_modules calls it, as the bundled SDKs now are (npm's install
    // does not warn): the user can do nothing about it
    execArgv: ['--disable-warning=DEP0169'],
    // code caches are made by the building Node.js, for its own architecture
    useCodeCache: own,
    assets: own ? { ...assets, 'app.cjs.cache': path.resolve(`${OUT}/work/app.cjs.cache`), 'quick.cjs.cache': path.resolve(`${OUT}/work/quick.cjs.cache`) } : assets,
  };
  writeFileSync(`${OUT}/work/sea-${arch}.json`, JSON.stringify(config, null, 2));
  run(builder, ['--build-sea', `${OUT}/work/sea-${arch}.json`], { stdio: ['ignore', 'ignore', 'inherit'] });
  chmodSync(exe, 0o755);
  writeFileSync(`${exe}.sha256`, `${sha256(exe)}  vnode-linux-${arch}\n`);
  // krew installs from an archive: the executable as kubectl-vnode, with the license
  const stage = `${OUT}/work/krew-${arch}`;
  mkdirSync(stage, { recursive: true });
  copyFileSync(exe, `${stage}/kubectl-vnode`);
  if (existsSync('LICENSE')) copyFileSync('LICENSE', `${stage}/LICENSE`);
  const archive = `${OUT}/kubectl-vnode-linux-${arch}.tar.gz`;
  run('tar', ['czf', archive, '-C', stage, ...readdirSync(stage)]);
  writeFileSync(`${archive}.sha256`, `${sha256(archive)}  kubectl-vnode-linux-${arch}.tar.gz\n`);
  platforms.push({ arch, archive, files: readdirSync(stage) });
  process.stderr.write(`build-exe: ${exe} (${(statSync(exe).size / 2 ** 20).toFixed(1)} MiB, Node.js ${EXE_NODE_VERSION})\n`);
}

const manifest = `# Generated by \`npm run build:exe\` (scripts/build-exe.mjs): do not edit.
apiVersion: krew.googlecontainertools.github.com/v1alpha2
kind: Plugin
metadata:
  name: vnode
spec:
  version: v${VERSION}
  homepage: ${RELEASE_URL.replace(/\/releases\/download\/.*$/, '')}
  shortDescription: Burst pods onto Alibaba Cloud ECI through virtual nodes
  description: |
    Connects a self-managed Kubernetes cluster to Alibaba Cloud Elastic Container Instance through virtual nodes:
    RAM access, kubeconfig, install, scheduling, drain and uninstall. The same program as the vnode executable.
  platforms:
${platforms.map((p) => `  - selector:
      matchLabels:
        os: linux
        arch: ${p.arch === 'x64' ? 'amd64' : 'arm64'}
    uri: ${RELEASE_URL}/${path.basename(p.archive)}
    sha256: ${sha256(p.archive)}
    files:
${p.files.map((f) => `    - from: ${f}\n      to: .`).join('\n')}
    bin: kubectl-vnode`).join('\n')}
`;
writeFileSync('plugins/vnode.yaml', manifest);
rmSync(`${OUT}/work`, { recursive: true, force: true });
