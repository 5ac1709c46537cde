/** The cdktf-free core: one host's desired state, added in any order, composed once into a bundle. */
export { HostBuilder, DEFAULT_CONFIG_DIRECTORY } from './builder';
export type { HostBuilderOptions } from './builder';
export type { AccessTableInfo, AccessTableProps } from './access-table';
export type { AliasEntry, AliasesPlan, AliasesProps } from './aliases';
export type { LookupTableEntry, LookupTableInfo, LookupTableProps } from './lookup-table';
export type { HeaderChecksInfo, HeaderChecksProps, OnSubmissionOptions } from './header-checks';
export type { TlsPolicyPlan, TlsPolicyProps } from './tls-policy';
export type { PostscreenDnsblSite, PostscreenPlan, PostscreenProps } from './postscreen';
export type { DkimSigningPlan, DkimSigningProps } from './dkim';
export type { DhParametersPlan, DhParametersProps, DhRotation } from './dh';
export type { ForwardingProps, DeliverySource } from './forwarding';
export type { TlsCheckAfterApply } from './compose';
export type { ParameterValue, PostfixSettings } from './settings';
export type { PostfixConnection, JumpHostConnection } from './connection';
export type { IsUnresolved } from './unresolved';
export type { SmartHostPlan, SmartHostProps } from './smarthost';
export { smtpEndpoints } from './endpoints';
export type { SmtpEndpoint, EndpointInput } from './endpoints';
