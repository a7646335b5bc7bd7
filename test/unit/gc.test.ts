import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { describe, it } from 'node:test';

const gcModule = path.resolve(import.meta.dirname, '../../src/util/gc.ts');

/** Allocates ~300 MB of short-lived objects (some kept) in a fresh process; returns V8's largest new-space size, in MB. */
function newSpacePeak(call: 'keepYoungGenerationSmall' | 'none'): number {
  const script = `
    import v8 from 'node:v8';
    const gc = await import(${JSON.stringify(gcModule)});
    if (${JSON.stringify(call)} !== 'none') gc[${JSON.stringify(call)}]();
    const keep = [];
    let peak = 0;
    for (let i = 0; i < 2e6; i++) {
      const o = { s: 'x'.repeat(40) + i, a: [i, { i }] };
      if (i % 500 === 0) keep.push(o);
      if (i % 10000 === 0) peak = Math.max(peak, v8.getHeapSpaceStatistics().find((s) => s.space_name === 'new_space').space_size);
    }
    process.stdout.write(String(peak / 1048576));
  `;
  return Number(execFileSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { encoding: 'utf8' }));
}

describe('memory for long runs', () => {
  it('keepYoungGenerationSmall stops V8 growing the young generation, which it otherwise does', () => {
    const grown = newSpacePeak('none');
    const kept = newSpacePeak('keepYoungGenerationSmall');
    assert.ok(grown >= 8, `without the flag the young generation should grow past 8 MB (was ${grown} MB)`);
    assert.ok(kept <= 4, `with the flag it should stay at most 4 MB (was ${kept} MB)`);
  });
});
