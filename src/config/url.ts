import { z } from "zod";

/** A URL in the config: `notUrl` when it does not parse, else each of `problems`. */
export function checkedUrl(notUrl: (text: string) => string, problems: (url: URL, text: string) => string[]) {
  return z.string().superRefine((text, ctx) => {
    let url: URL;
    try {
      url = new URL(text);
    } catch {
      ctx.addIssue({ code: "custom", message: notUrl(text) });
      return;
    }
    for (const message of problems(url, text)) ctx.addIssue({ code: "custom", message });
  });
}

/**
 * URLs drd calls (webhooks, the heartbeat, an S3 endpoint): http or https only (a file: or
 * data: URL would "deliver" nowhere), and their user:password never shown.
 */
export const httpUrl = checkedUrl(
  (text) => `is not a URL: ${JSON.stringify(redactUrl(text))}`,
  (url, text) => (url.protocol === "http:" || url.protocol === "https:" ? [] : [`must be an http or https URL, not ${url.protocol} (${redactUrl(text)})`]),
).meta({ description: "An http or https URL. A user:password in it is sent as basic authentication and never shown." });

/** The URL with its user and password replaced by "***", for anything a person reads. */
export function redactUrl(text: string): string {
  try {
    const url = new URL(text);
    if (!url.username && !url.password) return text;
    url.username = "***";
    url.password = "";
    return url.href;
  } catch {
    // Not a URL: the part before an "@" may still be credentials.
    return text.replace(/\/\/[^/@]*@/, "//***@");
  }
}

/** The URL without credentials, and the basic Authorization header they make (fetch refuses them in the URL). */
export function withoutCredentials(text: string): { url: string; authorization: string | undefined } {
  const url = new URL(text);
  if (!url.username && !url.password) return { url: text, authorization: undefined };
  const pair = `${decodeURIComponent(url.username)}:${decodeURIComponent(url.password)}`;
  url.username = "";
  url.password = "";
  return { url: url.href, authorization: `Basic ${Buffer.from(pair).toString("base64")}` };
}
