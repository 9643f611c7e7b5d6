// examples/read-file.js - zero-copy file read: the kernel writes straight into a context Buffer,
// and withContext deletes the context once the async function has settled.
// Run: node examples/read-file.js [file]
'use strict';
const fsp = require('node:fs/promises');
const { withContext } = require('..');

async function checksum(file) {
  return withContext(async (ctx) => {
    const fh = await fsp.open(file, 'r');
    try {
      const { size } = await fh.stat();
      const buf = ctx.allocUnsafe(size); // large files get a chunk (and ArrayBuffer) of their own
      const { bytesRead } = await fh.read(buf, 0, size, 0); // completes before withContext deletes
      let sum = 0;
      for (let i = 0; i < bytesRead; i++) sum = (sum + buf[i]) >>> 0;
      return { bytesRead, sum }; // numbers, not the Buffer: it dies with the context
    } finally {
      await fh.close();
    }
  }, { name: 'read-file' });
}

checksum(process.argv[2] || __filename).then((r) => console.log(r));
