// test/docs/support/serve-once.js - preloaded (node -r) into each README snippet that runs: a
// server the snippet starts listens on a free port instead of its fixed one (the machine may use
// 8080), gets one GET request whose status and body are printed as `served <status> <body>`, and
// then the process exits, so that a snippet written as a long-running service ends.
'use strict';
const net = require('node:net');
const http = require('node:http');

const listen = net.Server.prototype.listen;
net.Server.prototype.listen = function listenOnAnyPort(...args) {
  if (typeof args[0] === 'number' || typeof args[0] === 'string' && /^\d+$/.test(args[0])) args[0] = 0;
  else if (args[0] !== null && typeof args[0] === 'object' && 'port' in args[0]) args[0] = { ...args[0], port: 0 };
  this.once('listening', () => {
    const { address, port } = this.address();
    http.get({ host: address, port, path: '/readme-check' }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d) => { body += d; });
      res.on('end', () => {
        process.stdout.write(`served ${res.statusCode} ${JSON.stringify(body)}\n`);
        process.exit(0);
      });
    }).on('error', (err) => {
      process.stderr.write(`serve-once: the request to the snippet's server failed: ${err.message}\n`);
      process.exit(1);
    });
  });
  return listen.apply(this, args);
};
