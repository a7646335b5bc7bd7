/**
 * The single executable's entry (`npm run build:exe`). Help and version are answered by this file alone, as
 * bin/vnode.js answers them from dist/quick.cjs; every other command runs the whole CLI, which the executable
 * carries as the asset app.cjs (with V8's code cache of it where the build could make one).
 */
import Module from 'node:module';
import path from 'node:path';
import { runInThisContext, Script } from 'node:vm';
import { main } from './main.js';
import { FORWARDER, FORWARDER_FLAG } from './sandbox/forwarder.js';

interface Sea { getAsset(key: string): ArrayBuffer; getAsset(key: string, encoding: string): string }

const argv = process.argv.slice(2);
const quick = argv.length === 0 || (argv.length === 1 && ['--help', '-h', '--version', 'help'].includes(argv[0]!));
const sea = process.getBuiltinModule('node:sea') as Sea;

if (argv[0] === FORWARDER_FLAG) {
  // the sandbox's pod-network forwarder: what `node -e` runs in the npm install
  (runInThisContext(`(function (require) {${FORWARDER}\n})`) as (r: NodeJS.Require) => void)(Module.createRequire(__filename));
} else if (quick) {
  void main(argv);
} else {
  const filename = path.join(path.dirname(process.execPath), 'vnode-app.cjs');
  let cachedData: Buffer | undefined;
  try { cachedData = Buffer.from(sea.getAsset('app.cjs.cache')); } catch { /* a cross-built executable has none */ }
  const script = new Script(Module.wrap(sea.getAsset('app.cjs', 'utf8')), { filename, cachedData });
  const mod = { exports: {} as { main(argv: string[]): Promise<void> } };
  (script.runInThisContext() as (...a: unknown[]) => void)(mod.exports, Module.createRequire(filename), mod, filename, path.dirname(filename));
  void mod.exports.main(argv);
}
