// Starts real chatd processes on 127.0.0.1 for end-to-end tests, and speaks
// the native protocol to them over real WebSockets.
import { spawn, execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import http from 'node:http';
import https from 'node:https';
import { createServer } from 'node:net';
import WebSocket from 'ws';
import TLSSigAPIv2 from 'tls-sig-api-v2';
// The ws package, for scripts outside tests/e2e (bench/) that resolve no
// package of their own.
export { WebSocket };

// A port free on 127.0.0.1 right now (another process may take it before
// it is used: callers that bind it later must cope).
export function freePort() {
  return new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => { const { port } = s.address(); s.close(() => resolve(port)); });
  });
}

export const APP = 1400000000;
export const KEY = '5bd2850fff3ecb11d7c805251c51ee463a25727bddc2385f3fa8bfee1bb93b5e';
export const OTHER_APP = 1400000001;
export const OTHER_KEY = 'another-apps-secret-key';

const CHATD_BIN = process.env.CHATD_BIN ?? '../../build/server/chatd';
const USERSIG_BIN = process.env.CHATD_USERSIG_BIN ?? '../../build/tools/chatd-usersig';
export const CHATCTL_BIN = process.env.CHATCTL_BIN ?? '../../build/tools/chatctl';

// A UserSig from Tencent's official Node generator (npm tls-sig-api-v2).
export function sig(user, { expire = 86400, sdkappid = APP, key = KEY } = {}) {
  return new TLSSigAPIv2.Api(sdkappid, key).genSig(user, expire);
}

// A UserSig with a chosen issue time, from our own tool.
export function sigAt(user, time, expire, { sdkappid = APP, key = KEY } = {}) {
  return execFileSync(USERSIG_BIN, ['--sdkappid', String(sdkappid), '--key', key, '--user', user,
    '--time', String(time), '--expire', String(expire)]).toString().trim();
}

function toml(value) {
  if (Array.isArray(value)) return `[${value.map(toml).join(', ')}]`;
  if (typeof value === 'string') return JSON.stringify(value);
  return String(value);
}

export function appConfig(overrides = {}) {
  return { sdkappid: APP, secret_key: KEY, ...overrides };
}

// Writes a config, starts chatd, and resolves once it prints its addresses.
// With `dir` (from an earlier server's `keep()`), restarts on that config and state.
// `bin`: another chatd binary (a benchmark's baseline).
export async function startChatd({ server = {}, apps = [appConfig()], wrap = [], lockout, store, cluster, dir: reuse, bin = CHATD_BIN } = {}) {
  const dir = reuse ?? mkdtempSync(join(tmpdir(), 'chatd-e2e-'));
  const configFile = join(dir, 'chatd.toml');
  if (!reuse) writeConfig(configFile, server, apps, { lockout, store, cluster });
  return launch(dir, configFile, [...wrap, bin]);
}

function writeConfig(configFile, server, apps, tables) {
  // Every test client comes from 127.0.0.1: the per-address caps are off
  // unless a test sets them (limits.test.mjs).
  const serverKeys = { listen: '127.0.0.1:0', metrics_listen: '127.0.0.1:0', state_dir: 'state',
    log_level: 'warn', max_connections_per_address: 1000000, max_logins_per_address_per_s: 1000000, ...server };
  let text = '[server]\n' + Object.entries(serverKeys).map(([k, v]) => `${k} = ${toml(v)}`).join('\n');
  for (const [name, table] of Object.entries(tables))
    if (table) text += `\n\n[${name}]\n` + Object.entries(table).map(([k, v]) => `${k} = ${toml(v)}`).join('\n');
  for (const app of apps)
    text += '\n\n[[app]]\n' + Object.entries(app).map(([k, v]) => `${k} = ${toml(v)}`).join('\n');
  writeFileSync(configFile, text + '\n');
}

async function launch(dir, configFile, commandPrefix) {
  let keep = false;
  const command = [...commandPrefix, '--config', configFile];
  const proc = spawn(command[0], command.slice(1), { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  proc.stderr.on('data', (d) => { stderr += d; });
  const exited = new Promise((resolve) => proc.on('exit', (code, signal) => resolve({ code, signal })));
  const addresses = await new Promise((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error('chatd did not start: ' + stderr)), 15000);
    proc.stdout.on('data', (d) => {
      out += d;
      const m = out.match(/listening gateway=(\S+) metrics=(\S+) scheme=(\S+)(?: plain=(\S+))?(?: cluster=(\S+))?\n/);
      if (m) { clearTimeout(timer); resolve({ gateway: m[1], metrics: m[2], scheme: m[3], plain: m[4], cluster: m[5] }); }
    });
    exited.then(({ code }) => { clearTimeout(timer); reject(new Error(`chatd exited ${code}: ${stderr}`)); });
  });
  const tls = addresses.scheme === 'wss';
  // The certificate a TLS server was given, as the CA its clients trust.
  const caFile = tls ? tlsCertOf(configFile) : undefined;
  const ca = tls ? readFileSync(caFile) : undefined;
  return {
    ...addresses,
    ca,
    caFile,
    pid: proc.pid,
    dir,
    configFile,
    exited,
    stderr: () => stderr,
    url: `${addresses.scheme}://${addresses.gateway}/v1/ws`,
    // Options for a ws client of this server (the CA of a TLS server).
    wsOptions: tls ? { ca } : {},
    // Keep the config and state for a restart (startChatd({ dir })).
    keep() { keep = true; return dir; },
    async stop(signal = 'SIGTERM') {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill(signal);
      const result = await exited;
      if (!keep) rmSync(dir, { recursive: true, force: true });
      // Under scripts/test.sh --sanitize, a report anywhere in chatd's life fails the test.
      const report = stderr.match(/(ERROR: (Address|Leak|Thread)Sanitizer|WARNING: ThreadSanitizer|runtime error:)[^]*/);
      if (report) throw new Error(`chatd's sanitizer report:\n${report[0].slice(0, Number(process.env.CHATD_REPORT_CHARS ?? 4000))}`);
      return result;
    },
    // An admin REST call; resolves with { status, body }.
    async rest(command, body = {}, { sdkappid = APP, identifier = 'administrator', usersig, raw } = {}) {
      const sigParam = usersig ?? sig(identifier, { sdkappid });
      const params = new URLSearchParams({ sdkappid: String(sdkappid), identifier, usersig: sigParam,
        random: String(Math.floor(Math.random() * 4294967295)), contenttype: 'json' });
      if (sdkappid === null) params.delete('sdkappid');
      const url = `${tls ? 'https' : 'http'}://${addresses.gateway}/v4/${command}?${params}`;
      const { status, text } = await post(url, raw ?? JSON.stringify(body), ca);
      return { status, body: status === 200 ? JSON.parse(text) : text };
    },
  };
}

function tlsCertOf(configFile) {
  const m = readFileSync(configFile, 'utf8').match(/^tls_cert_file = "(.*)"$/m);
  return m[1].startsWith('/') ? m[1] : join(dirname(configFile), m[1]);
}

// POSTs over http or https (trusting `ca`); resolves with { status, text }.
function post(url, body, ca) {
  const { request } = url.startsWith('https:') ? https : http;
  return new Promise((resolve, reject) => {
    const req = request(url, { method: 'POST', ca, headers: { 'content-type': 'application/json' } }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (d) => { text += d; });
      res.on('end', () => resolve({ status: res.statusCode, text }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

// A self-signed certificate for 127.0.0.1 and localhost, made with the
// openssl CLI in `dir`; returns the two file paths.
export function makeCertificate(dir) {
  const cert = join(dir, 'cert.pem');
  const key = join(dir, 'key.pem');
  execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1',
    '-nodes', '-keyout', key, '-out', cert, '-days', '2', '-subj', '/CN=localhost',
    '-addext', 'subjectAltName=DNS:localhost,IP:127.0.0.1'], { stdio: 'ignore' });
  return { cert, key };
}

// One native-protocol connection: requests by seq, events in arrival order.
export class Client {
  static async connect(url, options = {}) {
    const c = new Client(url, options);
    await c.opened;
    return c;
  }

  constructor(url, options = {}) {
    this.ws = new WebSocket(url, options);
    this.seq = 0;
    this.pending = new Map();
    this.frames = [];
    this.events = [];
    this.waiters = [];
    this.opened = new Promise((resolve, reject) => {
      this.ws.once('open', resolve);
      this.ws.once('error', reject);
    });
    this.closed = new Promise((resolve) => {
      this.ws.on('close', (code, reason) => resolve({ code, reason: reason.toString() }));
    });
    this.ws.on('error', () => {});
    this.ws.on('message', (data, isBinary) => this.#receive(data.toString(), isBinary));
  }

  #receive(text) {
    const frame = JSON.parse(text);
    this.frames.push(frame);
    if (frame.event) {
      this.events.push(frame);
      this.waiters = this.waiters.filter((w) => !w(frame));
    } else if (this.pending.has(frame.seq)) {
      this.pending.get(frame.seq)(frame);
      this.pending.delete(frame.seq);
    }
  }

  send(object) { this.ws.send(JSON.stringify(object)); }

  request(op, data = {}, timeoutMs = 10000) {
    const seq = ++this.seq;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no answer to ${op}`)), timeoutMs);
      this.pending.set(seq, (frame) => { clearTimeout(timer); resolve(frame); });
      this.send({ seq, op, data });
    });
  }

  login(user, { userSig = sig(user), platform = 'Web', sdkappid = APP } = {}) {
    return this.request('login', { SDKAppID: sdkappid, userID: user, userSig, platform });
  }

  // Resolves with the first event named `name` (already received or future).
  waitEvent(name, timeoutMs = 10000) {
    const seen = this.events.find((e) => e.event === name);
    if (seen) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no ${name} event`)), timeoutMs);
      this.waiters.push((frame) => {
        if (frame.event !== name) return false;
        clearTimeout(timer);
        resolve(frame);
        return true;
      });
    });
  }

  eventNames() { return this.events.map((e) => e.event); }

  close() { this.ws.terminate(); }
}

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// A native client logged in as `user` on `server` (APP, Web), with `data`
// added to the login request (syncFromSeq, platform...).
export async function loggedInClient(server, user, data = {}) {
  const c = await Client.connect(server.url);
  const r = await c.request('login', { SDKAppID: APP, userID: user, userSig: sig(user), platform: 'Web', ...data });
  if (r.code !== 0) throw new Error(`login of ${user}: ${JSON.stringify(r)}`);
  return c;
}

// Polls `predicate` until it holds; throws after `timeoutMs`.
export async function until(predicate, what, timeoutMs = 20000) {
  const deadline = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${typeof what === "function" ? what() : what}`);
    await sleep(5);
  }
}

// Stops every server, even when one fails (a sanitizer report): a server
// left running would keep the test process alive until CTest's timeout.
export async function stopAll(servers) {
  const failures = [];
  for (const s of servers) await s.stop().catch((e) => failures.push(e));
  if (failures.length) throw failures[0];
}

// CPU seconds (user + system) a process has used so far.
export function cpuSeconds(pid) {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}
