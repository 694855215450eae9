// The CMake package as a user meets it: chatd installed into a temporary
// prefix (cmake --install), examples/embed-server and examples/echo-bot
// configured with find_package(chatd 0.2) against that prefix alone, built,
// and run: the embedded server logs a user in; the echo bots answer a
// message on the installed chatd binary.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, existsSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const BUILD_DIR = process.env.CHATD_BUILD_DIR;
const SOURCE_DIR = resolve(import.meta.dirname, '../../..');
const work = mkdtempSync(join(tmpdir(), 'chatd-package-'));
const prefix = join(work, 'prefix');

function run(command, args, options = {}) {
  return execFileSync(command, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], ...options });
}

// Configures and builds one example against the prefix; returns its binary.
function buildExample(name) {
  const build = join(work, name);
  run('cmake', ['-S', join(SOURCE_DIR, 'examples', name), '-B', build, '-G', 'Ninja',
    `-DCMAKE_PREFIX_PATH=${prefix}`, '-DCMAKE_BUILD_TYPE=RelWithDebInfo',
    `-DCMAKE_CXX_COMPILER=${process.env.CXX_COMPILER ?? 'c++'}`]);
  run('cmake', ['--build', build]);
  return join(build, name);
}

// Spawns a process and resolves once `pattern` shows in its stdout.
function spawnUntil(command, args, pattern, options = {}) {
  const proc = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'], ...options });
  let out = '';
  let err = '';
  proc.stderr.on('data', (d) => { err += d; });
  const exited = new Promise((r) => proc.on('exit', (code) => r(code)));
  const seen = new Promise((resolveSeen, reject) => {
    const timer = setTimeout(() => reject(new Error(`no ${pattern} from ${command}: ${out}${err}`)), 30000);
    proc.stdout.on('data', (d) => {
      out += d;
      if (pattern.test(out)) { clearTimeout(timer); resolveSeen(); }
    });
    exited.then((code) => { clearTimeout(timer); reject(new Error(`${command} exited ${code}: ${out}${err}`)); });
  });
  return { proc, exited, seen, output: () => out };
}

test('cmake --install, then find_package(chatd 0.2) builds and runs both examples', async (t) => {
  assert.ok(BUILD_DIR, 'CHATD_BUILD_DIR names the build to install');
  run('cmake', ['--install', BUILD_DIR, '--prefix', prefix]);
  for (const file of ['include/chatd/client.hpp', 'include/chatd/server/server.hpp',
    'include/chatd/protocol/usersig.hpp', 'lib/cmake/chatd/chatdConfig.cmake',
    'lib/cmake/chatd/chatdConfigVersion.cmake', 'bin/chatd', 'share/chatd/grafana/chatd-session-health.json'])
    assert.ok(existsSync(join(prefix, file)), `${file} is installed`);
  // A plain install leaves out the .deb's own files (absolute /etc and /lib paths).
  const manifest = readFileSync(join(BUILD_DIR, 'install_manifest.txt'), 'utf8');
  assert.doesNotMatch(manifest, /^\/(etc|lib)\//m);

  await t.test('embed-server: a whole chatd in the host process', () => {
    const binary = buildExample('embed-server');
    const out = run(binary, ['0'], { cwd: work, timeout: 60000 });
    assert.match(out, /chatd embedded: ws:\/\/127\.0\.0\.1:\d+\/v1\/ws/);
    assert.match(out, /alice: login code 0, instance \d+/);
    assert.match(out, /stopped/);
    assert.ok(existsSync(join(work, 'embed-server-state')), 'state_dir relative to the host folder');
  });

  await t.test('echo-bot: bots on the installed chatd answer a message', async () => {
    const binary = buildExample('echo-bot');
    process.env.CHATD_BIN = join(prefix, 'bin/chatd');
    const { startChatd, Client, APP, KEY, stopAll } = await import('../lib/chatd.mjs');
    const server = await startChatd();
    const bots = spawnUntil(binary, [server.url, String(APP), KEY, '2', '60'], /online 2 of 2/);
    try {
      await bots.seen;
      const alice = await Client.connect(server.url);
      assert.equal((await alice.login('alice')).code, 0);
      for (const bot of ['echo-1', 'echo-2'])
        assert.equal((await alice.request('sendMessage', { to: bot, text: `hi ${bot}` })).code, 0);
      const echoes = new Set();
      while (echoes.size < 2) {
        const m = (await alice.waitEvent('messageReceived')).data;
        alice.events.splice(alice.events.findIndex((e) => e.data === m), 1);
        if (m.from !== 'alice') echoes.add(`${m.from}: ${m.text}`);
      }
      assert.deepEqual([...echoes].sort(), ['echo-1: echo: hi echo-1', 'echo-2: echo: hi echo-2']);
      alice.close();
      bots.proc.kill('SIGTERM');
      assert.equal(await bots.exited, 0);
      assert.match(bots.output(), /answered 2 of 2/);
    } finally {
      bots.proc.kill('SIGKILL');
      await stopAll([server]);
    }
  });
  rmSync(work, { recursive: true, force: true });
});
