// The least a Node.js CTAPHID server can do before its first answer, for the cold-start benchmark
// (bench/run.mjs): listen on loopback, say where, answer INIT, and answer the next message with
// status 0 and no body. No CLI, no vault, no CBOR, no signature, nothing of Latchkey's.
//
// Its start, next to `node -e 0`, is what a Node server that answers over a socket costs before it
// does any work at all (the `net` module, a listening socket, two round trips with the client); what
// Latchkey adds on top is the difference between its start and this one.
//
// Framing per CTAP 2.2 §11.2.4: a 64-byte initialization packet is CID (4) ‖ CMD with bit 7 set (1) ‖
// BCNT big-endian (2) ‖ 57 bytes of data; a continuation packet is CID (4) ‖ SEQ (1) ‖ 59 bytes.
'use strict';
const net = require('node:net');

const REPORT = 64;
const INIT = 0x86;
const BROADCAST = 0xffffffff;

const server = net.createServer((socket) => {
  let pending = Buffer.alloc(0);
  let header = Buffer.alloc(5); // channel and command of the message being received
  let missing = 0;
  socket.on('data', (chunk) => {
    pending = Buffer.concat([pending, chunk]);
    while (pending.length >= REPORT) {
      const packet = pending.subarray(0, REPORT);
      pending = pending.subarray(REPORT);
      if ((packet[4] & 0x80) === 0) {
        missing -= REPORT - 5;
      } else if (packet[4] === INIT) {
        const reply = Buffer.alloc(REPORT);
        reply.writeUInt32BE(BROADCAST, 0);
        reply[4] = INIT;
        reply.writeUInt16BE(17, 5);
        packet.copy(reply, 7, 7, 15); // the client's nonce
        reply.writeUInt32BE(1, 15); // its new channel
        reply[19] = 2; // CTAPHID protocol version
        reply[23] = 0x04; // capabilities: CBOR
        socket.write(reply);
        continue;
      } else {
        header = Buffer.from(packet.subarray(0, 5));
        missing = packet.readUInt16BE(5) - (REPORT - 7);
      }
      if (missing <= 0) {
        const reply = Buffer.alloc(REPORT);
        header.copy(reply, 0);
        reply.writeUInt16BE(1, 5); // one byte of data: status 0
        socket.write(reply);
      }
    }
  });
  socket.on('error', () => socket.destroy());
});
server.listen(0, '127.0.0.1', () => {
  process.stdout.write(`latchkey: CTAPHID listening on 127.0.0.1:${server.address().port}\n`);
});
process.on('SIGTERM', () => process.exit(0));
