import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ConfigError, ConfigSchema, parseConfig } from '../../src/config.ts';
import { readDevVars } from '../../src/local/settings.ts';

describe('configuration', () => {
  it('.dev.vars.example lists exactly the keys the Worker reads', () => {
    const example = readDevVars(new URL('../../.dev.vars.example', import.meta.url).pathname);
    expect(Object.keys(example).sort()).toEqual(Object.keys(ConfigSchema.shape).sort());
    expect(() => parseConfig(example)).not.toThrow();
  });

  it('wrangler.toml holds no secret', () => {
    const toml = readFileSync(new URL('../../wrangler.toml', import.meta.url), 'utf8');
    for (const key of Object.keys(ConfigSchema.shape)) expect(toml).not.toMatch(new RegExp(`^\\s*${key}\\s*=`, 'm'));
  });

  it('names the missing or bad key, never the value', () => {
    expect(() => parseConfig({})).toThrow(ConfigError);
    expect(() => parseConfig({})).toThrow(/DATABASE_URL/);
    let message = '';
    try {
      parseConfig({ DATABASE_URL: 'mysql://root:hunter2@db/x' });
    } catch (err) {
      message = (err as Error).message;
    }
    expect(message).toMatch(/DATABASE_URL: must be a postgres/);
    expect(message).not.toContain('hunter2');
  });

  it('RELAYS takes a kind: pbs by default, openstack for a cloud; source is for PBS only', () => {
    const base = {
      DATABASE_URL: 'postgresql://zeus@pglite/zeus',
      COLLECTOR_API_KEY: 'k'.repeat(16),
      ADMIN_API_KEY: 'a'.repeat(16),
      RELAY_SECRET: 's'.repeat(16),
    };
    const relays = (value: unknown[]) => parseConfig({ ...base, RELAYS: JSON.stringify(value) }).RELAYS;
    expect(relays([{ cluster: 'c', url: 'https://relay.example.org' }])).toEqual([{ cluster: 'c', url: 'https://relay.example.org', kind: 'pbs' }]);
    expect(relays([{ cluster: 'cloud', url: 'https://relay.example.org', kind: 'openstack' }])[0]!.kind).toBe('openstack');
    expect(() => relays([{ cluster: 'x', url: 'https://r.example.org', kind: 'slurm' }])).toThrow(/RELAYS\.0\.kind/);
    expect(() => relays([{ cluster: 'x', url: 'https://r.example.org', kind: 'openstack', source: 'qstat' }])).toThrow(
      /RELAYS\.0\.source: applies to kind "pbs" only/,
    );
    // mode: usage (unset) or jobs, for PBS only; anything else names the field.
    expect(relays([{ cluster: 'c', url: 'https://r.example.org', mode: 'jobs' }])[0]!.mode).toBe('jobs');
    expect(() => relays([{ cluster: 'x', url: 'https://r.example.org', mode: 'events' }])).toThrow(/RELAYS\.0\.mode/);
    expect(() => relays([{ cluster: 'x', url: 'https://r.example.org', kind: 'openstack', mode: 'usage' }])).toThrow(
      /RELAYS\.0\.mode: applies to kind "pbs" only/,
    );
  });
  it('ALERT_WEBHOOKS: a JSON array of {url, format, secret?}; a bad entry is named by its index, never by its URL or secret', () => {
    const base = { DATABASE_URL: 'postgresql://zeus@pglite/zeus', COLLECTOR_API_KEY: 'k'.repeat(16), ADMIN_API_KEY: 'a'.repeat(16) };
    const secret = `whsec_${btoa('0123456789abcdef0123456789abcdef')}`;
    expect(parseConfig(base).ALERT_WEBHOOKS).toEqual([]);
    expect(parseConfig({ ...base, ALERT_WEBHOOKS: '' }).ALERT_WEBHOOKS).toEqual([]);
    expect(
      parseConfig({
        ...base,
        ALERT_WEBHOOKS: JSON.stringify([
          { url: 'https://chat.example.org/hooks/T0/B0/xyz' },
          { url: 'https://alerts.example.org/in', format: 'json', secret },
        ]),
      }).ALERT_WEBHOOKS,
    ).toEqual([
      { url: 'https://chat.example.org/hooks/T0/B0/xyz', format: 'json' },
      { url: 'https://alerts.example.org/in', format: 'json', secret },
    ]);
    const failure = (value: string) => {
      try {
        parseConfig({ ...base, ALERT_WEBHOOKS: value });
      } catch (err) {
        return (err as Error).message;
      }
      return '';
    };
    const credentialed = 'https://bot:hunter2@chat.example.org/hooks/abc';
    const bad = failure(
      JSON.stringify([
        { url: credentialed, format: 'slack' },
        { url: credentialed, format: 'teams', secret: 'hunter3-not-whsec' },
      ]),
    );
    expect(bad).toMatch(/ALERT_WEBHOOKS\.1\.format: /);
    expect(bad).toMatch(/ALERT_WEBHOOKS\.1\.secret: must be a Standard Webhooks secret/);
    expect(bad).not.toMatch(/ALERT_WEBHOOKS\.0/);
    expect(bad).not.toContain('hunter');
    expect(failure(JSON.stringify([{ url: 'ftp://x.example.org/' }]))).toMatch(/ALERT_WEBHOOKS\.0\.url: must be an http/);
    expect(failure(JSON.stringify([{ url: 'https://x.example.org/', extra: 1 }]))).toMatch(/ALERT_WEBHOOKS\.0: /);
    expect(failure('{not json')).toMatch(/ALERT_WEBHOOKS: must be a JSON array/);
    expect(failure(JSON.stringify({ url: 'https://x.example.org/' }))).toMatch(/ALERT_WEBHOOKS: /);
    expect(parseConfig(base)).toMatchObject({ ALERT_LAG_DAYS: 2, ALERT_UNMAPPED_SHARE: 0.05 });
    expect(() => parseConfig({ ...base, ALERT_UNMAPPED_SHARE: '1.5' })).toThrow(/ALERT_UNMAPPED_SHARE/);
  });
});
