import { createHash } from 'node:crypto';

/** The same ClientToken for every retry and re-run deleting one resource. */
export function deletionToken(kind: string, id: string): string {
  return `vnode-del-${createHash('sha256').update(`${kind}/${id}`).digest('hex').slice(0, 40)}`;
}
