/**
 * The stack the apply and fleet benches deploy: one PostfixHost per lab host, configured like
 * examples/mail-host (host name, size limit, banner, submission and submissions).
 */
'use strict';
const fs = require('fs');
const path = require('path');

/**
 * Synthesizes it into a new directory under `work` with the given build's modules; `backend`
 * (optional) gets the stack and its outdir, e.g. to keep Terraform's state beside it.
 * Returns the synthesized stack's directory.
 */
function synthMailStack(root, work, hosts, backend) {
  const { App, TerraformStack } = require(path.join(root, 'node_modules/cdktf'));
  const { PostfixHost, Submission, Submissions } = require(path.join(root, 'dist/index.js'));
  const outdir = fs.mkdtempSync(path.join(work, 'stack-'));
  const app = new App({ outdir });
  const stack = new TerraformStack(app, 'mail');
  if (backend) backend(stack, outdir);
  hosts.forEach((h, i) => {
    const host = new PostfixHost(stack, `mx${i + 1}`, {
      connection: { host: h.address, user: 'root', privateKeyPath: h.privateKeyPath, knownHostsPath: h.knownHostsPath },
      settings: { myhostname: h.hostname, message_size_limit: 25_000_000, smtpd_banner: '$myhostname ESMTP' },
    });
    host.addService(Submission.starttls());
    host.addService(Submissions.implicitTls());
  });
  app.synth();
  return path.join(outdir, 'stacks', 'mail');
}

module.exports = { synthMailStack };
