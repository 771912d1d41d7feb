import { parseBackendMessage } from '../../src/wire/backend-messages';

/** A body from hex and strings (strings are written with their terminating zero when `z`). */
const body = (...parts: (string | Buffer)[]) => Buffer.concat(parts.map((p) => (typeof p === 'string' ? Buffer.from(p, 'hex') : p)));
const z = (s: string) => Buffer.from(`${s}\0`, 'utf8');
const parse = (code: string, b: Buffer) => parseBackendMessage(code.charCodeAt(0), b, 0, b.length);

// "Message Formats" in PostgreSQL's protocol docs, one test per message the connection reads.
describe('parseBackendMessage', () => {
  it('ErrorResponse: every field by its code, the unlocalized severity in V', () => {
    const msg = parse('E', body(Buffer.from('S'), z('FATAL'), Buffer.from('V'), z('FATAL'), Buffer.from('C'), z('28P01'), Buffer.from('M'), z('password authentication failed for user "x"'), Buffer.from('R'), z('auth_failed'), '00'));
    expect(msg).toEqual({ name: 'error', fields: { S: 'FATAL', V: 'FATAL', C: '28P01', M: 'password authentication failed for user "x"', R: 'auth_failed' } });
  });

  it('RowDescription and DataRow: column names, text values and NULL', () => {
    const field = (name: string) => body(z(name), '00000000' + '0000' + '00000019' + 'ffff' + 'ffffffff' + '0000');
    expect(parse('T', body('0002', field('systemid'), field('timeline')))).toEqual({ name: 'rowDescription', fields: ['systemid', 'timeline'] });
    expect(parse('D', body('0003', '00000002', Buffer.from('42'), 'ffffffff', '00000000'))).toEqual({ name: 'dataRow', fields: ['42', null, ''] });
  });

  it('Authentication requests: ok, cleartext, MD5 with its salt, SASL mechanisms, continue and final data', () => {
    expect(parse('R', body('00000000'))).toEqual({ name: 'authenticationOk' });
    expect(parse('R', body('00000003'))).toEqual({ name: 'authenticationCleartextPassword' });
    expect(parse('R', body('00000005', '01020304'))).toEqual({ name: 'authenticationMD5Password', salt: Buffer.from('01020304', 'hex') });
    expect(parse('R', body('0000000a', z('SCRAM-SHA-256-PLUS'), z('SCRAM-SHA-256'), '00'))).toEqual({ name: 'authenticationSASL', mechanisms: ['SCRAM-SHA-256-PLUS', 'SCRAM-SHA-256'] });
    expect(parse('R', body('0000000b', Buffer.from('r=abc,s=def,i=4096')))).toEqual({ name: 'authenticationSASLContinue', data: 'r=abc,s=def,i=4096' });
    expect(parse('R', body('0000000c', Buffer.from('v=xyz')))).toEqual({ name: 'authenticationSASLFinal', data: 'v=xyz' });
  });

  it('ParameterStatus, CommandComplete and the COPY responses', () => {
    expect(parse('S', body(z('server_version'), z('18.1')))).toEqual({ name: 'parameterStatus', parameterName: 'server_version', parameterValue: '18.1' });
    expect(parse('C', body(z('COPY 0')))).toEqual({ name: 'commandComplete', text: 'COPY 0' });
    expect(parse('W', body('00', '0000'))).toEqual({ name: 'copyBothResponse' });
    expect(parse('H', body('00', '0000'))).toEqual({ name: 'copyOutResponse' });
    expect(parse('c', body())).toEqual({ name: 'copyDone' });
  });

  it('a truncated body is a ProtocolError, never a read past the message', () => {
    expect(() => parse('D', body('0001', '00000005', Buffer.from('ab')))).toThrow(/truncated/);
    expect(() => parse('C', Buffer.from('COPY'))).toThrow(/no terminator/);
    // The terminator must lie inside the message, not in the bytes after it.
    const buf = body(Buffer.from('COPY'), '00');
    expect(() => parseBackendMessage(0x43, buf, 0, 4)).toThrow(/no terminator/);
  });
});
