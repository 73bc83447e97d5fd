import { randomBytes } from "node:crypto";
import { readFileSync, writeFileSync } from "node:fs";
import { Readable } from "node:stream";
import { buffer } from "node:stream/consumers";
import * as openpgp from "openpgp";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createDecryptor } from "../../src/pipeline/decrypt.js";
import { createEncryptor, type Encryptor } from "../../src/pipeline/encrypt.js";
import { CopyingPartialBodyWriter, PacketReader, PartialBodyWriter } from "../../src/pipeline/openpgp/packets.js";
import { GpgHome } from "../helpers/gpg.js";
import { Workspace } from "../helpers/workspace.js";

/** 64 KiB pieces, as a pipe delivers them. */
function chunked(data: Buffer, size = 65536): Readable {
  const chunks: Buffer[] = [];
  for (let i = 0; i < data.length; i += size) chunks.push(data.subarray(i, i + size));
  return Readable.from(chunks);
}

const MiB = 1 << 20;
const SIZES = [0, 1, 511, 512, MiB - 1, MiB, MiB + 1, 3 * MiB + 12345];

describe("OpenPGP streaming (SEIPDv1)", () => {
  let ws: Workspace;
  let gpg: GpgHome;
  let toKey: Encryptor;
  let toPassphrase: Encryptor;
  let secretKey: openpgp.PrivateKey;

  beforeAll(async () => {
    ws = new Workspace();
    gpg = await GpgHome.create();
    await gpg.exportPublic(ws.path("public.asc"));
    await gpg.exportSecret(ws.path("secret.asc"));
    writeFileSync(ws.path("passphrase"), "correct horse battery staple\n");
    toKey = await createEncryptor({ recipients: [ws.path("public.asc")] });
    toPassphrase = await createEncryptor({ passphrase_file: ws.path("passphrase") });
    secretKey = await openpgp.readPrivateKey({ armoredKey: readFileSync(ws.path("secret.asc"), "utf8") });
  });
  afterAll(async () => {
    await gpg?.remove();
    ws?.remove();
  });

  const decryptWithKey = async (cipher: Buffer) =>
    buffer(await (await createDecryptor(toKey.info, { keyFile: ws.path("secret.asc") })).decrypt(chunked(cipher, 4096)));

  it.each(SIZES)("%i bytes to a public key: openpgp.js and drd decrypt the same bytes", async (size) => {
    const plain = randomBytes(size);
    const cipher = await buffer(await toKey.encrypt(chunked(plain)));
    const message = await openpgp.readMessage({ binaryMessage: cipher });
    const { data } = await openpgp.decrypt({ message, decryptionKeys: secretKey, format: "binary" });
    expect(Buffer.from(data as Uint8Array).equals(plain)).toBe(true);
    expect((await decryptWithKey(cipher)).equals(plain)).toBe(true);
  });

  it.each([0, 700, MiB + 1])("%i bytes with a passphrase: openpgp.js and drd decrypt the same bytes", async (size) => {
    const plain = randomBytes(size);
    const cipher = await buffer(await toPassphrase.encrypt(chunked(plain)));
    const message = await openpgp.readMessage({ binaryMessage: cipher });
    const { data } = await openpgp.decrypt({ message, passwords: ["correct horse battery staple"], format: "binary" });
    expect(Buffer.from(data as Uint8Array).equals(plain)).toBe(true);
    const decryptor = await createDecryptor(toPassphrase.info, { passphraseFile: ws.path("passphrase") });
    expect((await buffer(await decryptor.decrypt(chunked(cipher, 1000)))).equals(plain)).toBe(true);
  });

  it("decrypts what openpgp.js wrote as a stream (backups made before drd streamed the data itself)", async () => {
    const plain = randomBytes(2 * MiB + 3);
    const key = await openpgp.readKey({ armoredKey: readFileSync(ws.path("public.asc"), "utf8") });
    const message = await openpgp.createMessage({ binary: Readable.toWeb(chunked(plain)) as unknown as ReadableStream<Uint8Array> });
    const encrypted = await openpgp.encrypt({
      message,
      encryptionKeys: key,
      format: "binary",
      config: { aeadProtect: false, preferredCompressionAlgorithm: openpgp.enums.compression.uncompressed },
    });
    const cipher = await buffer(Readable.fromWeb(encrypted as unknown as import("node:stream/web").ReadableStream<Uint8Array>));
    expect((await decryptWithKey(cipher)).equals(plain)).toBe(true);
  });

  it("decrypts what stock gpg wrote without compression, and gpg decrypts what drd wrote", async () => {
    const plain = randomBytes(MiB + 77);
    writeFileSync(ws.path("plain"), plain);
    await gpg.gpg(["--trust-model", "always", "--compress-algo", "none", "-r", gpg.fingerprint, "--output", ws.path("by-gpg.gpg"), "--encrypt", ws.path("plain")]);
    expect((await decryptWithKey(readFileSync(ws.path("by-gpg.gpg")))).equals(plain)).toBe(true);

    writeFileSync(ws.path("by-drd.gpg"), await buffer(await toKey.encrypt(chunked(plain))));
    await gpg.decrypt(ws.path("by-drd.gpg"), ws.path("back"));
    expect(readFileSync(ws.path("back")).equals(plain)).toBe(true);
  });

  it("refuses OpenPGP-compressed data by name rather than returning compressed bytes", async () => {
    // Text, which gpg always compresses (random bytes may look already compressed to it).
    writeFileSync(ws.path("plain"), "drd compresses nothing itself here\n".repeat(200));
    await gpg.gpg(["--trust-model", "always", "--compress-algo", "zlib", "-r", gpg.fingerprint, "--output", ws.path("zlib.gpg"), "--encrypt", ws.path("plain")]);
    await expect(decryptWithKey(readFileSync(ws.path("zlib.gpg")))).rejects.toThrow(/decryption failed: .*OpenPGP-compressed/);
  });

  const damaged: [string, (c: Buffer) => Buffer, RegExp][] = [
    ["a flipped byte in the data", (c) => flip(c, c.length - 5000), /modification detected/],
    ["a flipped byte in the MDC", (c) => flip(c, c.length - 3), /modification detected/],
    ["the last 100 bytes cut off", (c) => c.subarray(0, c.length - 100), /truncated/],
    ["only the session key packet", (c) => c.subarray(0, 200), /truncated/],
    ["bytes that are not OpenPGP", () => Buffer.from("PGDMP custom dump, not encrypted"), /not OpenPGP data/],
    ["trailing bytes after the message", (c) => Buffer.concat([c, Buffer.of(0xcb, 0x01, 0x00)]), /after the encrypted packet/],
  ];
  it.each(damaged)("%s: a decryption error, never silent success", async (_what, damage, message) => {
    const cipher = await buffer(await toKey.encrypt(chunked(randomBytes(300_000))));
    await expect(decryptWithKey(damage(cipher))).rejects.toThrow(message);
  });

  it("a wrong passphrase fails before any data is released", async () => {
    const cipher = await buffer(await toPassphrase.encrypt(chunked(randomBytes(100_000))));
    writeFileSync(ws.path("wrong"), "not the passphrase\n");
    const decryptor = await createDecryptor(toPassphrase.info, { passphraseFile: ws.path("wrong") });
    const out: Buffer[] = [];
    const stream = await decryptor.decrypt(chunked(cipher));
    await expect(
      (async () => {
        for await (const c of stream) out.push(c as Buffer);
      })(),
    ).rejects.toThrow(/decryption failed.*wrong passphrase/);
    expect(out).toEqual([]);
  });
});

function flip(b: Buffer, at: number): Buffer {
  const c = Buffer.from(b);
  c[at]! ^= 0x01;
  return c;
}

/** The body of the one packet in `packet`, as PacketReader reads it. */
function packetBody(packet: Buffer): Buffer {
  const body: Buffer[] = [];
  const reader = new PacketReader({ start: () => undefined, body: (b) => body.push(Buffer.from(b)), end: () => undefined });
  reader.write(packet);
  reader.finish();
  return Buffer.concat(body);
}

describe("OpenPGP packet framing", () => {
  function read(input: Buffer, chunk: number) {
    const events: string[] = [];
    let body = Buffer.alloc(0);
    const reader = new PacketReader({
      start: (tag) => events.push(`start ${tag}`),
      body: (b) => (body = Buffer.concat([body, b])),
      end: (tag) => {
        events.push(`end ${tag} ${body.length}`);
        body = Buffer.alloc(0);
      },
    });
    for (let i = 0; i < input.length; i += chunk) reader.write(input.subarray(i, i + chunk));
    reader.finish();
    return events;
  }

  const headers: [string, Buffer, string[]][] = [
    ["new format, one-octet length", Buffer.concat([Buffer.of(0xcb, 3), Buffer.alloc(3)]), ["start 11", "end 11 3"]],
    ["new format, two-octet length", Buffer.concat([Buffer.of(0xcb, 0xc0, 0x08), Buffer.alloc(200)]), ["start 11", "end 11 200"]],
    ["new format, five-octet length", Buffer.concat([Buffer.of(0xcb, 0xff, 0, 0, 0x27, 0x10), Buffer.alloc(10000)]), ["start 11", "end 11 10000"]],
    ["new format, zero length", Buffer.of(0xcb, 0), ["start 11", "end 11 0"]],
    ["old format, one-octet length", Buffer.concat([Buffer.of(0xac, 4), Buffer.alloc(4)]), ["start 11", "end 11 4"]],
    ["old format, two-octet length", Buffer.concat([Buffer.of(0xad, 0x01, 0x00), Buffer.alloc(256)]), ["start 11", "end 11 256"]],
    ["old format, four-octet length", Buffer.concat([Buffer.of(0xae, 0, 0, 0x01, 0x01), Buffer.alloc(257)]), ["start 11", "end 11 257"]],
    ["old format, indeterminate length", Buffer.concat([Buffer.of(0xaf), Buffer.alloc(999)]), ["start 11", "end 11 999"]],
    [
      "partial lengths, then a final part",
      Buffer.concat([Buffer.of(0xd2, 0xe9), Buffer.alloc(512), Buffer.of(0xe0), Buffer.alloc(1), Buffer.of(5), Buffer.alloc(5)]),
      ["start 18", "end 18 518"],
    ],
    ["two packets", Buffer.concat([Buffer.of(0xc1, 2), Buffer.alloc(2), Buffer.of(0x84, 1), Buffer.alloc(1)]), ["start 1", "end 1 2", "start 1", "end 1 1"]],
  ];
  it.each(headers)("%s", (_what, input, events) => {
    for (const chunk of [1, 2, 7, input.length]) expect(read(input, chunk)).toEqual(events);
  });

  it("a packet cut short is an error at the end of the input", () => {
    expect(() => read(Buffer.concat([Buffer.of(0xcb, 10), Buffer.alloc(9)]), 4)).toThrow(/truncated/);
    expect(() => read(Buffer.of(0xcb, 0xff, 0, 0), 4)).toThrow(/truncated/);
  });

  it("the writer's parts read back as the bytes written, for any input chunking", () => {
    for (const size of [0, 511, 512, 4096, 4097, 10_000]) {
      const data = randomBytes(size);
      const out: Buffer[] = [Buffer.of(0xcb)];
      const writer = new PartialBodyWriter((b) => out.push(b), 512);
      for (let i = 0; i < size; i += 100) writer.write(data.subarray(i, i + 100));
      writer.end();
      expect(packetBody(Buffer.concat(out)).equals(data)).toBe(true);
    }
  });

  it("the copying writer's parts read back as the bytes written, though it reuses one buffer for every part", () => {
    for (const size of [0, 511, 512, 1024, 4097, 10_000]) {
      const data = randomBytes(size);
      const out: Buffer[] = [Buffer.of(0xcb)];
      const emitted = new Set<Buffer>();
      const writer = new CopyingPartialBodyWriter((part) => {
        emitted.add(part);
        out.push(Buffer.from(part));
      }, 512);
      for (let i = 0; i < size; i += 100) writer.write(data.subarray(i, i + 100));
      writer.end();
      expect(packetBody(Buffer.concat(out)).equals(data)).toBe(true);
      // Every full part came from the same buffer; only the last, definite-length part is new.
      if (size >= 1024) expect(emitted.size).toBe(2);
    }
  });

  it("refuses a part size that is not a power of two of at least 512", () => {
    expect(() => new PartialBodyWriter(() => undefined, 256)).toThrow();
    expect(() => new PartialBodyWriter(() => undefined, 1000)).toThrow();
    expect(() => new CopyingPartialBodyWriter(() => undefined, 1000)).toThrow();
  });
});

