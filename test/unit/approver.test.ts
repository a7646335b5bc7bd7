import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { describe, it } from 'node:test';
import type { V1CertificateSigningRequest } from '@kubernetes/client-node';
import { parseCsrPem, recognize } from '../../src/sandbox/approver.js';

function csrPem(subj: string, san?: string): string {
  const args = ['req', '-new', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', '/dev/null', '-subj', subj];
  if (san) args.push('-addext', `subjectAltName=${san}`);
  return execFileSync('openssl', args, { stdio: ['ignore', 'pipe', 'ignore'] }).toString();
}

function csr(pem: string, over: Partial<V1CertificateSigningRequest['spec']> = {}): V1CertificateSigningRequest {
  return {
    spec: {
      request: Buffer.from(pem).toString('base64'), signerName: 'kubernetes.io/kube-apiserver-client',
      usages: ['client auth', 'digital signature', 'key encipherment'], username: 'system:bootstrap:abcdef', ...over,
    },
  };
}

describe('vnode-approver rule', () => {
  const good = csrPem('/O=system:vnodes/CN=system:vnode:cn-hangzhou.vnd-1');

  it('parses subject and SANs of a CSR', () => {
    assert.deepEqual(parseCsrPem(good), { commonName: 'system:vnode:cn-hangzhou.vnd-1', organizations: ['system:vnodes'], sanCount: 0 });
    assert.equal(parseCsrPem(csrPem('/O=system:vnodes/CN=system:vnode:x', 'DNS:evil.example.com,IP:1.2.3.4')).sanCount, 2);
  });

  it('recognizes a virtual node CSR; nodeclient for a bootstrap requester, selfnodeclient for renewal', () => {
    assert.deepEqual(recognize(csr(good)), { ok: true, subresource: 'nodeclient' });
    assert.deepEqual(recognize(csr(good, { username: 'system:vnode:cn-hangzhou.vnd-1' })), { ok: true, subresource: 'selfnodeclient' });
  });

  it('rejects anything else', () => {
    assert.equal(recognize(csr(csrPem('/O=system:nodes/CN=system:node:n1'))).ok, false);
    assert.equal(recognize(csr(csrPem('/O=system:vnodes/O=system:masters/CN=system:vnode:x'))).ok, false);
    assert.equal(recognize(csr(csrPem('/O=system:vnodes/CN=admin'))).ok, false);
    assert.equal(recognize(csr(csrPem('/O=system:vnodes/CN=system:vnode:x', 'DNS:a.example.com'))).ok, false);
    assert.equal(recognize(csr(good, { signerName: 'kubernetes.io/kubelet-serving' })).ok, false);
    assert.equal(recognize(csr(good, { usages: ['client auth', 'digital signature', 'key encipherment', 'server auth'] })).ok, false);
    assert.equal(recognize(csr(good, { usages: ['client auth'] })).ok, false);
  });
});
