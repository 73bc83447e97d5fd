/**
 * The environment of a command the operator configured (an alert command, a drill's check):
 * PATH, LANG and the DRD_* variables, plus what drd hands it. Never the rest of the
 * daemon's environment, which holds its secrets (AWS_*, PGPASSWORD).
 */
export function commandEnv(extra: Record<string, string>): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (value !== undefined && (key === "PATH" || key === "LANG" || key.startsWith("DRD_"))) env[key] = value;
  }
  return { ...env, ...extra };
}
