import assert from 'node:assert/strict';
import fc from 'fast-check';
import { escapeHtml, resourceHtml, safeNarrative } from './html-view';

describe('html-view: escaping and narrative sanitising', () => {
  it('the narrative keeps the R4 XHTML subset and loses scripts, event attributes, javascript: and remote images', () => {
    const out = safeNarrative('<div xmlns="http://www.w3.org/1999/xhtml"><p onclick="x()">A <b>b</b></p><script>alert(1)</script><a href="javascript:alert(1)">j</a><a href="https://example.org/">ok</a><img src="https://evil.example/t.png"/><img src="data:image/png;base64,AA=="/><iframe src="/x"></iframe><style>body{}</style></div>');
    assert.doesNotMatch(out, /script|onclick|javascript:|iframe|style|evil\.example/);
    assert.match(out, /<p>A <b>b<\/b><\/p>/);
    assert.match(out, /<a href="https:\/\/example.org\/">ok<\/a>/);
    assert.match(out, /<img src="data:image\/png;base64,AA==" \/>/);
  });

  it('property: escaped text never carries markup characters; any resource renders without raw markup from its values', () => {
    fc.assert(
      fc.property(fc.string(), (s) => {
        assert.doesNotMatch(escapeHtml(s), /[<>"']/);
      }),
    );
    fc.assert(
      fc.property(fc.dictionary(fc.string({ minLength: 1, maxLength: 8 }), fc.oneof(fc.string(), fc.integer(), fc.array(fc.string(), { maxLength: 3 }))), fc.string(), (fields, id) => {
        const html = resourceHtml({ resourceType: 'Basic', id, ...fields, extra: '<script>x</script>' }, 'http://localhost:8080/fhir', 200);
        assert.doesNotMatch(html, /<script>/);
      }),
    );
  });
});
