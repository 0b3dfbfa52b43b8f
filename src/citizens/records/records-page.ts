import { CSP_NONCE_PLACEHOLDER, POLL_ANSWER_SCRIPT, escapeHtml } from '../../common/index.js';
import type { RecordsOutcome } from './records.service.js';

/** JSON for a script element: `<` escaped so that no value can close the element. */
const scriptJson = (value: unknown) => JSON.stringify(value).replace(/</g, '\\u003c');

const head = (title: string) => `<!doctype html>
<html lang="zh-CN">
<head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>${escapeHtml(title)}</title>
<style>body{font-family:system-ui,sans-serif;max-width:48rem;margin:2rem auto;padding:0 1rem}#qr svg{width:18rem;height:18rem}
.rejected{color:#b00020}.verified{color:#0a7d25}table{border-collapse:collapse;width:100%}
th,td{border-bottom:1px solid #ddd;padding:.3rem .5rem;text-align:left;vertical-align:top}</style>
</head>
<body>
<h1>用证记录 / My credential records</h1>
`;

/** The type chooser: one link per SD-JWT credential type a holder can look up. */
export function recordsChooserPage(types: { id: string; name: string }[]): string {
  const items = types
    .map(
      (type) =>
        `<li><a data-type="${escapeHtml(type.id)}" href="?type=${encodeURIComponent(type.id)}">${escapeHtml(type.name)}</a></li>`,
    )
    .join('');
  return `${head('用证记录 / My credential records')}<p>选择要查看使用记录的证照。/ Choose the credential whose use you want to see.</p>
<ul data-testid="types">${items}</ul>
</body>
</html>`;
}

export interface RecordsPageView {
  typeName: string;
  id: string;
  /** The capability to read this request's outcome: only in the page body (no-store), never in a URL we show. */
  readToken: string;
  link: string;
  qrSvg: string;
  /** Our URL that makes the same-device request and redirects to its openid4vp:// link. */
  sameDeviceUrl: string;
  statusUrl: string;
  /** Between two polls of the outcome: within both limits on them (`pollIntervalMs`). */
  pollMs: number;
}

/**
 * The records page: the request as a QR code (wallet on another device) and a same-device link, then a poll
 * of the outcome; the table is built with DOM text nodes (no HTML from the server's JSON). The only script is
 * inline with the response's CSP nonce.
 */
export function recordsPage(view: RecordsPageView): string {
  return `${head('用证记录 / My credential records')}<p>用您的钱包出示${escapeHtml(view.typeName)}，即可查看它被哪些机构查验过。/ Present this credential from your wallet to see who checked it.</p>
<div id="qr" data-testid="qr" data-link="${escapeHtml(view.link)}">${view.qrSvg}</div>
<p>用另一台设备上的钱包扫码。/ Scan with the wallet on another device.</p>
<p><a id="same-device" data-testid="same-device" href="${escapeHtml(view.sameDeviceUrl)}">在本机钱包中打开 / Open the wallet on this device</a></p>
<p id="status" data-testid="status" data-status="pending" aria-live="polite">等待钱包… / Waiting for your wallet…</p>
${recordsTable([])}
<p id="retry" hidden><a href="">重试 / Try again</a></p>
<script nonce="${CSP_NONCE_PLACEHOLDER}">
${POLL_ANSWER_SCRIPT}
const request = ${scriptJson({ url: view.statusUrl, readToken: view.readToken, pollMs: view.pollMs })};
const status = document.getElementById('status');
function show(state, text) {
  status.dataset.status = state;
  status.textContent = text;
  status.className = state === 'verified' ? 'verified' : 'rejected';
  document.getElementById('qr').hidden = true;
  document.getElementById('same-device').hidden = true;
  document.getElementById('retry').hidden = state === 'verified';
}
function cell(row, text) {
  const td = document.createElement('td');
  td.textContent = text;
  row.append(td);
}
function render(body) {
  const rows = document.getElementById('records-rows');
  for (const record of body.records) {
    const row = document.createElement('tr');
    row.dataset.testid = 'record';
    cell(row, new Date(record.at).toLocaleString());
    cell(row, record.relyingParty.name);
    cell(row, record.purpose);
    cell(row, record.claims.join(', '));
    cell(row, record.verified ? '通过 / verified' : '未通过 / refused');
    rows.append(row);
  }
  document.getElementById('records').hidden = false;
  document.getElementById('empty').hidden = body.records.length > 0;
}
async function poll() {
  const body = await pollAnswer(
    request.url + '?readToken=' + encodeURIComponent(request.readToken),
    { cache: 'no-store', credentials: 'omit', referrerPolicy: 'no-referrer' },
    poll,
    request.pollMs,
    () => show('expired', '此查询已失效 / This lookup has ended'),
  );
  if (!body) return;
  if (body.status === 'verified') {
    show('verified', '验证通过 / Verified: ' + body.credential.type);
    return render(body);
  }
  if (body.status === 'rejected') return show('rejected', '验证失败 / Not accepted: ' + (body.reason || ''));
  if (body.status === 'expired') return show('expired', '已过期，请重试 / Expired: start again');
  // Within the limits on the poll (pollIntervalMs).
  setTimeout(poll, request.pollMs);
}
poll();
</script>
</body>
</html>`;
}

/** The table; rows rendered on the server (same-device return) or added by the page's script. */
function recordsTable(records: NonNullable<Extract<RecordsOutcome, { status: 'verified' }>['records']>, visible = false) {
  const rows = records
    .map(
      (record) =>
        `<tr data-testid="record"><td>${escapeHtml(record.at)}</td><td>${escapeHtml(record.relyingParty.name)}</td><td>${escapeHtml(
          record.purpose,
        )}</td><td>${escapeHtml(record.claims.join(', '))}</td><td>${record.verified ? '通过 / verified' : '未通过 / refused'}</td></tr>`,
    )
    .join('');
  return `<table id="records" data-testid="records" ${visible ? '' : 'hidden'}>
<thead><tr><th>时间 / When</th><th>查验机构 / Relying party</th><th>目的 / Purpose</th><th>出示的信息 / Claims disclosed</th><th>结果 / Verdict</th></tr></thead>
<tbody id="records-rows">${rows}</tbody>
</table>
<p id="empty" data-testid="empty" ${visible && records.length === 0 ? '' : 'hidden'}>没有记录 / No records</p>`;
}

/** The same-device return: the outcome rendered on the server (no script). */
export function recordsResultPage(outcome: RecordsOutcome, retryUrl: string): string {
  let status: string;
  let table = '';
  if (outcome.status === 'verified') {
    status = `<p id="status" data-testid="status" data-status="verified" class="verified">验证通过 / Verified: ${escapeHtml(outcome.credential.type)}</p>`;
    table = recordsTable(outcome.records, true);
  } else {
    const text =
      outcome.status === 'rejected'
        ? `验证失败 / Not accepted: ${outcome.reason}`
        : outcome.status === 'expired'
          ? '已过期，请重试 / Expired: start again'
          : '钱包尚未回答 / The wallet has not answered yet';
    status = `<p id="status" data-testid="status" data-status="${outcome.status}" class="rejected">${escapeHtml(text)}</p>`;
  }
  return `${head('用证记录 / My credential records')}${status}
${table}
<p><a id="retry" href="${escapeHtml(retryUrl)}">重新查询 / Look up again</a></p>
</body>
</html>`;
}
