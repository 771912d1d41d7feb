export { parsePgoutput } from './parse-pgoutput';
