// chat-loadgen end to end against a real chatd: 2,000 users over 2 worker
// processes, then a small kick storm; the reports' fields and a clean audit.
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startChatd, appConfig, KEY } from './lib/chatd.mjs';

const LOADGEN = process.env.CHAT_LOADGEN_BIN ?? '../../build/tools/chat-loadgen';
const run = promisify(execFile);
let chatd;
const dir = mkdtempSync(join(tmpdir(), 'chatd-loadgen-'));
before(async () => { chatd = await startChatd({ apps: [appConfig({ max_web_instances: 1, max_devices_per_platform: 1 })] }); });
after(async () => { await chatd.stop(); rmSync(dir, { recursive: true, force: true }); });

async function loadgen(args, name) {
  const file = join(dir, `${name}.json`);
  const { stdout } = await run(LOADGEN, ['--url', chatd.url, '--key', KEY, '--json', file, ...args], { timeout: 120000 });
  return { report: JSON.parse(readFileSync(file, 'utf8')), stdout };
}

test('login-hold: 2,000 users over 2 workers all log in, are held, and the audit is clean', async () => {
  const { report, stdout } = await loadgen(['--users', '2000', '--workers', '2', '--rate', '2000/s', '--hold', '2s',
    '--platform-mix', 'Web:70,Android:20,iPhone:10', '--source-ips', '4', '--user-prefix', 'hold'], 'hold');
  assert.equal(report.mode, 'login-hold');
  assert.equal(report.workers, 2);
  assert.equal(report.attempts, 2000);
  assert.equal(report.logins_ok, 2000);
  assert.deepEqual(report.failures_by_code, {});
  assert.deepEqual(report.kicks_by_type, {});
  assert.equal(report.connections_held_peak, 2000);
  assert.equal(report.login_latency_ms.count, 2000);
  for (const p of ['p50', 'p90', 'p99', 'max']) assert.ok(report.login_latency_ms[p] > 0, p);
  assert.ok(report.login_latency_ms.p50 <= report.login_latency_ms.p99);
  assert.ok(report.logins_per_s > 0);
  assert.deepEqual(report.audit, { source: 'rest', sampled_users: 102, violations: 0, clean: true });
  assert.match(stdout, /logins ok 2000 of 2000/);
});

test('kick-storm: three instances per user with a limit of one kick two each, measured', async () => {
  const { report } = await loadgen(['--mode', 'kick-storm', '--users', '300', '--instances-per-user', '3',
    '--rate', '1000/s', '--hold', '1s', '--user-prefix', 'storm'], 'storm');
  assert.equal(report.logins_ok, 900);
  assert.deepEqual(report.kicks_by_type, { multipleAccount: 600 });
  assert.equal(report.kick_latency_ms.count, 600);
  assert.equal(report.audit.clean, true);
});

test('churn: login, ready, logout, close in a loop', async () => {
  const { report } = await loadgen(['--mode', 'churn', '--users', '500', '--rate', '500/s', '--duration', '2s',
    '--user-prefix', 'churn'], 'churn');
  assert.ok(report.logins_ok >= 500, `only ${report.logins_ok} logins`);
  assert.deepEqual(report.failures_by_code, {});
  assert.equal(report.login_latency_ms.count, report.logins_ok);
});

test('message: senders to receivers over 2 workers, every acknowledged message received once, in order', async () => {
  const { report, stdout } = await loadgen(['--mode', 'message', '--users', '400', '--workers', '2', '--rate', '2000/s',
    '--duration', '2s', '--user-prefix', 'msg'], 'message');
  assert.equal(report.mode, 'message');
  assert.equal(report.logins_ok, 400);
  const m = report.messages;
  assert.ok(m.acked >= 3000, `only ${m.acked} acknowledged`);
  assert.equal(m.acked, m.sent);
  assert.equal(m.received, m.acked);
  assert.ok(m.acked_per_s > 1000, `${m.acked_per_s}/s`);
  assert.equal(m.latency_ms.count, m.received);
  assert.ok(m.latency_ms.p50 > 0 && m.latency_ms.p50 <= m.latency_ms.p99);
  assert.equal(m.answer_ms.count, m.acked);
  assert.deepEqual(m.audit, { missing: 0, duplicates: 0, out_of_order: 0 });
  assert.deepEqual(report.audit, { source: 'messages', sampled_users: 200, violations: 0, clean: true });
  assert.match(stdout, /message audit: missing 0, duplicates 0, out of order 0/);
  // Only what it measured: a message run times no logins and holds no peak.
  assert.doesNotMatch(stdout, /login latency|connections held/);
});

test('every login failing (a wrong key) exits 3 below --min-success, naming the failures', async () => {
  const file = join(dir, 'wrong-key.json');
  const failed = await run(LOADGEN, ['--url', chatd.url, '--key', 'not-the-key', '--json', file, '--users', '50',
    '--rate', '500/s', '--hold', '1s', '--user-prefix', 'wrongkey'], { timeout: 60000 }).then(() => null, (e) => e);
  assert.ok(failed, 'chat-loadgen must not exit 0');
  assert.equal(failed.code, 3);
  assert.match(failed.stderr, /0 of 50 logins succeeded \(0%\), below --min-success 99%; failures by code \{"70009":50\}/);
  // --min-success 0 accepts it (a test of the failures themselves).
  const accepted = await run(LOADGEN, ['--url', chatd.url, '--key', 'not-the-key', '--users', '10', '--rate', '500/s',
    '--hold', '1s', '--user-prefix', 'wrongkey2', '--min-success', '0'], { timeout: 60000 });
  assert.match(accepted.stdout, /logins ok 0 of 10/);
});
