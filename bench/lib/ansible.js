'use strict';
/** Running bench/ansible/playbook.yml against one lab host, and comparing end states (bench/apply.js, bench/seed.js). */
const fs = require('fs');
const path = require('path');

const ANSIBLE_DIR = path.join(__dirname, '..', 'ansible');

function inventoryFor(work, h, extraVars = '') {
  const tmpl = fs.readFileSync(path.join(ANSIBLE_DIR, 'inventory.ini.tmpl'), 'utf8');
  const file = path.join(work, `inventory-${h.name}-${h.address}.ini`);
  fs.writeFileSync(
    file,
    tmpl
      .replace(/\{\{NAME\}\}/g, h.name)
      .replace(/\{\{ADDRESS\}\}/g, h.address)
      .replace(/\{\{KEY\}\}/g, h.privateKeyPath)
      .replace(/\{\{KNOWN_HOSTS\}\}/g, h.knownHostsPath)
      .replace(/\{\{HOSTNAME\}\}/g, h.hostname)
      .replace(/\n$/, `${extraVars ? ` ${extraVars}` : ''}\n`),
  );
  return file;
}

/**
 * One ansible-playbook run against h through `timed` (argv, opts) => { ms, cpuMs, code, stdout };
 * checks the PLAY RECAP says changes (or none). extraVars: inventory variables (blacklist_src=FILE).
 */
async function ansible(timed, work, h, expectChanged, extraVars) {
  const env = {
    ...process.env,
    ANSIBLE_CONFIG: path.join(ANSIBLE_DIR, 'ansible.cfg'),
    ANSIBLE_HOME: path.join(work, 'ansible-home'),
    ANSIBLE_LOCAL_TEMP: path.join(work, 'ansible-tmp'),
    ANSIBLE_NOCOLOR: '1',
  };
  const argv = ['ansible-playbook', '-i', inventoryFor(work, h, extraVars), path.join(ANSIBLE_DIR, 'playbook.yml')];
  const r = await timed(argv, { env });
  if (r.code !== 0) throw new Error(`${argv.join(' ')} exited ${r.code}\n${r.stdout}\n${r.stderr}`);
  const recap = new RegExp(`^${h.name}\\s*:\\s*ok=(\\d+)\\s+changed=(\\d+)\\s+unreachable=(\\d+)\\s+failed=(\\d+)`, 'm').exec(r.stdout);
  if (!recap) throw new Error(`no PLAY RECAP for ${h.name}:\n${r.stdout}`);
  const changed = Number(recap[2]);
  if (expectChanged ? changed === 0 : changed !== 0)
    throw new Error(`ansible: expected ${expectChanged ? 'changes' : 'no changes'}, got changed=${changed}\n${r.stdout}`);
  return { ms: r.ms, cpuMs: r.cpuMs, changed };
}

/** postconf -n / -M, the two files and any extra files, with the host's own name and address neutralized. */
async function endState(h, extraFiles = []) {
  const norm = (s) => s.split(h.hostname).join('HOSTNAME').split(h.address).join('ADDRESS');
  const out = async (argv) => norm((await h.exec(argv)).stdout);
  const state = {
    'postconf -n': await out(['postconf', '-n']),
    'postconf -M': await out(['postconf', '-M']),
    'main.cf': norm(h.readFile('/etc/postfix/main.cf')),
    'master.cf': norm(h.readFile('/etc/postfix/master.cf')),
  };
  for (const f of extraFiles) state[f] = fs.existsSync(h.realPath(f)) ? fs.readFileSync(h.realPath(f)).toString('base64') : 'absent';
  return state;
}

module.exports = { ansible, endState };
