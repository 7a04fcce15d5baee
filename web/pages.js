/* pages.js - the pages, one route each: login, home, record lists and
 * pages (households with their members, points, requests and diary),
 * the requests board, decision-day votes, the charity ledger, reports
 * with CSV, sync status, users and password. */
'use strict';

function pageTitle(text, ...extra) {
  return h('div', {class: 'page-head'}, h('h1', {}, text), extra);
}
function errorBox(e) {
  return h('div', {class: 'error-box', role: 'alert'}, e instanceof ApiError ? e.text() : String(e));
}
function keyId(rec) { return rec.key.split('/').pop(); }
/* The record's key relative to its own station: "hh/0012" (what 户 fields hold). */
function localKey(rec) { return rec.key.split('/').slice(-2).join('/'); }
function nsOf(rec) { return '/' + rec.key.split('/').slice(0, -2).join('/') + '/'; }
function relKey(rec) { return rec.rel && !rec.rel.startsWith('/') ? rec.rel : '/' + rec.key.replace(/^\//, ''); }

/* Every record of a collection that passes `params` (paged through). */
async function listAll(coll, params, max) {
  let items = [];
  let after = null;
  do {
    const r = await API.get('records/' + encodeURIComponent(coll), Object.assign({limit: 500, after}, params));
    items = items.concat(r.items || []);
    after = r.next;
  } while (after && items.length < (max || 5000));
  return items;
}

function fieldTable(type, rec, skip) {
  const rows = [];
  for (const [name, f] of Object.entries(type.fields)) {
    if (skip && skip.includes(name)) continue;
    if (f.kind === 'log') continue;
    const v = rec.fields[name];
    rows.push(h('tr', {}, h('th', {}, fieldLabel(name, f)),
      h('td', {'data-field': name}, v === undefined || (Array.isArray(v) && !v.length) ? t('none') : showValue(f, v))));
  }
  if (rec.updated) {
    rows.push(h('tr', {class: 'meta'}, h('th', {}, t('updated')),
      h('td', {}, fmtTime(rec.updated), rec.updated_by ? ' · ' + (rec.updated_by.name || '') +
        (rec.updated_by.station ? '（' + rec.updated_by.station + '）' : '') : '')));
  }
  return h('table', {class: 'kv'}, rows);
}

function historyTable(ops) {
  if (!ops.length) return h('p', {class: 'muted'}, t('hist_empty'));
  return h('table', {class: 'grid history', id: 'history'},
    h('thead', {}, h('tr', {}, h('th', {}, t('hist_when')), h('th', {}, t('hist_who')),
      h('th', {}, t('hist_what')), h('th', {}, t('hist_verified')))),
    h('tbody', {}, ops.map((o) => {
      const a = o.author || {};
      const who = (a.name || (a.key || '').slice(0, 12)) +
        (a.role ? '（' + t('role_' + a.role) + '）' : '') + (a.station && a.station !== a.name ? ' · ' + a.station : '');
      const v = Array.isArray(o.value) ? o.value.join('、') : o.value === undefined || o.value === null ? '' : String(o.value);
      return h('tr', {},
        h('td', {class: 'nowrap'}, fmtTime(o.time)),
        h('td', {}, who),
        h('td', {}, t('kind_' + o.kind), ' ', o.field ? h('b', {}, o.field) : null, v ? ' ' + v : ''),
        h('td', {class: o.verified ? 'ok' : 'bad'}, o.verified ? t('hist_ok') : t('hist_bad')));
    })));
}

async function historySection(rec) {
  const sec = h('section', {class: 'card'}, h('h2', {}, t('hh_history')));
  try {
    const hist = await API.get('record/history', {key: relKey(rec)});
    sec.appendChild(historyTable(hist.ops || []));
  } catch (e) {
    sec.appendChild(errorBox(e));
  }
  const out = h('div', {class: 'audit-out', id: 'audit-out'});
  sec.appendChild(h('p', {}, h('button', {type: 'button', id: 'audit', onclick: async () => {
    clear(out);
    try {
      const a = await API.get('audit', {key: relKey(rec)});
      out.appendChild(h('p', {class: a.ok ? 'ok' : 'bad'}, a.ok ? t('audit_ok', {n: a.ops}) : t('audit_bad')));
      if (a.authors && a.authors.length) {
        out.appendChild(h('p', {}, t('audit_authors') + '：' + a.authors.map((x) =>
          (x.name || x.key.slice(0, 12)) + (x.station ? '（' + x.station + '）' : '') + ' × ' + x.ops).join('；')));
      }
      if (a.problems && a.problems.length) out.appendChild(h('ul', {class: 'bad'}, a.problems.map((p) => h('li', {}, p))));
    } catch (e) {
      out.appendChild(errorBox(e));
    }
  }}, t('audit_run'))));
  sec.appendChild(out);
  return sec;
}

/* ---- login ---- */
route(/^\/login$/, async (main) => {
  const user = h('input', {type: 'text', id: 'login-user', name: 'user', autocomplete: 'username', required: true});
  const pw = h('input', {type: 'password', id: 'login-password', name: 'password', autocomplete: 'current-password', required: true});
  const msg = h('div', {class: 'form-error', id: 'login-error', role: 'alert'});
  const note = APP.notice ? h('div', {class: 'notice', id: 'login-notice'}, APP.notice) : null;
  APP.notice = '';
  const btn = h('button', {type: 'submit', class: 'primary', id: 'login-submit'}, t('login_submit'));
  const form = h('form', {class: 'login', id: 'login-form'},
    h('h1', {}, t('login_title')), note,
    h('div', {class: 'field'}, h('label', {for: 'login-user'}, t('login_user')), user),
    h('div', {class: 'field'}, h('label', {for: 'login-password'}, t('login_password')), pw),
    msg, h('div', {class: 'actions'}, btn));
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    msg.textContent = '';
    btn.disabled = true;
    try {
      API.session = await API.call('POST', 'login', {user: user.value.trim(), password: pw.value}, {login: true});
      pw.value = '';
      go('/');
    } catch (e) {
      if (e.status === 401) msg.textContent = t('login_wrong');
      else if (e.status === 429) msg.textContent = t('login_wait', {s: e.retryAfter || 60});
      else msg.textContent = e.text();
    } finally {
      btn.disabled = false;
    }
  });
  main.appendChild(form);
  user.focus();
}, {public: true});

/* ---- home ---- */
route(/^\/$/, async (main) => {
  const st = APP.station = await API.get('station');
  const s = API.session;
  main.appendChild(pageTitle(t('home_welcome', {user: s.user, role: t('role_' + s.role)})));
  if (st.recovering) main.appendChild(h('div', {class: 'error-box'}, t('station_recovering')));
  const tiles = [['#/list/hh', 'nav_households'], ['#/requests', 'nav_requests'], ['#/votes', 'nav_votes'],
    ['#/charity', 'nav_charity'], ['#/reports', 'nav_reports'], ['#/sync', 'nav_sync']];
  main.appendChild(h('section', {class: 'card'}, h('h2', {}, t('home_quick')),
    h('div', {class: 'tiles'}, tiles.map(([href, k]) => h('a', {class: 'tile', href}, t(k))))));
  /* the sync state at a glance; the sync page has the details */
  try {
    const p = await API.get('peers');
    if ((p.peers || []).length) {
      main.appendChild(h('section', {class: 'card', id: 'home-peers'}, h('h2', {}, h('a', {href: '#/sync'}, t('sync_title'))),
        h('ul', {}, p.peers.map((x) => h('li', {class: x.connected ? 'ok' : 'bad'},
          x.name + '（' + t(x.direction === 'parent' ? 'sync_parent' : 'sync_child') + '）：' +
          (x.connected ? t('sync_online') : t('sync_offline')) + '，' + t('sync_last') + ' ' +
          (x.last_sync_age_s !== null && x.last_sync_age_s !== undefined ? t('sync_ago', {t: fmtDuration(x.last_sync_age_s)}) : t('sync_never')))))));
    }
  } catch (e) {
    if (e.status === 401) throw e;
  }
  main.appendChild(h('section', {class: 'card', id: 'station'}, h('h2', {}, t('station_title')),
    h('table', {class: 'kv'},
      h('tr', {}, h('th', {}, t('station_name')), h('td', {}, st.name)),
      h('tr', {}, h('th', {}, t('station_role')), h('td', {}, t('role_' + st.role))),
      h('tr', {}, h('th', {}, t('station_ns')), h('td', {class: 'mono'}, st.namespace || '/')),
      h('tr', {}, h('th', {}, t('station_time')), h('td', {}, fmtTime(st.time))),
      h('tr', {}, h('th', {}, t('station_trust')), h('td', {}, t('trust_' + (st.trust === 'root' ? 'root' : 'none')))),
      h('tr', {}, h('th', {}, t('station_schema')), h('td', {}, String(st.schema_version))),
      h('tr', {}, h('th', {}, t('station_ops')), h('td', {}, String(st.ops))),
      h('tr', {}, h('th', {}, t('station_free')), h('td', {}, fmtBytes(st.free_bytes))))));
});

/* ---- every type ---- */
route(/^\/types$/, async (main) => {
  main.appendChild(pageTitle(t('types_title')));
  main.appendChild(h('div', {class: 'tiles types'}, Object.values(APP.byColl).map(({name, type}) =>
    h('div', {class: 'tile-box'},
      h('a', {class: 'tile', href: '#/list/' + type.collection, id: 'type-' + type.collection}, typeLabel(name, type)),
      canWrite(type.collection) ? h('a', {class: 'small', href: '#/new/' + type.collection}, t('new_record', {type: ''})) : null))));
});

/* ---- lists ---- */
function listColumns(type) {
  return Object.entries(type.fields).filter(([, f]) => f.kind !== 'log').slice(0, 6);
}

route(/^\/list\/([^/]+)$/, async (main, [coll], params, stale) => {
  const T = typeOf(coll);
  if (!T) { main.appendChild(h('p', {}, t('err_not_found'))); return; }
  const {name, type} = T;
  const title = coll === 'hh' ? t('hh_title') : typeLabel(name, type);
  main.appendChild(pageTitle(title, canWrite(coll) ?
    h('a', {class: 'button primary', href: '#/new/' + coll, id: 'new-record'}, t('new_record', {type: typeLabel(name, type)})) : null));

  /* filters: text search, each enum field, and (above a village) the village */
  const q = h('input', {type: 'search', name: 'q', id: 'list-q', value: params.get('q') || '',
    placeholder: coll === 'hh' ? t('hh_search_ph') : ''});
  const wheres = params.getAll('where');
  const selects = [];
  for (const [fname, f] of Object.entries(type.fields)) {
    if (f.type !== 'enum') continue;
    const curV = (wheres.find((w) => w.startsWith(fname + '=')) || '').slice(fname.length + 1);
    const sel = h('select', {name: fname, 'data-where': fname},
      h('option', {value: ''}, fieldLabel(fname, f) + '：' + t('filter_all')),
      f.codes.map((c) => h('option', {value: c.zh, selected: curV === c.zh}, fieldLabel(fname, f) + '：' + enumLabel(f, c.zh))));
    selects.push(sel);
  }
  let prefixSel = null;
  if (APP.station.role !== 'village') {
    prefixSel = h('select', {name: 'prefix', id: 'list-prefix'}, h('option', {value: ''}, t('filter_prefix') + '：' + t('filter_whole')));
    try {
      const rep = await API.get('reports', {type: name});
      for (const l of rep.levels || []) {
        if (l.total) continue;
        prefixSel.appendChild(h('option', {value: '/' + l.prefix.replace(/^\//, ''), selected: params.get('prefix') === '/' + l.prefix.replace(/^\//, '')},
          t('filter_prefix') + '：' + l.name));
      }
    } catch (e) { /* the list works without it */ }
  }
  const form = h('form', {class: 'filters', id: 'list-filters'}, q, selects, prefixSel,
    h('button', {type: 'submit'}, t('search')));
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    const p = new URLSearchParams();
    if (q.value.trim()) p.set('q', q.value.trim());
    for (const s of selects) if (s.value) p.append('where', s.dataset.where + '=' + s.value);
    if (prefixSel && prefixSel.value) p.set('prefix', prefixSel.value);
    const qs = p.toString();
    go('/list/' + coll + (qs ? '?' + qs : ''));
  });
  for (const s of selects.concat(prefixSel ? [prefixSel] : [])) s.addEventListener('change', () => form.requestSubmit());
  main.appendChild(form);

  const cols = listColumns(type);
  const tbody = h('tbody', {});
  const count = h('p', {class: 'muted', id: 'list-count'});
  const more = h('button', {type: 'button', id: 'list-more', hidden: true}, t('more'));
  main.appendChild(h('table', {class: 'grid list', id: 'list', 'data-collection': coll},
    h('thead', {}, h('tr', {}, h('th', {}, t('record_id')), cols.map(([n, f]) => h('th', {}, fieldLabel(n, f))))),
    tbody));
  main.appendChild(h('div', {class: 'actions'}, count, more));
  main.appendChild(h('section', {class: 'card csv', id: 'list-csv'}, h('h2', {}, t('list_csv')),
    csvTools(name, type, stationPrefix(params.get('prefix')), true)));
  let shown = 0;
  async function page(after) {
    const r = await API.get('records/' + encodeURIComponent(coll), {q: params.get('q'), where: wheres,
      prefix: params.get('prefix'), limit: 50, after});
    if (stale()) return;
    for (const rec of r.items || []) {
      shown++;
      tbody.appendChild(h('tr', {'data-key': rec.key},
        h('td', {}, h('a', {href: recHref(rec)}, rec.rel && rec.rel.includes('/' + coll + '/') ? rec.rel.replace('/' + coll + '/', '/') : keyId(rec))),
        cols.map(([n, f]) => h('td', {'data-field': n}, showValue(f, rec.fields[n])))));
    }
    count.textContent = shown ? t('list_count', {n: shown}) : t('list_empty');
    more.hidden = !r.next;
    more.onclick = () => page(r.next).catch((e) => main.appendChild(errorBox(e)));
  }
  await page(null);
});

/* ---- a new record ---- */
route(/^\/new\/([^/]+)$/, async (main, [coll], params) => {
  const T = typeOf(coll);
  if (!T) { main.appendChild(h('p', {}, t('err_not_found'))); return; }
  main.appendChild(pageTitle(t('new_record', {type: typeLabel(T.name, T.type)})));
  if (!canWrite(coll)) { main.appendChild(h('p', {class: 'notice'}, t('read_only'))); return; }
  const preset = {};
  for (const [k, v] of params.entries()) if (T.type.fields[k]) preset[k] = v;
  const back = params.get('_hh') ? '/hh/' + params.get('_hh') : preset['户'] ? '/hh/' + preset['户'] : null;
  main.appendChild(h('section', {class: 'card'},
    Object.entries(preset).map(([k, v]) => h('p', {class: 'preset'}, fieldLabel(k, T.type.fields[k]) + '：',
      k === '户' ? h('a', {href: '#' + back}, v) : v)),
    recordForm({typeName: T.name, type: T.type, record: null,
      preset: Object.keys(preset).length ? preset : null,
      /* from a household's page, back to it */
      onSaved: (rec) => setTimeout(() => go(back || recHref(rec).slice(1)), 600)})));
});

/* ---- one record (any type) ---- */
async function recordPage(main, rel, stale) {
  const rec = await API.get('record', {key: rel});
  if (stale()) return null;
  const T = typeOf(rec.collection) || {name: rec.type || rec.collection, type: {fields: {}, collection: rec.collection}};
  return {rec, T};
}
function editSection(T, rec, fields) {
  if (!canWrite(rec.collection) || !T.type.fields) return null;
  return h('details', {class: 'card edit', id: 'edit', open: fields ? true : null},
    h('summary', {}, t('edit_record')),
    recordForm({typeName: T.name, type: T.type, record: rec, fields, id: 'edit-form', onSaved: () => setTimeout(render, 600)}));
}

route(/^\/rec\/(.+)$/, async (main, [rel], params, stale) => {
  const r = await recordPage(main, rel, stale);
  if (!r) return;
  const {rec, T} = r;
  main.appendChild(pageTitle(typeLabel(T.name, T.type) + ' ' + keyId(rec),
    h('a', {class: 'button', href: '#/list/' + rec.collection}, t('back'))));
  main.appendChild(h('section', {class: 'card'}, h('p', {class: 'mono muted'}, '/' + rec.key.replace(/^\//, '')),
    fieldTable(T.type, rec),
    Object.entries(T.type.fields || {}).filter(([, f]) => f.kind === 'log').map(([n, f]) =>
      h('div', {}, h('h3', {}, fieldLabel(n, f)), logList(rec.fields[n] || [])))));
  const ed = editSection(T, rec);
  if (ed) main.appendChild(ed);
  main.appendChild(await historySection(rec));
});

/* ---- a household: members, points, requests, diary, history ---- */
route(/^\/hh\/(.+)$/, async (main, [rel], params, stale) => {
  const r = await recordPage(main, rel, stale);
  if (!r) return;
  const {rec, T} = r;
  const F = rec.fields;
  const lk = localKey(rec);
  const prefix = nsOf(rec);
  main.appendChild(pageTitle((F['户主'] || keyId(rec)) + ' · ' + (F['地址'] || ''),
    h('a', {class: 'button', href: '#/list/hh'}, t('back'))));
  main.appendChild(h('section', {class: 'card', id: 'household'}, h('p', {class: 'mono muted'}, '/' + rec.key.replace(/^\//, '')),
    fieldTable(T.type, rec, ['成员'])));

  const [residents, points, diary] = await Promise.all([
    typeOf('res') ? listAll('res', {prefix, where: ['户=' + lk]}).catch(() => []) : [],
    typeOf('pts') ? listAll('pts', {prefix, where: ['户=' + lk]}).catch(() => []) : [],
    typeOf('diary') ? listAll('diary', {prefix, where: ['户=' + lk]}).catch(() => []) : [],
  ]);
  const names = [...new Set([...(F['成员'] || []), F['户主']].filter(Boolean))];
  let requests = [];
  if (typeOf('req')) {
    const got = await Promise.all(names.map((n) => listAll('req', {prefix, where: ['提出人=' + n]}).catch(() => [])));
    const seen = new Set();
    for (const x of got.flat()) if (!seen.has(x.key)) { seen.add(x.key); requests.push(x); }
  }
  if (stale()) return;
  const newLink = (coll, label, extra) => canWrite(coll) && typeOf(coll) ?
    h('a', {class: 'button small', href: '#/new/' + coll + '?' + new URLSearchParams(Object.assign({'户': lk, _hh: relKey(rec)}, extra || {})).toString()}, label) : null;
  const mini = (items, coll, cols) => items.length ? h('table', {class: 'grid'},
    h('tbody', {}, items.map((x) => h('tr', {}, h('td', {}, h('a', {href: recHref(x)}, keyId(x))),
      cols.map((c) => h('td', {}, showValue(typeOf(coll).type.fields[c], x.fields[c]))))))) : h('p', {class: 'muted'}, t('none'));

  main.appendChild(h('div', {class: 'two'},
    h('section', {class: 'card', id: 'hh-members'}, h('h2', {}, t('hh_members')),
      (F['成员'] || []).length ? h('ul', {}, F['成员'].map((m) => h('li', {}, m))) : h('p', {class: 'muted'}, t('none')),
      h('h3', {}, t('hh_residents')), mini(residents, 'res', ['姓名', '性别', '出生日期']),
      newLink('res', t('hh_new_resident'))),
    h('section', {class: 'card', id: 'hh-points'}, h('h2', {}, t('hh_points'), ' ', h('span', {class: 'big'}, String(F['诚信积分'] || 0))),
      h('h3', {}, t('hh_points_entries')), mini(points, 'pts', ['日期', '分值', '事由']),
      newLink('pts', t('hh_new_points')))));
  main.appendChild(h('div', {class: 'two'},
    h('section', {class: 'card', id: 'hh-requests'}, h('h2', {}, t('hh_requests')),
      mini(requests, 'req', ['日期', '事项', '状态'])),
    h('section', {class: 'card', id: 'hh-diary'}, h('h2', {}, t('hh_diary')),
      diary.map((d) => h('div', {class: 'diary'}, h('h3', {}, h('a', {href: recHref(d)}, d.fields['日期'] || keyId(d))),
        logList(d.fields['记录'] || []))),
      diary.length ? null : h('p', {class: 'muted'}, t('none')),
      newLink('diary', t('hh_new_diary')),
      h('h3', {}, t('hh_visits')), logList(F['走访'] || []))));
  const ed = editSection(T, rec);
  if (ed) main.appendChild(ed);
  main.appendChild(await historySection(rec));
});

/* ---- requests board ---- */
route(/^\/requests$/, async (main, args, params, stale) => {
  const T = typeOf('req');
  if (!T) { main.appendChild(h('p', {}, t('err_not_found'))); return; }
  const sf = T.type.fields['状态'];
  main.appendChild(pageTitle(t('req_title'), canWrite('req') ?
    h('a', {class: 'button primary', href: '#/new/req', id: 'new-request'}, t('new_record', {type: typeLabel(T.name, T.type)})) : null));
  const items = await listAll('req', {});
  if (stale()) return;
  const msg = h('div', {class: 'form-ok', id: 'board-msg', role: 'status'});
  main.appendChild(msg);
  const cols = sf.codes.map((c) => {
    const mine = items.filter((x) => x.fields['状态'] === c.zh)
      .sort((a, b) => String(b.fields['日期'] || '').localeCompare(String(a.fields['日期'] || '')));
    return h('section', {class: 'column', 'data-status': c.code},
      h('h2', {}, enumLabel(sf, c.zh), ' ', h('span', {class: 'count'}, String(mine.length))),
      mine.map((x) => requestCard(x, sf, msg)));
  });
  main.appendChild(h('div', {class: 'board', id: 'board'}, cols));
});

function requestCard(x, sf, msg) {
  const F = x.fields;
  const card = h('article', {class: 'req-card', 'data-key': x.key},
    h('h3', {}, h('a', {href: recHref(x)}, F['事项'] || keyId(x))),
    h('p', {class: 'muted'}, [F['日期'], F['提出人'], F['经办人'] ? '→ ' + F['经办人'] : null].filter(Boolean).join(' · ')));
  if (!canWrite('req')) return card;
  const sel = h('select', {name: '状态', class: 'status-select'},
    sf.codes.filter((c) => c.zh !== F['状态']).map((c) => h('option', {value: c.zh}, enumLabel(sf, c.zh))));
  const note = h('input', {type: 'text', name: '进展', placeholder: t('req_progress')});
  const err = h('div', {class: 'field-error', role: 'alert'});
  const btn = h('button', {type: 'submit', class: 'status-change'}, t('req_change'));
  const form = h('form', {class: 'status-form'}, sel, btn, note, err);
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    btn.disabled = true;
    err.textContent = '';
    const body = {key: relKey(x), set: {'状态': sel.value}};
    if (note.value.trim()) body.append = {'进展': note.value.trim()};
    try {
      await API.post('record', body);
      APP.notice = '';
      msg.textContent = t('req_changed', {m: F['事项'] || keyId(x), s: enumLabel(sf, sel.value)});
      const keep = msg.textContent;
      await render();
      const m2 = document.getElementById('board-msg');
      if (m2) m2.textContent = keep;
    } catch (e) {
      err.textContent = e.text();
      btn.disabled = false;
    }
  });
  card.appendChild(form);
  return card;
}

/* ---- decision day ---- */
const VOTE_SETS = [['赞成', 'vote_for'], ['反对', 'vote_against'], ['弃权', 'vote_abstain']];
function tally(F) {
  return h('div', {class: 'tally'}, VOTE_SETS.map(([f, k]) =>
    h('span', {class: 'tally-' + k.slice(5)}, t(k) + ' ', h('b', {}, String((F[f] || []).length)))));
}

route(/^\/votes$/, async (main, args, params, stale) => {
  const T = typeOf('vote');
  if (!T) { main.appendChild(h('p', {}, t('err_not_found'))); return; }
  main.appendChild(pageTitle(t('vote_title'), canWrite('vote') ?
    h('a', {class: 'button primary', href: '#/new/vote'}, t('new_record', {type: typeLabel(T.name, T.type)})) : null));
  const items = (await listAll('vote', {}))
    .sort((a, b) => String(b.fields['日期'] || '').localeCompare(String(a.fields['日期'] || '')));
  if (stale()) return;
  if (!items.length) main.appendChild(h('p', {class: 'muted'}, t('list_empty')));
  const rf = T.type.fields['结果'];
  for (const x of items) {
    main.appendChild(h('article', {class: 'card vote', 'data-key': x.key},
      h('h2', {}, h('a', {href: '#/vote/' + relKey(x)}, x.fields['议题'] || keyId(x))),
      h('p', {class: 'muted'}, (x.fields['日期'] || '') + ' · ' + t('vote_outcome') + '：' +
        (x.fields['结果'] ? enumLabel(rf, x.fields['结果']) : t('vote_undecided'))),
      tally(x.fields)));
  }
});

route(/^\/vote\/(.+)$/, async (main, [rel], params, stale) => {
  const r = await recordPage(main, rel, stale);
  if (!r) return;
  const {rec, T} = r;
  const F = rec.fields;
  const rf = T.type.fields['结果'];
  main.appendChild(pageTitle(F['议题'] || keyId(rec), h('a', {class: 'button', href: '#/votes'}, t('back'))));
  const total = VOTE_SETS.reduce((n, [f]) => n + (F[f] || []).length, 0);
  main.appendChild(h('section', {class: 'card', id: 'vote-tally'}, h('h2', {}, t('vote_tally')),
    h('p', {class: 'muted'}, (F['日期'] || '') + ' · ' + t('vote_total', {n: total}) + ' · ' + t('vote_outcome') + '：' +
      (F['结果'] ? enumLabel(rf, F['结果']) : t('vote_undecided'))),
    (F['选项'] || []).length ? h('p', {}, fieldLabel('选项', T.type.fields['选项']) + '：' + F['选项'].join('、')) : null,
    h('div', {class: 'three'}, VOTE_SETS.map(([f, k]) => h('div', {class: 'tally-col'},
      h('h3', {}, t(k), ' ', h('span', {class: 'big'}, String((F[f] || []).length))),
      (F[f] || []).length ? h('ul', {}, F[f].map((m) => h('li', {}, m))) : h('p', {class: 'muted'}, t('none')))))));
  if (canWrite('vote')) {
    const member = h('input', {type: 'text', id: 'vote-member', name: 'member', class: 'wide'});
    const radios = VOTE_SETS.map(([f, k], i) => h('label', {class: 'check'},
      h('input', {type: 'radio', name: 'choice', value: f, checked: i === 0}), ' ', t(k)));
    const err = h('div', {class: 'field-error', role: 'alert'});
    const ok = h('div', {class: 'form-ok', role: 'status'});
    const form = h('form', {class: 'card', id: 'vote-form'}, h('h2', {}, t('vote_record')),
      h('div', {class: 'field'}, h('label', {for: 'vote-member'}, t('vote_member')), member),
      h('div', {class: 'field'}, h('span', {class: 'label'}, t('vote_choice')), h('div', {class: 'checks'}, radios)),
      err, h('div', {class: 'actions'}, h('button', {type: 'submit', class: 'primary'}, t('vote_record')), ok));
    form.addEventListener('submit', async (ev) => {
      ev.preventDefault();
      err.textContent = '';
      const name = member.value.trim();
      if (!name) { err.textContent = t('err_required', {f: t('vote_member')}); return; }
      const choice = form.querySelector('input[name=choice]:checked').value;
      /* one vote per member: added to the chosen set, taken out of the others */
      const body = {key: relKey(rec), add: {[choice]: [name]}};
      for (const [f] of VOTE_SETS) {
        if (f !== choice && (F[f] || []).includes(name)) (body.rm = body.rm || {})[f] = [name];
      }
      try {
        await API.post('record', body);
        const keep = t('vote_recorded', {m: name, c: t(VOTE_SETS.find(([f]) => f === choice)[1])});
        await render();
        const o2 = document.querySelector('#vote-form .form-ok');
        if (o2) o2.textContent = keep;
      } catch (e) {
        err.textContent = e.text();
      }
    });
    main.appendChild(form);
    main.appendChild(h('details', {class: 'card'}, h('summary', {}, t('vote_set_outcome')),
      recordForm({typeName: T.name, type: T.type, record: rec, fields: ['结果', '选项'], id: 'vote-outcome',
        onSaved: () => setTimeout(render, 600)})));
  }
  main.appendChild(await historySection(rec));
});

/* ---- charity ledger ---- */
route(/^\/charity$/, async (main, args, params, stale) => {
  const T = typeOf('charity');
  if (!T) { main.appendChild(h('p', {}, t('err_not_found'))); return; }
  const kf = T.type.fields['类别'];
  const isIn = (x) => x.fields['类别'] === (kf.codes.find((c) => c.code === 'in') || kf.codes[0]).zh;
  main.appendChild(pageTitle(t('charity_title')));
  const items = (await listAll('charity', {})).sort((a, b) =>
    String(a.fields['日期'] || '').localeCompare(String(b.fields['日期'] || '')) || a.key.localeCompare(b.key));
  if (stale()) return;
  let inc = BigInt(0), out = BigInt(0);
  const rows = items.map((x) => {
    let v = BigInt(0);
    try { v = BigInt(String(x.fields['金额分'] || '0')); } catch (e) { v = BigInt(0); }
    if (isIn(x)) inc += v; else out += v;
    return h('tr', {'data-key': x.key},
      h('td', {class: 'nowrap'}, h('a', {href: recHref(x)}, x.fields['日期'] || '')),
      h('td', {}, enumLabel(kf, x.fields['类别'])),
      h('td', {}, x.fields['摘要'] || ''),
      h('td', {class: 'num'}, isIn(x) ? fenToYuan(v.toString()) : ''),
      h('td', {class: 'num'}, isIn(x) ? '' : fenToYuan(v.toString())),
      h('td', {class: 'num'}, fenToYuan((inc - out).toString())));
  });
  main.appendChild(h('section', {class: 'card summary', id: 'charity-summary'},
    h('div', {}, t('charity_income'), h('b', {id: 'charity-in'}, fenToYuan(inc.toString()) + ' 元')),
    h('div', {}, t('charity_expense'), h('b', {id: 'charity-out'}, fenToYuan(out.toString()) + ' 元')),
    h('div', {class: 'balance'}, t('charity_balance'), h('b', {id: 'charity-balance'}, fenToYuan((inc - out).toString()) + ' 元'))));
  main.appendChild(h('table', {class: 'grid', id: 'ledger'},
    h('thead', {}, h('tr', {}, h('th', {}, fieldLabel('日期', T.type.fields['日期'])), h('th', {}, fieldLabel('类别', kf)),
      h('th', {}, fieldLabel('摘要', T.type.fields['摘要'])), h('th', {class: 'num'}, t('charity_in_col') + '（元）'),
      h('th', {class: 'num'}, t('charity_out_col') + '（元）'), h('th', {class: 'num'}, t('charity_running') + '（元）'))),
    h('tbody', {}, rows)));
  if (!items.length) main.appendChild(h('p', {class: 'muted'}, t('list_empty')));
  if (canWrite('charity')) {
    main.appendChild(h('details', {class: 'card', open: !items.length ? true : null}, h('summary', {}, t('charity_new')),
      recordForm({typeName: T.name, type: T.type, record: null, id: 'charity-form', onSaved: () => setTimeout(render, 600)})));
  }
});

/* ---- reports ---- */
function itemLabel(type, label) {
  const m = /^(.+?)=(.*)$/.exec(label);
  if (m && type.fields[m[1]]) return fieldLabel(m[1], type.fields[m[1]]) + '：' + enumLabel(type.fields[m[1]], m[2]);
  if (label === '数量') return t('rep_count');
  const s = /^(.+)合计$/.exec(label);
  if (s && type.fields[s[1]]) return t('rep_sum', {f: fieldLabel(s[1], type.fields[s[1]])});
  return label;
}
function itemValue(type, label, n) {
  const s = /^(.+)合计$/.exec(label);
  if (s && type.fields[s[1]] && type.fields[s[1]].type === 'money') return fenToYuan(n) + ' 元';
  return String(n);
}

/* The CSV upload of one type (POST import.csv): the file as it is (UTF-8
 * or GB18030, the server reads both), checked whole on the server; either
 * every row is written or none, and then each refused row is listed. */
const IMPORT_MAX = 8 * 1024 * 1024;
const IMPORT_SHOWN = 20;
let importDone = null;  /* {coll, n}: said once by the list or reports page drawn again after an import */
function importForm(typeName, type, onList) {
  const coll = type.collection;
  const file = h('input', {type: 'file', id: 'imp-file-' + coll, name: 'file', accept: '.csv,text/csv'});
  const submit = h('button', {type: 'submit', class: 'primary', id: 'imp-submit-' + coll}, t('imp_submit'));
  const status = h('div', {class: 'import-status', id: 'imp-status-' + coll, role: 'status', 'aria-live': 'polite'});
  const form = h('form', {class: 'import', id: 'import-' + coll},
    h('h3', {}, t('imp_title', {t: typeLabel(typeName, type)})),
    h('p', {class: 'muted small'}, t('imp_hint')),
    h('label', {for: 'imp-file-' + coll}, t('imp_file') + '：'), file, ' ', submit, status);
  const show = (...nodes) => {
    clear(status);
    status.appendChild(h('div', {}, nodes));
    if (status.isConnected) status.scrollIntoView({block: 'nearest'});
  };
  if (importDone && importDone.coll === coll) {
    /* the report above counts the rows just imported */
    show(h('p', {class: 'form-ok', id: 'imp-done-' + coll}, t('imp_done', {n: importDone.n, t: typeLabel(typeName, type)})),
      onList ? null : [' ', h('a', {href: '#/list/' + coll}, t('imp_view', {t: typeLabel(typeName, type)}))]);
    importDone = null;
    setTimeout(() => status.scrollIntoView({block: 'nearest'}), 0);
  }
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const f = file.files && file.files[0];
    if (!f) { show(h('p', {class: 'form-error'}, t('imp_none'))); return; }
    if (f.size > IMPORT_MAX) { show(h('p', {class: 'form-error'}, t('imp_too_big', {s: fmtBytes(f.size)}))); return; }
    submit.disabled = file.disabled = true;
    form.setAttribute('aria-busy', 'true');
    const bar = h('progress', {max: 100, value: 0});
    const line = h('span', {}, t('imp_sending', {p: 0}));
    show(h('p', {class: 'muted'}, bar, ' ', line));
    try {
      const r = await API.upload('import.csv' + query({type: typeName}), f, (sent, total) => {
        const p = total ? Math.min(100, Math.round(sent * 100 / total)) : 0;
        bar.value = p;
        line.textContent = p >= 100 ? t('imp_checking') : t('imp_sending', {p});
      });
      importDone = {coll, n: r.written};
      render();
    } catch (e) {
      const errs = e.data && Array.isArray(e.data.errors) ? e.data.errors : [];
      if (e.status !== 422 || !errs.length) { show(errorBox(e)); return; }
      const rows = new Set(errs.map((x) => x.row));
      const shown = errs.slice(0, IMPORT_SHOWN);
      const rest = rows.size - new Set(shown.map((x) => x.row)).size;
      show(h('div', {class: 'error-box', role: 'alert', id: 'imp-errors-' + coll},
        h('p', {}, t('imp_refused', {n: rows.size})),
        h('ol', {class: 'import-errors'}, shown.map((x) =>
          h('li', {'data-row': x.row}, errorText({message: x.message, message_zh: x.message_zh})))),
        rest > 0 ? h('p', {class: 'import-more'}, t('imp_more', {k: rest})) : null));
    } finally {
      submit.disabled = file.disabled = false;
      form.removeAttribute('aria-busy');
    }
  });
  return form;
}

/* A type's CSV tools, on its list page and on the reports page: the
 * download (GET export.csv of the prefix) for every role that reads the
 * type, the upload beside it for the roles that may write it.  After an
 * import the page is drawn again, so the list or the report shows the rows. */
function csvTools(typeName, type, prefix, onList) {
  const coll = type.collection;
  return [
    h('p', {}, h('a', {class: 'button', id: 'csv-' + coll, download: '',
      href: '/api/v1/export.csv' + query({type: typeName, prefix})}, t('rep_csv', {t: typeLabel(typeName, type)})),
    ' ', h('span', {class: 'muted small'}, t('rep_csv_hint'))),
    canWrite(coll) ? importForm(typeName, type, onList) : null];
}
function stationPrefix(p) {
  return '/' + String(p || APP.station.namespace || '').replace(/^\//, '');
}

route(/^\/reports$/, async (main, args, params, stale) => {
  main.appendChild(pageTitle(t('rep_title')));
  const typeSel = h('select', {name: 'type', id: 'rep-type'}, h('option', {value: ''}, t('rep_all_types')),
    Object.values(APP.byColl).filter((x) => x.type.aggregates).map(({name, type}) =>
      h('option', {value: name, selected: params.get('type') === name}, typeLabel(name, type))));
  const month = h('input', {type: 'text', name: 'month', id: 'rep-month', class: 'short', placeholder: 'YYYY-MM',
    value: params.get('month') || ''});
  const err = h('span', {class: 'field-error'});
  const form = h('form', {class: 'filters', id: 'rep-filters'}, typeSel,
    h('label', {for: 'rep-month'}, t('rep_month')), month, h('button', {type: 'submit'}, t('rep_show')), err);
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    const m = foldAscii(month.value).trim();
    if (m && !/^\d{4}-(0[1-9]|1[0-2])$/.test(m)) { err.textContent = t('err_date', {f: t('rep_month')}); return; }
    const p = new URLSearchParams();
    if (typeSel.value) p.set('type', typeSel.value);
    if (m) p.set('month', m);
    go('/reports' + (p.toString() ? '?' + p.toString() : ''));
  });
  main.appendChild(form);
  const rep = await API.get('reports', {type: params.get('type'), month: params.get('month'),
    prefix: params.get('prefix')});
  if (stale()) return;
  const levels = rep.levels || [];
  const typeNames = Object.keys(APP.schema.types).filter((n) => levels.some((l) => l.types && l.types[n]));
  for (const tn of typeNames) {
    const type = APP.schema.types[tn];
    const labels = [];
    for (const l of levels) for (const k of Object.keys((l.types || {})[tn] || {})) if (!labels.includes(k)) labels.push(k);
    labels.sort((a, b) => (a === '数量' ? -1 : b === '数量' ? 1 : 0));
    main.appendChild(h('section', {class: 'card report', 'data-type': tn, id: 'report-' + type.collection},
      h('h2', {}, typeLabel(tn, type)),
      h('table', {class: 'grid'},
        h('thead', {}, h('tr', {}, h('th', {}, t('rep_item')),
          levels.map((l) => h('th', {class: 'num' + (l.total ? ' total' : '')}, l.total ? l.name + ' · ' + t('rep_total') : l.name)))),
        h('tbody', {}, labels.map((lab) => h('tr', {}, h('th', {}, itemLabel(type, lab)),
          levels.map((l) => {
            const v = ((l.types || {})[tn] || {})[lab];
            return h('td', {class: 'num' + (l.total ? ' total' : '')}, v === undefined ? '0' : itemValue(type, lab, v));
          }))))),
      csvTools(tn, type, stationPrefix(rep.prefix), false)));
  }
  if (!typeNames.length) main.appendChild(h('p', {class: 'muted'}, t('list_empty')));
});

/* ---- sync ---- */
route(/^\/sync$/, async (main, args, params, stale) => {
  const box = h('div', {id: 'peers'});
  main.appendChild(pageTitle(t('sync_title'), h('button', {type: 'button', onclick: () => fill()}, t('sync_refresh'))));
  main.appendChild(box);
  async function fill() {
    const [st, p] = await Promise.all([API.get('station'), API.get('peers')]);
    if (stale()) return;
    clear(box);
    box.appendChild(h('p', {class: 'muted'}, t('station_time') + '：' + fmtTime(st.time)));
    const peers = p.peers || [];
    /* the fork evidence the station holds is one list, not a peer's */
    const forks = Array.isArray(p.forks) ? p.forks : null;
    if (forks && forks.length) {
      box.appendChild(h('section', {class: 'card bad-card', id: 'forks'}, h('h2', {}, t('sync_forks')), forkList(forks)));
    }
    if (!peers.length) box.appendChild(h('p', {class: 'muted'}, t('sync_none')));
    for (const x of peers) box.appendChild(peerCard(x, !!forks));
  }
  await fill();
  const timer = setInterval(() => {
    if (stale()) { clearInterval(timer); return; }
    fill().catch(() => {});
  }, 10000);
});

function forkList(forks) {
  return h('ul', {class: 'bad'}, forks.map((f) =>
    h('li', {}, t('sync_fork', {name: f.name || (f.author || '').slice(0, 12), seq: f.seq}))));
}

function peerCard(x, forksShown) {
  const lack = [];
  if (x.we_lack) lack.push(t('sync_we_lack', {n: x.we_lack}));
  if (x.they_lack) lack.push(t('sync_they_lack', {n: x.they_lack}));
  if (!lack.length && x.last_sync) lack.push(t('sync_even'));
  let clock = t('sync_clock_unknown');
  let clockWarn = false;
  if (x.clock_offset_ms !== null && x.clock_offset_ms !== undefined) {
    const s = x.clock_offset_ms / 1000;
    if (Math.abs(s) < 1) clock = t('sync_clock_same');
    else clock = t(s > 0 ? 'sync_clock_ahead' : 'sync_clock_behind', {t: fmtDuration(s)});
    clockWarn = Math.abs(s) > 60;
  }
  const problems = [];
  if (x.duplicate) problems.push(h('p', {class: 'bad'}, t('sync_duplicate')));
  if (!forksShown && (x.forks || []).length) problems.push(h('h3', {}, t('sync_forks')), forkList(x.forks));
  if ((x.refusals || []).length) {
    problems.push(h('h3', {}, t('sync_refusals')),
      h('ul', {class: 'bad'}, x.refusals.map((r) => h('li', {}, t('sync_refusal', {time: fmtTime(r.time), reason: r.reason}),
        r.count > 1 ? t('sync_times', {n: r.count}) : null))));
  }
  return h('article', {class: 'card peer ' + (x.connected ? 'online' : 'offline'), 'data-peer': x.name},
    h('h2', {}, x.name, ' ', h('span', {class: 'tag'}, t(x.direction === 'parent' ? 'sync_parent' : 'sync_child')), ' ',
      h('span', {class: 'state ' + (x.connected ? 'ok' : 'bad')}, x.connected ? t('sync_online') : t('sync_offline'))),
    h('table', {class: 'kv'},
      h('tr', {}, h('th', {}, t('sync_last')), h('td', {class: 'last-sync'}, x.last_sync ?
        fmtTime(x.last_sync) + (x.last_sync_age_s !== null && x.last_sync_age_s !== undefined ? '（' + t('sync_ago', {t: fmtDuration(x.last_sync_age_s)}) + '）' : '') :
        t('sync_never'))),
      h('tr', {}, h('th', {}, t('sync_lack')), h('td', {class: 'lack'}, lack.join('；') || '—')),
      h('tr', {}, h('th', {}, t('sync_clock')), h('td', {class: 'clock' + (clockWarn ? ' bad' : '')}, clock + (clockWarn ? '（' + t('sync_clock_warn') + '）' : ''))),
      h('tr', {}, h('th', {}, t('sync_endpoint')), h('td', {class: 'mono'}, x.endpoint || '—',
        ' · ', t('sync_bytes', {i: fmtBytes(x.bytes_in || 0), o: fmtBytes(x.bytes_out || 0)})))),
    problems.length ? problems : h('p', {class: 'ok small'}, t('sync_no_problems')));
}

/* ---- users (admin) ---- */
route(/^\/users$/, async (main, args, params, stale) => {
  main.appendChild(pageTitle(t('users_title')));
  if (API.session.role !== 'admin') { main.appendChild(h('p', {class: 'notice'}, t('users_only_admin'))); return; }
  const r = await API.get('users');
  if (stale()) return;
  const msg = h('div', {class: 'form-ok', role: 'status', id: 'users-msg'});
  main.appendChild(msg);
  main.appendChild(h('table', {class: 'grid', id: 'users'},
    h('thead', {}, h('tr', {}, ['users_name', 'users_role', 'users_key', 'users_until', ''].map((k) => h('th', {}, k ? t(k) : '')))),
    h('tbody', {}, (r.users || []).map((u) => {
      const reason = h('input', {type: 'text', placeholder: t('users_revoke_reason'), class: 'short'});
      const err = h('span', {class: 'field-error'});
      const rv = h('form', {class: 'inline'}, reason, h('button', {type: 'submit', class: 'danger'}, t('users_revoke')), err);
      rv.addEventListener('submit', async (ev) => {
        ev.preventDefault();
        try {
          await API.post('users/' + encodeURIComponent(u.name) + '/revoke', {reason: reason.value.trim()});
          await render();
          const m2 = document.getElementById('users-msg');
          if (m2) m2.textContent = t('users_revoked_ok', {n: u.name});
        } catch (e) { err.textContent = e.text(); }
      });
      return h('tr', {class: u.revoked ? 'revoked' : null},
        h('td', {}, u.name), h('td', {}, t('role_' + u.role)), h('td', {class: 'mono'}, (u.key || '').slice(0, 12)),
        h('td', {}, fmtTime(u.not_after)),
        h('td', {}, u.revoked ? t('users_revoked') : u.name === API.session.user ? '' : rv));
    }))));
  const name = h('input', {type: 'text', id: 'u-name', name: 'name'});
  const role = h('select', {id: 'u-role', name: 'role'}, ['clerk', 'assessor', 'auditor', 'admin'].map((x) => h('option', {value: x}, t('role_' + x))));
  const pw = h('input', {type: 'password', id: 'u-password', name: 'password', autocomplete: 'new-password'});
  const days = h('input', {type: 'text', id: 'u-days', name: 'days', class: 'short', value: '365'});
  const err = h('div', {class: 'form-error', role: 'alert'});
  const form = h('form', {class: 'card', id: 'user-form'}, h('h2', {}, t('users_add')),
    h('div', {class: 'field'}, h('label', {for: 'u-name'}, t('users_name')), name),
    h('div', {class: 'field'}, h('label', {for: 'u-role'}, t('users_role')), role),
    h('div', {class: 'field'}, h('label', {for: 'u-password'}, t('users_password')), pw),
    h('div', {class: 'field'}, h('label', {for: 'u-days'}, t('users_days')), days),
    err, h('div', {class: 'actions'}, h('button', {type: 'submit', class: 'primary'}, t('users_add'))));
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    err.textContent = '';
    if (!name.value.trim()) { err.textContent = t('err_required', {f: t('users_name')}); return; }
    if (pw.value.length < 8) { err.textContent = t('pw_short'); return; }
    const d = foldAscii(days.value).trim();
    if (!/^\d+$/.test(d) || +d < 1) { err.textContent = t('err_integer', {f: t('users_days')}); return; }
    try {
      await API.post('users', {name: name.value.trim(), role: role.value, password: pw.value, days: +d});
      const n = name.value.trim();
      await render();
      const m2 = document.getElementById('users-msg');
      if (m2) m2.textContent = t('users_added', {n});
    } catch (e) { err.textContent = e.text(); }
  });
  main.appendChild(form);
});

/* ---- own password ---- */
route(/^\/password$/, async (main) => {
  main.appendChild(pageTitle(t('pw_title')));
  const old = h('input', {type: 'password', id: 'pw-old', autocomplete: 'current-password'});
  const n1 = h('input', {type: 'password', id: 'pw-new', autocomplete: 'new-password'});
  const n2 = h('input', {type: 'password', id: 'pw-new2', autocomplete: 'new-password'});
  const err = h('div', {class: 'form-error', role: 'alert'});
  const ok = h('div', {class: 'form-ok', role: 'status'});
  const form = h('form', {class: 'card', id: 'pw-form'},
    h('div', {class: 'field'}, h('label', {for: 'pw-old'}, t('pw_old')), old),
    h('div', {class: 'field'}, h('label', {for: 'pw-new'}, t('pw_new')), n1),
    h('div', {class: 'field'}, h('label', {for: 'pw-new2'}, t('pw_new2')), n2),
    err, h('div', {class: 'actions'}, h('button', {type: 'submit', class: 'primary'}, t('save')), ok));
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    err.textContent = '';
    ok.textContent = '';
    if (n1.value.length < 8) { err.textContent = t('pw_short'); return; }
    if (n1.value !== n2.value) { err.textContent = t('pw_mismatch'); return; }
    try {
      /* a wrong old password is the answer here, not a session that ended */
      await API.call('POST', 'password', {old: old.value, new: n1.value}, {login: true});
      old.value = n1.value = n2.value = '';
      ok.textContent = t('pw_done');
    } catch (e) {
      err.textContent = e.status === 401 || (e.status === 403 && e.field === 'old') ? t('pw_wrong_old') : e.text();
    }
  });
  main.appendChild(form);
});
