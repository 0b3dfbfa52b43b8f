import { CSP_NONCE_PLACEHOLDER, POLL_ANSWER_SCRIPT, escapeHtml } from '../../common/index.js';

export interface LoginPageView {
  clientName: string;
  /** Display name of the credential type the wallet presents. */
  credentialName: string;
  /** The OIDC claims the portal will receive (besides its own `sub`). */
  releasedClaims: string[];
  crossDevice: { link: string; qrSvg: string; qrPng: string };
  /** Our URL that makes the same-device request and redirects to its openid4vp:// link. */
  sameDeviceUrl: string;
  statusUrl: string;
  /** Between two polls of the status: within its per-sign-in limit (`pollIntervalMs`). */
  pollMs: number;
  cancelUrl: string;
  /** Shown at once, e.g. after a same-device answer that was refused. */
  notice?: { status: 'rejected' | 'expired'; failedChecks?: string[] };
}

const CLAIM_LABELS: Record<string, string> = {
  family_name: '姓 / family name',
  given_name: '名 / given name',
  birthdate: '出生日期 / date of birth',
  licence_categories: '准驾车型 / licence categories',
  licence_expiry_date: '驾驶证有效期 / licence expiry',
};

/**
 * The login page of the OpenID Provider: the wallet request as a QR code (cross-device) and a link (same
 * device), then a poll of the verdict; on success the browser continues to the portal. The only script is
 * inline with the response's CSP nonce; the page holds no secret (the interaction cookie identifies it).
 */
export function loginPage(view: LoginPageView): string {
  const claims = view.releasedClaims.length
    ? view.releasedClaims.map((claim) => `<li>${escapeHtml(CLAIM_LABELS[claim] ?? claim)}</li>`).join('')
    : '<li>仅登录标识 / only a sign-in identifier for this site</li>';
  const notice = view.notice
    ? `${view.notice.status === 'expired' ? '已过期 / Expired' : '验证失败 / Not accepted'}${
        view.notice.failedChecks?.length ? `: ${view.notice.failedChecks.map(escapeHtml).join(', ')}` : ''
      }`
    : '等待钱包… / Waiting for your wallet…';
  return `<!doctype html>
<html lang="zh-CN">
<head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>使用电子证照登录 / Sign in with your wallet</title>
<style>body{font-family:system-ui,sans-serif;max-width:36rem;margin:2rem auto;padding:0 1rem}#qr svg{width:18rem;height:18rem}
.rejected{color:#b00020}.verified{color:#0a7d25}button{font:inherit}</style>
</head>
<body>
<h1>登录 ${escapeHtml(view.clientName)} / Sign in to ${escapeHtml(view.clientName)}</h1>
<p>用您的钱包出示${escapeHtml(view.credentialName)}。该网站将获得：/ Present your credential from your wallet. The site receives:</p>
<ul data-testid="released-claims">${claims}</ul>
<div id="qr" data-testid="qr" data-link="${escapeHtml(view.crossDevice.link)}">${view.crossDevice.qrSvg}</div>
<p>用另一台设备上的钱包扫码。/ Scan with the wallet on another device.</p>
<p><a id="same-device" data-testid="same-device" href="${escapeHtml(view.sameDeviceUrl)}">在本机钱包中打开 / Open the wallet on this device</a></p>
<p id="status" data-testid="status" data-status="${view.notice?.status ?? 'pending'}" data-failed-checks="${escapeHtml(
    (view.notice?.failedChecks ?? []).join(','),
  )}" aria-live="polite" class="${view.notice ? 'rejected' : ''}">${notice}</p>
<p id="retry" ${view.notice ? '' : 'hidden'}><a href="">重试 / Try again</a></p>
<form method="post" action="${escapeHtml(view.cancelUrl)}"><button type="submit" data-testid="cancel">取消 / Cancel</button></form>
<script nonce="${CSP_NONCE_PLACEHOLDER}">
${POLL_ANSWER_SCRIPT}
const statusUrl = ${JSON.stringify(view.statusUrl)};
const pollMs = ${JSON.stringify(view.pollMs)};
const status = document.getElementById('status');
function show(state, text, failed) {
  status.dataset.status = state;
  status.dataset.failedChecks = (failed || []).join(',');
  status.textContent = text + (failed && failed.length ? ': ' + failed.join(', ') : '');
  status.className = state === 'verified' ? 'verified' : 'rejected';
  document.getElementById('qr').hidden = true;
  document.getElementById('retry').hidden = state === 'verified';
}
// Once the browser leaves (the wallet's same-device return, a reload), this page must not navigate too: a second
// navigation to the provider would cancel the first one's redirects and end on an already-used interaction.
let leaving = false;
// The same-device link's openid4vp: address is handed to an app (or to nothing: no wallet on this device) without
// the page being unloaded: once it is shown again (back from the app), or still shown and never hidden 10 s later
// (no app took it), it was not left; poll again. A real navigation starting meanwhile sets leaving again before any
// answer could move this page.
let hidden = false;
// One polling chain at a time: a resumed one is a new generation, and the old one's pending timer (frozen while the
// page was hidden) ends when it fires.
let generation = 0;
function stayed() {
  if (!leaving || status.dataset.status !== 'pending') return;
  leaving = false;
  generation++;
  poll();
}
addEventListener('beforeunload', () => {
  leaving = true;
  hidden = false;
  setTimeout(() => { if (!hidden && document.visibilityState === 'visible') stayed(); }, 10000);
});
document.addEventListener('visibilitychange', () => {
  if (document.visibilityState === 'hidden') hidden = true;
  else stayed();
});
// Back to this page from the browser's cache: it was left, not closed; poll again.
addEventListener('pageshow', (event) => { if (event.persisted) stayed(); });
function poll() { return pollOnce(generation); }
async function pollOnce(mine) {
  if (leaving || mine !== generation) return;
  // Gone: this browser's sign-in is not there (ended, or another browser's).
  const body = await pollAnswer(statusUrl, { cache: 'no-store', credentials: 'same-origin' }, () => pollOnce(mine), pollMs, () =>
    show('expired', '登录已结束 / This sign-in has ended'),
  );
  if (!body || leaving || mine !== generation) return;
  if (body.status === 'verified' && body.continueTo) {
    show('verified', '验证通过，正在返回 / Verified, continuing…');
    return location.assign(body.continueTo);
  }
  if (body.status === 'ended' && body.continueTo) {
    show('expired', '登录已超时，正在返回 / The sign-in timed out, returning…');
    return location.assign(body.continueTo);
  }
  if (body.status === 'rejected') return show('rejected', '验证失败 / Not accepted', body.failedChecks);
  if (body.status === 'expired') return show('expired', '已过期 / Expired');
  if (body.status === 'gone') return show('expired', '登录已结束 / This sign-in has ended');
  setTimeout(() => pollOnce(mine), pollMs);
}
if (status.dataset.status === 'pending') poll();
</script>
</body>
</html>`;
}
