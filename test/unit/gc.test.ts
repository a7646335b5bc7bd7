import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { describe, it } from 'node:test';

const gcModule = path.resolve(import.meta.dirname, '../../src/util/gc.ts');

/**
 * Allocates ~300 MB of short-lived objects (some kept) in a fresh process; returns V8's largest new-space size and its
 * size when the call was made (start-up may have grown it already, more on newer V8), in MB.
 */
function newSpacePeak(call: 'keepYoungGenerationSmall' | 'none'): { peak: number; atCall: number } {
  const script = `
    import v8 from 'node:v8';
    const gc = await import(${JSON.stringify(gcModule)});
    const atCall = v8.getHeapSpaceStatistics().find((s) => s.space_name === 'new_space').space_size;
    if (${JSON.stringify(call)} !== 'none') gc[${JSON.stringify(call)}]();
    const keep = [];
    let peak = 0;
    for (let i = 0; i < 2e6; i++) {
      const o = { s: 'x'.repeat(40) + i, a: [i, { i }] };
      if (i % 500 === 0) keep.push(o);
      if (i % 10000 === 0) peak = Math.max(peak, v8.getHeapSpaceStatistics().find((s) => s.space_name === 'new_space').space_size);
    }
    process.stdout.write(JSON.stringify({ peak: peak / 1048576, atCall: atCall / 1048576 }));
  `;
  return JSON.parse(execFileSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { encoding: 'utf8' })) as { peak: number; atCall: number };
}

describe('memory for long runs', () => {
  it('keepYoungGenerationSmall stops V8 growing the young generation, which it otherwise does', () => {
    const grown = newSpacePeak('none').peak;
    const kept = newSpacePeak('keepYoungGenerationSmall');
    assert.ok(grown >= 8, `without the flag the young generation should grow past 8 MB (was ${grown} MB)`);
    // V8 12+ (Node 22+) still steps the young generation up a few MB with the flag: there it must stay under a third of its growth
    const bound = Number(process.versions.v8.split('.')[0]) >= 12 ? grown / 3 : Math.max(4, kept.atCall);
    assert.ok(kept.peak <= bound, `with the flag it should stay at most ${bound} MB on V8 ${process.versions.v8} (was ${kept.peak} MB; ${grown} MB without)`);
  });
});
