/**
 * Character rules of XML 1.0 (Fifth Edition) used by the FHIR XML writer (FHIR R4 xml.html; XML 1.0
 * §2.2 "Characters", §2.4 "Character Data and Markup", §3.3.3 "Attribute-Value Normalization"):
 * - attribute values are escaped for `&`, `<`, `>`, `"` and for tab, line feed and carriage return,
 *   written as character references so that attribute-value normalisation gives them back unchanged
 *   (a literal line feed in an attribute reads back as a space);
 * - characters XML 1.0 cannot carry at all, not even as references (C0 controls other than tab, LF
 *   and CR, unpaired surrogates, U+FFFE and U+FFFF), are found by `invalidXmlChar`.
 */

const INVALID_XML_CHAR = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF]|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;
const INVALID_XML_CHARS = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF]|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;
const ATTR_SPECIAL = /[&<>"\t\n\r]/;
const ATTR_SPECIALS = /[&<>"\t\n\r]/g;

const ATTR_ESCAPES: Readonly<Record<string, string>> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', '\t': '&#x9;', '\n': '&#xA;', '\r': '&#xD;' };

/** The index of the first character XML 1.0 cannot represent, or -1. */
export function invalidXmlChar(s: string): number {
  const m = INVALID_XML_CHAR.exec(s);
  return m ? m.index : -1;
}

/** `s` with every character XML 1.0 cannot represent replaced by U+FFFD. */
export function replaceInvalidXmlChars(s: string): string {
  return s.replace(INVALID_XML_CHARS, '\uFFFD');
}

/** An attribute value for `name="..."`. */
export function escapeAttribute(s: string): string {
  return ATTR_SPECIAL.test(s) ? s.replace(ATTR_SPECIALS, (c) => ATTR_ESCAPES[c]!) : s;
}
