/**
 * `pg-walstream/values`: column values beyond the defaults of `parsePgoutput`: the type registry
 * and its parsers, binary values, typed row mapping, relation keys, the columns an UPDATE changed,
 * and the JSON form of messages that the CLI prints.
 *
 * @packageDocumentation
 * @module pg-walstream/values
 */

/* Type parsers (text and binary) */
export {
  TypeRegistry,
  JSON_NULL,
  type JsonNull,
  type TypeOptions,
  type TypeParser,
  type TextParser,
  type BinaryParser,
  type AnnouncedType,
} from './registry';
export { BinaryValue } from './binary';
export type { ValueAt } from './at';

/* Typed rows */
export {
  mapRow,
  type RowMapper,
  type RowSchema,
  type RowOf,
  type RowWithToastOf,
  type Field,
  type FieldSpec,
  type FieldType,
  type MapRowOptions,
  type FieldValue,
  type TypeOf,
} from './map-row';
export { RowMappingError, type RowMappingProblem } from './errors';

/* Messages and tables */
export { relationKey, isChangeOf } from './relation-key';
export { updatedValues } from './updated-values';

/* JSON: one message as one JSON object (the CLI's output format, docs/json-output.md) */
export { messageToJson, jsonValue, JSON_TYPE_OPTIONS, type JsonRecord, type MessageToJsonOptions } from '../json';
