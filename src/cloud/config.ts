import { readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import path from 'node:path';
import { usageError } from '../errors.js';

export interface CloudTarget {
  profile: string | undefined;
  region: string | undefined;
  /** A key to use instead of the caller's (e.g. to check a key before storing it). */
  accessKey?: { id: string; secret: string };
}

export interface AliyunProfile {
  name: string;
  mode?: string;
  access_key_id?: string;
  access_key_secret?: string;
  sts_token?: string;
  ram_role_arn?: string;
  ram_session_name?: string;
  region_id?: string;
}

export type Service = 'eci' | 'ram' | 'vpc' | 'ecs' | 'cs' | 'resourcemanager' | 'sts';

export interface CloudConfig {
  regionId: string;
  profile: AliyunProfile | undefined;
  /** undefined: the SDK's own endpoint rules for the region. */
  endpoints: Record<Service, string | undefined>;
  protocol: 'HTTP' | 'HTTPS';
}

function readProfiles(env: NodeJS.ProcessEnv): { current?: string; profiles: AliyunProfile[] } | undefined {
  const file = path.join(env.HOME || homedir(), '.aliyun', 'config.json');
  let text: string;
  try { text = readFileSync(file, 'utf8'); } catch { return undefined; }
  try {
    const d = JSON.parse(text) as { current?: string; profiles?: AliyunProfile[] };
    return { ...(d.current ? { current: d.current } : {}), profiles: Array.isArray(d.profiles) ? d.profiles : [] };
  } catch {
    throw usageError('ProfileInvalid', `${file} is not valid JSON`);
  }
}

/** The aliyun CLI profile in effect: --profile, then ALIBABA_CLOUD_PROFILE, then the file's current one. */
export function selectProfile(explicit: string | undefined, env: NodeJS.ProcessEnv): AliyunProfile | undefined {
  const cfg = readProfiles(env);
  const wanted = explicit ?? env.ALIBABA_CLOUD_PROFILE;
  if (!cfg) {
    if (explicit) throw usageError('ProfileNotFound', `--profile ${explicit}: ${path.join(env.HOME || homedir(), '.aliyun', 'config.json')} does not exist`, 'create it with `aliyun configure`, or use ALIBABA_CLOUD_ACCESS_KEY_ID/SECRET');
    return undefined;
  }
  const name = wanted ?? cfg.current;
  if (!name) return undefined;
  const p = cfg.profiles.find((x) => x.name === name);
  if (!p && wanted) throw usageError('ProfileNotFound', `profile "${name}" not found in ~/.aliyun/config.json`, `available profiles: ${cfg.profiles.map((x) => x.name).join(', ') || 'none'}`);
  return p;
}

const REGION_RE = /^[a-z]{2}(-[a-z0-9]+)+$/;

export function resolveCloudConfig(target: CloudTarget, env: NodeJS.ProcessEnv): CloudConfig {
  const profile = selectProfile(target.profile, env);
  const regionId = target.region ?? env.ALIBABA_CLOUD_REGION_ID ?? profile?.region_id;
  if (!regionId) {
    throw usageError('RegionMissing', 'no region: pass --region, set ALIBABA_CLOUD_REGION_ID, or set region_id in your aliyun CLI profile', 'e.g. --region cn-hangzhou');
  }
  if (!REGION_RE.test(regionId)) throw usageError('InvalidRegion', `invalid region "${regionId}": expected a region id such as cn-hangzhou or ap-southeast-1`);
  const endpoint = (svc: Service, real: string | undefined): string | undefined => {
    const v = env[`VNODE_ENDPOINT_${svc.toUpperCase()}`];
    if (v === undefined || v === '') return real;
    if (!/^[A-Za-z0-9.-]+(:\d+)?$/.test(v)) throw usageError('InvalidEndpoint', `invalid VNODE_ENDPOINT_${svc.toUpperCase()} "${v}": expected host[:port] without a scheme`);
    return v;
  };
  const proto = (env.VNODE_ENDPOINT_PROTOCOL ?? 'https').toLowerCase();
  if (proto !== 'http' && proto !== 'https') throw usageError('InvalidEndpoint', `invalid VNODE_ENDPOINT_PROTOCOL "${env.VNODE_ENDPOINT_PROTOCOL}": expected http or https`);
  return {
    regionId,
    profile,
    endpoints: {
      eci: endpoint('eci', `eci.${regionId}.aliyuncs.com`),
      ram: endpoint('ram', 'ram.aliyuncs.com'),
      vpc: endpoint('vpc', `vpc.${regionId}.aliyuncs.com`),
      ecs: endpoint('ecs', `ecs.${regionId}.aliyuncs.com`),
      // the Container Service SDK maps some regions to other hosts: its rules, not a pattern of ours
      cs: endpoint('cs', undefined),
      resourcemanager: endpoint('resourcemanager', 'resourcemanager.aliyuncs.com'),
      // STS too: its SDK's endpoint rules
      sts: endpoint('sts', undefined),
    },
    protocol: proto === 'http' ? 'HTTP' : 'HTTPS',
  };
}
