import { Option, type Command } from 'commander';
import path from 'node:path';
import { SCHEDULING_MODES } from '../../steps/scheduling/mutation.js';
import { checkPort, serveScheduling } from '../../steps/scheduling/serve.js';
import { SERVE_PORT } from '../../steps/scheduling/webhook.js';
import type { CommandModule } from '../registry.js';

const command: CommandModule = {
  configure(cmd: Command) {
    cmd.description('Run the scheduling server outside the cluster (with `scheduling enable --webhook-url`): the admission webhook, and with --mode the ' +
      'burst controller of normal-node-prefer selectors. Serves HTTPS with tls.crt/tls.key from --tls-dir and reloads them when they change; ' +
      'acts as the kubeconfig\'s user. In the cluster the same code runs from the vnode-scheduling ConfigMap.')
      .requiredOption('--tls-dir <dir>', 'directory with tls.crt and tls.key (the vnode-scheduling-tls Secret)')
      .option('--port <port>', 'HTTPS port', String(SERVE_PORT))
      .option('--listen <address>', 'address to listen on', '0.0.0.0')
      .addOption(new Option('--mode <mode>', 'burst normal-node-prefer pods to these virtual nodes').choices(SCHEDULING_MODES));
  },
  async run(ctx, _args, raw) {
    const port = checkPort(raw.port);
    const cluster = await ctx.cluster();
    await serveScheduling({
      tlsDir: path.resolve(ctx.cwd, String(raw.tlsDir)), port, listen: String(raw.listen), mode: raw.mode as 'vnode' | 'controller' | undefined,
      cluster: () => Promise.resolve(cluster), info: (m) => ctx.out.info(m), warn: (m) => ctx.out.warn(m), signal: ctx.signal,
    });
  },
};

export default command;
