// The admin REST API, durable state, live config, lockout and drain.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startChatd, appConfig, Client, sig, sigAt, sleep, APP, KEY, CHATCTL_BIN } from './lib/chatd.mjs';

const servers = [];
after(async () => { for (const s of servers) await s.stop('SIGKILL'); });

async function server(options = {}) {
  const s = await startChatd(options);
  servers.push(s);
  return s;
}

async function loggedIn(s, user, platform = 'Web', options = {}) {
  const c = await Client.connect(s.url, options);
  const r = await c.login(user, { platform });
  assert.equal(r.code, 0, JSON.stringify(r));
  return c;
}

const ok = { ActionStatus: 'OK', ErrorCode: 0, ErrorInfo: '' };

test('admin auth and request errors, always HTTP 200 with the Tencent envelope', async () => {
  const s = await server();
  const codeOf = async (...args) => {
    const r = await s.rest(...args);
    assert.equal(r.status, 200);
    assert.equal(r.body.ActionStatus, r.body.ErrorCode === 0 ? 'OK' : 'FAIL');
    return r.body.ErrorCode;
  };
  assert.equal(await codeOf('chatd_admin/get_login_config', {}, { sdkappid: null }), 60012);
  assert.equal(await codeOf('chatd_admin/get_login_config', {}, { sdkappid: 1234 }), 70020);
  assert.equal(await codeOf('chatd_admin/get_login_config', {}, { identifier: 'alice' }), 60010);
  assert.equal(await codeOf('chatd_admin/get_login_config', {}, { usersig: sig('administrator', { key: 'bad' }) }), 70009);
  const now = Math.floor(Date.now() / 1000);
  assert.equal(await codeOf('chatd_admin/get_login_config', {}, { usersig: sigAt('administrator', now - 100, 10) }), 70001);
  assert.equal(await codeOf('chatd_admin/get_login_config', {}, { usersig: '' }), 70002);
  assert.equal(await codeOf('chatd_admin/get_login_config', {}, { raw: '{oops' }), 60003);
  assert.equal(await codeOf('nope/nothing', {}), 60009);
  assert.equal(await codeOf('chatd_admin/get_login_config', {}), 0);
  const get = await fetch(`http://${s.gateway}/v4/chatd_admin/get_login_config`);
  assert.equal(get.status, 405);
  const huge = await fetch(`http://${s.gateway}/v4/chatd_admin/get_login_config?sdkappid=${APP}`,
    { method: 'POST', body: 'x'.repeat(2 * 1024 * 1024) }).catch((e) => ({ status: 'reset' }));
  assert.ok(huge.status === 413 || huge.status === 'reset');
});

test('REST kick: every instance gets REST_API_Kick, old sigs die (70052), new ones work', async () => {
  const s = await server({ apps: [appConfig({ multi_device_policy: 'multi' })] });
  const oldSig = sig('alice');
  const web = await Client.connect(s.url);
  assert.equal((await web.login('alice', { userSig: oldSig })).code, 0);
  const mac = await loggedIn(s, 'alice', 'Mac');
  const bystander = await loggedIn(s, 'bob');
  const r = await s.rest('im_open_login_svc/kick', { UserID: 'alice' });
  assert.deepEqual(r.body, ok);
  for (const c of [web, mac]) {
    assert.equal((await c.waitEvent('kickedOut')).data.type, 'REST_API_Kick');
    assert.equal((await c.waitEvent('sdkStateNotReady')).data.reason, 3006);
  }
  await sleep(100);
  assert.ok(!bystander.eventNames().includes('kickedOut'));
  assert.equal((await web.login('alice', { userSig: oldSig })).code, 70052);
  await sleep(1100);  // sigs issued in the kick's second count as issued before it
  assert.equal((await web.login('alice', { userSig: sig('alice') })).code, 0);
  // Unknown accounts and bad bodies.
  assert.equal((await s.rest('im_open_login_svc/kick', { UserID: 'ghost' })).body.ErrorCode, 70107);
  assert.equal((await s.rest('im_open_login_svc/kick', {})).body.ErrorCode, 70402);
  for (const c of [web, mac, bystander]) c.close();
});

test('query_online_status: per-platform detail, offline users, 70107 for unknown accounts', async () => {
  const s = await server({ apps: [appConfig({ multi_device_policy: 'multi', max_web_instances: 2 })] });
  const a1 = await loggedIn(s, 'alice', 'Web');
  const a2 = await loggedIn(s, 'alice', 'iPhone');
  const b = await loggedIn(s, 'bob');
  await b.request('logout');
  const r = await s.rest('openim/query_online_status', { To_Account: ['alice', 'bob', 'ghost'], IsNeedDetail: 1 });
  assert.equal(r.body.ErrorCode, 0);
  const alice = r.body.QueryResult.find((q) => q.To_Account === 'alice');
  assert.equal(alice.Status, 'Online');
  assert.deepEqual(alice.Detail.map((d) => d.Platform).sort(), ['Web', 'iPhone']);
  assert.ok(alice.Detail.every((d) => d.Status === 'Online' && /^\d+$/.test(d.InstanceID)));
  assert.deepEqual(r.body.QueryResult.find((q) => q.To_Account === 'bob'), { To_Account: 'bob', Status: 'Offline', Detail: [] });
  assert.deepEqual(r.body.ErrorList, [{ To_Account: 'ghost', ErrorCode: 70107 }]);
  const brief = await s.rest('openim/query_online_status', { To_Account: ['alice'] });
  assert.deepEqual(brief.body.QueryResult, [{ To_Account: 'alice', Status: 'Online' }]);
  const many = Array.from({ length: 501 }, (_, i) => `u${i}`);
  assert.equal((await s.rest('openim/query_online_status', { To_Account: many })).body.ErrorCode, 70206);
  assert.equal((await s.rest('openim/query_online_status', {})).body.ErrorCode, 70402);
  // An imported account is known even before its first login.
  assert.deepEqual((await s.rest('im_open_login_svc/account_import', { UserID: 'carol' })).body, ok);
  const carol = await s.rest('openim/query_online_status', { To_Account: ['carol'] });
  assert.deepEqual(carol.body.QueryResult, [{ To_Account: 'carol', Status: 'Offline' }]);
  a1.close(); a2.close(); b.close();
});

test('set_login_config is live within 1 s, validated, and does not kick anyone already online', async () => {
  const s = await server();
  const before = await s.rest('chatd_admin/get_login_config');
  assert.deepEqual(before.body, { ...ok, MultiDevicePolicy: 'dual', MaxWebInstances: 1,
    MaxDevicesPerPlatform: 1, PackageExpireAt: 0, AllowedOrigins: [] });
  const first = await loggedIn(s, 'dave');
  const set = await s.rest('chatd_admin/set_login_config', { MaxWebInstances: 2 });
  assert.equal(set.body.ErrorCode, 0);
  assert.equal(set.body.MaxWebInstances, 2);
  const second = await loggedIn(s, 'dave');
  await sleep(300);
  assert.ok(!first.eventNames().includes('kickedOut'), 'the raised limit was not applied');
  // Lowering the limit kicks no one now; the next login kicks down to it.
  await s.rest('chatd_admin/set_login_config', { MaxWebInstances: 1 });
  await sleep(300);
  assert.ok(!first.eventNames().includes('kickedOut') && !second.eventNames().includes('kickedOut'));
  const third = await loggedIn(s, 'dave');
  await first.waitEvent('kickedOut');
  await second.waitEvent('kickedOut');
  for (const [field, value] of [['MaxWebInstances', 11], ['MaxDevicesPerPlatform', 0],
    ['MultiDevicePolicy', 'quad'], ['PackageExpireAt', -1], ['AllowedOrigins', 'x'], ['Bogus', 1]]) {
    const r = await s.rest('chatd_admin/set_login_config', { [field]: value });
    assert.equal(r.body.ErrorCode, 70402, field);
    assert.match(r.body.ErrorInfo, new RegExp(field));
  }
  first.close(); second.close(); third.close();
});

test("REST overrides are per field: the file's later values show through the others, and null clears one", async () => {
  const first = await startChatd({ apps: [appConfig({ multi_device_policy: 'dual', max_web_instances: 1 })] });
  servers.push(first);
  assert.equal((await first.rest('chatd_admin/set_login_config', { MaxWebInstances: 3 })).body.ErrorCode, 0);
  const dir = first.keep();
  await first.stop();
  // The operator edits the file: its policy applies, the REST value stays.
  const file = join(dir, 'chatd.toml');
  writeFileSync(file, readFileSync(file, 'utf8').replace('multi_device_policy = "dual"', 'multi_device_policy = "triple"')
    .replace('max_web_instances = 1', 'max_web_instances = 2'));
  const second = await server({ dir });
  let config = (await second.rest('chatd_admin/get_login_config')).body;
  assert.equal(config.MultiDevicePolicy, 'triple', 'a field never set through REST follows the file');
  assert.equal(config.MaxWebInstances, 3);
  // null: the file's value again, live and durable.
  const cleared = await second.rest('chatd_admin/set_login_config', { MaxWebInstances: null, AllowedOrigins: ['https://a.example'] });
  assert.equal(cleared.body.ErrorCode, 0, JSON.stringify(cleared.body));
  assert.equal(cleared.body.MaxWebInstances, 2);
  assert.deepEqual(cleared.body.AllowedOrigins, ['https://a.example']);
  const a = await loggedIn(second, 'olga', 'Web', { origin: 'https://a.example' });
  const b = await loggedIn(second, 'olga', 'Web', { origin: 'https://a.example' });
  await loggedIn(second, 'olga', 'Web', { origin: 'https://a.example' });
  await a.waitEvent('kickedOut');  // the file's 2 is live at once
  assert.ok(!b.eventNames().includes('kickedOut'));
  const again = second.keep();
  await second.stop();
  const third = await server({ dir: again });
  config = (await third.rest('chatd_admin/get_login_config')).body;
  assert.equal(config.MaxWebInstances, 2);
  assert.deepEqual(config.AllowedOrigins, ['https://a.example']);
  assert.equal((await third.rest('chatd_admin/set_login_config', { AllowedOrigins: null })).body.AllowedOrigins.length, 0);
});

test('package expiry gives 60020 and allowed origins give 2801', async () => {
  const s = await server();
  await s.rest('chatd_admin/set_login_config', { PackageExpireAt: Date.now() - 1000 });
  const c = await Client.connect(s.url);
  assert.equal((await c.login('erin')).code, 60020);
  await s.rest('chatd_admin/set_login_config', { PackageExpireAt: 0, AllowedOrigins: ['https://app.example'] });
  assert.equal((await c.login('erin')).code, 2801);
  const good = await Client.connect(s.url, { origin: 'https://app.example' });
  assert.equal((await good.login('erin')).code, 0);
  const bad = await Client.connect(s.url, { origin: 'https://evil.example' });
  assert.equal((await bad.login('erin')).code, 2801);
  c.close(); good.close(); bad.close();
});

test('brute-force lock: failed verifications lock the user (70050) even with a good sig, then it expires', async () => {
  const s = await server({ lockout: { max_failures: 3, window_s: 60, lock_s: 2 } });
  const c = await Client.connect(s.url);
  for (let i = 0; i < 3; ++i)
    assert.equal((await c.login('frank', { userSig: sig('frank', { key: 'guess' + i }) })).code, 70009);
  assert.equal((await c.login('frank')).code, 70050);
  assert.equal((await c.login('grace')).code, 0, 'other users are not locked');
  await c.request('logout');
  await sleep(2100);
  assert.equal((await c.login('frank')).code, 0);
  c.close();
});

test('kill -9 right after an acknowledged kick and config change: both hold after restart', async () => {
  const first = await startChatd();
  const oldSig = sig('heidi');
  const c = await Client.connect(first.url);
  assert.equal((await c.login('heidi', { userSig: oldSig })).code, 0);
  assert.equal((await first.rest('chatd_admin/set_login_config', { MaxWebInstances: 3, MultiDevicePolicy: 'triple' })).body.ErrorCode, 0);
  assert.equal((await first.rest('im_open_login_svc/kick', { UserID: 'heidi' })).body.ErrorCode, 0);
  const dir = first.keep();
  const killed = await first.stop('SIGKILL');
  assert.equal(killed.signal, 'SIGKILL');
  const second = await server({ dir });
  const d = await Client.connect(second.url);
  assert.equal((await d.login('heidi', { userSig: oldSig })).code, 70052);
  const config = await second.rest('chatd_admin/get_login_config');
  assert.equal(config.body.MaxWebInstances, 3);
  assert.equal(config.body.MultiDevicePolicy, 'triple');
  d.close();
});

test('SIGTERM drains: every client gets sdkStateNotReady and close 1001, exit status 0', async () => {
  const s = await startChatd({ apps: [appConfig({ max_web_instances: 5 })] });
  const clients = [await loggedIn(s, 'ivan'), await loggedIn(s, 'ivan'), await loggedIn(s, 'judy')];
  const idle = await Client.connect(s.url);
  const result = await s.stop('SIGTERM');
  assert.equal(result.code, 0);
  for (const c of clients) {
    assert.equal((await c.waitEvent('sdkStateNotReady')).data.reason, 3005);
    assert.equal((await c.closed).code, 1001);
  }
  assert.equal((await idle.closed).code, 1001);
});

test('SIGTERM while upgrades are being answered: every connection that opened is drained with 1001', async () => {
  const s = await startChatd();
  // Upgrades keep arriving, one every millisecond, across the signal.
  const sockets = [];
  let stopped = false;
  const opening = (async () => {
    while (!stopped && sockets.length < 2000) {
      const c = new Client(s.url);
      c.opened.catch(() => {});  // refused once chatd stops listening
      sockets.push(c);
      await sleep(1);
    }
  })();
  while (sockets.length < 50) await sleep(1);
  const started = Date.now();
  const result = await s.stop('SIGTERM');
  stopped = true;
  await opening;
  assert.equal(result.code, 0);
  const closes = await Promise.all(sockets.map(async (c) => {
    const opened = await c.opened.then(() => true, () => false);
    return opened ? (await c.closed).code : 'refused';
  }));
  const abnormal = closes.filter((code) => code !== 1001 && code !== 'refused');
  assert.deepEqual(abnormal, [], `${abnormal.length} of ${closes.length} connections were not drained`);
  const drained = closes.filter((code) => code === 1001).length;
  assert.ok(drained >= 1, `none of ${closes.length} connections opened`);
  const took = Date.now() - started;
  assert.ok(took < 8000, `the drain took ${took} ms: it waited for a connection it never told`);
});

test('/healthz and /readyz', async () => {
  const s = await server();
  assert.equal((await fetch(`http://${s.gateway}/healthz`)).status, 200);
  assert.equal(await (await fetch(`http://${s.gateway}/readyz`)).text(), 'ready\n');
});

test('chatctl drives the same calls with the admin key from the config file', async () => {
  const s = await server({ apps: [appConfig({ multi_device_policy: 'multi' })] });
  const run = (...args) => {
    try {
      return { code: 0, out: JSON.parse(execFileSync(CHATCTL_BIN, ['--config', s.configFile, '--url', `http://${s.gateway}`, '--json', ...args]).toString()) };
    } catch (e) {
      return { code: e.status, out: e.stdout.length ? JSON.parse(e.stdout.toString()) : e.stderr.toString() };
    }
  };
  const c = await loggedIn(s, 'kim', 'Android');
  const online = run('online', 'kim', 'nobody', '--detail');
  assert.equal(online.code, 0);
  assert.equal(online.out.QueryResult[0].Detail[0].Platform, 'Android');
  assert.equal(online.out.ErrorList[0].ErrorCode, 70107);
  assert.equal(run('config', 'set', '--max-web-instances', '3', '--policy', 'single').out.MaxWebInstances, 3);
  assert.equal(run('config', 'get').out.MultiDevicePolicy, 'single');
  assert.equal(run('config', 'set', '--max-web-instances', '30').code, 1);
  assert.equal(run('kick', 'kim').code, 0);
  assert.equal((await c.waitEvent('kickedOut')).data.type, 'REST_API_Kick');
  assert.equal(run('kick', 'nobody').code, 1);
  // Without --json: for a person; send and history from a shell.
  const human = (...args) => execFileSync(CHATCTL_BIN, ['--config', s.configFile, '--url', `http://${s.gateway}`, ...args]).toString();
  assert.match(human('online', 'kim', 'nobody'), /^kim: Offline\nnobody: not an account \(70107\)\n$/);
  await loggedIn(s, 'lee', 'Android');
  assert.match(human('send', 'kim', 'lee', 'hello from a shell'), /^sent \S+ at \d+\n$/);
  assert.match(human('history', 'lee', 'kim'), /^\d+ kim -> lee: hello from a shell\n1 message\(s\)\n$/);
  assert.match(human('config', 'get'), /MultiDevicePolicy: single/);
  // config reset: one field, then every field, back to the file's values.
  assert.equal(run('config', 'reset', 'policy').out.MultiDevicePolicy, 'multi');
  assert.equal(run('config', 'get').out.MaxWebInstances, 3);
  assert.equal(run('config', 'reset').out.MaxWebInstances, 1);
  assert.notEqual(run('config', 'reset', 'bogus').code, 0);
  c.close();
});

test('a full disk: a REST write answers 70500, is counted, is not acknowledged; logins go on', async () => {
  // Files may not grow past 64 KiB: the database's log soon cannot.
  const s = await startChatd({ wrap: ['prlimit', '--fsize=65536', '--'] });
  try {
    let refused = null;
    for (let i = 0; i < 300 && !refused; ++i) {
      const r = await s.rest('im_open_login_svc/account_import', { UserID: `full-${i}` });
      if (r.body.ErrorCode !== 0) refused = { user: `full-${i}`, body: r.body };
    }
    assert.ok(refused, 'the store never ran out of space');
    assert.equal(refused.body.ErrorCode, 70500);
    assert.equal(refused.body.ActionStatus, 'FAIL');
    // Not acknowledged, so not known.
    const q = await s.rest('openim/query_online_status', { To_Account: [refused.user] });
    assert.equal(q.body.ErrorList[0].ErrorCode, 70107);
    const scrape = await (await fetch(`http://${s.metrics}/metrics`)).text();
    const failures = Number(scrape.match(/^chatd_store_write_failures_total (\S+)/m)?.[1]);
    assert.ok(failures >= 1, `chatd_store_write_failures_total ${failures}`);
    const c = await Client.connect(s.url);
    assert.equal((await c.login('still-serving')).code, 0);
    c.close();
  } finally {
    await s.stop();
  }
});
