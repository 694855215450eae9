// Metrics checked by a real Prometheus (Debian's `prometheus` package):
// it scrapes a real chatd every second, we drive logins, kicks, failures,
// logouts and REST calls, then every panel query of the shipped Grafana
// dashboard must return series. promtool checks the scrape and the rules.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { startChatd, appConfig, Client, sig, sleep } from './lib/chatd.mjs';
import { startPrometheus, query, waitForScrapes, panelQueries, CONFIGS } from './lib/prometheus.mjs';

const cleanups = [];
after(async () => { for (const c of cleanups.reverse()) await c(); });

async function driveTraffic(chatd) {
  const c = await Client.connect(chatd.url);
  await c.login('m-alice');                                   // ok
  const d = await Client.connect(chatd.url);
  await d.login('m-alice');                                   // kicks c: multipleAccount
  await c.waitEvent('kickedOut');
  const a = await Client.connect(chatd.url);
  await a.login('m-bob', { platform: 'Android' });
  const i = await Client.connect(chatd.url);
  await i.login('m-bob', { platform: 'iPhone' });             // kicks a: multipleDevice
  await a.waitEvent('kickedOut');
  await c.login('m-carol', { userSig: sig('m-carol', { key: 'wrong' }) });  // 70009
  await c.login('m-carol', { userSig: 'broken' });            // 70003
  await c.login('m-carol', { sdkappid: 999 });                // 70020
  await c.login('m-dave');
  await c.request('logout');                                  // logout
  await i.request('destroy');                                 // destroy
  assert.equal((await chatd.rest('im_open_login_svc/kick', { UserID: 'm-alice' })).body.ErrorCode, 0);
  await d.waitEvent('kickedOut');                             // REST_API_Kick
  await chatd.rest('openim/query_online_status', { To_Account: ['m-bob'] });
  await chatd.rest('chatd_admin/get_login_config', {}, { identifier: 'intruder' });  // 60010
  const sender = await Client.connect(chatd.url);
  await sender.login('m-erin');
  const recipient = await Client.connect(chatd.url);
  await recipient.login('m-frank');
  assert.equal((await sender.request('sendMessage', { to: 'm-frank', text: 'counted' })).code, 0);
  await recipient.waitEvent('messageReceived');               // sent 1, delivered 1
  const b = await Client.connect(chatd.url);
  b.ws.send(Buffer.from('x'), { binary: true });              // connection error
  await b.closed;
  return [c, d, a, i, sender, recipient];
}

test('every dashboard panel query returns series from a real Prometheus scraping chatd', async () => {
  const chatd = await startChatd({ apps: [appConfig()] });
  cleanups.push(() => chatd.stop());
  const prom = await startPrometheus(chatd.metrics, cleanups);
  // Some scrapes before and after the traffic, so rate() sees it happen.
  await waitForScrapes(prom, 3);
  const clients = await driveTraffic(chatd);
  cleanups.push(async () => { for (const c of clients) c.close(); });

  await waitForScrapes(prom, 7);
  assert.equal((await query(prom, 'up{job="chatd"}'))[0].value[1], '1');

  const dashboard = JSON.parse(readFileSync(join(CONFIGS, 'grafana/chatd-session-health.json'), 'utf8'));
  const empty = [];
  let checked = 0;
  // The cluster row needs a cluster: tests/e2e/cluster.test.mjs checks it.
  for (const { panel, expr } of panelQueries(dashboard, (p) => !p.title.startsWith('Cluster'))) {
    const result = await query(prom, expr);
    checked += 1;
    if (result.length === 0 || result.every((s) => Number.isNaN(Number(s.value[1]))))
      empty.push(`${panel}: ${expr}`);
  }
  assert.deepEqual(empty, [], 'panel queries without series');
  assert.ok(checked >= 20, `only ${checked} queries`);

  // The numbers behind a few panels are right, not merely present.
  const kicks = await query(prom, 'sum by (type) (chatd_kicks_total)');
  const byType = Object.fromEntries(kicks.map((s) => [s.metric.type, Number(s.value[1])]));
  assert.deepEqual(byType, { multipleAccount: 1, multipleDevice: 1, REST_API_Kick: 1, userSigExpired: 0 });
  const codes = await query(prom, 'sum by (code) (chatd_logins_total)');
  const byCode = Object.fromEntries(codes.map((s) => [s.metric.code, Number(s.value[1])]));
  assert.equal(byCode['70009'], 1);
  assert.equal(byCode['70003'], 1);
  assert.equal(byCode['70020'], 1);
  assert.equal(byCode['0'], 7);
  const online = await query(prom, 'sum(chatd_online_instances)');
  assert.equal(Number(online[0].value[1]), 2);
  const value = async (expr) => Number((await query(prom, expr))[0].value[1]);
  assert.equal(await value('sum(chatd_messages_sent_total)'), 1);
  assert.equal(await value('sum(chatd_messages_delivered_total)'), 1);
  assert.equal(await value('sum(chatd_message_delivery_seconds_count)'), 1);
  assert.equal(await value('sum(chatd_timeline_entries)'), 2);  // the recipient's and the sender's
  const rules = await (await fetch(`${prom}/api/v1/rules`)).json();
  assert.equal(rules.data.groups[0].rules.length, 5, 'the shipped alert rules are loaded');
});

test('promtool accepts the metrics, the rules and the scrape config', async () => {
  const chatd = await startChatd();
  cleanups.push(() => chatd.stop());
  const c = await Client.connect(chatd.url);
  await c.login('p-alice');
  await chatd.rest('openim/query_online_status', { To_Account: ['p-alice'] });
  const scrape = await (await fetch(`http://${chatd.metrics}/metrics`)).text();
  c.close();
  // promtool exits non-zero and prints the problems on any lint failure.
  execFileSync('promtool', ['check', 'metrics'], { input: scrape });
  execFileSync('promtool', ['check', 'rules', join(CONFIGS, 'prometheus/alerts.yml')]);
  execFileSync('promtool', ['test', 'rules', join(CONFIGS, 'prometheus/alerts.test.yml')]);
  execFileSync('promtool', ['check', 'config', join(CONFIGS, 'prometheus/prometheus.yml')]);
  for (const name of ['chatd_logins_total', 'chatd_online_instances', 'chatd_login_duration_seconds_bucket',
    'chatd_kicks_total', 'chatd_logouts_total', 'chatd_connections_open', 'chatd_rest_requests_total',
    'chatd_messages_sent_total', 'chatd_messages_delivered_total', 'chatd_message_delivery_seconds_bucket',
    'chatd_timeline_entries', 'process_resident_memory_bytes',
    'process_cpu_seconds_total', 'process_open_fds', 'chatd_actors_running'])
    assert.match(scrape, new RegExp(`^${name}`, 'm'), name);
  assert.doesNotMatch(scrape, /user_?id|instance_?id/i, 'no per-user or per-instance labels');
});
