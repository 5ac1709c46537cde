/**
 * Generic lookup tables in the core builder: parameter wiring (appended, deterministic order),
 * table types (indexed postmap'd files, inline in main.cf), and one test per validation.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { HostBuilder } from '../../lib/host';
import { caught } from '../helpers/caught';

const host = () => new HostBuilder({ where: 'mail/mx' });
const e = (key: string, value: string) => ({ key, value });
const add = (parameter: string, entries: { key: string; value: string }[], type?: string) =>
  host().addLookupTable('t', { parameter, entries, ...(type ? { type } : {}) }, 'mail/mx/t');
const bad = (parameter: string, key: string, value: string, type?: string) => caught(() => add(parameter, [e(key, value)], type));

describe('LookupTable wiring', () => {
  it('a hash table is a postmap file referenced from its parameter', () => {
    const b = host();
    b.addLookupTable(
      'virtual',
      { parameter: 'virtual_alias_maps', entries: [e('info@lab.test', 'alice, bob@example.org')] },
      'mail/mx/virtual',
    );
    const { bundle } = b.toBundle();
    expect(bundle.mainCf.set.virtual_alias_maps).toBe('hash:/etc/postfix/virtual');
    expect(bundle.files['/etc/postfix/virtual']).toMatchObject({ content: 'info@lab.test\talice, bob@example.org\n', postmap: 'hash' });
    expect(bundle.tableTypes).toContain('hash');
  });

  it('appends to what the settings hold, in reference order whatever the order of additions', () => {
    const render = (order: string[]) => {
      const b = host();
      for (const name of order) {
        if (name === 'settings') b.applySettings({ transport_maps: 'hash:/etc/postfix/legacy' });
        else b.addLookupTable(name, { parameter: 'transport_maps', entries: [e(`${name}.example`, 'relay:')] }, `mail/mx/${name}`);
      }
      return b.toBundle().bundle.mainCf.set.transport_maps;
    };
    const want = 'hash:/etc/postfix/legacy, hash:/etc/postfix/a, hash:/etc/postfix/b';
    expect(render(['settings', 'b', 'a'])).toBe(want);
    expect(render(['a', 'b', 'settings'])).toBe(want);
  });

  it('an inline table goes into main.cf, braces around values with commas', () => {
    const b = host();
    const info = b.addLookupTable(
      'v',
      { parameter: 'virtual_alias_maps', type: 'inline', entries: [e('a@x.test', 'b'), e('c@x.test', 'd, e')] },
      'mail/mx/v',
    );
    expect(info.path).toBeUndefined();
    expect(b.toBundle().bundle.mainCf.set.virtual_alias_maps).toBe('inline:{ a@x.test=b, { c@x.test = d, e } }');
    expect(Object.keys(b.toBundle().bundle.files)).toEqual([]);
  });

  it('regexp, pcre, cidr and texthash tables are read directly (no postmap)', () => {
    for (const [type, key] of [
      ['regexp', '/^(.*)@old\\.test$/'],
      ['pcre', '/^(.*)@old\\.test$/'],
      ['texthash', 'x@old.test'],
    ]) {
      const info = add('recipient_canonical_maps', [e(key, '$1@new.test'.replace('$1', type === 'texthash' ? 'x' : '$1'))], type);
      expect(info.reference).toBe(`${type}:/etc/postfix/t`);
    }
    const b = host();
    b.addLookupTable(
      'nets',
      { parameter: 'sender_dependent_relayhost_maps', entries: [e('@x.test', '[relay.x.test]:587')], type: 'lmdb', installPackage: true },
      'mail/mx/nets',
    );
    const { bundle } = b.toBundle();
    expect(bundle.files['/etc/postfix/nets'].postmap).toBe('lmdb');
    expect(bundle.installPackages).toEqual(['postfix-lmdb']);
  });

  it('fromFile: streamed, validated per line, shipped as an asset', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lookup-'));
    const file = path.join(dir, 'transport');
    fs.writeFileSync(file, '# comment\n\nexample.org smtp:[mx.example.org]:25\n.example.org relay:\n');
    const b = host();
    const info = b.addLookupTable('transport', { parameter: 'transport_maps', fromFile: file }, 'mail/mx/transport');
    expect(info.size).toBe(2);
    expect(b.toBundle().assets).toHaveLength(1);
    fs.writeFileSync(file, 'example.org smtp:[mx.example.org]:25\nEXAMPLE.org relay:\n');
    expect(caught(() => host().addLookupTable('transport', { parameter: 'transport_maps', fromFile: file })).field).toBe('fromFile line 2');
    fs.writeFileSync(file, 'example.org smtp [mx]\n');
    expect(caught(() => host().addLookupTable('transport', { parameter: 'transport_maps', fromFile: file })).field).toBe(
      'fromFile line 1 value',
    );
    fs.writeFileSync(file, 'example.org\n');
    expect(caught(() => host().addLookupTable('transport', { parameter: 'transport_maps', fromFile: file })).problem).toMatch(/no value/);
  });
});

describe('LookupTable validation (one test per check)', () => {
  it('the parameter must be a *_maps parameter Postfix knows', () => {
    expect(caught(() => add('myhostname', [e('a', 'b')])).field).toBe('parameter');
    expect(caught(() => add('virtual_alias_mapz', [e('a', 'b')])).problem).toMatch(/at least|_maps|no such/);
    expect(caught(() => add('virtual_alais_maps', [e('a', 'b')])).problem).toMatch(/no such parameter/);
  });
  it('an unknown table type', () => {
    const err = caught(() => add('transport_maps', [e('x.test', 'relay:')], 'dbm'));
    expect([err.field, err.value]).toEqual(['type', 'dbm']);
    expect(err.fix).toMatch(/hash, lmdb, cdb, btree, texthash, inline, regexp, pcre, cidr/);
  });
  it('entries and fromFile: exactly one', () => {
    expect(caught(() => host().addLookupTable('t', { parameter: 'transport_maps' })).problem).toMatch(/neither/);
    expect(caught(() => host().addLookupTable('t', { parameter: 'transport_maps', entries: [], fromFile: '/x' })).problem).toMatch(/both/);
    expect(caught(() => host().addLookupTable('t', { parameter: 'transport_maps', entries: [] })).problem).toMatch(/no entries/);
    expect(caught(() => host().addLookupTable('t', { parameter: 'transport_maps', type: 'inline', fromFile: '/x' })).problem).toMatch(
      /inline/,
    );
  });
  it('a table name that would leave the config directory', () => {
    expect(caught(() => host().addLookupTable('../x', { parameter: 'transport_maps', entries: [e('x.test', 'relay:')] })).field).toBe(
      'table name',
    );
  });
  it('keys with whitespace, a leading #, or a duplicate (case-insensitive)', () => {
    expect(bad('virtual_alias_maps', 'a b@x.test', 'c').problem).toMatch(/whitespace/);
    expect(bad('virtual_alias_maps', '#a@x.test', 'c').problem).toMatch(/comment/);
    const dup = caught(() => add('virtual_alias_maps', [e('A@x.test', 'c'), e('a@x.test', 'd')]));
    expect(dup.problem).toMatch(/duplicate/);
  });
  it('keys of the wrong form for the kind', () => {
    const t = bad('transport_maps', '@example.org', 'relay:');
    expect([t.field, t.value]).toEqual(['entries["@example.org"]', '@example.org']);
    expect(t.fix).toMatch(/address, domain, .domain, \*/);
    expect(bad('sender_dependent_relayhost_maps', 'example.org', '[r.test]').problem).toMatch(/not a key a relayhost table/);
    expect(bad('virtual_mailbox_maps', 'info', 'x/info/').problem).toMatch(/virtual-mailbox/);
  });
  it('regexp keys must be /pattern/flags; cidr keys networks', () => {
    expect(bad('recipient_canonical_maps', '^old', 'new', 'regexp').problem).toMatch(/delimiter/);
    expect(bad('recipient_canonical_maps', '/a(/', 'new', 'pcre').problem).toMatch(/regular expression|closing/);
    expect(bad('transport_maps', '10.0.0.1/8', 'relay:', 'cidr').problem).toMatch(/host address bits|beyond the prefix/);
    expect(bad('transport_maps', 'example.org', 'relay:', 'cidr').problem).toMatch(/IP address/);
  });
  it('inline keys and values cannot hold braces', () => {
    expect(bad('virtual_alias_maps', 'a{b', 'c', 'inline').problem).toMatch(/inline/);
    expect(bad('virtual_alias_maps', 'a@x.test', 'c}', 'inline').problem).toMatch(/not a mail address|inline/);
  });
  it('transport(5) values', () => {
    expect(
      add('transport_maps', [
        e('a.test', 'smtp:[mx.a.test]:587'),
        e('b.test', 'error:5.0.0 no such domain'),
        e('c.test', 'discard:'),
        e('d.test', ':[10.0.0.1]'),
        e('e.test', 'relay:'),
      ]).size,
    ).toBe(5);
    expect(bad('transport_maps', 'a.test', 'smtp').problem).toMatch(/needs a ":"/);
    expect(bad('transport_maps', 'a.test', 'sm tp:x').problem).toMatch(/service name/);
    expect(bad('transport_maps', 'a.test', 'smtp:[mx.a.test]:99999').problem).toMatch(/port 99999/);
    expect(bad('transport_maps', 'a.test', 'smtp:mx a').problem).toMatch(/whitespace/);
    expect(bad('transport_maps', 'a.test', 'smtp:[mx').problem).toMatch(/not a next hop/);
  });
  it('virtual(5) values: addresses only, no commands or files', () => {
    expect(bad('virtual_alias_maps', 'a@x.test', '|/usr/bin/x').problem).toMatch(/command, file/);
    expect(bad('virtual_alias_maps', 'a@x.test', '/var/mail/x').problem).toMatch(/command, file/);
    expect(bad('virtual_alias_maps', 'a@x.test', 'b@@x').problem).toMatch(/not a mail address/);
  });
  it('virtual mailbox paths are relative', () => {
    expect(bad('virtual_mailbox_maps', 'a@x.test', '/var/mail/a').problem).toMatch(/relative/);
    expect(bad('virtual_mailbox_maps', 'a@x.test', 'x/../../etc').problem).toMatch(/relative/);
  });
  it('canonical(5), bcc: exactly one address', () => {
    expect(bad('sender_canonical_maps', 'a@x.test', 'b@x.test, c@x.test').problem).toMatch(/exactly one address/);
    expect(bad('recipient_bcc_maps', 'a@x.test', 'b, c').problem).toMatch(/exactly one address/);
  });
  it('relocated(5): contact text, not a command', () => {
    expect(bad('relocated_maps', 'a@x.test', '|cmd').problem).toMatch(/not a command/);
  });
  it('sender_dependent_relayhost_maps: relayhost syntax', () => {
    expect(bad('sender_dependent_relayhost_maps', '@x.test', 'smtp.x.test, other').problem).toMatch(/relayhost syntax/);
    expect(add('sender_dependent_relayhost_maps', [e('@x.test', '[smtp.x.test]:587')]).size).toBe(1);
  });
  it('empty values and newlines', () => {
    expect(bad('transport_maps', 'a.test', ' ').problem).toMatch(/empty/);
    expect(bad('transport_maps', 'a.test', 'relay:\nx').problem).toMatch(/newline/);
  });
});
