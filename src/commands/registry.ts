import type { Command } from 'commander';
import type { Context } from '../context.js';

/** A leaf command: its flags and arguments, and the handler. Imported only when it is the one being run. */
export interface CommandModule {
  configure(cmd: Command): void;
  /** Completing is success (exit 0) even when Ctrl-C came after the last change; a number is the exit code. */
  run(ctx: Context, args: string[], opts: Record<string, unknown>): Promise<void | number>;
}

export interface CommandEntry {
  /** e.g. ['kubeconfig'] or ['ram', 'grant'] */
  path: string[];
  summary: string;
  aliases?: string[];
  hidden?: boolean;
  load(): Promise<CommandModule>;
}

export interface GroupEntry {
  name: string;
  summary: string;
}

export const groups: GroupEntry[] = [
  { name: 'ram', summary: 'RAM user, policies and AccessKey for the virtual node addon' },
  { name: 'secret', summary: 'the alibaba-addon-secret that holds the addon\'s AccessKey' },
  { name: 'config', summary: 'the in-cluster controller\'s ECI settings (vSwitches, security group, kube-proxy)' },
  { name: 'sandbox', summary: 'local stand-ins for Alibaba Cloud and a cluster, for trying vnode out' },
];

export const commands: CommandEntry[] = [
  {
    path: ['kubeconfig'],
    summary: 'create the identity and kubeconfig a virtual node uses (ServiceAccount, or --bootstrap TLS bootstrap)',
    load: async () => (await import('./kubeconfig.js')).default,
  },
  {
    path: ['install'],
    summary: 'create virtual node(s) for this cluster in ECI, wait until Ready, keep DaemonSets off them',
    load: async () => (await import('./install.js')).default,
  },
  {
    path: ['uninstall'],
    summary: 'remove virtual node(s) without losing pods or leaving ECI instances behind',
    load: async () => {
      (await import('../util/gc.js')).keepYoungGenerationSmall();
      return (await import('./uninstall.js')).default;
    },
  },
  {
    path: ['drain'],
    summary: 'cordon node(s) and evict their pods (PodDisruptionBudgets honoured), faster than kubectl drain',
    load: async () => {
      (await import('../util/gc.js')).keepYoungGenerationSmall();
      return (await import('./drain.js')).default;
    },
  },
  {
    path: ['scale'],
    summary: 'more or fewer virtual nodes of the in-cluster controller (removed ones drained first)',
    load: async () => (await import('./scale.js')).default,
  },
  {
    path: ['config', 'get'],
    summary: 'show the in-cluster controller\'s ECI settings',
    load: async () => (await import('./config/get.js')).default,
  },
  {
    path: ['config', 'set'],
    summary: 'change the controller\'s vSwitches, security group or kube-proxy (new ECI pods only)',
    load: async () => (await import('./config/set.js')).default,
  },
  {
    path: ['status'],
    aliases: ['list'],
    summary: 'show the virtual nodes: ECI status, node readiness, pods, warnings',
    load: async () => (await import('./status.js')).default,
  },
  {
    path: ['ram', 'grant'],
    summary: 'create the addon\'s RAM user, grant it ECI permissions, put its AccessKey in the cluster',
    load: async () => (await import('./ram/grant.js')).default,
  },
  {
    path: ['ram', 'revoke'],
    summary: 'detach what ram grant attached, delete its AccessKey and the Secret',
    load: async () => (await import('./ram/revoke.js')).default,
  },
  {
    path: ['secret', 'create'],
    summary: 'write alibaba-addon-secret from an existing AccessKey (secret read from stdin)',
    load: async () => (await import('./secret/create.js')).default,
  },
  {
    path: ['sandbox', 'up'],
    summary: 'start the local sandbox (real control plane + cloud emulator) in the background',
    load: async () => (await import('./sandbox/lifecycle.js')).up,
  },
  {
    path: ['sandbox', 'down'],
    summary: 'stop the local sandbox (its state stays)',
    load: async () => (await import('./sandbox/lifecycle.js')).down,
  },
  {
    path: ['sandbox', 'env'],
    summary: 'print the export lines of the running sandbox',
    load: async () => (await import('./sandbox/lifecycle.js')).env,
  },
  {
    path: ['sandbox', 'serve'],
    summary: 'run the sandbox in the foreground',
    hidden: true,
    load: async () => (await import('./sandbox/lifecycle.js')).serve,
  },
  {
    path: ['sandbox', 'cloud'],
    summary: 'run the local Alibaba Cloud emulator (RAM, ECI, VPC, ECS) in the foreground',
    load: async () => (await import('./sandbox/cloud.js')).default,
  },
];
