// test/js/support/register.js - lets child processes and workers of the tests load the
// TypeScript facade straight from lib/ (transpiled on the fly, no type check): a crash in a child
// then fails its test instead of killing the jest runner, and no stale dist/ is ever tested.
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
