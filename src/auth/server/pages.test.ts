/**
 * HTML of the login and picker pages: everything written into a page is escaped.
 */
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { escapeHtml, loginPage, patientPickerPage } from './pages';

describe('auth server: pages', () => {
  it('escapes any text so it cannot open a tag or leave an attribute (property)', () => {
    fc.assert(
      fc.property(fc.string(), (s) => {
        const e = escapeHtml(s);
        assert.ok(!/[<>"']/.test(e));
        assert.equal(e.replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&quot;/g, '"').replace(/&#39;/g, "'").replace(/&amp;/g, '&'), s);
      }),
    );
  });

  it('escapes client names, scopes, patient names and ids', () => {
    const login = loginPage({ basePath: '/auth', tx: 't', csrf: 'c', clientName: '<script>x</script>', scopes: ['"><img>'] });
    assert.ok(!login.includes('<script>x'));
    assert.ok(!login.includes('"><img>'));
    const picker = patientPickerPage({ basePath: '/auth', tx: 't', csrf: 'c', user: 'u', query: '"><b>', patients: [{ id: 'a"b', name: '<i>n</i>' }] });
    assert.ok(!picker.includes('<i>n</i>'));
    assert.ok(!picker.includes('"><b>'));
    assert.ok(picker.includes('value="a&quot;b"'));
  });
});
