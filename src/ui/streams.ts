import type { Readable, Writable } from 'node:stream';

export type OutStream = Writable & { isTTY?: boolean; columns?: number };
export type InStream = Readable & { isTTY?: boolean };

/** The process streams of one run; tests pass their own. */
export interface Streams {
  stdin: InStream;
  stdout: OutStream;
  stderr: OutStream;
}
