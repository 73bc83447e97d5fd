// Preloaded into drctl by the benchmarks (node --import): when the process exits, appends
// its own CPU seconds (user + system, all its threads, not its child processes such as
// pg_dump and zstd) to the file named by DRD_BENCH_SELF_CPU.
import { appendFileSync } from "node:fs";

const file = process.env.DRD_BENCH_SELF_CPU;
if (file) {
  process.on("exit", () => {
    const { userCPUTime, systemCPUTime } = process.resourceUsage();
    appendFileSync(file, `${((userCPUTime + systemCPUTime) / 1e6).toFixed(3)}\n`);
  });
}
