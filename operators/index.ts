export { parsePgoutput } from './parse-pgoutput';
export type { ParsePgoutputOptions } from './parse-pgoutput';
export { forTable } from './for-table';
