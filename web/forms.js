/* forms.js - record forms generated from the schema: one control per
 * field by its kind (register, counter, set, log) and value type, the
 * checks of validate.js shown under each field before sending, and the
 * server's 422 shown on the field it names. */
'use strict';

function canWrite(collection) {
  const role = API.session && API.session.role;
  if (role === 'clerk' || role === 'admin') return true;
  if (role === 'assessor') return collection === 'pts';
  return false;
}

/* A stored register value as the form shows it (money in yuan, enums as labels). */
function plainYuan(fen) { return fenToYuan(fen).replace(/,/g, ''); }
function showValue(field, v) {
  if (v === undefined || v === null) return '';
  if (Array.isArray(v)) {
    return v.map((x) => (typeof x === 'object' ? x.text : showValue(field, x))).join('、');
  }
  if (field && field.type === 'money') return fenToYuan(v) + ' 元';
  if (field && field.type === 'enum') return enumLabel(field, v);
  return String(v);
}

/* recordForm({typeName, type, record, preset, fields, onSaved, submitLabel}):
 * a form for a new record (record null) or a change to `record`.  `preset`
 * gives values for new records that are not shown ({户: 'hh/0012'});
 * `fields` limits the fields shown. */
function recordForm(o) {
  const type = o.type;
  const rec = o.record;
  const isNew = !rec;
  const cur = rec ? rec.fields || {} : {};
  const names = (o.fields || Object.keys(type.fields)).filter((n) => !(o.preset && n in o.preset));
  const controls = {};
  const errs = {};
  const top = h('div', {class: 'form-error', role: 'alert', 'data-error-for': '_form'});
  const form = h('form', {class: 'record-form', id: o.id || 'record-form', novalidate: true,
    'data-type': o.typeName});

  function setErr(name, msg) {
    const e = errs[name];
    if (!e) { top.textContent = (top.textContent ? top.textContent + ' ' : '') + msg; return; }
    e.textContent = msg || '';
    for (const inp of controls[name].inputs) {
      inp.classList.toggle('invalid', !!msg);
      if (msg) inp.setAttribute('aria-invalid', 'true'); else inp.removeAttribute('aria-invalid');
    }
  }

  let idInput = null;
  if (isNew && !o.noId) {
    idInput = h('input', {type: 'text', name: '_id', id: 'f-_id', class: 'short', autocomplete: 'off',
      placeholder: t('record_id_hint')});
    form.appendChild(h('div', {class: 'field'},
      h('label', {for: 'f-_id'}, t('record_id')), idInput));
  }

  for (const name of names) {
    const f = type.fields[name];
    const label = fieldLabel(name, f);
    const required = isNew && f.required;
    const id = 'f-' + name;
    const c = {name, f, inputs: []};
    const box = h('div', {class: 'field', 'data-field': name});
    box.appendChild(h('label', {for: id}, label,
      required ? h('span', {class: 'req', title: t('required_mark')}, ' *') : null));

    if (f.kind === 'register') {
      let inp;
      if (f.type === 'enum') {
        inp = h('select', {id, name},
          h('option', {value: ''}, isNew ? '—' : '—'),
          (f.codes || []).map((x) => h('option', {value: x.zh, selected: cur[name] === x.zh},
            I18N.lang === 'en' && x.en ? x.en : x.zh)));
      } else {
        let v = cur[name] !== undefined ? String(cur[name]) : '';
        if (f.type === 'money' && v) v = plainYuan(v);
        inp = h('input', {id, name, type: 'text', value: v, autocomplete: 'off',
          class: f.type === 'text' ? 'wide' : 'short',
          inputmode: ['integer', 'money', 'phone', 'resident_id'].includes(f.type) ? 'numeric' : null,
          placeholder: {date: '2026-11-30', phone: '13812345678', money: '0.00',
            resident_id: '11010519491231002X'}[f.type] || null});
      }
      c.inputs.push(inp);
      box.appendChild(inp);
      if (f.type === 'money') box.appendChild(h('span', {class: 'unit'}, '元'));
      c.collect = (body) => {
        const raw = inp.value;
        const old = cur[name] !== undefined ? String(cur[name]) : '';
        if (!isNew && raw.trim() === (f.type === 'money' && old ? plainYuan(old) : old)) return null;
        const r = checkValue(name, f, raw, {required: required || (!isNew && old !== '')});
        if (r.error) return r.error;
        if (r.value !== '') (body.set = body.set || {})[name] = r.value;
        return null;
      };
    } else if (f.kind === 'counter') {
      if (!isNew) box.appendChild(h('span', {class: 'current'}, t('counter_now', {n: showValue(f, cur[name] || 0)})));
      const inp = h('input', {id, name, type: 'text', class: 'short', autocomplete: 'off', inputmode: 'numeric',
        placeholder: isNew ? t('counter_initial') : t('counter_change')});
      c.inputs.push(inp);
      box.appendChild(inp);
      c.collect = (body) => {
        const r = checkValue(name, f, inp.value, {required: required, delta: true});
        if (r.error) return r.error;
        if (r.value !== '' && r.value !== '0') (body.incr = body.incr || {})[name] = Number(r.value);
        return null;
      };
    } else if (f.kind === 'set') {
      const have = Array.isArray(cur[name]) ? cur[name] : [];
      if (f.type === 'enum') {
        const boxes = (f.codes || []).map((x) => {
          const cb = h('input', {type: 'checkbox', name, value: x.zh, checked: have.includes(x.zh)});
          c.inputs.push(cb);
          return h('label', {class: 'check'}, cb, ' ', I18N.lang === 'en' && x.en ? x.en : x.zh);
        });
        c.inputs[0] && c.inputs[0].setAttribute('id', id);
        box.appendChild(h('div', {class: 'checks'}, boxes));
        c.collect = (body) => {
          for (const cb of c.inputs) {
            if (cb.checked && !have.includes(cb.value)) (body.add = body.add || {})[name] = [...(body.add && body.add[name] || []), cb.value];
            if (!cb.checked && have.includes(cb.value)) (body.rm = body.rm || {})[name] = [...(body.rm && body.rm[name] || []), cb.value];
          }
          return null;
        };
      } else {
        const rms = have.map((v) => {
          const cb = h('input', {type: 'checkbox', value: v, 'data-remove': name});
          return {v, cb, el: h('li', {}, v, ' ', h('label', {class: 'check small'}, cb, ' ', t('field_remove')))};
        });
        if (rms.length) box.appendChild(h('ul', {class: 'set-items'}, rms.map((x) => x.el)));
        const ta = h('textarea', {id, name, rows: 2, placeholder: t('set_hint')});
        c.inputs.push(ta);
        box.appendChild(ta);
        c.collect = (body) => {
          const adds = [];
          for (const line of ta.value.split(/\n/)) {
            if (!line.trim()) continue;
            const r = checkValue(name, f, line.trim(), {});
            if (r.error) return r.error;
            if (!have.includes(r.value) && !adds.includes(r.value)) adds.push(r.value);
          }
          if (required && adds.length === 0) return t('err_required', {f: label});
          if (adds.length) (body.add = body.add || {})[name] = adds;
          const rm = rms.filter((x) => x.cb.checked).map((x) => x.v);
          if (rm.length) (body.rm = body.rm || {})[name] = rm;
          return null;
        };
      }
    } else if (f.kind === 'log') {
      const entries = Array.isArray(cur[name]) ? cur[name] : [];
      if (!isNew) box.appendChild(logList(entries));
      const ta = h('textarea', {id, name, rows: 2, placeholder: t('log_new')});
      c.inputs.push(ta);
      box.appendChild(ta);
      c.collect = (body) => {
        if (!ta.value.trim()) return required ? t('err_required', {f: label}) : null;
        (body.append = body.append || {})[name] = ta.value.trim();
        return null;
      };
    }
    const err = h('div', {class: 'field-error', 'data-error-for': name, role: 'alert'});
    errs[name] = err;
    box.appendChild(err);
    controls[name] = c;
    form.appendChild(box);
    /* the check of one field as soon as the clerk leaves it */
    for (const inp of c.inputs) {
      inp.addEventListener('change', () => setErr(name, c.collect({})));
    }
  }

  const submit = h('button', {type: 'submit', class: 'primary'}, o.submitLabel || t('save'));
  const done = h('div', {class: 'form-ok', role: 'status'});
  form.appendChild(top);
  form.appendChild(h('div', {class: 'actions'}, submit, done));

  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    top.textContent = '';
    done.textContent = '';
    const body = {};
    let bad = false;
    for (const name of names) {
      const msg = controls[name].collect(body);
      setErr(name, msg);
      if (msg) bad = true;
    }
    if (bad) { top.textContent = t('err_form'); return; }
    if (isNew && o.preset) {
      for (const [k, v] of Object.entries(o.preset)) (body.set = body.set || {})[k] = v;
    }
    if (!Object.keys(body).length) { top.textContent = t('err_nothing'); return; }
    submit.disabled = true;
    try {
      let saved;
      if (isNew) {
        const req = {fields: body};
        if (idInput && idInput.value.trim()) req.id = foldAscii(idInput.value).trim();
        saved = await API.post('records/' + encodeURIComponent(type.collection), req);
        done.textContent = t('created', {key: saved.rel || saved.key});
      } else {
        body.key = rec.rel && !rec.rel.startsWith('/') ? rec.rel : '/' + rec.key.replace(/^\//, '');
        saved = await API.post('record', body);
        done.textContent = t('saved');
      }
      if (o.onSaved) o.onSaved(saved);
    } catch (e) {
      if (e.status === 401) return;
      if (e.field && errs[e.field]) setErr(e.field, e.text());
      else top.textContent = e.text();
    } finally {
      submit.disabled = false;
    }
  });
  return form;
}

/* A log's entries, oldest first: time, who, text. */
function logList(entries) {
  if (!entries.length) return h('p', {class: 'muted'}, t('log_empty'));
  return h('ol', {class: 'log'}, entries.map((x) => h('li', {},
    h('span', {class: 'when'}, fmtTime(x.time)), ' ',
    x.by ? h('span', {class: 'who'}, typeof x.by === 'object' ? x.by.name || x.by.station : x.by) : null, ' ',
    h('span', {class: 'text'}, x.text))));
}
