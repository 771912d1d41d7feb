// Just the part of buffer-layout this project uses; the package ships no declarations.
declare module 'buffer-layout' {
  export class Layout<T = unknown> {
    constructor(span: number, property?: string);
    span: number;
    property?: string;
    decode(b: Buffer, offset?: number): T;
    encode(src: T, b: Buffer, offset?: number): number;
  }
  export class Structure<T = Record<string, unknown>> extends Layout<T> {
    fields: Layout[];
    offsetOf(property: string): number | undefined;
  }
  export function struct<T = Record<string, unknown>>(fields: Layout[], property?: string): Structure<T>;
  export function u8(property?: string): Layout<number>;
  export function u32be(property?: string): Layout<number>;
  export function s32be(property?: string): Layout<number>;
}
