// The TypeScript entry: the construct API (constructs/index.ts, which jsii also compiles for other
// languages) plus the engine and TypeScript-only helper types.
export * from './constructs';
export { sizeLimitSettings } from './lib/model/size';
export type { Size, SizeLimitOptions } from './lib/model/size';
export { PostfixConfigError } from './lib/model/errors';
export { CdktfPostfixError, ConfigurationError, UsageError, ApplyError, exitCodeOf } from './lib/errors';
export { SshError } from './lib/transport/ssh';
export { PostfixNotRunningError } from './lib/ops/queue';
export { applyErrorOf } from './lib/apply/report';
export type { Bundle, BundleFile, BundleHook } from './lib/model/bundle';
export type { MasterServiceSpec } from './lib/model/master-types';
export type { TlsProfileName } from './lib/model/tls';
export type { TlsFinding } from './lib/model/tls-lint';
export type { ParameterValue, PostfixSettings } from './lib/host/settings';
export { HostBuilder } from './lib/host';
export type { HostBuilderOptions, AccessTableInfo, HeaderChecksInfo, IsUnresolved } from './lib/host';
export { CDK_FLAVOUR } from './constructs/cdk';
export { TLS_LINT_RULES } from './lib/model/tls-lint';
export type { TlsCertificateSource } from './lib/model/tls-certificates';
export type { AccessEntry } from './lib/model/access';
export type { HostStateSnapshot, DesiredFile } from './lib/model/host-state';
export type { RenderedBundle, BundleAsset } from './lib/render/bundle';
export type { IndexedTableType, TlsCheckSpec } from './lib/model/bundle';
