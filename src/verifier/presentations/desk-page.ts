import { CSP_NONCE_PLACEHOLDER, POLL_ANSWER_SCRIPT, escapeHtml } from '../../common/index.js';

/**
 * The relying party's desk: shows the QR code, then polls for the verdict and shows the disclosed claims.
 * No API key reaches the browser; the page holds only this request's view token.
 */
export function deskPage(options: {
  id: string;
  viewToken: string;
  partyName: string;
  purpose: string;
  link: string;
  qrSvg: string;
  /** Between two polls of the verdict: within its per-request limit (`pollIntervalMs`). */
  pollMs: number;
}): string {
  const { id, viewToken, partyName, purpose, link, qrSvg, pollMs } = options;
  return `<!doctype html>
<html lang="zh-CN">
<head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(partyName)} — 出示电子证照 / Present your credential</title>
<style>body{font-family:system-ui,sans-serif;max-width:36rem;margin:2rem auto;padding:0 1rem}#qr svg{width:20rem;height:20rem}
.verified{color:#0a7d25}.rejected{color:#b00020}dl{display:grid;grid-template-columns:auto 1fr;gap:.3rem 1rem}</style>
</head>
<body>
<h1>${escapeHtml(partyName)}</h1>
<p>${escapeHtml(purpose)}</p>
<div id="qr" data-testid="qr">${qrSvg}</div>
<p><a id="same-device" href="${escapeHtml(link)}">在本机钱包中打开 / Open in a wallet on this device</a></p>
<h2 id="verdict" data-testid="verdict" aria-live="polite">等待扫码… / Waiting for the wallet…</h2>
<dl id="claims" data-testid="claims"></dl>
<script nonce="${CSP_NONCE_PLACEHOLDER}">
${POLL_ANSWER_SCRIPT}
// Same-device flow: the wallet sent the citizen back here with a response_code; without it the verdict
// of a same-device request is not released.
const code = new URLSearchParams(location.search).get('response_code');
const url = ${JSON.stringify(`/rp/requests/${id}/verdict?view=${encodeURIComponent(viewToken)}`)} + (code ? '&response_code=' + encodeURIComponent(code) : '');
const pollMs = ${JSON.stringify(pollMs)};
function ended() {
  document.getElementById('qr').hidden = true;
  document.getElementById('verdict').textContent = '此请求已结束 / This request has ended';
}
async function poll() {
  // Gone: no such request, a wrong token or a purged verdict.
  const body = await pollAnswer(url, { cache: 'no-store' }, poll, pollMs, ended);
  if (!body) return;
  if (body.status === 'pending') return setTimeout(poll, pollMs);
  if (body.responseCodeRequired) {
    document.getElementById('qr').hidden = true;
    document.getElementById('verdict').textContent = '已在钱包设备上完成 / Answered on the citizen device: open the link the wallet returned to see the verdict';
    return;
  }
  const verdict = document.getElementById('verdict');
  document.getElementById('qr').hidden = true;
  if (body.status === 'verified') {
    verdict.textContent = '验证通过 / Verified';
    verdict.className = 'verified';
    const list = document.getElementById('claims');
    for (const credential of body.result.credentials.filter((entry) => !entry.discarded)) {
      for (const [name, value] of Object.entries(credential.claims || {})) {
        const term = document.createElement('dt');
        term.textContent = name;
        const detail = document.createElement('dd');
        detail.textContent = Array.isArray(value) ? value.join(', ') : String(value);
        list.append(term, detail);
      }
    }
  } else {
    verdict.textContent = (body.status === 'expired' ? '已过期 / Expired' : '验证失败 / Rejected') + (body.result && body.result.reason ? ': ' + body.result.reason : '');
    verdict.className = 'rejected';
  }
}
poll();
</script>
</body>
</html>`;
}
