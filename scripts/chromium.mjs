// Debian's Chromium (/usr/bin/chromium) driven by playwright-core, started the way this
// machine's closed network needs: no background fetches, no sandbox as root. Used by the
// report test and scripts/report-screenshot.mjs.
import { chromium } from "playwright-core";

export function launchChromium() {
  return chromium.launch({
    executablePath: "/usr/bin/chromium",
    args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
  });
}
