// CPU time per call, for in-process benchmarks (`bench/serving-in-process.js`, `bench/embeddings.js`).

/**
 * Mean CPU milliseconds (user + system) per call of `body` over about `seconds`, after a warm-up:
 * CPU time, not wall time, so that other work on a shared machine moves the figure less.
 */
export async function cpuTimed(body, seconds) {
  for (let i = 0; i < 50; i++) await body();
  let n = 0;
  const started = performance.now();
  const cpu = process.cpuUsage();
  while (performance.now() - started < seconds * 1000) {
    await body();
    n++;
  }
  const used = process.cpuUsage(cpu);
  return (used.user + used.system) / 1000 / n;
}
