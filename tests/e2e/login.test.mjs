// The login life cycle and every request error, against a real chatd.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import WebSocket from 'ws';
import { startChatd, appConfig, Client, sig, sigAt, APP, KEY, OTHER_APP, OTHER_KEY, sleep } from './lib/chatd.mjs';

let chatd;
before(async () => {
  chatd = await startChatd({
    server: { max_frame_bytes: 4096, idle_timeout_s: 2 },
    apps: [appConfig(), appConfig({ sdkappid: OTHER_APP, secret_key: OTHER_KEY })],
  });
});
after(async () => { await chatd.stop(); });

const connect = () => Client.connect(chatd.url);

test('login answers first, then sdkStateReady, with the contract fields', async () => {
  const c = await connect();
  const before = Date.now();
  const r = await c.login('alice');
  assert.equal(r.code, 0);
  assert.equal(r.data.userID, 'alice');
  assert.equal(r.data.platform, 'Web');
  assert.equal(r.data.repeatLogin, false);
  assert.match(r.data.instanceID, /^\d+$/);
  assert.ok(Math.abs(r.data.serverTime - before) < 5000);
  assert.ok(r.data.sigExpireAt > Date.now() + 86000 * 1000);
  const ready = await c.waitEvent('sdkStateReady');
  assert.deepEqual(ready.data, { userID: 'alice', instanceID: r.data.instanceID });
  // Order on the wire: the response frame precedes the event frame.
  const responseIndex = c.frames.findIndex((f) => f.seq === r.seq);
  const readyIndex = c.frames.findIndex((f) => f.event === 'sdkStateReady');
  assert.ok(responseIndex < readyIndex);
  assert.equal((await c.request('getLoginUser')).data.userID, 'alice');
  assert.equal((await c.request('isReady')).data.ready, true);
  c.close();
});

test('a second login on the same connection is a repeatLogin that changes nothing', async () => {
  const c = await connect();
  const first = await c.login('bob');
  const again = await c.login('carol');
  assert.equal(again.code, 0);
  assert.equal(again.data.repeatLogin, true);
  assert.equal(again.data.instanceID, first.data.instanceID);
  assert.match(again.data.errorInfo, /bob/);
  assert.equal((await c.request('getLoginUser')).data.userID, 'bob');
  assert.equal(c.eventNames().filter((n) => n === 'sdkStateReady').length, 1);
  c.close();
});

test('a login while one is in flight gets 2025', async () => {
  const c = await connect();
  // Both frames in one TCP segment, so the second surely arrives in flight.
  c.ws._socket.cork();
  const first = c.login('dora');
  const second = c.login('dora');
  c.ws._socket.uncork();
  const [a, b] = await Promise.all([first, second]);
  assert.equal(a.code, 0);
  assert.equal(b.code, 2025);
  c.close();
});

test('request errors: 2000, 2002, 2003, 7003, 2017, 2024, 2905, 60003', async () => {
  const c = await connect();
  const s = sig('erin');
  const codeOf = async (data) => (await c.request('login', data)).code;
  assert.equal(await codeOf({ userID: 'erin', userSig: s }), 2000);
  assert.equal(await codeOf({ SDKAppID: APP, userSig: s }), 2002);
  assert.equal(await codeOf({ SDKAppID: APP, userID: 'erin' }), 2003);
  assert.equal(await codeOf({ SDKAppID: APP, userID: 'x'.repeat(33), userSig: s }), 7003);
  assert.equal(await codeOf({ SDKAppID: APP, userID: 'bad\u00e9', userSig: s }), 7003);
  assert.equal(await codeOf({ SDKAppID: APP, userID: 'erin', userSig: s, platform: 'Palm' }), 2017);
  assert.equal((await c.request('logout')).code, 2024);
  assert.equal((await c.request('renewUserSig', { userSig: s })).code, 2024);
  assert.equal((await c.request('teleport')).code, 2905);
  // Bad JSON: 60003 with seq 0, and the connection stays usable.
  c.ws.send('{not json');
  await sleep(100);
  const bad = c.frames.find((f) => f.code === 60003);
  assert.equal(bad.seq, 0);
  c.send({ seq: 77, data: {} });
  await sleep(100);
  assert.ok(c.frames.some((f) => f.seq === 77 && f.code === 60003));
  assert.equal((await c.request('ping')).code, 0);
  c.close();
});

test('every UserSig failure code, in contract order', async () => {
  const c = await connect();
  const codeOf = async (user, userSig, sdkappid = APP) =>
    (await c.login(user, { userSig, sdkappid })).code;
  const now = Math.floor(Date.now() / 1000);
  assert.equal(await codeOf('fay', sig('fay'), 1234), 70020);
  assert.equal(await codeOf('fay', ''), 70002);
  assert.equal(await codeOf('fay', 'garbage!!'), 70003);
  assert.equal(await codeOf('fay', 'eJyrVgrxCdYrSy1SslIy0jNQ0gHzM1NS80oy0zLBwhWZiflZpXlQqeKU7MSC'), 70003);
  assert.equal(await codeOf('fay', sig('fay', { sdkappid: OTHER_APP })), 70014);
  assert.equal(await codeOf('fay', sig('Fay')), 70013);
  assert.equal(await codeOf('fay', sig('fay', { key: KEY + 'x' })), 70009);
  assert.equal(await codeOf('fay', sigAt('fay', now - 100, 10)), 70001);
  // The other app with its own key works.
  assert.equal(await codeOf('fay', sig('fay', { sdkappid: OTHER_APP, key: OTHER_KEY }), OTHER_APP), 0);
  c.close();
});

test('logout takes only this instance offline with sdkStateNotReady 3005', async () => {
  const c = await connect();
  await c.login('gus');
  const r = await c.request('logout');
  assert.equal(r.code, 0);
  const notReady = await c.waitEvent('sdkStateNotReady');
  assert.equal(notReady.data.reason, 3005);
  assert.equal((await c.request('isReady')).data.ready, false);
  assert.equal((await c.request('getLoginUser')).data.userID, '');
  // The connection may log in again.
  assert.equal((await c.login('gus')).code, 0);
  c.close();
});

test('getServerTime and ping report the server clock in ms', async () => {
  const c = await connect();
  for (const op of ['getServerTime', 'ping']) {
    const r = await c.request(op);
    assert.equal(r.code, 0);
    assert.ok(Math.abs(r.data.serverTime - Date.now()) < 5000);
  }
  c.close();
});

test('destroy logs out, answers, then closes with 1000', async () => {
  const c = await connect();
  await c.login('hal');
  const r = await c.request('destroy');
  assert.equal(r.code, 0);
  const closed = await c.closed;
  assert.equal(closed.code, 1000);
  assert.deepEqual(c.eventNames(), ['sdkStateReady', 'sdkStateNotReady']);
  // hal is offline: a new login of hal kicks no one.
  const d = await connect();
  await d.login('hal');
  await sleep(200);
  assert.ok(!d.eventNames().includes('kickedOut'));
  d.close();
});

test('renewUserSig replaces the sig of a live instance', async () => {
  const c = await connect();
  await c.login('ivy', { userSig: sig('ivy', { expire: 100 }) });
  const r = await c.request('renewUserSig', { userSig: sig('ivy', { expire: 5000 }) });
  assert.equal(r.code, 0);
  assert.ok(r.data.sigExpireAt > Date.now() + 4000 * 1000);
  assert.equal((await c.request('renewUserSig', { userSig: sig('ivy', { key: 'wrong' }) })).code, 70009);
  assert.equal((await c.request('renewUserSig', { userSig: sig('someone') })).code, 70013);
  assert.equal((await c.request('renewUserSig', {})).code, 2003);
  c.close();
});

test('an oversize frame closes the connection with 1009', async () => {
  const c = await connect();
  c.send({ seq: 1, op: 'ping', data: { pad: 'x'.repeat(5000) } });
  const closed = await c.closed;
  assert.equal(closed.code, 1009);
  assert.equal(closed.reason, 'message too big');
});

test('a binary frame closes the connection with 1003', async () => {
  const c = await connect();
  c.ws.send(Buffer.from('{"seq":1,"op":"ping"}'), { binary: true });
  const closed = await c.closed;
  assert.equal(closed.code, 1003);
});

test('an idle connection is closed after the idle timeout', async () => {
  const c = await connect();
  const started = Date.now();
  const closed = await c.closed;
  assert.equal(closed.code, 1000);
  assert.equal(closed.reason, 'idle timeout');
  assert.ok(Date.now() - started >= 1500);
});

test('other paths and plain HTTP: 404, /healthz, /readyz', async () => {
  const other = new WebSocket(`ws://${chatd.gateway}/elsewhere`);
  const err = await new Promise((resolve) => other.on('unexpected-response', (req, res) => resolve(res.statusCode)));
  assert.equal(err, 404);
  assert.equal((await fetch(`http://${chatd.gateway}/healthz`)).status, 200);
  assert.equal((await fetch(`http://${chatd.gateway}/readyz`)).status, 200);
});
