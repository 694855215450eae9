// The unmodified official Web SDK (@tencentcloud/chat 3.6.6, pinned) against
// a real chatd: one Node process per device, each bounded in time.
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { startChatd, appConfig, Client, sig, sleep, APP } from './lib/chatd.mjs';
import { SdkDevice } from './lib/sdk.mjs';

let chatd;
const devices = [];
before(async () => { chatd = await startChatd({ apps: [appConfig({ max_web_instances: 1 })] }); });
after(async () => {
  await Promise.all(devices.map((d) => d.stop()));
  await chatd.stop();
});

function device() {
  const d = SdkDevice.start(chatd, APP);
  devices.push(d);
  return d;
}

async function loggedIn(user, userSig = sig(user)) {
  const d = device();
  const r = await d.call('login', { userID: user, userSig });
  assert.equal(r.code, 0, JSON.stringify(r));
  await d.waitEvent('SDK_READY');
  return d;
}

async function assertKicked(d, type) {
  const kicked = await d.waitEvent('KICKED_OUT');
  assert.equal(kicked.type, type);
  const kickedAt = d.events.indexOf(kicked);
  await d.waitEvent('SDK_NOT_READY', { from: kickedAt });
  assert.equal((await d.call('isReady')).ready, false);
}

async function online(user) {
  const r = await chatd.rest('openim/query_online_status', { To_Account: [user], IsNeedDetail: 1 });
  return r.body.QueryResult?.[0]?.Detail ?? [];
}

test('login resolves with a UserSig from Tencent\'s generator, SDK_READY fires, getLoginUser and getServerTime are right', async () => {
  const d = await loggedIn('sdk-alice');
  assert.equal((await d.call('getLoginUser')).userID, 'sdk-alice');
  const { serverTime } = await d.call('getServerTime');
  assert.ok(Math.abs(serverTime - Date.now()) < 2000, `server time off by ${serverTime - Date.now()} ms`);
  assert.equal((await d.call('isReady')).ready, true);
  const detail = await online('sdk-alice');
  assert.deepEqual(detail.map((i) => i.Platform), ['Web']);
  await d.stop();
});

test('a second Web login kicks the first: KICKED_OUT multipleAccount, then SDK_NOT_READY', async () => {
  const first = await loggedIn('sdk-bob');
  const second = await loggedIn('sdk-bob');
  await assertKicked(first, 'multipleAccount');
  assert.equal((await second.call('isReady')).ready, true);
  assert.ok(!second.events.some((e) => e.event === 'KICKED_OUT'));
  await first.stop(); await second.stop();
});

test('a native-protocol login kicks an SDK instance, and an SDK login kicks a native one', async () => {
  const d = await loggedIn('sdk-carol');
  const native = await Client.connect(chatd.url);
  assert.equal((await native.login('sdk-carol')).code, 0);
  await assertKicked(d, 'multipleAccount');
  const d2 = await loggedIn('sdk-carol');
  const kicked = await native.waitEvent('kickedOut');
  assert.equal(kicked.data.type, 'multipleAccount');
  assert.equal((await native.waitEvent('sdkStateNotReady')).data.reason, 3003);
  native.close(); await d.stop(); await d2.stop();
});

test('a REST kick delivers REST_API_Kick', async () => {
  const d = await loggedIn('sdk-dave');
  assert.equal((await chatd.rest('im_open_login_svc/kick', { UserID: 'sdk-dave' })).body.ErrorCode, 0);
  await assertKicked(d, 'REST_API_Kick');
  await d.stop();
});

test('a 2 s UserSig delivers userSigExpired', async () => {
  const d = await loggedIn('sdk-erin', sig('sdk-erin', { expire: 2 }));
  const kicked = await d.waitEvent('KICKED_OUT', { timeoutMs: 30000 });
  assert.equal(kicked.type, 'userSigExpired');
  await d.waitEvent('SDK_NOT_READY', { from: d.events.indexOf(kicked) });
  assert.deepEqual(await online('sdk-erin'), []);
  await d.stop();
});

test('a UserSig made with the wrong key is rejected with 70009', async () => {
  const d = device();
  const r = await d.call('login', { userID: 'sdk-frank', userSig: sig('sdk-frank', { key: 'not-the-key' }) });
  assert.equal(r.code, 70009);
  assert.equal((await d.call('isReady')).ready, false);
  await d.stop();
});

test('logout resolves and fires SDK_NOT_READY; only that instance goes offline', async () => {
  const d = await loggedIn('sdk-gina');
  assert.equal((await d.call('logout')).code, 0);
  await d.waitEvent('SDK_NOT_READY');
  assert.deepEqual(await online('sdk-gina'), []);
  await d.stop();
});

test('after a server-side socket drop the SDK reconnects and is ready again without a new login()', async () => {
  const d = await loggedIn('sdk-hank');
  const [before] = await online('sdk-hank');
  const dropped = await chatd.rest('chatd_admin/drop_connections', { UserID: 'sdk-hank' });
  assert.equal(dropped.body.Dropped, 1);
  // The SDK re-logs in with its A2 on a new connection: a new instance appears.
  let after = [];
  for (let i = 0; i < 100 && !(after.length === 1 && after[0].InstanceID !== before.InstanceID); ++i) {
    await sleep(100);
    after = await online('sdk-hank');
  }
  assert.equal(after.length, 1, 'the SDK did not log in again');
  assert.notEqual(after[0].InstanceID, before.InstanceID);
  assert.equal((await d.call('isReady')).ready, true);
  assert.equal((await d.call('getLoginUser')).userID, 'sdk-hank');
  assert.ok(!d.events.some((e) => e.event === 'KICKED_OUT'));
  await d.stop();
});

test('an A2 dies with a REST kick: after the kick the SDK cannot log in again with it', async () => {
  const d = await loggedIn('sdk-ivy');
  assert.equal((await chatd.rest('im_open_login_svc/kick', { UserID: 'sdk-ivy' })).body.ErrorCode, 0);
  await assertKicked(d, 'REST_API_Kick');
  await sleep(1500);  // the SDK reconnects after a type-3 kick; it must stay offline
  assert.deepEqual(await online('sdk-ivy'), []);
  await d.stop();
});
