import assert from 'node:assert/strict';
import { getEventListeners } from 'node:events';
import { describe, it } from 'node:test';
import { childController, whenAborted } from '../../src/util/sleep.js';

describe('abort signals: what starts after a stop is stopped too', () => {
  it('a child ends with its parent, also when the parent already ended before the child was made', () => {
    const parent = new AbortController();
    const before = childController(parent.signal);
    assert.equal(before.signal.aborted, false);
    parent.abort();
    assert.equal(before.signal.aborted, true);
    // a listener added to an aborted signal never fires: the child is born aborted instead
    assert.equal(childController(parent.signal).signal.aborted, true);
    let ran = 0;
    whenAborted(parent.signal, () => ran++);
    assert.equal(ran, 1);
  });

  it('a child that ends on its own leaves no listener on its parent, and many children raise no leak warning', async () => {
    const parent = new AbortController();
    const warnings: string[] = [];
    const onWarning = (w: Error): void => { warnings.push(w.name); };
    process.on('warning', onWarning);
    try {
      const children = Array.from({ length: 50 }, () => childController(parent.signal));
      assert.equal(getEventListeners(parent.signal, 'abort').length, 50);
      for (const c of children) c.abort();
      assert.equal(getEventListeners(parent.signal, 'abort').length, 0);
      // warnings are emitted on a later tick
      await new Promise((r) => setImmediate(r));
    } finally {
      process.off('warning', onWarning);
    }
    assert.deepEqual(warnings.filter((w) => w === 'MaxListenersExceededWarning'), []);
  });
});
