import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import type { Command } from 'commander';
import { commands, groups } from '../../src/commands/registry.js';
import { buildProgram } from '../../src/program.js';
import { globalOptions } from '../../src/commands/global-options.js';

const root = path.resolve(import.meta.dirname, '../..');
const pages = readdirSync(path.join(root, 'docs')).filter((f) => f.endsWith('.md'));
const docs = pages.map((f) => ({ page: f, text: readFileSync(path.join(root, 'docs', f), 'utf8') }));
const all = docs.map((d) => d.text).join('\n');

/** The long flags a command declares once configured (what its --help shows), with --no-x as given. */
async function flagsOf(entryPath: string[]): Promise<string[]> {
  const deps = { streams: { stdin: process.stdin, stdout: process.stdout, stderr: process.stderr }, env: {}, cwd: root, signal: new AbortController().signal };
  const program = await buildProgram([...entryPath, '--help'], deps);
  let cmd: Command = program;
  for (const p of entryPath) cmd = cmd.commands.find((c) => c.name() === p)!;
  return cmd.options.map((o) => o.long).filter((l): l is string => Boolean(l));
}

const GLOBAL = globalOptions().map((o) => o.long!).concat(['--help', '--version']);

/** `vnode …` invocations the pages show: inline code spans and code-block lines. */
function invocations(text: string): string[] {
  const spans = [...text.matchAll(/`([^`\n]+)`/g)].map((m) => m[1]!);
  const blocks = [...text.matchAll(/```[a-z]*\n([\s\S]*?)```/g)].flatMap((m) => m[1]!.split('\n'));
  return [...spans, ...blocks].flatMap((s) => [...s.matchAll(/(?:^|[\s($"])vnode ([^#|;&)]*)/g)].map((m) => m[1]!.trim()));
}

describe('docs/ and the CLI in step', () => {
  it('every command and every flag --help shows appears in docs/', async () => {
    const missing: string[] = [];
    for (const entry of commands.filter((c) => !c.hidden)) {
      const name = `vnode ${entry.path.join(' ')}`;
      if (!all.includes(name)) missing.push(name);
      for (const flag of await flagsOf(entry.path)) if (!all.includes(flag)) missing.push(`${name} ${flag}`);
    }
    for (const flag of GLOBAL) if (!all.includes(flag)) missing.push(flag);
    assert.deepEqual(missing, [], 'not documented');
  });

  it('no page names a vnode command or flag that does not exist', async () => {
    const leaves = commands.map((c) => c.path.join(' '));
    const wrong: string[] = [];
    for (const { page, text } of docs) {
      for (const inv of invocations(text)) {
        const words = inv.split(/\s+/);
        const cmdWords: string[] = [];
        for (const w of words) {
          if (w.startsWith('-') || w.startsWith('<') || w.startsWith('[')) break;
          const next = [...cmdWords, w].join(' ');
          if (!leaves.some((l) => l === next || l.startsWith(`${next} `)) && !groups.some((g) => g.name === next)) break;
          cmdWords.push(w);
        }
        const path = cmdWords.join(' ');
        const first = words[0] ?? '';
        if (!path) {
          // `vnode --help`, `vnode <command>` placeholders, or prose such as "vnode's"
          if (first.startsWith('--') && !GLOBAL.includes(first.split('=')[0]!)) wrong.push(`${page}: vnode ${inv}`);
          else if (/^[a-z][a-z-]+$/.test(first) && !['is', 'and', 'does', 'never', 'uses', 'has', 'runs'].includes(first)) wrong.push(`${page}: vnode ${first} (no such command)`);
          continue;
        }
        const known = new Set(GLOBAL);
        for (const c of commands.filter((x) => x.path.join(' ') === path || x.path.join(' ').startsWith(`${path} `))) for (const f of await flagsOf(c.path)) known.add(f);
        for (const w of words.slice(cmdWords.length)) {
          const flag = /^--[a-z][a-z0-9-]*/.exec(w)?.[0];
          if (flag && !known.has(flag)) wrong.push(`${page}: vnode ${path} ${flag}`);
        }
      }
    }
    assert.deepEqual(wrong, []);
  });
});

describe('error codes are a contract: docs/conventions.md lists every one', () => {
  it('every code vnode raises (usage, operation, interrupted) appears there', () => {
    const files = (dir: string): string[] => readdirSync(dir, { withFileTypes: true }).flatMap((d) => (d.isDirectory() ? files(path.join(dir, d.name)) : d.name.endsWith('.ts') ? [path.join(dir, d.name)] : []));
    const codes = new Set<string>();
    for (const f of files('src')) {
      for (const m of readFileSync(f, 'utf8').matchAll(/(?:usageError|operationError)\('([A-Za-z.]+)'|VnodeError\('(?:usage|operation|interrupted)', '([A-Za-z.]+)'/g)) codes.add(m[1] ?? m[2]!);
    }
    assert.ok(codes.size > 100, `found ${codes.size} codes`);
    const doc = readFileSync('docs/conventions.md', 'utf8');
    assert.deepEqual([...codes].filter((c) => !doc.includes(`\`${c}\``)).sort(), []);
  });
});
