// The .deb as an operator meets it: `cpack -G DEB` in the build, the
// package's control files and contents, the systemd unit checked by
// systemd-analyze, and the unpacked chatd run on the packaged
// /etc/chatd/chatd.toml as it is. The run happens in a network and mount
// namespace of its own (loopback up, a tmpfs on /var/lib), so the packaged
// ports (8080, 9464) and /var/lib/chatd never touch this machine's.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, readFileSync, writeFileSync, existsSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const BUILD_DIR = process.env.CHATD_BUILD_DIR;
const SOURCE_DIR = resolve(import.meta.dirname, '../../..');
const VERSION = readFileSync(join(SOURCE_DIR, 'CMakeLists.txt'), 'utf8').match(/project\(chatd VERSION (\S+)/)[1];
const work = mkdtempSync(join(tmpdir(), 'chatd-deb-'));
const root = join(work, 'root');

const run = (command, args, options = {}) =>
  execFileSync(command, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], ...options });

function which(command) {
  try { return run('sh', ['-c', `command -v ${command}`]).trim(); } catch { return null; }
}

test(`chatd_${VERSION}_amd64.deb`, async (t) => {
  assert.ok(BUILD_DIR, 'CHATD_BUILD_DIR names the build to package');
  run('cpack', ['-G', 'DEB', '-B', work], { cwd: BUILD_DIR });
  const deb = join(work, `chatd_${VERSION}_amd64.deb`);
  assert.ok(existsSync(deb), `${deb} built (have: ${readdirSync(work)})`);

  await t.test('control: conffile, maintainer scripts, dependencies', () => {
    assert.equal(run('dpkg-deb', ['-f', deb, 'Package']).trim(), 'chatd');
    const depends = run('dpkg-deb', ['-f', deb, 'Depends']);
    for (const dep of ['adduser', 'libcaf-core0.17', 'libsqlite3-0', 'libssl3'])
      assert.match(depends, new RegExp(`\\b${dep}\\b`), `Depends has ${dep}`);
    const control = join(work, 'control');
    run('dpkg-deb', ['-e', deb, control]);
    assert.equal(readFileSync(join(control, 'conffiles'), 'utf8').trim(), '/etc/chatd/chatd.toml');
    assert.match(readFileSync(join(control, 'postinst'), 'utf8'), /adduser --system --group .* chatd/);
    for (const script of ['postinst', 'prerm', 'postrm']) run('sh', ['-n', join(control, script)]);
  });

  run('dpkg-deb', ['-x', deb, root]);

  await t.test('contents: executables, conffile, unit, operator files', () => {
    for (const file of ['usr/bin/chatd', 'usr/bin/chatctl', 'usr/bin/chatd-usersig', 'usr/bin/chat-loadgen',
      'usr/bin/chat-bots', 'etc/chatd/chatd.toml', 'lib/systemd/system/chatd.service',
      'usr/share/chatd/prometheus/prometheus.yml', 'usr/share/chatd/prometheus/alerts.yml',
      'usr/share/chatd/grafana/chatd-session-health.json'])
      assert.ok(existsSync(join(root, file)), `${file} is in the package`);
    const config = readFileSync(join(root, 'etc/chatd/chatd.toml'), 'utf8');
    assert.match(config, /^state_dir = "\/var\/lib\/chatd"/m);
    assert.doesNotMatch(config, /^state_dir = "var"/m);
    assert.match(run(join(root, 'usr/bin/chatd'), ['--config', join(root, 'etc/chatd/chatd.toml'), '--check-config']),
      /config ok: 1 app/);
  });

  await t.test('systemd unit: own user, state directory, restart, drain within the stop timeout', () => {
    const unit = readFileSync(join(root, 'lib/systemd/system/chatd.service'), 'utf8');
    const key = (name) => unit.match(new RegExp(`^${name}=(.*)$`, 'm'))?.[1];
    assert.equal(key('User'), 'chatd');
    assert.equal(key('StateDirectory'), 'chatd');
    assert.equal(key('Restart'), 'on-failure');
    assert.equal(key('KillSignal'), 'SIGTERM');
    assert.equal(key('ExecStart'), '/usr/bin/chatd --config /etc/chatd/chatd.toml');
    const config = readFileSync(join(root, 'etc/chatd/chatd.toml'), 'utf8');
    const grace = Number(config.match(/^drain_grace_s = (\d+)/m)?.[1] ?? 10);
    assert.ok(Number(key('TimeoutStopSec')) > grace, 'systemd waits longer than the drain');
  });

  await t.test('systemd-analyze verify', { skip: !which('systemd-analyze') && 'no systemd-analyze here' }, () => {
    // verify wants ExecStart to exist: point it at the unpacked binary.
    const unit = join(work, 'chatd.service');
    writeFileSync(unit, readFileSync(join(root, 'lib/systemd/system/chatd.service'), 'utf8')
      .replace('/usr/bin/chatd', join(root, 'usr/bin/chatd')));
    const result = spawnSyncText('systemd-analyze', ['verify', unit]);
    assert.equal(result.status, 0, result.output);
    assert.equal(result.output.trim(), '', 'no warning about the unit');
  });

  await t.test('the unpacked chatd serves on the packaged config and drains on SIGTERM', async () => {
    const chatd = join(root, 'usr/bin/chatd');
    const config = join(root, 'etc/chatd/chatd.toml');
    const proc = spawn('unshare', ['--mount', '--net', 'sh', '-c',
      'ip link set lo up && mount -t tmpfs chatd-test /var/lib && mkdir /var/lib/chatd && exec "$0" --config "$1"',
      chatd, config], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    proc.stdout.on('data', (d) => { out += d; });
    proc.stderr.on('data', (d) => { err += d; });
    const exited = new Promise((r) => proc.on('exit', (code, signal) => r({ code, signal })));
    try {
      const deadline = Date.now() + 15000;
      while (!/listening gateway=/.test(out)) {
        assert.ok(Date.now() < deadline && proc.exitCode === null, `chatd did not start: ${out}${err}`);
        await new Promise((r) => setTimeout(r, 20));
      }
      assert.match(out, /listening gateway=127\.0\.0\.1:8080 metrics=127\.0\.0\.1:9464 scheme=ws/);
      // A native login in chatd's namespace, with a UserSig for the packaged demo app.
      const app = Number(readFileSync(config, 'utf8').match(/^sdkappid = (\d+)/m)[1]);
      const key = readFileSync(config, 'utf8').match(/^secret_key = "(.*)"/m)[1];
      const answer = JSON.parse(run('nsenter', ['-t', String(proc.pid), '-n', process.execPath,
        '--input-type=module', '-e', loginScript(app, key)], { cwd: resolve(import.meta.dirname, '..') }));
      assert.equal(answer.login.code, 0, JSON.stringify(answer));
      assert.equal(answer.login.data.userID, 'alice');
      assert.ok(Math.abs(answer.time.data.serverTime - Date.now()) < 60000, JSON.stringify(answer.time));
      assert.equal(answer.health, 200);
      // The durable state went to /var/lib/chatd (chatd's own view of it).
      const state = readdirSync(`/proc/${proc.pid}/root/var/lib/chatd`);
      assert.ok(state.length > 0, 'state files under /var/lib/chatd');
      proc.kill('SIGTERM');
      assert.deepEqual(await exited, { code: 0, signal: null }, err);
    } finally {
      proc.kill('SIGKILL');
    }
  });
  rmSync(work, { recursive: true, force: true });
});

function spawnSyncText(command, args) {
  try {
    const output = execFileSync(command, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    return { status: 0, output };
  } catch (e) {
    return { status: e.status, output: `${e.stdout}${e.stderr}` };
  }
}

// Runs inside chatd's network namespace: logs alice in, asks the time,
// checks /healthz, prints the answers as one JSON line.
function loginScript(app, key) {
  return `
    import { Client } from './lib/chatd.mjs';
    import TLSSigAPIv2 from 'tls-sig-api-v2';
    const userSig = new TLSSigAPIv2.Api(${app}, ${JSON.stringify(key)}).genSig('alice', 600);
    const c = await Client.connect('ws://127.0.0.1:8080/v1/ws');
    const login = await c.request('login', { SDKAppID: ${app}, userID: 'alice', userSig });
    const time = await c.request('getServerTime');
    const health = (await fetch('http://127.0.0.1:8080/healthz')).status;
    c.close();
    console.log(JSON.stringify({ login, time, health }));
    process.exit(0);`;
}
