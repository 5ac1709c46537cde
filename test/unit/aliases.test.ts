/**
 * aliases(5) in the core builder: the operator default, the postalias file field, alias_maps wiring,
 * and one test per validation.
 */
import { HostBuilder } from '../../lib/host';
import { AliasesProps } from '../../lib/host/aliases';
import { caught } from '../helpers/caught';

const host = () => new HostBuilder({ where: 'mail/mx' });
const bad = (props: AliasesProps) => caught(() => host().addAliases(props, 'mail/mx/aliases'));

describe('Aliases', () => {
  it('an operator address becomes root, plus postmaster per RFC 5321; built with postalias', () => {
    const b = host();
    b.addAliases(
      { operator: 'ops@example.org', entries: [{ name: 'Info', destinations: ['alice', 'bob@example.org'] }] },
      'mail/mx/aliases',
    );
    const { bundle } = b.toBundle();
    expect(bundle.files['/etc/aliases']).toMatchObject({
      content: 'info: alice, bob@example.org\nroot: ops@example.org\npostmaster: root\n',
      postalias: 'hash',
    });
    expect(bundle.files['/etc/aliases'].postmap).toBeUndefined();
    expect(bundle.mainCf.set.alias_maps).toBe('hash:/etc/aliases');
    expect(bundle.mainCf.set.alias_database).toBe('hash:/etc/aliases');
  });

  it('a declared file is appended to alias_maps the settings give; a given postmaster is kept', () => {
    const b = host().applySettings({ alias_maps: 'hash:/etc/aliases' });
    b.addAliases({
      path: '/etc/postfix/aliases',
      type: 'lmdb',
      entries: [{ name: 'postmaster', destinations: ['hostmaster@example.org'] }],
    });
    const { bundle } = b.toBundle();
    expect(bundle.mainCf.set.alias_maps).toBe('hash:/etc/aliases, lmdb:/etc/postfix/aliases');
    expect(bundle.files['/etc/postfix/aliases'].content).toBe('postmaster: hostmaster@example.org\n');
  });

  it('commands, files and includes only when opted in; commands with blanks are quoted', () => {
    const b = host();
    b.addAliases({
      entries: [{ name: 'tickets', destinations: ['|/usr/bin/ticket --queue x', '/var/log/tickets.mbox', ':include:/etc/postfix/list'] }],
      allowCommands: true,
      allowFiles: true,
      allowIncludes: true,
    });
    expect(b.toBundle().bundle.files['/etc/aliases'].content).toBe(
      'tickets: "|/usr/bin/ticket --queue x", /var/log/tickets.mbox, :include:/etc/postfix/list\npostmaster: root\n',
    );
  });

  it('refuses a command destination without allowCommands', () => {
    const e = bad({ entries: [{ name: 'x', destinations: ['|/bin/sh'] }] });
    expect([e.where, e.field, e.value]).toEqual(['mail/mx/aliases', 'entries[0] destinations[0]', '|/bin/sh']);
    expect(e.fix).toMatch(/allowCommands: true/);
  });
  it('refuses a file destination without allowFiles', () => {
    expect(bad({ entries: [{ name: 'x', destinations: ['/tmp/x'] }] }).fix).toMatch(/allowFiles: true/);
  });
  it('refuses an :include: without allowIncludes', () => {
    expect(bad({ entries: [{ name: 'x', destinations: [':include:/etc/list'] }] }).fix).toMatch(/allowIncludes: true/);
  });
  it('refuses a command holding a double quote', () => {
    expect(bad({ allowCommands: true, entries: [{ name: 'x', destinations: ['|echo "a"'] }] }).problem).toMatch(/double quote/);
  });
  it('refuses names with @, : or spaces', () => {
    for (const name of ['info@example.org', 'a:b', 'a b', '#x', ''])
      expect(bad({ entries: [{ name, destinations: ['root'] }] }).field).toBe('entries[0] name');
  });
  it('refuses a name given twice (case-insensitive)', () => {
    expect(
      bad({
        entries: [
          { name: 'Info', destinations: ['a'] },
          { name: 'info', destinations: ['b'] },
        ],
      }).problem,
    ).toMatch(/twice/);
  });
  it('refuses an alias without destinations, and a bad address', () => {
    expect(bad({ entries: [{ name: 'x', destinations: [] }] }).problem).toMatch(/no destinations/);
    expect(bad({ entries: [{ name: 'x', destinations: ['a@@b'] }] }).problem).toMatch(/not a mail address/);
    expect(bad({ entries: [{ name: 'x', destinations: ['a\nroot: /tmp/x'] }] }).problem).toMatch(/newline/);
  });
  it('refuses a bad operator, and an operator beside a root entry', () => {
    expect(bad({ operator: 'not an address' }).field).toBe('operator');
    expect(bad({ operator: 'ops@example.org', entries: [{ name: 'root', destinations: ['alice'] }] }).problem).toMatch(/already give root/);
  });
  it('refuses an empty table, a relative path and a type postalias cannot build', () => {
    expect(bad({}).problem).toMatch(/no aliases/);
    expect(bad({ operator: 'ops@example.org', path: 'aliases' }).field).toBe('path');
    expect(bad({ operator: 'ops@example.org', type: 'regexp' }).field).toBe('type');
  });
});
