// The multi-instance rules of CONTRACT §3 over real connections.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { startChatd, stopAll, appConfig, Client, sig, sleep } from './lib/chatd.mjs';

const servers = [];
after(() => stopAll(servers));

async function serverWith(app) {
  const s = await startChatd({ apps: [appConfig(app)] });
  servers.push(s);
  return s;
}

async function loggedIn(server, user, platform = 'Web', userSig = sig(user)) {
  const c = await Client.connect(server.url);
  const r = await c.login(user, { platform, userSig });
  assert.equal(r.code, 0, JSON.stringify(r));
  await c.waitEvent('sdkStateReady');
  c.instanceID = r.data.instanceID;
  return c;
}

async function assertKicked(c, type, reason, by) {
  const kicked = await c.waitEvent('kickedOut');
  assert.equal(kicked.data.type, type);
  if (by) assert.deepEqual(kicked.data.by, { platform: by.platform, instanceID: by.instanceID });
  const notReady = await c.waitEvent('sdkStateNotReady');
  assert.equal(notReady.data.reason, reason);
  // kickedOut then sdkStateNotReady, and nothing else for that login.
  const names = c.eventNames();
  assert.deepEqual(names.slice(names.indexOf('kickedOut')), ['kickedOut', 'sdkStateNotReady']);
  // The connection stays open, logged out.
  assert.equal((await c.request('isReady')).data.ready, false);
}

test('limit 1: a second web login kicks the first with multipleAccount', async () => {
  const s = await serverWith({ max_web_instances: 1 });
  const first = await loggedIn(s, 'alice');
  const second = await loggedIn(s, 'alice');
  second.platform = 'Web';
  await assertKicked(first, 'multipleAccount', 3003, second);
  assert.equal((await second.request('isReady')).data.ready, true);
  // The kicked connection may log in again (and then kicks the other).
  assert.equal((await first.login('alice')).code, 0);
  await assertKicked(second, 'multipleAccount', 3003);
  first.close(); second.close();
});

test('limit 3: every fourth web login kicks the oldest, over many rounds', async () => {
  const s = await serverWith({ max_web_instances: 3 });
  const online = [];
  for (let round = 0; round < 20; ++round) {
    const c = await loggedIn(s, 'bob');
    online.push(c);
    if (online.length > 3) {
      const oldest = online.shift();
      await assertKicked(oldest, 'multipleAccount', 3003);
      oldest.close();
    }
    for (const o of online) assert.ok(!o.eventNames().includes('kickedOut'));
  }
  for (const c of online) c.close();
});

test('dual: an iPhone login kicks the Android with multipleDevice while Web stays', async () => {
  const s = await serverWith({ multi_device_policy: 'dual' });
  const android = await loggedIn(s, 'carol', 'Android');
  const web = await loggedIn(s, 'carol', 'Web');
  const iphone = await loggedIn(s, 'carol', 'iPhone');
  await assertKicked(android, 'multipleDevice', 3002, { platform: 'iPhone', instanceID: iphone.instanceID });
  await sleep(200);
  assert.ok(!web.eventNames().includes('kickedOut'));
  assert.equal((await web.request('isReady')).data.ready, true);
  android.close(); web.close(); iphone.close();
});

test('single: a web login kicks the native instance', async () => {
  const s = await serverWith({ multi_device_policy: 'single' });
  const mac = await loggedIn(s, 'dan', 'Mac');
  await loggedIn(s, 'dan', 'Web');
  await assertKicked(mac, 'multipleDevice', 3002);
  mac.close();
});

test('a sig that expires while online kicks with userSigExpired at that second', async () => {
  const s = await serverWith({});
  const c = await loggedIn(s, 'eve', 'Web', sig('eve', { expire: 2 }));
  const r = c.frames.find((f) => f.data && f.data.sigExpireAt);
  const kicked = await c.waitEvent('kickedOut', 6000);
  const at = Date.now();
  assert.equal(kicked.data.type, 'userSigExpired');
  assert.equal(kicked.data.by, undefined);
  assert.ok(at >= r.data.sigExpireAt - 50, `kicked ${r.data.sigExpireAt - at} ms early`);
  assert.ok(at < r.data.sigExpireAt + 1000, `kicked ${at - r.data.sigExpireAt} ms late`);
  assert.equal((await c.waitEvent('sdkStateNotReady')).data.reason, 3004);
  c.close();
});

test('renewUserSig before expiry prevents the expiry kick', async () => {
  const s = await serverWith({});
  const c = await loggedIn(s, 'fred', 'Web', sig('fred', { expire: 1 }));
  assert.equal((await c.request('renewUserSig', { userSig: sig('fred', { expire: 600 }) })).code, 0);
  await sleep(2500);
  assert.ok(!c.eventNames().includes('kickedOut'));
  assert.equal((await c.request('isReady')).data.ready, true);
  c.close();
});

test('closing a connection takes its instance offline: the next login kicks no one', async () => {
  const s = await serverWith({});
  const a = await loggedIn(s, 'gina');
  a.close();
  await a.closed;
  await sleep(100);
  const b = await loggedIn(s, 'gina');
  const c = await loggedIn(s, 'gina');
  await assertKicked(b, 'multipleAccount', 3003);
  b.close(); c.close();
});
