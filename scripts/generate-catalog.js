#!/usr/bin/env node
/*
 * Generates lib/model/catalog.json: every main.cf parameter the local Postfix knows, with its
 * default value and an inferred value kind. Run on Debian 12 with postfix, postfix-lmdb,
 * postfix-cdb and postfix-pcre installed: `npm run catalog`.
 *
 * Why a scratch config directory: `postconf -d` also lists per-transport parameters
 * (`<service>_destination_concurrency_limit` ...) for every service in master.cf, and reads
 * dynamic map plugins from the config directory. Using an empty main.cf plus Debian's stock
 * master.cf (/usr/share/postfix/master.cf.dist) makes the output independent of this machine's
 * /etc/postfix edits. Host-dependent defaults (hostname, networks, pid) are stored as null.
 *
 * Kinds are inferred conservatively; a kind must never reject a value Postfix accepts, so when
 * in doubt a parameter is `text`. Evidence used: the default value, the parameter name, the
 * postconf(5) manual page ("time unit" paragraphs), and single-reference defaults
 * (`lmtp_x = $default_x` inherits the kind of default_x).
 */
'use strict';

const { execFileSync, spawnSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const zlib = require('node:zlib');

const OUT = path.join(__dirname, '..', 'lib', 'model', 'catalog.json');
const STOCK_MASTER_CF = '/usr/share/postfix/master.cf.dist';
const POSTCONF_MAN = '/usr/share/man/man5/postconf.5.gz';

/** Defaults computed from the machine that runs postconf; meaningless in a catalog. */
const HOST_DEPENDENT = new Set(['myhostname', 'mydomain', 'mynetworks', 'process_id', 'process_name']);

/** Digit-only defaults that are strings in Postfix (a non-numeric value is valid). */
const TEXT_DESPITE_DIGITS = new Set([
  'compatibility_level', // "3.6", "level" comparisons
  'mail_release_date',
  'mail_version',
  'lmtp_tcp_port', // a port number or a service name
  'milter_protocol', // "6" or e.g. "6" plus options in future releases
  'process_id',
]);

/** Byte counts: accepted as plain integers by Postfix; the TS side also converts "25MB". */
const SIZE_NAMES = new Set([
  'message_size_limit',
  'mailbox_size_limit',
  'virtual_mailbox_limit',
  'header_size_limit',
  'body_checks_size_limit',
  'bounce_size_limit',
  'queue_minfree',
  'lmdb_map_size',
  'berkeley_db_create_buffer_size',
  'berkeley_db_read_buffer_size',
]);

const LOOKUP_NAME =
  /(_maps|(^|_)header_checks|(^|_)body_checks|_access|_reply_filter|_command_filter|_delivery_status_filter)$|^alias_database$/;
const LIST_NAME =
  /(^mydestination|_domains|_networks|^mynetworks|_restrictions|_classes|_interfaces|_protocols|_options|_keywords|_names|_list|_files|_directories|_exclude_ciphers|_lookups|_types)$/;

const TIME_VALUE = /^\d+[smhdw]$/;
const INTEGER_VALUE = /^\d+$/;
const BOOLEAN_VALUE = /^(yes|no)$/;
const SINGLE_REFERENCE = /^\$(?:\{([a-z0-9_]+)\}|([a-z0-9_]+))$/;
/** `${{$compatibility_level} <level {2} ? {no} : {yes}}`: both branches tell the kind. */
const LEVEL_CONDITIONAL = /^\$\{\{\$compatibility_level\} [<>=!a-z]+ \{[0-9.]+\} \? \{([^{}]*)\} : \{([^{}]*)\}\}$/;
/** `${stress?{1}:{20}}` (optionally followed by a time unit): both branches tell the kind. */
const STRESS_CONDITIONAL = /^\$\{stress\?\{([^{}]*)\}:\{([^{}]*)\}\}([smhdw]?)$/;

function scratchConfigDir() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'postfix-catalog-'));
  fs.writeFileSync(path.join(dir, 'main.cf'), '');
  fs.copyFileSync(STOCK_MASTER_CF, path.join(dir, 'master.cf'));
  // Postfix commands wait ~2 s when main.cf is younger than 2 s.
  const past = new Date(Date.now() - 10_000);
  fs.utimesSync(path.join(dir, 'main.cf'), past, past);
  return dir;
}

function postconf(args) {
  return execFileSync('postconf', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

function readDefaults(dir) {
  const defaults = new Map();
  for (const line of postconf(['-c', dir, '-d']).split('\n')) {
    if (!line) continue;
    const eq = line.indexOf(' =');
    defaults.set(line.slice(0, eq), line.slice(eq + 2).replace(/^ /, ''));
  }
  return defaults;
}

/**
 * Parameters Postfix sets itself (process_id, service_name...): assigning them in main.cf makes
 * postconf warn "read-only parameter assignment". Found by assigning every parameter its default.
 */
function readReadOnlyNames(dir, defaults) {
  const lines = [...defaults].map(([name, value]) => `${name} = ${HOST_DEPENDENT.has(name) ? 'x' : value}`);
  const mainCf = path.join(dir, 'main.cf');
  fs.writeFileSync(mainCf, lines.join('\n') + '\n');
  const past = new Date(Date.now() - 10_000);
  fs.utimesSync(mainCf, past, past);
  const run = spawnSync('postconf', ['-c', dir, '-n'], { encoding: 'utf8' });
  fs.writeFileSync(mainCf, '');
  fs.utimesSync(mainCf, past, past);
  const names = new Set();
  for (const match of run.stderr.matchAll(/read-only parameter assignment: ([A-Za-z0-9_-]+)=/g)) names.add(match[1]);
  if (run.status !== 0 || names.size === 0) throw new Error(`could not detect read-only parameters: ${run.stderr}`);
  return names;
}

function readMapTypes(dir) {
  return postconf(['-c', dir, '-m']).split('\n').filter(Boolean).sort();
}

/** Parameter names whose postconf(5) entry talks about time units. */
function timeParametersFromManual() {
  const names = new Set();
  if (!fs.existsSync(POSTCONF_MAN)) return names;
  const text = zlib.gunzipSync(fs.readFileSync(POSTCONF_MAN)).toString('utf8');
  for (const section of text.split(/^\.SH /m)) {
    const name = /^([a-z0-9_]+) \(default/.exec(section);
    // "an integral value plus an optional one-letter suffix that specifies the time unit";
    // a looser match would catch rate limits ("per time unit"), which are plain integers.
    if (name && /specifies\s+the\s+time\s+unit/.test(section)) names.add(name[1]);
  }
  return names;
}

function kindFromDefault(name, value, manualTime) {
  if (BOOLEAN_VALUE.test(value)) return 'boolean';
  const level = LEVEL_CONDITIONAL.exec(value);
  if (level && BOOLEAN_VALUE.test(level[1]) && BOOLEAN_VALUE.test(level[2])) return 'boolean';
  if (TIME_VALUE.test(value) || manualTime.has(name)) return 'time';
  const stress = STRESS_CONDITIONAL.exec(value);
  if (stress && INTEGER_VALUE.test(stress[1]) && INTEGER_VALUE.test(stress[2])) return stress[3] ? 'time' : 'integer';
  if (INTEGER_VALUE.test(value) && !TEXT_DESPITE_DIGITS.has(name)) {
    return SIZE_NAMES.has(name) ? 'size' : 'integer';
  }
  return undefined;
}

function kindFromName(name) {
  if (LOOKUP_NAME.test(name)) return 'lookup';
  if (LIST_NAME.test(name)) return 'list';
  return 'text';
}

/** Resolves `name = $other` chains so per-transport copies share their template's kind. */
function inheritedKind(name, defaults, direct, seen = new Set()) {
  if (direct.has(name)) return direct.get(name);
  const ref = SINGLE_REFERENCE.exec(defaults.get(name) ?? '');
  if (!ref || seen.has(name)) return undefined;
  seen.add(name);
  return inheritedKind(ref[1] ?? ref[2], defaults, direct, seen);
}

function buildCatalog() {
  const dir = scratchConfigDir();
  try {
    const defaults = readDefaults(dir);
    const manualTime = timeParametersFromManual();
    const direct = new Map();
    for (const [name, value] of defaults) {
      const kind = HOST_DEPENDENT.has(name) ? undefined : kindFromDefault(name, value, manualTime);
      if (kind) direct.set(name, kind);
    }
    const readOnly = readReadOnlyNames(dir, defaults);
    const parameters = {};
    for (const name of [...defaults.keys()].sort()) {
      const kind = inheritedKind(name, defaults, direct) ?? kindFromName(name);
      const entry = { default: HOST_DEPENDENT.has(name) ? null : defaults.get(name), kind };
      if (readOnly.has(name)) entry.readOnly = true;
      parameters[name] = entry;
    }
    return {
      postfixVersion: defaults.get('mail_version'),
      source: 'postconf -d, Debian 12, empty main.cf + stock master.cf.dist',
      mapTypes: readMapTypes(dir),
      parameters,
    };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

function main() {
  const catalog = buildCatalog();
  // One parameter a line: compact, yet reviewable in a git diff.
  const lines = Object.entries(catalog.parameters).map(([n, v]) => `    ${JSON.stringify(n)}: ${JSON.stringify(v)}`);
  const text =
    '{\n' +
    `  "postfixVersion": ${JSON.stringify(catalog.postfixVersion)},\n` +
    `  "source": ${JSON.stringify(catalog.source)},\n` +
    `  "mapTypes": ${JSON.stringify(catalog.mapTypes)},\n` +
    '  "parameters": {\n' +
    lines.join(',\n') +
    '\n  }\n}\n';
  fs.writeFileSync(OUT, text);
  const counts = {};
  for (const { kind } of Object.values(catalog.parameters)) counts[kind] = (counts[kind] ?? 0) + 1;
  process.stdout.write(`${OUT}: ${lines.length} parameters, ${text.length} bytes, kinds ${JSON.stringify(counts)}\n`);
}

main();
