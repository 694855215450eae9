// The bot fleet: 1,000 bots in one chat-bots process (chatd::bot_host)
// answer every message exactly once, including across a kill -9 and restart
// of chatd. Checked on the senders' durable timelines.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import readline from 'node:readline';
import { startChatd, Client, sig, sleep, KEY, APP, until, freePort } from './lib/chatd.mjs';

const BOTS_BIN = process.env.CHAT_BOTS_BIN ?? '../../build/tools/chat-bots';
const BOTS = 1000;
const SENDERS = 10;

const cleanups = [];
after(async () => { for (const c of cleanups.reverse()) await c(); });

function startBots(url) {
  const proc = spawn(BOTS_BIN, ['--url', url, '--sdkappid', String(APP), '--key', KEY,
    '--users', String(BOTS), '--prefix', 'fleet', '--reply', 're:{id}'], { stdio: ['ignore', 'pipe', 'inherit'] });
  const fleet = { proc, stats: {} };
  readline.createInterface({ input: proc.stdout }).on('line', (line) => {
    try { fleet.stats = JSON.parse(line).stats ?? fleet.stats; } catch { /* not ours */ }
  });
  const exited = new Promise((r) => proc.on('exit', r));
  cleanups.push(async () => { proc.kill('SIGKILL'); await exited; });
  return fleet;
}

async function senders(s) {
  const out = [];
  for (let i = 0; i < SENDERS; ++i) {
    const c = await Client.connect(s.url);
    assert.equal((await c.login(`fleet-sender-${i}`)).code, 0);
    out.push(c);
  }
  return out;
}

// One message from each sender to each of its share of the bots; the IDs
// of those acknowledged go into `ids` as they are.
async function wave(clients, label, ids = [], pauseMs = 0) {
  await Promise.allSettled(clients.map(async (c, i) => {
    for (let b = i; b < BOTS; b += SENDERS) {
      const r = await c.request('sendMessage', { to: `fleet-${b}`, text: `${label} ${b}` }, 3000);
      if (r.code === 0) ids.push(r.data.messageID);
      if (pauseMs) await sleep(pauseMs);
    }
  }));
  return ids;
}

// Every reply each sender's timeline holds, read by a fresh login's sync.
async function repliesOnServer(s) {
  const counts = new Map();
  for (let i = 0; i < SENDERS; ++i) {
    const c = await Client.connect(s.url);
    assert.equal((await c.request('login', { SDKAppID: APP, userID: `fleet-sender-${i}`,
      userSig: sig(`fleet-sender-${i}`), syncFromSeq: 0 })).code, 0);
    let seen = -1;
    while (seen !== c.events.length) { seen = c.events.length; await sleep(300); }
    for (const e of c.events)
      if (e.event === 'messageReceived' && e.data.flow === 'in' && e.data.text.startsWith('re:'))
        counts.set(e.data.text.slice(3), (counts.get(e.data.text.slice(3)) ?? 0) + 1);
    c.close();
  }
  return counts;
}

test('1,000 bots answer every message exactly once, across a kill -9 and restart of chatd', async () => {
  const port = await freePort();
  let chatd = await startChatd({ server: { listen: `127.0.0.1:${port}` } });
  cleanups.push(() => chatd.stop('SIGKILL'));
  const fleet = startBots(`ws://127.0.0.1:${port}/v1/ws`);
  await until(() => fleet.stats.online === BOTS, 'every bot online', 60000);

  let clients = await senders(chatd);
  const first = await wave(clients, 'before');
  assert.equal(first.length, BOTS);
  await until(() => fleet.stats.messages_in >= BOTS, 'the first wave handled', 60000);

  // kill -9 while the second wave is being answered.
  const acked = [];  // second-wave sends acknowledged before the kill
  const second = wave(clients, 'during', acked, 2);  // paced: about 0.3 s
  await until(() => acked.length >= 300, 'the second wave under way', 60000);
  const dir = chatd.keep();
  await chatd.stop('SIGKILL');
  await second;
  assert.ok(acked.length < BOTS, 'the kill landed during the second wave');
  for (const c of clients) c.close();
  chatd = await startChatd({ dir });
  cleanups.push(() => chatd.stop('SIGKILL'));
  await until(() => fleet.stats.online === BOTS, 'every bot back online', 90000);

  clients = await senders(chatd);
  const third = await wave(clients, 'after');
  assert.equal(third.length, BOTS);
  const expected = [...first, ...third];
  await until(() => fleet.stats.messages_in >= 2 * BOTS + acked.length, 'the third wave handled', 90000);
  await sleep(500);

  const counts = await repliesOnServer(chatd);
  for (const id of expected) assert.equal(counts.get(id), 1, `message ${id} answered once`);
  // Second-wave messages that were acknowledged are durable, so they are answered too.
  for (const id of acked) assert.equal(counts.get(id), 1, `acknowledged ${id} answered once after the restart`);
  for (const [id, n] of counts) assert.equal(n, 1, `reply to ${id} stored once`);
  assert.equal(fleet.stats.handler_errors, 0);
  for (const c of clients) c.close();
});
