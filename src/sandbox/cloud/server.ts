import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { csService, type CsHooks } from './cs.js';
import { eciService, type EciHooks, type GoneDeletes } from './eci.js';
import { ApiError } from './errors.js';
import { faultsFor, type FaultSpec } from './faults.js';
import { ecsService, vpcService } from './network.js';
import { isAllowed } from './policies.js';
import { ramService } from './ram.js';
import { matchRoute, type Caller, type Service } from './service.js';
import { queryPairs, verifyRpcV1, verifyV3, CLOCK_SKEW_MS, type SignedRequest } from './signature.js';
import { resourceManagerService } from './resourcemanager.js';
import { stsService } from './sts.js';
import { accountOf, CloudState, type AccountKind } from './state.js';

export interface EmulatorOptions {
  port?: number;
  stateFile?: string;
  faults?: FaultSpec;
  hooks?: EciHooks;
  /** What the Container Service does in the registered cluster (the sandbox's add-on manager). */
  csHooks?: CsHooks;
  /** For tests of the time window. */
  now?: () => number;
  /** How long a ClientToken is remembered (default IDEMPOTENCY_WINDOW_MS). */
  idempotencyWindowMs?: number;
  /** Deleting what is already gone: ECI does not document the answer, so either (default: a NotFound error). */
  goneDeletes?: GoneDeletes;
  log?: (line: string) => void;
  /** Each signed request as it arrived: method, path, query and body (tests check the SDK's wire format with it). */
  onWire?: (w: { action: string; method: string; path: string; query: Record<string, string>; body: unknown }) => void;
  /** Called after every answered request (tests watch invariants with it). */
  onRequest?: (action: string, code: string, state: CloudState) => void;
  /** Actions answered as a removed API would be (`sandbox up --retired DescribeExternalAgent`). */
  retired?: string[];
  /** A new state file's account: `new` has no service activated and no service role (default `ready`). */
  account?: AccountKind;
}

export interface CloudEmulator {
  port: number;
  endpoint: string;
  state: CloudState;
  faults: FaultSpec;
  /** Actions answered as removed APIs; tests may change it. */
  retired: Set<string>;
  /** Counts of answers by action and code ("OK" for success), for tests and logs. */
  stats: Map<string, number>;
  /** Each signed call as RAM judged it: its RAM action, the RAM user (null: the account) and whether it was allowed. */
  calls: { action: string; user: string | null; allowed: boolean }[];
  /** Environment that points vnode and scripts using the SDKs at the emulator. */
  env(): Record<string, string>;
  stop(): Promise<void>;
}

/** What a throttled answer asks the client to wait (x-acs-retry-after, ms). */
export const RETRY_AFTER_MS = 200;

function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

/** An HTTP server that the unmodified Alibaba Cloud SDKs talk to, answering like RAM, ECI, VPC, ECS and the Container Service. */
export async function startCloudEmulator(opts: EmulatorOptions = {}): Promise<CloudEmulator> {
  const state = CloudState.open(opts.stateFile, opts.account);
  const services: Service[] = [ramService, eciService(opts.hooks, opts.idempotencyWindowMs, opts.goneDeletes), vpcService, ecsService, csService(opts.csHooks), resourceManagerService, stsService];
  const byVersion = new Map(services.map((s) => [s.version, s]));
  const nonces = new Map<string, number>();
  const now = opts.now ?? Date.now;
  const faults = opts.faults ?? new Map();
  const retired = new Set(opts.retired ?? []);
  const stats = new Map<string, number>();
  const calls: CloudEmulator['calls'] = [];
  const count = (action: string, code: string): void => {
    const k = `${action} ${code}`;
    stats.set(k, (stats.get(k) ?? 0) + 1);
    opts.onRequest?.(action, code, state);
  };

  const send = (res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void => {
    const text = JSON.stringify(body);
    res.writeHead(status, { 'content-type': 'application/json;charset=utf-8', 'content-length': Buffer.byteLength(text), ...headers });
    res.end(text);
  };

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const requestId = randomUUID().toUpperCase();
    const body = await readBody(req);
    const url = req.url ?? '/';
    const params = new Map(queryPairs(url));
    if (body.length > 0 && String(req.headers['content-type'] ?? '').startsWith('application/x-www-form-urlencoded')) {
      for (const [k, v] of new URLSearchParams(body.toString())) params.set(k, v);
    }
    const v3 = typeof req.headers.authorization === 'string';
    const action = (v3 ? String(req.headers['x-acs-action'] ?? '') : params.get('Action')) ?? '';
    const version = (v3 ? String(req.headers['x-acs-version'] ?? '') : params.get('Version')) ?? '';
    const service = byVersion.get(version);
    const host = service?.host ?? 'aliyuncs.com';
    const roa = service?.routes !== undefined;
    const fail = (e: ApiError): void => {
      count(action, e.code);
      opts.log?.(`${action} -> ${e.status} ${e.code}`);
      const retryAfter: Record<string, string> = e.code.startsWith('Throttling') ? { 'x-acs-retry-after': String(RETRY_AFTER_MS) } : {};
      // ROA services (CS) answer in lower case, as the SDK reads them
      if (roa) send(res, e.status, { code: e.code, message: e.message, requestId, ...e.extra }, retryAfter);
      else send(res, e.status, { RequestId: requestId, HostId: host, Code: e.code, Message: e.message, Recommend: `https://api.aliyun.com/troubleshoot?q=${encodeURIComponent(e.code)}&product=${service?.code ?? ''}`, ...e.extra }, retryAfter);
    };
    try {
      // ASSUMPTION: a retired API answers as an unknown one does (the gateway's InvalidAction.NotFound, 404)
      if (!service || !service.handlers[action] || retired.has(action)) {
        throw new ApiError(404, 'InvalidAction.NotFound', `Specified api is not found, please check your url and method.`);
      }
      let pathParams: Record<string, string> = {};
      let json: unknown;
      if (roa) {
        const route = service.routes![action];
        const matched = route ? matchRoute(route, req.method ?? '', url.split('?')[0]!) : undefined;
        if (!matched) throw new ApiError(404, 'InvalidAction.NotFound', `Specified api is not found, please check your url and method.`);
        pathParams = matched;
        if (body.length > 0) {
          try { json = JSON.parse(body.toString('utf8')); } catch { throw new ApiError(400, 'InvalidParameter', 'The request body is not valid JSON.'); }
        }
      }
      const signed: SignedRequest = { method: req.method ?? 'POST', url, headers: req.headers, body };
      const secretOf = (id: string): string | undefined => state.data.accessKeys.find((k) => k.id === id && k.status === 'Active')?.secret;
      const t = now();
      const verified = v3 ? verifyV3(signed, secretOf, t) : verifyRpcV1(signed, params, secretOf, t);
      for (const [n, exp] of nonces) if (exp < t) nonces.delete(n);
      if (nonces.has(verified.nonce)) throw new ApiError(400, 'SignatureNonceUsed', 'Specified signature nonce was used already.');
      nonces.set(verified.nonce, t + CLOCK_SKEW_MS);
      for (const k of ['Signature', 'SignatureMethod', 'SignatureVersion', 'SignatureNonce', 'Timestamp', 'AccessKeyId', 'Action', 'Version', 'Format']) if (!v3) params.delete(k);

      opts.onWire?.({ action, method: req.method ?? '', path: url.split('?')[0]!, query: Object.fromEntries(queryPairs(url)), body: json });
      const rates = faultsFor(faults, action);
      const lose = rates !== undefined && rates.lost > 0 && Math.random() < rates.lost;
      if (rates) {
        if (rates.latencyMs > 0) await new Promise((r) => setTimeout(r, rates.latencyMs));
        const roll = Math.random();
        let edge = rates.reset;
        if (roll < edge) { count(action, 'reset'); req.socket.destroy(); return; }
        edge += rates.throttle;
        if (roll < edge) throw new ApiError(400, 'Throttling.User', 'Request was denied due to user flow control.');
        edge += rates.http500;
        if (roll < edge) throw new ApiError(500, 'InternalError', 'The request processing has failed due to some unknown error, exception or failure.');
        edge += rates.http503;
        if (roll < edge) throw new ApiError(503, 'ServiceUnavailable', 'The request has failed due to a temporary failure of the server.');
      }

      const key = state.data.accessKeys.find((k) => k.id === verified.accessKeyId)!;
      const caller: Caller = { accessKeyId: key.id, user: key.user };
      const authAction = service.authActions?.[action] ?? `${service.code}:${action}`;
      const allowed = caller.user === null || service.open?.includes(action) === true || isAllowed(state.data, caller.user, authAction, service.conditionKeys?.[action]?.(params) ?? {});
      calls.push({ action: authAction, user: caller.user, allowed });
      // a sandbox may run for days: the newest calls are what tests read
      if (calls.length > 20_000) calls.splice(0, calls.length - 10_000);
      if (!allowed) {
        const empty = service.emptyWhenDenied?.[action];
        if (empty) { count(action, 'empty'); opts.log?.(`${action} -> 200 (empty: not allowed)`); send(res, 200, { RequestId: requestId, ...empty() }); return; }
        throw new ApiError(state.data.deniedStatus ?? 403, service.deniedCode, service.code === 'cs'
          ? `RAM policy Forbidden for action ${authAction}`
          : service.code === 'ram'
          ? 'You are not authorized to do this action. You should be authorized by RAM.'
          : 'User not authorized to operate on the specified resource, or this API doesn\'t support RAM.', {
          AccessDeniedDetail: { AuthAction: authAction, AuthPrincipalType: 'SubUser', AuthPrincipalDisplayName: caller.user, NoPermissionType: 'ImplicitDeny', PolicyType: 'AccountLevelIdentityBasedPolicy' },
        });
      }
      const gate = service.activation;
      if (gate && !accountOf(state).services[gate.service] && !gate.openActions.includes(action)) throw gate.refuse(action, state);
      const refused = service.precondition?.(state, action);
      if (refused) throw refused;
      // a read saves what it changes itself (saveSoon): comparing the whole state around it costs more than the read
      const read = /^(Describe|List|Get|Check)/.test(action);
      const before = read ? '' : JSON.stringify(state.data);
      const result = service.handlers[action]!({ params, caller, state, now: new Date(t), requestId, path: pathParams, body: json });
      if (!read && JSON.stringify(state.data) !== before) state.save();
      if (lose) { count(action, 'lost'); req.socket.destroy(); return; }
      count(action, 'OK');
      opts.log?.(`${action} -> 200`);
      send(res, 200, roa || Array.isArray(result) ? result : { RequestId: requestId, ...result });
    } catch (e) {
      if (e instanceof ApiError) fail(e);
      else fail(new ApiError(500, 'InternalError', `The request processing has failed due to some unknown error: ${(e as Error).message}`));
    }
  };

  const server: Server = createServer((req, res) => { void handle(req, res); });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, '127.0.0.1', () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  const endpoint = `127.0.0.1:${port}`;
  return {
    port, endpoint, state, faults, retired, stats, calls,
    env() {
      const k = state.operatorKey;
      return {
        ALIBABA_CLOUD_ACCESS_KEY_ID: k.id,
        ALIBABA_CLOUD_ACCESS_KEY_SECRET: k.secret,
        ALIBABA_CLOUD_REGION_ID: state.data.regionId,
        VNODE_ENDPOINT_ECI: endpoint,
        VNODE_ENDPOINT_RAM: endpoint,
        VNODE_ENDPOINT_VPC: endpoint,
        VNODE_ENDPOINT_ECS: endpoint,
        VNODE_ENDPOINT_CS: endpoint,
        VNODE_ENDPOINT_RESOURCEMANAGER: endpoint,
        VNODE_ENDPOINT_STS: endpoint,
        VNODE_ENDPOINT_PROTOCOL: 'http',
      };
    },
    stop: () => new Promise<void>((resolve) => { state.flush(); server.closeAllConnections(); server.close(() => resolve()); }),
  };
}
