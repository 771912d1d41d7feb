/** A value as deep-equal-comparable data: Dates by time, NaN and -0 told apart, prototypes and key order kept. */
export function shape(v: unknown): unknown {
  if (v instanceof Date) return { date: Number.isNaN(v.getTime()) ? 'invalid' : v.getTime() };
  if (typeof v === 'number') return Number.isNaN(v) ? 'NaN' : Object.is(v, -0) ? '-0' : v;
  if (Buffer.isBuffer(v)) return { buffer: v.toString('hex') };
  if (Array.isArray(v)) return v.map(shape);
  if (v !== null && typeof v === 'object') {
    const proto = Object.getPrototypeOf(v) as { constructor?: { name?: string } } | null;
    return { proto: proto === Object.prototype ? 'Object' : (proto?.constructor?.name ?? String(proto)), entries: Object.entries(v).map(([k, x]) => [k, shape(x)]) };
  }
  return v;
}
