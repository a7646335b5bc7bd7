import { Option } from 'commander';
import { OUTPUT_FORMATS } from '../ui/formats.js';

/** Flags every command takes. */
export function globalOptions(): Option[] {
  return [
    new Option('--kubeconfig <path>', 'kubeconfig file (default: $KUBECONFIG, then ~/.kube/config)'),
    new Option('--context <name>', 'kubeconfig context to use (default: the current context)'),
    new Option('--profile <name>', 'aliyun CLI profile from ~/.aliyun/config.json (default: $ALIBABA_CLOUD_PROFILE, then current)'),
    new Option('--region <id>', 'Alibaba Cloud region (default: $ALIBABA_CLOUD_REGION_ID, then the profile\'s)'),
    new Option('-o, --output <format>', 'output format').choices(OUTPUT_FORMATS).default('text'),
    new Option('--dry-run', 'show what would be done; change nothing'),
    new Option('-y, --yes', 'answer yes to confirmation prompts'),
    new Option('-v, --verbose', 'log API calls and details to stderr'),
    new Option('--lock-timeout <duration>', 'how long a command that changes the cluster waits while another vnode changes it (0: do not wait)').default('5m'),
    new Option('--no-color', 'disable colors (also NO_COLOR)'),
    new Option('--skip-permission-check', 'do not ask RAM first, with harmless probes, whether the calls after the first change are allowed (for policies scoped by tag or resource)'),
  ];
}
