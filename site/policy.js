// Narrows what this page may connect to: its own origin and the one API config.js names.
// The served Content-Security-Policy (function/serve.py, infra/template.yaml) cannot name
// the API itself: on AWS the API and the CloudFront distribution would each have to know
// the other first, so the header allows the region's API Gateway hosts and this adds the
// exact one. Browsers enforce every policy a page has, so the page gets the narrower of the
// two. A classic script after config.js: it runs before any module of the page.
(() => {
  const configured = String(window.EMOTION_CONFIG?.apiUrl ?? '').trim();
  let api = '';
  try {
    api = configured ? new URL(configured).origin : '';
  } catch {
    // Not a URL: the page reports an API it cannot reach; nothing more is allowed.
  }
  const meta = document.createElement('meta');
  meta.httpEquiv = 'Content-Security-Policy';
  meta.content = `connect-src 'self'${api && api !== 'null' ? ` ${api}` : ''}`;
  document.head.append(meta);
})();
