import { podSpec } from './cloud/pricing.js';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { CertificatesV1Api, CoordinationV1Api, CoreV1Api, KubeConfig, VersionApi, Watch } from '@kubernetes/client-node';
import { parse, stringify } from 'yaml';
import { poolConnections } from '../cluster/kube.js';
import { pause as sleep } from '../util/sleep.js';
import { approveVnodeCsr } from './approver.js';
import { messageOf, registerNode, renewLease, serveNode, type KubeletEvents, type NodeSpec, type PodProvider } from './kubelet.js';
import type { EciHooks } from './cloud/eci.js';
import { allocateIp, iso, randomId, releaseDue, type CloudState, type EventRec, type VirtualNodeRec } from './cloud/state.js';

const run = promisify(execFile);

export interface SimulatorOptions {
  state: CloudState;
  /** How long a VNode stays Pending before it connects (the real service takes tens of seconds). */
  readyDelayMs: number;
  /** How long ECI keeps an instance (Terminating) after its pod is gone before releasing it. */
  releaseDelayMs?: number;
  /** Admin kubeconfig of the sandbox cluster, used only to get a token of vnode-approver's ServiceAccount (TokenRequest) and act as it. */
  adminKubeconfig?: string;
  log?: (m: string) => void;
}

function codeOf(e: unknown): string | undefined {
  for (let c: unknown = e, i = 0; c && i < 5; c = (c as { cause?: unknown }).cause, i++) {
    const code = (c as { code?: unknown }).code;
    if (typeof code === 'string') return code;
  }
  return undefined;
}

/** The message the real VNode reports when it cannot reach or use the API server (Go's net/http wording). */
export function versionFailure(server: string, e: unknown): string {
  const u = new URL(server);
  const hostPort = `${u.hostname}:${u.port || '443'}`;
  const get = `Get "${server.replace(/\/$/, '')}/version?timeout=32s"`;
  const status = (e as { code?: unknown }).code;
  if (status === 401) return `failed to get kubernetes server version, Unauthorized`;
  if (status === 403) return `failed to get kubernetes server version, the server has asked for the client to provide credentials`;
  switch (codeOf(e)) {
    case 'ECONNREFUSED': return `failed to get kubernetes server version, ${get}: dial tcp ${hostPort}: connect: connection refused`;
    case 'ENOTFOUND': case 'EAI_AGAIN': return `failed to get kubernetes server version, ${get}: dial tcp: lookup ${u.hostname} on 100.100.2.136:53: no such host`;
    case 'ETIMEDOUT': case 'UND_ERR_CONNECT_TIMEOUT': return `failed to get kubernetes server version, ${get}: net/http: request canceled (Client.Timeout exceeded while awaiting headers)`;
    case 'SELF_SIGNED_CERT_IN_CHAIN': case 'UNABLE_TO_VERIFY_LEAF_SIGNATURE': case 'DEPTH_ZERO_SELF_SIGNED_CERT':
      return `failed to get kubernetes server version, ${get}: x509: certificate signed by unknown authority`;
    default: return `failed to get kubernetes server version, ${get}: ${(e as Error).message?.split('\n')[0] ?? String(e)}`;
  }
}

interface Running {
  abort: AbortController;
  done: Promise<void>;
}

/**
 * Plays the cloud side of each virtual node, through the API server only and with the credentials the real VNode
 * would have: connect, TLS-bootstrap if asked, register the Node, keep its Lease, run the pods bound to it as
 * container groups.
 */
export class VirtualNodeSimulator {
  private readonly running = new Map<string, Running>();
  private stopped = false;
  /** How long ECI keeps an instance after its pod is gone; Infinity: it never releases it (an orphan, for tests). */
  releaseDelayMs: number;

  constructor(private readonly opts: SimulatorOptions) {
    this.releaseDelayMs = opts.releaseDelayMs ?? 0;
  }

  hooks(): EciHooks {
    return {
      virtualNodeCreated: (v) => this.start(v),
      virtualNodeDeleted: (v) => { void this.stop(v.id); },
    };
  }

  /** After a restart: pick up every virtual node that has not failed. */
  resume(): void {
    for (const v of this.opts.state.data.virtualNodes) if (v.status !== 'Failed') this.start(v);
  }

  async stopAll(): Promise<void> {
    this.stopped = true;
    await Promise.all([...this.running.keys()].map((id) => this.stop(id)));
  }

  private async stop(id: string): Promise<void> {
    const r = this.running.get(id);
    if (!r) return;
    this.running.delete(id);
    r.abort.abort();
    await r.done;
  }

  private log(m: string): void {
    this.opts.log?.(`vnode-sim: ${m}`);
  }

  private start(v: VirtualNodeRec): void {
    // a CreateVirtualNode answered after stopAll starts nothing: its lifecycle would outlive the sandbox
    if (this.running.has(v.id) || this.stopped) return;
    const abort = new AbortController();
    const done = this.lifecycle(v.id, abort.signal).catch((e: unknown) => {
      if (!abort.signal.aborted) this.fail(v.id, 'VirtualNodeFailed', `virtual node stopped: ${(e as Error).message}`);
    });
    this.running.set(v.id, { abort, done });
  }

  private node(id: string): VirtualNodeRec | undefined {
    return this.opts.state.data.virtualNodes.find((x) => x.id === id);
  }

  private event(id: string, type: EventRec['Type'], reason: string, message: string): void {
    const v = this.node(id);
    if (!v) return;
    const now = iso(new Date());
    const same = v.events.find((e) => e.Reason === reason && e.Message === message);
    if (same) { same.Count++; same.LastTimestamp = now; } else v.events.push({ Count: 1, FirstTimestamp: now, LastTimestamp: now, Message: message, Name: `${v.id}.${Date.now().toString(16)}`, Reason: reason, Type: type });
    this.opts.state.saveSoon();
  }

  private fail(id: string, reason: string, message: string): void {
    const v = this.node(id);
    if (!v) return;
    v.status = 'Failed';
    this.event(id, 'Warning', reason, message);
    this.log(`${id} failed: ${message}`);
  }

  private async lifecycle(id: string, signal: AbortSignal): Promise<void> {
    await sleep(this.opts.readyDelayMs, signal);
    const v = this.node(id);
    if (!v || signal.aborted) return;
    const nodeName = `${v.regionId}.${v.id}`;
    let kc: KubeConfig;
    let server = '';
    let serverVersion = '';
    try {
      const text = Buffer.from(v.kubeConfig, 'base64').toString('utf8');
      kc = new KubeConfig();
      kc.loadFromString(text);
      poolConnections(kc);
      server = kc.getCurrentCluster()?.server ?? '';
      if (!server) throw new Error('no server in the kubeconfig');
    } catch (e) {
      this.fail(id, 'InvalidKubeConfig', `failed to load kubeconfig: ${(e as Error).message}`);
      return;
    }
    try {
      serverVersion = (await kc.makeApiClient(VersionApi).getCode()).gitVersion;
    } catch (e) {
      this.fail(id, 'VirtualNodeFailed', versionFailure(server, e));
      return;
    }
    if (v.tlsBootstrapEnabled) {
      const bootstrapped = await this.bootstrap(id, kc, nodeName, signal);
      if (!bootstrapped) return;
      kc = bootstrapped;
    }
    const core = kc.makeApiClient(CoreV1Api);
    try {
      await registerNode(core, this.nodeSpec(v, nodeName, serverVersion));
    } catch (e) {
      this.fail(id, 'NodeRegistrationFailed', `failed to register node ${nodeName}: ${messageOf(e)}`);
      return;
    }
    const lease = kc.makeApiClient(CoordinationV1Api);
    try {
      await renewLease(lease, nodeName);
    } catch (e) {
      this.fail(id, 'NodeLeaseFailed', `failed to create lease for ${nodeName}: ${messageOf(e)}`);
      return;
    }
    const cur = this.node(id);
    if (!cur || signal.aborted) return;
    cur.status = 'Ready';
    this.event(id, 'Normal', 'VirtualNodeReady', `virtual node ${nodeName} is ready`);
    this.opts.state.save();
    this.log(`${id} Ready as node ${nodeName}`);
    const events: KubeletEvents = {
      node: (type, reason, message) => this.event(id, type, reason, message),
      pod: (pod, reason, message) => this.event(id, 'Warning', reason, `pod ${pod.metadata?.namespace}/${pod.metadata?.name}: ${message}`),
    };
    await serveNode(kc, nodeName, v.intranetIp, this.provider(id, nodeName), events, signal);
  }

  private nodeSpec(v: VirtualNodeRec, nodeName: string, serverVersion: string): NodeSpec {
    const zone = v.zoneId;
    return {
      name: nodeName, internalIp: v.intranetIp, machineId: v.id, providerId: `alibabacloud://${v.regionId}.${v.id}`, serverVersion,
      labels: {
        type: 'virtual-kubelet', 'k8s.aliyun.com/vnode': 'true', 'kubernetes.io/role': 'agent',
        'beta.kubernetes.io/os': 'linux', 'kubernetes.io/os': 'linux', 'beta.kubernetes.io/arch': 'amd64', 'kubernetes.io/arch': 'amd64',
        'kubernetes.io/hostname': nodeName, 'alpha.service-controller.kubernetes.io/exclude-balancer': 'true',
        'topology.kubernetes.io/region': v.regionId, 'topology.kubernetes.io/zone': zone, 'failure-domain.beta.kubernetes.io/zone': zone,
      },
      taints: [{ key: 'k8s.aliyun.com/vnode', value: 'true', effect: 'NoSchedule' }, ...v.taints.map((t) => ({ key: t.Key, value: t.Value, effect: t.Effect }))],
    };
  }

  /** The VNode lives inside ECI: its container groups are made there directly. */
  private provider(id: string, nodeName: string): PodProvider {
    const state = this.opts.state;
    return {
      create: async (pod) => {
        const v = this.node(id);
        if (!v) throw new Error('the virtual node is gone');
        const ns = pod.metadata!.namespace!;
        const name = pod.metadata!.name!;
        const uid = pod.metadata!.uid!;
        let cg = state.data.containerGroups.find((c) => c.tags.some((t) => t.Key === 'UID' && t.Value === uid));
        if (!cg) {
          cg = {
            id: randomId('eci-', 20), name: `${ns}-${name}`.slice(0, 128), status: 'Running', regionId: v.regionId, zoneId: v.zoneId,
            vSwitchId: v.vSwitchIds[0]!, securityGroupId: v.securityGroupId, creationTime: iso(new Date()),
            intranetIp: allocateIp(state, v.vSwitchIds.find((s) => state.data.vswitches.some((w) => w.id === s && w.zoneId === v.zoneId)) ?? v.vSwitchIds[0]!),
            ...podSpec(pod as Parameters<typeof podSpec>[0]),
            virtualNodeId: v.id,
            tags: [
              { Key: 'ClusterName', Value: v.tags.find((t) => t.Key === 'vnode-cluster')?.Value ?? 'kubernetes' },
              { Key: 'NodeName', Value: nodeName }, { Key: 'NameSpace', Value: ns }, { Key: 'PodName', Value: name }, { Key: 'UID', Value: uid },
            ],
          };
          state.data.containerGroups.push(cg);
          state.saveSoon();
        }
        return { id: cg.id, ip: cg.intranetIp };
      },
      delete: async (pod) => {
        // the pod goes at once; ECI stops and releases its instance some seconds later
        const uid = pod.metadata!.uid!;
        if (this.releaseDelayMs === Infinity) return;
        const at = Date.now() + this.releaseDelayMs;
        for (const c of state.data.containerGroups) {
          if (c.releaseAt === undefined && c.tags.some((t) => t.Key === 'UID' && t.Value === uid)) { c.status = 'Terminating'; c.releaseAt = at; }
        }
        releaseDue(state);
        state.saveSoon();
      },
    };
  }

  /** TLS bootstrap: a CSR for CN=system:vnode:<node>, O=system:vnodes with the bootstrap token, then the signed certificate. */
  private async bootstrap(id: string, kc: KubeConfig, nodeName: string, signal: AbortSignal): Promise<KubeConfig | undefined> {
    const dir = mkdtempSync(path.join(tmpdir(), 'vnode-csr-'));
    try {
      const { stdout: csrPem } = await run('openssl', ['req', '-new', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes',
        '-keyout', path.join(dir, 'key.pem'), '-subj', `/O=system:vnodes/CN=system:vnode:${nodeName}`]);
      const keyPem = readFileSync(path.join(dir, 'key.pem'));
      const certs = kc.makeApiClient(CertificatesV1Api);
      const csrName = `vnode-${id}-${Date.now().toString(36)}`;
      try {
        await certs.createCertificateSigningRequest({
          body: {
            apiVersion: 'certificates.k8s.io/v1', kind: 'CertificateSigningRequest', metadata: { name: csrName },
            spec: { request: Buffer.from(csrPem).toString('base64'), signerName: 'kubernetes.io/kube-apiserver-client', usages: ['digital signature', 'key encipherment', 'client auth'] },
          },
        });
      } catch (e) {
        this.fail(id, 'TLSBootstrapFailed', `failed to create certificate signing request: ${messageOf(e)}`);
        return undefined;
      }
      this.event(id, 'Normal', 'CSRCreated', `certificate signing request ${csrName} created`);
      if (this.opts.adminKubeconfig) await this.actAsApprover(id, csrName);
      const deadline = Date.now() + 5 * 60_000;
      let certB64: string | undefined;
      while (!certB64 && !signal.aborted && Date.now() < deadline) {
        const list = await certs.listCertificateSigningRequest({ fieldSelector: `metadata.name=${csrName}` });
        const csr = list.items[0];
        if (csr?.status?.conditions?.some((c) => c.type === 'Denied' || c.type === 'Failed')) {
          this.fail(id, 'TLSBootstrapFailed', `certificate signing request ${csrName} was denied`);
          return undefined;
        }
        certB64 = csr?.status?.certificate;
        if (!certB64) await this.waitForCsrChange(kc, csrName, list.metadata?.resourceVersion, signal);
      }
      if (!certB64) {
        if (!signal.aborted) this.fail(id, 'TLSBootstrapFailed', `certificate signing request ${csrName} was not approved (is vnode-approver running?)`);
        return undefined;
      }
      const cfg = parse(kc.exportConfig()) as { users: { name: string; user: Record<string, string> }[] };
      for (const u of cfg.users) u.user = { 'client-certificate-data': certB64, 'client-key-data': keyPem.toString('base64') };
      const next = new KubeConfig();
      next.loadFromString(stringify(cfg));
      poolConnections(next);
      return next;
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }

  private waitForCsrChange(kc: KubeConfig, name: string, rv: string | undefined, signal: AbortSignal): Promise<void> {
    return new Promise((resolve) => {
      let ctl: AbortController | undefined;
      const finish = (): void => { clearTimeout(t); signal.removeEventListener('abort', finish); ctl?.abort(); resolve(); };
      const t = setTimeout(finish, 30_000);
      signal.addEventListener('abort', finish, { once: true });
      new Watch(kc).watch('/apis/certificates.k8s.io/v1/certificatesigningrequests', { fieldSelector: `metadata.name=${name}`, resourceVersion: rv }, () => finish(), () => finish())
        .then((c) => { ctl = c; }, () => finish());
    });
  }

  /** vnode-approver's part: its pod cannot run here, so the sandbox acts with its ServiceAccount's token and its rule. */
  private async actAsApprover(id: string, csrName: string): Promise<void> {
    try {
      const admin = new KubeConfig();
      admin.loadFromFile(this.opts.adminKubeconfig!);
      const core = admin.makeApiClient(CoreV1Api);
      // what the pod's projected token would be: TokenRequest (served from 1.20 on; no token Secrets from 1.24)
      const tr = await core.createNamespacedServiceAccountToken({
        name: 'vnode-approver', namespace: 'kube-system',
        body: { apiVersion: 'authentication.k8s.io/v1', kind: 'TokenRequest', spec: { audiences: [], expirationSeconds: 600 } },
      });
      const token = tr.status?.token;
      if (!token) throw new Error('TokenRequest for kube-system/vnode-approver returned no token');
      const cluster = admin.getCurrentCluster()!;
      const approver = new KubeConfig();
      approver.loadFromOptions({
        clusters: [{ name: 'c', server: cluster.server, caData: cluster.caData, caFile: cluster.caFile, skipTLSVerify: false }],
        users: [{ name: 'vnode-approver', token }], contexts: [{ name: 'c', cluster: 'c', user: 'vnode-approver' }], currentContext: 'c',
      });
      const outcome = await approveVnodeCsr(approver, csrName);
      this.log(`vnode-approver: ${csrName} ${outcome}`);
    } catch (e) {
      this.event(id, 'Warning', 'ApproverFailed', `vnode-approver could not handle ${csrName}: ${messageOf(e)}`);
    }
  }


}
