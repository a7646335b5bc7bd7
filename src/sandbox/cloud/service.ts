import type { CloudState } from './state.js';

export interface Caller {
  accessKeyId: string;
  /** null: the account's own (root) key. */
  user: string | null;
}

export interface CallContext {
  params: Map<string, string>;
  caller: Caller;
  state: CloudState;
  now: Date;
}

export type Handler = (ctx: CallContext) => Record<string, unknown>;

export interface Service {
  /** e.g. "ram", as in RAM actions "ram:CreateUser". */
  code: string;
  host: string;
  version: string;
  /** The code a denied call gets from this service. */
  deniedCode: string;
  handlers: Record<string, Handler>;
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
