import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import type { KubeObject } from '../../src/cluster/port.js';
import { FakeCluster } from '../helpers/fake-cluster.js';
import { runVnode } from '../helpers/run.js';

const SECRET = 'AbCdEfGhIjKlMnOpQrStUvWxYz0123';

describe('exit status when Ctrl-C arrives (in-memory cluster)', () => {
  it('after the last change was made: the work is done, so exit 0 with the full result', async () => {
    const cluster = new FakeCluster();
    const ctl = new AbortController();
    cluster.events.on('change', (o: KubeObject) => { if (o.metadata.name === 'alibaba-addon-secret') ctl.abort(); });
    const r = await runVnode(['secret', 'create', '--access-key-id', 'LTAI5tExample000001', '--no-verify'], {
      stdin: `${SECRET}\n`, signal: ctl.signal, deps: { connectCluster: async () => cluster },
    });
    assert.ok(ctl.signal.aborted, 'the interrupt did arrive');
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /Wrote Secret kube-system\/alibaba-addon-secret with AccessKey LTAI5tExample000001/);
    assert.ok(!r.stdout.includes(SECRET) && !r.stderr.includes(SECRET));
  });

  it('before the work is done: the next step does not start, exit 130, and nothing more is created', async () => {
    const cluster = new FakeCluster();
    const ctl = new AbortController();
    ctl.abort();
    const cwd = mkdtempSync(path.join(tmpdir(), 'vnode-cmd-'));
    const r = await runVnode(['kubeconfig'], { cwd, signal: ctl.signal, deps: { connectCluster: async () => cluster } });
    assert.equal(r.code, 130);
    assert.match(r.stderr, /interrupted/);
    assert.match(r.stderr, /run the same command again to finish/);
    assert.equal(cluster.writes, 0);
  });
});
