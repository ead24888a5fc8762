/**
 * A readable HTML view of FHIR answers for people using a browser (`Accept: text/html`, or
 * `_format=html`): FHIR R4 http.html §3.1.0.1.10 ("servers may support HTML as a format for human
 * readers"). It covers:
 * - the base page, with the resource types (and how many of each the caller may see) and the
 *   operations of the CapabilityStatement;
 * - a resource page, with its narrative (R4 narrative.html, sanitised to the XHTML the narrative
 *   rules allow), its fields and links to what it references;
 * - a Bundle page, with its entries and its paging links;
 * - an OperationOutcome page, for errors.
 * Every value is escaped. The page carries no script, and its Content-Security-Policy
 * (`HTML_CSP`) forbids scripts, plugins, frames and remote content.
 */
import sanitizeHtml from 'sanitize-html';

export const HTML_CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; frame-ancestors 'none'; base-uri 'none'; form-action 'self'";

export function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] ?? c);
}

/** The narrative `div` as safe XHTML: the R4 narrative subset (no scripts, forms, event attributes, remote images). */
export function safeNarrative(div: string): string {
  return sanitizeHtml(div, {
    allowedTags: ['div', 'p', 'br', 'hr', 'span', 'b', 'i', 'u', 'em', 'strong', 'small', 'big', 'sub', 'sup', 'tt', 'code', 'pre', 'blockquote', 'q', 'cite', 'abbr', 'acronym', 'dfn', 'kbd', 'samp', 'var', 'h1', 'h2', 'h3', 'h4', 'h5', 'h6', 'ul', 'ol', 'li', 'dl', 'dt', 'dd', 'table', 'caption', 'thead', 'tbody', 'tfoot', 'tr', 'th', 'td', 'col', 'colgroup', 'a', 'img', 'address', 'bdo'],
    allowedAttributes: { a: ['href', 'name', 'title'], img: ['src', 'alt', 'title', 'width', 'height'], td: ['colspan', 'rowspan'], th: ['colspan', 'rowspan'], '*': ['title', 'lang', 'dir'] },
    allowedSchemes: ['http', 'https'],
    allowedSchemesByTag: { img: ['data'] },
    allowProtocolRelative: false,
  });
}

const STYLE = `body{font-family:system-ui,sans-serif;margin:1.5rem auto;max-width:64rem;padding:0 1rem;color:#222}
h1{font-size:1.4rem}table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:.25rem .5rem;vertical-align:top;text-align:left}
.narrative{border:1px solid #9ab;padding:.5rem 1rem;margin:1rem 0;background:#f8fbfd}.k{color:#555}nav a{margin-right:1rem}
dl.fields{margin:0}dl.fields dt{font-weight:600;margin-top:.25rem}dl.fields dd{margin-left:1.25rem}.error{color:#a00}`;

function page(title: string, base: string, body: string): string {
  return `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(title)}</title><style>${STYLE}</style></head>
<body><nav><a href="${escapeHtml(base)}">FHIR server</a><a href="${escapeHtml(`${base}/metadata`)}">CapabilityStatement</a></nav>
<h1>${escapeHtml(title)}</h1>
${body}
</body></html>
`;
}

const REFERENCE_RE = /^[A-Z][A-Za-z]+\/[A-Za-z0-9\-.]{1,64}(\/_history\/[A-Za-z0-9\-.]{1,64})?$/;

/** A link for a reference or URL the page may point at: relative references and this server's URLs only. */
function hrefFor(value: string, base: string): string | undefined {
  if (REFERENCE_RE.test(value)) return `${base}/${value}`;
  if (value.startsWith(`${base}/`) || value === base) return value;
  return undefined;
}

function scalar(key: string, value: unknown, base: string): string {
  const text = typeof value === 'string' ? value : JSON.stringify(value);
  const href = typeof value === 'string' && (key === 'reference' || key === 'fullUrl' || key === 'url') ? hrefFor(value, base) : undefined;
  return href ? `<a href="${escapeHtml(href)}">${escapeHtml(text)}</a>` : escapeHtml(text);
}

/** Nested fields as definition lists (the narrative `text.div` is shown apart). */
function fields(value: unknown, base: string, key = '', depth = 0): string {
  if (depth > 30) return '…';
  if (Array.isArray(value)) {
    if (value.every((v) => typeof v !== 'object' || v === null)) return value.map((v) => scalar(key, v, base)).join(', ');
    return `<ol>${value.map((v) => `<li>${fields(v, base, key, depth + 1)}</li>`).join('')}</ol>`;
  }
  if (typeof value === 'object' && value !== null) {
    const entries = Object.entries(value).filter(([k]) => !(depth === 0 && (k === 'text' || k === 'resourceType')));
    if (entries.length === 0) return '';
    return `<dl class="fields">${entries.map(([k, v]) => `<dt>${escapeHtml(k)}</dt><dd>${fields(v, base, k, depth + 1)}</dd>`).join('')}</dl>`;
  }
  return scalar(key, value, base);
}

type Json = Record<string, unknown>;

function narrativeOf(resource: Json): string {
  const div = (resource['text'] as { div?: unknown } | undefined)?.div;
  return typeof div === 'string' ? `<section class="narrative" aria-label="Narrative">${safeNarrative(div)}</section>` : '';
}

function bundlePage(bundle: Json, base: string): string {
  const links = (bundle['link'] as Array<{ relation?: string; url?: string }> | undefined) ?? [];
  const nav = links
    .filter((l) => l.relation !== undefined && l.url !== undefined && l.relation !== 'self')
    .map((l) => {
      const href = hrefFor(l.url ?? '', base);
      return href ? `<a rel="${escapeHtml(l.relation ?? '')}" href="${escapeHtml(href)}">${escapeHtml(l.relation ?? '')}</a>` : '';
    })
    .join(' ');
  const entries = (bundle['entry'] as Array<{ fullUrl?: string; resource?: Json; search?: { mode?: string; score?: number }; response?: { status?: string } }> | undefined) ?? [];
  const rows = entries
    .map((e, i) => {
      const r = e.resource;
      const label = r ? `${String(r['resourceType'])}/${String(r['id'] ?? '')}` : (e.fullUrl ?? `entry ${i + 1}`);
      const href = (e.fullUrl !== undefined ? hrefFor(e.fullUrl, base) : undefined) ?? (r ? hrefFor(label, base) : undefined);
      const summary = r ? summaryOf(r) : (e.response?.status ?? '');
      return `<tr><td>${i + 1}</td><td>${href ? `<a href="${escapeHtml(href)}">${escapeHtml(label)}</a>` : escapeHtml(label)}</td><td>${escapeHtml(summary)}</td><td>${escapeHtml(e.search?.mode ?? '')}</td></tr>`;
    })
    .join('');
  const total = bundle['total'] !== undefined ? `<p>Total: ${escapeHtml(String(bundle['total']))}</p>` : '';
  return `<p class="k">Bundle of type ${escapeHtml(String(bundle['type'] ?? ''))}, ${entries.length} entries on this page</p>${total}
${nav ? `<nav aria-label="Pages">${nav}</nav>` : ''}
<table><thead><tr><th>#</th><th>Resource</th><th>Summary</th><th>Mode</th></tr></thead><tbody>${rows}</tbody></table>`;
}

/** A one-line human summary: a name, code display or title where the resource has one. */
function summaryOf(r: Json): string {
  const name = (r['name'] as Array<{ text?: string; family?: string; given?: string[] }> | string | undefined) ?? undefined;
  if (typeof name === 'string') return name;
  if (Array.isArray(name) && name[0]) return name[0].text ?? [...(name[0].given ?? []), name[0].family ?? ''].join(' ').trim();
  const code = r['code'] as { text?: string; coding?: Array<{ display?: string; code?: string }> } | undefined;
  if (code) return code.text ?? code.coding?.[0]?.display ?? code.coding?.[0]?.code ?? '';
  if (typeof r['title'] === 'string') return r['title'];
  return typeof r['status'] === 'string' ? r['status'] : '';
}

function outcomePage(oo: Json): string {
  const issues = (oo['issue'] as Array<{ severity?: string; code?: string; diagnostics?: string; expression?: string[]; details?: { coding?: Array<{ code?: string }> } }> | undefined) ?? [];
  return `<table><thead><tr><th>Severity</th><th>Code</th><th>Details</th><th>Where</th></tr></thead><tbody>${issues
    .map((i) => `<tr><td class="${i.severity === 'error' || i.severity === 'fatal' ? 'error' : ''}">${escapeHtml(i.severity ?? '')}</td><td>${escapeHtml([i.code, i.details?.coding?.[0]?.code].filter(Boolean).join(' / '))}</td><td>${escapeHtml(i.diagnostics ?? '')}</td><td>${escapeHtml((i.expression ?? []).join(', '))}</td></tr>`)
    .join('')}</tbody></table>`;
}

/** The HTML page of any FHIR answer (a resource, a Bundle, an OperationOutcome). */
export function resourceHtml(value: unknown, base: string, status: number): string {
  const r = (typeof value === 'object' && value !== null ? value : {}) as Json;
  const type = String(r['resourceType'] ?? 'Answer');
  if (type === 'OperationOutcome') return page(status >= 400 ? `Error ${status}` : 'Outcome', base, `${narrativeOf(r)}${outcomePage(r)}`);
  const title = r['id'] !== undefined ? `${type}/${String(r['id'])}` : type;
  if (type === 'Bundle') return page(title, base, `${bundlePage(r, base)}`);
  const history = r['id'] !== undefined ? `<p><a href="${escapeHtml(`${base}/${type}/${String(r['id'])}/_history`)}">History</a> · <a href="${escapeHtml(`${base}/${type}/${String(r['id'])}?_format=json`)}">JSON</a></p>` : '';
  return page(title, base, `${history}${narrativeOf(r)}<h2>Fields</h2>${fields(r, base)}`);
}

export interface HomeType {
  type: string;
  count: number | undefined;
  interactions: string[];
  operations: string[];
}

/** The base page: the resource types the CapabilityStatement lists, their counts, and the system operations. */
export function homeHtml(base: string, software: string, types: HomeType[], systemOperations: string[]): string {
  const rows = types
    .map((t) => `<tr><td><a href="${escapeHtml(`${base}/${t.type}`)}">${escapeHtml(t.type)}</a></td><td>${t.count === undefined ? '–' : String(t.count)}</td><td>${escapeHtml(t.interactions.join(', '))}</td><td>${escapeHtml(t.operations.map((o) => `$${o}`).join(', '))}</td></tr>`)
    .join('');
  return page(
    software,
    base,
    `<p>FHIR R4 base: <code>${escapeHtml(base)}</code>. Add <code>?_format=json</code> to any page for the JSON.</p>
<h2>System operations</h2><p>${escapeHtml(systemOperations.map((o) => `$${o}`).join(', ') || 'none')}</p>
<h2>Resource types</h2>
<table><thead><tr><th>Type</th><th>Resources</th><th>Interactions</th><th>Operations</th></tr></thead><tbody>${rows}</tbody></table>`,
  );
}
