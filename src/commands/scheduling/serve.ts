import { readFileSync, unwatchFile, watchFile } from 'node:fs';
import path from 'node:path';
import type { Command } from 'commander';
import { usageError } from '../../errors.js';
import { SERVE_PORT } from '../../steps/scheduling/webhook.js';
import { untilAborted } from '../../util/sleep.js';
import type { CommandModule } from '../registry.js';

function readPair(dir: string): { cert: string; key: string } {
  try {
    return { cert: readFileSync(path.join(dir, 'tls.crt'), 'utf8'), key: readFileSync(path.join(dir, 'tls.key'), 'utf8') };
  } catch (e) {
    throw usageError('TlsUnreadable', `cannot read tls.crt and tls.key in --tls-dir ${dir}: ${(e as NodeJS.ErrnoException).code ?? 'unreadable'}`,
      'mount Secret kube-system/vnode-scheduling-tls there (vnode scheduling enable creates it)');
  }
}

const command: CommandModule = {
  configure(cmd: Command) {
    cmd.description('Run the scheduling webhook server (what the vnode-scheduling Deployment runs; or outside the cluster with ' +
      '`scheduling enable --webhook-url`). Serves HTTPS with tls.crt/tls.key from --tls-dir and reloads them when they change; ' +
      'reads Nodes and writes Events as its ServiceAccount (in a pod) or the kubeconfig.')
      .requiredOption('--tls-dir <dir>', 'directory with tls.crt and tls.key (the vnode-scheduling-tls Secret)')
      .option('--port <port>', 'HTTPS port', String(SERVE_PORT))
      .option('--listen <address>', 'address to listen on', '0.0.0.0');
  },
  async run(ctx, _args, raw) {
    const port = Number(raw.port);
    if (!Number.isInteger(port) || port < 0 || port > 65535) throw usageError('InvalidPort', `invalid --port "${String(raw.port)}": expected 0-65535`);
    const dir = path.resolve(ctx.cwd, String(raw.tlsDir));
    const pair = readPair(dir);
    const cluster = await ctx.cluster();
    const { startWebhookServer } = await import('../../steps/scheduling/server.js');
    const server = await startWebhookServer({ host: String(raw.listen), port, ...pair, cluster: () => Promise.resolve(cluster), log: (m) => ctx.out.warn(m) });
    ctx.out.info(`vnode scheduling webhook listening on ${String(raw.listen)}:${server.port}`);
    // a Secret volume is updated in place: pick up a renewed certificate without a restart
    const file = path.join(dir, 'tls.crt');
    watchFile(file, { interval: 10_000 }, () => {
      try { const p = readPair(dir); server.reload(p.cert, p.key); ctx.out.info('certificate reloaded'); } catch (e) { ctx.out.warn((e as Error).message); }
    });
    try {
      await untilAborted(ctx.signal);
    } finally {
      unwatchFile(file);
      await server.close();
    }
  },
};

export default command;
