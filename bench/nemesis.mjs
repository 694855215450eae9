// The long partition nemesis (docs/CLUSTER.md, "Testing under partitions"):
// several seeded random storms of faults against a fresh 3-node cluster each,
// with the checks of tests/e2e/lib/nemesis.mjs (the rule over the whole
// history, every login answered, acknowledged messages exactly once, online
// query equal to belief). Writes bench/results/nemesis.json; exits non-zero
// on the first breach, naming its seed (rerun it with --seeds N).
//   node bench/nemesis.mjs [--seconds 60] [--runs 3] [--seeds 100,101]
import { writeFileSync, mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startNemesisCluster, runStorm } from '../tests/e2e/lib/nemesis.mjs';

const args = process.argv.slice(2);
const option = (name, fallback) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : fallback;
};
const seconds = Number(option('seconds', 60));
const runs = Number(option('runs', 3));
const seeds = option('seeds', '') ? option('seeds').split(',').map(Number)
  : Array.from({ length: runs }, (_, i) => 100 + i);

const results = [];
let failure;
for (const seed of seeds) {
  const net = await startNemesisCluster(3);
  const t0 = Date.now();
  try {
    const report = await runStorm(net, { seconds, users: 5, seed });
    results.push({ ...report, wall_s: (Date.now() - t0) / 1000, ok: true });
    console.log(JSON.stringify(results.at(-1)));
  } catch (e) {
    failure = { seed, seconds, ok: false, error: e.message.slice(0, 4000) };
    results.push(failure);
    console.error(`seed ${seed}: ${e.message}`);
  } finally {
    await net.stop();
  }
  if (failure) break;
}
const here = dirname(fileURLToPath(import.meta.url));
mkdirSync(join(here, 'results'), { recursive: true });
writeFileSync(join(here, 'results', 'nemesis.json'), JSON.stringify({ when: new Date().toISOString(), runs: results }, null, 2) + '\n');
process.exit(failure ? 1 : 0);
