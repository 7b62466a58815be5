import { describe, expect, it } from 'vitest';
import { parseRelayConfig, RelayConfigError, splitCommand } from '../../../src/relay/config.ts';

const SECRET = 'relay-config-secret-0123456789';
const base = { RELAY_SECRETS: SECRET, RELAY_ACCOUNTING_DIR: '/var/spool/pbs/server_priv/accounting' };

function configError(env: Record<string, string | undefined>): string {
  try {
    parseRelayConfig(env);
  } catch (err) {
    expect(err).toBeInstanceOf(RelayConfigError);
    return (err as Error).message;
  }
  throw new Error('expected a configuration error');
}

describe('relay configuration', () => {
  it('applies the defaults', () => {
    expect(parseRelayConfig(base)).toEqual({
      host: '127.0.0.1',
      port: 8790,
      secrets: [SECRET],
      timeZone: 'UTC',
      maxWindowDays: 31,
      parseThreads: 2,
      accounting: { dir: '/var/spool/pbs/server_priv/accounting' },
    });
    expect(parseRelayConfig({ ...base, RELAY_PARSE_THREADS: '0' }).parseThreads).toBe(0);
    expect(() => parseRelayConfig({ ...base, RELAY_PARSE_THREADS: '17' })).toThrow(/RELAY_PARSE_THREADS/);
  });

  it('reads every source and splits the qstat command into argv', () => {
    const config = parseRelayConfig({
      RELAY_SECRETS: `${SECRET}, ${SECRET}-next`,
      RELAY_PORT: '9000',
      RELAY_HOST: '0.0.0.0',
      RELAY_TLS_CERT: '/etc/zeus-relay/tls/relay.crt',
      RELAY_TLS_KEY: '/etc/zeus-relay/tls/relay.key',
      RELAY_TIMEZONE: 'Europe/Prague',
      RELAY_MAX_WINDOW_DAYS: '7',
      RELAY_QSTAT_COMMAND: `/opt/pbs/bin/qstat -x -f -F json -s 'a b'`,
      RELAY_ACCOUNTING_DB_URL: 'postgresql://relay:pw@db.example/acct',
      RELAY_ACCOUNTING_DB_QUERY: 'select * from jobs where "end" >= $1 and "end" < $2;\n',
    });
    expect(config).toMatchObject({
      host: '0.0.0.0',
      tls: { certFile: '/etc/zeus-relay/tls/relay.crt', keyFile: '/etc/zeus-relay/tls/relay.key' },
      port: 9000,
      secrets: [SECRET, `${SECRET}-next`],
      timeZone: 'Europe/Prague',
      maxWindowDays: 7,
      qstat: { argv: ['/opt/pbs/bin/qstat', '-x', '-f', '-F', 'json', '-s', 'a b'] },
      db: { url: 'postgresql://relay:pw@db.example/acct', query: 'select * from jobs where "end" >= $1 and "end" < $2' },
    });
    expect(config.accounting).toBeUndefined();
  });

  it('names the bad key and never prints a secret or a connection string', () => {
    const short = 'short-secret';
    const message = configError({ ...base, RELAY_SECRETS: `${SECRET},${short}` });
    expect(message).toMatch(/RELAY_SECRETS.*at least 16 characters/);
    expect(message).not.toContain(short);
    expect(message).not.toContain(SECRET);

    expect(configError({ RELAY_ACCOUNTING_DIR: '/x' })).toMatch(/RELAY_SECRETS: is required/);
    expect(configError({ ...base, RELAY_PORT: '70000' })).toMatch(/RELAY_PORT/);
    expect(configError({ ...base, RELAY_TIMEZONE: 'Mars/Olympus' })).toMatch(/RELAY_TIMEZONE: must be an IANA time zone/);
    expect(configError({ ...base, RELAY_MAX_WINDOW_DAYS: '0' })).toMatch(/RELAY_MAX_WINDOW_DAYS/);

    const url = 'mysql://user:hunter2@db/acct';
    const bad = configError({ ...base, RELAY_ACCOUNTING_DB_URL: url, RELAY_ACCOUNTING_DB_QUERY: 'select 1' });
    expect(bad).toMatch(/RELAY_ACCOUNTING_DB_URL: must be a postgres/);
    expect(bad).not.toContain('hunter2');
  });

  it('wants the database URL and query together, and at least one source', () => {
    expect(configError({ ...base, RELAY_ACCOUNTING_DB_URL: 'postgres://h/db' })).toMatch(/RELAY_ACCOUNTING_DB_QUERY: is required/);
    expect(configError({ ...base, RELAY_ACCOUNTING_DB_QUERY: 'select 1' })).toMatch(/RELAY_ACCOUNTING_DB_URL: is required/);
    expect(configError({ ...base, RELAY_ACCOUNTING_DB_URL: 'postgres://h/db', RELAY_ACCOUNTING_DB_QUERY: 'select $3' })).toMatch(
      /only \$1 \(from\) and \$2 \(to\)/,
    );
    expect(configError({ RELAY_SECRETS: SECRET })).toMatch(/at least one source/);
    // empty is unset
    expect(configError({ RELAY_SECRETS: SECRET, RELAY_ACCOUNTING_DIR: '', RELAY_QSTAT_COMMAND: ' ' })).toMatch(/at least one source/);
  });

  it('refuses shell syntax in the qstat command: nothing would interpret it', () => {
    expect(configError({ ...base, RELAY_QSTAT_COMMAND: 'qstat -x -f -F json | grep F' })).toMatch(/RELAY_QSTAT_COMMAND: runs without a shell: '\|'/);
    expect(() => splitCommand(`qstat 'unbalanced`)).toThrow(/unbalanced/);
    expect(() => splitCommand('qstat $HOME')).toThrow(/without a shell/);
    expect(splitCommand(`a "b \\"c\\" d" e\\ f '$x|y'`)).toEqual(['a', 'b "c" d', 'e f', '$x|y']);
    expect(splitCommand(`  qstat   ''  `)).toEqual(['qstat', '']);
  });
});
