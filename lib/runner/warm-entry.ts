/**
 * The heavy half of the single-file runner: the apply itself and the warm runner's server. The build
 * (scripts/bundle-runner.js) bundles this module on its own and embeds it, as text, in the client
 * (client.ts), which compiles it only when it must apply in-process or serve as the warm runner.
 */
export { runnerMain } from '../apply/runner';
export { serveWarmRunner, serveWhileApplying } from './server';
