// 'zod' in the bundle: see not-in-agent.cjs.
/* eslint-disable @typescript-eslint/no-require-imports -- CommonJS on purpose: which module it is must be decided as it loads */
'use strict';
const { leftOut, standInZod } = require('./not-in-agent.cjs');
module.exports = leftOut() ? standInZod() : require('zod');
