// test/reliability/support/register.js - owns the TypeScript loader of the reliability tests'
// worker threads and child processes: transpiles .ts on the fly (no type check; jest type-checks
// the same files), so workers load the facade from lib/ and never a stale dist/.
'use strict';
const fs = require('fs');
const ts = require('typescript');

require.extensions['.ts'] = function compileTs(module, filename) {
  const source = fs.readFileSync(filename, 'utf8');
  const out = ts.transpileModule(source, {
    fileName: filename,
    compilerOptions: { module: ts.ModuleKind.CommonJS, target: ts.ScriptTarget.ES2022, esModuleInterop: true },
  });
  module._compile(out.outputText, filename);
};
