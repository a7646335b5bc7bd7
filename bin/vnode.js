#!/usr/bin/env node
'use strict';
const argv = process.argv.slice(2);
// help and version need no command module: answered from the CommonJS build, without Node's ES module loader
const quick = argv.length === 0 || (argv.length === 1 && ['--help', '-h', '--version', 'help'].includes(argv[0]));
if (quick) require('../dist/quick.cjs').main(argv);
else import('../dist/bundle/main.js').then((m) => m.main(argv));
