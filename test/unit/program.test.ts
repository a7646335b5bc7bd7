import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { targetEntry } from '../../src/program.js';

describe('command registry', () => {
  it('finds the command argv names without parsing, skipping global option values', () => {
    assert.deepEqual(targetEntry(['kubeconfig', '--bootstrap'])?.path, ['kubeconfig']);
    assert.deepEqual(targetEntry(['--kubeconfig', 'kubeconfig', 'kubeconfig'])?.path, ['kubeconfig']);
    assert.deepEqual(targetEntry(['-o', 'json', 'kubeconfig'])?.path, ['kubeconfig']);
    assert.deepEqual(targetEntry(['help', 'kubeconfig'])?.path, ['kubeconfig']);
    assert.equal(targetEntry(['--help']), undefined);
    assert.equal(targetEntry(['nope']), undefined);
  });

  it('`vnode --help` (built) loads neither the Kubernetes client nor any cloud SDK', () => {
    const root = path.resolve(import.meta.dirname, '../..');
    assert.ok(existsSync(path.join(root, 'dist/bundle/main.js')), 'run npm run build first');
    const dir = mkdtempSync(path.join(tmpdir(), 'vnode-trace-'));
    const traced = (name: string, args: string[]): { out: string; loaded: string } => {
      const trace = path.join(dir, name);
      const r = spawnSync(process.execPath, ['--import', path.join(root, 'test/fixtures/trace-loads.mjs'), path.join(root, 'bin/vnode.js'), ...args],
        { env: { ...process.env, VNODE_TRACE_FILE: trace } });
      return { out: r.stdout.toString(), loaded: existsSync(trace) ? readFileSync(trace, 'utf8') : '' };
    };
    const help = traced('help', ['--help']);
    assert.match(help.out, /Usage: vnode/);
    assert.doesNotMatch(help.loaded, /@kubernetes\/client-node|@alicloud|inquirer|ora\/|yaml\//);
    // the same trace does see the Kubernetes client once a command needs the cluster
    const run = traced('run', ['--kubeconfig', '/nonexistent', 'kubeconfig']);
    assert.match(run.loaded, /@kubernetes\/client-node/);
  });

  it('the quick CommonJS build (help, version) and the full build print the same help', () => {
    const root = path.resolve(import.meta.dirname, '../..');
    const vnode = (args: string[]): string => {
      const r = spawnSync(process.execPath, [path.join(root, 'bin/vnode.js'), ...args], { encoding: 'utf8' });
      assert.equal(r.status, 0, r.stderr);
      return r.stdout;
    };
    const quick = vnode(['--help']);
    assert.match(quick, /Usage: vnode/);
    // --no-color makes argv more than a help flag: the full ES module build answers
    assert.equal(vnode(['--no-color', '--help']), quick);
    assert.equal(vnode([]), quick);
    assert.equal(vnode(['--version']).trim(), vnode(['--no-color', '--version']).trim());
  });

  it('the build leaves a V8 code cache that a plain node process accepts for the quick build', () => {
    const root = path.resolve(import.meta.dirname, '../..');
    // in a child: the test runner's own flags would make V8 refuse any cache
    const r = spawnSync(process.execPath, ['-e', `
      const fs = require('node:fs'), { Script } = require('node:vm'), { wrap } = require('node:module');
      const file = ${JSON.stringify(path.join(root, 'dist/quick.cjs'))};
      const s = new Script(wrap(fs.readFileSync(file, 'utf8')), { filename: file, cachedData: fs.readFileSync(file + '.cache') });
      process.stdout.write(String(s.cachedDataRejected));`], { encoding: 'utf8' });
    // the cache is V8's own: a Node.js of another version (the build's is recorded beside it) rejects it and compiles as usual
    const builder = readFileSync(path.join(root, 'dist/quick.cjs.cache.node'), 'utf8').trim();
    assert.equal(r.stdout, builder === process.version ? 'false' : 'true', r.stderr);
    if (builder !== process.version) assert.equal(spawnSync(process.execPath, [path.join(root, 'bin/vnode.js'), '--version'], { encoding: 'utf8' }).status, 0);
  });

  it('help and version print the same to a pipe, a file and /dev/null (written without process.stdout there)', () => {
    const root = path.resolve(import.meta.dirname, '../..');
    const bin = `"${process.execPath}" "${path.join(root, 'bin/vnode.js')}"`;
    for (const arg of ['--help', '--version']) {
      const piped = spawnSync('bash', ['-c', `${bin} ${arg} | cat`], { encoding: 'utf8' }).stdout;
      const filed = spawnSync('bash', ['-c', `f=$(mktemp); ${bin} ${arg} > "$f"; cat "$f"; rm -f "$f"`], { encoding: 'utf8' }).stdout;
      const nulled = spawnSync('bash', ['-c', `${bin} ${arg} > /dev/null; echo "exit $?"`], { encoding: 'utf8' }).stdout;
      assert.match(piped, arg === '--help' ? /^Usage: vnode \[options\] \[command\]\n/ : /^\d+\.\d+\.\d+\n$/);
      assert.equal(filed, piped, arg);
      assert.equal(nulled, 'exit 0\n', arg);
    }
  });

  it('a reader that closes the pipe early ends vnode quietly, exit 0', () => {
    const root = path.resolve(import.meta.dirname, '../..');
    for (const args of [['--help'], ['status', '--help']]) {
      const r = spawnSync('bash', ['-c', `"${process.execPath}" "${path.join(root, 'bin/vnode.js')}" ${args.join(' ')} | head -c 1 >/dev/null; echo "\${PIPESTATUS[0]}"`], { encoding: 'utf8' });
      assert.equal(r.stdout.trim(), '0', `${args.join(' ')}: ${r.stderr}`);
      assert.doesNotMatch(r.stderr, /EPIPE/);
    }
  });
});
