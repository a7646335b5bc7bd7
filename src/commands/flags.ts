import { usageError } from '../errors.js';

/** commander argParser for repeatable flags: each occurrence is appended. */
export function collect(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), value];
}

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;

/** --namespace given several times or comma-separated; each must be a namespace name. */
export function parseNamespaces(raw: unknown): string[] {
  const list = [...new Set(((raw as string[] | undefined) ?? []).flatMap((v) => v.split(',')).map((v) => v.trim()))];
  for (const ns of list) {
    if (!DNS_LABEL.test(ns)) throw usageError('InvalidNamespace', `invalid --namespace "${ns}": expected a namespace name (lowercase letters, digits and '-', at most 63 characters)`);
  }
  return list;
}
