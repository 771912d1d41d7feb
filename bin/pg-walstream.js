#!/usr/bin/env node
'use strict';
require('../dist/cjs/src/cli/main.js').main(process.argv);
