/**
 * OAuth 2.0 error responses (RFC 6749 §5.2 token endpoint errors, §4.1.2.1 authorization errors;
 * RFC 6750 §3.1 `invalid_token`, `insufficient_scope`; RFC 7009 §2.2.1; RFC 7662 §2.3; RFC 8628
 * §3.5 `slow_down`, used here with RFC 6585 §4 `429 Too Many Requests` and `Retry-After` when a
 * client, user or address is throttled).
 */
export type OAuthErrorCode =
  | 'invalid_request'
  | 'invalid_client'
  | 'invalid_grant'
  | 'unauthorized_client'
  | 'unsupported_grant_type'
  | 'invalid_scope'
  | 'access_denied'
  | 'unsupported_response_type'
  | 'server_error'
  | 'unsupported_token_type'
  | 'invalid_token'
  | 'insufficient_scope'
  | 'slow_down';

const STATUS: Partial<Record<OAuthErrorCode, number>> = { invalid_client: 401, invalid_token: 401, insufficient_scope: 403, slow_down: 429, server_error: 500 };

export class OAuthError extends Error {
  constructor(
    readonly error: OAuthErrorCode,
    readonly description: string,
    /** HTTP status: 400, or 401 for invalid_client / invalid_token, 403 for insufficient_scope, 429 for slow_down. */
    readonly status: number = STATUS[error] ?? 400,
    /** `Retry-After` seconds (slow_down). */
    readonly retryAfterSeconds?: number,
  ) {
    super(description);
    this.name = 'OAuthError';
  }

  /** Whether the error says that a credential (client assertion, code, refresh token, bearer token) was wrong. */
  get authenticationFailure(): boolean {
    return this.error === 'invalid_client' || this.error === 'invalid_grant' || this.error === 'invalid_token';
  }

  toJSON(): { error: OAuthErrorCode; error_description: string } {
    return { error: this.error, error_description: this.description };
  }
}
