// The conversation list of a user with 500 conversations: how long chatd
// takes to answer it (native getConversationList, which also reads the 500
// peers' profiles), measured at the client over loopback, one request at a
// time. Target: p99 < 5 ms. Medians over the rounds; with CHATD_BASELINE_BIN,
// that older chatd is measured in the same rounds too.
// Writes bench/results/conversation_list.json.
//   CHATD_BIN=build-release/server/chatd [CHATD_BASELINE_BIN=...] \
//     node bench/conversation_list.mjs [requests] [rounds]
import { writeFileSync, mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startChatd, appConfig, sig, APP, WebSocket } from '../tests/e2e/lib/chatd.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const requests = Number(process.argv[2] ?? 300);
const rounds = Number(process.argv[3] ?? 1);
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

// One round on one binary: a fresh chatd, 500 peers each with one message
// to the user and a nick, then `requests` lists and as many pings.
async function measure(bin) {
  const chatd = await startChatd({ apps: [appConfig({ max_web_instances: 10 })], bin });
  try {
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
    // The floor of the same round: a request that reads nothing.
    const pings = [];
    for (let i = 0; i < requests; ++i) pings.push((await timed(owner, 'ping', {})).ms);
    const parses = owner.parseMs.slice(-2 * requests, -requests).sort((a, b) => a - b);
    samples.sort((a, b) => a - b);
    pings.sort((a, b) => a - b);
    owner.close();
    return {
      list_ms: { p50: percentile(samples, 50), p99: percentile(samples, 99), max: samples.at(-1) },
      client_parse_ms: { p50: percentile(parses, 50), p99: percentile(parses, 99) },
      ping_ms: { p50: percentile(pings, 50), p99: percentile(pings, 99) },
    };
  } finally {
    await chatd.stop('SIGKILL');
  }
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
// The median of each figure over the rounds.
function summary(runs) {
  const pick = (f) => median(runs.map(f));
  return {
    list_ms: { p50: pick((r) => r.list_ms.p50), p99: pick((r) => r.list_ms.p99), max: pick((r) => r.list_ms.max) },
    client_parse_ms: { p50: pick((r) => r.client_parse_ms.p50), p99: pick((r) => r.client_parse_ms.p99) },
    ping_ms: { p50: pick((r) => r.ping_ms.p50), p99: pick((r) => r.ping_ms.p99) },
    rounds: runs,
  };
}

// With CHATD_BASELINE_BIN (an older chatd), it is measured in the same
// rounds, alternating, and the ratios against it are reported.
const baselineBin = process.env.CHATD_BASELINE_BIN;
const after = [];
const before = [];
for (let round = 0; round < rounds; ++round) {
  after.push(await measure(undefined));
  if (baselineBin) before.push(await measure(baselineBin));
}
const result = {
  when: new Date().toISOString().slice(0, 16).replace('T', ' '),
  conversations: peers, requests, rounds,
  after: summary(after),
};
if (baselineBin) {
  result.before = summary(before);
  result.after_vs_before = {
    list_p50: result.after.list_ms.p50 / result.before.list_ms.p50,
    list_p99: result.after.list_ms.p99 / result.before.list_ms.p99,
  };
}
result.list_p99_vs_ping_p99 = result.after.list_ms.p99 / result.after.ping_ms.p99;
result.targets = { 'p99 < 5 ms with 500 conversations': result.after.list_ms.p99 < 5 };
mkdirSync(join(here, 'results'), { recursive: true });
writeFileSync(join(here, 'results', 'conversation_list.json'), JSON.stringify(result, null, 2) + '\n');
console.log(JSON.stringify({ ...result, after: { ...result.after, rounds: undefined }, before: result.before && { ...result.before, rounds: undefined } }, null, 2));
