import { usageError } from '../errors.js';
import { parseDuration } from '../util/duration.js';
import { flag, type Flag } from './define.js';

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;

/** --namespace given several times or comma-separated; each must be a namespace name. */
export function parseNamespaces(raw: unknown): string[] {
  const list = [...new Set(((raw as string[] | undefined) ?? []).flatMap((v) => v.split(',')).map((v) => v.trim()))];
  for (const ns of list) {
    if (!DNS_LABEL.test(ns)) throw usageError('InvalidNamespace', `invalid --namespace "${ns}": expected a namespace name (lowercase letters, digits and '-', at most 63 characters)`);
  }
  return list;
}

export function parseSecurityGroup(raw: unknown): string | undefined {
  const securityGroup = raw === undefined ? undefined : String(raw);
  if (securityGroup !== undefined && !/^sg-[a-z0-9]+$/.test(securityGroup)) throw usageError('InvalidSecurityGroup', `invalid --security-group "${securityGroup}": expected an id such as sg-bp1...`);
  return securityGroup;
}

/** --vswitch given several times or comma-separated: 1-10 distinct vSwitch ids. */
export function parseVSwitches(raw: unknown): string[] | undefined {
  const given = raw as string[] | undefined;
  for (const v of given ?? []) {
    if (v.split(',').some((x) => x.trim() === '')) throw usageError('InvalidVSwitch', `invalid --vswitch "${v}": an empty entry; expected vSwitch ids separated by commas, such as vsw-bp1a,vsw-bp1b`);
  }
  const vswitches = given?.flatMap((v) => v.split(',')).map((v) => v.trim());
  if (vswitches) {
    for (const v of vswitches) if (!/^vsw-[a-z0-9]+$/.test(v)) throw usageError('InvalidVSwitch', `invalid --vswitch "${v}": expected a vSwitch id such as vsw-bp1...`);
    if (vswitches.length < 1 || vswitches.length > 10) throw usageError('TooManyVSwitches', `${vswitches.length} vSwitches given: a virtual node takes 1 to 10 vSwitches (of one VPC)`);
    if (new Set(vswitches).size !== vswitches.length) throw usageError('DuplicateVSwitch', `--vswitch lists a vSwitch twice: ${vswitches.join(',')}`);
  }
  return vswitches;
}

export const vswitchFlag = (help: string): Flag<string[] | undefined> => flag('--vswitch <ids>', help, parseVSwitches, { repeatable: true });
export const securityGroupFlag = (help: string): Flag<string | undefined> => flag('--security-group <id>', help, parseSecurityGroup);
/** A duration flag (`5m`, `90s`, `0` for no limit), in milliseconds. */
export const durationFlag = (spec: string, help: string, dflt: string): Flag<number> =>
  flag(spec, help, (raw) => parseDuration(spec.split(' ')[0]!, String(raw)), { default: dflt });

// the reference grammar of the distribution spec: [host[:port]/]path[:tag][@digest]
const HOST = String.raw`(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)(?:\.[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)*(?::[0-9]+)?`;
const PATH_PART = String.raw`[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*`;
const IMAGE_REF = new RegExp(String.raw`^(?:${HOST}\/)?${PATH_PART}(?:\/${PATH_PART})*(?::[\w][\w.-]{0,127})?(?:@sha256:[a-f0-9]{64})?$`);

/** An image reference, checked for form before anything is applied. */
export function parseImage(flag: string, raw: unknown): string {
  const s = String(raw);
  if (s.length > 255 || !IMAGE_REF.test(s)) {
    throw usageError('InvalidImage', `invalid ${flag} "${s}": expected an image reference such as registry.example.com/library/node:24-alpine`);
  }
  return s;
}

export function checked(flag: string, value: string, re: RegExp, valid: string): string {
  if (!re.test(value)) throw usageError('InvalidFlag', `invalid ${flag} "${value}": expected ${valid}`);
  return value;
}

