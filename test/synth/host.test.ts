import { App, Testing, TerraformStack } from 'cdktf';
import { PostfixHost, Submission, Submissions } from '../../index';

function synthHost(props: Partial<ConstructorParameters<typeof PostfixHost>[2]> = {}) {
  const app = Testing.app();
  const stack = new TerraformStack(app, 'test');
  const host = new PostfixHost(stack, 'mx1', { connection: { host: '192.0.2.10', privateKeyPath: '/keys/id', knownHostsPath: '/keys/kh' }, settings: { myhostname: 'mx1.example.org', message_size_limit: 25_000_000 }, ...props });
  return { app, stack, host };
}

test('synth', () => {
  const { stack, host } = synthHost();
  host.addService(Submission.starttls());
  host.addService(Submissions.implicitTls());
  const out = Testing.synth(stack);
  console.log(out);
});
void App;
