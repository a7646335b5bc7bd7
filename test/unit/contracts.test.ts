import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { allActions, NOT_IN_POLICIES, policyOf } from '../../src/commands/contract.js';
import { contracts } from '../../src/commands/ram/operator-policy.js';
import { commands } from '../../src/commands/registry.js';

const actionsIn = (doc: { Statement: { Action: string | string[] }[] }): string[] => doc.Statement.flatMap((s) => (Array.isArray(s.Action) ? s.Action : [s.Action])).sort();

describe('command contracts', () => {
  it('every command declares one; cloud actions are service:Action names; risk and converges are set', async () => {
    const all = await contracts();
    assert.equal(all.size, commands.length);
    for (const [name, c] of all) {
      for (const a of allActions(c)) assert.match(a, /^(eci|cs|ram|vpc|ecs|sts):[A-Z][A-Za-z0-9]+$/, `${name}: ${a}`);
      assert.ok(typeof c.risk === 'string' || ['read', 'change', 'delete-or-bill'].includes(c.risk.always), name);
      assert.equal(typeof c.converges, 'boolean', name);
      for (const k of c.kubernetes) assert.ok(k.resources.length > 0 && k.verbs.length > 0, `${name}: an empty rule`);
    }
  });

  it('the documented operator policy (templates/ram-policy-operator.json) is exactly what the commands but ram grant/revoke declare', async () => {
    const all = await contracts();
    const generated = actionsIn(policyOf([...new Set([...all].filter(([k]) => k !== 'ram grant' && k !== 'ram revoke').flatMap(([, c]) => allActions(c)))]) as never);
    const template = actionsIn(JSON.parse(readFileSync('templates/ram-policy-operator.json', 'utf8')) as never);
    assert.deepEqual(template, generated);
    for (const a of NOT_IN_POLICIES) assert.ok(!template.includes(a), `${a} needs no policy, or none can grant it`);
  });
});

describe('vnode schema agrees with --help', () => {
  it('every visible command: the same flags (long names) and summary as its help; install lists its actions and risk', async () => {
    const { runVnode } = await import('../helpers/run.js');
    const all = JSON.parse((await runVnode(['schema', '-o', 'json'])).stdout) as { commands: { command: string; summary: string; flags: { name: string }[]; cloud: { actions: string[] }; risk: unknown }[] };
    const visible = commands.filter((c) => !c.hidden);
    assert.deepEqual(all.commands.map((c) => c.command), visible.map((c) => c.path.join(' ')));
    for (const c of all.commands) {
      const help = (await runVnode([...c.command.split(' '), '--help'])).stdout;
      const shown = [...help.split('\nGlobal Options:')[0]!.matchAll(/^\s+(?:-\w, )?(--[a-z][a-z0-9-]*)/gm)].map((m) => m[1]!).filter((f) => f !== '--help');
      assert.deepEqual([...new Set(shown)].sort(), c.flags.map((f) => f.name).sort(), `vnode ${c.command}`);
      // the summary is what the parent's help lists for it (wrapped to the terminal)
      const parent = (await runVnode([...c.command.split(' ').slice(0, -1), '--help'])).stdout.replace(/\s+/g, ' ');
      assert.ok(parent.includes(c.summary.replace(/\s+/g, ' ').slice(0, 40)), `summary of ${c.command}`);
    }
    const install = JSON.parse((await runVnode(['schema', 'install', '-o', 'json'])).stdout) as { cloud: { actions: string[]; byFlag: Record<string, string[]> }; risk: string };
    assert.ok(install.cloud.actions.includes('eci:CreateVirtualNode') && install.cloud.byFlag['--mode addon']!.includes('cs:CreateCluster'));
    assert.equal(install.risk, 'delete-or-bill');
    const bad = await runVnode(['schema', 'nope']);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /no command "nope"/);
  });
});
