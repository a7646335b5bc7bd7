/**
 * Prints the path of a Node.js binary of the given major (`node --import tsx scripts/node-bin.ts 26`): npm's `node`
 * package at that major, installed once into vnode's cache (the same one the sandbox's worker uses).
 */
import { nodeForMajor } from '../src/sandbox/node-runtime.js';

const major = process.argv[2] ?? '';
console.log(await nodeForMajor(major, { log: (m) => console.error(m) }));
