// The operator lives with the base backup code in src/physical, which backupToDirectory builds on;
// this file keeps it among the operators (`pg-walstream/operators`).
export { writeBaseBackup, type WriteBaseBackupOptions } from '../src/physical/write-base-backup';
