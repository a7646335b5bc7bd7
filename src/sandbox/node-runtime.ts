import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, renameSync, rmSync } from 'node:fs';
import { homedir } from 'node:os';
import path from 'node:path';
import { inExecutable } from '../util/package-files.js';

/**
 * The Node.js a `node:<major>` image has, for the sandbox's worker to run a pod's process on the version its image
 * carries: the host's own for its major, else npm's `node` package at that major (a real Node binary, from the npm
 * registry), installed once into the cache as the control-plane binaries are.
 */
const pending = new Map<string, Promise<string>>();

export function nodeCacheDir(env: NodeJS.ProcessEnv = process.env): string {
  return path.join(env.VNODE_CACHE_DIR || path.join(env.HOME || homedir(), '.cache', 'vnode'), 'node');
}

const binaryIn = (dir: string): string => path.join(dir, 'node_modules', 'node', 'bin', 'node');

function run(cmd: string, args: string[], env: NodeJS.ProcessEnv): Promise<{ code: number; output: string }> {
  return new Promise((resolve) => {
    const child = spawn(cmd, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (c: Buffer) => { output += c.toString(); });
    child.stderr.on('data', (c: Buffer) => { output += c.toString(); });
    child.on('error', (e) => resolve({ code: 1, output: e.message }));
    child.on('exit', (code) => resolve({ code: code ?? 1, output }));
  });
}

/** The path of a Node binary of that major; rejects, saying why, when it cannot be had (as a pull would fail). */
export function nodeForMajor(major: string, opts: { env?: NodeJS.ProcessEnv; log?: (m: string) => void } = {}): Promise<string> {
  // the executable's own Node runs only vnode, so there a node:<major> image always gets npm's binary
  if (major === process.versions.node.split('.')[0] && !inExecutable()) return Promise.resolve(process.execPath);
  if (!/^\d{1,3}$/.test(major)) return Promise.reject(new Error(`no Node.js major version in the tag (${major})`));
  const env = opts.env ?? process.env;
  const dir = path.join(nodeCacheDir(env), major);
  if (existsSync(binaryIn(dir))) return Promise.resolve(binaryIn(dir));
  let p = pending.get(dir);
  if (!p) {
    p = (async () => {
      mkdirSync(path.dirname(dir), { recursive: true });
      // installed beside the cache entry, then moved in whole: a concurrent run never sees half of it
      const tmp = mkdtempSync(`${dir}.tmp-`);
      try {
        opts.log?.(`installing Node.js ${major} from npm (node@${major}) for node:${major} images`);
        const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
        const r = await run(npm, ['install', '--prefix', tmp, '--no-save', '--no-audit', '--no-fund', '--no-package-lock', `node@${major}`], env);
        if (r.code !== 0 || !existsSync(binaryIn(tmp))) throw new Error(`npm could not install node@${major}: ${r.output.trim().split('\n').slice(-2).join(' ')}`);
        if (!existsSync(binaryIn(dir))) { rmSync(dir, { recursive: true, force: true }); renameSync(tmp, dir); }
        return binaryIn(dir);
      } finally {
        rmSync(tmp, { recursive: true, force: true });
        pending.delete(dir);
      }
    })();
    pending.set(dir, p);
  }
  return p;
}
