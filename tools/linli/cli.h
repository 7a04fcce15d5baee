/*
 * cli.h - what the files of the `linli` program share.
 *
 * main.c parses the command line into a `cli` (data directory, output mode,
 * the options a command accepts, its positional arguments) and calls one
 * cmd_* function, which returns the process exit status.  Every failure is
 * reported through cli_fail()/cli_fail_e()/cli_usage(), which print exactly
 * one line on stderr: a command reports an error once, at the place that
 * decides to give up, and returns at once.
 *
 * The commands live in cmd_node.c (keygen, init, status, verify, rebuild),
 * cmd_write.c (put, incr, add, rm, append, del), cmd_read.c (get, ls, log,
 * digest), cmd_sync.c (summary, export, import), cmd_trust.c (cert,
 * rotate), cmd_audit.c (audit), cmd_records.c (schema) and cmd_user.c
 * (user, passwords, --as).
 */
#ifndef LINLI_CLI_H
#define LINLI_CLI_H

#include "crdt/err.h"
#include "node/store.h"
#include "node/users.h"
#include "tools/linli/json.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

/* Exit statuses, documented in `linli --help`. */
enum { CLI_OK = 0, CLI_FAIL = 1, CLI_USAGE = 2 };
/* Not an exit status: cli_open found the data directory taken by a
 * linli-node that has just started; cli_main sends the command to it. */
enum { CLI_FORWARD = 100 };

typedef struct cli {
  const char *cmd;      /* name of the running command, for messages */
  const char *dir;      /* data directory */
  bool json;            /* --json */
  /* command options; NULL / false when not given */
  const char *out;      /* -o FILE */
  const char *name;     /* --name NAME */
  const char *key;      /* --key FILE */
  const char *for_file; /* --for SUMMARY */
  const char *root;     /* --root KEY */
  const char *subject;  /* --subject KEY */
  const char *role;     /* --role ROLE */
  const char *prefix;   /* --prefix PREFIX */
  const char *days;     /* --days N */
  const char *seq;      /* --seq N */
  const char *reason;   /* --reason TEXT */
  const char *record;   /* --record KEY */
  const char *from;     /* --from SEQ */
  const char *wheres[16]; /* --where FILTER, repeatable */
  int nwheres;
  const char *fields;   /* --fields a,b */
  const char *type;     /* --type T */
  const char *month;    /* --month YYYY-MM */
  bool csv;             /* --csv */
  bool dry_run;         /* --dry-run */
  bool force;           /* --force */
  bool restore;         /* --restore */
  bool offline;         /* --offline */
  bool no_trust;        /* --no-trust */
  bool nul;             /* -0 */
  const char *as;       /* --as NAME: write as this person */
  const char *password_file; /* --password-file FILE */
  char *pw_mem;         /* sodium_malloc'd: the passwords read (cli_passwords) */
  const char *pw[2];    /* the password(s) the command needs, in pw_mem */
  /* positional arguments */
  int argc;
  char **argv;
} cli;

/* Print "linli: <message>" on stderr and return CLI_FAIL. */
int cli_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* The same with the message of `e` (its code's text when it has none). */
int cli_fail_e(const lerr *e);
/* Why the store refused a right write, as --json names it ("clock": this
 * PC's clock too far off its parent's, LINLI_ECLOCK; "no_space": the disk
 * below its floor, LINLI_ENOSPC), or NULL for any other code. */
const char *cli_cause_name(int code);
/* A usage error: "linli: CMD: <message> (see linli CMD --help)", returns
 * CLI_USAGE. */
int cli_usage(const cli *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Opens the store at c->dir for writing, or prints why not and returns
 * CLI_FAIL.  When the command runs inside linli-node (cli_exec), it is the
 * daemon's open store instead, whatever c->dir says.  When another process
 * holds the directory it waits: for the lock, or for a linli-node's control
 * socket (then CLI_FORWARD, which the command returns as it is). */
int cli_open(const cli *c, lstore **s);
/* The same for a command that only reads: on a disk below the free-space
 * floor the store is opened read-only, which writes nothing (so reads work
 * on a full disk); otherwise as cli_open, so that the open finishes what
 * a crash interrupted. */
int cli_open_read(const cli *c, lstore **s);
/* Does a linli-node answer on c->dir's control socket? */
bool cli_daemon_listening(const cli *c);
/* Closes what cli_open opened (never the daemon's store); *s becomes NULL. */
void cli_close(lstore **s);

/* Runs one command line (argv[0] is the program name) and returns its exit
 * status: the whole CLI, as main() calls it. */
int cli_main(int argc, char **argv);

/* ---- the caller's files ----
 *
 * Every file a command reads or writes goes through these.  In embedded
 * mode they are the disk.  When the command runs inside linli-node
 * (cli_exec), the files are the caller's: an input is what the request
 * carried under the name given on the command line (the CLI read it), and
 * an output is kept for the answer, which the CLI writes itself, in its own
 * working directory and with its own permissions.  So `export -o /tmp/x`
 * writes the caller's /tmp even when the node runs with a private one. */
typedef struct cli_file {
  char *name;       /* as given on the command line */
  const uint8_t *p; /* contents */
  size_t n;
  uint32_t mode;    /* permissions of an output file */
  uint8_t *own;     /* p when the set owns it: wiped when freed (a backup holds keys) */
} cli_file;
#define CLI_FILES_MAX 16
typedef struct cli_files {
  cli_file v[CLI_FILES_MAX];
  uint32_t n;
} cli_files;
/* Adds name[0..nl) (copied) with contents p[0..n): copied, borrowed (p
 * must outlive the set: a request's bytes) or taken (p is malloc'd and
 * the set frees it, also on failure). */
typedef enum { CLI_FILE_COPY, CLI_FILE_BORROW, CLI_FILE_TAKE } cli_file_how;
int cli_files_add(cli_files *f, const char *name, size_t nl, const void *p, size_t n,
                  uint32_t mode, cli_file_how how, lerr *e);
const cli_file *cli_files_find(const cli_files *f, const char *name);
void cli_files_free(cli_files *f);
/* While a request runs in the daemon: its input files and where outputs
 * go; (NULL, NULL) afterwards. */
void cli_files_serve(const cli_files *in, cli_files *out);
/* Whether the files are the caller's at the other end of a request. */
bool cli_files_remote(void);

/* The whole file (at most `max` bytes, malloc'd), as fs_read_all. */
int cli_file_read(const char *path, size_t max, uint8_t **out, size_t *n, lerr *e);
/* Writes the file atomically with permissions `mode`, as fs_write_atomic
 * (a file that exists is replaced: see cli_out_check). */
int cli_file_write(const char *path, const void *p, size_t n, mode_t mode, lerr *e);
/* A command whose -o FILE must not replace a file without --force
 * (export, keygen): refuses an existing FILE then.  Checked on the
 * caller's side: in embedded mode by the command, before a request by the
 * CLI (and again when it writes the answer's file). */
bool cli_out_guarded(const cli *c);
int cli_out_check(const cli *c);
/* For code that writes its output file itself (a backup): the path on this
 * machine to give it (`path` itself in embedded mode, a file in the data
 * directory inside linli-node), and afterwards cli_file_local_done, which
 * inside linli-node moves that file's contents into the answer as `path`
 * (removing it whatever happened). */
int cli_file_local(const char *path, char *local, size_t cap, lerr *e);
int cli_file_local_done(const char *path, const char *local, mode_t mode, lerr *e);

/* ---- commands through a running linli-node (control.c) ----
 *
 * The request and its answer are specified in docs/OPERATING.md ("The
 * control socket"). */

/* The daemon's command hook (node/daemon.h, daemon_exec_fn): checks and
 * decodes a typed request, runs the command against the daemon's store
 * with what it prints captured and its files served from the request, and
 * encodes the answer.  `ctx` is the ldaemon, whose peers `status` then
 * shows.  `as` (may be NULL) is the identity the command signs with instead
 * of the node's (a person logged in through the HTTP API): cli_identity
 * gives it while the command runs. */
void cli_exec(void *ctx, lstore *s, const lident *as, const uint8_t *req, size_t n,
              lbuf *reply);

/* When a daemon serves the data directory, sends the command to it as a
 * typed request with the contents of its input files, writes the files the
 * answer carries and prints its output: returns 1 and sets *status then; 0
 * when no daemon runs (the caller works on the directory itself). */
int cli_forward(const cli *c, int *status);

/* For the request (main.c knows the commands and their options):
 * cli_opts_write writes the options set in `c` as [[OPTION, VALUE]...]
 * (VALUE nil for a flag); cli_opt_set sets one received option, a usage
 * error (printed) when the command does not take it, it needs a value it
 * lacks or has one it must not, or it came twice; cli_run checks the
 * command (known, one a linli-node runs, its number of arguments) and
 * runs it. */
void cli_opts_write(const cli *c, mpw *w);
/* The values of the options set in `c` that name a file the command reads
 * (up to max of them; keys[i] when it is a public key that may also be
 * given as 64 hex digits): the files the request carries beside those
 * named by arguments. */
int cli_opt_inputs(const cli *c, const char **files, bool *keys, int max);
int cli_opt_set(cli *c, const char *opt, const char *val);
int cli_run(cli *c);

/* The daemon running this command, or NULL in embedded mode. */
extern void *cli_daemon;
/* The peers part of `status`: the daemon's peers when the command runs
 * inside it, else a line (or a "daemon": false member) saying none runs. */
void cli_print_peers(FILE *f, jw *w);
/* The daemon's store while cli_exec runs, else NULL. */
lstore *cli_shared_store(void);
/* The identity cli_exec was asked to sign as (a person logged in through
 * the HTTP API), else NULL: cli_identity then gives it. */
const lident *cli_exec_as(void);
/* Loads the node's secret key from the open store (CLI_FAIL after printing
 * the error).  The caller wipes it with ident_wipe(). */
int cli_identity(lstore *s, lident *id);

/* Milliseconds since the epoch: the wall time handed to the store (0 for
 * a clock before 1970).  This is the one place the program reads the
 * real-time clock.  For the test suite only, the environment variable
 * LINLI_TEST_NOW_MS (decimal milliseconds, negative for before 1970) stands
 * for the clock's reading. */
uint64_t cli_wall_ms(void);

/* 2020-01-01 00:00 UTC: no station writes with its clock earlier than this. */
#define CLI_CLOCK_FLOOR_MS 1577836800000ull

/* Refuses a clock that cannot be right, before any store is opened:
 * before 1970 for everything (RocksDB aborts on a negative time), and
 * before 2020 when `writes` (a wrong date in every op written), with a
 * one-line message telling the clerk to set the PC's clock. */
int cli_clock_check(uint64_t now_ms, bool writes, lerr *e);
/* A monotonic millisecond count, only for deciding when to show progress. */
uint64_t cli_mono_ms(void);

/* The time of HLC timestamp h for a person: ISO 8601 in the station's time
 * zone with its offset ("2026-12-01T10:17:56.270+08:00"), the zone being
 * TZ when set, else the system's (/etc/localtime); inside linli-node, its
 * `timezone` setting.  Ops keep UTC; only what is shown changes.  The
 * logical counter is never part of it (JSON output gives it as "logical").
 * Returns out. */
char *cli_time(char *out, size_t n, uint64_t h);
/* The JSON members "time" and "logical" of timestamp h. */
void cli_time_json(jw *w, uint64_t h);

/* Writes s[0..n) for a person to read: UTF-8 as is, control characters and
 * the backslash as C-style escapes, so one value stays on one line. */
void cli_text(FILE *f, const char *s, size_t n);

/* Checks a key prefix given on the command line ("" and "hh/" are fine):
 * valid UTF-8, no control characters, at most LINLI_KEY_MAX bytes. */
int cli_prefix_check(const char *p, size_t n, lerr *e);

/* Record keys and prefixes on the command line are relative to the
 * station's namespace, its certificate's prefix (lstore_namespace): at
 * gusu/jinchang/shilu/, "hh/0012" is gusu/jinchang/shilu/hh/0012; a leading
 * '/' makes a key absolute, and a key already inside the namespace is
 * taken as written (crdt/text.h, text_key_resolve).
 *
 * cli_key_typed checks what can be checked before the store is open (a
 * usage error, CLI_USAGE): for a prefix, cli_prefix_check; for a key, not
 * empty, no control character, no empty component, not ending in '/', and
 * an absolute key whole.  cli_key makes the argument absolute into out
 * and checks the result (key_check for a key). */
int cli_key_typed(const cli *c, const char *arg, bool prefix);
int cli_key(const cli *c, lstore *s, const char *arg, bool prefix, char out[LINLI_KEY_MAX + 1]);

/* Progress on stderr for long runs: shown only when stderr is a terminal
 * and the run has lasted longer than two seconds, and erased again before
 * the final result or error is printed. */
typedef struct cli_progress {
  const char *what, *unit; /* "imported", " deltas" */
  uint64_t start_ms, last_ms;
  bool tty, shown;
} cli_progress;

void cli_progress_init(cli_progress *p, const char *what, const char *unit);
void cli_progress_update(cli_progress *p, uint64_t done, uint64_t total);
void cli_progress_clear(cli_progress *p);
/* Adapter with the signature of lstore_progress_cb; ctx is a cli_progress. */
void cli_progress_cb(void *ctx, uint64_t done, uint64_t total);

int cmd_keygen(cli *c);
int cmd_init(cli *c);
int cmd_status(cli *c);
int cmd_verify(cli *c);
int cmd_rebuild(cli *c);
int cmd_backup(cli *c);
int cmd_restore(cli *c);
int cmd_put(cli *c);
int cmd_incr(cli *c);
int cmd_add(cli *c);
int cmd_rm(cli *c);
int cmd_append(cli *c);
int cmd_del(cli *c);
int cmd_get(cli *c);
int cmd_ls(cli *c);
int cmd_log(cli *c);
int cmd_digest(cli *c);
int cmd_summary(cli *c);
int cmd_export(cli *c);
int cmd_import(cli *c);
int cmd_cert(cli *c);
int cmd_rotate(cli *c);
/* Moves the store to the key in the file `key` with its certificate chain
 * in the file `chain` (checked against the store's root, valid now):
 * lstore_rotate, then the chain written by the new key.  *next gets the
 * new key. */
int cli_rotate(lstore *s, const char *key, const char *chain, uint8_t next[LINLI_PK_BYTES],
               lerr *e);
int cmd_repair_fork(cli *c);
int cmd_audit(cli *c);
int cmd_schema(cli *c);
int cmd_query(cli *c);
int cmd_import_csv(cli *c);
int cmd_report(cli *c);
int cmd_user(cli *c);

/* Reads the passwords the command needs (--as NAME: the person's; user
 * add: the new person's; user passwd: the current one and the new) into
 * c->pw, before the command runs or goes to a linli-node: from
 * --password-file FILE ("-": standard input), one a line, else typed at
 * the terminal without echo (a new one twice).  A request to linli-node
 * carries them as its file "-" (cli_passwords_file), which is what
 * --password-file - reads there.  CLI_OK when none is needed. */
int cli_passwords(cli *c);
/* Wipes and frees what cli_passwords read. */
void cli_passwords_free(cli *c);
/* The passwords read, one a line, for a request's file "-"; *out is
 * malloc'd (the caller wipes and frees it); 0 when there are none. */
size_t cli_passwords_file(const cli *c, char **out);
/* The key a write signs with: the node's own (in *own, which the caller
 * wipes with ident_wipe), or with --as NAME the person's, unlocked with
 * the password read (*p, which the caller frees with lperson_free).  *out
 * is the one to use.  CLI_FAIL after printing why not. */
int cli_signer(cli *c, lstore *s, lident *own, lperson **p, const lident **out);

/* A record's visible state, as `get` prints it (text on stdout, or one
 * JSON object of its fields), and one op of a history, as `log` prints it
 * (cmd_read.c); shared with audit. */
int cli_rec_text(const rec *r);
int cli_rec_json(jw *w, const rec *r);
/* One visible field's value: as JSON (register a string, counter an
 * integer, set an array, log an array of entries), or as plain text for a
 * CSV cell (a set's elements joined by CLI_SET_SEP, a log's entries one per
 * line, each after its local time).  CLI_FAIL only when out of memory. */
int cli_field_json(jw *w, const rfield *f);
int cli_field_plain(FILE *out, const rfield *f);
#define CLI_SET_SEP "、"
/* `who` (may be NULL) names the op's author: a person shows as "王芳 (clerk,
 * 石路村)" beside the author key, and the JSON gets members "name", "role"
 * and "station" (docs/FORMAT.md, "Person certificates"). */
void cli_hist_text(FILE *f, const lhist_entry *h, const lauthor_info *who);
void cli_hist_json(jw *w, const lhist_entry *h, const lauthor_info *who);
/* "王芳 (clerk, 石路村)"; a person certified by the root itself "王芳
 * (clerk)". */
void cli_author_text(FILE *f, const lauthor_info *who);

/* A public key given on the command line: 64 hex digits, or a public key
 * file (FILE.pub as linli keygen writes it). */
int cli_pubkey(const char *arg, uint8_t pk[LINLI_PK_BYTES], lerr *e);

#endif
