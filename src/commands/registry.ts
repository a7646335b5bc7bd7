import type { Command } from 'commander';
import type { Context } from '../context.js';
import type { Contract } from './contract.js';

/** A leaf command: its flags and arguments, and the handler. Imported only when it is the one being run. */
export interface CommandModule {
  configure(cmd: Command): void;
  /** Completing is success (exit 0) even when Ctrl-C came after the last change; a number is the exit code. */
  run(ctx: Context, args: string[], opts: Record<string, unknown>): Promise<void | number>;
  /** Whether this run changes the cluster or the cloud for it (the runner holds the cluster's lock). */
  mutates?(opts: Record<string, unknown>): boolean;
  /** What it calls, needs, risks and waits for: required, so no command lands without it. */
  contract: Contract;
  /** A long-running command that stops cleanly on Ctrl-C itself (a server, the sandbox): not cut short like a read. */
  ownsInterrupt?: boolean;
}

export interface CommandEntry {
  /** e.g. ['kubeconfig'] or ['ram', 'grant'] */
  path: string[];
  summary: string;
  aliases?: string[];
  hidden?: boolean;
  /** Real invocations, shown at the end of the command's help. */
  examples: string[];
  /** What running it again does after an interrupt (the default: it does only what is left). */
  rerun?: string;
  load(): Promise<CommandModule>;
}

export interface GroupEntry {
  name: string;
  summary: string;
}

/** The docs page (in the package) of each command, by its first word. */
const DOCS: Record<string, string> = {
  ram: 'ram.md', secret: 'ram.md', kubeconfig: 'kubeconfig.md', cluster: 'addon.md', config: 'addon.md', install: 'vnodes.md', status: 'vnodes.md',
  update: 'vnodes.md', drain: 'vnodes.md', uninstall: 'vnodes.md', scale: 'vnodes.md', scheduling: 'scheduling.md', doctor: 'doctor.md',
  completion: 'conventions.md', schema: 'conventions.md', __nodes: 'conventions.md', sandbox: 'sandbox.md', cost: 'cost.md',
};

export function docsPage(path: string[]): string {
  return `docs/${DOCS[path[0]!] ?? 'conventions.md'}`;
}

/** Groups appear in help where their first command stands in `commands`. */
export const groups: GroupEntry[] = [
  { name: 'ram', summary: 'RAM user, policies and AccessKey for the virtual node addon' },
  { name: 'secret', summary: 'the alibaba-addon-secret that holds the addon\'s AccessKey' },
  { name: 'cluster', summary: 'this cluster\'s ACK One registration (registered cluster and agent), for the add-on' },
  { name: 'scheduling', summary: 'send pods to the virtual nodes by label or selector, or burst there when normal nodes are full' },
  { name: 'scheduling limit', summary: 'cap what goes to ECI by vCPU, memory, pods and spend per hour, cluster-wide or per selector' },
  { name: 'config', summary: 'the ack-virtual-node add-on\'s ECI settings in eci-profile (vSwitches, security group, kube-proxy)' },
  { name: 'sandbox', summary: 'local stand-ins for Alibaba Cloud and a cluster, for trying vnode out' },
];

/** In the order of the workflow, which is also the order of `vnode --help`. */
export const commands: CommandEntry[] = [
  {
    path: ['ram', 'grant'],
    summary: 'create the addon\'s RAM user, grant it ECI permissions, put its AccessKey in the cluster',
    examples: ['vnode ram grant --yes', 'vnode ram grant --rotate-key', 'vnode ram grant --policy AliyunECIFullAccess --dry-run'],
    rerun: 'run the same command again: it finds the user, the policies and the key vnode already made (recorded in the cluster before each change) and does the rest; `vnode ram revoke` undoes all of it',
    load: async () => (await import('./ram/grant.js')).default,
  },
  {
    path: ['ram', 'revoke'],
    summary: 'detach what ram grant attached, delete its AccessKey and the Secret',
    examples: ['vnode ram revoke', 'vnode ram revoke --keep-key', 'vnode ram revoke --delete-user'],
    load: async () => (await import('./ram/revoke.js')).default,
  },
  {
    path: ['ram', 'operator-policy'],
    summary: 'print the least-privilege RAM policy for whoever runs vnode (install, status, update, uninstall)',
    examples: ['vnode ram operator-policy', 'aliyun ram CreatePolicy --PolicyName vnode-operator --PolicyDocument "$(vnode ram operator-policy)"'],
    load: async () => (await import('./ram/operator-policy.js')).default,
  },
  {
    path: ['secret', 'create'],
    summary: 'write alibaba-addon-secret from an existing AccessKey (secret read from stdin)',
    examples: ['printf %s "$KEY_SECRET" | vnode secret create --access-key-id LTAI5tExampleKeyId', 'vnode secret create --access-key-id LTAI5tExampleKeyId < secret.txt'],
    load: async () => (await import('./secret/create.js')).default,
  },
  {
    path: ['kubeconfig'],
    summary: 'create the identity and kubeconfig a virtual node uses (ServiceAccount, or --bootstrap TLS bootstrap)',
    examples: ['vnode kubeconfig', 'vnode kubeconfig --bootstrap --ttl 24h --server https://10.0.0.10:6443', 'vnode kubeconfig --dry-run'],
    load: async () => (await import('./kubeconfig.js')).default,
  },
  {
    path: ['cluster', 'register'],
    summary: 'register this cluster with ACK One (registered cluster), apply its agent, wait until connected',
    examples: ['vnode cluster register --vswitch vsw-a --security-group sg-x', 'vnode cluster register --name dc1-prod --private-address', 'vnode cluster register --dry-run'],
    rerun: 'run the same command again: it resumes with the registration recorded in kube-system/vnode-registration, applies the agent if missing and waits until it is running',
    load: async () => (await import('./cluster/register.js')).default,
  },
  {
    path: ['cluster', 'status'],
    summary: 'the registration\'s id and state, what the state means, the agent',
    examples: ['vnode cluster status', 'vnode cluster status -o json'],
    load: async () => (await import('./cluster/status.js')).default,
  },
  {
    path: ['cluster', 'deregister'],
    summary: 'delete the registration (DeleteCluster) and the agent objects (after the add-on is gone)',
    examples: ['vnode cluster deregister', 'vnode cluster deregister --dry-run'],
    load: async () => (await import('./cluster/deregister.js')).default,
  },
  {
    path: ['install'],
    summary: 'create virtual node(s) for this cluster in ECI, wait until Ready, keep DaemonSets off them',
    examples: ['vnode install --vswitch vsw-a,vsw-b --security-group sg-x', 'vnode install --bootstrap --count 2 --vswitch vsw-a --security-group sg-x --name burst', 'vnode install --mode addon --vswitch vsw-a,vsw-b --security-group sg-x --yes'],
    rerun: 'run the same command again: it finds what this install already created (by ClientToken, tags and its record) and finishes it, creating nothing twice',
    load: async () => (await import('./install.js')).default,
  },
  {
    path: ['status'],
    aliases: ['list'],
    summary: 'show the virtual nodes: ECI status, node readiness, pods, warnings',
    examples: ['vnode status', 'vnode status vnode -o yaml', 'vnode status virtual-kubelet-cn-hangzhou-h'],
    load: async () => (await import('./status.js')).default,
  },
  {
    path: ['cost'],
    summary: 'what this cluster\'s virtual nodes bill now, priced by ECI: per instance, VNode, namespace and workload; orphans apart',
    examples: ['vnode cost', 'vnode cost --namespace burst -o json', 'vnode cost --selector app=web'],
    load: async () => (await import('./cost.js')).default,
  },
  {
    path: ['scheduling', 'enable'],
    summary: 'deploy the webhook that puts pods labelled alibabacloud.com/eci=true on virtual nodes; label namespaces',
    examples: ['vnode scheduling enable --namespace burst', 'vnode scheduling enable --namespace jobs,batch --mode controller', 'vnode scheduling enable --dry-run'],
    rerun: 'run the same command again: objects already applied are unchanged, and it waits for the server\'s rollout before switching the webhook on',
    load: async () => (await import('./scheduling/enable.js')).default,
  },
  {
    path: ['scheduling', 'status'],
    summary: 'is label-based scheduling on, where do labelled pods go, which namespaces are labelled',
    examples: ['vnode scheduling status', 'vnode scheduling status -o json'],
    load: async () => (await import('./scheduling/status.js')).default,
  },
  {
    path: ['scheduling', 'limit', 'set'],
    summary: 'create or change a burst limit: vCPU, memory, pods and spend per hour sent to ECI, optionally by time window',
    examples: ['vnode scheduling limit set web-cap --selector web --cpu 64 --max-hourly 20', 'vnode scheduling limit set all --pods 200 --window "Sat,Sun 00:00-24:00 UTC pods=50"'],
    load: async () => (await import('./scheduling/limit/set.js')).default,
  },
  {
    path: ['scheduling', 'limit', 'list'],
    summary: 'each burst limit with its usage now',
    examples: ['vnode scheduling limit list', 'vnode scheduling limit list -o json'],
    load: async () => (await import('./scheduling/limit/list.js')).default,
  },
  {
    path: ['scheduling', 'limit', 'remove'],
    summary: 'remove a burst limit (what it held is sent as room allows)',
    examples: ['vnode scheduling limit remove web-cap', 'vnode scheduling limit remove web-cap --dry-run'],
    load: async () => (await import('./scheduling/limit/remove.js')).default,
  },
  {
    path: ['scheduling', 'limit', 'prices'],
    summary: 'fetch ECI\'s prices (DescribeContainerGroupPrice) into the cluster, for spend limits',
    examples: ['vnode scheduling limit prices', 'vnode scheduling limit prices --region cn-shanghai'],
    load: async () => (await import('./scheduling/limit/prices.js')).default,
  },
  {
    path: ['scheduling', 'disable'],
    summary: 'remove the webhook and the namespace labels vnode added (or unlabel some namespaces)',
    examples: ['vnode scheduling disable', 'vnode scheduling disable --namespace burst', 'vnode scheduling disable --dry-run'],
    load: async () => (await import('./scheduling/disable.js')).default,
  },
  {
    path: ['scheduling', 'add'],
    summary: 'add a selector (eci-profile policies: fair, normal-node-only, normal-node-prefer burst, virtual-node-only) with labels/annotations to add',
    examples: ['vnode scheduling add web --pod-selector app=web --policy normal-node-prefer', 'vnode scheduling add batch --namespace-selector team=batch --policy virtual-node-only --priority 10',
      'vnode scheduling add big --pod-selector app=train --policy virtual-node-only --annotation k8s.aliyun.com/eci-use-specs=8-16Gi'],
    rerun: 'run the same command again: the Selector is created or updated to exactly what was given, and its webhook entry with it',
    load: async () => (await import('./scheduling/add.js')).default,
  },
  {
    path: ['scheduling', 'list'],
    summary: 'the selectors in force (Selectors and label shortcuts, or the add-on\'s), in the order they win',
    examples: ['vnode scheduling list', 'vnode scheduling list -o json'],
    load: async () => (await import('./scheduling/list.js')).default,
  },
  {
    path: ['scheduling', 'remove'],
    summary: 'remove a selector vnode added',
    examples: ['vnode scheduling remove batch', 'vnode scheduling remove batch --dry-run'],
    load: async () => (await import('./scheduling/remove.js')).default,
  },
  {
    path: ['scheduling', 'serve'],
    summary: 'run the webhook server (what the in-cluster Deployment runs)',
    examples: ['vnode scheduling serve --tls-dir /etc/vnode/tls', 'vnode scheduling serve --tls-dir ./tls --port 9443 --listen 10.0.0.5'],
    load: async () => (await import('./scheduling/serve.js')).default,
  },
  {
    path: ['doctor'],
    summary: 'check the virtual nodes and what they depend on; PASS/WARN/FAIL with hints, exit 1 on a failure',
    examples: ['vnode doctor', 'vnode doctor vnode -o json', 'vnode doctor --fix'],
    load: async () => (await import('./doctor.js')).default,
  },
  {
    path: ['update'],
    summary: 'change an installed virtual node (in place where ECI can, else replaced without losing pods), or upgrade the add-on',
    examples: ['vnode update vnode --tag team=ml --cluster-dns 10.96.0.10', 'vnode update vnode --vswitch vsw-a,vsw-b --dry-run', 'vnode update ack-virtual-node --to v2.14.0 --yes'],
    load: async () => {
      (await import('../util/gc.js')).keepYoungGenerationSmall();
      return (await import('./update.js')).default;
    },
  },
  {
    path: ['scale'],
    summary: 'retired: the add-on runs one node per zone (vnode config set vswitch=...); VNodes: install --count',
    hidden: true,
    examples: [],
    load: async () => (await import('./scale.js')).default,
  },
  {
    path: ['config', 'get'],
    summary: 'show the add-on\'s ECI settings (kube-system/eci-profile)',
    examples: ['vnode config get', 'vnode config get -o json'],
    load: async () => (await import('./config/get.js')).default,
  },
  {
    path: ['config', 'set'],
    summary: 'change the add-on\'s vSwitches, security group or kube-proxy in eci-profile (hot, new ECI pods)',
    examples: ['vnode config set kube-proxy=false --dry-run', 'vnode config set vswitch=vsw-a,vsw-b security-group=sg-x'],
    rerun: 'run the same command again: settings already in eci-profile are left as they are, the rest are written',
    load: async () => (await import('./config/set.js')).default,
  },
  {
    path: ['drain'],
    summary: 'cordon node(s) and evict their pods (PodDisruptionBudgets honoured), faster than kubectl drain',
    examples: ['vnode drain vnode', 'vnode drain vnode-1 vnode-2 --timeout 10m --delete-emptydir-data', 'vnode drain virtual-kubelet-cn-hangzhou-h --dry-run'],
    load: async () => {
      (await import('../util/gc.js')).keepYoungGenerationSmall();
      return (await import('./drain.js')).default;
    },
  },
  {
    path: ['uninstall'],
    summary: 'remove virtual node(s) without losing pods or leaving ECI instances behind',
    examples: ['vnode uninstall vnode --drain', 'vnode uninstall --all --drain --cleanup-orphans', 'vnode uninstall ack-virtual-node --drain --deregister'],
    load: async () => {
      (await import('../util/gc.js')).keepYoungGenerationSmall();
      return (await import('./uninstall.js')).default;
    },
  },
  {
    path: ['schema'],
    summary: 'print each command\'s contract for scripts and agents: flags, cloud actions, Kubernetes access, risk, waits, exit codes',
    examples: ['vnode schema install -o json', 'vnode schema -o json', 'vnode schema ram grant'],
    load: async () => (await import('./schema.js')).default,
  },
  {
    path: ['completion'],
    summary: 'print a shell completion script (bash, zsh or fish)',
    examples: ['source <(vnode completion bash)', 'vnode completion zsh > "${fpath[1]}/_vnode"', 'vnode completion fish | source'],
    load: async () => (await import('./completion.js')).completion,
  },
  {
    path: ['__nodes'],
    summary: 'virtual node names, for shell completion',
    hidden: true,
    examples: [],
    load: async () => (await import('./completion.js')).nodes,
  },
  {
    path: ['sandbox', 'up'],
    summary: 'start the local sandbox (real control plane + cloud emulator) in the background',
    examples: ['eval "$(vnode sandbox up)"', 'vnode sandbox up --dir /tmp/vnode-sandbox --ready-delay 5s'],
    load: async () => (await import('./sandbox/lifecycle.js')).up,
  },
  {
    path: ['sandbox', 'down'],
    summary: 'stop the local sandbox (its state stays)',
    examples: ['vnode sandbox down', 'vnode sandbox down --dir /tmp/vnode-sandbox'],
    load: async () => (await import('./sandbox/lifecycle.js')).down,
  },
  {
    path: ['sandbox', 'env'],
    summary: 'print the export lines of the running sandbox',
    examples: ['eval "$(vnode sandbox env)"'],
    load: async () => (await import('./sandbox/lifecycle.js')).env,
  },
  {
    path: ['sandbox', 'serve'],
    summary: 'run the sandbox in the foreground',
    examples: ['vnode sandbox serve --dir /tmp/vnode-sandbox'],
    hidden: true,
    load: async () => (await import('./sandbox/lifecycle.js')).serve,
  },
  {
    path: ['sandbox', 'cloud'],
    summary: 'run the local Alibaba Cloud emulator (RAM, ECI, VPC, ECS, CS) in the foreground',
    examples: ['vnode sandbox cloud --port 18080', 'vnode sandbox cloud --state ./cloud.json --faults "*:throttle=0.2"'],
    load: async () => (await import('./sandbox/cloud.js')).default,
  },
];
