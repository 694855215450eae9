// TLS on the gateway port (wss://, https://) with a certificate made at test
// time by the openssl CLI: native clients, the official SDK over wss, REST
// over https, a plain listener beside the TLS one, and handshakes that fail
// without disturbing anyone else.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import net from 'node:net';
import tls from 'node:tls';
import { spawnSync } from 'node:child_process';
import { startChatd, appConfig, Client, makeCertificate, sleep, until, APP } from './lib/chatd.mjs';
import { SdkDevice } from './lib/sdk.mjs';

const CHATD_BIN = process.env.CHATD_BIN ?? '../../build/server/chatd';
let chatd;
let certDir;
let files;
const devices = [];

before(async () => {
  certDir = mkdtempSync(join(tmpdir(), 'chatd-tls-'));
  files = makeCertificate(certDir);
  chatd = await startChatd({
    server: { tls_cert_file: files.cert, tls_key_file: files.key, plain_listen: '127.0.0.1:0', request_timeout_s: 1 },
    apps: [appConfig({ max_web_instances: 1 })],
  });
});
after(async () => {
  await Promise.all(devices.map((d) => d.stop()));
  await chatd.stop();
  rmSync(certDir, { recursive: true, force: true });
});

const connect = () => Client.connect(chatd.url, chatd.wsOptions);

async function metric(name, labels) {
  const text = await (await fetch(`http://${chatd.metrics}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith(`${name}{${labels}}`));
  return line ? Number(line.split(' ').pop()) : 0;
}

test('native clients log in over wss, are kicked over wss, and share users with the plain listener', async () => {
  assert.equal(chatd.scheme, 'wss');
  assert.ok(chatd.url.startsWith('wss://'));
  const first = await connect();
  assert.equal((await first.login('alice')).code, 0);
  await first.waitEvent('sdkStateReady');
  const time = await first.request('getServerTime');
  assert.equal(time.code, 0);

  // Web limit 1: a second wss login kicks the first.
  const second = await connect();
  assert.equal((await second.login('alice')).code, 0);
  const kicked = await first.waitEvent('kickedOut');
  assert.equal(kicked.data.type, 'multipleAccount');

  // The plain listener is the same service: its login kicks the wss one.
  const plain = await Client.connect(`ws://${chatd.plain}/v1/ws`);
  assert.equal((await plain.login('alice')).code, 0);
  assert.equal((await second.waitEvent('kickedOut')).data.type, 'multipleAccount');

  // Large frames cross TLS records both ways (12 KiB of text in 3-byte characters).
  const bob = await connect();
  assert.equal((await bob.login('bob')).code, 0);
  const text = '語'.repeat(4096);
  const sent = await plain.request('sendMessage', { to: 'bob', text });
  assert.equal(sent.code, 0, JSON.stringify(sent));
  const received = await bob.waitEvent('messageReceived');
  assert.equal(received.data.text, text);
  const back = await bob.request('sendMessage', { to: 'alice', text });
  assert.equal(back.code, 0);
  assert.equal((await plain.waitEvent('messageReceived')).data.text, text);

  // Limits hold over TLS too: an oversized frame closes 1009 with its reason.
  bob.send({ seq: 99, op: 'ping', data: { pad: 'x'.repeat(70000) } });
  const closed = await bob.closed;
  assert.equal(closed.code, 1009);
  assert.equal(closed.reason, 'message too big');
  for (const c of [first, second, plain]) c.close();
});

test('REST over https kicks a wss instance and sees it online', async () => {
  const carol = await connect();
  assert.equal((await carol.login('carol')).code, 0);
  await chatd.rest('im_open_login_svc/account_import', { UserID: 'carol' });
  const online = await chatd.rest('openim/query_online_status', { To_Account: ['carol'], IsNeedDetail: 1 });
  assert.equal(online.status, 200);
  assert.equal(online.body.QueryResult[0].Detail.length, 1);
  const kick = await chatd.rest('im_open_login_svc/kick', { UserID: 'carol' });
  assert.equal(kick.body.ErrorCode, 0, JSON.stringify(kick.body));
  assert.equal((await carol.waitEvent('kickedOut')).data.type, 'REST_API_Kick');
  carol.close();
});

test('the official SDK logs in and is kicked over wss (NODE_EXTRA_CA_CERTS)', async () => {
  const device = SdkDevice.start(chatd, APP);
  devices.push(device);
  const { sig } = await import('./lib/chatd.mjs');
  const r = await device.call('login', { userID: 'dave', userSig: sig('dave') });
  assert.equal(r.code, 0, JSON.stringify(r));
  await device.waitEvent('SDK_READY');
  const now = (await device.call('getServerTime')).serverTime;
  assert.ok(Math.abs(now - Date.now()) < 60000, `server time ${now}`);
  const native = await connect();
  assert.equal((await native.login('dave')).code, 0);
  assert.equal((await device.waitEvent('KICKED_OUT')).type, 'multipleAccount');
  native.close();
});

test('failed and stalled handshakes are counted and disturb no one', async () => {
  const erin = await connect();
  assert.equal((await erin.login('erin')).code, 0);
  const failedBefore = await metric('chatd_connection_errors_total', 'kind="tls_handshake"');
  const [host, port] = chatd.gateway.split(':');

  // Garbage instead of a ClientHello, plain HTTP on the TLS port, a client
  // that does not trust the certificate, and one that never finishes.
  const garbage = net.connect(Number(port), host, () => garbage.write(Buffer.alloc(600, 0x41)));
  garbage.on('error', () => {});
  const plainHttp = await fetch(`http://${chatd.gateway}/healthz`).then(() => 'answered', () => 'refused');
  assert.equal(plainHttp, 'refused');
  const untrusted = await new Promise((resolve) => {
    const s = tls.connect({ host, port: Number(port), servername: 'localhost' });
    s.on('secureConnect', () => resolve('trusted'));
    s.on('error', (e) => resolve(e.code));
  });
  assert.equal(untrusted, 'DEPTH_ZERO_SELF_SIGNED_CERT');
  const stalled = net.connect(Number(port), host, () => stalled.write(Buffer.from([0x16, 0x03, 0x01])));
  stalled.on('error', () => {});
  const stalledClosed = new Promise((resolve) => stalled.on('close', resolve));

  // The logged-in client goes on as if nothing happened.
  for (let i = 0; i < 20; i++) assert.equal((await erin.request('ping')).code, 0);
  await stalledClosed;  // request_timeout_s = 1 covers the handshake
  await until(() => garbage.destroyed || garbage.readableEnded, 'the garbage connection to close', 5000);
  let failed = 0;
  for (let i = 0; i < 50 && failed < failedBefore + 4; i++) {
    failed = await metric('chatd_connection_errors_total', 'kind="tls_handshake"');
    await sleep(100);
  }
  assert.ok(failed >= failedBefore + 4, `tls_handshake ${failedBefore} -> ${failed}`);
  assert.equal((await erin.request('isReady')).data.ready, true);
  erin.close();
});

test('a TLS config names both files, and files that are not a certificate stop the start', () => {
  const dir = mkdtempSync(join(tmpdir(), 'chatd-tls-config-'));
  const run = (server) => {
    const file = join(dir, 'chatd.toml');
    writeFileSync(file, `[server]\nlisten = "127.0.0.1:0"\nmetrics_listen = "127.0.0.1:0"\nstate_dir = "state"\n${server}\n` +
      `[[app]]\nsdkappid = ${APP}\nsecret_key = "k"\n`);
    return spawnSync(CHATD_BIN, ['--config', file], { encoding: 'utf8', timeout: 10000 });
  };
  const onlyCert = run(`tls_cert_file = "${files.cert}"`);
  assert.equal(onlyCert.status, 2);
  assert.match(onlyCert.stderr, /tls_cert_file and server.tls_key_file go together/);
  const plainAlone = run('plain_listen = "127.0.0.1:0"');
  assert.equal(plainAlone.status, 2);
  assert.match(plainAlone.stderr, /plain_listen needs TLS/);
  writeFileSync(join(dir, 'junk.pem'), 'not a certificate\n');
  const junk = run(`tls_cert_file = "junk.pem"\ntls_key_file = "${files.key}"`);
  assert.notEqual(junk.status, 0);
  assert.match(junk.stderr, /tls_cert_file .*junk.pem/);
  rmSync(dir, { recursive: true, force: true });
});
