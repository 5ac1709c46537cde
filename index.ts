export * from './constructs/postfix-host';
export * from './constructs/master-service';
export { PostfixConfigError } from './lib/model/errors';
export type { Bundle, BundleFile, BundleHook } from './lib/model/bundle';
export type { MasterServiceSpec, ServiceType } from './lib/model/master-types';
