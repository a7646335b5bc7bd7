import { operationError, VnodeError } from '../errors.js';

interface StatusBody { message?: string; reason?: string; details?: { name?: string; kind?: string } }

function statusOf(e: unknown): { code: number; body: StatusBody } | undefined {
  const x = e as { code?: unknown; body?: unknown };
  if (typeof x?.code !== 'number') return undefined;
  let body: StatusBody = {};
  if (typeof x.body === 'string') { try { body = JSON.parse(x.body) as StatusBody; } catch { body = { message: x.body }; } }
  else if (x.body && typeof x.body === 'object') body = x.body as StatusBody;
  return { code: x.code, body };
}

export function httpCode(e: unknown): number | undefined {
  return statusOf(e)?.code;
}

const NETWORK_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ENOTFOUND', 'EHOSTUNREACH', 'ETIMEDOUT', 'EAI_AGAIN', 'ENETUNREACH', 'UND_ERR_CONNECT_TIMEOUT']);

function networkCode(e: unknown): string | undefined {
  for (let cur: unknown = e, i = 0; cur && i < 5; cur = (cur as { cause?: unknown }).cause, i++) {
    const code = (cur as { code?: unknown }).code;
    if (typeof code === 'string' && (NETWORK_CODES.has(code) || code.startsWith('ERR_TLS') || code.includes('CERT'))) return code;
    const errno = (cur as { errno?: unknown; type?: unknown }).type;
    if (errno === 'system' && typeof code === 'string') return code;
  }
  return undefined;
}

/** Turns a Kubernetes client failure into a one-line typed error: what was attempted, why it failed, what to do. */
export function clusterError(e: unknown, action: string, server: string): VnodeError {
  if (e instanceof VnodeError) return e;
  const st = statusOf(e);
  if (st) {
    const msg = st.body.message ?? st.body.reason ?? `HTTP ${st.code}`;
    if (st.code === 401) {
      return operationError('Unauthorized', `${action}: the API server at ${server} rejected the credentials (401 Unauthorized)`, { hint: 'check the user of this context: its token or certificate may be expired', cause: e });
    }
    if (st.code === 403) {
      return operationError('Forbidden', `${action}: ${msg}`, { hint: 'the identity of this kubeconfig context lacks that permission; use a cluster-admin context', cause: e });
    }
    return operationError(st.body.reason || `Http${st.code}`, `${action}: ${msg}`, { cause: e });
  }
  const net = networkCode(e);
  if (net) {
    return operationError('Unreachable', `${action}: cannot reach the API server at ${server} (${net})`, { hint: 'check that the cluster is running and that --kubeconfig/--context select it', cause: e });
  }
  const m = (e as Error)?.message ?? String(e);
  return operationError('ClusterError', `${action}: ${m.split('\n')[0]}`, { cause: e });
}
