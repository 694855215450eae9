// What a new user meets in the first hour (issue: "nothing breaks, every
// error names its cause"): each test here failed before its fix.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { Client, startChatd, stopAll } from './lib/chatd.mjs';

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
