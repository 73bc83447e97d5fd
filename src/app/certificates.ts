import { X509Certificate } from "node:crypto";
import { readdir, readFile, stat } from "node:fs/promises";
import { join } from "node:path";

export interface CertificateInfo {
  path: string;
  subject: string;
  not_after: string;
  days_left: number;
}

const PEM_CERT = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g;
const MAX_FILE = 1 << 20;

/** Every PEM certificate under `dir` (restored by a drill), with its expiry. */
export async function findCertificates(dir: string, now: number): Promise<CertificateInfo[]> {
  const out: CertificateInfo[] = [];
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  for (const e of entries) {
    if (!e.isFile()) continue;
    const path = join(e.parentPath, e.name);
    if ((await stat(path)).size > MAX_FILE) continue;
    const text = await readFile(path, "latin1");
    for (const pem of text.match(PEM_CERT) ?? []) {
      try {
        const cert = new X509Certificate(pem);
        const notAfter = Date.parse(cert.validTo);
        out.push({ path: path.slice(dir.length + 1), subject: cert.subject.replace(/\n/g, ", "), not_after: new Date(notAfter).toISOString(), days_left: Math.floor((notAfter - now) / 86_400_000) });
      } catch {
        // not a parseable certificate: nothing to report
      }
    }
  }
  return out;
}
