/**
 * Credentials never reach the logs: pino's redaction of every documented path, URLs with
 * userinfo (a NATS URL `nats://user:password@host`) redacted, and the real `event-mesh
 * adapter` process, started with a Kafka password and with a NATS URL carrying one, logging
 * at debug level while the channel is unreachable, never prints them.
 */
import { Writable } from 'node:stream';
import { createLogger, REDACT_PATHS, redactUrlCredentials } from '../../runtime/observability';
import { builtCli, spawnCli } from '../support/cli-process';
import type { CliProcess } from '../support/cli-process';
import { freePort } from '../support/nats-server';

const SECRET = 's3cr3t-value-42';

function capture() {
  let text = '';
  const stream = new Writable({
    write(chunk, _enc, cb) {
      text += chunk.toString();
      cb();
    },
  });
  return { logger: createLogger({ name: 't', level: 'debug', destination: stream }), text: () => text };
}

test('every documented credential path is redacted', () => {
  const { logger, text } = capture();
  logger.info({ password: SECRET }, 'a');
  logger.info({ kafka: { password: SECRET } }, 'b');
  logger.info({ sasl: { password: SECRET } }, 'c');
  logger.info({ headers: { authorization: `Bearer ${SECRET}`, cookie: `s=${SECRET}` } }, 'd');
  logger.info({ req: { headers: { authorization: `Basic ${SECRET}`, cookie: SECRET } } }, 'e');
  logger.info({ kafkaPassword: SECRET, config: { kafkaPassword: SECRET } }, 'f');
  const lines = text().trim().split('\n');
  expect(lines).toHaveLength(6);
  expect(text()).not.toContain(SECRET);
  expect(text().match(/\[redacted\]/g)?.length).toBe(9);
  expect(REDACT_PATHS).toEqual(expect.arrayContaining(['password', '*.password', 'headers.authorization', 'req.headers.authorization', 'kafkaPassword']));
});

test('URLs: the password (or a lone token) in the userinfo is redacted, the rest kept', () => {
  expect(redactUrlCredentials(`nats://user:${SECRET}@nats.example:4222`)).toBe('nats://user:[redacted]@nats.example:4222');
  expect(redactUrlCredentials(`nats://${SECRET}@nats.example:4222`)).toBe('nats://[redacted]@nats.example:4222');
  expect(redactUrlCredentials('nats://127.0.0.1:4222')).toBe('nats://127.0.0.1:4222');
  expect(redactUrlCredentials('tls://a:b@h/path?x=@y')).toBe('tls://a:[redacted]@h/path?x=@y');
  expect(redactUrlCredentials('not a url @ all')).toBe('not a url @ all');
});

describe('the adapter process never logs its credentials', () => {
  const procs: CliProcess[] = [];
  beforeAll(() => {
    builtCli();
  }, 120_000);
  afterEach(async () => {
    for (const p of procs.splice(0)) {
      p.kill('SIGKILL');
      await p.exited();
    }
  });

  test('a NATS URL with user and password, NATS unreachable, debug logs', async () => {
    const port = await freePort();
    const p = spawnCli(['adapter', '--application', 'creds', '--auth', 'none', '--port', '0', '--host', '127.0.0.1', '--log-level', 'debug'], { NATS_URL: `nats://user:${SECRET}@127.0.0.1:${port}` });
    procs.push(p);
    await p.waitForOutput(/NATS not reachable yet/);
    await p.waitForOutput(/"msg":"adapter listening"/);
    expect(p.output()).toContain(`nats://user:[redacted]@127.0.0.1:${port}`);
    expect(p.output()).not.toContain(SECRET);
  });

  test('a Kafka SASL password, Kafka unreachable, debug logs', async () => {
    const port = await freePort();
    const p = spawnCli(['adapter', '--application', 'creds', '--auth', 'none', '--channel', 'kafka', '--kafka-brokers', `127.0.0.1:${port}`, '--port', '0', '--host', '127.0.0.1', '--log-level', 'debug'], {
      KAFKA_PASSWORD: SECRET,
      KAFKA_USERNAME: 'user',
    });
    procs.push(p);
    await p.waitForOutput(/ECONNREFUSED/);
    await p.waitForOutput(/"msg":"adapter listening"/);
    expect(p.output()).not.toContain(SECRET);
  });
});
