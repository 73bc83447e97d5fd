import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);

// dist/config/duration.js
var UNIT_SECONDS = { s: 1, m: 60, h: 3600, d: 86400, w: 604800 };
var DURATION_PATTERN = /^([0-9]+)(s|m|h|d|w)$/;
function parseDuration(text) {
  const match = DURATION_PATTERN.exec(text.trim());
  if (!match)
    return void 0;
  const seconds = Number(match[1]) * UNIT_SECONDS[match[2]];
  return seconds > 0 && Number.isSafeInteger(seconds) ? seconds : void 0;
}
function formatDuration(seconds) {
  const s = Math.max(0, Math.round(seconds));
  if (s < 120)
    return `${s}s`;
  if (s < 7200)
    return `${Math.round(s / 60)}m`;
  if (s < 172800)
    return `${(s / 3600).toFixed(1).replace(/\.0$/, "")}h`;
  return `${(s / 86400).toFixed(1).replace(/\.0$/, "")}d`;
}

export {
  parseDuration,
  formatDuration
};
