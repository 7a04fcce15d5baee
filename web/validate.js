/* validate.js - the schema's value checks (docs/SCHEMA.md), run in the
 * page before anything is sent, with the same rules as crdt/schema.c:
 * full-width digits and signs fold to ASCII, spaces around a value are
 * dropped.  Money is typed in yuan and sent in fen.  The server checks
 * again; its 422 is shown on the field it names. */
'use strict';

/* Full-width ASCII (the IME's ５, －, ＝) and the ideographic space to ASCII. */
function foldAscii(s) {
  return s.replace(/[\uFF01-\uFF5E]/g, (c) => String.fromCharCode(c.charCodeAt(0) - 0xFEE0))
    .replace(/\u3000/g, ' ');
}

function dateOk(y, m, d) {
  const days = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];
  if (y < 1900 || y > 2999 || m < 1 || m > 12 || d < 1) return false;
  const leap = (y % 4 === 0 && y % 100 !== 0) || y % 400 === 0;
  return d <= days[m - 1] + (m === 2 && leap ? 1 : 0);
}

/* The check character of 17 digits (ISO 7064 MOD 11-2, GB 11643). */
function residentIdCheck(d17) {
  const w = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
  let sum = 0;
  for (let i = 0; i < 17; i++) sum += (d17.charCodeAt(i) - 48) * w[i];
  return '10X98765432'[sum % 11];
}

function phoneOk(p) {
  if (/^1[3-9]\d{9}$/.test(p)) return true;
  if (/^0\d{2,3}-\d{7,8}$/.test(p)) return true;
  return /^0\d{9,11}$/.test(p);
}

const INT64_MAX = BigInt('9223372036854775807');
const INT64_MIN = -INT64_MAX - BigInt(1);

/* "120.5" yuan -> "12050" fen, or null when it is not an amount. */
function yuanToFen(s) {
  const m = /^([+-]?)(\d+)(?:\.(\d{0,2}))?$/.exec(s);
  if (!m) return null;
  const fen = BigInt(m[2]) * BigInt(100) + BigInt((m[3] || '').padEnd(2, '0'));
  const v = m[1] === '-' ? -fen : fen;
  if (v > INT64_MAX || v < INT64_MIN) return null;
  return v.toString();
}

/* Checks what was typed for `field` (a schema field object named `name`).
 * opts.required: the value must be given (a new record's required field);
 * opts.delta: an increment of a counter (its sign is free, min not applied).
 * Returns {value} (canonical, as sent; '' when empty and allowed) or {error}. */
function checkValue(name, field, raw, opts) {
  opts = opts || {};
  const label = fieldLabel(name, field);
  const text = field.type === 'text' ? raw : foldAscii(raw).trim();
  if (text.trim() === '') {
    return opts.required ? {error: t('err_required', {f: label})} : {value: ''};
  }
  switch (field.type) {
    case 'text':
      return {value: raw};
    case 'integer': {
      if (!/^[+-]?\d+$/.test(text)) return {error: t('err_integer', {f: label})};
      const v = BigInt(text);
      if (v > INT64_MAX || v < INT64_MIN) return {error: t('err_integer', {f: label})};
      if (!opts.delta && field.kind !== 'counter' && field.min !== undefined && v < BigInt(field.min)) {
        return {error: t('err_min', {f: label, min: field.min})};
      }
      return {value: v.toString()};
    }
    case 'money': {
      const fen = yuanToFen(text);
      if (fen === null) return {error: t('err_money', {f: label})};
      const min = field.min !== undefined ? field.min : 0;
      if (!opts.delta && field.kind !== 'counter' && BigInt(fen) < BigInt(min)) {
        return {error: t('err_min', {f: label, min: fenToYuan(min)})};
      }
      return {value: fen};
    }
    case 'date': {
      const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(text);
      if (!m || !dateOk(+m[1], +m[2], +m[3])) return {error: t('err_date', {f: label})};
      return {value: text};
    }
    case 'enum': {
      const c = (field.codes || []).find((x) => x.zh === text || x.code === text);
      if (!c) return {error: t('err_enum', {f: label})};
      return {value: c.zh};
    }
    case 'phone':
      if (!phoneOk(text)) return {error: t('err_phone', {f: label})};
      return {value: text};
    case 'resident_id': {
      const id = text.length === 18 ? text.slice(0, 17) + text[17].toUpperCase() : text;
      if (!/^\d{17}.$/.test(id)) return {error: t('err_rid_form', {f: label})};
      if (!dateOk(+id.slice(6, 10), +id.slice(10, 12), +id.slice(12, 14))) {
        return {error: t('err_rid_date', {f: label})};
      }
      const c = residentIdCheck(id);
      if (id[17] !== c) return {error: t('err_rid_check', {f: label, c})};
      return {value: id};
    }
    default:
      return {value: raw};
  }
}
