/** Builds big-endian byte strings by hand, for byte-level protocol tests. */
export class Bytes {
  private parts: Buffer[] = [];

  u8(v: number | string): this {
    this.parts.push(Buffer.from([typeof v === 'string' ? v.charCodeAt(0) : v]));
    return this;
  }
  i16(v: number): this {
    const b = Buffer.alloc(2);
    b.writeInt16BE(v);
    this.parts.push(b);
    return this;
  }
  u32(v: number): this {
    const b = Buffer.alloc(4);
    b.writeUInt32BE(v);
    this.parts.push(b);
    return this;
  }
  i32(v: number): this {
    const b = Buffer.alloc(4);
    b.writeInt32BE(v);
    this.parts.push(b);
    return this;
  }
  u64(v: bigint): this {
    const b = Buffer.alloc(8);
    b.writeBigUInt64BE(v);
    this.parts.push(b);
    return this;
  }
  cstr(s: string): this {
    this.parts.push(Buffer.from(s + '\0'));
    return this;
  }
  raw(b: Buffer | string): this {
    this.parts.push(Buffer.from(b));
    return this;
  }
  /** A TupleData value of kind `t`. */
  text(s: string): this {
    const b = Buffer.from(s);
    return this.u8('t').i32(b.length).raw(b);
  }
  build(): Buffer {
    return Buffer.concat(this.parts);
  }
}
