/* i18n.js - every string the interface shows, one table per language.
 * zh-CN is the default; the choice is kept in localStorage.  Field, type
 * and enum labels come from the schema itself (zh: the name, en: "en"). */
'use strict';

const STRINGS = {
  zh: {
    app_title: '邻里 · 社区工作站',
    lang_switch: 'English',
    nav_home: '首页', nav_households: '户籍', nav_records: '各类记录', nav_requests: '诉求',
    nav_votes: '民主决策日', nav_charity: '慈善基金', nav_reports: '报表', nav_sync: '同步',
    nav_users: '用户', nav_password: '修改密码', logout: '退出登录',
    login_title: '登录', login_user: '用户名', login_password: '密码', login_submit: '登录',
    login_wrong: '用户名或密码错误', login_wait: '尝试次数过多，请 {s} 秒后再试',
    session_expired: '登录已过期，请重新登录', logged_out: '已退出登录',
    loading: '正在加载…', retry: '重试', save: '保存', cancel: '取消', search: '搜索',
    more: '加载更多', none: '（无）', yes: '是', no: '否', back: '返回', open: '打开',
    new_record: '新建{type}', edit_record: '修改', record_id: '编号',
    record_id_hint: '留空则自动编号', saved: '已保存', created: '已新建 {key}',
    required_mark: '必填', field_add: '添加', field_remove: '删除',
    counter_now: '现为 {n}', counter_change: '增减（如 5 或 -2）', counter_initial: '初始值',
    log_new: '新增一条', log_empty: '尚无记录', set_hint: '每行一个',
    money_hint: '单位：元，如 120.50',
    err_required: '{f}为必填项', err_integer: '{f}须为整数，如 3',
    err_min: '{f}不能小于 {min}', err_money: '{f}须为金额（元），最多两位小数，如 120.50',
    err_date: '{f}须为有效日期，格式 YYYY-MM-DD，如 2026-11-30',
    err_enum: '请从列表中选择{f}',
    err_phone: '{f}不是有效的电话号码：手机 11 位（如 13812345678）或固话（如 0512-65231234）',
    err_rid_form: '{f}须为 18 位：17 位数字加一位数字或 X',
    err_rid_date: '{f}第 7 至 14 位不是有效的出生日期',
    err_rid_check: '{f}校验位不符（可能输错了一位），应为 {c}',
    err_form: '请先改正标红的项目', err_nothing: '没有要保存的修改',
    err_network: '无法连接本站服务器，请检查 linli-node 是否在运行',
    err_forbidden: '无权进行此操作', err_csrf: '页面已过期，请刷新后重试',
    err_not_found: '找不到', err_server: '服务器出错',
    station_title: '本站', station_name: '站点', station_role: '级别', station_ns: '命名空间',
    station_time: '本站时间', station_schema: '数据规范版本', station_ops: '操作总数',
    station_free: '磁盘剩余', station_trust: '信任根', station_recovering: '本站正在从上级恢复数据，恢复完成前请勿录入',
    role_village: '村（社区）', role_street: '街道（镇）', role_district: '区（市）',
    role_clerk: '办事员', role_assessor: '评定员', role_auditor: '审计员', role_admin: '管理员',
    trust_root: '已配置', trust_none: '未配置',
    home_welcome: '{user}（{role}），您好', home_quick: '常用',
    hh_title: '户籍', hh_search_ph: '户主、地址、电话…', filter_all: '全部',
    filter_prefix: '范围', filter_whole: '本站全部',
    list_count: '共显示 {n} 条', list_empty: '没有符合条件的记录', list_csv: '导出与导入（CSV）',
    hh_members: '成员', hh_residents: '居民登记', hh_points: '诚信积分', hh_points_entries: '积分记录',
    hh_requests: '诉求', hh_diary: '民情日记', hh_visits: '走访', hh_history: '签名历史',
    hh_new_points: '记积分', hh_new_diary: '写民情日记', hh_new_resident: '登记居民',
    hist_when: '时间', hist_who: '操作人', hist_what: '操作', hist_verified: '验证',
    hist_ok: '✔ 签名有效', hist_bad: '✘ 未通过验证', hist_empty: '无历史',
    kind_set: '设为', kind_incr: '增减', kind_add: '加入', kind_rm: '移除', kind_append: '追加', kind_del: '删除',
    audit_run: '审计此记录', audit_ok: '审计通过：{n} 条操作，签名与证书链均有效',
    audit_bad: '审计发现问题', audit_authors: '作者',
    updated: '最后修改', updated_by: '修改人',
    req_title: '诉求看板', req_change: '改为', req_progress: '进展备注（可选）',
    req_changed: '已将“{m}”改为{s}',
    vote_title: '民主决策日', vote_item: '议题', vote_tally: '计票', vote_for: '赞成', vote_against: '反对',
    vote_abstain: '弃权', vote_member: '成员姓名', vote_choice: '表决', vote_record: '登记表决',
    vote_recorded: '已登记 {m}：{c}', vote_outcome: '结果', vote_set_outcome: '确定结果',
    vote_undecided: '未定', vote_total: '合计 {n} 票',
    charity_title: '慈善基金台账', charity_income: '收入合计', charity_expense: '支出合计',
    charity_balance: '结余', charity_running: '余额', charity_in_col: '收入', charity_out_col: '支出', charity_new: '记一笔',
    rep_title: '统计报表', rep_type: '类型', rep_month: '月份', rep_all_types: '全部类型',
    rep_all_time: '全部时间', rep_show: '查看', rep_item: '项目', rep_total: '合计',
    rep_csv: '下载 {t} CSV', rep_csv_hint: 'CSV 为 UTF-8（带 BOM），可直接用 Excel 打开',
    rep_count: '数量', rep_sum: '{f}合计',
    imp_title: '导入 {t}（CSV）', imp_file: 'CSV 文件', imp_submit: '上传并导入',
    imp_hint: '可先下载上面的 CSV，在 Excel 中填写后另存为 CSV（UTF-8 或 GB18030 均可）再上传；第 1 行是标题。编号已有的记录会被更新。',
    imp_none: '请先选择一个 CSV 文件', imp_too_big: '文件太大（{s}），最多 8 MB：请分成几个文件分别导入',
    imp_sending: '正在上传… {p}%', imp_checking: '正在检查并导入，请稍候…',
    imp_done: '已导入 {n} 条{t}记录', imp_view: '查看{t}列表',
    imp_refused: '有 {n} 行有误，全部未导入。请在 Excel 中改正下列各行，保存后重新上传整个文件。',
    imp_more: '还有 {k} 行有误（改正上面各行后重新上传即可看到）',
    sync_title: '同步状态', sync_refresh: '刷新', sync_none: '本站没有配置上级或下级站点',
    sync_parent: '上级', sync_child: '下级', sync_online: '已连接', sync_offline: '未连接',
    sync_last: '上次同步', sync_never: '从未同步', sync_ago: '{t}前',
    sync_lack: '待同步',
    sync_we_lack: '本站还缺对方 {n} 条', sync_they_lack: '对方还缺本站 {n} 条', sync_even: '双方数据一致',
    sync_clock: '时钟差', sync_clock_unknown: '未知', sync_clock_same: '与本站一致',
    sync_clock_ahead: '对方比本站快 {t}', sync_clock_behind: '对方比本站慢 {t}',
    sync_clock_warn: '时钟相差较大，请核对电脑时间',
    sync_bytes: '收 {i} / 发 {o}', sync_refusals: '被拒收的数据', sync_refusal: '{time}：对方发来的数据未通过校验，已暂停与其同步一段时间（原因：{reason}）',
    sync_forks: '数据分叉', sync_fork: '{name} 的第 {seq} 条操作出现了两个不同版本（同一密钥在两处使用？），已停止接收其后续数据，请联系上级处理',
    sync_duplicate: '同一站点有两处同时连接（可能复制了数据目录），请检查', sync_endpoint: '地址',
    sync_no_problems: '无拒收、无分叉', sync_times: '（本次运行以来共 {n} 次）',
    unit_s: '{n} 秒', unit_min: '{n} 分钟', unit_h: '{n} 小时', unit_d: '{n} 天',
    users_title: '用户管理', users_name: '姓名', users_role: '角色', users_key: '密钥',
    users_until: '有效期至', users_revoked: '已吊销', users_active: '有效', users_add: '添加用户',
    users_password: '初始密码（至少 8 位）', users_days: '有效天数', users_revoke: '吊销',
    users_revoke_reason: '吊销原因', users_added: '已添加用户 {n}', users_revoked_ok: '已吊销 {n}',
    users_only_admin: '只有管理员可以管理用户',
    pw_title: '修改密码', pw_old: '原密码', pw_new: '新密码（至少 8 位）', pw_new2: '再输一次新密码',
    pw_mismatch: '两次输入的新密码不一致', pw_wrong_old: '原密码不正确', pw_short: '密码至少 8 位', pw_done: '密码已修改',
    types_title: '各类记录', type_count: '{n} 个字段',
    read_only: '您的角色只能查看，不能修改',
  },
  en: {
    app_title: 'linli · community station',
    lang_switch: '中文',
    nav_home: 'Home', nav_households: 'Households', nav_records: 'All records', nav_requests: 'Requests',
    nav_votes: 'Decision day', nav_charity: 'Charity fund', nav_reports: 'Reports', nav_sync: 'Sync',
    nav_users: 'Users', nav_password: 'Password', logout: 'Log out',
    login_title: 'Log in', login_user: 'User name', login_password: 'Password', login_submit: 'Log in',
    login_wrong: 'Wrong user name or password', login_wait: 'Too many attempts; try again in {s} s',
    session_expired: 'Your session has expired; please log in again', logged_out: 'Logged out',
    loading: 'Loading…', retry: 'Retry', save: 'Save', cancel: 'Cancel', search: 'Search',
    more: 'Load more', none: '(none)', yes: 'yes', no: 'no', back: 'Back', open: 'Open',
    new_record: 'New {type}', edit_record: 'Edit', record_id: 'Number',
    record_id_hint: 'leave empty to number it automatically', saved: 'Saved', created: 'Created {key}',
    required_mark: 'required', field_add: 'Add', field_remove: 'Remove',
    counter_now: 'now {n}', counter_change: 'change (e.g. 5 or -2)', counter_initial: 'initial value',
    log_new: 'new entry', log_empty: 'no entries yet', set_hint: 'one per line',
    money_hint: 'in yuan, e.g. 120.50',
    err_required: '{f} is required', err_integer: '{f} must be a whole number, e.g. 3',
    err_min: '{f} must be at least {min}', err_money: '{f} must be an amount in yuan with at most two decimals, e.g. 120.50',
    err_date: '{f} must be a real date YYYY-MM-DD, e.g. 2026-11-30',
    err_enum: 'Choose {f} from the list',
    err_phone: '{f} is not a phone number: a mobile number of 11 digits (13812345678) or a landline (0512-65231234)',
    err_rid_form: '{f} must be 18 characters: 17 digits and a digit or X',
    err_rid_date: '{f} has no valid birth date in characters 7 to 14',
    err_rid_check: '{f} has a wrong check character (a typing error?); it would be {c}',
    err_form: 'Correct the fields marked in red first', err_nothing: 'Nothing to save',
    err_network: 'Cannot reach this station\'s server; is linli-node running?',
    err_forbidden: 'You may not do this', err_csrf: 'The page is out of date; reload it and try again',
    err_not_found: 'Not found', err_server: 'Server error',
    station_title: 'This station', station_name: 'Station', station_role: 'Level', station_ns: 'Namespace',
    station_time: 'Station time', station_schema: 'Schema version', station_ops: 'Operations',
    station_free: 'Free disk', station_trust: 'Trust root', station_recovering: 'This station is recovering its data from its parent; do not enter records until it is done',
    role_village: 'village', role_street: 'street', role_district: 'district',
    role_clerk: 'clerk', role_assessor: 'assessor', role_auditor: 'auditor', role_admin: 'admin',
    trust_root: 'set', trust_none: 'not set',
    home_welcome: 'Hello, {user} ({role})', home_quick: 'Shortcuts',
    hh_title: 'Households', hh_search_ph: 'head, address, phone…', filter_all: 'all',
    filter_prefix: 'Scope', filter_whole: 'the whole station',
    list_count: '{n} shown', list_empty: 'No records match', list_csv: 'Export and import (CSV)',
    hh_members: 'Members', hh_residents: 'Registered residents', hh_points: 'Integrity points', hh_points_entries: 'Points entries',
    hh_requests: 'Requests', hh_diary: 'Visit diary', hh_visits: 'Visits', hh_history: 'Signed history',
    hh_new_points: 'Add points', hh_new_diary: 'Write a diary entry', hh_new_resident: 'Register a resident',
    hist_when: 'When', hist_who: 'Who', hist_what: 'What', hist_verified: 'Verified',
    hist_ok: '✔ signature valid', hist_bad: '✘ not verified', hist_empty: 'No history',
    kind_set: 'set', kind_incr: 'changed by', kind_add: 'added', kind_rm: 'removed', kind_append: 'appended', kind_del: 'deleted',
    audit_run: 'Audit this record', audit_ok: 'Audit passed: {n} operations, signatures and certificate chains valid',
    audit_bad: 'The audit found problems', audit_authors: 'Authors',
    updated: 'Last changed', updated_by: 'by',
    req_title: 'Requests board', req_change: 'Move to', req_progress: 'Progress note (optional)',
    req_changed: '"{m}" is now {s}',
    vote_title: 'Decision day', vote_item: 'Item', vote_tally: 'Tally', vote_for: 'For', vote_against: 'Against',
    vote_abstain: 'Abstain', vote_member: 'Member\'s name', vote_choice: 'Vote', vote_record: 'Record the vote',
    vote_recorded: 'Recorded {m}: {c}', vote_outcome: 'Outcome', vote_set_outcome: 'Set the outcome',
    vote_undecided: 'undecided', vote_total: '{n} votes in all',
    charity_title: 'Charity fund ledger', charity_income: 'Income', charity_expense: 'Expense',
    charity_balance: 'Balance', charity_running: 'Balance', charity_in_col: 'Income', charity_out_col: 'Expense', charity_new: 'New entry',
    rep_title: 'Reports', rep_type: 'Type', rep_month: 'Month', rep_all_types: 'all types',
    rep_all_time: 'all time', rep_show: 'Show', rep_item: 'Item', rep_total: 'Total',
    rep_csv: 'Download {t} CSV', rep_csv_hint: 'CSV files are UTF-8 with a byte order mark; Excel opens them as they are',
    rep_count: 'count', rep_sum: 'sum of {f}',
    imp_title: 'Import {t} (CSV)', imp_file: 'CSV file', imp_submit: 'Upload and import',
    imp_hint: 'Download the CSV above, fill it in Excel, save it as CSV (UTF-8 or GB18030) and upload it; row 1 is the header. Records whose ID exists are updated.',
    imp_none: 'Choose a CSV file first', imp_too_big: 'The file is too large ({s}); at most 8 MB: split it into several files',
    imp_sending: 'Uploading… {p}%', imp_checking: 'Checking and importing, please wait…',
    imp_done: 'Imported {n} {t} records', imp_view: 'Open the {t} list',
    imp_refused: '{n} rows are wrong; nothing was imported. Correct these rows in Excel, save and upload the whole file again.',
    imp_more: '{k} more rows are wrong (correct the rows above and upload again to see them)',
    sync_title: 'Sync', sync_refresh: 'Refresh', sync_none: 'This station has no parent or child configured',
    sync_parent: 'parent', sync_child: 'child', sync_online: 'connected', sync_offline: 'not connected',
    sync_last: 'Last sync', sync_never: 'never', sync_ago: '{t} ago',
    sync_lack: 'Pending',
    sync_we_lack: 'we lack {n} of theirs', sync_they_lack: 'they lack {n} of ours', sync_even: 'both sides hold the same',
    sync_clock: 'Clock', sync_clock_unknown: 'unknown', sync_clock_same: 'same as ours',
    sync_clock_ahead: 'theirs is {t} ahead', sync_clock_behind: 'theirs is {t} behind',
    sync_clock_warn: 'the clocks differ a lot: check the computers\' time',
    sync_bytes: 'in {i} / out {o}', sync_refusals: 'Refused data', sync_refusal: '{time}: its data failed the checks; sync with it was paused for a while (reason: {reason})',
    sync_forks: 'Forks', sync_fork: '{name} signed two different versions of operation {seq} (one key used in two places?); its later data is no longer taken: tell your parent station',
    sync_duplicate: 'This station is connected twice at once (a copied data directory?): check', sync_endpoint: 'Address',
    sync_no_problems: 'no refusals, no forks', sync_times: ' ({n} times since the node started)',
    unit_s: '{n} s', unit_min: '{n} min', unit_h: '{n} h', unit_d: '{n} days',
    users_title: 'Users', users_name: 'Name', users_role: 'Role', users_key: 'Key',
    users_until: 'Valid until', users_revoked: 'revoked', users_active: 'valid', users_add: 'Add a user',
    users_password: 'First password (8 characters or more)', users_days: 'Valid for (days)', users_revoke: 'Revoke',
    users_revoke_reason: 'Reason', users_added: 'Added {n}', users_revoked_ok: 'Revoked {n}',
    users_only_admin: 'Only an admin manages users',
    pw_title: 'Change password', pw_old: 'Current password', pw_new: 'New password (8 characters or more)', pw_new2: 'New password again',
    pw_mismatch: 'The two new passwords differ', pw_wrong_old: 'The current password is wrong', pw_short: 'At least 8 characters', pw_done: 'Password changed',
    types_title: 'All records', type_count: '{n} fields',
    read_only: 'Your role reads only; it cannot change records',
  },
};

const I18N = {
  lang: (() => {
    try { return localStorage.getItem('linli.lang') === 'en' ? 'en' : 'zh'; } catch (e) { return 'zh'; }
  })(),
  setLang(l) {
    this.lang = l === 'en' ? 'en' : 'zh';
    try { localStorage.setItem('linli.lang', this.lang); } catch (e) { /* private mode */ }
    document.documentElement.lang = this.lang === 'en' ? 'en' : 'zh-CN';
  },
};

/* t('key', {name: value}): the current language's string with {name}s filled. */
function t(key, params) {
  let s = STRINGS[I18N.lang][key];
  if (s === undefined) s = STRINGS.zh[key];
  if (s === undefined) return key;
  if (params) s = s.replace(/\{(\w+)\}/g, (m, k) => (params[k] !== undefined ? String(params[k]) : m));
  return s;
}

/* Labels from the schema: a type, a field, an enum value (stored as its zh label). */
function typeLabel(typeName, type) {
  return I18N.lang === 'en' && type && type.en ? type.en : typeName;
}
function fieldLabel(name, field) {
  return I18N.lang === 'en' && field && field.en ? field.en : name;
}
function enumLabel(field, stored) {
  if (!field || !field.codes) return stored;
  const c = field.codes.find((x) => x.zh === stored || x.code === stored);
  if (!c) return stored;
  return I18N.lang === 'en' && c.en ? c.en : c.zh;
}
/* A server error's message in the current language. */
function errorText(err) {
  if (I18N.lang === 'zh' && err.message_zh) return err.message_zh;
  return err.message || err.message_zh || err.code || '';
}
