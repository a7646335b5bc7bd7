import path from 'node:path';
import { SCHEDULING_MODES } from '../../steps/scheduling/mutation.js';
import { checkPort, serveScheduling } from '../../steps/scheduling/serve.js';
import { SERVE_PORT } from '../../steps/scheduling/webhook.js';
import { defineCommand, flag, read } from '../define.js';
import { READ, WRITE } from '../contract.js';

export default defineCommand({
  description: 'Run the scheduling server outside the cluster (with `scheduling enable --webhook-url`): the admission webhook, and with --mode the '
    + 'burst controller of normal-node-prefer selectors. Serves HTTPS with tls.crt/tls.key from --tls-dir and reloads them when they change; '
    + 'acts as the kubeconfig\'s user. In the cluster the same code runs from the vnode-scheduling ConfigMap.',
  flags: {
    tlsDir: flag('--tls-dir <dir>', 'directory with tls.crt and tls.key (the vnode-scheduling-tls Secret)', read.given, { mandatory: true }),
    port: flag('--port <port>', 'HTTPS port', checkPort, { default: String(SERVE_PORT) }),
    listen: flag('--listen <address>', 'address to listen on', read.given, { default: '0.0.0.0' }),
    mode: flag('--mode <mode>', 'burst normal-node-prefer pods to these virtual nodes', (raw) => raw as 'vnode' | 'controller' | undefined, { choices: SCHEDULING_MODES }),
  },
  mutates: false,
  ownsInterrupt: true,
  contract: {
    cloud: { always: [] },
    kubernetes: [{ group: '', resources: ['pods', 'nodes', 'namespaces', 'events'], verbs: [...READ, 'create', 'patch'] }, { group: 'eci.aliyun.com', resources: ['selectors'], verbs: READ },
      { group: '', resources: ['configmaps'], verbs: [...READ, 'create', 'patch'] }, { group: 'coordination.k8s.io',
      resources: ['leases'], verbs: WRITE }],
    risk: 'change',
    converges: true,
  },
  async run(ctx, o) {
    const cluster = await ctx.cluster();
    await serveScheduling({
      tlsDir: path.resolve(ctx.cwd, o.tlsDir), port: o.port, listen: o.listen, mode: o.mode,
      cluster: () => Promise.resolve(cluster), info: (m) => ctx.out.info(m), warn: (m) => ctx.out.warn(m), signal: ctx.signal,
    });
  },
});
