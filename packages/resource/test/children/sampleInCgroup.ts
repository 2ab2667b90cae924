// Child process of test/realCgroups.test.ts: waits until the parent has moved it into the cgroups it
// created (one line on stdin), then measures itself there with the default source and prints the sample
// and its /proc/self/cgroup as one JSON line.
import { readFileSync } from 'node:fs';
import { SystemMetricsSource } from '../../src/index';

process.stdin.once('data', () => {
  process.stdin.pause();
  const source = new SystemMetricsSource({ eventLoopMonitoring: false });
  // Burn CPU for a while so the cgroup's usage counter moves between the two readings.
  const until = Date.now() + 300;
  let x = 0;
  while (Date.now() < until) x = (x * 31 + 7) % 1000003;
  const metrics = source.sample();
  void source.close();
  process.stdout.write(
    `${JSON.stringify({ metrics, cgroup: readFileSync('/proc/self/cgroup', 'utf8'), x })}\n`,
  );
});
