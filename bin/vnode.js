#!/usr/bin/env node
'use strict';
const argv = process.argv.slice(2);
// help and version need no command module: answered from the CommonJS build, without Node's ES module loader
const quick = argv.length === 0 || (argv.length === 1 && ['--help', '-h', '--version', 'help'].includes(argv[0]));
if (quick) {
  const fs = require('node:fs');
  const path = require('node:path');
  const vm = require('node:vm');
  const { wrap } = require('node:module');
  const file = path.join(__dirname, '../dist/quick.cjs');
  // V8's code cache from the build: a cache of another Node version is rejected and the code compiled as usual
  let cachedData;
  try { cachedData = fs.readFileSync(`${file}.cache`); } catch { /* built without one */ }
  const script = new vm.Script(wrap(fs.readFileSync(file, 'utf8')), { filename: file, cachedData });
  const mod = { exports: {} };
  script.runInThisContext()(mod.exports, require, mod, file, path.dirname(file));
  mod.exports.main(argv);
} else {
  import('../dist/bundle/main.js').then((m) => m.main(argv));
}
