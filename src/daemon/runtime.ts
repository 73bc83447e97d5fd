import { contextFor, type AppContext } from "../app/context.js";
import type { Config } from "../config/schema.js";
import { UsageError } from "../errors.js";
import { TargetRegistry } from "../targets/factory.js";

/** What a reload changed, for the log and the audit trail. */
export interface ConfigChange {
  added: string[];
  removed: string[];
  rescheduled: string[];
}

/**
 * The one owner of what the daemon runs with: the config in force (as the AppContext that
 * every part reads at the moment it acts, never a copy of its own), reloads, and the
 * shutdown. The scheduler, the objective watch, the alert worker and the metrics page
 * hold this object. A reload is applied whole and synchronously (validated config in, every
 * listener re-armed, then returns), so two reloads can never interleave; once stopping,
 * none is applied.
 */
export class Runtime {
  #ctx: AppContext;
  readonly #stop = new AbortController();
  readonly #listeners: ((change: ConfigChange) => void)[] = [];

  constructor(ctx: AppContext) {
    this.#ctx = ctx;
  }

  static forConfig(config: Config): Runtime {
    return new Runtime(contextFor(config));
  }

  get ctx(): AppContext {
    return this.#ctx;
  }

  /** Aborted when the daemon begins to stop; work in progress listens to it. */
  get stopping(): AbortSignal {
    return this.#stop.signal;
  }

  /** Called, in order of registration, after each config put in force. */
  onReload(listener: (change: ConfigChange) => void): void {
    this.#listeners.push(listener);
  }

  /** Puts `config` in force at once; throws (changing nothing) when it cannot be, or when stopping. */
  reload(config: Config): ConfigChange {
    if (this.stopping.aborted) throw new UsageError("drd is stopping: the new config is not applied");
    const change = configChange(this.#ctx.config, config);
    const previous = this.#ctx;
    this.#ctx = { ...previous, config, targets: new TargetRegistry(config) };
    try {
      for (const listener of this.#listeners) listener(change);
    } catch (err) {
      // A listener that could not re-arm (the scheduler keeps its timers then): the old config stays in force.
      this.#ctx = previous;
      throw err;
    }
    return change;
  }

  stop(reason: Error): void {
    this.#stop.abort(reason);
  }
}

/** Jobs added, removed or rescheduled (backup or drill schedule) from `old` to `next`; the state dir and the role cannot change. */
export function configChange(old: Config, next: Config): ConfigChange {
  if (next.state_dir !== old.state_dir) throw new UsageError(`state_dir changed (${old.state_dir} -> ${next.state_dir}): restart drd to use another state dir`);
  // A host turning into a drill host (or back) would leave WAL streams and slots half kept: a restart decides it whole.
  if (next.role !== old.role) throw new UsageError(`role changed (${old.role} -> ${next.role}): restart drd to run in another role`);
  const before = new Set(Object.keys(old.jobs));
  return {
    added: Object.keys(next.jobs).filter((j) => !before.has(j)),
    removed: [...before].filter((j) => !(j in next.jobs)),
    rescheduled: Object.keys(next.jobs).filter(
      (j) => before.has(j) && (old.jobs[j]!.schedule !== next.jobs[j]!.schedule || old.jobs[j]!.drill?.schedule !== next.jobs[j]!.drill?.schedule),
    ),
  };
}
