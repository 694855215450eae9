// The conversation list of a user with 500 conversations: how long chatd
// takes to answer it (native getConversationList, which also reads the 500
// peers' profiles), measured at the client over loopback, one request at a
// time. Target: p99 < 5 ms.
// Writes bench/results/conversation_list.json.
//   CHATD_BIN=build-release/server/chatd node bench/conversation_list.mjs [requests]
import { writeFileSync, mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startChatd, appConfig, sig, APP, WebSocket } from '../tests/e2e/lib/chatd.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const requests = Number(process.argv[2] ?? 300);
const peers = 500;

function percentile(sorted, p) {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

// A client that keeps nothing it received: the tests' Client keeps every
// frame, and 175 KB answers kept by the thousand made the client's garbage
// collection the tail of this measurement.
class LeanClient {
  static async connect(url) {
    const c = new LeanClient(url);
    await new Promise((resolve, reject) => { c.ws.once('open', resolve); c.ws.once('error', reject); });
    return c;
  }

  constructor(url) {
    this.ws = new WebSocket(url);
    this.seq = 0;
    this.pending = new Map();
    this.parseMs = [];  // the client's own share of each answer
    this.ws.on('message', (data) => {
      const t0 = process.hrtime.bigint();
      const frame = JSON.parse(data.toString());
      this.parseMs.push(Number(process.hrtime.bigint() - t0) / 1e6);
      const done = this.pending.get(frame.seq);
      if (done === undefined) return;
      this.pending.delete(frame.seq);
      done(frame);
    });
  }

  request(op, data) {
    const seq = ++this.seq;
    return new Promise((resolve) => {
      this.pending.set(seq, resolve);
      this.ws.send(JSON.stringify({ seq, op, data }));
    });
  }

  login(user) {
    return this.request('login', { SDKAppID: APP, userID: user, userSig: sig(user), platform: 'Web' });
  }

  close() { this.ws.close(); }
}

async function timed(client, op, data) {
  const t0 = process.hrtime.bigint();
  const r = await client.request(op, data);
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  if (r.code !== 0) throw new Error(`${op}: ${JSON.stringify(r)}`);
  return { ms, r };
}

const chatd = await startChatd({ apps: [appConfig({ max_web_instances: 10 })] });
try {
  // 500 peers, each with one message to the user and a nick.
  const owner = await LeanClient.connect(chatd.url);
  if ((await owner.login('list-owner')).code !== 0) throw new Error('login');
  for (let i = 0; i < peers; i += 50) {
    await Promise.all(Array.from({ length: Math.min(50, peers - i) }, async (_, k) => {
      const user = `peer-${i + k}`;
      await chatd.rest('im_open_login_svc/account_import', { UserID: user });
      await chatd.rest('profile/portrait_set', { From_Account: user, ProfileItem: [{ Tag: 'Tag_Profile_IM_Nick', Value: `Peer ${i + k}` }] });
      await chatd.rest('openim/sendmsg', { From_Account: user, To_Account: 'list-owner', MsgBody: [{ MsgType: 'TIMTextElem', MsgContent: { Text: `hello ${i + k}` } }] });
    }));
  }
  const first = await timed(owner, 'getConversationList', {});
  if (first.r.data.conversations.length !== peers) throw new Error(`${first.r.data.conversations.length} conversations`);
  const samples = [];
  for (let i = 0; i < requests; ++i) samples.push((await timed(owner, 'getConversationList', {})).ms);
  // The baseline of the same run: a request that reads nothing.
  const pings = [];
  for (let i = 0; i < requests; ++i) pings.push((await timed(owner, 'ping', {})).ms);
  const parses = owner.parseMs.slice(-2 * requests, -requests).sort((a, b) => a - b);
  samples.sort((a, b) => a - b);
  pings.sort((a, b) => a - b);
  const result = {
    when: new Date().toISOString().slice(0, 16).replace('T', ' '),
    conversations: peers, requests,
    list_ms: { p50: percentile(samples, 50), p99: percentile(samples, 99), max: samples.at(-1) },
    client_parse_ms: { p50: percentile(parses, 50), p99: percentile(parses, 99) },
    ping_ms: { p50: percentile(pings, 50), p99: percentile(pings, 99) },
    list_p99_vs_ping_p99: percentile(samples, 99) / percentile(pings, 99),
    targets: { 'p99 < 5 ms with 500 conversations': percentile(samples, 99) < 5 },
  };
  mkdirSync(join(here, 'results'), { recursive: true });
  writeFileSync(join(here, 'results', 'conversation_list.json'), JSON.stringify(result, null, 2) + '\n');
  console.log(JSON.stringify(result, null, 2));
  owner.close();
  if (process.env.DUMP_STDERR) writeFileSync('/tmp/chatd-stderr.txt', chatd.stderr());
} finally {
  await chatd.stop('SIGKILL');
}
