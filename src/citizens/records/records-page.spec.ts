import { CSP_NONCE_PLACEHOLDER } from '../../common/index.js';
import { recordsChooserPage, recordsPage, recordsResultPage } from './records-page.js';

const record = (name: string, purpose = 'checks') => ({
  at: '2026-12-01T08:00:00.000Z',
  relyingParty: { id: 'rp-1', name },
  purpose,
  claims: ['expiry_date', 'categories'],
  verified: true,
  auditSeq: 7,
});

describe('records pages', () => {
  it('escapes type names and ids in the chooser', () => {
    const html = recordsChooserPage([{ id: 'a"b', name: '<script>x</script>' }]);
    expect(html).toContain('data-type="a&quot;b"');
    expect(html).toContain('href="?type=a%22b"');
    expect(html).toContain('&lt;script&gt;x&lt;/script&gt;');
    expect(html).not.toContain('<script>');
  });

  it('keeps the read token in the script only, serialised so that it cannot close the element', () => {
    const html = recordsPage({
      typeName: 'Driving licence <b>',
      id: 'id-1',
      readToken: '</script><script>alert(1)</script>',
      link: 'openid4vp://?request_uri=https%3A%2F%2Fx&a="b"',
      qrSvg: '<svg></svg>',
      sameDeviceUrl: 'https://chancery.example/citizens/records/same-device?type=driving-licence',
      statusUrl: 'https://chancery.example/citizens/records/requests/id-1',
      pollMs: 2000,
    });
    // One script element, carrying the nonce placeholder the HTTP platform replaces.
    expect(html.match(/<script/g)).toHaveLength(1);
    expect(html).toContain(`<script nonce="${CSP_NONCE_PLACEHOLDER}">`);
    expect(html).toContain('\\u003c/script>\\u003cscript>alert(1)\\u003c/script>');
    expect(html).toContain('data-link="openid4vp://?request_uri=https%3A%2F%2Fx&amp;a=&quot;b&quot;"');
    expect(html).toContain('Driving licence &lt;b&gt;');
    // No URL of the page or its links carries the token.
    expect(html).not.toMatch(/href="[^"]*readToken/);
    expect(html).toContain('<meta name="referrer" content="no-referrer">');
  });

  it('renders the same-device outcome on the server, escaped, without a script', () => {
    const verified = recordsResultPage(
      {
        status: 'verified',
        credential: { type: 'driving-licence', issuer: 'did:ethr:0x1' },
        records: [record('Hotel <b>酒店</b>', 'a & b'), record('Bank')],
      },
      'https://chancery.example/citizens/records',
    );
    expect(verified).not.toContain('<script');
    expect(verified).toContain('data-status="verified"');
    expect(verified.match(/data-testid="record"/g)).toHaveLength(2);
    expect(verified).toContain('Hotel &lt;b&gt;酒店&lt;/b&gt;');
    expect(verified).toContain('a &amp; b');
    expect(verified).toContain('expiry_date, categories');
    expect(verified).toMatch(/id="empty" data-testid="empty" hidden/);

    const none = recordsResultPage(
      { status: 'verified', credential: { type: 'driving-licence', issuer: 'did:ethr:0x1' }, records: [] },
      '/citizens/records',
    );
    expect(none).toMatch(/id="empty" data-testid="empty" >/);

    const rejected = recordsResultPage({ status: 'rejected', reason: '<i>no</i>' }, '/citizens/records');
    expect(rejected).toContain('data-status="rejected"');
    expect(rejected).toContain('&lt;i&gt;no&lt;/i&gt;');
    expect(rejected).not.toContain('data-testid="record"');
    expect(recordsResultPage({ status: 'expired' }, '/citizens/records')).toContain('Expired');
  });
});
