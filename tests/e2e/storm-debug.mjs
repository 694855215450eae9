import { startNemesisCluster, runStorm } from './lib/nemesis.mjs';
const net = await startNemesisCluster(3);
try {
  const r = await runStorm(net, { seconds: Number(process.argv[2] ?? 30), users: 5, seed: Number(process.argv[3] ?? 20) });
  console.log(JSON.stringify(r));
} catch (e) { console.log(e.message); for (const n of net.nodes) { console.log('--- ' + n.name); console.log(n.stderr().split('\n').filter(l => /cluster|fence|paused|unreachable|ends/.test(l)).slice(-40).join('\n')); } }
await net.stop();
