import type { Config, TargetConfig } from "../config/schema.js";
import { OperationError } from "../errors.js";
import { LocalTarget } from "./local.js";
import { S3Target } from "./s3.js";
import type { Target } from "./target.js";

export function createTarget(name: string, config: TargetConfig): Target {
  switch (config.type) {
    case "local":
      return new LocalTarget(name, config.path);
    case "s3":
      return new S3Target(name, config);
  }
}

/** Targets are created on first use, so a command that never touches an s3 target works without one. */
export class TargetRegistry {
  private readonly created = new Map<string, Target>();
  constructor(private readonly config: Config) {}

  get(name: string): Target {
    let target = this.created.get(name);
    if (!target) {
      const config = this.config.targets[name];
      if (!config) throw new OperationError(`unknown target "${name}"`);
      target = createTarget(name, config);
      this.created.set(name, target);
    }
    return target;
  }
}
