// A real Prometheus server for the metrics tests: scrapes the given chatd
// metrics endpoints every second with the shipped alert rules loaded.
import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import assert from 'node:assert/strict';
import { sleep, freePort } from './chatd.mjs';

export const CONFIGS = resolve('../../configs');

// Starts Prometheus on `targets` (host:port strings); pushes its stop onto `cleanups`.
export async function startPrometheus(targets, cleanups) {
  const dir = mkdtempSync(join(tmpdir(), 'chatd-prom-'));
  const port = await freePort();
  writeFileSync(join(dir, 'prometheus.yml'), `
global:
  scrape_interval: 1s
  evaluation_interval: 1s
rule_files:
  - ${join(CONFIGS, 'prometheus/alerts.yml')}
scrape_configs:
  - job_name: chatd
    static_configs:
      - targets: [${[targets].flat().map((t) => `'${t}'`).join(', ')}]
`);
  const proc = spawn('prometheus', [`--config.file=${join(dir, 'prometheus.yml')}`,
    `--storage.tsdb.path=${join(dir, 'data')}`, `--web.listen-address=127.0.0.1:${port}`],
  { stdio: ['ignore', 'ignore', 'pipe'] });
  let log = '';
  proc.stderr.on('data', (d) => { log += d; });
  const exited = new Promise((r) => proc.on('exit', r));
  cleanups.push(async () => { proc.kill('SIGTERM'); await exited; rmSync(dir, { recursive: true, force: true }); });
  const url = `http://127.0.0.1:${port}`;
  for (let i = 0; i < 200; ++i) {
    const ready = await fetch(`${url}/-/ready`).then((r) => r.ok, () => false);
    if (ready) return url;
    await sleep(100);
  }
  throw new Error('prometheus did not become ready: ' + log);
}

export async function query(prom, expr) {
  const r = await fetch(`${prom}/api/v1/query?query=${encodeURIComponent(expr)}`);
  const body = await r.json();
  assert.equal(body.status, 'success', `${expr}: ${JSON.stringify(body)}`);
  return body.data.result;
}

// Waits until every target has been scraped `count` times.
export async function waitForScrapes(prom, count) {
  for (let i = 0; i < 150; ++i) {
    const scrapes = await query(prom, 'count_over_time(up{job="chatd"}[1m])');
    if (scrapes.length && scrapes.every((s) => Number(s.value[1]) >= count)) return;
    await sleep(200);
  }
  throw new Error(`fewer than ${count} scrapes`);
}

// The dashboard's panel queries as Prometheus runs them; those of panels
// `which(panel)` selects.
export function panelQueries(dashboard, which = () => true) {
  const out = [];
  for (const panel of dashboard.panels.filter(which))
    for (const target of panel.targets ?? [])
      out.push({ panel: panel.title, expr: target.expr.replaceAll('$__rate_interval', '1m').replaceAll('$job', '.*').replaceAll('$app', '.*') });
  return out;
}
