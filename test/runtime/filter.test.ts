import {
  CESQL_UNSUPPORTED,
  compileAttributesFilter,
  compileFilters,
  compileTriggerFilter,
  FilterCompileError,
  FilterIndex,
} from '../../runtime/dispatcher/filter';

const ev = (extra: Record<string, unknown> = {}) => ({
  specversion: '1.0',
  id: '1',
  source: '/apps/shop',
  type: 'order.created.v1',
  ...extra,
});

describe('filter.attributes (Knative classic)', () => {
  it('matches everything without attributes', () => {
    expect(compileAttributesFilter(undefined).matches(ev())).toBe(true);
    expect(compileAttributesFilter({}).matches(ev())).toBe(true);
  });
  it('ANDs keys, exact and case-sensitive', () => {
    const f = compileAttributesFilter({ type: 'order.created.v1', source: '/apps/shop' });
    expect(f.matches(ev())).toBe(true);
    expect(f.matches(ev({ source: '/apps/other' }))).toBe(false);
    expect(compileAttributesFilter({ type: 'Order.Created.V1' }).matches(ev())).toBe(false);
    expect(compileAttributesFilter({ type: 'order.created' }).matches(ev())).toBe(false);
  });
  it('"" means present with any value; missing attribute fails', () => {
    const f = compileAttributesFilter({ eventtypeversion: '' });
    expect(f.matches(ev({ eventtypeversion: 'v1' }))).toBe(true);
    expect(f.matches(ev())).toBe(false);
    expect(compileAttributesFilter({ subject: 'x' }).matches(ev())).toBe(false);
  });
  it('compares non-string extension values by their string form; data is not an attribute', () => {
    expect(compileAttributesFilter({ priority: '5' }).matches(ev({ priority: 5 }))).toBe(true);
    expect(compileAttributesFilter({ flag: 'true' }).matches(ev({ flag: true }))).toBe(true);
    expect(compileAttributesFilter({ data: '' }).matches(ev({ data: { a: 1 } }))).toBe(false);
  });
  it('exposes its exact terms for the index, not the "" ones', () => {
    const f = compileAttributesFilter({ type: 't', eventtypeversion: '' });
    expect([...f.requiredExact]).toEqual([['type', 't']]);
  });
});

describe('filters (Subscriptions API dialect)', () => {
  it('exact', () => {
    const f = compileFilters([{ exact: { type: 'order.created.v1' } }]);
    expect(f.matches(ev())).toBe(true);
    expect(f.matches(ev({ type: 'order.created.v2' }))).toBe(false);
    expect(compileFilters([{ exact: { subject: 'a' } }]).matches(ev())).toBe(false);
  });
  it('prefix and suffix (case-sensitive, attribute must exist)', () => {
    expect(compileFilters([{ prefix: { type: 'order.' } }]).matches(ev())).toBe(true);
    expect(compileFilters([{ prefix: { type: 'Order.' } }]).matches(ev())).toBe(false);
    expect(compileFilters([{ suffix: { type: '.v1' } }]).matches(ev())).toBe(true);
    expect(compileFilters([{ suffix: { type: '.v2' } }]).matches(ev())).toBe(false);
    expect(compileFilters([{ prefix: { subject: 'a' } }]).matches(ev())).toBe(false);
  });
  it('all, any, not', () => {
    const f = compileFilters([
      { all: [{ prefix: { type: 'order.' } }, { not: { exact: { source: '/apps/test' } } }] },
      { any: [{ suffix: { type: '.v1' } }, { exact: { priority: 'high' } }] },
    ]);
    expect(f.matches(ev())).toBe(true);
    expect(f.matches(ev({ source: '/apps/test' }))).toBe(false);
    expect(f.matches(ev({ type: 'order.created.v2' }))).toBe(false);
    expect(f.matches(ev({ type: 'order.created.v2', priority: 'high' }))).toBe(true);
  });
  it('the list is ANDed; empty all/any match everything (Knative: no filter)', () => {
    expect(compileFilters([{ prefix: { type: 'order' } }, { exact: { source: 'nope' } }]).matches(ev())).toBe(false);
    expect(compileFilters([{ all: [] }, { any: [] }]).matches(ev())).toBe(true);
  });
  it('rejects cesql with a clear message', () => {
    expect(() => compileFilters([{ cesql: "type = 'x'" }])).toThrow(FilterCompileError);
    expect(() => compileFilters([{ any: [{ cesql: "type = 'x'" }] }])).toThrow(/spec\.filters\[0\]\.any\[0\]\.cesql: the cesql filter dialect is not supported/);
    expect(CESQL_UNSUPPORTED).toMatch(/exact, prefix, suffix/);
  });
  it('any exposes only the exact terms every branch shares', () => {
    const f = compileFilters([{ any: [{ exact: { type: 'a', source: 's' } }, { exact: { type: 'a' } }] }]);
    expect([...f.requiredExact]).toEqual([['type', 'a']]);
    expect(compileFilters([{ not: { exact: { type: 'a' } } }]).requiredExact.size).toBe(0);
  });
});

describe('compileTriggerFilter', () => {
  it('filters wins over filter when both are set', () => {
    const f = compileTriggerFilter({ filter: { attributes: { type: 'nope' } }, filters: [{ prefix: { type: 'order' } }] });
    expect(f.matches(ev())).toBe(true);
  });
  it('an empty filters list falls back to filter.attributes', () => {
    const f = compileTriggerFilter({ filter: { attributes: { type: 'nope' } }, filters: [] });
    expect(f.matches(ev())).toBe(false);
  });
});

describe('FilterIndex', () => {
  it('finds exactly the matching items, evaluating only candidates', () => {
    const entries = [];
    for (let i = 0; i < 500; i++) entries.push({ item: `t${i}`, filter: compileAttributesFilter({ type: `type.${i}` }) });
    entries.push({ item: 'by-source', filter: compileFilters([{ exact: { source: '/apps/shop' } }, { prefix: { type: 'type.1' } }]) });
    entries.push({ item: 'prefix', filter: compileFilters([{ prefix: { type: 'type.4' } }]) });
    entries.push({ item: 'all', filter: compileAttributesFilter({}) });
    const index = new FilterIndex(entries);
    const e = ev({ type: 'type.42' });
    expect(index.match(e).sort()).toEqual(['all', 'prefix', 't42'].sort());
    expect(index.candidates(e)).toBeLessThanOrEqual(4);
    expect(index.match(ev({ type: 'type.13' })).sort()).toEqual(['all', 'by-source', 't13']);
    // the brute-force answer agrees for a sample
    for (const t of ['type.1', 'type.499', 'type.4', 'zzz']) {
      const probe = ev({ type: t });
      expect(index.match(probe).sort()).toEqual(entries.filter((x) => x.filter.matches(probe)).map((x) => x.item).sort());
    }
  });
});

describe('filter holes found by mutation testing and by breaking behaviours on purpose', () => {
  it('eventtypeversion is compared by value: v2 never matches a v1 filter (both dialects)', () => {
    const classic = compileAttributesFilter({ type: 'order.created', eventtypeversion: 'v1' });
    const exact = compileFilters([{ exact: { type: 'order.created', eventtypeversion: 'v1' } }]);
    for (const f of [classic, exact]) {
      expect(f.matches(ev({ type: 'order.created', eventtypeversion: 'v1' }))).toBe(true);
      expect(f.matches(ev({ type: 'order.created', eventtypeversion: 'v2' }))).toBe(false);
      expect(f.matches(ev({ type: 'order.created', eventtypeversion: 'V1' }))).toBe(false);
      expect(f.matches(ev({ type: 'order.created' }))).toBe(false);
    }
  });
  it('exact, prefix and suffix AND their keys', () => {
    expect(compileFilters([{ exact: { type: 'order.created.v1', source: '/nope' } }]).matches(ev())).toBe(false);
    expect(compileFilters([{ prefix: { type: 'order.', source: '/nope' } }]).matches(ev())).toBe(false);
    expect(compileFilters([{ suffix: { type: '.v1', source: '/nope' } }]).matches(ev())).toBe(false);
    expect(compileFilters([{ suffix: { type: '.v1', source: 'shop' } }]).matches(ev())).toBe(true);
  });
  it('any exposes a term only when every branch has it', () => {
    const f = compileFilters([{ any: [{ exact: { type: 'a', source: 's' } }, { exact: { type: 'a' } }, { exact: { source: 's' } }] }]);
    expect([...f.requiredExact]).toEqual([]);
    expect(f.matches(ev({ type: 'b', source: 's' }))).toBe(true);
  });
  it('a filter expression needs exactly one known dialect, named with its field path', () => {
    expect(() => compileFilters([{ exact: { type: 'a' }, prefix: { type: 'b' } } as never])).toThrow(/^spec\.filters\[0\] must have exactly one dialect key, got \["exact","prefix"\]$/);
    expect(() => compileFilters([{} as never])).toThrow(/spec\.filters\[0\] must have exactly one dialect key, got \[\]/);
    expect(() => compileFilters([{ all: [{ regex: { type: 'a' } } as never] }])).toThrow(/^spec\.filters\[0\]\.all\[0\]: unknown filter dialect "regex"$/);
    const err = (() => {
      try {
        compileFilters([{ not: { nope: {} } as never }]);
      } catch (e) {
        return e as FilterCompileError;
      }
      return undefined;
    })();
    expect(err).toBeInstanceOf(FilterCompileError);
    expect(err?.name).toBe('FilterCompileError');
    expect(err?.field).toBe('spec.filters[0].not');
  });
  it('data and data_base64 are not attributes; neither are inherited properties or object values', () => {
    expect(compileAttributesFilter({ data_base64: '' }).matches(ev({ data_base64: 'eA==' }))).toBe(false);
    expect(compileAttributesFilter({ data: 'x' }).matches(ev({ data: 'x' }))).toBe(false);
    expect(compileAttributesFilter({ toString: '' }).matches(ev())).toBe(false);
    expect(compileAttributesFilter({ constructor: '' }).matches(ev())).toBe(false);
    expect(compileAttributesFilter({ ext: '' }).matches(ev({ ext: { a: 1 } }))).toBe(false);
    expect(compileAttributesFilter({ ext: '' }).matches(ev({ ext: null }))).toBe(false);
    expect(compileAttributesFilter({ ext: 'false' }).matches(ev({ ext: false }))).toBe(true);
  });
  it('FilterIndex: counts its entries, indexes on type, then source, then subject, then any exact attribute', () => {
    const entries = [
      { item: 'type', filter: compileAttributesFilter({ type: 't', source: 's', subject: 'j', eventtypeversion: 'v1' }) },
      { item: 'source', filter: compileAttributesFilter({ source: 's', subject: 'j', eventtypeversion: 'v1' }) },
      { item: 'subject', filter: compileAttributesFilter({ subject: 'j', eventtypeversion: 'v1' }) },
      { item: 'version', filter: compileAttributesFilter({ zzz: 'z', eventtypeversion: 'v1' }) },
      { item: 'none', filter: compileFilters([{ prefix: { type: 't' } }]) },
    ];
    const index = new FilterIndex(entries);
    expect(index.size).toBe(5);
    const all = ev({ type: 't', source: 's', subject: 'j', eventtypeversion: 'v1', zzz: 'z' });
    expect(index.match(all).sort()).toEqual(['none', 'source', 'subject', 'type', 'version']);
    expect(index.candidates(all)).toBe(5);
    // Each entry is a candidate only for events carrying the attribute it is indexed on.
    expect(index.candidates(ev({ type: 'other', source: 's' }))).toBe(2); // source + none
    expect(index.candidates(ev({ type: 't', source: 'x' }))).toBe(2); // type + none
    expect(index.candidates(ev({ type: 'x', subject: 'j' }))).toBe(2); // subject + none
    // Without a preferred attribute: the first exact one in sort order (eventtypeversion < zzz).
    expect(index.candidates(ev({ type: 'x', eventtypeversion: 'v1' }))).toBe(2); // version + none
    expect(index.candidates(ev({ type: 'x', zzz: 'z' }))).toBe(1); // none
  });
});
