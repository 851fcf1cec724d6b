#!/usr/bin/env node
// The gtidflow CLI: runs the TypeScript sources directly through tsx.
require('tsx/cjs');
require('./cli.ts').main(process.argv.slice(2));
