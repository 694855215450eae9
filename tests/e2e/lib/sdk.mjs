// Drives a simulated SDK device (lib/sdk-device.mjs) from a test.
import { spawn } from 'node:child_process';
import readline from 'node:readline';
import { fileURLToPath } from 'node:url';
import { before, after } from 'node:test';
import { APP, sig, startChatd, appConfig, loggedInClient } from './chatd.mjs';

const DEVICE = fileURLToPath(new URL('./sdk-device.mjs', import.meta.url));

export class SdkDevice {
  // Over wss when the server is TLS: the device trusts its certificate the
  // way an operator's Node app would, through NODE_EXTRA_CA_CERTS.
  static start(server, sdkappid) {
    const env = server.scheme === 'wss' ? { ...process.env, NODE_EXTRA_CA_CERTS: server.caFile } : process.env;
    return new SdkDevice(`${server.scheme ?? 'ws'}://${server.gateway}`, sdkappid, env);
  }

  constructor(proxyServer, sdkappid, env = process.env) {
    this.proc = spawn(process.execPath, [DEVICE, proxyServer, String(sdkappid)], { stdio: ['pipe', 'pipe', 'inherit'], env });
    this.nextId = 0;
    this.pending = new Map();
    this.events = [];
    this.waiters = [];
    this.exited = new Promise((r) => this.proc.on('exit', r));
    readline.createInterface({ input: this.proc.stdout }).on('line', (line) => {
      let message;
      try { message = JSON.parse(line); } catch { return; }  // SDK console noise
      if (message.id !== undefined && this.pending.has(message.id)) {
        this.pending.get(message.id)(message);
        this.pending.delete(message.id);
      } else if (message.event) {
        this.events.push(message);
        this.waiters = this.waiters.filter((w) => !w(message));
      }
    });
  }

  call(cmd, args = {}, timeoutMs = 30000) {
    const id = ++this.nextId;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`${cmd}: no answer`)), timeoutMs);
      this.pending.set(id, (m) => { clearTimeout(timer); resolve(m); });
      this.proc.stdin.write(JSON.stringify({ id, cmd, ...args }) + '\n');
    });
  }

  // The first event named `name` after index `from` (already seen or future).
  waitEvent(name, { from = 0, timeoutMs = 20000 } = {}) {
    const seen = this.events.slice(from).find((e) => e.event === name);
    if (seen) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no ${name}; saw ${JSON.stringify(this.events)}`)), timeoutMs);
      this.waiters.push((e) => {
        if (e.event !== name) return false;
        clearTimeout(timer);
        resolve(e);
        return true;
      });
    });
  }

  async stop() {
    if (this.proc.exitCode === null) {
      this.call('exit', {}, 3000).catch(() => {});
      const timer = setTimeout(() => this.proc.kill('SIGKILL'), 3000);
      await this.exited;
      clearTimeout(timer);
    }
  }
}

// A device logged in as `user` on `server` (APP), ready; kept in `devices`
// for the test file to stop.
export async function readyDevice(server, user, devices, sdkappid = APP) {
  const d = SdkDevice.start(server, sdkappid);
  devices.push(d);
  const r = await d.call('login', { userID: user, userSig: sig(user) });
  if (r.code !== 0) throw new Error(`login of ${user}: ${JSON.stringify(r)}`);
  await d.waitEvent('SDK_READY');
  return d;
}

// One chatd shared by the tests of a file (three web instances per user):
// `sdk(user)` and `native(user, data)` log in on it; its devices, it and
// any server a test adds to `servers` are stopped after the file. The
// server is `env.chatd` once the file's tests run.
export function sharedChatd() {
  const env = { chatd: undefined, servers: [], devices: [] };
  before(async () => {
    env.chatd = await startChatd({ apps: [appConfig({ max_web_instances: 3 })] });
    env.servers.push(env.chatd);
  });
  after(async () => {
    await Promise.all(env.devices.map((d) => d.stop()));
    for (const s of env.servers) await s.stop('SIGKILL');
  });
  env.sdk = (user) => readyDevice(env.chatd, user, env.devices);
  env.native = (user, data) => loggedInClient(env.chatd, user, data);
  return env;
}
