import { escapeHtml } from '../../common/index.js';

/** The demo citizen login: the one-time login code the agency gave the citizen with the offer. */
export function loginPage(options: {
  agencyName: string;
  typeName: string;
  clientId: string;
  requestUri: string;
  message?: string;
  /** password: a wallet-started application, signed in at the identity provider (no login code exists). */
  mode?: 'login-code' | 'password';
}): string {
  const { agencyName, typeName, clientId, requestUri, message } = options;
  const fields =
    options.mode === 'password'
      ? `<p>申请 / Apply (joint approval): ${escapeHtml(typeName)}</p>
<label for="username">用户名 / Username</label>
<input id="username" name="username" autocomplete="username" required>
<label for="password">密码 / Password</label>
<input id="password" name="password" type="password" autocomplete="current-password" required>`
      : `<label for="login_code">登录码 / Login code</label>
<input id="login_code" name="login_code" inputmode="numeric" autocomplete="one-time-code" required>`;
  // The form's action is relative: under a path (PUBLIC_URL https://host/base, the proxy stripping /base) it reaches
  // /base/oid4vci/authorize, the endpoint the page was opened at.
  return `<!doctype html>
<html lang="zh-CN">
<head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>登录领取电子证照 / Sign in to receive your credential</title>
<style>body{font-family:system-ui,sans-serif;max-width:28rem;margin:3rem auto;padding:0 1rem}label,input,button{display:block;width:100%;margin:.5rem 0}input,button{padding:.6rem;font-size:1.1rem}.error{color:#b00020}</style>
</head>
<body>
<h1>${escapeHtml(agencyName)}</h1>
<p>领取 / Receive: <strong>${escapeHtml(typeName)}</strong></p>
${message ? `<p class="error" role="alert">${escapeHtml(message)}</p>` : ''}
<form method="post" action="authorize">
<input type="hidden" name="client_id" value="${escapeHtml(clientId)}">
<input type="hidden" name="request_uri" value="${escapeHtml(requestUri)}">
${fields}
<button type="submit">登录 / Sign in</button>
</form>
</body>
</html>`;
}
