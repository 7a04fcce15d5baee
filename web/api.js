/* api.js - the DOM helper, time and money formatting, and the client of
 * the node's HTTP/JSON API (docs/API.md): the session's CSRF token on
 * every write, and a 401 (a session that ended) back to the login page. */
'use strict';

/* h('div', {class: 'x', onclick: fn}, child, ...): an element; children are
 * nodes or text (never parsed as HTML), null and false are left out. */
function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v);
    else if (k === 'class') el.className = v;
    else if (k === 'value') el.value = v;
    else if (k === 'checked' || k === 'selected' || k === 'disabled') el[k] = !!v;
    else el.setAttribute(k, v === true ? '' : v);
  }
  for (const c of children.flat(Infinity)) {
    if (c === null || c === undefined || c === false) continue;
    el.appendChild(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}
function clear(el) { while (el.firstChild) el.removeChild(el.firstChild); return el; }

/* "2026-12-01T09:30:00+08:00" -> "2026-12-01 09:30:00 (UTC+08:00)": the
 * station's local time as the server gives it, with its offset. */
function fmtTime(s) {
  if (!s) return '';
  const m = /^(\d{4}-\d{2}-\d{2})T(\d{2}:\d{2}:\d{2})(?:\.\d+)?(Z|[+-]\d{2}:?\d{2})$/.exec(s);
  if (!m) return s;
  let off = m[3] === 'Z' ? '+00:00' : m[3];
  if (off.length === 5) off = off.slice(0, 3) + ':' + off.slice(3);
  return `${m[1]} ${m[2]} (UTC${off})`;
}
/* Seconds as "3 分钟" / "3 min". */
function fmtDuration(sec) {
  sec = Math.abs(sec);
  if (sec < 90) return t('unit_s', {n: Math.round(sec)});
  if (sec < 5400) return t('unit_min', {n: Math.round(sec / 60)});
  if (sec < 172800) return t('unit_h', {n: Math.round(sec / 3600)});
  return t('unit_d', {n: Math.round(sec / 86400)});
}
function fmtBytes(n) {
  if (n === null || n === undefined) return '';
  const u = ['B', 'KB', 'MB', 'GB', 'TB'];
  let i = 0;
  while (n >= 1024 && i < u.length - 1) { n /= 1024; i++; }
  return (i ? n.toFixed(1) : String(n)) + ' ' + u[i];
}
/* Fen (a decimal string or number) as yuan: "12050" -> "120.50". */
function fenToYuan(fen) {
  let s = String(fen === undefined || fen === null ? '' : fen).trim();
  if (!/^-?\d+$/.test(s)) return s;
  const neg = s.startsWith('-');
  if (neg) s = s.slice(1);
  s = s.padStart(3, '0');
  const y = s.slice(0, -2).replace(/^0+(?=\d)/, '');
  return (neg ? '-' : '') + y.replace(/\B(?=(\d{3})+(?!\d))/g, ',') + '.' + s.slice(-2);
}

class ApiError extends Error {
  constructor(status, err) {
    super(err && err.message ? err.message : 'HTTP ' + status);
    this.status = status;
    this.code = (err && err.code) || '';
    this.message_zh = (err && err.message_zh) || '';
    this.field = (err && err.field) || null;
    this.retryAfter = 0;
  }
  text() {
    if (this.code === 'network') return t('err_network');
    if (this.code === 'csrf') return t('err_csrf');
    /* a schema refusal's Chinese line is short; the English one names the
       value, the expected type and an example: show both */
    if (this.code === 'invalid' && I18N.lang === 'zh' && this.message_zh && this.message &&
        this.message !== this.message_zh) {
      return this.message_zh + '（' + this.message + '）';
    }
    return errorText({message: this.message, message_zh: this.message_zh, code: this.code}) ||
      t('err_server');
  }
}

const API = {
  session: null,          /* the login answer: user, role, station, namespace, csrf */
  onUnauthenticated: null, /* set by app.js */
  lastActivity: Date.now(),

  async call(method, path, body, opts) {
    const headers = {'Accept': 'application/json'};
    const init = {method, headers, credentials: 'same-origin', cache: 'no-store'};
    if (body !== undefined) {
      headers['Content-Type'] = 'application/json';
      init.body = JSON.stringify(body);
    }
    if (method !== 'GET' && this.session) headers['X-CSRF-Token'] = this.session.csrf;
    let r;
    try {
      r = await fetch('/api/v1/' + path, init);
    } catch (e) {
      throw new ApiError(0, {code: 'network', message: String(e)});
    }
    if (r.status === 204) return this.answer(r.status, null, null, opts);
    let data = null;
    const ct = r.headers.get('Content-Type') || '';
    if (ct.includes('json')) {
      try { data = await r.json(); } catch (e) { data = null; }
    }
    return this.answer(r.status, data, r.headers.get('Retry-After'), opts);
  },
  /* An answer's JSON as the caller gets it, or the ApiError thrown (the
   * answer's own members, e.g. a CSV import's `errors`, kept in .data). */
  answer(status, data, retryAfter, opts) {
    this.lastActivity = Date.now();
    if (status >= 200 && status < 300) return status === 204 ? null : data;
    const err = new ApiError(status, data && data.error);
    err.data = data;
    err.retryAfter = parseInt(retryAfter || '0', 10) || 0;
    if (status === 401 && !(opts && opts.login) && this.onUnauthenticated) {
      this.onUnauthenticated();
    }
    throw err;
  },
  /* POST of a file's bytes as they are (a CSV, Content-Type text/csv) with
   * the CSRF token; onProgress(sent, total) while it goes up a slow line. */
  upload(path, file, onProgress) {
    return new Promise((resolve, reject) => {
      const x = new XMLHttpRequest();
      x.open('POST', '/api/v1/' + path);
      x.withCredentials = true;
      x.setRequestHeader('Accept', 'application/json');
      x.setRequestHeader('Content-Type', 'text/csv');
      if (this.session) x.setRequestHeader('X-CSRF-Token', this.session.csrf);
      if (onProgress) x.upload.onprogress = (ev) => onProgress(ev.loaded, ev.lengthComputable ? ev.total : file.size);
      x.onerror = () => reject(new ApiError(0, {code: 'network', message: 'upload failed'}));
      x.onload = () => {
        let data = null;
        if ((x.getResponseHeader('Content-Type') || '').includes('json')) {
          try { data = JSON.parse(x.responseText); } catch (e) { data = null; }
        }
        try { resolve(this.answer(x.status, data, x.getResponseHeader('Retry-After'))); } catch (e) { reject(e); }
      };
      x.send(file);
    });
  },
  get(path, params) {
    return this.call('GET', path + query(params));
  },
  post(path, body) { return this.call('POST', path, body === undefined ? {} : body); },
};

/* {a: 1, where: ['x=1', 'y=2']} -> "?a=1&where=x%3D1&where=y%3D2" */
function query(params) {
  if (!params) return '';
  const parts = [];
  for (const [k, v] of Object.entries(params)) {
    if (v === null || v === undefined || v === '') continue;
    for (const x of Array.isArray(v) ? v : [v]) {
      parts.push(encodeURIComponent(k) + '=' + encodeURIComponent(x));
    }
  }
  return parts.length ? '?' + parts.join('&') : '';
}
