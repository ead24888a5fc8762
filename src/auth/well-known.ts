/**
 * SMART discovery document (SMART App Launch 2.0.0 conformance.html, "Metadata":
 * `[base]/.well-known/smart-configuration`) and the endpoints of the authorization server it names.
 *
 * The built-in authorization server lives at `<origin of BASE_URL>/auth` (AUTH_ISSUER); with an
 * external issuer (AUTH_JWKS_URL) the same endpoint paths below AUTH_ISSUER are advertised and
 * `jwks_uri` is AUTH_JWKS_URL.
 */
import type { Config } from '../config/config';

/** The endpoints of the authorization server (`${issuer}/authorize`, ...). */
export interface OAuthEndpoints {
  issuer: string;
  authorize: string;
  token: string;
  introspect: string;
  revoke: string;
  jwks: string;
  launch: string;
}

export function oauthEndpoints(config: Pick<Config, 'authIssuer' | 'authJwksUrl'>): OAuthEndpoints {
  const iss = config.authIssuer;
  return {
    issuer: iss,
    authorize: `${iss}/authorize`,
    token: `${iss}/token`,
    introspect: `${iss}/introspect`,
    revoke: `${iss}/revoke`,
    jwks: config.authJwksUrl ?? `${iss}/jwks`,
    launch: `${iss}/launch`,
  };
}

/** The SMART capabilities the server (resource server plus built-in authorization server) supports. */
export const SMART_CAPABILITIES: readonly string[] = [
  'launch-ehr',
  'launch-standalone',
  'client-public',
  'client-confidential-asymmetric',
  'context-ehr-patient',
  'context-standalone-patient',
  'sso-openid-connect',
  'permission-offline',
  'permission-patient',
  'permission-user',
  'permission-v1',
  'permission-v2',
];

export const SCOPES_SUPPORTED: readonly string[] = [
  'openid',
  'fhirUser',
  'launch',
  'launch/patient',
  'offline_access',
  'online_access',
  'patient/*.cruds',
  'patient/*.rs',
  'user/*.cruds',
  'user/*.rs',
  'system/*.cruds',
  'system/*.rs',
  'patient/*.read',
  'patient/*.write',
  'user/*.read',
  'user/*.write',
  'system/*.read',
  'system/*.write',
];

/** The JSON served at `[base]/.well-known/smart-configuration`. */
export function smartConfiguration(config: Pick<Config, 'authIssuer' | 'authJwksUrl'>): Record<string, unknown> {
  const e = oauthEndpoints(config);
  return {
    // `issuer` and `jwks_uri` are present because `sso-openid-connect` is a capability.
    issuer: e.issuer,
    jwks_uri: e.jwks,
    authorization_endpoint: e.authorize,
    token_endpoint: e.token,
    introspection_endpoint: e.introspect,
    revocation_endpoint: e.revoke,
    grant_types_supported: ['authorization_code', 'client_credentials', 'refresh_token'],
    response_types_supported: ['code'],
    scopes_supported: [...SCOPES_SUPPORTED],
    code_challenge_methods_supported: ['S256'],
    // What the token endpoint accepts: public clients (`none`: client_id alone, or nothing at all on a
    // refresh) and asymmetric client authentication (`private_key_jwt`); no client secrets.
    token_endpoint_auth_methods_supported: ['none', 'private_key_jwt'],
    token_endpoint_auth_signing_alg_values_supported: ['RS384', 'ES384', 'RS256'],
    capabilities: [...SMART_CAPABILITIES],
  };
}
