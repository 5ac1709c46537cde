// The TypeScript entry: the construct API (constructs/index.ts, which jsii also compiles for other
// languages) plus the engine and TypeScript-only helper types.
export * from './constructs';
export { sizeLimitSettings } from './lib/model/size';
export type { Size, SizeLimitOptions } from './lib/model/size';
export { PostfixConfigError } from './lib/model/errors';
export type { Bundle, BundleFile, BundleHook } from './lib/model/bundle';
export type { MasterServiceSpec } from './lib/model/master-types';
export type { TlsProfileName } from './lib/model/tls';
export type { TlsFinding } from './lib/model/tls-lint';
export type { ParameterValue, PostfixSettings } from './lib/host/settings';
export { HostBuilder } from './lib/host';
export type { HostBuilderOptions, AccessTableInfo, HeaderChecksInfo, IsUnresolved } from './lib/host';
