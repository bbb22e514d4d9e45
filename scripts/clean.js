#!/usr/bin/env node
// A build starts from an empty dist/: files of deleted sources must not linger and be packed.
'use strict';
const fs = require('node:fs');
const path = require('node:path');

fs.rmSync(path.join(__dirname, '..', 'dist'), { recursive: true, force: true });
