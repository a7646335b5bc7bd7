// The in-cluster scheduling server's own entry point (dist/webhook.cjs): `serve --tls-dir DIR [--port N] [--listen ADDR] [--mode M]`.
// It is what the vnode-scheduling ConfigMap carries to the official Node.js image, so it loads no SDK and no CLI.
import { parseArgs } from 'node:util';
import { connectCluster } from './cluster/kube.js';
import type { ClusterPort } from './cluster/port.js';
import { SCHEDULING_MODES, type SchedulingMode } from './steps/scheduling/mutation.js';
import { checkPort, serveScheduling } from './steps/scheduling/serve.js';
import { SERVE_PORT } from './steps/scheduling/webhook.js';

async function main(argv: string[]): Promise<number> {
  const { positionals, values } = parseArgs({
    args: argv, allowPositionals: true,
    options: { 'tls-dir': { type: 'string' }, port: { type: 'string', default: String(SERVE_PORT) }, listen: { type: 'string', default: '0.0.0.0' }, mode: { type: 'string' } },
  });
  if (positionals[0] !== 'serve' || !values['tls-dir']) throw new Error('usage: serve --tls-dir DIR [--port N] [--listen ADDR] [--mode vnode|controller]');
  const mode = values.mode as SchedulingMode | undefined;
  if (mode !== undefined && !SCHEDULING_MODES.includes(mode)) throw new Error(`invalid --mode "${mode}": expected ${SCHEDULING_MODES.join(' or ')}`);
  const log = (m: string): void => { process.stderr.write(`${new Date().toISOString()} ${m}\n`); };
  const abort = new AbortController();
  for (const s of ['SIGTERM', 'SIGINT'] as const) process.once(s, () => abort.abort());
  let cluster: Promise<ClusterPort> | undefined;
  await serveScheduling({
    tlsDir: values['tls-dir'], port: checkPort(values.port), listen: values.listen!, mode,
    cluster: () => (cluster ??= connectCluster({ kubeconfig: undefined, context: undefined }, { env: process.env, cwd: process.cwd(), warn: log })),
    info: log, warn: log, signal: abort.signal,
  });
  return 0;
}

main(process.argv.slice(2)).then((code) => { process.exitCode = code; }, (e: unknown) => {
  process.stderr.write(`vnode scheduling server: ${(e as Error).message}\n`);
  process.exitCode = 1;
});
