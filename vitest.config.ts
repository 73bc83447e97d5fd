import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    globalSetup: ["test/global-setup.ts"],
    testTimeout: 120_000,
    hookTimeout: 120_000,
    // Integration tests share one PostgreSQL cluster and spawn drctl; two cores.
    maxWorkers: 2,
  },
});
