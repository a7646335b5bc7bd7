import type { CloudPorts } from '../../cloud/port.js';
import { ADDON } from './constants.js';

/** The installed add-on's version and what is newer: status, cluster status and doctor show it. */
export interface AddonVersionInfo { clusterId: string; installed: string; state: string; newest: string; newer: string[] }

export async function addonVersionInfo(cloud: CloudPorts, clusterId: string): Promise<AddonVersionInfo | null> {
  const instance = await cloud.cs.getAddonInstance(clusterId, ADDON);
  if (!instance) return null;
  const offer = await cloud.cs.addonUpgrades(clusterId, ADDON, instance.version);
  return { clusterId, installed: instance.version, state: instance.state, newest: offer.newer.at(-1) ?? instance.version, newer: offer.newer };
}

/** One line on the add-on's version, for the text outputs. */
export function describeAddonVersion(a: AddonVersionInfo): string {
  return `Add-on ${ADDON} ${a.installed} (${a.state})${a.newer.length ? `; newer offered: ${a.newer.join(', ')} — \`vnode update ${ADDON}\` upgrades it` : '; the newest offered'}`;
}

