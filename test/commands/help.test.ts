import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import type { Command } from 'commander';
import { commands } from '../../src/commands/registry.js';
import { buildProgram } from '../../src/program.js';
import { runVnode } from '../helpers/run.js';

/** The vnode part of an example line, split as a shell would (quotes kept simple). */
function argvOf(example: string): string[] | undefined {
  const at = example.indexOf('vnode ');
  if (at < 0) return undefined;
  const rest = example.slice(at + 6).split(/\)|\s[|<>]\s?/)[0]!;
  return (rest.match(/"[^"]*"|'[^']*'|\S+/g) ?? []).map((w) => w.replace(/^["']|["']$/g, ''));
}

describe('help', () => {
  it('lists commands in the order of the workflow, sandbox last', async () => {
    const r = await runVnode(['--help']);
    const listed = [...r.stdout.split('Commands:')[1]!.split('Workflow:')[0]!.matchAll(/^ {2}([a-z_]+)/gm)].map((m) => m[1]);
    assert.deepEqual(listed, ['ram', 'secret', 'kubeconfig', 'cluster', 'install', 'status', 'cost', 'scheduling', 'doctor', 'update', 'config', 'drain', 'uninstall', 'schema', 'completion', 'sandbox', 'help']);
  });

  it('every group\'s help ends with examples of its commands, then its docs page', async () => {
    for (const g of ['ram', 'secret', 'cluster', 'scheduling', 'config', 'sandbox']) {
      const r = await runVnode([g, '--help']);
      assert.match(r.stdout, new RegExp(`Examples:\\n(  .*vnode ${g} .*\\n){1,4}\\nDocs: docs/[a-z-]+\\.md \\(in vnode's package\\)\\n?$`), g);
    }
  });

  it('every command\'s help ends with 2-4 examples and its docs page, and each example parses with the flags the command has', async () => {
    for (const entry of commands.filter((c) => !c.hidden)) {
      const r = await runVnode([...entry.path, '--help']);
      const docs = /\nDocs: (docs\/[a-z-]+\.md) \(in vnode's package\)\n?$/.exec(r.stdout);
      assert.ok(docs && existsSync(path.resolve(import.meta.dirname, '../..', docs[1]!)), `${entry.path.join(' ')} --help ends with its docs page`);
      const tail = r.stdout.split('Examples:\n')[1]?.split('\nDocs: ')[0];
      assert.ok(tail, `${entry.path.join(' ')} --help has examples`);
      const shown = tail.trimEnd().split('\n');
      assert.ok(shown.length >= 1 && shown.length <= 4, `${entry.path.join(' ')}: ${shown.length} examples`);
      if (!entry.path.includes('sandbox') || entry.path[1] !== 'serve') assert.ok(entry.examples.length >= (entry.path[0] === 'sandbox' || entry.path[0] === 'config' ? 1 : 2), entry.path.join(' '));
      for (const ex of entry.examples) {
        const argv = argvOf(ex);
        assert.ok(argv, ex);
        const deps = { streams: { stdin: process.stdin, stdout: process.stdout, stderr: process.stderr }, env: {}, cwd: process.cwd(), signal: new AbortController().signal };
        const program = await buildProgram(argv, deps);
        let cmd: Command = program;
        for (const p of entry.path) cmd = cmd.commands.find((c) => c.name() === p)!;
        let ran = false;
        cmd.action(() => { ran = true; });
        await program.parseAsync(argv, { from: 'user' });
        assert.ok(ran, `example parses: ${ex}`);
      }
    }
  });
});

describe('vnode completion', () => {
  const complete = (script: string, words: string[], bin: string): string[] => {
    const line = words.map((w) => `'${w}'`).join(' ');
    const r = spawnSync('bash', ['-c', `${script}\nCOMP_WORDS=(${line}); COMP_CWORD=${words.length - 1}; _vnode; printf '%s\\n' "\${COMPREPLY[@]}"`],
      { env: { PATH: `${bin}:${process.env.PATH}` } });
    assert.equal(r.status, 0, r.stderr.toString());
    return r.stdout.toString().split('\n').filter(Boolean);
  };

  it('bash: subcommands, flags of the command being typed, and installed names from the cluster', async () => {
    const r = await runVnode(['completion', 'bash']);
    assert.equal(r.code, 0, r.stderr);
    const bin = mkdtempSync(path.join(tmpdir(), 'vnode-bin-'));
    // the script asks `vnode __nodes` for names; a stand-in answers here
    writeFileSync(path.join(bin, 'vnode'), '#!/bin/sh\n[ "$1" = __nodes ] && printf "vnode-sa\\ncn-hangzhou.vnd-1\\n"\n');
    chmodSync(path.join(bin, 'vnode'), 0o755);
    assert.deepEqual(complete(r.stdout, ['vnode', ''], bin), ['ram', 'secret', 'kubeconfig', 'cluster', 'install', 'status', 'cost', 'scheduling', 'doctor', 'update', 'config', 'drain', 'uninstall', 'schema', 'completion', 'sandbox']);
    assert.deepEqual(complete(r.stdout, ['vnode', 'ram', ''], bin), ['grant', 'revoke', 'operator-policy']);
    assert.deepEqual(complete(r.stdout, ['vnode', '--kubeconfig', 'k', 'install', '--vs'], bin), ['--vswitch']);
    assert.deepEqual(complete(r.stdout, ['vnode', 'install', '--mode', 'addon', '--cluster-n'], bin), ['--cluster-name']);
    assert.deepEqual(complete(r.stdout, ['vnode', 'cluster', ''], bin), ['register', 'status', 'deregister']);
    assert.deepEqual(complete(r.stdout, ['vnode', 'uninstall', ''], bin), ['vnode-sa', 'cn-hangzhou.vnd-1']);
    assert.deepEqual(complete(r.stdout, ['vnode', 'config', 'set', 'kube'], bin), ['kube-proxy=true', 'kube-proxy=false']);
    assert.deepEqual(complete(r.stdout, ['vnode', 'status', '--out'], bin), ['--output']);
  });

  it('zsh wraps the bash function; fish lists commands and flags; another shell exits 2', async () => {
    const zsh = await runVnode(['completion', 'zsh']);
    assert.match(zsh.stdout, /^#compdef vnode\n[\s\S]*bashcompinit[\s\S]*complete -F _vnode vnode/);
    const fish = await runVnode(['completion', 'fish']);
    assert.match(fish.stdout, /complete -c vnode -n '__fish_use_subcommand' -a 'install' -d /);
    assert.match(fish.stdout, /complete -c vnode -n '__fish_seen_subcommand_from install' -l vswitch -r /);
    const bad = await runVnode(['completion', 'tcsh']);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /'tcsh' is invalid.*bash, zsh, fish/);
  });
});
