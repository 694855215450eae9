// The README's commands, top to bottom, as a new user runs them after its
// first command: the first line's `./scripts/run-chatd.sh` (on this build:
// CHATD_BUILD_DIR), the WebSocket console, the hand-made login, a message,
// the bot fleet, `cmake --install` and the commands table. The commands are
// read from README.md, not copied here: a README that changes is a README
// that is tested. A shell block this file does not know fails the test.
//
// Uses the embedded default config as the README does: ports 8080 and 9464
// on 127.0.0.1 and state in ./var (CTest runs this test alone: RUN_SERIAL).
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import WebSocket from 'ws';
import { sleep, until } from './lib/chatd.mjs';

const ROOT = resolve('../..');
const BUILD = process.env.CHATD_BUILD_DIR ?? join(ROOT, 'build');
const README = readFileSync(join(ROOT, 'README.md'), 'utf8');
const started = [];
after(() => {
  for (const p of started) if (p.exitCode === null && p.signalCode === null) p.kill('SIGKILL');
});

// Fenced blocks in order: { lang, text }.
const blocks = [...README.matchAll(/^```(\w*)\n([\s\S]*?)^```$/gm)].map((m) => ({ lang: m[1], text: m[2] }));
const shellBlocks = blocks.filter((b) => b.lang === 'sh');
// Code for other projects, run by their own tests (package.examples, js.*).
const OTHER_LANGS = new Set(['toml', 'cmake', 'cpp', 'js', '']);

// A README command as run here: its build folder is this build.
const local = (command) => command.replaceAll('./build/', `${BUILD}/`).replace(/--install build\b/, `--install ${BUILD}`);

function run(command, { input, env = {} } = {}) {
  const r = spawnSync('bash', ['-c', local(command)], { cwd: ROOT, input, encoding: 'utf8', timeout: 60000, env: { ...process.env, ...env } });
  assert.equal(r.status, 0, `${command}\n${r.stderr}`);
  return r.stdout;
}

function startProcess(command, env = {}) {
  const p = spawn('bash', ['-c', `exec ${local(command)}`], { cwd: ROOT, env: { ...process.env, ...env }, stdio: ['pipe', 'pipe', 'pipe'] });
  started.push(p);
  p.out = '';
  p.err = '';
  p.stdout.on('data', (d) => { p.out += d; });
  p.stderr.on('data', (d) => { p.err += d; });
  p.exited = new Promise((r) => p.on('exit', (code, signal) => r({ code, signal })));
  return p;
}

function connect(url) {
  const ws = new WebSocket(url);
  ws.frames = [];
  ws.on('message', (d) => ws.frames.push(JSON.parse(d.toString())));
  return new Promise((res, rej) => { ws.once('open', () => res(ws)); ws.once('error', rej); });
}

async function frame(ws, predicate, what) {
  await until(() => ws.frames.some(predicate), what, 15000);
  return ws.frames.find(predicate);
}

test('every command of the README works, in the order shown', async () => {
  assert.ok(shellBlocks.length >= 3, 'the README has its shell blocks');
  for (const b of blocks) assert.ok(b.lang === 'sh' || OTHER_LANGS.has(b.lang), `a ${b.lang} block`);

  // The first two lines: the run command and the test command.
  const [runLine, testLine] = README.split('\n').filter((l) => l.startsWith('Run '));
  const runCommand = runLine.match(/`([^`]+)`\s*$/)[1];
  assert.equal(testLine.match(/`([^`]+)`\s*$/)[1], './scripts/test.sh');  // this suite itself
  const chatd = startProcess(runCommand, {
    CHATD_BUILD_DIR: BUILD,
    CHATD_BUILD_TYPE: process.env.CHATD_BUILD_TYPE ?? 'RelWithDebInfo',
  });
  const promised = README.match(/\(it prints\s+`(listening [^`]+)`\)/)[1];
  await until(() => chatd.out.includes('listening ') || chatd.exitCode !== null, 'chatd to start', 10 * 60 * 1000);
  assert.ok(chatd.out.includes(promised), `chatd printed:\n${chatd.out}\n${chatd.err}`);
  const url = README.match(/chatctl ws (ws:\S+)/)[1];

  // The console: its first line is the command, the others are typed.
  const [consoleCommand, ...typed] = shellBlocks[0].text.trim().split('\n');
  assert.match(consoleCommand, /chatctl ws/);
  const console_ = startProcess(consoleCommand);
  for (const line of typed) {
    console_.stdin.write(line + '\n');
    await sleep(300);
  }
  console_.stdin.end();
  assert.equal((await console_.exited).code, 0, console_.err);
  const printed = console_.out.trim().split('\n').map((l) => JSON.parse(l));
  assert.equal(printed.find((f) => f.seq === 1)?.code, 0, console_.out);
  assert.ok(printed.some((f) => f.event === 'sdkStateReady'), console_.out);
  assert.equal(typeof printed.find((f) => f.seq === 2)?.data?.serverTime, 'number', console_.out);
  assert.equal(printed.find((f) => f.seq === 3)?.code, 0, console_.out);

  // A login frame made by hand (alice), and bob "as above, with his own sig".
  const loginBlock = shellBlocks[1].text;
  assert.match(loginBlock, /chatd-usersig/);
  const alice = await connect(url);
  alice.send(run(loginBlock).trim());
  assert.equal((await frame(alice, (f) => f.seq === 1, 'alice login')).code, 0);
  const bob = await connect(url);
  bob.send(run(loginBlock.replaceAll('alice', 'bob')).trim());
  assert.equal((await frame(bob, (f) => f.seq === 1, 'bob login')).code, 0);

  // The message by hand, from alice's connection.
  const messageBlock = blocks.find((b) => b.lang === '' && b.text.includes('sendMessage'));
  alice.send(messageBlock.text.trim());
  const sent = await frame(alice, (f) => f.seq === 4, 'the sendMessage answer');
  assert.equal(sent.code, 0, JSON.stringify(sent));
  assert.equal(typeof sent.data.seq, 'number');
  assert.equal(typeof sent.data.senderSeq, 'number');
  const received = await frame(bob, (f) => f.event === 'messageReceived', 'bob\'s message');
  assert.deepEqual([received.data.from, received.data.text, received.data.flow], ['alice', 'hello bob', 'in']);

  // The bot fleet answers bot-7.
  const botsBlock = shellBlocks.find((b) => b.text.includes('chat-bots'));
  const bots = startProcess(botsBlock.text.trim().replace(/\\\n\s*/g, ''));
  const users = Number(botsBlock.text.match(/--users (\d+)/)[1]);
  await until(() => bots.out.includes(`"online":${users}`) || bots.exitCode !== null, 'every bot online', 60000);
  assert.ok(bots.out.includes(`"online":${users}`), `${bots.out}\n${bots.err}`);
  alice.send(JSON.stringify({ seq: 5, op: 'sendMessage', data: { to: 'bot-7', text: 'hi' } }));
  assert.equal((await frame(alice, (f) => f.seq === 5, 'the send to bot-7')).code, 0);
  const echo = await frame(alice, (f) => f.event === 'messageReceived' && f.data.from === 'bot-7', 'bot-7\'s answer');
  assert.equal(echo.data.text, 'echo: hi');
  bots.kill('SIGTERM');
  assert.equal((await bots.exited).code, 0, bots.err);
  alice.close();
  bob.close();

  // Every shell block was run.
  assert.equal(shellBlocks.length, 3, 'a new shell block in the README: run it here');

  // `cmake --install build --prefix ...`, into a folder of ours.
  const install = README.match(/`(cmake --install build --prefix \S+)`/)[1];
  const prefix = mkdtempSync(join(tmpdir(), 'chatd-readme-prefix-'));
  try {
    run(install.replace(/--prefix \S+/, `--prefix ${prefix}`));
    for (const file of ['bin/chatd', 'bin/chatctl', 'bin/chat-bots', 'include/chatd/client.hpp'])
      assert.ok(existsSync(join(prefix, file)), `${file} installed`);
  } finally {
    rmSync(prefix, { recursive: true, force: true });
  }

  // The commands table (those that need no more than this chatd).
  const table = README.slice(README.indexOf('## Commands'), README.indexOf('## Layout'));
  assert.match(table, /`chatd --print-default-config`/);
  assert.equal(run(`./build/server/chatd --print-default-config`), readFileSync(join(ROOT, 'configs/chatd.toml'), 'utf8'));
  assert.match(table, /`chatd --check-config --config FILE`/);
  run('./build/server/chatd --check-config --config configs/chatd.toml');
  assert.match(table, /`chatctl \[--config FILE\] \[--json\] kick U \\\| online U\.\.\./);
  assert.match(run('./build/tools/chatctl online alice bob'), /^alice: (Online|Offline)\nbob: (Online|Offline)\n$/);
  assert.match(run('./build/tools/chatctl history bob alice'), /alice -> bob: hello bob/);

  chatd.kill('SIGTERM');
  const end = await chatd.exited;
  assert.equal(end.code, 0, chatd.err);
  assert.doesNotMatch(chatd.err, /ERROR: (Address|Leak)Sanitizer|runtime error:/);
});
