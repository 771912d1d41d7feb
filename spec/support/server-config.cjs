// Settings and pg_hba.conf lines for the servers the tests start.
module.exports = {
  SERVER_SETTINGS: {
    wal_level: 'logical',
    max_wal_senders: '30',
    max_replication_slots: '30',
    max_prepared_transactions: '20',
    // Small, so tests can make a transaction large enough to stream.
    logical_decoding_work_mem: '64kB',
    fsync: 'off',
    wal_sender_timeout: '60s',
  },
  // Roles for the authentication tests; everyone else authenticates with scram-sha-256.
  HBA_LINES: [
    'host all walstream_md5 127.0.0.1/32 md5',
    'host all walstream_cleartext 127.0.0.1/32 password',
    'host all walstream_trust 127.0.0.1/32 trust',
    'host replication walstream_md5 127.0.0.1/32 md5',
    'host replication walstream_cleartext 127.0.0.1/32 password',
    'host replication walstream_trust 127.0.0.1/32 trust',
  ],
};
