/**
 * Built-in type OIDs (`src/include/catalog/pg_type.dat`) with their names and array types.
 * Built-in OIDs never change between server versions, so the decoder can rely on them without a
 * catalog query; the walsender sends a Type message only for types outside this range.
 */
export const OID = {
  bool: 16,
  bytea: 17,
  char: 18,
  name: 19,
  int8: 20,
  int2: 21,
  int4: 23,
  text: 25,
  oid: 26,
  tid: 27,
  xid: 28,
  cid: 29,
  json: 114,
  xml: 142,
  point: 600,
  cidr: 650,
  float4: 700,
  float8: 701,
  macaddr8: 774,
  money: 790,
  macaddr: 829,
  inet: 869,
  bpchar: 1042,
  varchar: 1043,
  date: 1082,
  time: 1083,
  timestamp: 1114,
  timestamptz: 1184,
  interval: 1186,
  timetz: 1266,
  bit: 1560,
  varbit: 1562,
  numeric: 1700,
  uuid: 2950,
  pg_lsn: 3220,
  jsonb: 3802,
} as const;

/** [scalar OID, name, array OID] of the built-in base types the decoder knows by name. */
const BUILTINS: ReadonlyArray<readonly [number, string, number]> = [
  [16, 'bool', 1000],
  [17, 'bytea', 1001],
  [18, 'char', 1002],
  [19, 'name', 1003],
  [20, 'int8', 1016],
  [21, 'int2', 1005],
  [23, 'int4', 1007],
  [24, 'regproc', 1008],
  [25, 'text', 1009],
  [26, 'oid', 1028],
  [27, 'tid', 1010],
  [28, 'xid', 1011],
  [29, 'cid', 1012],
  [114, 'json', 199],
  [142, 'xml', 143],
  [600, 'point', 1017],
  [601, 'lseg', 1018],
  [602, 'path', 1019],
  [604, 'polygon', 1027],
  [628, 'line', 629],
  [650, 'cidr', 651],
  [700, 'float4', 1021],
  [701, 'float8', 1022],
  [718, 'circle', 719],
  [774, 'macaddr8', 775],
  [790, 'money', 791],
  [829, 'macaddr', 1040],
  [869, 'inet', 1041],
  [1033, 'aclitem', 1034],
  [1042, 'bpchar', 1014],
  [1043, 'varchar', 1015],
  [1082, 'date', 1182],
  [1083, 'time', 1183],
  [1114, 'timestamp', 1115],
  [1184, 'timestamptz', 1185],
  [1186, 'interval', 1187],
  [1266, 'timetz', 1270],
  [1560, 'bit', 1561],
  [1562, 'varbit', 1563],
  [1700, 'numeric', 1231],
  [1790, 'refcursor', 2201],
  [2205, 'regclass', 2210],
  [2206, 'regtype', 2211],
  [2950, 'uuid', 2951],
  [3220, 'pg_lsn', 3221],
  [3614, 'tsvector', 3643],
  [3615, 'tsquery', 3645],
  [3802, 'jsonb', 3807],
  [3904, 'int4range', 3905],
  [3906, 'numrange', 3907],
  [3908, 'tsrange', 3909],
  [3910, 'tstzrange', 3911],
  [3912, 'daterange', 3913],
  [3926, 'int8range', 3927],
  [4072, 'jsonpath', 4073],
  [4451, 'int4multirange', 6150],
  [4532, 'nummultirange', 6151],
  [4533, 'tsmultirange', 6152],
  [4534, 'tstzmultirange', 6153],
  [4535, 'datemultirange', 6155],
  [4536, 'int8multirange', 6157],
];

/** Element OID of each built-in array type. */
export const ARRAY_ELEMENT = new Map<number, number>(BUILTINS.map(([oid, , array]) => [array, oid]));

/** Name (`pg_type.typname`) of each built-in type, arrays included (`_int4`). */
export const BUILTIN_NAME = new Map<number, string>([
  ...BUILTINS.map(([oid, name]) => [oid, name] as const),
  ...BUILTINS.map(([oid, name, array]) => [array, `_${name}`] as const),
]);

/** OID of each built-in type by name, arrays included; also SQL spellings such as `integer`. */
export const BUILTIN_OID = new Map<string, number>([
  ...[...BUILTIN_NAME].map(([oid, name]) => [name, oid] as const),
  ['boolean', 16],
  ['bigint', 20],
  ['smallint', 21],
  ['integer', 23],
  ['int', 23],
  ['real', 700],
  ['double precision', 701],
  ['character', 1042],
  ['character varying', 1043],
  ['decimal', 1700],
  ['timestamp without time zone', 1114],
  ['timestamp with time zone', 1184],
  ['time without time zone', 1083],
  ['time with time zone', 1266],
]);

/**
 * True for OIDs assigned at initdb (below FirstNormalObjectId, 16384). Objects created later,
 * such as enums, domains and extension types, get higher OIDs that differ between databases.
 */
export function isBuiltinOid(oid: number): boolean {
  return oid < 16384;
}
