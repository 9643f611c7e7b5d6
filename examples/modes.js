// examples/modes.js - the two release modes side by side: what a Buffer kept past delete() sees.
// Run: node examples/modes.js
'use strict';
const { MemoryContext } = require('..');

for (const releaseMode of ['detach', 'reserve']) {
  const ctx = new MemoryContext({ releaseMode });
  const kept = ctx.alloc(8, 'a');
  ctx.delete();
  // detach: the view is empty (length 0); reserve: it still reads its own old bytes, and the
  // memory is reused only after the Buffer has been garbage-collected.
  console.log(releaseMode, 'length after delete:', kept.length, JSON.stringify(kept.toString()));
}
