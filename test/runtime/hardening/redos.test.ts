/**
 * Inputs that cannot stall the event loop: every regular expression in runtime/ and
 * constructs/api/ (where request data is matched) is proven linear by recheck, a
 * maintained ReDoS checker (automaton analysis, no sampling); and the legacy event-type
 * check, once exponential, answers 10,000-character adversarial values at once.
 */
import * as path from 'node:path';
import { checkSync } from 'recheck';
import { LEGACY_EVENT_TYPE, legacyToCloudEvent, LegacyRequestError } from '../../../runtime/adapter/legacy';
import { scanRegexes } from '../../support/regex-scan';

const ROOT = path.resolve(__dirname, '..', '..', '..');

describe('every regular expression in the runtime is linear-time (recheck)', () => {
  const scan = scanRegexes(ROOT, ['runtime', 'constructs/api']);

  test('the scan finds the patterns, including the legacy event-type and RegExp built from constants', () => {
    expect(scan.found.length).toBeGreaterThan(30);
    expect(scan.found.map((f) => f.source)).toContain(LEGACY_EVENT_TYPE.source);
    // The media-type pattern is built with new RegExp from string constants: the scan evaluates it.
    const mediaType = scan.found.find((f) => f.where.startsWith(path.join('runtime', 'cloudevents', 'event.ts')) && f.source.startsWith("^[!#$%&'*+\\-.^_`|~0-9A-Za-z]+/"));
    expect(mediaType).toBeDefined();
    expect(new RegExp(mediaType!.source).test('text/plain; charset="utf-8"')).toBe(true);
  });

  test('no RegExp is built from a pattern the scan cannot read', () => {
    expect(scan.unresolved).toEqual([]);
  });

  test('recheck finds every pattern safe (linear)', () => {
    const unsafe = scan.found
      .map((f) => ({ f, r: checkSync(f.source, f.flags, { timeout: 10_000 }) }))
      .filter(({ r }) => r.status !== 'safe')
      .map(({ f, r }) => `${f.where} /${f.source}/${f.flags}: ${r.status}${r.status === 'vulnerable' ? ` (${r.complexity.type}, attack ${JSON.stringify(r.attack.pattern)})` : ''}`);
    expect(unsafe).toEqual([]);
  });

  test('the checker can fail: the legacy service pattern this replaced is found exponential', () => {
    const r = checkSync('^[a-zA-Z]+([_\\-.]?[a-zA-Z0-9]+)*$', '');
    expect(r.status).toBe('vulnerable');
    if (r.status === 'vulnerable') expect(r.complexity.type).toBe('exponential');
  });
});

describe('legacy event-type check on adversarial values', () => {
  const OLD = /^[a-zA-Z]+([_\-.]?[a-zA-Z0-9]+)*$/;
  const body = (type: string) => Buffer.from(JSON.stringify({ 'event-type': type, 'event-type-version': 'v1', 'event-time': '2026-01-01T00:00:00Z', data: {} }));

  test('the rewritten pattern accepts exactly what the legacy one did (small strings, exhaustively)', () => {
    // Every string of length <= 5 over an alphabet with each character class.
    const alphabet = ['a', 'B', '7', '.', '-', '_', '!'];
    let checked = 0;
    const walk = (s: string) => {
      expect([s, LEGACY_EVENT_TYPE.test(s)]).toEqual([s, OLD.test(s)]);
      checked++;
      if (s.length < 5) for (const c of alphabet) walk(s + c);
    };
    walk('');
    expect(checked).toBe(19608);
  });

  test('10,000-character values: answered with the right verdict, with a linear amount of work', () => {
    const attacks = ['a'.repeat(9_999) + '!', 'a1'.repeat(4_999) + '.!', 'a.'.repeat(5_000), `a${'-1'.repeat(4_999)}_`];
    for (const type of attacks) {
      expect(type.length).toBeGreaterThanOrEqual(10_000);
      let err: unknown;
      try {
        legacyToCloudEvent(body(type), 'commerce');
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(LegacyRequestError);
      expect((err as LegacyRequestError).body.details?.[0]).toMatchObject({ field: 'event-type', type: 'invalid_field' });
    }
    const ok = `a${'.b1'.repeat(3_333)}`;
    expect(legacyToCloudEvent(body(ok), 'commerce').type).toBe(ok);
    // The property that matters, shown by the checker rather than a clock: recheck proves the
    // pattern linear (above). A generous safety net only, for 50 adversarial values:
    const started = performance.now();
    for (let i = 0; i < 50; i++) LEGACY_EVENT_TYPE.test('a'.repeat(10_000) + '!');
    expect(performance.now() - started).toBeLessThan(5_000);
  });
});
