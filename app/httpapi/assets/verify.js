// Verifies a share code in the browser, with no server: the compact JWS
// in the page's fragment, signed EdDSA (Ed25519) by the key of the
// did:key in its header. WebCrypto does the signature; nothing leaves the
// page except, where the issuer's node answers on this origin, a request
// for the share's live status.
(async () => {
  const out = document.getElementById('result');
  const show = (cls, text) => { out.className = cls; out.textContent = text; };
  const row = (dl, k, v) => {
    const dt = document.createElement('dt'); dt.textContent = k;
    const dd = document.createElement('dd'); dd.textContent = v;
    dl.append(dt, dd);
  };
  const b64u = (s) => Uint8Array.from(atob(s.replace(/-/g, '+').replace(/_/g, '/') + '==='.slice((s.length + 3) % 4)), c => c.charCodeAt(0));
  const ALPHA = '123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz';
  const base58 = (s) => {
    let n = 0n;
    for (const ch of s) { const i = ALPHA.indexOf(ch); if (i < 0) throw new Error('bad base58'); n = n * 58n + BigInt(i); }
    const bytes = [];
    while (n > 0n) { bytes.unshift(Number(n % 256n)); n /= 256n; }
    return Uint8Array.from(bytes);
  };
  try {
    const jws = decodeURIComponent(location.hash.slice(1));
    const parts = jws.split('.');
    if (parts.length !== 3) { show('error', 'No share code in this link.'); return; }
    const header = JSON.parse(new TextDecoder().decode(b64u(parts[0])));
    const payload = JSON.parse(new TextDecoder().decode(b64u(parts[1])));
    if (header.alg !== 'EdDSA' || typeof header.kid !== 'string') throw new Error('not an EdDSA code');
    const did = header.kid.split('#')[0];
    if (!did.startsWith('did:key:z') || payload.iss !== did) throw new Error('issuer mismatch');
    const raw = base58(did.slice('did:key:z'.length));
    if (raw.length !== 34 || raw[0] !== 0xed || raw[1] !== 0x01) throw new Error('not an Ed25519 key');
    const key = await crypto.subtle.importKey('raw', raw.slice(2), { name: 'Ed25519' }, false, ['verify']);
    const ok = await crypto.subtle.verify({ name: 'Ed25519' }, key, b64u(parts[2]), new TextEncoder().encode(parts[0] + '.' + parts[1]));
    if (!ok) { show('error', 'This code is NOT genuine: its signature does not verify.'); return; }
    const now = Date.now() / 1000;
    const dl = document.getElementById('claims');
    const claims = (payload.vc && payload.vc.credentialSubject) || {};
    for (const [k, v] of Object.entries(claims)) row(dl, k, JSON.stringify(v));
    row(dl, 'For', payload.aud);
    row(dl, 'Issued', new Date(payload.iat * 1000).toLocaleString());
    row(dl, 'Valid until', new Date(payload.exp * 1000).toLocaleString());
    row(dl, 'Issuer', did);
    if (now >= payload.exp) { show('error', 'Genuine, but EXPIRED.'); return; }
    if (now < payload.nbf) { show('error', 'Genuine, but not valid yet.'); return; }
    show('ok', 'Genuine: signed by the issuer below and valid now.');
    const st = payload.vc && payload.vc.credentialStatus && payload.vc.credentialStatus.id;
    const live = document.getElementById('live');
    if (st && new URL(st).origin === location.origin) {
      try {
        const r = await fetch(st, { headers: { Accept: 'application/json' } });
        const j = await r.json();
        if (j.state === 'active') live.textContent = 'Checked with the issuer just now: still active.';
        else if (j.state) { live.className = 'error'; live.textContent = 'Checked with the issuer just now: ' + j.state.toUpperCase() + '.'; }
        else live.textContent = 'The issuer did not say whether it is still active.';
      } catch (e) {
        live.textContent = 'The issuer could not be reached: revocation was not checked (the signature and the dates were).';
      }
    } else {
      live.textContent = 'Revocation was not checked (the issuer is elsewhere); the signature and the dates were.';
    }
  } catch (e) {
    show('error', 'This is not a share code we can read: ' + e.message);
  }
})();
