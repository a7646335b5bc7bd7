import { isIP } from 'node:net';
import type { Tag, Taint } from '../cloud/port.js';
import { usageError } from '../errors.js';
import { TAG_CLUSTER, TAG_IDENTITY, TAG_NAME, TAG_REPLACES } from '../steps/virtual-node/install.js';

/* The parsers of the VNode flags install and update share (tags, taints, custom resources, cluster DNS and domain). */

export function parseTaint(s: string): Taint {
  const m = /^([A-Za-z0-9][-A-Za-z0-9_./]*)(?:=([-A-Za-z0-9_.]*))?:(NoSchedule|NoExecute|PreferNoSchedule)$/.exec(s);
  if (!m) throw usageError('InvalidTaint', `invalid --taint "${s}": expected key=value:Effect with Effect NoSchedule, NoExecute or PreferNoSchedule`);
  return { key: m[1]!, value: m[2] ?? '', effect: m[3]! };
}

export function parseTag(s: string): Tag {
  const i = s.indexOf('=');
  if (i < 0) throw usageError('InvalidTag', `invalid --tag "${s}": expected key=value (key=  for an empty value)`);
  const key = s.slice(0, i);
  const value = s.slice(i + 1);
  // ECI's rules for tag keys and values
  if (!key || key.length > 64 || /^(aliyun|acs:|https?:\/\/)/i.test(key) || value.length > 128 || /^(aliyun|acs:|https?:\/\/)/i.test(value)) {
    throw usageError('InvalidTag', `invalid --tag "${s}": expected key=value, key 1-64 characters and value at most 128, neither starting with aliyun, acs:, http:// or https://`);
  }
  if (RESERVED_TAGS.includes(key)) throw usageError('ReservedTag', `invalid --tag "${s}": ${key} is one of vnode's own tags (${RESERVED_TAGS.join(', ')}); choose another key`);
  return { key, value };
}

const RESERVED_TAGS = [TAG_CLUSTER, TAG_NAME, TAG_IDENTITY, TAG_REPLACES];
const DNS_LABEL = /^[a-z0-9](?:[-a-z0-9]{0,61}[a-z0-9])?$/;

/** Tags with distinct keys: ECI keeps one value per key, so a repeated key is a mistake. */
export function parseTags(values: string[]): Tag[] {
  const tags = values.map(parseTag);
  const seen = new Map<string, string>();
  for (const [i, t] of tags.entries()) {
    const prev = seen.get(t.key);
    if (prev !== undefined) throw usageError('DuplicateTag', `--tag ${t.key} is given twice ("${prev}" and "${values[i]}"): a key takes one value`);
    seen.set(t.key, values[i]!);
  }
  return tags;
}

// an extended resource: [DNS-subdomain prefix/]name, as Kubernetes qualifies resource names
const RESOURCE_NAME = /^(?:[a-z0-9](?:[-a-z0-9]*[a-z0-9])?(?:\.[a-z0-9](?:[-a-z0-9]*[a-z0-9])?)*\/)?[A-Za-z0-9](?:[-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$/;

/** ECI's CustomResources: name=count pairs, comma-separated (example.com/gpu=100,example.com/fpga=10). */
export function parseCustomResources(s: string): string {
  const pairs = s.split(',');
  const seen = new Set<string>();
  for (const p of pairs) {
    const m = /^([^=]+)=(\d{1,9})$/.exec(p.trim());
    const bad = !m ? `"${p}" is not name=count` : !RESOURCE_NAME.test(m[1]!) ? `"${m[1]}" is not a resource name` : seen.has(m[1]!) ? `"${m[1]}" is given twice` : undefined;
    if (bad) throw usageError('InvalidCustomResources', `invalid --custom-resources "${s}": ${bad}; expected name=count pairs separated by commas, e.g. example.com/gpu=100,example.com/fpga=10`);
    seen.add(m![1]!);
  }
  return pairs.map((p) => p.trim()).join(',');
}

export function parseClusterDns(s: string): string {
  const ips = s.split(',').map((x) => x.trim());
  const bad = ips.find((ip) => isIP(ip) === 0);
  if (bad !== undefined) throw usageError('InvalidClusterDns', `invalid --cluster-dns "${s}": "${bad}" is not an IP address; expected the cluster DNS Service's IP, e.g. 10.96.0.10`);
  return ips.join(',');
}


export function parseClusterDomain(s: string): string {
  if (s.length > 253 || !s.split('.').every((l) => DNS_LABEL.test(l))) {
    throw usageError('InvalidClusterDomain', `invalid --cluster-domain "${s}": expected a DNS domain of lowercase labels separated by dots, e.g. cluster.local`);
  }
  return s;
}


