import { readFileSync, unwatchFile, watchFile } from 'node:fs';
import path from 'node:path';
import type { ClusterPort } from '../../cluster/port.js';
import { usageError } from '../../errors.js';
import { untilAborted } from '../../util/sleep.js';
import type { SchedulingMode } from './mutation.js';

export interface ServeOptions {
  tlsDir: string;
  port: number;
  listen: string;
  mode: SchedulingMode | undefined;
  cluster: () => Promise<ClusterPort>;
  info: (m: string) => void;
  warn: (m: string) => void;
  signal: AbortSignal;
}

function readPair(dir: string): { cert: string; key: string } {
  try {
    return { cert: readFileSync(path.join(dir, 'tls.crt'), 'utf8'), key: readFileSync(path.join(dir, 'tls.key'), 'utf8') };
  } catch (e) {
    throw usageError('TlsUnreadable', `cannot read tls.crt and tls.key in --tls-dir ${dir}: ${(e as NodeJS.ErrnoException).code ?? 'unreadable'}`,
      'mount Secret kube-system/vnode-scheduling-tls there (vnode scheduling enable creates it)');
  }
}

export function checkPort(raw: unknown): number {
  const port = Number(raw);
  if (!/^\d+$/.test(String(raw)) || port > 65535) throw usageError('InvalidPort', `invalid --port "${String(raw)}": expected 0-65535`);
  return port;
}

/** The scheduling server until the signal: webhook, burst controller, and a certificate that is reloaded when its Secret volume changes. */
export async function serveScheduling(opts: ServeOptions): Promise<void> {
  const pair = readPair(opts.tlsDir);
  const { startWebhookServer } = await import('./server.js');
  const server = await startWebhookServer({ host: opts.listen, port: opts.port, ...pair, cluster: opts.cluster, log: opts.warn, ...(opts.mode ? { mode: opts.mode } : {}) });
  opts.info(`vnode scheduling server listening on ${opts.listen}:${server.port}${opts.mode ? `, bursting to ${opts.mode} virtual nodes` : ''}`);
  // a Secret volume is updated in place (its ..data link): pick up a renewed certificate without a restart
  const file = path.join(opts.tlsDir, 'tls.crt');
  watchFile(file, { interval: 10_000 }, () => {
    try { const p = readPair(opts.tlsDir); server.reload(p.cert, p.key); opts.info('certificate reloaded'); } catch (e) { opts.warn((e as Error).message); }
  });
  try {
    await untilAborted(opts.signal);
  } finally {
    unwatchFile(file);
    await server.close();
  }
}
