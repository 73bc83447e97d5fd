import { Transform, type TransformCallback } from "node:stream";
import { packetHeader, PacketReader, TAG } from "./packets.js";
import { SeipdBodyDecryptor, type SessionKey } from "./seipd.js";

/** Session key packets are a few hundred bytes; more before the data is not a drd artifact. */
const MAX_SESSION_KEY_BYTES = 64 * 1024;

/**
 * Decrypts an OpenPGP message as a stream: session key packets, then one SEIPD packet.
 * The session key packets (re-encoded as read) go to `unlock`, which turns them into
 * the session key with openpgp.js; the bulk data is then decrypted with node:crypto.
 */
export class MessageDecryptStream extends Transform {
  private readonly reader: PacketReader;
  private sessionPackets: Buffer[] = [];
  private sessionBytes = 0;
  private current: { tag: number; body: Buffer[] } | undefined;
  private inData = false;
  private dataEnded = false;
  private pending: Buffer[] = [];
  private body: SeipdBodyDecryptor | undefined;

  constructor(
    private readonly unlock: (sessionKeyPackets: Buffer) => Promise<SessionKey>,
    private readonly failure: (err: unknown) => Error,
  ) {
    super();
    this.reader = new PacketReader({
      start: (tag) => {
        if (this.dataEnded) throw new Error("unexpected data after the encrypted packet");
        if (tag === TAG.symEncryptedIntegrityProtectedData) {
          if (this.sessionPackets.length === 0) throw new Error("no session key packet before the encrypted data");
          this.inData = true;
        } else if (tag === TAG.publicKeyEncryptedSessionKey || tag === TAG.symEncryptedSessionKey || tag === TAG.marker || tag === TAG.padding) {
          this.current = { tag, body: [] };
        } else {
          throw new Error(`unexpected OpenPGP packet type ${tag} (not an encrypted message drd can read)`);
        }
      },
      body: (bytes) => {
        if (this.inData) {
          if (this.body) this.body.update(bytes);
          else this.pending.push(Buffer.from(bytes));
          return;
        }
        this.sessionBytes += bytes.length;
        if (this.sessionBytes > MAX_SESSION_KEY_BYTES) throw new Error("the session key packets are implausibly large");
        this.current!.body.push(bytes);
      },
      end: (tag) => {
        if (this.inData) {
          this.inData = false;
          this.dataEnded = true;
          return;
        }
        const { body } = this.current!;
        this.current = undefined;
        if (tag === TAG.marker || tag === TAG.padding) return;
        const bytes = Buffer.concat(body);
        this.sessionPackets.push(packetHeader(tag, bytes.length), bytes);
      },
    });
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, done: TransformCallback): void {
    try {
      this.reader.write(chunk);
    } catch (err) {
      return done(this.failure(err));
    }
    if (this.body || !(this.inData || this.dataEnded)) return done();
    this.unlock(Buffer.concat(this.sessionPackets)).then(
      (session) => {
        try {
          this.body = new SeipdBodyDecryptor(session, (plain) => this.push(plain));
          for (const b of this.pending) this.body.update(b);
          this.pending = [];
          done();
        } catch (err) {
          done(this.failure(err));
        }
      },
      (err: unknown) => done(this.failure(err)),
    );
  }

  override _flush(done: TransformCallback): void {
    try {
      this.reader.finish();
      if (!this.body || !this.dataEnded) throw new Error("the encrypted message is truncated");
      this.body.final();
      done();
    } catch (err) {
      done(this.failure(err));
    }
  }
}
