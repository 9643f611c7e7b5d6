// native/binding/sources.js - lists the addon's sources for binding.gyp: every C file of the core
// (native/src/*.c) and every binding file (native/binding/*.cc), as the CMake build globs them too,
// so a file added to either folder is compiled by both builds without editing a list.
'use strict';
const fs = require('fs');
const path = require('path');

const root = path.join(__dirname, '..', '..');
const listed = [['native/src', '.c'], ['native/binding', '.cc']].flatMap(([dir, ext]) =>
  fs.readdirSync(path.join(root, dir)).filter((f) => f.endsWith(ext)).sort().map((f) => `${dir}/${f}`));
process.stdout.write(listed.join('\n') + '\n');
