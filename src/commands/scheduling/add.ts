import { Option, type Command } from 'commander';
import { addSelector, buildSelector, parsePairs, type SelectorChange } from '../../steps/scheduling/selectors.js';
import { collect } from '../flags.js';
import type { CommandModule } from '../registry.js';

export function renderChange(r: SelectorChange): string {
  const pre = r.dryRun ? '(dry run) ' : '';
  const what = { created: 'added', updated: 'updated', unchanged: 'unchanged (already as given)', deleted: 'removed', 'not found': 'not found — nothing to remove' }[r.action];
  const lines = [`${pre}Selector ${r.name} ${what} in kube-system/eci-profile (${r.selectors.length} selector(s), matched in order).`];
  if (!r.dryRun && r.action !== 'unchanged' && r.action !== 'not found') lines.push('The add-on\'s vk-webhook reads it for pods created from now on; running pods stay where they are.');
  if (r.dryRun && r.action !== 'unchanged' && r.action !== 'not found') lines.push('No changes were applied; run again without --dry-run to apply them.');
  return lines.join('\n');
}

const command: CommandModule = {
  configure(cmd: Command) {
    cmd
      .description('Send the pods a selector matches to the ack-virtual-node add-on\'s virtual nodes: written to eci-profile\'s `selectors` (the ' +
        'add-on\'s documented format), which its vk-webhook applies to new pods in order, adding the effect\'s labels and annotations (the pod\'s own win). ' +
        'The same name replaces that selector in its place.')
      .argument('<name>', 'selector name')
      .addOption(new Option('--pod-selector <k=v,...>', 'pod labels that must all match').argParser(collect))
      .addOption(new Option('--namespace-selector <k=v,...>', 'namespace labels that must all match').argParser(collect))
      .addOption(new Option('--annotation <k=v>', 'added to matched pods, repeatable (e.g. k8s.aliyun.com/eci-use-specs=2-4Gi)').argParser(collect))
      .addOption(new Option('--label <k=v>', 'added to matched pods, repeatable').argParser(collect));
  },
  async run(ctx, args, raw) {
    const sel = buildSelector(args[0]!, parsePairs('--pod-selector', (raw.podSelector as string[] | undefined) ?? []), parsePairs('--namespace-selector', (raw.namespaceSelector as string[] | undefined) ?? []),
      parsePairs('--annotation', (raw.annotation as string[] | undefined) ?? [], { anyValue: true }), parsePairs('--label', (raw.label as string[] | undefined) ?? []));
    const r = await addSelector(ctx, sel);
    ctx.out.result(r, () => renderChange(r));
  },
};

export default command;
