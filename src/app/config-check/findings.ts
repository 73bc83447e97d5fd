/** One thing `config check` found, tied to the config path it is about. */
export interface Finding {
  path: string;
  message: string;
}

/** What a config check collects: problems (exit 2), warnings (exit unchanged), and what it checked and found sound. */
export class Findings {
  readonly problems: Finding[] = [];
  readonly warnings: Finding[] = [];
  readonly passed: Finding[] = [];

  problem(path: string, message: string): void {
    this.problems.push({ path, message });
  }

  warning(path: string, message: string): void {
    this.warnings.push({ path, message });
  }

  ok(path: string, message: string): void {
    this.passed.push({ path, message });
  }
}
