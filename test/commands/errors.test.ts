import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { parse } from 'yaml';
import { runVnode } from '../helpers/run.js';

/** A kubeconfig whose API server nobody answers (port 1 on loopback). */
function unreachable(): { dir: string; file: string } {
  const dir = mkdtempSync(path.join(tmpdir(), 'vnode-err-'));
  const file = path.join(dir, 'config');
  writeFileSync(file, [
    'apiVersion: v1', 'kind: Config', 'current-context: c',
    'clusters: [{name: k, cluster: {server: "https://127.0.0.1:1", insecure-skip-tls-verify: true}}]',
    'users: [{name: u, user: {token: abc}}]', 'contexts: [{name: c, context: {cluster: k, user: u}}]',
  ].join('\n'));
  return { dir, file };
}

describe('errors for scripts and agents: one object on stderr with -o json|yaml', () => {
  it('status -o json against an unreachable cluster: one JSON error object with its code, exit 1; nothing on stdout', async () => {
    const { dir, file } = unreachable();
    const r = await runVnode(['--kubeconfig', file, 'status', '-o', 'json'], { cwd: dir, env: {
      ALIBABA_CLOUD_REGION_ID: 'cn-hangzhou', ALIBABA_CLOUD_ACCESS_KEY_ID: 'LTAI5tNobodyAnswers01', ALIBABA_CLOUD_ACCESS_KEY_SECRET: 'NobodyAnswersNobody0',
      VNODE_ENDPOINT_ECI: '127.0.0.1:1', VNODE_ENDPOINT_CS: '127.0.0.1:1', VNODE_ENDPOINT_PROTOCOL: 'http',
    } });
    assert.equal(r.code, 1, r.stderr);
    assert.equal(r.stdout, '');
    const lines = r.stderr.trim().split('\n');
    assert.equal(lines.length, 1, r.stderr);
    const o = JSON.parse(lines[0]!) as { error: { code: string; message: string; hint?: string; exitCode: number; retryable: boolean } };
    assert.equal(o.error.code, 'Unreachable');
    assert.equal(o.error.exitCode, 1);
    assert.equal(o.error.retryable, true);
    assert.match(o.error.message, /cannot reach the API server at https:\/\/127\.0\.0\.1:1/);
    assert.ok(o.error.hint);
  });

  it('-o yaml: the same object as YAML; a usage error is not retryable and carries exit 2', async () => {
    const { dir, file } = unreachable();
    const r = await runVnode(['--kubeconfig', file, 'cost', '--namespace', 'Bad_NS', '-o', 'yaml'], { cwd: dir });
    assert.equal(r.code, 2, r.stderr);
    const o = parse(r.stderr) as { error: { code: string; exitCode: number; retryable: boolean; message: string } };
    assert.deepEqual([o.error.code, o.error.exitCode, o.error.retryable], ['InvalidNamespace', 2, false]);
    assert.match(o.error.message, /invalid --namespace "Bad_NS"/);
  });
});
