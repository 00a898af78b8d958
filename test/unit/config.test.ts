import { describe, expect, it } from 'vitest';
import { DEV_ENV_VARS, loadDevConfig } from '../../dev/config.js';
import { ConfigError, KNOWN_ENV_VARS, describeConfig, loadWorkerConfig, shutdownForceMs } from '../../worker/config.js';

const TOKEN = 'rbx_live_5a4b3c2d1e0f9a8b7c6d5e4f3a2b1c0d';

function configError(env: Record<string, string | undefined>): ConfigError {
  try {
    loadWorkerConfig(env);
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return err as ConfigError;
  }
  throw new Error(`expected ${JSON.stringify(Object.keys(env))} to be rejected`);
}

describe('loadWorkerConfig', () => {
  it('applies the defaults when only the token is set', () => {
    const c = loadWorkerConfig({ RIGBOX_TOKEN: TOKEN });
    expect(c).toMatchObject({
      RIGBOX_API_URL: 'https://api.rigbox.dev/api',
      RIGBOX_TOKEN: TOKEN,
      RIGSNAP_TASK_QUEUE: 'rigbox-snapshots',
      RIGSNAP_MAX_CONCURRENT_ACTIVITIES: 200,
      RIGSNAP_MAX_CONCURRENT_WORKFLOW_TASKS: 40,
      RIGSNAP_MAX_CACHED_WORKFLOWS: 250,
      RIGSNAP_RIGBOX_CALLS_PER_SECOND: 50,
      RIGSNAP_POLL_MIN_MS: 250,
      RIGSNAP_POLL_MAX_MS: 15_000,
      RIGSNAP_MAX_WAIT_MS: 600_000,
      RIGSNAP_METRICS_PORT: 9464,
      RIGSNAP_METRICS_HOST: '127.0.0.1',
      RIGSNAP_METRICS_REFRESH_MS: 60_000,
      RIGSNAP_UI_URL: 'http://localhost:8233',
      RIGSNAP_SHUTDOWN_GRACE_MS: 30_000,
      RIGSNAP_LOG_LEVEL: 'INFO',
      RIGSNAP_LOG_FORMAT: 'text',
    });
    expect(c.RIGSNAP_NOTIFY_URL).toBeUndefined();
  });

  it('treats an empty variable as unset (compose passes VAR= through)', () => {
    const c = loadWorkerConfig({ RIGBOX_TOKEN: TOKEN, RIGSNAP_METRICS_PORT: '', RIGBOX_API_URL: '' });
    expect(c.RIGSNAP_METRICS_PORT).toBe(9464);
    expect(c.RIGBOX_API_URL).toBe('https://api.rigbox.dev/api');
  });

  it('parses given values into numbers and normalised URLs', () => {
    const c = loadWorkerConfig({
      RIGBOX_TOKEN: TOKEN,
      RIGBOX_API_URL: 'http://127.0.0.1:8787/api/',
      RIGSNAP_RIGBOX_CALLS_PER_SECOND: '2.5',
      RIGSNAP_METRICS_PORT: '0',
      RIGSNAP_LOG_LEVEL: 'DEBUG',
    });
    expect(c.RIGBOX_API_URL).toBe('http://127.0.0.1:8787/api');
    expect(c.RIGSNAP_RIGBOX_CALLS_PER_SECOND).toBe(2.5);
    expect(c.RIGSNAP_METRICS_PORT).toBe(0);
    expect(c.RIGSNAP_LOG_LEVEL).toBe('DEBUG');
  });

  it.each([
    ['a missing token', {}, 'RIGBOX_TOKEN'],
    ['a token with whitespace', { RIGBOX_TOKEN: 'abc def' }, 'RIGBOX_TOKEN'],
    ['a bad URL', { RIGBOX_TOKEN: TOKEN, RIGBOX_API_URL: 'api.rigbox.dev/api' }, 'RIGBOX_API_URL'],
    ['a non-http URL', { RIGBOX_TOKEN: TOKEN, RIGBOX_API_URL: 'ftp://api.rigbox.dev/api' }, 'RIGBOX_API_URL'],
    ['a non-numeric port', { RIGBOX_TOKEN: TOKEN, RIGSNAP_METRICS_PORT: 'ninety' }, 'RIGSNAP_METRICS_PORT'],
    ['a port out of range', { RIGBOX_TOKEN: TOKEN, RIGSNAP_METRICS_PORT: '70000' }, 'RIGSNAP_METRICS_PORT'],
    ['a negative rate', { RIGBOX_TOKEN: TOKEN, RIGSNAP_RIGBOX_CALLS_PER_SECOND: '-5' }, 'RIGSNAP_RIGBOX_CALLS_PER_SECOND'],
    ['a negative grace period', { RIGBOX_TOKEN: TOKEN, RIGSNAP_SHUTDOWN_GRACE_MS: '-1' }, 'RIGSNAP_SHUTDOWN_GRACE_MS'],
    ['a fractional concurrency', { RIGBOX_TOKEN: TOKEN, RIGSNAP_MAX_CONCURRENT_ACTIVITIES: '1.5' }, 'RIGSNAP_MAX_CONCURRENT_ACTIVITIES'],
    ['a bad task queue', { RIGBOX_TOKEN: TOKEN, RIGSNAP_TASK_QUEUE: 'has space' }, 'RIGSNAP_TASK_QUEUE'],
    ['a bad notify URL', { RIGBOX_TOKEN: TOKEN, RIGSNAP_NOTIFY_URL: 'hooks.example.com' }, 'RIGSNAP_NOTIFY_URL'],
    ['an unknown log level', { RIGBOX_TOKEN: TOKEN, RIGSNAP_LOG_LEVEL: 'LOUD' }, 'RIGSNAP_LOG_LEVEL'],
    ['an unknown log format', { RIGBOX_TOKEN: TOKEN, RIGSNAP_LOG_FORMAT: 'xml' }, 'RIGSNAP_LOG_FORMAT'],
    ['a poll minimum above the maximum', { RIGBOX_TOKEN: TOKEN, RIGSNAP_POLL_MIN_MS: '5000', RIGSNAP_POLL_MAX_MS: '1000' }, 'RIGSNAP_POLL_MIN_MS'],
    // A request that may outlast its activity attempt (1 minute) would be cut off by Temporal first.
    ['a request timeout the activity attempt cannot wait for', { RIGBOX_TOKEN: TOKEN, RIGSNAP_REQUEST_TIMEOUT_MS: '90000' }, 'RIGSNAP_REQUEST_TIMEOUT_MS'],
    ['a poll minimum not below the maximum wait', { RIGBOX_TOKEN: TOKEN, RIGSNAP_POLL_MIN_MS: '5000', RIGSNAP_MAX_WAIT_MS: '5000' }, 'RIGSNAP_MAX_WAIT_MS'],
  ])('rejects %s, naming the variable', (_what, env, variable) => {
    expect(configError(env).message).toContain(variable);
  });

  it('reads the old name of the quota, RIGSNAP_ACTIVITIES_PER_SECOND, as the new one when only it is set', () => {
    expect(loadWorkerConfig({ RIGBOX_TOKEN: TOKEN, RIGSNAP_ACTIVITIES_PER_SECOND: '7' }).RIGSNAP_RIGBOX_CALLS_PER_SECOND).toBe(7);
    expect(
      loadWorkerConfig({ RIGBOX_TOKEN: TOKEN, RIGSNAP_ACTIVITIES_PER_SECOND: '7', RIGSNAP_RIGBOX_CALLS_PER_SECOND: '9' }).RIGSNAP_RIGBOX_CALLS_PER_SECOND,
    ).toBe(9);
  });

  it('names every bad variable at once', () => {
    const message = configError({ RIGBOX_API_URL: 'nope', RIGSNAP_METRICS_PORT: 'x', RIGSNAP_POLL_GROWTH: '9' }).message;
    for (const v of ['RIGBOX_TOKEN', 'RIGBOX_API_URL', 'RIGSNAP_METRICS_PORT', 'RIGSNAP_POLL_GROWTH']) expect(message).toContain(v);
  });

  it('echoes a bad value so the operator sees what was read, but never the token', () => {
    const message = configError({ RIGBOX_TOKEN: `${TOKEN} trailing`, RIGSNAP_METRICS_PORT: 'ninety' }).message;
    expect(message).toContain('"ninety"');
    expect(message).toContain('RIGBOX_TOKEN');
    expect(message).not.toContain(TOKEN);
  });

  it('never puts the token in the printable configuration', () => {
    const printable = JSON.stringify(describeConfig(loadWorkerConfig({ RIGBOX_TOKEN: TOKEN })));
    expect(printable).not.toContain(TOKEN);
    expect(printable).toContain('RIGBOX_TOKEN');
  });

  it('knows every schema variable and the Temporal connection variables', () => {
    expect(KNOWN_ENV_VARS).toEqual(
      expect.arrayContaining(['RIGBOX_TOKEN', 'RIGBOX_API_URL', 'RIGSNAP_RIGBOX_CALLS_PER_SECOND', 'TEMPORAL_ADDRESS', 'TEMPORAL_API_KEY']),
    );
    expect(new Set(KNOWN_ENV_VARS).size).toBe(KNOWN_ENV_VARS.length);
  });
});

describe('the shutdown force time', () => {
  it('defaults to the grace time plus 10 s, and follows a changed grace time', () => {
    expect(shutdownForceMs(loadWorkerConfig({ RIGBOX_TOKEN: 't' }))).toBe(40_000);
    expect(shutdownForceMs(loadWorkerConfig({ RIGBOX_TOKEN: 't', RIGSNAP_SHUTDOWN_GRACE_MS: '5000' }))).toBe(15_000);
    expect(shutdownForceMs(loadWorkerConfig({ RIGBOX_TOKEN: 't', RIGSNAP_SHUTDOWN_FORCE_MS: '90000' }))).toBe(90_000);
  });

  it('refuses a force time not above the grace time, naming both', () => {
    const load = () => loadWorkerConfig({ RIGBOX_TOKEN: 't', RIGSNAP_SHUTDOWN_GRACE_MS: '30000', RIGSNAP_SHUTDOWN_FORCE_MS: '30000' });
    expect(load).toThrow(ConfigError);
    expect(load).toThrow(/RIGSNAP_SHUTDOWN_FORCE_MS.*RIGSNAP_SHUTDOWN_GRACE_MS/);
  });
});

describe('loadDevConfig (npm start only)', () => {
  it('defaults to the ports the issue names and a .rigsnap directory', () => {
    expect(loadDevConfig({})).toEqual({
      RIGSNAP_DEV_DIR: '.rigsnap',
      RIGSNAP_DEV_TEMPORAL_PORT: 7233,
      RIGSNAP_DEV_UI_PORT: 8233,
      RIGSNAP_DEV_EMULATOR_PORT: 8787,
    });
  });

  it.each([
    [{ RIGSNAP_DEV_TEMPORAL_PORT: 'abc' }, 'RIGSNAP_DEV_TEMPORAL_PORT'],
    [{ RIGSNAP_DEV_UI_PORT: '-1' }, 'RIGSNAP_DEV_UI_PORT'],
    [{ RIGSNAP_DEV_EMULATOR_PORT: '65536' }, 'RIGSNAP_DEV_EMULATOR_PORT'],
    [{ RIGSNAP_DEV_UI_PORT: '7233' }, 'RIGSNAP_DEV_UI_PORT'],
  ])('rejects %j naming %s', (env, variable) => {
    expect(() => loadDevConfig(env)).toThrow(ConfigError);
    expect(() => loadDevConfig(env)).toThrow(variable);
  });

  it('is not part of what the production worker knows', () => {
    for (const v of DEV_ENV_VARS) expect(KNOWN_ENV_VARS).not.toContain(v);
  });
});
