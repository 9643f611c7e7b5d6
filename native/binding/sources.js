// native/binding/sources.js - prints the C core's MEMCTX_SOURCES list from CMakeLists.txt, so that
// binding.gyp (node-gyp) and CMake compile the same files and cannot drift apart.
'use strict';
const fs = require('fs');
const path = require('path');

const root = path.join(__dirname, '..', '..');
const text = fs.readFileSync(path.join(root, 'CMakeLists.txt'), 'utf8');
const m = /set\(MEMCTX_SOURCES([^)]*)\)/.exec(text);
if (!m) {
  process.stderr.write('native/binding/sources.js: set(MEMCTX_SOURCES ...) not found in CMakeLists.txt\n');
  process.exit(1);
}
process.stdout.write(m[1].trim().split(/\s+/).join('\n') + '\n');
