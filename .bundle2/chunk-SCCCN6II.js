import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);
import {
  PacketReader,
  PieceHasher,
  SeipdBodyDecryptor,
  So,
  TAG,
  decompress,
  hasPipeFd,
  isSessionAlgorithm,
  packetHeader,
  usablePieces
} from "./chunk-3RFSNZYC.js";
import {
  PgConnection
} from "./chunk-BDXB57VK.js";
import {
  readSecretFile
} from "./chunk-G2AMMR5O.js";
import {
  execa
} from "./chunk-VKGJIJQW.js";
import {
  backupView,
  listBackups
} from "./chunk-6PXD3LAL.js";
import {
  readTargetManifests,
  rowFromManifest
} from "./chunk-6XYF5PTU.js";
import {
  assertTarget,
  jobOf
} from "./chunk-LJO7CHKX.js";
import {
  copyVersions,
  parseManifest
} from "./chunk-KAQ4J7ZM.js";
import {
  backupPrefix
} from "./chunk-GBAX6DVE.js";
import {
  IntegrityError,
  OperationError,
  UsageError
} from "./chunk-RSPIC3EP.js";
import {
  audit
} from "./chunk-FIZQLTWE.js";
import {
  Message,
  PacketList,
  PublicKeyEncryptedSessionKeyPacket,
  SymEncryptedSessionKeyPacket,
  decryptSessionKeys,
  readPrivateKey
} from "./chunk-4KX4PRKL.js";
import {
  __commonJS,
  __require,
  __toESM
} from "./chunk-CB5SUWAA.js";

// node_modules/pg-copy-streams/obuf.js
var require_obuf = __commonJS({
  "node_modules/pg-copy-streams/obuf.js"(exports, module) {
    var Buffer2 = __require("buffer").Buffer;
    function OffsetBuffer() {
      this.offset = 0;
      this.size = 0;
      this.buffers = [];
    }
    module.exports = OffsetBuffer;
    OffsetBuffer.prototype.isEmpty = function isEmpty() {
      return this.size === 0;
    };
    OffsetBuffer.prototype.clone = function clone(size) {
      const r = new OffsetBuffer();
      r.offset = this.offset;
      r.size = size;
      r.buffers = this.buffers.slice();
      return r;
    };
    OffsetBuffer.prototype.toChunks = function toChunks() {
      if (this.size === 0) return [];
      if (this.offset !== 0) {
        this.buffers[0] = this.buffers[0].slice(this.offset);
        this.offset = 0;
      }
      const chunks = [];
      let off = 0;
      let i;
      for (i = 0; off <= this.size && i < this.buffers.length; i++) {
        let buf = this.buffers[i];
        off += buf.length;
        if (off > this.size) {
          buf = buf.slice(0, buf.length - (off - this.size));
          this.buffers[i] = buf;
        }
        chunks.push(buf);
      }
      if (i < this.buffers.length) this.buffers.length = i;
      return chunks;
    };
    OffsetBuffer.prototype.toString = function toString(enc) {
      return this.toChunks().map(function(c) {
        return c.toString(enc);
      }).join("");
    };
    OffsetBuffer.prototype.use = function use(buf, off, n) {
      this.buffers = [buf];
      this.offset = off;
      this.size = n;
    };
    OffsetBuffer.prototype.push = function push(data) {
      if (data.length === 0) return;
      this.size += data.length;
      this.buffers.push(data);
    };
    OffsetBuffer.prototype.has = function has(n) {
      return this.size >= n;
    };
    OffsetBuffer.prototype.skip = function skip(n) {
      if (this.size === 0) return;
      this.size -= n;
      if (this.offset + n < this.buffers[0].length) {
        this.offset += n;
        return;
      }
      let left = n - (this.buffers[0].length - this.offset);
      this.offset = 0;
      let shift;
      for (shift = 1; left > 0 && shift < this.buffers.length; shift++) {
        const buf = this.buffers[shift];
        if (buf.length > left) {
          this.offset = left;
          break;
        }
        left -= buf.length;
      }
      this.buffers = this.buffers.slice(shift);
    };
    OffsetBuffer.prototype.copy = function copy(target, targetOff, off, n) {
      if (this.size === 0) return;
      if (off !== 0) throw new Error("Unsupported offset in .copy()");
      let toff = targetOff;
      const first = this.buffers[0];
      const toCopy = Math.min(n, first.length - this.offset);
      first.copy(target, toff, this.offset, this.offset + toCopy);
      toff += toCopy;
      let left = n - toCopy;
      for (let i = 1; left > 0 && i < this.buffers.length; i++) {
        const buf = this.buffers[i];
        const toCopy2 = Math.min(left, buf.length);
        buf.copy(target, toff, 0, toCopy2);
        toff += toCopy2;
        left -= toCopy2;
      }
    };
    OffsetBuffer.prototype.take = function take(n) {
      if (n === 0) return Buffer2.alloc(0);
      this.size -= n;
      const first = this.buffers[0].length - this.offset;
      if (first === n) {
        let r = this.buffers.shift();
        if (this.offset !== 0) {
          r = r.slice(this.offset);
          this.offset = 0;
        }
        return r;
      } else if (first > n) {
        const r = this.buffers[0].slice(this.offset, this.offset + n);
        this.offset += n;
        return r;
      }
      const out = Buffer2.alloc(n);
      let toOff = 0;
      let startOff = this.offset;
      let i;
      for (i = 0; toOff !== n && i < this.buffers.length; i++) {
        const buf = this.buffers[i];
        const toCopy = Math.min(buf.length - startOff, n - toOff);
        buf.copy(out, toOff, startOff, startOff + toCopy);
        if (startOff + toCopy < buf.length) {
          this.offset = startOff + toCopy;
          break;
        } else {
          toOff += toCopy;
          startOff = 0;
        }
      }
      this.buffers = this.buffers.slice(i);
      if (this.buffers.length === 0) this.offset = 0;
      return out;
    };
    OffsetBuffer.prototype.peekUInt8 = function peekUInt8() {
      return this.buffers[0][this.offset];
    };
    OffsetBuffer.prototype.readUInt8 = function readUInt8() {
      this.size -= 1;
      const first = this.buffers[0];
      const r = first[this.offset];
      if (++this.offset === first.length) {
        this.offset = 0;
        this.buffers.shift();
      }
      return r;
    };
    OffsetBuffer.prototype.readUInt16LE = function readUInt16LE() {
      const first = this.buffers[0];
      this.size -= 2;
      let r;
      let shift;
      if (first.length - this.offset >= 2) {
        r = first.readUInt16LE(this.offset);
        shift = 0;
        this.offset += 2;
      } else {
        r = first[this.offset] | this.buffers[1][0] << 8;
        shift = 1;
        this.offset = 1;
      }
      if (this.offset === this.buffers[shift].length) {
        this.offset = 0;
        shift++;
      }
      if (shift !== 0) this.buffers = this.buffers.slice(shift);
      return r;
    };
    OffsetBuffer.prototype.readUInt24LE = function readUInt24LE() {
      const first = this.buffers[0];
      let r;
      let shift;
      const firstHas = first.length - this.offset;
      if (firstHas >= 3) {
        r = first.readUInt16LE(this.offset) | first[this.offset + 2] << 16;
        shift = 0;
        this.offset += 3;
      } else if (firstHas >= 2) {
        r = first.readUInt16LE(this.offset) | this.buffers[1][0] << 16;
        shift = 1;
        this.offset = 1;
      } else {
        r = first[this.offset];
        this.offset = 0;
        this.buffers.shift();
        this.size -= 1;
        r |= this.readUInt16LE() << 8;
        return r;
      }
      this.size -= 3;
      if (this.offset === this.buffers[shift].length) {
        this.offset = 0;
        shift++;
      }
      if (shift !== 0) this.buffers = this.buffers.slice(shift);
      return r;
    };
    OffsetBuffer.prototype.readUInt32LE = function readUInt32LE() {
      const first = this.buffers[0];
      let r;
      let shift;
      const firstHas = first.length - this.offset;
      if (firstHas >= 4) {
        r = first.readUInt32LE(this.offset);
        shift = 0;
        this.offset += 4;
      } else if (firstHas >= 3) {
        r = (first.readUInt16LE(this.offset) | first[this.offset + 2] << 16) + this.buffers[1][0] * 16777216;
        shift = 1;
        this.offset = 1;
      } else if (firstHas >= 2) {
        r = first.readUInt16LE(this.offset);
        this.offset = 0;
        this.buffers.shift();
        this.size -= 2;
        r += this.readUInt16LE() * 65536;
        return r;
      } else {
        r = first[this.offset];
        this.offset = 0;
        this.buffers.shift();
        this.size -= 1;
        r += this.readUInt24LE() * 256;
        return r;
      }
      this.size -= 4;
      if (this.offset === this.buffers[shift].length) {
        this.offset = 0;
        shift++;
      }
      if (shift !== 0) this.buffers = this.buffers.slice(shift);
      return r;
    };
    OffsetBuffer.prototype.readUInt16BE = function readUInt16BE() {
      const r = this.readUInt16LE();
      return (r & 255) << 8 | r >> 8;
    };
    OffsetBuffer.prototype.readUInt24BE = function readUInt24BE() {
      const r = this.readUInt24LE();
      return (r & 255) << 16 | (r >> 8 & 255) << 8 | r >> 16;
    };
    OffsetBuffer.prototype.readUInt32BE = function readUInt32BE() {
      const r = this.readUInt32LE();
      return ((r & 255) << 24 | (r >>> 8 & 255) << 16 | (r >>> 16 & 255) << 8 | r >>> 24) >>> 0;
    };
    function signedInt8(num) {
      if (num >= 128) return -(255 ^ num) - 1;
      else return num;
    }
    OffsetBuffer.prototype.peekInt8 = function peekInt8() {
      return signedInt8(this.peekUInt8());
    };
    OffsetBuffer.prototype.readInt8 = function readInt8() {
      return signedInt8(this.readUInt8());
    };
    function signedInt16(num) {
      if (num >= 32768) return -(65535 ^ num) - 1;
      else return num;
    }
    OffsetBuffer.prototype.readInt16BE = function readInt16BE() {
      return signedInt16(this.readUInt16BE());
    };
    OffsetBuffer.prototype.readInt16LE = function readInt16LE() {
      return signedInt16(this.readUInt16LE());
    };
    function signedInt24(num) {
      if (num >= 8388608) return -(16777215 ^ num) - 1;
      else return num;
    }
    OffsetBuffer.prototype.readInt24BE = function readInt24BE() {
      return signedInt24(this.readUInt24BE());
    };
    OffsetBuffer.prototype.readInt24LE = function readInt24LE() {
      return signedInt24(this.readUInt24LE());
    };
    function signedInt32(num) {
      if (num >= 2147483648) return -(4294967295 ^ num) - 1;
      else return num;
    }
    OffsetBuffer.prototype.readInt32BE = function readInt32BE() {
      return signedInt32(this.readUInt32BE());
    };
    OffsetBuffer.prototype.readInt32LE = function readInt32LE() {
      return signedInt32(this.readUInt32LE());
    };
  }
});

// node_modules/pg-copy-streams/message-formats.js
var require_message_formats = __commonJS({
  "node_modules/pg-copy-streams/message-formats.js"(exports, module) {
    module.exports = {
      ErrorResponse: 69,
      // E
      CopyInResponse: 71,
      // G
      CopyOutResponse: 72,
      // H
      CopyBothResponse: 87,
      // W
      CopyDone: 99,
      // c
      CopyData: 100,
      // d
      CopyFail: 102,
      // f
      CommandComplete: 67,
      // C
      ReadyForQuery: 90,
      // Z
      // It is possible for NoticeResponse and ParameterStatus messages to be interspersed between CopyData messages;
      // frontends must handle these cases, and should be prepared for other asynchronous message types as well
      // (see Section 50.2.6).
      // Otherwise, any message type other than CopyData or CopyDone may be treated as terminating copy-out mode.
      NotificationResponse: 65,
      // A
      NoticeResponse: 78,
      // N
      ParameterStatus: 83
      // S
    };
  }
});

// node_modules/pg-copy-streams/copy-to.js
var require_copy_to = __commonJS({
  "node_modules/pg-copy-streams/copy-to.js"(exports, module) {
    "use strict";
    module.exports = function(txt, options) {
      return new CopyStreamQuery(txt, options);
    };
    var { Readable: Readable2 } = __require("stream");
    var assert = __require("assert");
    var BufferList = require_obuf();
    var code = require_message_formats();
    var PG_CODE = 0;
    var PG_LENGTH = 1;
    var PG_MESSAGE = 2;
    var CopyStreamQuery = class extends Readable2 {
      constructor(text, options) {
        super(options);
        this.text = text;
        this.rowCount = 0;
        this._state = PG_CODE;
        this._buffer = new BufferList();
        this._unreadMessageContentLength = 0;
        this._copyDataChunks = new BufferList();
        this._pgDataHandler = null;
        this._drained = false;
        this._forwarding = false;
        this._onReadableEvent = this._onReadable.bind(this);
      }
      submit(connection) {
        this.connection = connection;
        this._attach();
        connection.query(this.text);
      }
      _attach() {
        const connectionStream = this.connection.stream;
        const pgDataListeners = connectionStream.listeners("data");
        assert(pgDataListeners.length == 1);
        this._pgDataHandler = pgDataListeners.pop();
        connectionStream.removeListener("data", this._pgDataHandler);
        connectionStream.pause();
        this._forward();
        connectionStream.on("readable", this._onReadableEvent);
      }
      _detach() {
        const connectionStream = this.connection.stream;
        const unreadBuffer = this._buffer.take(this._buffer.size);
        connectionStream.removeListener("readable", this._onReadableEvent);
        connectionStream.addListener("data", this._pgDataHandler);
        this._pgDataHandler(unreadBuffer);
        process.nextTick(function() {
          connectionStream.resume();
        });
      }
      _cleanup() {
        this._buffer = null;
        this._copyDataChunks = null;
        this._pgDataHandler = null;
        this._onReadableEvent = null;
      }
      _onReadable() {
        this._forward();
      }
      _read() {
        this._drained = true;
        this._forward();
      }
      _forward() {
        if (this._forwarding || !this._drained || !this.connection) return;
        this._forwarding = true;
        const connectionStream = this.connection.stream;
        let chunk;
        while (this._drained && (chunk = connectionStream.read()) !== null) {
          this._drained = this._parse(chunk);
        }
        this._forwarding = false;
      }
      _parse(chunk) {
        let done = false;
        let drained = true;
        this._buffer.push(chunk);
        while (!done && this._buffer.size > 0) {
          if (PG_CODE === this._state) {
            if (!this._buffer.has(1)) break;
            this._code = this._buffer.peekUInt8();
            if (this._code === code.ErrorResponse) {
              this._detach();
              return;
            }
            this._buffer.readUInt8();
            this._state = PG_LENGTH;
          }
          if (PG_LENGTH === this._state) {
            if (!this._buffer.has(4)) break;
            this._unreadMessageContentLength = this._buffer.readUInt32BE() - 4;
            this._state = PG_MESSAGE;
          }
          if (PG_MESSAGE === this._state) {
            if (this._unreadMessageContentLength > 0 && this._buffer.size > 0) {
              const n = Math.min(this._buffer.size, this._unreadMessageContentLength);
              const messageContentChunk = this._buffer.take(n);
              this._unreadMessageContentLength -= n;
              if (this._code === code.CopyData) {
                this._copyDataChunks.push(messageContentChunk);
              }
            }
            if (this._unreadMessageContentLength === 0) {
              switch (this._code) {
                case code.CopyOutResponse:
                case code.CopyData:
                // standard interspersed messages.
                // see https://www.postgresql.org/docs/9.6/protocol-flow.html#PROTOCOL-COPY
                case code.ParameterStatus:
                case code.NoticeResponse:
                case code.NotificationResponse:
                  break;
                case code.CopyDone:
                default:
                  done = true;
                  break;
              }
              this._state = PG_CODE;
            }
          }
        }
        const len = this._copyDataChunks.size;
        if (len > 0) {
          drained = this.push(this._copyDataChunks.take(len));
        }
        if (done) {
          this._detach();
          this.push(null);
          this._cleanup();
        }
        return drained;
      }
      handleError(err) {
        this.emit("error", err);
        this._cleanup();
      }
      handleCommandComplete(msg) {
        const match = /COPY (\d+)/.exec((msg || {}).text);
        if (match) {
          this.rowCount = parseInt(match[1], 10);
        }
      }
      handleReadyForQuery() {
      }
    };
  }
});

// node_modules/pg-copy-streams/copy-from.js
var require_copy_from = __commonJS({
  "node_modules/pg-copy-streams/copy-from.js"(exports, module) {
    "use strict";
    module.exports = function(txt, options) {
      return new CopyStreamQuery(txt, options);
    };
    var { Writable } = __require("stream");
    var code = require_message_formats();
    var CopyStreamQuery = class extends Writable {
      constructor(text, options) {
        super(options);
        this.text = text;
        this.rowCount = 0;
        this._gotCopyInResponse = false;
        this.chunks = [];
        this.cb_CopyInResponse = null;
        this.cb_ReadyForQuery = null;
        this.cb_destroy = null;
        this.cork();
      }
      submit(connection) {
        this.connection = connection;
        connection.query(this.text);
      }
      callback() {
      }
      _write(chunk, enc, cb) {
        this.chunks.push({ chunk, encoding: enc });
        if (this._gotCopyInResponse) {
          return this.flush(cb);
        }
        this.cb_CopyInResponse = cb;
      }
      _writev(chunks, cb) {
        if (this.chunks.length == 0) {
          this.chunks = chunks;
        } else {
          const QUANTUM = 125e3;
          for (let i = 0; i < chunks.length; i += QUANTUM) {
            this.chunks.push(...chunks.slice(i, Math.min(i + QUANTUM, chunks.length)));
          }
        }
        if (this._gotCopyInResponse) {
          return this.flush(cb);
        }
        this.cb_CopyInResponse = cb;
      }
      _destroy(err, cb) {
        if (this.cb_ReadyForQuery) return cb(err);
        this.cb_destroy = cb;
        const msg = err ? err.message : "NODE-PG-COPY-STREAMS destroy() was called";
        const self = this;
        const done = function() {
          self.connection.sendCopyFail(msg);
        };
        this.chunks = [];
        if (this._gotCopyInResponse) {
          return this.flush(done);
        }
        this.cb_CopyInResponse = done;
      }
      _final(cb) {
        this.cb_ReadyForQuery = cb;
        const self = this;
        const done = function() {
          const Int32Len = 4;
          const finBuffer = Buffer.from([code.CopyDone, 0, 0, 0, Int32Len]);
          self.connection.stream.write(finBuffer);
        };
        if (this._gotCopyInResponse) {
          return this.flush(done);
        }
        this.cb_CopyInResponse = done;
      }
      flush(callback) {
        let chunk;
        let ok = true;
        while (ok && (chunk = this.chunks.shift())) {
          ok = this.flushChunk(chunk.chunk);
        }
        if (callback) {
          if (ok) {
            callback();
          } else {
            if (this.chunks.length) {
              this.connection.stream.once("drain", this.flush.bind(this, callback));
            } else {
              this.connection.stream.once("drain", callback);
            }
          }
        }
      }
      flushChunk(chunk) {
        const Int32Len = 4;
        const lenBuffer = Buffer.from([code.CopyData, 0, 0, 0, 0]);
        lenBuffer.writeUInt32BE(chunk.length + Int32Len, 1);
        this.connection.stream.write(lenBuffer);
        return this.connection.stream.write(chunk);
      }
      handleError(e) {
        this.callback();
        if (this.cb_destroy) {
          const cb = this.cb_destroy;
          this.cb_destroy = null;
          cb(e);
        } else {
          this.emit("error", e);
        }
        this.connection = null;
      }
      handleCopyInResponse(connection) {
        this._gotCopyInResponse = true;
        if (!this.destroyed) {
          this.uncork();
        }
        const cb = this.cb_CopyInResponse || function() {
        };
        this.cb_CopyInResponse = null;
        this.flush(cb);
      }
      handleCommandComplete(msg) {
        const match = /COPY (\d+)/.exec((msg || {}).text);
        if (match) {
          this.rowCount = parseInt(match[1], 10);
        }
      }
      handleReadyForQuery() {
        this.callback();
        this.cb_ReadyForQuery();
        this.connection = null;
      }
    };
  }
});

// node_modules/pg-copy-streams/copy-both.js
var require_copy_both = __commonJS({
  "node_modules/pg-copy-streams/copy-both.js"(exports, module) {
    "use strict";
    module.exports = function(txt, options) {
      return new CopyStreamQuery(txt, options);
    };
    var { Duplex } = __require("stream");
    var assert = __require("assert");
    var BufferList = require_obuf();
    var code = require_message_formats();
    var PG_CODE = 0;
    var PG_LENGTH = 1;
    var PG_MESSAGE = 2;
    var CopyStreamQuery = class extends Duplex {
      constructor(text, options) {
        super(options);
        this.text = text;
        this._state = PG_CODE;
        this._buffer = new BufferList();
        this._unreadMessageContentLength = 0;
        this._copyDataChunks = new BufferList();
        this._pgDataHandler = null;
        this._drained = false;
        this._forwarding = false;
        this._onReadableEvent = this._onReadable.bind(this);
        this.alignOnCopyDataFrame = options ? options.alignOnCopyDataFrame === true : false;
        this._gotCopyInResponse = false;
        this.chunks = [];
        this.cb = null;
        this.cork();
      }
      submit(connection) {
        this.connection = connection;
        this._attach();
        connection.query(this.text);
      }
      /* Readable implementation */
      _attach() {
        const connectionStream = this.connection.stream;
        const pgDataListeners = connectionStream.listeners("data");
        assert(pgDataListeners.length == 1);
        this._pgDataHandler = pgDataListeners.pop();
        connectionStream.removeListener("data", this._pgDataHandler);
        connectionStream.pause();
        this._forward();
        connectionStream.on("readable", this._onReadableEvent);
      }
      _detach() {
        const connectionStream = this.connection.stream;
        const unreadBuffer = this._buffer.take(this._buffer.size);
        connectionStream.removeListener("readable", this._onReadableEvent);
        connectionStream.addListener("data", this._pgDataHandler);
        this._pgDataHandler(unreadBuffer);
        process.nextTick(function() {
          connectionStream.resume();
        });
      }
      _cleanup() {
        this._buffer = null;
        this._copyDataChunks = null;
        this._pgDataHandler = null;
        this._onReadableEvent = null;
      }
      _onReadable() {
        this._forward();
      }
      _read() {
        this._drained = true;
        this._forward();
      }
      _forward() {
        if (this._forwarding || !this._drained || !this.connection) return;
        this._forwarding = true;
        const connectionStream = this.connection.stream;
        let chunk;
        while (this._drained && (chunk = connectionStream.read()) !== null) {
          this._drained = this._parse(chunk);
        }
        this._forwarding = false;
      }
      _parse(chunk) {
        let done = false;
        let drained = true;
        this._buffer.push(chunk);
        while (!done && this._buffer.size > 0) {
          if (PG_CODE === this._state) {
            if (!this._buffer.has(1)) break;
            this._code = this._buffer.peekUInt8();
            if (this._code === code.ErrorResponse) {
              this._detach();
              return;
            }
            this._buffer.readUInt8();
            this._state = PG_LENGTH;
          }
          if (PG_LENGTH === this._state) {
            if (!this._buffer.has(4)) break;
            this._unreadMessageContentLength = this._buffer.readUInt32BE() - 4;
            this._state = PG_MESSAGE;
          }
          if (PG_MESSAGE === this._state) {
            if (this._unreadMessageContentLength > 0 && this._buffer.size > 0) {
              const n = Math.min(this._buffer.size, this._unreadMessageContentLength);
              const messageContentChunk = this._buffer.take(n);
              this._unreadMessageContentLength -= n;
              if (this._code === code.CopyData) {
                this._copyDataChunks.push(messageContentChunk);
              }
            }
            if (this._unreadMessageContentLength === 0) {
              switch (this._code) {
                case code.CopyBothResponse:
                  this._startCopyIn();
                  break;
                case code.CopyData:
                  if (this.alignOnCopyDataFrame) {
                    drained = this._flushCopyData();
                  }
                  break;
                // standard interspersed messages.
                // see https://www.postgresql.org/docs/9.6/protocol-flow.html#PROTOCOL-COPY
                case code.ParameterStatus:
                case code.NoticeResponse:
                case code.NotificationResponse:
                  break;
                case code.CopyDone:
                default:
                  done = true;
                  break;
              }
              this._state = PG_CODE;
            }
          }
        }
        if (!this.alignOnCopyDataFrame) {
          drained = this._flushCopyData();
        }
        if (done) {
          this._detach();
          this.push(null);
          this._cleanup();
        }
        return drained;
      }
      _flushCopyData() {
        let drained = true;
        const len = this._copyDataChunks.size;
        if (len > 0) {
          drained = this.push(this._copyDataChunks.take(len));
        }
        return drained;
      }
      /* Writable implementation */
      _write(chunk, enc, cb) {
        this.chunks.push({ chunk, encoding: enc });
        if (this._gotCopyInResponse) {
          return this.flush(cb);
        }
        this.cb = cb;
      }
      _writev(chunks, cb) {
        this.chunks.push(...chunks);
        if (this._gotCopyInResponse) {
          return this.flush(cb);
        }
        this.cb = cb;
      }
      _final(cb) {
        this.flush();
        const Int32Len = 4;
        const finBuffer = Buffer.from([code.CopyDone, 0, 0, 0, Int32Len]);
        this.connection.stream.write(finBuffer);
        this.cb_flush = cb;
      }
      flush(callback) {
        let chunk;
        let ok = true;
        while (ok && (chunk = this.chunks.shift())) {
          ok = this.flushChunk(chunk.chunk);
        }
        if (callback) {
          if (ok) {
            callback();
          } else {
            if (this.chunks.length) {
              this.connection.stream.once("drain", this.flush.bind(this, callback));
            } else {
              this.connection.stream.once("drain", callback);
            }
          }
        }
      }
      flushChunk(chunk) {
        const Int32Len = 4;
        const lenBuffer = Buffer.from([code.CopyData, 0, 0, 0, 0]);
        lenBuffer.writeUInt32BE(chunk.length + Int32Len, 1);
        this.connection.stream.write(lenBuffer);
        return this.connection.stream.write(chunk);
      }
      _startCopyIn() {
        this._gotCopyInResponse = true;
        this.uncork();
        this.flush();
        if (this.cb) {
          const { cb } = this;
          this.cb = null;
          cb();
        }
      }
      handleError(err) {
        this.emit("error", err);
        this._cleanup();
      }
      handleCopyData(chunk) {
      }
      handleCommandComplete() {
      }
      handleReadyForQuery() {
        this.connection = null;
        this.cb_flush();
      }
    };
  }
});

// node_modules/pg-copy-streams/index.js
var require_pg_copy_streams = __commonJS({
  "node_modules/pg-copy-streams/index.js"(exports) {
    "use strict";
    var CopyToQueryStream = require_copy_to();
    var CopyFromQueryStream = require_copy_from();
    var CopyBothQueryStream = require_copy_both();
    exports.to = function copyTo(txt, options) {
      return new CopyToQueryStream(txt, options);
    };
    exports.from = function copyFrom2(txt, options) {
      return new CopyFromQueryStream(txt, options);
    };
    exports.both = function copyBoth(txt, options) {
      return new CopyBothQueryStream(txt, options);
    };
  }
});

// dist/app/restore/postgres.js
import { randomBytes } from "node:crypto";
import { pipeline } from "node:stream/promises";

// dist/app/restore/restore-script.js
var LARGE_OBJECT_PART = 8 * 1024 * 1024;
var NEWLINE = 10;
var END_OF_COPY = Buffer.from("\\.\n");
var ENTRY_HEADER = /^-- (Data for )?Name: .*; Type: (.*); Schema: .*; Owner: .*$/;
var SESSION_SETTING = /^(SET \w+ = .*|SELECT pg_catalog\.set_config\(.*\));$/;
var COPY_STATEMENT = /^COPY .+ FROM stdin;$/;
var HARMLESS_PSQL_COMMAND = /^\\(un)?restrict \w+$/;
async function* restoreScriptParts(script, largeObjectPart = LARGE_OBJECT_PART) {
  const splitter = new ScriptSplitter(largeObjectPart);
  for await (const chunk of script)
    yield* splitter.push(chunk);
  yield* splitter.end();
}
var ScriptSplitter = class {
  largeObjectPart;
  carry;
  inCopy = false;
  entry = [];
  entrySize = 0;
  entryType;
  sessionSent = false;
  constructor(largeObjectPart = LARGE_OBJECT_PART) {
    this.largeObjectPart = largeObjectPart;
  }
  *push(chunk) {
    let buf = chunk;
    let pos = 0;
    if (this.carry && this.inCopy) {
      const newline = chunk.indexOf(NEWLINE);
      if (newline < 0) {
        this.carry = Buffer.concat([this.carry, chunk]);
        return;
      }
      const row = Buffer.concat([this.carry, chunk.subarray(0, newline + 1)]);
      this.carry = void 0;
      if (row.equals(END_OF_COPY)) {
        yield { kind: "copy-end" };
        this.inCopy = false;
      } else {
        yield { kind: "rows", data: row };
      }
      pos = newline + 1;
    } else if (this.carry) {
      buf = Buffer.concat([this.carry, chunk]);
      this.carry = void 0;
    }
    while (pos < buf.length) {
      if (this.inCopy) {
        const end = findEndOfCopy(buf, pos);
        if (end < 0) {
          const lastNewline = buf.lastIndexOf(NEWLINE);
          if (lastNewline >= pos)
            yield { kind: "rows", data: buf.subarray(pos, lastNewline + 1) };
          if (lastNewline + 1 < buf.length)
            this.carry = buf.subarray(Math.max(pos, lastNewline + 1));
          return;
        }
        if (end > pos)
          yield { kind: "rows", data: buf.subarray(pos, end) };
        yield { kind: "copy-end" };
        this.inCopy = false;
        pos = end + END_OF_COPY.length;
        continue;
      }
      const newline = buf.indexOf(NEWLINE, pos);
      if (newline < 0) {
        this.carry = buf.subarray(pos);
        return;
      }
      yield* this.line(buf.toString("utf8", pos, newline));
      pos = newline + 1;
    }
  }
  *end() {
    if (this.inCopy)
      throw new OperationError("pg_restore's script ended in the middle of a table's rows");
    if (this.carry)
      yield* this.line(this.carry.toString("utf8"));
    this.carry = void 0;
    yield* this.flush();
  }
  *line(line) {
    const header = ENTRY_HEADER.exec(line);
    if (header && this.entry[this.entry.length - 1] === "--") {
      this.entry.pop();
      yield* this.flush();
      this.entry.push("--");
      this.entryType = header[2];
    }
    if (line.startsWith("\\")) {
      if (HARMLESS_PSQL_COMMAND.test(line))
        return;
      throw new OperationError(`pg_restore's script holds a psql command drd cannot run: ${line.slice(0, 40)}`);
    }
    if (this.entryType === "TABLE DATA" && COPY_STATEMENT.test(line)) {
      yield* this.flush();
      yield { kind: "copy", statement: line };
      this.inCopy = true;
      this.entryType = void 0;
      return;
    }
    this.entry.push(line);
    this.entrySize += line.length + 1;
    if (this.entryType === "BLOBS" && this.entrySize >= this.largeObjectPart && line.endsWith(";"))
      yield* this.flush();
  }
  *flush() {
    const sql = this.entry.join("\n");
    this.entry = [];
    this.entrySize = 0;
    if (!this.sessionSent) {
      this.sessionSent = true;
      const lines = sql.split("\n");
      yield { kind: "session", sql: lines.filter((l) => SESSION_SETTING.test(l)).join("\n") };
      const rest = lines.filter((l) => !SESSION_SETTING.test(l)).join("\n");
      if (hasStatement(rest))
        yield { kind: "sql", sql: rest };
    } else if (hasStatement(sql)) {
      yield { kind: "sql", sql };
    }
  }
};
function firstStatementLine(sql) {
  return sql.split("\n").find((l) => l.trim() !== "" && !l.startsWith("--"));
}
function hasStatement(sql) {
  return firstStatementLine(sql) !== void 0;
}
function findEndOfCopy(buf, pos) {
  if (buf.subarray(pos, pos + END_OF_COPY.length).equals(END_OF_COPY))
    return pos;
  const at = buf.indexOf("\n\\.\n", pos);
  return at < 0 ? -1 : at + 1;
}
function copyTable(statement) {
  const m = /^COPY ("(?:[^"]|"")+"|[^\s."]+)\.("(?:[^"]|"")+"|[^\s."(]+)[ (]/.exec(statement);
  if (!m)
    return void 0;
  const unquote = (id) => id.startsWith('"') ? id.slice(1, -1).replace(/""/g, '"') : id;
  return { schema: unquote(m[1]), table: unquote(m[2]) };
}

// dist/app/restore/session-load.js
var import_pg_copy_streams = __toESM(require_pg_copy_streams(), 1);
import { once } from "node:events";
import { finished } from "node:stream/promises";
var ROWS_PER_TURN = 1024 * 1024;
var COPY_BUFFER = 2 * ROWS_PER_TURN;
async function loadInSessions(parts, sessions) {
  const main = sessions[0];
  const loaded = /* @__PURE__ */ new Map();
  let copy;
  for await (const part of parts) {
    switch (part.kind) {
      case "session":
        if (part.sql)
          for (const s of sessions)
            await run(s, part.sql);
        break;
      case "sql":
        await run(main, part.sql);
        break;
      case "copy":
        copy = new TableCopy(part.statement, sessions);
        break;
      case "rows":
        await copy.write(part.data);
        break;
      case "copy-end": {
        const rows = await copy.end();
        const table = copyTable(copy.statement);
        const key = table && `${table.schema}.${table.table}`;
        if (key)
          loaded.set(key, (loaded.get(key) ?? 0) + rows);
        copy = void 0;
        break;
      }
    }
  }
  return loaded;
}
async function run(session, sql) {
  try {
    await session.query(sql);
  } catch (err) {
    throw new OperationError(`restoring failed at "${firstStatement(sql)}": ${describe(err)}`, { cause: err });
  }
}
var TableCopy = class {
  statement;
  sessions;
  copies;
  current = -1;
  pending = [];
  pendingBytes = 0;
  /** Rejects with the first COPY's error; `failed` holds it, so no rows go to a COPY that already ended. */
  failure;
  failed;
  reject;
  constructor(statement, sessions) {
    this.statement = statement;
    this.sessions = sessions;
    this.copies = sessions.map(() => void 0);
    this.failure = new Promise((_, reject) => this.reject = reject);
    this.failure.catch(() => void 0);
  }
  /** Takes rows (whole rows only); sends them once a turn's worth is here. */
  async write(rows) {
    if (this.failed)
      throw this.failed;
    this.pending.push(rows);
    this.pendingBytes += rows.length;
    if (this.pendingBytes >= ROWS_PER_TURN)
      await this.sendTurn();
  }
  /** Sends what is left, ends every COPY (an empty table still gets one), waits for the server to take them; resolves with their rows. */
  async end() {
    if (this.failed)
      throw this.failed;
    if (this.pendingBytes > 0 || this.copies.every((c) => c === void 0))
      await this.sendTurn();
    const open3 = this.copies.flatMap((c, i) => c ? [{ copy: c, session: this.sessions[i] }] : []);
    for (const { copy } of open3)
      copy.end();
    await Promise.race([Promise.all(open3.map(({ copy }) => finished(copy))), this.failure]);
    await Promise.all(open3.map(({ session }) => run(session, "COMMIT")));
    return open3.reduce((sum, { copy }) => sum + copy.rowCount, 0);
  }
  /** A turn's rows, to the next session whose COPY is not waiting for the server (else simply the next). */
  async sendTurn() {
    const n = this.sessions.length;
    let next = (this.current + 1) % n;
    for (let step = 1; step <= n; step++) {
      const i = (this.current + step) % n;
      if (!this.copies[i]?.writableNeedDrain) {
        next = i;
        break;
      }
    }
    this.current = next;
    const copy = await this.open(next);
    let room = true;
    for (const rows of this.pending)
      room = copy.write(rows);
    this.pending = [];
    this.pendingBytes = 0;
    if (!room)
      await Promise.race([once(copy, "drain"), this.failure]);
  }
  async open(i) {
    let copy = this.copies[i];
    if (!copy) {
      await run(this.sessions[i], "BEGIN");
      copy = this.sessions[i].query((0, import_pg_copy_streams.from)(this.statement, { highWaterMark: COPY_BUFFER }));
      copy.once("error", (err) => {
        this.failed ??= new OperationError(`loading rows failed at "${this.statement.slice(0, 80)}": ${describe(err)}`, { cause: err });
        this.reject(this.failed);
      });
      this.copies[i] = copy;
    }
    return copy;
  }
};
function firstStatement(sql) {
  const line = firstStatementLine(sql) ?? "";
  return line.length > 80 ? `${line.slice(0, 77)}...` : line;
}
function describe(err) {
  const e = err;
  return [e.message ?? String(err), e.detail].filter(Boolean).join(": ").replace(/\s*\n\s*/g, " | ");
}

// dist/app/restore/postgres.js
async function tablesIn(conn, name) {
  const admin = await conn.client(conn.defaultDatabase);
  try {
    if ((await admin.query(`SELECT 1 FROM pg_database WHERE datname = $1`, [name])).rowCount !== 1)
      return void 0;
  } finally {
    await admin.end();
  }
  const db = await conn.client(name);
  try {
    return Number((await db.query(`SELECT count(*)::text AS n FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE c.relkind IN ('r','p') AND n.nspname NOT IN ('pg_catalog','information_schema') AND n.nspname NOT LIKE 'pg_toast%'`)).rows[0].n);
  } finally {
    await db.end();
  }
}
function refuseNonEmpty(name, tables, clean) {
  if (tables !== void 0 && tables > 0 && !clean)
    throw new UsageError(`database "${name}" exists and has ${tables} table(s); restore into a new name, or pass --clean to replace it`);
}
async function inspectDatabase(job, name, clean) {
  const conn = await PgConnection.open(job.connection, job.password_file);
  try {
    refuseNonEmpty(name, await tablesIn(conn, name), clean);
  } finally {
    await conn.close();
  }
}
async function prepareDatabase(job, name, clean) {
  const conn = await PgConnection.open(job.connection, job.password_file);
  try {
    const tables = await tablesIn(conn, name);
    refuseNonEmpty(name, tables, clean);
    if (tables !== void 0 && tables === 0)
      return { conn, name, created: false };
    const into = tables === void 0 ? name : `drd_new_${randomBytes(6).toString("hex")}`;
    const admin = await conn.client(conn.defaultDatabase);
    try {
      await admin.query(`CREATE DATABASE ${quoteIdent(into)}`);
    } finally {
      await admin.end();
    }
    return tables === void 0 ? { conn, name, created: true } : { conn, name: into, created: true, replaces: name };
  } catch (err) {
    await conn.close();
    throw err;
  }
}
async function swapDatabase(target) {
  const live = target.replaces;
  const aside = `drd_old_${randomBytes(6).toString("hex")}`;
  const admin = await target.conn.client(target.conn.defaultDatabase);
  try {
    await admin.query(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()`, [live]);
    await admin.query(`ALTER DATABASE ${quoteIdent(live)} RENAME TO ${quoteIdent(aside)}`);
    try {
      await admin.query(`ALTER DATABASE ${quoteIdent(target.name)} RENAME TO ${quoteIdent(live)}`);
    } catch (err) {
      await admin.query(`ALTER DATABASE ${quoteIdent(aside)} RENAME TO ${quoteIdent(live)}`);
      throw new OperationError(`could not put the restored database under the name ${live}: ${err.message}; ${live} is unchanged`);
    }
    target.name = live;
    target.created = false;
    await admin.query(`DROP DATABASE ${quoteIdent(aside)} WITH (FORCE)`);
  } finally {
    await admin.end();
  }
}
async function openLoader(target, options) {
  const args = ["--no-password", "--exit-on-error"];
  if (options.noOwner)
    args.push("--no-owner", "--no-acl");
  const sessions = [];
  const close = async () => {
    await Promise.allSettled(sessions.map((s) => s.end()));
  };
  try {
    if (options.jobs > 1)
      for (let i = 0; i < options.jobs; i++)
        sessions.push(await target.conn.client(target.name));
  } catch (err) {
    await close();
    throw err;
  }
  const load = async (plain, signal) => {
    let loaded;
    const result = sessions.length === 0 ? await feedTool("pg_restore", [...args, `--dbname=${target.conn.urlFor(target.name)}`], target, plain, signal) : await feedTool("pg_restore", [...args, "--file=-"], target, plain, signal, async (script) => void (loaded = await loadInSessions(restoreScriptParts(script), sessions)));
    if (result.exitCode !== 0) {
      const stderr = target.conn.mask(String(result.stderr ?? "")).trim().slice(-2e3).replace(/\s*\n\s*/g, " | ");
      throw new OperationError(`pg_restore ${result.signal ? `was killed by ${result.signal}` : `exited ${result.exitCode}`}: ${stderr}`);
    }
    return loaded;
  };
  return { load, close };
}
async function restoreGlobals(target, sql, signal) {
  const args = ["-X", "-q", "--no-password", `--dbname=${target.conn.urlFor(target.conn.defaultDatabase)}`];
  const result = await feedTool("psql", args, target, sql, signal);
  if (result.exitCode !== 0)
    throw new OperationError(`restoring globals failed: ${target.conn.mask(String(result.stderr)).trim().slice(-2e3)}`);
}
async function feedTool(tool, args, target, input, signal, consume) {
  const direct = hasPipeFd(input.output);
  const proc = execa(tool, args, {
    stdin: direct ? input.output : "pipe",
    buffer: { stdout: false, stderr: true },
    env: target.conn.toolEnv(),
    cancelSignal: signal,
    reject: false
  });
  if (direct)
    input.output.destroy();
  const feeding = direct ? Promise.resolve() : pipeline(input.output, proc.stdin);
  let stopped = false;
  const consuming = consume?.(proc.stdout).catch((err) => {
    stopped = proc.kill();
    throw err;
  });
  const [fed, produced, result, consumed] = await Promise.all([
    feeding.then(noError, asError),
    input.done.then(noError, asError),
    proc,
    consuming?.then(noError, asError)
  ]);
  if (produced instanceof IntegrityError)
    throw produced;
  if (result.exitCode !== 0 && !stopped)
    return result;
  if (consumed)
    throw consumed;
  if (result.exitCode === 0 && (produced ?? fed))
    throw produced ?? fed;
  return result;
}
var noError = () => void 0;
var asError = (err) => err;
async function checkRowCounts(target, expected, loaded) {
  const key = (t) => `${t.schema}.${t.table}`;
  const toCount = expected.tables.filter((t) => !loaded?.has(key(t)));
  const actual = new Map(loaded);
  if (toCount.length > 0) {
    const db = await target.conn.client(target.name);
    try {
      for (const t of toCount) {
        const r = await db.query(`SELECT count(*)::text AS n FROM ${quoteIdent(t.schema)}.${quoteIdent(t.table)}`).catch(() => void 0);
        actual.set(key(t), r ? Number(r.rows[0].n) : -1);
      }
    } finally {
      await db.end();
    }
  }
  const wrong = expected.tables.filter((t) => actual.get(key(t)) !== t.rows);
  if (wrong.length > 0) {
    const shown = wrong.slice(0, 5).map((t) => `${key(t)}: ${actual.get(key(t))} rows, expected ${t.rows}`);
    throw new IntegrityError(`restored row counts differ from the backup's: ${shown.join("; ")}${wrong.length > 5 ? ` and ${wrong.length - 5} more` : ""}`);
  }
  return expected.tables;
}
async function dropDatabase(target) {
  const admin = await target.conn.client(target.conn.defaultDatabase);
  try {
    await admin.query(`DROP DATABASE IF EXISTS ${quoteIdent(target.name)} WITH (FORCE)`);
  } finally {
    await admin.end();
  }
}
function quoteIdent(name) {
  return `"${name.replace(/"/g, '""')}"`;
}

// dist/app/restore/select.js
function selectBackup(backups, request) {
  if (request.backupId)
    return backups.find((b) => b.id === request.backupId) ?? `no backup with id "${request.backupId}"`;
  if (request.at !== void 0) {
    const at = request.at;
    const candidates = backups.filter((b) => Date.parse(b.snapshot_at) <= at && b.copies.some((c) => c.state === "verified" || c.state === "written"));
    return candidates[0] ?? `no backup with a usable copy at or before ${new Date(at).toISOString()}`;
  }
  return backups.find((b) => b.policy_ok) ?? backups.find((b) => b.copies.some((c) => c.state === "verified")) ?? // Read from a target's manifests (no catalog): present, not re-read; the download checks sha256.
  backups.find((b) => b.copies.some((c) => c.state === "written")) ?? "no backup with a usable copy";
}
function selectCopy(backup, from, isLocal) {
  if (from)
    return backup.copies.some((c) => c.target === from && c.state !== "deleted") ? from : void 0;
  const usable = [...backup.copies.filter((c) => c.state === "verified"), ...backup.copies.filter((c) => c.state === "written")];
  return (usable.find((c) => isLocal(c.target)) ?? usable[0])?.target;
}

// dist/app/restore/restore.js
import { mkdir, mkdtemp, readdir, rm as rm2 } from "node:fs/promises";
import { join as join3 } from "node:path";
import { pipeline as pipeline4 } from "node:stream";

// dist/pipeline/decrypt.js
import { readFile } from "node:fs/promises";
import { pipeline as pipeline2 } from "node:stream";

// dist/pipeline/openpgp/message.js
import { Transform } from "node:stream";
var MAX_SESSION_KEY_BYTES = 64 * 1024;
var MessageDecryptStream = class extends Transform {
  unlock;
  failure;
  reader;
  sessionPackets = [];
  sessionBytes = 0;
  current;
  inData = false;
  dataEnded = false;
  pending = [];
  body;
  constructor(unlock, failure) {
    super();
    this.unlock = unlock;
    this.failure = failure;
    this.reader = new PacketReader({
      start: (tag) => {
        if (this.dataEnded)
          throw new Error("unexpected data after the encrypted packet");
        if (tag === TAG.symEncryptedIntegrityProtectedData) {
          if (this.sessionPackets.length === 0)
            throw new Error("no session key packet before the encrypted data");
          this.inData = true;
        } else if (tag === TAG.publicKeyEncryptedSessionKey || tag === TAG.symEncryptedSessionKey || tag === TAG.marker || tag === TAG.padding) {
          this.current = { tag, body: [] };
        } else {
          throw new Error(`unexpected OpenPGP packet type ${tag} (not an encrypted message drd can read)`);
        }
      },
      body: (bytes) => {
        if (this.inData) {
          if (this.body)
            this.body.update(bytes);
          else
            this.pending.push(Buffer.from(bytes));
          return;
        }
        this.sessionBytes += bytes.length;
        if (this.sessionBytes > MAX_SESSION_KEY_BYTES)
          throw new Error("the session key packets are implausibly large");
        this.current.body.push(bytes);
      },
      end: (tag) => {
        if (this.inData) {
          this.inData = false;
          this.dataEnded = true;
          return;
        }
        const { body } = this.current;
        this.current = void 0;
        if (tag === TAG.marker || tag === TAG.padding)
          return;
        const bytes = Buffer.concat(body);
        this.sessionPackets.push(packetHeader(tag, bytes.length), bytes);
      }
    });
  }
  _transform(chunk, _enc, done) {
    try {
      this.reader.write(chunk);
    } catch (err) {
      return done(this.failure(err));
    }
    if (this.body || !(this.inData || this.dataEnded))
      return done();
    this.unlock(Buffer.concat(this.sessionPackets)).then((session) => {
      try {
        this.body = new SeipdBodyDecryptor(session, (plain) => this.push(plain));
        for (const b of this.pending)
          this.body.update(b);
        this.pending = [];
        done();
      } catch (err) {
        done(this.failure(err));
      }
    }, (err) => done(this.failure(err)));
  }
  _flush(done) {
    try {
      this.reader.finish();
      if (!this.body || !this.dataEnded)
        throw new Error("the encrypted message is truncated");
      this.body.final();
      done();
    } catch (err) {
      done(this.failure(err));
    }
  }
};

// dist/pipeline/decrypt.js
async function createDecryptor(info, secret) {
  if (info.method === "passphrase") {
    if (!secret.passphraseFile)
      throw new UsageError("this backup is encrypted with a passphrase: give --passphrase-file FILE");
    const passphrase = await readSecretFile(secret.passphraseFile, "passphrase");
    return { decrypt: (cipher) => decryptStream(cipher, { passwords: [passphrase] }, info) };
  }
  if (!secret.keyFile)
    throw new UsageError(`this backup is encrypted to ${info.recipients.join(", ")}: give --key FILE with a private key`);
  let armored;
  try {
    armored = await readFile(secret.keyFile, "utf8");
  } catch (err) {
    throw new OperationError(`cannot read key ${secret.keyFile}: ${err.code ?? err}`);
  }
  let key;
  try {
    key = await readPrivateKey({ armoredKey: armored });
  } catch (err) {
    throw new UsageError(`${secret.keyFile} holds no usable private key: ${err.message}`);
  }
  if (!key.isDecrypted())
    throw new UsageError(`the private key in ${secret.keyFile} is protected by a passphrase; export an unprotected copy for restores`);
  const fingerprints = key.getKeys().map((k) => k.getFingerprint().toUpperCase());
  if (!fingerprints.some((f) => info.recipients.includes(f))) {
    throw new IntegrityError(`the key in ${secret.keyFile} (${fingerprints[0]}) cannot decrypt this backup: it is encrypted to ${info.recipients.join(", ")}; give the private key of one of those`);
  }
  return { decrypt: (cipher) => decryptStream(cipher, { decryptionKeys: [key] }, info) };
}
async function decryptStream(cipher, secret, info) {
  const unlock = async (sessionKeyPackets) => {
    const packets = await PacketList.fromBinary(sessionKeyPackets, SESSION_KEY_PACKETS);
    const [found] = await decryptSessionKeys({ message: new Message(packets), ...secret });
    if (!found?.algorithm || !isSessionAlgorithm(found.algorithm))
      throw new Error(`unsupported session cipher ${found?.algorithm ?? "(none)"}`);
    return { algorithm: found.algorithm, key: found.data };
  };
  return pipeline2(cipher, new MessageDecryptStream(unlock, (err) => decryptionError(err, info)), () => void 0);
}
var SESSION_KEY_PACKETS = {
  [PublicKeyEncryptedSessionKeyPacket.tag]: PublicKeyEncryptedSessionKeyPacket,
  [SymEncryptedSessionKeyPacket.tag]: SymEncryptedSessionKeyPacket
};
function decryptionError(err, info) {
  const why = err.message ?? String(err);
  const hint = info.method === "public-key" ? ` (the backup is encrypted to ${info.recipients.join(", ")})` : " (wrong passphrase?)";
  return new IntegrityError(`decryption failed: ${why}${/session key|decrypt/i.test(why) ? hint : ""}`);
}

// dist/pipeline/span.js
import { Transform as Transform2 } from "node:stream";
var SpanStream = class extends Transform2 {
  first;
  last;
  _transform(chunk, _enc, done) {
    const now = Date.now();
    this.first ??= now;
    this.last = now;
    done(null, chunk);
  }
  /** Milliseconds from the first chunk to the last; 0 before any. */
  get ms() {
    return this.first === void 0 ? 0 : this.last - this.first;
  }
};

// dist/app/restore/extract.js
import { createHash } from "node:crypto";
import { constants } from "node:fs";
import { lstat, open, readlink, realpath } from "node:fs/promises";
import { join } from "node:path";
import { pipeline as pipeline3 } from "node:stream/promises";

// dist/app/restore/entry-rules.js
function pathParts(path) {
  if (path.includes("\0"))
    return `path with a NUL byte ${JSON.stringify(path)}`;
  if (path.startsWith("/") || /^[A-Za-z]:/.test(path))
    return `absolute path ${path}`;
  const parts = path.split("/").filter((p) => p !== "" && p !== ".");
  if (parts.includes(".."))
    return `path with .. ${path}`;
  return parts;
}
var KINDS = { File: "file", OldFile: "file", ContiguousFile: "file", Directory: "directory", SymbolicLink: "symlink", Link: "hardlink" };
var EntryRules = class {
  made = /* @__PURE__ */ new Map();
  /** Accepted entries in order, as the manifest describes them. */
  accepted = [];
  /** Why `path` must not be extracted, or undefined (and the entry is recorded). */
  check(path, type, linkpath) {
    const kind = KINDS[type];
    if (!kind)
      return `unsupported entry type ${type} for ${path}`;
    const parts = pathParts(path);
    if (typeof parts === "string")
      return parts;
    if (parts.length === 0) {
      if (kind !== "directory")
        return `${type} entry for the restore directory itself`;
      this.accepted.push({ path, type: "directory" });
      return void 0;
    }
    const through = this.blockedAncestor(parts);
    if (through)
      return `${path} would be written through the ${through}`;
    const key = parts.join("/");
    if (this.made.has(key))
      return `${path} appears twice in the archive: a later entry would replace the ${this.made.get(key)} made earlier`;
    if (kind === "hardlink") {
      const problem = this.linkProblem(path, linkpath);
      if (problem)
        return problem;
    }
    if (kind === "symlink" && !linkpath)
      return `symlink ${path} has no target`;
    for (let i = 1; i < parts.length; i++)
      this.made.set(parts.slice(0, i).join("/"), "directory");
    this.made.set(key, kind === "hardlink" ? "file" : kind);
    this.accepted.push({ path, type: kind === "hardlink" ? "other" : kind });
    return void 0;
  }
  blockedAncestor(parts) {
    for (let i = 1; i < parts.length; i++) {
      const ancestor = parts.slice(0, i).join("/");
      const made = this.made.get(ancestor);
      if (made && made !== "directory")
        return `${made} ${ancestor}`;
    }
    return void 0;
  }
  linkProblem(path, linkpath) {
    if (!linkpath)
      return `hard link ${path} has no target`;
    const parts = pathParts(linkpath);
    if (typeof parts === "string" || parts.length === 0)
      return `hard link ${path} points outside: ${linkpath}`;
    const through = this.blockedAncestor(parts);
    if (through)
      return `hard link ${path} points through the ${through}: ${linkpath}`;
    if (this.made.get(parts.join("/")) !== "file")
      return `hard link ${path} points at ${linkpath}, which is not a file extracted before it`;
    return void 0;
  }
};
function manifestMismatch(accepted, entries) {
  const key = (p) => {
    const parts = pathParts(p);
    return typeof parts === "string" ? void 0 : parts.join("/");
  };
  const archived = new Map(accepted.map((e) => [key(e.path), e.type]));
  const listed = /* @__PURE__ */ new Set();
  for (const entry of entries) {
    const k = key(entry.path);
    if (k === void 0)
      return `the manifest lists an unsafe path ${JSON.stringify(entry.path)}`;
    if (listed.has(k))
      return `the manifest lists ${entry.path} twice`;
    listed.add(k);
    const type = archived.get(k);
    if (type === void 0)
      return `the manifest lists ${entry.path}, which the archive does not hold`;
    if (type !== entry.type)
      return `the manifest lists ${entry.path} as a ${entry.type}, the archive holds a ${type === "other" ? "hard link" : type}`;
  }
  for (const k of archived.keys())
    if (!listed.has(k))
      return `the archive holds ${k || "."}, which the manifest does not list`;
  return void 0;
}

// dist/app/restore/selection.js
import { dirname } from "node:path";
var WHOLE_TREE = { select: [], strip: [] };
var isPrefix = (prefix, parts) => prefix.length <= parts.length && prefix.every((p, i) => parts[i] === p);
function defaultStrip(paths) {
  const parents = paths.map((p) => asParts(dirname(p.replace(/^\/+/, ""))) ?? []);
  if (parents.length === 0)
    return [];
  let common = parents[0];
  for (const p of parents.slice(1)) {
    let i = 0;
    while (i < common.length && i < p.length && common[i] === p[i])
      i++;
    common = common.slice(0, i);
  }
  return common;
}
function mapEntry(parts, m) {
  if (m.select.length > 0 && !m.select.some((s) => isPrefix(s, parts)))
    return "skip";
  if (isPrefix(parts, m.strip))
    return m.strip.length === 0 && parts.length === 0 ? [] : "skip";
  if (!isPrefix(m.strip, parts))
    return "outside";
  return parts.slice(m.strip.length);
}
function resolveMapping(files, flags) {
  if (flags.fullPaths && flags.stripPrefix !== void 0)
    throw new UsageError("give --strip-prefix or --full-paths, not both");
  const strip = flags.fullPaths ? [] : flags.stripPrefix !== void 0 ? flagParts(flags.stripPrefix, "--strip-prefix") : defaultStrip(files.entries.map((e) => e.path).filter((p) => asParts(p)));
  const select = (flags.paths ?? []).map((p) => flagParts(p, "--path"));
  const mapping = { select, strip };
  const entries = files.entries.flatMap((e) => {
    const parts = asParts(e.path);
    return parts ? [{ entry: e, parts }] : [];
  });
  for (const [i, s] of select.entries()) {
    if (!entries.some((e) => isPrefix(s, e.parts)))
      throw new UsageError(`--path ${flags.paths[i]} matches nothing in this backup (it holds ${files.paths.join(", ")})`);
  }
  const outside = entries.find((e) => mapEntry(e.parts, mapping) === "outside");
  if (outside)
    throw new UsageError(`--strip-prefix ${flags.stripPrefix} would leave out /${outside.parts.join("/")}: give a directory every restored path lies in, or --full-paths`);
  return mapping;
}
function mappedEntries(entries, m) {
  const out = [];
  for (const e of entries) {
    const parts = asParts(e.path);
    if (!parts)
      out.push(e);
    else {
      const mapped = mapEntry(parts, m);
      if (Array.isArray(mapped))
        out.push({ ...e, path: mapped.length === 0 ? "." : mapped.join("/") });
    }
  }
  return out;
}
function asParts(path) {
  const parts = pathParts(path.replace(/^\/+/, ""));
  return typeof parts === "string" ? void 0 : parts;
}
function flagParts(path, flag) {
  if (!path.startsWith("/"))
    throw new UsageError(`${flag} takes an absolute path as it was backed up (e.g. /etc/sysmanage), not ${path}`);
  const parts = pathParts(path.replace(/^\/+/, ""));
  if (typeof parts === "string")
    throw new UsageError(`${flag} ${path}: ${parts}`);
  return parts;
}

// dist/app/restore/extract.js
async function extractSafely(plain, dir, files, asRoot, mapping = WHOLE_TREE) {
  const rules = new EntryRules();
  let refused;
  const remap = (path) => {
    const parts = pathParts(path);
    if (typeof parts === "string")
      return { refused: parts };
    const mapped = mapEntry(parts, mapping);
    if (mapped === "skip")
      return false;
    if (mapped === "outside")
      return { refused: `the archive holds ${path}, which the manifest does not list` };
    return mapped.length === 0 ? "." : mapped.join("/");
  };
  const unpack = So({
    cwd: dir,
    strict: true,
    // Paths are checked by EntryRules; this keeps symlink targets as archived.
    preservePaths: true,
    preserveOwner: asRoot,
    filter: (path, entry) => {
      const e = entry;
      if (refused)
        return false;
      if (mapping !== WHOLE_TREE) {
        const to = remap(path);
        if (to === false)
          return false;
        if (typeof to === "object") {
          refused = to.refused;
          return false;
        }
        e.path = to;
        if (e.type === "Link" && e.linkpath) {
          const link = remap(e.linkpath);
          if (typeof link !== "string") {
            refused = typeof link === "object" ? `hard link ${path} points outside: ${e.linkpath}` : `${path} is a hard link to ${e.linkpath}, which the paths given leave out (add it with --path)`;
            return false;
          }
          e.linkpath = link;
        }
      }
      const problem = rules.check(e.path, e.type, e.linkpath);
      if (problem) {
        refused ??= problem;
        return false;
      }
      return true;
    }
  });
  try {
    await pipeline3(plain, unpack);
  } catch (err) {
    if (refused)
      throw new IntegrityError(`hostile archive refused: ${refused}`);
    throw err instanceof IntegrityError ? err : new IntegrityError(`the archive is damaged: ${err.message}`);
  }
  if (refused)
    throw new IntegrityError(`hostile archive refused: ${refused}`);
  if (!files)
    return 0;
  const expected = mapping === WHOLE_TREE ? files : { ...files, entries: mappedEntries(files.entries, mapping) };
  const mismatch = manifestMismatch(rules.accepted, expected.entries);
  if (mismatch)
    throw new IntegrityError(`the archive does not match its manifest: ${mismatch}`);
  return checkAgainstManifest(dir, expected);
}
async function checkAgainstManifest(dir, files) {
  const root = await realpath(dir);
  for (const entry of [...files.entries].reverse()) {
    if (entry.type !== "file" && entry.type !== "directory")
      continue;
    const handle = await openInside(root, entry);
    try {
      await handle.chmod(entry.mode & 4095);
    } finally {
      await handle.close();
    }
  }
  let checked = 0;
  for (const entry of files.entries) {
    if (entry.type === "symlink")
      await checkSymlink(root, entry);
    if (entry.type !== "file")
      continue;
    const handle = await openInside(root, entry);
    const hash = createHash("sha256");
    try {
      for await (const chunk of handle.createReadStream({ autoClose: false, highWaterMark: 1 << 20 }))
        hash.update(chunk);
    } finally {
      await handle.close();
    }
    const sha = hash.digest("hex");
    if (sha !== entry.sha256)
      throw new IntegrityError(`restored ${entry.path} does not match the manifest: sha256 ${sha}, expected ${entry.sha256}`);
    checked++;
  }
  return checked;
}
async function parentInside(root, entry) {
  const parts = pathParts(entry.path);
  if (typeof parts === "string")
    throw new IntegrityError(`the manifest lists an unsafe path: ${parts}`);
  const expected = join(root, ...parts.slice(0, -1));
  const parent = await realpath(expected).catch(() => void 0);
  if (parent === void 0)
    throw new IntegrityError(`restored ${entry.path} is missing`);
  if (parent !== expected)
    throw new IntegrityError(`restored ${entry.path} lies below a symlink (${parent}); restore refused`);
  return { parent, name: parts[parts.length - 1] };
}
async function openInside(root, entry) {
  const { parent, name } = await parentInside(root, entry);
  const flags = constants.O_RDONLY | constants.O_NOFOLLOW | (entry.type === "directory" ? constants.O_DIRECTORY : 0);
  let handle;
  try {
    handle = await open(name === void 0 ? root : join(parent, name), flags);
  } catch (err) {
    const code = err.code;
    if (code === "ENOENT")
      throw new IntegrityError(`restored ${entry.path} is missing`);
    throw new IntegrityError(`restored ${entry.path} is not the ${entry.type} the manifest lists (${code})`);
  }
  const info = await handle.stat();
  if (entry.type === "file" ? !info.isFile() : !info.isDirectory()) {
    await handle.close();
    throw new IntegrityError(`restored ${entry.path} is not the ${entry.type} the manifest lists`);
  }
  return handle;
}
async function checkSymlink(root, entry) {
  const { parent, name } = await parentInside(root, entry);
  const path = join(parent, name ?? "");
  const info = await lstat(path).catch(() => void 0);
  if (!info?.isSymbolicLink())
    throw new IntegrityError(`restored ${entry.path} is not the symlink the manifest lists`);
  const link = await readlink(path);
  if (entry.link !== void 0 && link !== entry.link)
    throw new IntegrityError(`restored symlink ${entry.path} points at ${link}, the manifest says ${entry.link}`);
}

// dist/app/restore/fetch.js
import { createHash as createHash2 } from "node:crypto";
import { open as open2, rm } from "node:fs/promises";
import { join as join2 } from "node:path";
import { Readable } from "node:stream";
function fetchArtifact(target, key, artifact, dir, options = {}) {
  const { onBytes } = options;
  const path = join2(dir, artifact.name);
  const gate = new VerifiedBytes();
  const cancelled = new AbortController();
  const done = download({ target, key, version: options.version }, artifact, path, gate, cancelled.signal, onBytes).catch(async (cause) => {
    const err = unreachable(target, artifact, cause, cancelled.signal);
    gate.fail(err);
    await rm(path, { force: true });
    throw err;
  });
  done.catch(() => void 0);
  return { done, open: () => verifiedReader(path, gate), cancel: (reason) => cancelled.abort(reason) };
}
function unreachable(target, artifact, err, cancelled) {
  if (err instanceof IntegrityError || cancelled.aborted && err === cancelled.reason)
    return err;
  const e = err;
  const why = err instanceof OperationError ? e.message : e.code ?? e.message ?? String(err);
  return new OperationError(`could not reach target ${target.name} to download ${artifact.name}: ${why}`, { cause: err });
}
async function download(object, artifact, path, gate, signal, onBytes) {
  const { target } = object;
  const recorded = usablePieces(artifact.pieces, artifact.size);
  const whole = recorded === void 0;
  const pieces = recorded ?? { size: Math.max(artifact.size, 1), sha256: [artifact.sha256] };
  const hasher = new PieceHasher(pieces.size);
  const mismatch = (what) => new IntegrityError(`${artifact.name} from ${target.name} does not match its record: ${what}; restore refused`);
  let checked = 0;
  const checkPieces = () => {
    for (; checked < hasher.count; checked++) {
      const hex = hasher.digests[checked].toString("hex");
      if (hex === pieces.sha256[checked])
        continue;
      throw mismatch(whole ? `sha256 ${hex} (${received} bytes), expected ${artifact.sha256} (${artifact.size} bytes)` : `sha256 of piece ${checked + 1} of ${pieces.sha256.length} is ${hex}, expected ${pieces.sha256[checked]}`);
    }
  };
  const file = await open2(path, "wx", 384);
  let received = 0;
  let written = 0;
  let held = [];
  const flush = async () => {
    if (held.length === 0)
      return;
    const bytes = held.reduce((n, b) => n + b.length, 0);
    await writeAll(file, held, written);
    written += bytes;
    held = [];
    gate.advance(Math.min(checked * pieces.size, written));
  };
  try {
    const source = await target.get(object.key, object.version);
    const stop = () => source.destroy(signal.reason);
    signal.addEventListener("abort", stop, { once: true });
    if (signal.aborted)
      stop();
    for await (const chunk of source) {
      const bytes = chunk;
      if (received + bytes.length > artifact.size)
        throw mismatch(`more than the ${artifact.size} bytes recorded`);
      received += bytes.length;
      const before = checked;
      hasher.update(bytes);
      checkPieces();
      held.push(bytes);
      if (received - written >= WRITE_SIZE || checked > before)
        await flush();
      onBytes?.(received, artifact.size);
    }
    await flush();
  } finally {
    await file.close();
  }
  if (received !== artifact.size)
    throw mismatch(`${received} bytes, expected ${artifact.size}`);
  hasher.finish();
  checkPieces();
  if (received === 0 && artifact.sha256 !== createHash2("sha256").digest("hex"))
    throw mismatch(`0 bytes, expected sha256 ${artifact.sha256}`);
  gate.complete(received);
}
var WRITE_SIZE = 1 << 20;
async function writeAll(file, buffers, position) {
  let pending = buffers;
  while (pending.length > 0) {
    let { bytesWritten } = await file.writev(pending, position);
    position += bytesWritten;
    const rest = [];
    for (const b of pending) {
      if (bytesWritten >= b.length)
        bytesWritten -= b.length;
      else {
        rest.push(b.subarray(bytesWritten));
        bytesWritten = 0;
      }
    }
    pending = rest;
  }
}
var VerifiedBytes = class {
  verified = 0;
  total;
  error;
  waiters = [];
  advance(upTo) {
    if (upTo > this.verified) {
      this.verified = upTo;
      this.wake();
    }
  }
  complete(total) {
    this.verified = total;
    this.total = total;
    this.wake();
  }
  fail(error) {
    this.error = error;
    this.wake();
  }
  /** Resolves with an offset beyond `position` that is verified, or null at the end. */
  async beyond(position) {
    for (; ; ) {
      if (this.error)
        throw this.error;
      if (this.verified > position)
        return this.verified;
      if (this.total !== void 0)
        return null;
      await new Promise((resolve) => this.waiters.push(resolve));
    }
  }
  wake() {
    for (const w of this.waiters.splice(0))
      w();
  }
};
var READ_SIZE = 1 << 20;
function verifiedReader(path, gate) {
  let handle;
  let position = 0;
  return new Readable({
    highWaterMark: READ_SIZE,
    read() {
      void (async () => {
        try {
          const limit = await gate.beyond(position);
          if (limit === null)
            return void this.push(null);
          if (!handle) {
            handle = await open2(path, "r");
            if (this.destroyed)
              return void await handle.close();
          }
          const length = Math.min(READ_SIZE, limit - position);
          const { bytesRead, buffer } = await handle.read(Buffer.allocUnsafe(length), 0, length, position);
          if (bytesRead === 0)
            throw new Error(`${path} ended before the verified length`);
          position += bytesRead;
          this.push(buffer.subarray(0, bytesRead));
        } catch (err) {
          this.destroy(err);
        }
      })();
    },
    destroy(err, callback) {
      const closing = handle ? handle.close() : Promise.resolve();
      closing.then(() => callback(err), () => callback(err));
    }
  });
}

// dist/app/restore/restore.js
var MAX_JOBS = 64;
async function restore(ctx, req, signal) {
  let outcome;
  let succeeded = false;
  try {
    outcome = await restoreBackup(ctx, req, signal, (o) => outcome = o);
    succeeded = true;
    return outcome;
  } finally {
    if (outcome && !outcome.dry_run) {
      const failed = !succeeded;
      const destination = "database" in outcome.destination ? { database: outcome.destination.database } : { directory: outcome.destination.directory };
      audit(ctx, { event: "restore", outcome: failed ? "failed" : "ok", job: outcome.job, backup_id: outcome.backup_id, target: outcome.from, detail: { ...destination, ...outcome.warnings.length ? { warnings: outcome.warnings } : {} } });
    }
  }
}
async function restoreBackup(ctx, req, signal, started) {
  const job = jobOf(ctx, req.job);
  if (req.from !== void 0)
    assertTarget(ctx, req.from);
  const chosen = await chooseBackup(ctx, req);
  const { manifest, from } = chosen;
  const target = ctx.targets.get(from);
  const prefix = backupPrefix(manifest.job, manifest.id);
  const outcome = {
    backup_id: manifest.id,
    job: manifest.job,
    kind: manifest.kind,
    snapshot_at: manifest.snapshot_at,
    from,
    location: target.locate(prefix),
    destination: { directory: "", strip_prefix: "/", paths: null },
    dry_run: req.dryRun ?? false,
    phases: { download: 0, decrypt: 0, restore: 0, check: 0 },
    checked: "",
    warnings: chosen.warnings
  };
  started(outcome);
  let mapping = WHOLE_TREE;
  if (job.type === "postgres") {
    if (req.paths || req.stripPrefix !== void 0 || req.fullPaths)
      throw new UsageError("--path, --strip-prefix and --full-paths are for files backups");
    if (!req.toDb)
      throw new UsageError("give --to-db NAME: drd restores into a database you name and never touches the live one by default");
    const jobs = req.jobs ?? 1;
    if (!Number.isInteger(jobs) || jobs < 1 || jobs > MAX_JOBS)
      throw new UsageError(`--jobs must be a whole number from 1 to ${MAX_JOBS}`);
    outcome.destination = { database: req.toDb, jobs };
  } else {
    if (req.jobs !== void 0)
      throw new UsageError("--jobs is for database restores: a files backup is extracted as one stream");
    if (!req.toDir)
      throw new UsageError("give --to-dir DIR (a new or empty directory)");
    if (manifest.kind === "files")
      mapping = resolveMapping(manifest.files, req);
    outcome.destination = { directory: req.toDir, strip_prefix: `/${mapping.strip.join("/")}`, paths: req.paths ?? null };
    await assertEmptyDir(req.toDir);
  }
  const decryptor = manifest.encryption ? await createDecryptor(manifest.encryption, { keyFile: req.keyFile, passphraseFile: req.passphraseFile }) : void 0;
  if (req.dryRun) {
    await assertReachable(target, prefix, manifest);
    if (job.type === "postgres")
      await inspectDatabase(serverOf(job, req), req.toDb, req.clean ?? false);
    return outcome;
  }
  if (req.keyFile || req.passphraseFile)
    audit(ctx, { event: "key_use", outcome: "ok", job: manifest.job, backup_id: manifest.id, target: from, detail: req.keyFile ? { key_file: req.keyFile } : { passphrase_file: req.passphraseFile } });
  if (chosen.warnings.length > 0)
    ctx.catalog.addEvent({ at: ctx.now(), kind: "restore_untrusted", job: manifest.job, backup_id: manifest.id, target: from, detail: chosen.warnings.join("; ") });
  const work = await mkdtemp(join3(ctx.config.state_dir, "restore-"));
  const run2 = new ArtifactLoader({ target, prefix, manifest, decryptor, work, outcome, signal, onProgress: req.onProgress, versions: chosen.versions });
  try {
    if (manifest.kind === "files")
      await restoreFiles(run2, manifest, req.toDir, mapping);
    else if (job.type === "postgres")
      await restorePostgres(run2, manifest, serverOf(job, req), req);
  } finally {
    await rm2(work, { recursive: true, force: true });
  }
  return outcome;
}
function serverOf(job, req) {
  return req.connection ? { ...job, connection: req.connection } : job;
}
async function chooseBackup(ctx, req) {
  const job = jobOf(ctx, req.job);
  const selection = { ...req.backupId ? { backupId: req.backupId } : {}, ...req.at !== void 0 ? { at: req.at } : {} };
  const known = listBackups(ctx, req.job);
  if (req.backupId && !known.some((b) => b.id === req.backupId)) {
    const elsewhere = ctx.catalog.getBackup(req.backupId);
    if (elsewhere && elsewhere.job !== req.job)
      throw new UsageError(`backup ${req.backupId} belongs to job ${elsewhere.job}, not ${req.job} (drctl restore ${elsewhere.job} --backup ${req.backupId})`);
  }
  if (known.length > 0) {
    const picked2 = selectBackup(known, selection);
    if (typeof picked2 === "string")
      throw new OperationError(`cannot restore ${req.job}: ${picked2}`);
    const from2 = selectCopy(picked2, req.from, (t) => ctx.config.targets[t]?.type === "local");
    if (!from2)
      throw new OperationError(`backup ${picked2.id} has no usable copy${req.from ? ` on ${req.from}` : ""}`);
    const backup = ctx.catalog.getBackup(picked2.id);
    return { manifest: parseManifest(backup), from: from2, warnings: [], versions: copyVersions(backup.copies.find((c) => c.target === from2)) };
  }
  const from = req.from ?? bareSource(ctx, job.targets);
  const records = await readTargetManifests(ctx, from, req.job);
  const views = records.map((r) => backupView(ctx.config, rowFromManifest(ctx, from, r)));
  const picked = selectBackup(views, selection);
  if (typeof picked === "string")
    throw new OperationError(`cannot restore ${req.job} from ${from}: ${picked}`);
  const record = records.find((r) => r.manifest.id === picked.id);
  return { manifest: record.manifest, from, warnings: trustWarnings(record, records, from, req.allowUnsigned ?? false), versions: {} };
}
function trustWarnings(record, all, from, allowUnsigned) {
  if (record.trust.trusted)
    return [];
  const id = `${record.manifest.job}/${record.manifest.id}`;
  if (allowUnsigned)
    return [`backup ${id} on ${from} is untrusted (${record.trust.reason}); restored because --allow-unsigned was given`];
  const trusted = all.find((r) => r.trust.trusted);
  const instead = trusted ? `; the newest trusted backup is ${trusted.manifest.id} (--backup ${trusted.manifest.id})` : "";
  throw new IntegrityError(`backup ${id} on ${from} is untrusted: ${record.trust.reason}; restore refused (--allow-unsigned restores a backup made before signing)${instead}`);
}
async function assertReachable(target, prefix, manifest) {
  for (const artifact of manifest.artifacts) {
    const info = await target.stat(prefix + artifact.name);
    if (!info)
      throw new IntegrityError(`${artifact.name} is missing from ${target.locate(prefix)}`);
    if (info.size !== artifact.size)
      throw new IntegrityError(`${artifact.name} on ${target.name} has ${info.size} bytes, the manifest records ${artifact.size}`);
  }
}
var ArtifactLoader = class {
  p;
  constructor(p) {
    this.p = p;
  }
  /** Starts a download; the download phase becomes the time until the last one was checked. */
  fetch(artifact) {
    const { target, prefix, work, outcome, onProgress } = this.p;
    const started = Date.now();
    const onBytes = onProgress ? (bytes, total) => onProgress({ phase: "download", artifact: artifact.name, bytes, total }) : void 0;
    const fetched = fetchArtifact(target, prefix + artifact.name, artifact, work, { onBytes, version: this.p.versions[artifact.name] });
    void fetched.done.then(() => outcome.phases.download = Math.max(outcome.phases.download, Date.now() - started), () => void 0);
    return fetched;
  }
  /**
   * Loads a fetched artifact while it downloads. A download that failed on its own (a
   * damaged piece, an unreachable store) is the cause of whatever the loader made of the
   * cut stream; a loader that fails on its own (a wrong key, pg_restore refusing) stops
   * the download instead of waiting for it.
   */
  async load(fetched, load) {
    const span = new SpanStream();
    const loading = this.plain(fetched.open(), span).then(load);
    const [loaded] = await Promise.allSettled([loading]);
    const loadError = loaded.status === "rejected" ? loaded.reason instanceof Error ? loaded.reason : new Error(String(loaded.reason)) : void 0;
    if (loadError)
      fetched.cancel(loadError);
    const [downloaded] = await Promise.allSettled([fetched.done]);
    if (downloaded.status === "rejected" && downloaded.reason !== loadError)
      throw downloaded.reason;
    if (loaded.status === "rejected")
      throw loaded.reason;
    this.p.outcome.phases.decrypt += span.ms;
    return loaded.value;
  }
  /** The artifact's plain bytes: decrypted in this process (its span timed), decompressed by zstd (or zlib). */
  async plain(file, span) {
    const { manifest, decryptor, signal } = this.p;
    if (!decryptor)
      return decompress(manifest.compression.algorithm, file, signal);
    pipeline4(await decryptor.decrypt(file), span, () => void 0);
    return decompress(manifest.compression.algorithm, span, signal);
  }
};
async function restoreFiles(run2, manifest, toDir, mapping) {
  const { outcome, onProgress } = run2.p;
  const artifact = manifest.artifacts.find((a) => a.role === "files");
  const created = await mkdir(toDir, { recursive: true, mode: 448 });
  const fetched = run2.fetch(artifact);
  onProgress?.({ phase: "restore", artifact: artifact.name, decrypting: run2.p.decryptor !== void 0 });
  try {
    const t = Date.now();
    const checked = await run2.load(fetched, async (plain) => {
      const [extracted, decompressed] = await Promise.allSettled([extractSafely(plain.output, toDir, manifest.files, process.getuid?.() === 0, mapping), plain.done]);
      if (extracted.status === "rejected")
        throw extracted.reason;
      if (decompressed.status === "rejected")
        throw decompressed.reason;
      return extracted.value;
    });
    outcome.phases.restore = Date.now() - t;
    outcome.checked = `${checked} file(s) match their sha256 in the manifest`;
  } catch (err) {
    if (created)
      await rm2(created, { recursive: true, force: true });
    else
      await emptyDir(toDir);
    throw err;
  }
}
async function restorePostgres(run2, manifest, server, req) {
  if (manifest.kind !== "postgres")
    throw new OperationError(`backup ${manifest.id} is not a database dump`);
  const dumps = manifest.artifacts.filter((a) => a.role === "database");
  const artifact = req.database ? dumps.find((a) => a.database === req.database) : dumps.length === 1 ? dumps[0] : void 0;
  if (!artifact) {
    throw new UsageError(req.database ? `backup ${manifest.id} holds no database "${req.database}" (it holds ${dumps.map((d) => d.database).join(", ")})` : `backup ${manifest.id} holds ${dumps.length} databases (${dumps.map((d) => d.database).join(", ")}): choose one with --database`);
  }
  const globals = req.withGlobals ? manifest.artifacts.find((a) => a.role === "globals") : void 0;
  if (req.withGlobals && !globals)
    throw new UsageError(`backup ${manifest.id} has no globals (the job sets globals: false)`);
  const fetchedGlobals = globals ? run2.fetch(globals) : void 0;
  const fetchedDump = run2.fetch(artifact);
  const fetches = [fetchedDump, ...fetchedGlobals ? [fetchedGlobals] : []];
  try {
    await loadDatabase(run2, { manifest, artifact, fetchedDump, fetchedGlobals, server, req });
  } catch (err) {
    for (const f of fetches)
      f.cancel(err);
    await Promise.allSettled(fetches.map((f) => f.done));
    throw err;
  }
}
async function loadDatabase(run2, d) {
  const { outcome, signal, onProgress } = run2.p;
  const db = await prepareDatabase(d.server, d.req.toDb, d.req.clean ?? false);
  onProgress?.({ phase: "restore", artifact: d.artifact.name, decrypting: run2.p.decryptor !== void 0 });
  try {
    let t = Date.now();
    if (d.fetchedGlobals)
      await run2.load(d.fetchedGlobals, (plain) => restoreGlobals(db, plain, signal));
    const loader = await openLoader(db, { noOwner: d.req.noOwner ?? false, jobs: d.req.jobs ?? 1 });
    let loaded;
    try {
      loaded = await run2.load(d.fetchedDump, (plain) => loader.load(plain, signal));
    } finally {
      await loader.close();
    }
    outcome.phases.restore = Date.now() - t;
    onProgress?.({ phase: "check", artifact: d.artifact.name });
    t = Date.now();
    const expected = d.manifest.postgres.databases.find((x) => x.name === d.artifact.database);
    const tables = expected ? await checkRowCounts(db, expected, loaded) : [];
    if (db.replaces)
      await swapDatabase(db);
    outcome.phases.check = Date.now() - t;
    outcome.checked = `${tables.length} table(s) have the row counts recorded at backup time`;
  } catch (err) {
    if (db.created)
      await dropDatabase(db).catch(() => void 0);
    throw err;
  } finally {
    await db.conn.close();
  }
}
function bareSource(ctx, targets) {
  return targets.find((t) => ctx.config.targets[t]?.type === "local") ?? targets[0];
}
async function assertEmptyDir(dir) {
  const entries = await readdir(dir).catch((err) => {
    if (err.code === "ENOENT")
      return [];
    throw new OperationError(`cannot read ${dir}: ${err.code}`);
  });
  if (entries.length > 0)
    throw new UsageError(`${dir} is not empty: restore into a new or empty directory`);
}
async function emptyDir(dir) {
  for (const entry of await readdir(dir).catch(() => []))
    await rm2(join3(dir, entry), { recursive: true, force: true });
}

export {
  dropDatabase,
  selectBackup,
  restore
};
