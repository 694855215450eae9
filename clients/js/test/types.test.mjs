// src/index.d.ts: the README's example type-checks under --strict, and a
// misuse does not (so the declarations are read at all).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const here = import.meta.dirname;
const tsc = resolve(here, '../node_modules/typescript/bin/tsc');

function typeCheck(file) {
  return spawnSync(process.execPath, [tsc, '--noEmit', '--strict', '--target', 'es2022', '--module', 'nodenext',
    '--moduleResolution', 'nodenext', '--lib', 'es2022,dom', file], { encoding: 'utf8' });
}

test('the README example type-checks', () => {
  const result = typeCheck(join(here, 'usage.ts'));
  assert.equal(result.status, 0, result.stdout + result.stderr);
});

test('a wrong event payload is a type error', () => {
  const dir = mkdtempSync(join(here, '.types-'));
  try {
    const bad = readFileSync(join(here, 'usage.ts'), 'utf8')
      .replace("from '../src/index.js'", `from '${resolve(here, '../src/index.js')}'`)
      .replace('event.data.type === ChatdChat.TYPES.KICKED_OUT_MULT_ACCOUNT', 'event.data.reason === 3');
    writeFileSync(join(dir, 'bad.ts'), bad);
    const result = typeCheck(join(dir, 'bad.ts'));
    assert.notEqual(result.status, 0);
    assert.match(result.stdout, /Property 'reason' does not exist/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
