import { checkKind, formatParameterValue, parseSize, splitTopLevel } from '../../lib/model/values';
import { PostfixConfigError } from '../../lib/model/errors';

describe('formatParameterValue', () => {
  it('writes booleans as yes/no, integers as digits, lists joined with ", "', () => {
    expect(formatParameterValue(true)).toBe('yes');
    expect(formatParameterValue(false)).toBe('no');
    expect(formatParameterValue(25_000_000)).toBe('25000000');
    expect(formatParameterValue(0)).toBe('0');
    expect(formatParameterValue(['permit_mynetworks', 'reject_unauth_destination'])).toBe('permit_mynetworks, reject_unauth_destination');
    expect(formatParameterValue([])).toBe('');
    expect(formatParameterValue('$myhostname ESMTP')).toBe('$myhostname ESMTP');
  });

  it.each([1.5, NaN, Infinity, 2 ** 60])('refuses the non-integer number %p', (n) => {
    expect(() => formatParameterValue(n)).toThrow(PostfixConfigError);
    expect(() => formatParameterValue(n)).toThrow(/whole numbers.*Fix: give an integer/);
  });
});

describe('parseSize', () => {
  it.each<[string | number, number]>([
    [25_000_000, 25_000_000],
    ['0', 0],
    ['512', 512],
    ['512B', 512],
    ['25k', 25_000],
    ['25KB', 25_000],
    ['25kb', 25_000],
    ['25m', 25_000_000],
    ['25MB', 25_000_000],
    ['1.5MB', 1_500_000],
    ['2g', 2_000_000_000],
    ['2GB', 2_000_000_000],
    ['1KiB', 1024],
    ['10MiB', 10 * 1024 * 1024],
    ['1GiB', 1024 ** 3],
    [' 25 MB ', 25_000_000],
  ])('%p -> %d bytes (KB/MB/GB are powers of 1000, KiB/MiB/GiB powers of 1024)', (input, bytes) => {
    expect(parseSize(input)).toBe(bytes);
  });

  it.each<string | number>(['', 'MB', '25TB', '25 M B', '-1', '1.5B', '1.0000001KB', -1, 1.5, NaN, '1e3'])('refuses %p', (input) => {
    expect(() => parseSize(input)).toThrow(PostfixConfigError);
    try {
      parseSize(input);
    } catch (e) {
      const err = e as PostfixConfigError;
      expect(err.field).toBe('size');
      expect(err.value).toBe(String(input));
      expect(err.fix).toMatch(/KiB/);
    }
  });
});

describe('checkKind', () => {
  it.each([
    ['boolean', 'yes'],
    ['boolean', 'no'],
    ['boolean', 'YES'],
    ['integer', '0'],
    ['integer', '20'],
    ['integer', '+5'],
    ['integer', '2147483647'],
    ['integer', ' 100 '],
    ['boolean', 'no '],
    ['size', '10240000'],
    ['size', '9223372036854775807'],
    ['time', '300s'],
    ['time', '300'],
    ['time', '5m'],
    ['time', '1h'],
    ['time', '5d'],
    ['time', '1w'],
    ['time', '0'],
    ['lookup', ''],
    ['lookup', 'hash:/etc/aliases'],
    ['lookup', 'hash:/etc/aliases, nis:mail.aliases'],
    ['lookup', 'proxy:unix:passwd.byname $alias_maps'],
    ['lookup', 'inline:{ a=b, c=d } lmdb:/etc/x'],
    ['lookup', 'mysql:/etc/postfix/mysql-virtual.cf'],
    ['list', 'anything, at all'],
    ['text', 'anything'],
  ] as const)('%s accepts %j', (kind, value) => {
    expect(checkKind(kind, value)).toBeUndefined();
  });

  it.each([
    ['boolean', '', /yes or no/],
    ['boolean', 'true', /yes or no/],
    ['boolean', 'y', /yes or no/],
    ['integer', '', /whole number/],
    ['integer', '5s', /whole number/],
    ['integer', '1.5', /whole number/],
    ['integer', '2147483648', /no larger than/],
    ['size', '25MB', /parseSize/],
    ['size', '25 MB', /parseSize/],
    ['size', '-1', /non-negative/],
    ['size', '', /non-negative/],
    ['size', '9223372036854775808', /no larger than/],
    ['time', '', /time/],
    ['time', '5x', /unknown time unit "x"/],
    ['time', '5S', /time/],
    ['time', '-5s', /time/],
    ['time', '5 s', /time/],
    ['time', '999999999w', /too large/],
    ['lookup', '/etc/aliases', /type:name/],
    ['lookup', 'hahs:/etc/aliases', /unknown table type "hahs"/],
  ] as const)('%s refuses %j', (kind, value, problem) => {
    expect(checkKind(kind, value)).toMatch(problem);
  });

  it('skips kind checks for values with $ references, which Postfix expands at run time', () => {
    expect(checkKind('boolean', '$other_flag')).toBeUndefined();
    expect(checkKind('integer', '${stress?{1}:{20}}')).toBeUndefined();
    expect(checkKind('time', '${stress?{10}:{300}}s')).toBeUndefined();
    expect(checkKind('size', '$message_size_limit')).toBeUndefined();
  });
});

describe('splitTopLevel', () => {
  it('splits on commas and whitespace but keeps brace groups whole', () => {
    expect(splitTopLevel(' a, b  c,,d ')).toEqual(['a', 'b', 'c', 'd']);
    expect(splitTopLevel('inline:{ a=b, {c = d e} } x')).toEqual(['inline:{ a=b, {c = d e} }', 'x']);
  });
});
