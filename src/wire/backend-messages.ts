import { ProtocolError } from '../errors';

/**
 * The backend messages a replication connection reads besides CopyData ("Message Formats" in
 * PostgreSQL's protocol docs), parsed from a body the framer (framer.ts) has already cut out:
 * one framer on the wire path, and pg-protocol used only for `serialize`. @internal
 */
export type BackendMessage =
  | { name: 'authenticationOk' }
  | { name: 'authenticationCleartextPassword' }
  | { name: 'authenticationMD5Password'; salt: Buffer }
  | { name: 'authenticationSASL'; mechanisms: string[] }
  | { name: 'authenticationSASLContinue'; data: string }
  | { name: 'authenticationSASLFinal'; data: string }
  | { name: 'parameterStatus'; parameterName: string; parameterValue: string }
  | { name: 'backendKeyData' }
  | { name: 'error'; fields: ErrorFields }
  | { name: 'notice'; fields: ErrorFields }
  | { name: 'notification' }
  | { name: 'readyForQuery' }
  | { name: 'rowDescription'; fields: string[] }
  | { name: 'dataRow'; fields: (string | null)[] }
  | { name: 'commandComplete'; text: string }
  | { name: 'emptyQuery' }
  | { name: 'copyInResponse' }
  | { name: 'copyOutResponse' }
  | { name: 'copyBothResponse' }
  | { name: 'copyDone' }
  | { name: 'copyData' }
  | { name: string & { readonly unknown?: never }; code: number };

/** ErrorResponse and NoticeResponse fields by their one-letter codes ("Error and Notice Message Fields"). */
export type ErrorFields = Partial<Record<string, string>>;

/**
 * Parses one backend message body `buf[start, end)` of type `code`.
 * @throws {ProtocolError} for a body shorter than its format.
 */
export function parseBackendMessage(code: number, buf: Buffer, start: number, end: number): BackendMessage {
  const r = new Reader(buf, start, end);
  switch (code) {
    case 0x52: // R
      return authentication(r);
    case 0x53: // S
      return { name: 'parameterStatus', parameterName: r.cstring(), parameterValue: r.cstring() };
    case 0x4b: // K
      return { name: 'backendKeyData' };
    case 0x45: // E
      return { name: 'error', fields: errorFields(r) };
    case 0x4e: // N
      return { name: 'notice', fields: errorFields(r) };
    case 0x41: // A
      return { name: 'notification' };
    case 0x5a: // Z
      return { name: 'readyForQuery' };
    case 0x54: {
      // T: Int16 count, then per field: name, Int32 table, Int16 column, Int32 type, Int16 size, Int32 modifier, Int16 format
      const fields: string[] = [];
      for (let n = r.int16(); n > 0; n--) {
        fields.push(r.cstring());
        r.skip(18);
      }
      return { name: 'rowDescription', fields };
    }
    case 0x44: {
      // D: Int16 count, then per column Int32 length (-1 for NULL) and the text
      const fields: (string | null)[] = [];
      for (let n = r.int16(); n > 0; n--) {
        const len = r.int32();
        fields.push(len < 0 ? null : r.text(len));
      }
      return { name: 'dataRow', fields };
    }
    case 0x43: // C
      return { name: 'commandComplete', text: r.cstring() };
    case 0x49: // I
      return { name: 'emptyQuery' };
    case 0x47: // G
      return { name: 'copyInResponse' };
    case 0x48: // H
      return { name: 'copyOutResponse' };
    case 0x57: // W
      return { name: 'copyBothResponse' };
    case 0x63: // c
      return { name: 'copyDone' };
    case 0x64: // d
      return { name: 'copyData' };
    default:
      return { name: `message type ${JSON.stringify(String.fromCharCode(code))}`, code };
  }
}

function authentication(r: Reader): BackendMessage {
  const kind = r.int32();
  switch (kind) {
    case 0:
      return { name: 'authenticationOk' };
    case 3:
      return { name: 'authenticationCleartextPassword' };
    case 5:
      return { name: 'authenticationMD5Password', salt: r.bytes(4) };
    case 10: {
      const mechanisms: string[] = [];
      for (let m = r.cstring(); m !== ''; m = r.cstring()) mechanisms.push(m);
      return { name: 'authenticationSASL', mechanisms };
    }
    case 11:
      return { name: 'authenticationSASLContinue', data: r.rest() };
    case 12:
      return { name: 'authenticationSASLFinal', data: r.rest() };
    default:
      return { name: `authentication request ${kind}`, code: 0x52 };
  }
}

function errorFields(r: Reader): ErrorFields {
  const fields: ErrorFields = {};
  while (!r.done()) {
    const type = r.byte();
    if (type === 0) break;
    fields[String.fromCharCode(type)] = r.cstring();
  }
  return fields;
}

class Reader {
  constructor(
    private readonly buf: Buffer,
    private pos: number,
    private readonly end: number,
  ) {}

  done(): boolean {
    return this.pos >= this.end;
  }

  private need(n: number): void {
    if (this.pos + n > this.end) throw new ProtocolError(`backend message truncated: ${n} more bytes expected`);
  }

  byte(): number {
    this.need(1);
    return this.buf[this.pos++]!;
  }

  int16(): number {
    this.need(2);
    const v = this.buf.readInt16BE(this.pos);
    this.pos += 2;
    return v;
  }

  int32(): number {
    this.need(4);
    const v = this.buf.readInt32BE(this.pos);
    this.pos += 4;
    return v;
  }

  skip(n: number): void {
    this.need(n);
    this.pos += n;
  }

  bytes(n: number): Buffer {
    this.need(n);
    const b = Buffer.from(this.buf.subarray(this.pos, this.pos + n));
    this.pos += n;
    return b;
  }

  text(n: number): string {
    this.need(n);
    const s = this.buf.toString('utf8', this.pos, this.pos + n);
    this.pos += n;
    return s;
  }

  cstring(): string {
    const zero = this.buf.indexOf(0, this.pos);
    if (zero < 0 || zero >= this.end) throw new ProtocolError('backend message truncated: a string has no terminator');
    const s = this.buf.toString('utf8', this.pos, zero);
    this.pos = zero + 1;
    return s;
  }

  rest(): string {
    const s = this.buf.toString('utf8', this.pos, this.end);
    this.pos = this.end;
    return s;
  }
}
