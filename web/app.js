/* app.js - the page shell: header, navigation, hash routes, the session
 * (restored after a reload from GET /api/v1/session, ended by a 401 or by
 * the idle time the server gave), the schema and the station, loaded once. */
'use strict';

const APP = {
  schema: null,      /* the published schema object */
  station: null,     /* GET /api/v1/station */
  byColl: {},        /* collection -> {name, type} */
  renderSeq: 0,
  notice: '',        /* shown once on the login page */
};

function typeOf(coll) { return APP.byColl[coll] || null; }
function typeByName(name) {
  for (const x of Object.values(APP.byColl)) if (x.name === name) return x;
  return null;
}
/* The collection of a key ("hh/0012", "/gusu/.../hh/0012"): its next-to-last component. */
function collOfKey(key) {
  const p = key.replace(/\/+$/, '').split('/');
  return p.length >= 2 ? p[p.length - 2] : '';
}
function recHref(rec) {
  const rel = rec.rel || '/' + rec.key;
  return (rec.collection === 'hh' ? '#/hh/' : '#/rec/') + rel;
}

const ROUTES = [];
function route(pattern, fn, opts) { ROUTES.push({pattern, fn, opts: opts || {}}); }

function parseHash() {
  const hash = decodeURIComponent(location.hash.replace(/^#/, '')) || '/';
  const qi = hash.indexOf('?');
  const path = qi < 0 ? hash : hash.slice(0, qi);
  const params = new URLSearchParams(qi < 0 ? '' : hash.slice(qi + 1));
  return {path, params};
}
function go(path) {
  if (location.hash === '#' + path) render();
  else location.hash = path;
}

async function ensureLoaded() {
  if (!APP.station) APP.station = await API.get('station');
  if (!APP.schema) {
    try {
      const s = await API.get('schema');
      APP.schema = s.schema;
    } catch (e) {
      if (e.status !== 404) throw e;
      APP.schema = {types: {}};
    }
    APP.byColl = {};
    for (const [name, type] of Object.entries(APP.schema.types || {})) {
      APP.byColl[type.collection] = {name, type};
    }
  }
}

function shell() {
  const s = API.session;
  const header = clear(document.getElementById('top'));
  header.appendChild(h('div', {class: 'brand'}, h('a', {href: '#/'}, t('app_title'))));
  if (s) {
    header.appendChild(h('div', {class: 'who', id: 'who'},
      h('span', {class: 'station'}, s.station), ' · ',
      h('span', {class: 'user'}, s.user), ' ',
      h('span', {class: 'role'}, '（' + t('role_' + s.role) + '）')));
  }
  header.appendChild(h('div', {class: 'tools'},
    h('button', {type: 'button', id: 'lang', class: 'link', onclick: () => {
      I18N.setLang(I18N.lang === 'zh' ? 'en' : 'zh');
      document.title = t('app_title');
      render();
    }}, t('lang_switch')),
    s ? h('button', {type: 'button', id: 'logout', class: 'link', onclick: logout}, t('logout')) : null));

  const nav = clear(document.getElementById('nav'));
  nav.hidden = !s;
  if (!s) return;
  const cur = parseHash().path;
  const items = [
    ['#/', 'nav_home'], ['#/list/hh', 'nav_households'], ['#/requests', 'nav_requests'],
    ['#/votes', 'nav_votes'], ['#/charity', 'nav_charity'], ['#/types', 'nav_records'],
    ['#/reports', 'nav_reports'], ['#/sync', 'nav_sync'],
  ];
  if (s.role === 'admin') items.push(['#/users', 'nav_users']);
  items.push(['#/password', 'nav_password']);
  nav.appendChild(h('ul', {}, items.map(([href, key]) => {
    const active = href === '#/' ? cur === '/' : cur.startsWith(href.slice(1));
    return h('li', {}, h('a', {href, id: 'nav-' + key.slice(4), class: active ? 'active' : null}, t(key)));
  })));
}

async function logout() {
  try { await API.post('logout'); } catch (e) { /* ended already */ }
  endSession(t('logged_out'));
}
function endSession(msg) {
  API.session = null;
  APP.station = null;
  APP.schema = null;
  APP.notice = msg || '';
  go('/login');
}

/* A 401 on any request: the session ended (idle, logout elsewhere, restart). */
API.onUnauthenticated = () => {
  if (API.session) endSession(t('session_expired'));
  else if (parseHash().path !== '/login') go('/login');
};

/* The idle time the server gave: when it has passed with no request, ask
 * the server (a 401 then leads to the login page). */
setInterval(() => {
  const s = API.session;
  if (!s || !s.idle_minutes) return;
  if (Date.now() - API.lastActivity > s.idle_minutes * 60000 + 5000) {
    API.get('session').then((x) => { API.session = x; }, () => {});
  }
}, 15000);

async function render() {
  const seq = ++APP.renderSeq;
  const main = clear(document.getElementById('main'));
  const {path, params} = parseHash();
  document.title = t('app_title');
  if (path !== '/login' && !API.session) {
    try {
      API.session = await API.call('GET', 'session', undefined, {login: true});
    } catch (e) {
      if (seq !== APP.renderSeq) return;
      if (e.status === 401 || e.status === 0 || e.status >= 400) {
        if (e.status !== 401) APP.notice = e.text();
        shell();
        go('/login');
        return;
      }
    }
  }
  shell();
  for (const r of ROUTES) {
    const m = r.pattern.exec(path);
    if (!m) continue;
    main.appendChild(h('p', {class: 'muted loading'}, t('loading')));
    try {
      if (!r.opts.public) await ensureLoaded();
      if (seq !== APP.renderSeq) return;
      clear(main);
      await r.fn(main, m.slice(1), params, () => seq !== APP.renderSeq);
    } catch (e) {
      if (seq !== APP.renderSeq || e.status === 401) return;
      clear(main);
      main.appendChild(h('div', {class: 'error-box', role: 'alert'},
        e instanceof ApiError ? e.text() : String(e),
        ' ', h('button', {type: 'button', onclick: render}, t('retry'))));
    }
    return;
  }
  main.appendChild(h('p', {}, t('err_not_found')));
}

window.addEventListener('hashchange', render);
document.addEventListener('DOMContentLoaded', () => {
  I18N.setLang(I18N.lang);
  render();
});
