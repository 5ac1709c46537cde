/**
 * jest globalSetup / globalTeardown: each test run gets its own TMPDIR under the system's, removed
 * when the run ends, so the temporary directories tests make (cdktf outdirs, stacks, keys) never
 * pile up in /tmp. Mode 1777 like /tmp itself: lab users that are not root may write there too.
 * Child processes (terraform, runners, openssl) inherit TMPDIR; lab hosts share the machine's /tmp.
 */
'use strict';
const fs = require('fs');
const os = require('os');
const path = require('path');

const KEY = 'JEST_RUN_TMPDIR';

async function setup() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cdktf-postfix-test-'));
  fs.chmodSync(dir, 0o1777);
  process.env[KEY] = dir;
  process.env.TMPDIR = dir;
}

async function teardown() {
  const dir = process.env[KEY];
  if (dir && path.basename(dir).startsWith('cdktf-postfix-test-')) fs.rmSync(dir, { recursive: true, force: true, maxRetries: 3 });
}

module.exports = { setup, teardown };
