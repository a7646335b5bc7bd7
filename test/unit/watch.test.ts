import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { connectCluster } from '../../src/cluster/kube.js';

/** An HTTP endpoint that lists pods fine and refuses every watch (as an identity with list but not watch rights sees it). */
describe('watchList when the watch keeps failing', () => {
  let server: Server;
  let kubeconfig: string;
  const hits = { list: 0, watch: 0 };
  let listStatus = 200;

  before(async () => {
    server = createServer((req, res) => {
      const url = new URL(req.url!, 'http://x');
      res.setHeader('Content-Type', 'application/json');
      if (url.pathname === '/api/v1') {
        res.end(JSON.stringify({ kind: 'APIResourceList', groupVersion: 'v1', resources: [{ name: 'pods', namespaced: true, kind: 'Pod', verbs: ['list', 'watch'] }] }));
      } else if (url.pathname === '/api/v1/pods' && url.searchParams.get('watch') === 'true') {
        hits.watch++;
        res.statusCode = 403;
        res.end(JSON.stringify({ kind: 'Status', status: 'Failure', reason: 'Forbidden', code: 403 }));
      } else if (url.pathname === '/api/v1/pods') {
        hits.list++;
        res.statusCode = listStatus;
        res.end(JSON.stringify(listStatus === 200
          ? { kind: 'PodList', apiVersion: 'v1', metadata: { resourceVersion: '7' }, items: [{ metadata: { name: 'p', namespace: 'default', uid: 'u1' } }] }
          : { kind: 'Status', status: 'Failure', reason: 'Forbidden', message: 'pods is forbidden', code: listStatus }));
      } else {
        res.statusCode = 404;
        res.end('{}');
      }
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const dir = mkdtempSync(path.join(tmpdir(), 'vnode-watch-'));
    kubeconfig = path.join(dir, 'config');
    writeFileSync(kubeconfig, `apiVersion: v1
kind: Config
clusters: [{name: c, cluster: {server: "http://127.0.0.1:${(server.address() as AddressInfo).port}", insecure-skip-tls-verify: true}}]
users: [{name: u, user: {token: t}}]
contexts: [{name: x, context: {cluster: c, user: u}}]
current-context: x
`);
  });
  after(() => { server.close(); });

  it('lists again at a bounded pace instead of retrying the watch in a busy loop, and fails when the list fails', async () => {
    const cluster = await connectCluster({ kubeconfig, context: undefined }, { env: {}, cwd: '/' });
    const stop = new AbortController();
    const added: string[] = [];
    const watching = cluster.watchList('v1', 'Pod', {}, (type, o) => { if (type === 'ADDED') added.push(o.metadata.name!); }, stop.signal)
      .then(() => undefined, (e: unknown) => e);
    await new Promise((r) => setTimeout(r, 1500));
    stop.abort();
    assert.equal(await watching, undefined);
    assert.ok(hits.watch >= 2, `the watch should have been tried again (${hits.watch})`);
    assert.ok(hits.watch <= 5, `at most one watch per ~500 ms, not a busy loop (${hits.watch} in 1.5 s)`);
    assert.equal(hits.list, hits.watch, 'each failed watch is followed by a fresh list');
    assert.equal(added[0], 'p');

    listStatus = 403;
    await assert.rejects(cluster.watchList('v1', 'Pod', {}, () => {}, new AbortController().signal), /forbidden/i);
  });
});
