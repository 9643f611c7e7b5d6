// examples/http-server.js - a per-request memory context in an http server: every Buffer of the
// request comes from the context, and contextForResponse deletes it once the response has been
// handed to the OS ('finish') or the client went away ('close'). Run: node examples/http-server.js
'use strict';
const http = require('node:http');
const { contextForResponse, memoryStats } = require('..');

const server = http.createServer((req, res) => {
  const ctx = contextForResponse(res, { name: 'request' });
  const chunks = [];
  req.on('data', (d) => chunks.push(d));
  req.on('end', () => {
    // Scratch and output Buffers from the request's context: no GC work, freed in one call.
    const body = ctx.allocUnsafe(64 + chunks.reduce((n, c) => n + c.length, 0));
    const head = body.write(`you sent ${chunks.length} chunk(s): `);
    let off = head;
    for (const c of chunks) off += c.copy(body, off);
    res.setHeader('content-type', 'text/plain');
    res.end(body.subarray(0, off)); // zero-copy: the socket reads the context's memory
  });
});

server.listen(0, '127.0.0.1', () => {
  const { port } = server.address();
  const req = http.request({ port, host: '127.0.0.1', method: 'POST' }, (res) => {
    let text = '';
    res.setEncoding('utf8').on('data', (d) => (text += d)).on('end', () => {
      console.log(text);
      setTimeout(() => {
        const s = memoryStats();
        console.log(`live contexts ${s.liveContexts}, mapped ${s.mappedBytes} B, resident ${s.residentBytes} B, process RSS ${s.rssBytes} B`);
        server.close();
      }, 10);
    });
  });
  req.end('hello memctx');
});
