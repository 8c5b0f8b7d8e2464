/**
 * The `event-mesh` command line: parsing (flags, env, defaults), --help for every command
 * listing every option with its env var and default, and clear exit-2 errors.
 */
import { COMMANDS, helpText, OPTIONS, parseCommandLine, UsageError } from '../../runtime/cli';
import { spawnCli } from '../support/cli-process';

describe('parseCommandLine', () => {
  it('applies defaults, env and flags in that order of precedence', () => {
    const defaults = parseCommandLine(['dispatcher'], {}).config!;
    expect(defaults).toMatchObject({
      port: 8080,
      channel: 'nats',
      natsUrl: 'nats://127.0.0.1:4222',
      routing: '/etc/event-mesh/routing',
      systemNamespace: 'event-mesh-system',
      clusterDomain: 'cluster.local',
      shutdownGraceMs: 25_000,
      maxBodyBytes: 65_536,
      streamMaxAgeMs: 24 * 3_600_000,
      channelMaxInactivityMs: 48 * 3_600_000,
      kafkaTls: true,
      kafkaUsername: '$ConnectionString',
    });
    const env = { PORT: '9000', ROUTING_DIR: '/r', SHUTDOWN_GRACE: 'PT3S', EVENT_MESH_CHANNEL: 'inmemory' };
    expect(parseCommandLine(['dispatcher'], env).config).toMatchObject({ port: 9000, routing: '/r', shutdownGraceMs: 3000, channel: 'inmemory' });
    expect(parseCommandLine(['dispatcher', '--port', '9100', '--shutdown-grace', '1m'], env).config).toMatchObject({ port: 9100, shutdownGraceMs: 60_000 });
  });

  it('--fan-out / FAN_OUT: unset leaves the choice to the channel; true or false as given', () => {
    expect(parseCommandLine(['dispatcher'], {}).config!.fanOut).toBeUndefined();
    expect(parseCommandLine(['dispatcher'], { FAN_OUT: 'false' }).config!.fanOut).toBe(false);
    expect(parseCommandLine(['dispatcher', '--fan-out', 'true'], { FAN_OUT: 'false' }).config!.fanOut).toBe(true);
    expect(() => parseCommandLine(['dispatcher', '--fan-out', 'maybe'], {})).toThrow(/fan-out.*true or false/);
    expect(() => parseCommandLine(['adapter', '--fan-out', 'true'], {})).toThrow(UsageError);
  });

  it('dev defaults to the in-memory channel and takes --nats, --map (repeatable) and a directory', () => {
    const parsed = parseCommandLine(['dev', 'out', '--map', 'a.b=http://x:1', '--map', 'c=http://y:2'], {});
    expect(parsed.positionals).toEqual(['out']);
    expect(parsed.config).toMatchObject({ channel: 'inmemory', host: '127.0.0.1', map: ['a.b=http://x:1', 'c=http://y:2'] });
    expect(parseCommandLine(['dev', '--nats', 'nats://127.0.0.1:5222'], {}).config).toMatchObject({ channel: 'nats', natsUrl: 'nats://127.0.0.1:5222' });
    expect(parseCommandLine(['dev'], { EVENT_MESH_MAP: 'a=http://x:1,b.c=http://y:2' }).config!.map).toEqual(['a=http://x:1', 'b.c=http://y:2']);
  });

  it('adapter requires an application; kafka requires brokers', () => {
    expect(() => parseCommandLine(['adapter'], {})).toThrow(/--application \(or APPLICATION_NAME\) is required/);
    expect(parseCommandLine(['adapter'], { APPLICATION_NAME: 'commerce', AUTH: 'none' }).config!.application).toBe('commerce');
    expect(() => parseCommandLine(['dispatcher', '--channel', 'kafka'], {})).toThrow(/--kafka-brokers/);
    expect(parseCommandLine(['dispatcher', '--channel', 'kafka', '--kafka-brokers', 'a:9093, b:9093'], { KAFKA_PASSWORD: 's' }).config).toMatchObject({ kafkaBrokers: ['a:9093', 'b:9093'], kafkaPassword: 's' });
  });

  it('adapter defaults to mtls and names the missing file flags; token needs a tokens file', () => {
    expect(() => parseCommandLine(['adapter'], { APPLICATION_NAME: 'commerce' }))
      .toThrow(/--auth mtls \(the default\) needs --tls-cert-file, --tls-key-file, --client-ca-file \(or TLS_CERT_FILE, TLS_KEY_FILE, CLIENT_CA_FILE\).*--auth none/);
    expect(() => parseCommandLine(['adapter', '--tls-cert-file', 'c.pem', '--tls-key-file', 'k.pem'], { APPLICATION_NAME: 'commerce' }))
      .toThrow(/needs --client-ca-file \(or CLIENT_CA_FILE\)/);
    expect(parseCommandLine(['adapter', '--tls-cert-file', 'c.pem', '--tls-key-file', 'k.pem', '--client-ca-file', 'ca.pem', '--trusted-proxies', '10.0.0.1, 10.1.0.0/16'], { APPLICATION_NAME: 'commerce', CLIENT_IDENTITY: 'uri:spiffe://m/commerce' }).config)
      .toMatchObject({ auth: 'mtls', tlsCertFile: 'c.pem', clientCaFile: 'ca.pem', clientIdentity: 'uri:spiffe://m/commerce', trustedProxies: ['10.0.0.1', '10.1.0.0/16'] });
    expect(() => parseCommandLine(['adapter', '--auth', 'token'], { APPLICATION_NAME: 'commerce' })).toThrow(/--auth token needs --tokens-file \(or TOKENS_FILE\)/);
    expect(parseCommandLine(['adapter'], { APPLICATION_NAME: 'commerce', AUTH: 'token', TOKENS_FILE: '/t' }).config).toMatchObject({ auth: 'token', tokensFile: '/t' });
    expect(() => parseCommandLine(['adapter', '--auth', 'basic'], { APPLICATION_NAME: 'commerce' })).toThrow(/--auth must be none, mtls or token, got "basic"/);
    expect(parseCommandLine(['dev'], {}).config!.auth).toBe('none');
    expect(() => parseCommandLine(['dev', '--auth', 'token'], {})).toThrow(/--auth must be none or mtls/);
  });

  it('adapter --help documents the auth flags with their variables', () => {
    const help = helpText('adapter');
    for (const [flag, env] of [['auth', 'AUTH'], ['tls-cert-file', 'TLS_CERT_FILE'], ['tls-key-file', 'TLS_KEY_FILE'], ['client-ca-file', 'CLIENT_CA_FILE'],
      ['client-identity', 'CLIENT_IDENTITY'], ['tokens-file', 'TOKENS_FILE'], ['trusted-proxies', 'TRUSTED_PROXIES'], ['probe-port', 'PROBE_PORT']]) {
      expect(help).toMatch(new RegExp(`--${flag} <value>\\n.*\\n\\s+env ${env};`));
    }
    expect(help).toMatch(/env AUTH; default mtls/);
  });

  it.each([
    [['dispatcher', '--port', 'abc'], /--port must be a port number from 0 to 65535, got "abc"/],
    [['dispatcher', '--shutdown-grace', '10 seconds'], /--shutdown-grace must be a duration/],
    [['dispatcher', '--log-level', 'loud'], /--log-level must be fatal, error/],
    [['dispatcher', '--channel', 'rabbit'], /--channel must be nats, kafka, pubsub or inmemory/],
    [['dispatcher', '--max-body-bytes', '0'], /--max-body-bytes must be a whole number of at least 1/],
    [['dispatcher', '--kafka-tls', 'maybe'], /--kafka-tls must be true or false/],
    [['dev', '--map', 'nonsense'], /--map must be service\[\.namespace\]=http/],
    [['dispatcher', '--bogus', '1'], /Unknown option '--bogus'/],
    [['dispatcher', '--application', 'x'], /Unknown option '--application'/],
    [['dispatcher', 'extra'], /unexpected argument "extra"/],
    [['serve'], /unknown command "serve"/],
  ])('rejects %j', (argv, message) => {
    expect(() => parseCommandLine(argv as string[], {})).toThrow(UsageError);
    expect(() => parseCommandLine(argv as string[], {})).toThrow(message);
  });

  it('names the environment variable when the bad value came from there', () => {
    expect(() => parseCommandLine(['dispatcher'], { PORT: '70000' })).toThrow(/PORT \(environment\) must be a port number/);
    expect(() => parseCommandLine(['dispatcher'], { STREAM_MAX_AGE: 'forever' })).toThrow(/STREAM_MAX_AGE \(environment\) must be a duration/);
  });

  it('help documents every option of every command with its env var and default', () => {
    for (const command of COMMANDS) {
      const text = helpText(command);
      for (const o of OPTIONS.filter((x) => x.commands.includes(command))) {
        if (o.flag) expect(text).toContain(`--${o.flag} <value>`);
        expect(text).toContain(`env ${o.env}; default `);
      }
    }
    expect(helpText()).toMatch(/adapter[\s\S]*dispatcher[\s\S]*dev/);
  });
});

describe('event-mesh (process)', () => {
  it.each([...COMMANDS])('%s --help lists every option', async (command) => {
    const p = spawnCli([command, '--help']);
    expect(await p.exited()).toBe(0);
    const out = p.output();
    for (const o of OPTIONS.filter((x) => x.commands.includes(command))) {
      if (o.flag) expect(out).toContain(`--${o.flag}`);
      expect(out).toContain(o.env);
    }
  });

  it('a bad flag value exits 2 with a message naming the flag, not a stack trace', async () => {
    const p = spawnCli(['dispatcher', '--port', 'eighty']);
    expect(await p.exited()).toBe(2);
    expect(p.output()).toMatch(/^error: --port must be a port number from 0 to 65535, got "eighty"\n$/);
    const q = spawnCli(['adapter', '--nope']);
    expect(await q.exited()).toBe(2);
    expect(q.output()).toMatch(/Unknown option '--nope'/);
    expect(q.output()).not.toMatch(/\n\s+at /);
  });

  it('without a command prints the usage', async () => {
    const p = spawnCli([]);
    expect(await p.exited()).toBe(0);
    expect(p.output()).toMatch(/Usage: event-mesh <command>/);
  });
});
