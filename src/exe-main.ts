/**
 * The single executable's entry (`npm run build:exe`): what bin/vnode.js is to the npm build. Help and version run
 * the asset quick.cjs (dist/quick.cjs, with V8's code cache of it taken after it printed help once); every other
 * command runs the whole CLI, the asset app.cjs. A cross-built executable has no caches and compiles as usual.
 */
import Module from 'node:module';
import path from 'node:path';
import { runInThisContext, Script } from 'node:vm';
import { FORWARDER, FORWARDER_FLAG } from './sandbox/forwarder.js';

interface Sea { getAsset(key: string): ArrayBuffer; getAsset(key: string, encoding: string): string }

const argv = process.argv.slice(2);
const quick = argv.length === 0 || (argv.length === 1 && ['--help', '-h', '--version', 'help'].includes(argv[0]!));
const sea = process.getBuiltinModule('node:sea') as Sea;

/** Runs a CommonJS asset as if it were the file beside the executable, and calls its main. */
function runAsset(name: string): void {
  const filename = path.join(path.dirname(process.execPath), `vnode-${name}`);
  let cachedData: Buffer | undefined;
  try { cachedData = Buffer.from(sea.getAsset(`${name}.cache`)); } catch { /* none */ }
  const script = new Script(Module.wrap(sea.getAsset(name, 'utf8')), { filename, cachedData });
  const mod = { exports: {} as { main(argv: string[]): Promise<void> } };
  (script.runInThisContext() as (...a: unknown[]) => void)(mod.exports, Module.createRequire(filename), mod, filename, path.dirname(filename));
  void mod.exports.main(argv);
}

if (argv[0] === FORWARDER_FLAG) {
  // the sandbox's pod-network forwarder: what `node -e` runs in the npm install
  (runInThisContext(`(function (require) {${FORWARDER}\n})`) as (r: NodeJS.Require) => void)(Module.createRequire(__filename));
} else {
  runAsset(quick ? 'quick.cjs' : 'app.cjs');
}
