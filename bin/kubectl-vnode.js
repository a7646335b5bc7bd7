#!/usr/bin/env node
'use strict';
// `kubectl vnode ...`: kubectl finds this bin on PATH and runs it with the arguments after `vnode`
require('./vnode.js');
