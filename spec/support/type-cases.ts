/**
 * Column types and SQL literals for the type tests: for each type, the values a CDC library
 * must get right (extremes, infinities, NaN, -0, time zones, multi-dimensional arrays with NULLs).
 * Every case also gets a NULL row.
 */
export interface TypeCase {
  /** Column name. */
  column: string;
  /** SQL type of the column. */
  type: string;
  /** SQL literals, one row each. */
  values: string[];
  /** The binary format has no reader for this type: binary values come back as a BinaryValue. */
  binaryRaw?: boolean;
  /**
   * regproc, regclass, regtype: binary values are the object's OID as a number (arrays: an array of
   * them), compared against `pg`'s `col::oid` (`col::oid[]`); text values are the name, as in `pg`.
   */
  binaryOid?: boolean;
  /** `pg` returns the array's text where this library parses arrays: compared against this library's text parser. */
  parsedArray?: boolean;
}

const maxNumeric = `'${'9'.repeat(131072)}.${'9'.repeat(16383)}'`;

export const TYPE_CASES: TypeCase[] = [
  { column: 'c_bool', type: 'bool', values: ['true', 'false'] },
  { column: 'c_int2', type: 'int2', values: ['0', '-32768', '32767'] },
  { column: 'c_int4', type: 'int4', values: ['0', '-2147483648', '2147483647'] },
  { column: 'c_int8', type: 'int8', values: ['0', '-9223372036854775808', '9223372036854775807', '9007199254740993'] },
  { column: 'c_oid', type: 'oid', values: ['0', '4294967295', '1259'] },
  { column: 'c_float4', type: 'float4', values: ['1.1', "'-0'", "'NaN'", "'Infinity'", "'-Infinity'", '3.4028235e38', '1.4e-45', '0.1', '123456.79'] },
  { column: 'c_float8', type: 'float8', values: ['1.1', "'-0'", "'NaN'", "'Infinity'", "'-Infinity'", '1.7976931348623157e308', '5e-324', '0.1', '1e-5', '123456789012345680000'] },
  {
    column: 'c_numeric',
    type: 'numeric',
    values: ['0', '-0.000001', '123456789012345678901234567890.123456789', "'NaN'", "'Infinity'", "'-Infinity'", '1e-20', '10000', '0.0000', '-99999999.99990', maxNumeric],
  },
  { column: 'c_numeric_scaled', type: 'numeric(12,4)', values: ['0', '12345678.1234', '-1.5'] },
  { column: 'c_text', type: 'text', values: ["''", "'héllo wörld ✓ 𝄞'", "E'tab\\tnewline\\nquote\"back\\\\slash'", "'NULL'"] },
  { column: 'c_varchar', type: 'varchar(20)', values: ["'abc'", "''"] },
  { column: 'c_bpchar', type: 'char(5)', values: ["'ab'", "'abcde'"] },
  { column: 'c_name', type: 'name', values: ["'pg_class'"] },
  { column: 'c_char', type: '"char"', values: ["'a'", "'Z'"] },
  { column: 'c_bytea', type: 'bytea', values: ["'\\x'", "'\\xdeadbeef00ff'", "'\\x00'"] },
  { column: 'c_uuid', type: 'uuid', values: ["'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11'", "'00000000-0000-0000-0000-000000000000'"] },
  { column: 'c_date', type: 'date', values: ["'2024-02-29'", "'infinity'", "'-infinity'", "'0001-01-01'", "'4713-01-01 BC'", "'5874897-12-31'", "'1970-01-01'", "'0044-03-15 BC'"] },
  { column: 'c_time', type: 'time', values: ["'00:00:00'", "'23:59:59.999999'", "'24:00:00'", "'12:30:00.5'"] },
  { column: 'c_timetz', type: 'timetz', values: ["'12:00:00+00'", "'23:59:59.999999-14:59'", "'00:00:00+05:30'", "'10:00:00.123+01:02:03'"] },
  {
    column: 'c_timestamp',
    type: 'timestamp',
    values: ["'2024-01-01 12:34:56.789012'", "'infinity'", "'-infinity'", "'4713-01-01 00:00:00 BC'", "'294276-12-31 23:59:59.999999'", "'1969-12-31 23:59:59.999999'", "'0099-06-01 00:00:00'", "'2000-01-01'"],
  },
  {
    column: 'c_timestamptz',
    type: 'timestamptz',
    values: [
      "'2024-01-01 12:34:56.789012+00'",
      "'2024-06-01 12:00:00+05:30'",
      "'2024-01-01 00:00:00-08'",
      "'infinity'",
      "'-infinity'",
      "'1900-01-01 00:00:00+01:02:03'",
      "'4713-01-01 00:00:00+00 BC'",
      "'1969-12-31 23:59:59.9995+00'",
    ],
  },
  {
    column: 'c_interval',
    type: 'interval',
    values: ["'0'", "'1 year 2 months 3 days 04:05:06.789'", "'-1 year -2 mons +3 days -04:05:06'", "'1 day -00:00:01'", "'-178000000 years'", "'2147483647 hours'", "'00:00:00.000001'", "'-1 days'"],
  },
  { column: 'c_json', type: 'json', values: [`'{"b": [1, 2.5, null, "x"], "a": {"c": true}}'`, "'[]'", `'"str"'`, "'null'", "'123456789012345678901234567890'"] },
  { column: 'c_jsonb', type: 'jsonb', values: [`'{"b": [1, 2.5, null, "x"], "a": {"c": true}}'`, "'[]'", `'"é"'`, "'null'", "'1.0e+2'"] },
  { column: 'c_inet', type: 'inet', values: ["'192.168.1.5'", "'192.168.1.5/24'", "'::1'", "'2001:db8::1/64'", "'::ffff:1.2.3.4'", "'1:0:0:1:0:0:0:1'", "'::'", "'fe80::1:0:0:0'", "'2001:db8:0:1:1:1:1:1'", "'1:0:0:1:1:0:0:1'", "'::1.2.3.4'", "'0.0.0.0/0'"] },
  { column: 'c_cidr', type: 'cidr', values: ["'10.0.0.0/8'", "'192.168.1.5/32'", "'2001:db8::/32'", "'::/0'"] },
  { column: 'c_macaddr', type: 'macaddr', values: ["'08:00:2b:01:02:03'", "'ff:ff:ff:ff:ff:ff'"] },
  { column: 'c_macaddr8', type: 'macaddr8', values: ["'08:00:2b:01:02:03:04:05'"] },
  { column: 'c_money', type: 'money', values: ["'12.34'", "'-92233720368547758.08'", "'0'", "'1234567.891'"] },
  { column: 'c_money_arr', type: 'money[]', values: ["'{1.50,-2,NULL}'"] },
  { column: 'c_bit', type: 'bit(4)', values: ["B'1010'", "B'0001'"] },
  { column: 'c_varbit', type: 'varbit', values: ["B'1'", "B''", "B'101010101'"] },
  { column: 'c_bit_arr', type: 'varbit[]', values: ["'{1,0101,NULL}'"], parsedArray: true },
  { column: 'c_point', type: 'point', values: ["'(1.5,-2)'", "'(1e20,1e-5)'", "'(NaN,Infinity)'", "'(-0,0.1)'"] },
  // -30377319409065030: the shortest decimal lies halfway to the next double, which float8out never prints.
  { column: 'c_lseg', type: 'lseg', values: ["'[(0,0),(1,1.5)]'", "'[(-30377319409065030,1e-05),(123456789012345,1234567890123456)]'"] },
  { column: 'c_box', type: 'box', values: ["'(1,1),(0,0)'", "'(3.5,2),(-1,-2e-7)'"] },
  { column: 'c_path', type: 'path', values: ["'[(0,0),(1,1),(2,0)]'", "'((0,0),(1,1))'"] },
  { column: 'c_polygon', type: 'polygon', values: ["'((0,0),(1,1),(1,0))'"] },
  { column: 'c_line', type: 'line', values: ["'{1,-1,0}'", "'{0.5,2,1e20}'"] },
  { column: 'c_circle', type: 'circle', values: ["'<(1,2),3>'", "'<(0.1,-0.25),1e-10>'"] },
  { column: 'c_tsvector', type: 'tsvector', values: ["$$'it''s' 'a b':1,2A cat:3B,4C back\\slash:5$$", "''", "'fat cat sat'"] },
  { column: 'c_tsquery', type: 'tsquery', values: ["'fat & (rat | !cat)'", "'a <-> b <2> c'", "'x:*AB & !(y | z) & (p <-> (q | r))'", "$$'it''s':D$$"] },
  { column: 'c_xml', type: 'xml', values: [`'<a b="1">x &amp; y</a>'`, "'text only'"] },
  { column: 'c_pg_lsn', type: 'pg_lsn', values: ["'16/B374D848'", "'0/0'", "'FFFFFFFF/FFFFFFFF'"] },
  { column: 'c_int4range', type: 'int4range', values: ["'[1,10)'", "'empty'", "'(,5]'"] },
  { column: 'c_int8range', type: 'int8range', values: ["'[1,9223372036854775807)'", "'(,)'"] },
  { column: 'c_numrange', type: 'numrange', values: ["'(1.5,2.25]'", "'[,)'", "'[-1e-3,0]'"] },
  { column: 'c_daterange', type: 'daterange', values: ["'[2024-01-01,infinity)'", "'[2024-01-01,2024-01-01]'"] },
  { column: 'c_tsrange', type: 'tsrange', values: [`'["2024-01-01 12:00","2024-01-02 00:00:00.5")'`] },
  { column: 'c_tstzrange', type: 'tstzrange', values: ["'[2024-01-01 00:00:00+00,infinity)'"] },
  { column: 'c_int4range_arr', type: 'int4range[]', values: [`'{"[1,3)",empty,NULL}'`], parsedArray: true },
  { column: 'c_int4multirange', type: 'int4multirange', values: ["'{[1,3),[5,7)}'", "'{}'"] },
  { column: 'c_nummultirange', type: 'nummultirange', values: ["'{(1.5,2],[3,)}'"] },
  { column: 'c_datemultirange', type: 'datemultirange', values: ["'{[2024-01-01,2024-02-01)}'"] },
  { column: 'c_tstzmultirange', type: 'tstzmultirange', values: ["'{[2024-01-01 00:00:00+00,2024-02-01 00:00:00+00)}'"] },
  { column: 'c_regclass', type: 'regclass', values: ["'pg_class'", "'pg_catalog.pg_type'"], binaryOid: true },
  { column: 'c_regtype', type: 'regtype', values: ["'int4'", "'timestamp with time zone'"], binaryOid: true },
  { column: 'c_regproc', type: 'regproc', values: ["'now'", "'int4in'"], binaryOid: true },
  { column: 'c_regclass_arr', type: 'regclass[]', values: ["ARRAY['pg_class'::regclass, NULL, 'pg_type']"], binaryOid: true, parsedArray: true },
  { column: 'c_mood', type: 'mood', values: ["'happy'", "'sad'", "'with space'"] },
  { column: 'c_pair', type: 'pair', values: ["ROW(1, 'x y', 1.5, 'happy')", "ROW(NULL, '', NULL, NULL)", `ROW(-2, 'q"uote\\', 0, 'sad')`] },
  { column: 'c_pair_arr', type: 'pair[]', values: [`'{"(1,a,2,sad)",NULL,"(,\\"b c\\",,)"}'`] },
  { column: 'c_intarr', type: 'intarr', values: ["'{1,2,NULL}'", "'{}'"] },
  { column: 'c_hstore', type: 'hstore', values: [`'a=>1, "b c"=>NULL, "q\\\\"=>"x\\"y"'`, "''"] },
  { column: 'c_citext', type: 'citext', values: ["'MixedCase'"] },
  { column: 'c_posint', type: 'posint', values: ['1', '2147483647'] },
  { column: 'c_email', type: 'email', values: ["'a@b.c'"] },
  { column: 'c_int4_arr', type: 'int4[]', values: ["'{}'", "'{1,NULL,3}'", "'{{1,2},{3,NULL}}'", "'{{{1},{2}},{{3},{4}}}'", "'[0:1]={7,8}'"] },
  { column: 'c_int8_arr', type: 'int8[]', values: ["'{9223372036854775807,NULL,-9223372036854775808}'"] },
  { column: 'c_text_arr', type: 'text[]', values: [`'{"a,b","c\\"d","NULL",NULL,"",e}'`, "'{{a,b},{c,d}}'", `'{"{}"," x "}'`] },
  { column: 'c_numeric_arr', type: 'numeric[]', values: ["'{1.50,NaN,Infinity,-0.001,NULL,123456789012345678901234567890}'"] },
  { column: 'c_float8_arr', type: 'float8[]', values: ["'{1.1,NaN,-Infinity,-0,NULL}'"] },
  { column: 'c_float4_arr', type: 'float4[]', values: ["'{1.1,NaN,-0}'"] },
  { column: 'c_bool_arr', type: 'bool[]', values: ["'{t,f,NULL}'"] },
  { column: 'c_date_arr', type: 'date[]', values: ["'{2024-01-01,infinity,NULL}'"] },
  { column: 'c_timestamptz_arr', type: 'timestamptz[]', values: [`'{"2024-01-01 12:00:00.123456+00",-infinity,NULL}'`] },
  { column: 'c_timestamp_arr', type: 'timestamp[]', values: [`'{{"2024-01-01 12:00:00",NULL},{"1999-12-31 23:59:59.5",infinity}}'`] },
  { column: 'c_bytea_arr', type: 'bytea[]', values: [`'{"\\\\xdead",NULL,"\\\\x"}'`] },
  { column: 'c_jsonb_arr', type: 'jsonb[]', values: [`ARRAY['{"a":1}'::jsonb, NULL, '[1,2]'::jsonb]`] },
  { column: 'c_json_arr', type: 'json[]', values: [`ARRAY['{"a": 1}'::json, 'null'::json]`] },
  { column: 'c_uuid_arr', type: 'uuid[]', values: ["'{a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11,NULL}'"] },
  { column: 'c_interval_arr', type: 'interval[]', values: [`'{"1 day","-00:00:01",NULL}'`] },
  { column: 'c_inet_arr', type: 'inet[]', values: ["'{10.0.0.1/8,::1,NULL}'"] },
  { column: 'c_varchar_arr', type: 'varchar[]', values: ["'{a,b}'"] },
  { column: 'c_bpchar_arr', type: 'char(2)[]', values: ["'{a,bc}'"] },
  { column: 'c_name_arr', type: 'name[]', values: ["'{a,b}'"] },
  { column: 'c_time_arr', type: 'time[]', values: ["'{12:00:00,NULL}'"] },
  { column: 'c_timetz_arr', type: 'timetz[]', values: ["'{12:00:00+01,NULL}'"] },
  { column: 'c_int2_arr', type: 'int2[]', values: ["'{{1,2,3},{4,5,6}}'"] },
  { column: 'c_macaddr_arr', type: 'macaddr[]', values: ["'{08:00:2b:01:02:03}'"] },
  { column: 'c_mood_arr', type: 'mood[]', values: ["'{happy,NULL,\"with space\"}'"] },
];

/** SQL that creates the user types the cases use (an enum, a composite, domains over base and array types, hstore, citext). */
export function createUserTypesSql(suffix: string): { sql: string; rename: (type: string) => string } {
  const names: Record<string, string> = { mood: `mood_${suffix}`, posint: `posint_${suffix}`, email: `email_${suffix}`, pair: `pair_${suffix}`, intarr: `intarr_${suffix}` };
  return {
    sql: [
      'CREATE EXTENSION IF NOT EXISTS hstore',
      'CREATE EXTENSION IF NOT EXISTS citext',
      `CREATE TYPE ${names.mood} AS ENUM ('happy', 'sad', 'with space')`,
      `CREATE DOMAIN ${names.posint} AS int4 CHECK (VALUE > 0)`,
      `CREATE DOMAIN ${names.email} AS text CHECK (VALUE LIKE '%@%')`,
      `CREATE TYPE ${names.pair} AS (a int4, b text, n numeric, m ${names.mood})`,
      `CREATE DOMAIN ${names.intarr} AS int4[]`,
    ].join('; '),
    rename: (type) => type.replace(/^(mood|posint|email|pair|intarr)\b/, (m) => names[m]),
  };
}
