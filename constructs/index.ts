// The construct API: what jsii compiles for Python, Go, Java and C# (scripts/jsii.js), and what the
// TypeScript entry (index.ts) re-exports next to the engine.
export * from './postfix-host';
export * from './master-service';
export * from './tls-policy';
export * from './dh-parameters';
export * from './tls-lint';
export * from './access-table';
export * from './header-checks';
export * from './forwarding';
export * from './lookup-table';
export * from './aliases';
export * from './smarthost-relay';
export * from './presets';
export * from './dkim-signing';
export * from './mail-dns-records';
export * from './postscreen';
