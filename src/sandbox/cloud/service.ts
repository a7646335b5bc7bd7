import type { ApiError } from './errors.js';
import type { CloudState } from './state.js';

export interface Caller {
  accessKeyId: string;
  /** null: the account's own (root) key. */
  user: string | null;
}

export interface CallContext {
  /** RPC: the request's parameters; ROA: its query. */
  params: Map<string, string>;
  caller: Caller;
  state: CloudState;
  now: Date;
  requestId: string;
  /** ROA: the path's parameters by the names of the route ({ClusterId} -> ClusterId), and the parsed JSON body. */
  path: Record<string, string>;
  body: unknown;
}

export type Handler = (ctx: CallContext) => Record<string, unknown> | unknown[];

/** An ROA operation's method and path, e.g. POST /clusters/{ClusterId}/components/install. */
export interface Route { method: string; path: string }

export interface Service {
  /** e.g. "ram", as in RAM actions "ram:CreateUser". */
  code: string;
  host: string;
  version: string;
  /** The code a denied call gets from this service. */
  deniedCode: string;
  handlers: Record<string, Handler>;
  /** Actions any identity may call, with no policy (STS GetCallerIdentity). */
  open?: string[];
  /** RAM action names that differ from `<code>:<Action>` (e.g. ResourceManager's CreateServiceLinkedRole is ram:CreateServiceLinkedRole). */
  authActions?: Record<string, string>;
  /** A service the account must have activated: every action but `openActions` is refused until it is. */
  activation?: { service: 'eci' | 'ack'; openActions: string[]; refuse: (action: string, state: CloudState) => ApiError };
  /** The RAM condition keys a request carries, by action (e.g. ram:ServiceName of CreateServiceLinkedRole). */
  conditionKeys?: Record<string, (params: Map<string, string>) => Record<string, string>>;
  /** Reads that answer a caller without the permission with an empty answer (HTTP 200), not a denial, by action. */
  emptyWhenDenied?: Record<string, () => Record<string, unknown>>;
  /** A refusal every action but `openActions` gets past activation (ACK without its default role). */
  precondition?: (state: CloudState, action: string) => ApiError | undefined;
  /** ROA services (Container Service): each action's route, checked against the request; errors are {code, message, requestId}. */
  routes?: Record<string, Route>;
}

/** The path parameters of a route, or undefined when the path does not fit it. */
export function matchRoute(route: Route, method: string, pathname: string): Record<string, string> | undefined {
  if (route.method !== method) return undefined;
  const names: string[] = [];
  const re = new RegExp('^' + route.path.replace(/[.*+?^$()|[\]\\]/g, '\\$&').replace(/\\?\{(\w+)\\?\}/g, (_m, n: string) => { names.push(n); return '([^/]+)'; }) + '$');
  const m = re.exec(pathname);
  if (!m) return undefined;
  return Object.fromEntries(names.map((n, i) => [n, decodeURIComponent(m[i + 1]!)]));
}

export function str(ctx: CallContext, name: string): string | undefined {
  const v = ctx.params.get(name);
  return v === undefined || v === '' ? undefined : v;
}

/** Flattened lists: Tag.1.Key, Tag.1.Value, ... */
export function indexed(ctx: CallContext, prefix: string, fields: string[]): Record<string, string>[] {
  const out: Record<string, string>[] = [];
  for (let i = 1; ; i++) {
    const item: Record<string, string> = {};
    let any = false;
    for (const f of fields) {
      const v = ctx.params.get(`${prefix}.${i}.${f}`);
      if (v !== undefined) { item[f] = v; any = true; }
    }
    if (!any) {
      // a gap ends the list unless later indexes exist
      const more = [...ctx.params.keys()].some((k) => k.startsWith(`${prefix}.`) && Number(k.split('.')[1]) > i);
      if (!more) break;
      continue;
    }
    out.push(item);
  }
  return out;
}
