// The race of issue #2: 50 concurrent logins of one user with a web limit of
// 2, repeated 200 times, on a chatd with several io threads running the
// actors (actor_scheduler = "io", the default); and again with the actors on
// CAF's own work-sharing threads.
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { startChatd, appConfig, Client, sig, sleep } from './lib/chatd.mjs';

const ROUNDS = Number(process.env.RACE_ROUNDS ?? 200);
const CONCURRENT = 50;
const LIMIT = 2;

let chatd;
let onIoThreads;
before(async () => {
  chatd = await startChatd({
    server: { io_threads: 4, actor_scheduler: 'sharing', actor_threads: 4 },
    apps: [appConfig({ max_web_instances: LIMIT })],
  });
  onIoThreads = await startChatd({
    server: { io_threads: 4, actor_scheduler: 'io' },
    apps: [appConfig({ max_web_instances: LIMIT })],
  });
});
after(async () => { await chatd.stop(); await onIoThreads.stop(); });

async function waitFor(predicate, ms = 10000) {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (predicate()) return true;
    await sleep(5);
  }
  return predicate();
}

async function race(chatd) {
  for (let round = 0; round < ROUNDS; ++round) {
    const user = `racer-${round}`;
    const userSig = sig(user);
    const clients = await Promise.all(Array.from({ length: CONCURRENT }, () => Client.connect(chatd.url)));
    const responses = await Promise.all(clients.map((c) => c.login(user, { userSig })));
    assert.ok(responses.every((r) => r.code === 0), `round ${round}: a login failed`);
    const kickedCount = () => clients.filter((c) => c.eventNames().includes('kickedOut')).length;
    assert.ok(await waitFor(() => kickedCount() === CONCURRENT - LIMIT),
      `round ${round}: ${kickedCount()} kicked, expected ${CONCURRENT - LIMIT}`);
    const ready = await Promise.all(clients.map((c) => c.request('isReady')));
    const online = ready.filter((r) => r.data.ready).length;
    assert.equal(online, LIMIT, `round ${round}: ${online} online`);
    for (const [i, c] of clients.entries()) {
      const names = c.eventNames();
      const kicks = names.filter((n) => n === 'kickedOut').length;
      assert.ok(kicks <= 1, `round ${round}: a client got ${kicks} kicks`);
      assert.equal(names[0], 'sdkStateReady');
      if (kicks === 1) {
        assert.deepEqual(names, ['sdkStateReady', 'kickedOut', 'sdkStateNotReady']);
        assert.equal(ready[i].data.ready, false);
      } else {
        assert.deepEqual(names, ['sdkStateReady']);
      }
    }
    for (const c of clients) c.close();
  }
}

test(`${CONCURRENT} concurrent logins with limit ${LIMIT}, ${ROUNDS} rounds: exactly ${LIMIT} online, every other kicked once`, async () => {
  await race(chatd);
});

test(`the same race with the actors on the io threads (the default)`, async () => {
  await race(onIoThreads);
});
