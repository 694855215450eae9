// What a new user meets in the first hour (issue: "nothing breaks, every
// error names its cause"): each test here failed before its fix.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer } from 'node:net';
import { Client, sig, startChatd, stopAll, freePort } from './lib/chatd.mjs';

const servers = [];
after(() => stopAll(servers));

const CHATD_BIN = process.env.CHATD_BIN ?? '../../build/server/chatd';

async function loggedIn(server, user) {
  const c = await Client.connect(server.url);
  const r = await c.login(user);
  assert.equal(r.code, 0, JSON.stringify(r));
  return c;
}

test('a second chatd on the same state_dir refuses to start, naming the folder and the holder; the first goes on', async () => {
  const first = await startChatd();
  servers.push(first);
  const alice = await loggedIn(first, 'alice');
  const bob = await loggedIn(first, 'bob');
  assert.equal((await alice.request('sendMessage', { to: 'bob', text: 'one' })).code, 0);
  // Same config file, so the same state_dir (ports are 0: no clash there).
  const second = spawnSync(CHATD_BIN, ['--config', first.configFile], { encoding: 'utf8', timeout: 15000 });
  assert.notEqual(second.status, 0, 'the second chatd must not run');
  assert.match(second.stderr, /state_dir .*state is in use by another chatd \(pid \d+\)/);
  assert.ok(second.stderr.includes(`pid ${first.pid}`), second.stderr);
  // The first is untouched: sends to the same users still commit, in order.
  for (const text of ['two', 'three']) {
    const r = await alice.request('sendMessage', { to: 'bob', text });
    assert.equal(r.code, 0, JSON.stringify(r));
  }
  const deadline = Date.now() + 5000;
  const received = () => bob.events.filter((e) => e.event === 'messageReceived').map((e) => e.data.text);
  while (received().length < 3 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  assert.deepEqual(received(), ['one', 'two', 'three']);
  alice.close();
  bob.close();
});

test('chatd --version and chatd_build_info{version} are project(VERSION)', async () => {
  const version = readFileSync('../../CMakeLists.txt', 'utf8').match(/project\(chatd VERSION (\S+)/)[1];
  const printed = spawnSync(CHATD_BIN, ['--version'], { encoding: 'utf8' });
  assert.equal(printed.status, 0);
  assert.equal(printed.stdout.trim(), `chatd ${version}`);
  const server = await startChatd();
  servers.push(server);
  const metrics = await (await fetch(`http://${server.metrics}/metrics`)).text();
  assert.match(metrics, new RegExp(`chatd_build_info\\{version="${version.replace(/\./g, '\\.')}"\\} 1`));
});

test('chatd-usersig refuses an --expire that makes a sig never valid, and its help shows defaults', () => {
  const usersig = process.env.CHATD_USERSIG_BIN ?? '../../build/tools/chatd-usersig';
  const refused = spawnSync(usersig, ['--sdkappid', '1400000000', '--key', 'k', '--user', 'u', '--expire', '-5'], { encoding: 'utf8' });
  assert.notEqual(refused.status, 0);
  assert.match(refused.stderr, /--expire/);
  const help = spawnSync(usersig, ['--help'], { encoding: 'utf8' });
  assert.match(help.stdout, /--expire[^\n]*15552000/);
});

test('refused logins are logged at info, the first at once and the rest summed; successful ones only at debug', async () => {
  const server = await startChatd({ server: { log_level: 'info' } });
  servers.push(server);
  const good = await loggedIn(server, 'carol');
  // One user each: ten failures of one user would lock it (70050).
  let n = 0;
  const refused = async () => {
    const c = await Client.connect(server.url);
    const user = `mallory${n++}`;
    const r = await c.login(user, { userSig: sig(user, { key: 'a wrong key' }) });
    assert.equal(r.code, 70009);
    c.close();
  };
  for (let i = 0; i < 20; ++i) await refused();
  const lines = () => server.stderr().split('\n').filter((l) => l.includes('login refused'));
  await new Promise((r) => setTimeout(r, 300));  // the log is written by its own thread
  assert.equal(lines().length, 1, lines().join('\n'));
  assert.match(lines()[0], /info login refused app=1400000000 user=mallory0 code=70009 \(UserSig was not signed with this app's key\)/);
  assert.ok(!/ login app=/.test(server.stderr()), 'a successful login is not logged at info');
  // The next window begins with the sum of the last one.
  await new Promise((r) => setTimeout(r, 10200));
  await refused();
  await new Promise((r) => setTimeout(r, 300));
  assert.ok(lines().some((l) => /code=70009 .*: 19 more in the last 10 s, the last for user=mallory19/.test(l)), lines().join('\n'));
  good.close();
});

// Runs chatd on a config of ours; resolves with its exit status and stderr.
function runChatd(serverKeys, args = []) {
  const dir = mkdtempSync(join(tmpdir(), 'chatd-first-hour-'));
  const file = join(dir, 'chatd.toml');
  const lines = Object.entries({ metrics_listen: '127.0.0.1:0', state_dir: 'state', ...serverKeys })
    .map(([k, v]) => `${k} = ${JSON.stringify(v)}`);
  writeFileSync(file, `[server]\n${lines.join('\n')}\n\n[[app]]\nsdkappid = 1400000000\nsecret_key = "k"\n`);
  const r = spawnSync(CHATD_BIN, ['--config', file, ...args], { encoding: 'utf8', timeout: 15000 });
  rmSync(dir, { recursive: true, force: true });
  return { status: r.status, stderr: r.stderr, stdout: r.stdout, file };
}

test('every start-up failure names the key, the address and the cause; --check-config catches what start would reject', async () => {
  const taken = createServer();
  await new Promise((resolve) => taken.listen(0, '127.0.0.1', resolve));
  const port = taken.address().port;
  try {
    const gateway = runChatd({ listen: `127.0.0.1:${port}` });
    assert.notEqual(gateway.status, 0);
    assert.match(gateway.stderr, new RegExp(`server\\.listen 127\\.0\\.0\\.1:${port}: cannot listen: Address already in use`));
    assert.doesNotMatch(gateway.stderr, /\/usr\/include|reactive_socket_service/);
    const metrics = runChatd({ listen: '127.0.0.1:0', metrics_listen: `127.0.0.1:${port}` });
    assert.notEqual(metrics.status, 0);
    assert.match(metrics.stderr, new RegExp(`server\\.metrics_listen 127\\.0\\.0\\.1:${port}: cannot listen: Address already in use`));
    assert.doesNotMatch(metrics.stderr, /CivetServer/);
  } finally {
    taken.close();
  }
  // A name for a host: refused by --check-config, with the file, line and key.
  const named = runChatd({ listen: 'localhost:18090' }, ['--check-config']);
  assert.equal(named.status, 2);
  assert.match(named.stderr, /chatd\.toml:4: server\.listen: "localhost:18090": the host must be an IP address/);
  const portOnly = runChatd({ listen: '18080' }, ['--check-config']);
  assert.equal(portOnly.status, 2);
  assert.match(portOnly.stderr, /chatd\.toml:4: server\.listen: address "18080" is not HOST:PORT/);
});

// chat-bots for `ms`, then SIGTERM; resolves with its stderr.
async function botsFor(ms, args) {
  const bin = process.env.CHAT_BOTS_BIN ?? '../../build/tools/chat-bots';
  const proc = spawn(bin, args, { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  proc.stderr.on('data', (d) => { stderr += d; });
  const exited = new Promise((resolve) => proc.on('exit', resolve));
  await new Promise((r) => setTimeout(r, ms));
  proc.kill('SIGTERM');
  await exited;
  return stderr;
}

test('chat-bots says what it does, and why its bots stay offline: the first failure of each kind', async () => {
  const server = await startChatd();
  servers.push(server);
  const wrongKey = await botsFor(1500, ['--url', server.url, '--sdkappid', '1400000000', '--key', 'not-the-key', '--users', '5']);
  assert.match(wrongKey, /chat-bots: 5 bots bot-0\.\.bot-4 of app 1400000000 logging in to ws:\/\//);
  const lines = wrongKey.split('\n').filter((l) => l.includes('failed: 70009'));
  assert.equal(lines.length, 1, wrongKey);
  assert.match(lines[0], /login of bot-\d failed: 70009 UserSig was not signed with this app's key/);
  const port = await freePort();
  const closed = await botsFor(1500, ['--url', `ws://127.0.0.1:${port}/v1/ws`, '--sdkappid', '1400000000', '--key', 'k', '--users', '3']);
  assert.equal(closed.split('\n').filter((l) => l.includes('failed: 2800')).length, 1, closed);
  assert.match(closed, /is chatd running at --url\?/);
});

test('chatctl ws: an interactive console; `login USER` makes the sig, then ops by name', async () => {
  const server = await startChatd();
  servers.push(server);
  const chatctl = process.env.CHATCTL_BIN ?? '../../build/tools/chatctl';
  const proc = spawn(chatctl, ['--config', server.configFile, 'ws', server.url], { stdio: ['pipe', 'pipe', 'pipe'] });
  let out = '';
  proc.stdout.on('data', (d) => { out += d; });
  const exited = new Promise((resolve) => proc.on('exit', resolve));
  const frames = () => out.split('\n').filter(Boolean).map((l) => JSON.parse(l));
  const waitFor = async (predicate, what) => {
    const deadline = Date.now() + 5000;
    while (!frames().some(predicate)) {
      if (Date.now() > deadline) throw new Error(`no ${what} in ${out}`);
      await new Promise((r) => setTimeout(r, 20));
    }
  };
  proc.stdin.write('login alice\n');
  await waitFor((f) => f.seq === 1 && f.code === 0 && f.data.userID === 'alice', 'login answer');
  await waitFor((f) => f.event === 'sdkStateReady', 'sdkStateReady');
  proc.stdin.write('getServerTime\n');
  await waitFor((f) => f.seq === 2 && f.code === 0 && f.data.serverTime > 0, 'server time');
  proc.stdin.write('{"seq":9,"op":"isReady"}\n');
  await waitFor((f) => f.seq === 9 && f.data.ready === true, 'raw JSON answer');
  proc.stdin.end('quit\n');
  assert.equal(await exited, 0);
});

test('chatd_logins_total starts with the codes a login can end with, and no others', async () => {
  const server = await startChatd();
  servers.push(server);
  const text = await (await fetch(`http://${server.metrics}/metrics`)).text();
  const codes = [...text.matchAll(/^chatd_logins_total\{app="1400000000",code="(\d+)"\}/gm)].map((m) => Number(m[1])).sort((a, b) => a - b);
  assert.deepEqual(codes, [0, 2000, 2002, 2003, 2017, 2025, 2801, 7003, 60018, 60020, 60022,
    70001, 70002, 70003, 70009, 70013, 70014, 70020, 70050, 70052, 70500]);
});
