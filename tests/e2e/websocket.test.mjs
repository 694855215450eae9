// chatd's own RFC 6455 framing, byte by byte over a raw TCP socket: the
// handshake, fragmentation, control frames, pipelining, and the close codes
// for malformed input. (Well-behaved clients are covered by every other test.)
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import crypto from 'node:crypto';
import { startChatd } from './lib/chatd.mjs';

let chatd;
before(async () => { chatd = await startChatd({ server: { max_frame_bytes: 4096 } }); });
after(async () => { await chatd.stop(); });

const OP = { continuation: 0, text: 1, binary: 2, close: 8, ping: 9, pong: 10 };

// A client frame, masked (as RFC 6455 requires) unless told otherwise.
function frame(opcode, payload, { fin = true, masked = true } = {}) {
  const body = Buffer.isBuffer(payload) ? payload : Buffer.from(payload);
  const head = [(fin ? 0x80 : 0) | opcode];
  const mask = masked ? 0x80 : 0;
  if (body.length < 126) head.push(mask | body.length);
  else head.push(mask | 126, body.length >> 8, body.length & 0xff);
  if (!masked) return Buffer.concat([Buffer.from(head), body]);
  const key = crypto.randomBytes(4);
  const out = Buffer.from(body);
  for (let i = 0; i < out.length; ++i) out[i] ^= key[i & 3];
  return Buffer.concat([Buffer.from(head), key, out]);
}

class RawClient {
  static async open(url, { version = '13' } = {}) {
    const { hostname, port, pathname } = new URL(url);
    const c = new RawClient();
    c.key = crypto.randomBytes(16).toString('base64');
    c.socket = net.connect(Number(port), hostname);
    c.buffer = Buffer.alloc(0);
    c.frames = [];
    c.waiters = [];
    c.ended = new Promise((resolve) => c.socket.on('close', resolve));
    c.socket.on('error', () => {});
    c.socket.on('data', (d) => c.#data(d));
    await new Promise((resolve) => c.socket.once('connect', resolve));
    c.socket.write(`GET ${pathname} HTTP/1.1\r\nHost: ${hostname}\r\nUpgrade: websocket\r\n` +
      `Connection: Upgrade\r\nSec-WebSocket-Key: ${c.key}\r\nSec-WebSocket-Version: ${version}\r\n\r\n`);
    c.head = await new Promise((resolve) => { c.onHead = resolve; });
    return c;
  }

  #data(d) {
    this.buffer = Buffer.concat([this.buffer, d]);
    if (this.onHead) {
      const end = this.buffer.indexOf('\r\n\r\n');
      if (end < 0) return;
      const head = this.buffer.subarray(0, end).toString();
      this.buffer = this.buffer.subarray(end + 4);
      const resolve = this.onHead;
      this.onHead = null;
      resolve(head);
    }
    for (;;) {
      if (this.buffer.length < 2) return;
      let length = this.buffer[1] & 0x7f;
      let offset = 2;
      if (length === 126) { length = this.buffer.readUInt16BE(2); offset = 4; }
      if (this.buffer.length < offset + length) return;
      const f = { opcode: this.buffer[0] & 0x0f, payload: this.buffer.subarray(offset, offset + length) };
      this.buffer = this.buffer.subarray(offset + length);
      this.frames.push(f);
      this.waiters = this.waiters.filter((w) => !w());
    }
  }

  // Resolves with the frames once `count` have arrived (bounded in time).
  next(count) {
    return new Promise((resolve, reject) => {
      const check = () => {
        if (this.frames.length < count) return false;
        resolve(this.frames.splice(0, count));
        return true;
      };
      if (check()) return;
      this.waiters.push(check);
      setTimeout(() => reject(new Error(`only ${this.frames.length} of ${count} frames`)), 5000);
    });
  }

  send(buffer) { this.socket.write(buffer); }
}

const closeCode = (f) => f.payload.readUInt16BE(0);
const json = (f) => JSON.parse(f.payload.toString());

test('the handshake answers Sec-WebSocket-Accept per RFC 6455; a bad version is refused', async () => {
  const c = await RawClient.open(chatd.url);
  const expected = crypto.createHash('sha1')
    .update(c.key + '258EAFA5-E914-47DA-95CA-C5AB0DC85B11').digest('base64');
  assert.match(c.head, /^HTTP\/1\.1 101/);
  assert.match(c.head, new RegExp(`Sec-WebSocket-Accept: ${expected.replace(/[+/]/g, '\\$&')}`, 'i'));
  c.socket.destroy();
  const bad = await RawClient.open(chatd.url, { version: '8' });
  assert.match(bad.head, /^HTTP\/1\.1 400/);
  bad.socket.destroy();
});

test('a fragmented message with a ping in between: one answer, and a pong with the ping payload', async () => {
  const c = await RawClient.open(chatd.url);
  const text = JSON.stringify({ seq: 7, op: 'getServerTime' });
  c.send(frame(OP.text, text.slice(0, 5), { fin: false }));
  c.send(frame(OP.ping, 'are you there'));
  c.send(frame(OP.continuation, text.slice(5, 12), { fin: false }));
  c.send(frame(OP.continuation, text.slice(12)));
  const [pong, answer] = await c.next(2);
  assert.equal(pong.opcode, OP.pong);
  assert.equal(pong.payload.toString(), 'are you there');
  assert.equal(answer.opcode, OP.text);
  assert.equal(json(answer).seq, 7);
  assert.equal(json(answer).code, 0);
  c.socket.destroy();
});

test('frames pipelined in one TCP write are all answered, in order', async () => {
  const c = await RawClient.open(chatd.url);
  const burst = Buffer.concat(Array.from({ length: 50 }, (_, i) =>
    frame(OP.text, JSON.stringify({ seq: i + 1, op: 'isReady' }))));
  c.send(burst);
  const answers = await c.next(50);
  assert.deepEqual(answers.map((f) => json(f).seq), Array.from({ length: 50 }, (_, i) => i + 1));
  c.socket.destroy();
});

test('malformed input closes with its code and a reason: 1007, 1009, 1002', async () => {
  const cases = [
    { bytes: frame(OP.text, Buffer.from([0x7b, 0xc3, 0x28, 0x7d])), code: 1007 },  // bad UTF-8
    { bytes: frame(OP.text, 'x'.repeat(5000)), code: 1009 },
    { bytes: frame(OP.text, '{}', { masked: false }), code: 1002 },
    { bytes: frame(OP.continuation, 'orphan'), code: 1002 },
  ];
  for (const { bytes, code } of cases) {
    const c = await RawClient.open(chatd.url);
    c.send(bytes);
    const [close] = await c.next(1);
    assert.equal(close.opcode, OP.close);
    assert.equal(closeCode(close), code);
    assert.ok(close.payload.length > 2, `close ${code} carries a reason`);
    await c.ended;  // and the server closes the TCP connection
  }
});

test('a client close is answered with the same code, then the server closes TCP', async () => {
  const c = await RawClient.open(chatd.url);
  const payload = Buffer.from([0x0f, 0xa0]);  // 4000
  c.send(frame(OP.close, payload));
  const [close] = await c.next(1);
  assert.equal(close.opcode, OP.close);
  assert.equal(closeCode(close), 4000);
  await c.ended;
});
