/**
 * The HTML pages of the built-in authorization server (SMART App Launch 2.0.0 app-launch.html
 * "Obtain authorization code": the user logs in and, for `launch/patient`, picks a patient).
 *
 * Plain HTML forms usable in any browser, without scripts. Every value written into a page goes
 * through `escapeHtml`; every form carries the per-request CSRF token.
 */

export function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] ?? c);
}

function layout(title: string, body: string): string {
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(title)}</title>
<style>
body { font-family: system-ui, sans-serif; max-width: 36rem; margin: 2rem auto; padding: 0 1rem; color: #222; }
label { display: block; margin: .75rem 0 .25rem; }
input[type=text], input[type=password], input[type=search] { width: 100%; padding: .4rem; box-sizing: border-box; }
button { margin-top: 1rem; padding: .4rem 1rem; }
.error { color: #a00; border: 1px solid #a00; padding: .5rem; }
ul.patients { list-style: none; padding: 0; }
ul.patients li { margin: .5rem 0; }
small { color: #555; }
</style>
</head>
<body>
<h1>${escapeHtml(title)}</h1>
${body}
</body>
</html>
`;
}

function hidden(name: string, value: string): string {
  return `<input type="hidden" name="${escapeHtml(name)}" value="${escapeHtml(value)}">`;
}

export interface LoginPage {
  basePath: string;
  tx: string;
  csrf: string;
  clientName: string;
  scopes: string[];
  error?: string;
  username?: string;
}

export function loginPage(p: LoginPage): string {
  const error = p.error !== undefined ? `<p class="error" role="alert">${escapeHtml(p.error)}</p>` : '';
  const scopes = p.scopes.map((s) => `<li><code>${escapeHtml(s)}</code></li>`).join('');
  return layout(
    'Sign in',
    `<p><strong>${escapeHtml(p.clientName)}</strong> asks for access to:</p>
<ul>${scopes}</ul>
${error}
<form method="post" action="${escapeHtml(p.basePath)}/login">
${hidden('tx', p.tx)}
${hidden('csrf', p.csrf)}
<label for="username">User name</label>
<input type="text" id="username" name="username" autocomplete="username" required value="${escapeHtml(p.username ?? '')}">
<label for="password">Password</label>
<input type="password" id="password" name="password" autocomplete="current-password" required>
<button type="submit" name="action" value="login" id="login">Sign in and allow</button>
</form>
<form method="post" action="${escapeHtml(p.basePath)}/login">
${hidden('tx', p.tx)}
${hidden('csrf', p.csrf)}
<button type="submit" name="action" value="deny" id="deny">Deny</button>
</form>`,
  );
}

export interface PatientChoice {
  id: string;
  name: string;
  birthDate?: string;
}

export interface PickerPage {
  basePath: string;
  tx: string;
  csrf: string;
  user: string;
  query: string;
  patients: PatientChoice[];
  error?: string;
}

export function patientPickerPage(p: PickerPage): string {
  const error = p.error !== undefined ? `<p class="error" role="alert">${escapeHtml(p.error)}</p>` : '';
  const items =
    p.patients.length === 0
      ? '<p>No patient matches.</p>'
      : `<ul class="patients">${p.patients
          .map(
            (pt) =>
              `<li><button type="submit" name="patient" value="${escapeHtml(pt.id)}" data-patient="${escapeHtml(pt.id)}">${escapeHtml(pt.name)}</button> <small>${escapeHtml(pt.birthDate ?? '')} Patient/${escapeHtml(pt.id)}</small></li>`,
          )
          .join('')}</ul>`;
  return layout(
    'Choose a patient',
    `<p>Signed in as ${escapeHtml(p.user)}.</p>
<form method="get" action="${escapeHtml(p.basePath)}/picker">
${hidden('tx', p.tx)}
<label for="name">Search by name</label>
<input type="search" id="name" name="name" value="${escapeHtml(p.query)}">
<button type="submit" id="search">Search</button>
</form>
${error}
<form method="post" action="${escapeHtml(p.basePath)}/pick">
${hidden('tx', p.tx)}
${hidden('csrf', p.csrf)}
${items}
</form>`,
  );
}

export function errorPage(title: string, message: string): string {
  return layout(title, `<p class="error" role="alert">${escapeHtml(message)}</p>`);
}

export interface DevCallbackPage {
  code?: string;
  state?: string;
  error?: string;
  errorDescription?: string;
  /** The token endpoint and the redirect URI the code must be exchanged with. */
  tokenEndpoint: string;
  redirectUri: string;
  clientId: string;
}

/**
 * The development client's redirect target (`<issuer>/dev-callback`): shows the authorization code
 * and the command that exchanges it (the verifier stays on the operator's console, never on a page).
 */
export function devCallbackPage(p: DevCallbackPage): string {
  if (p.error !== undefined) {
    return layout('Authorization refused', `<p class="error">${escapeHtml(p.error)}${p.errorDescription !== undefined ? `: ${escapeHtml(p.errorDescription)}` : ''}</p>`);
  }
  if (p.code === undefined) return layout('No authorization code', '<p class="error">This page is the redirect target of the development client; it was opened without a <code>code</code>.</p>');
  const command = `curl -X POST ${p.tokenEndpoint} -d grant_type=authorization_code -d client_id=${p.clientId} -d redirect_uri=${p.redirectUri} -d code=${p.code} -d code_verifier=$VERIFIER`;
  return layout(
    'Authorization code',
    `<p>Code: <code id="code">${escapeHtml(p.code)}</code>${p.state !== undefined ? ` <small>(state ${escapeHtml(p.state)})</small>` : ''}</p>
<p>Exchange it within a minute, in the shell where you exported <code>VERIFIER</code> (printed by <code>npm start</code>):</p>
<pre id="exchange">${escapeHtml(command)}</pre>
<p><small>The answer's <code>access_token</code> goes in the header <code>Authorization: Bearer &lt;access_token&gt;</code>.</small></p>`,
  );
}
