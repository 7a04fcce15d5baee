/*
 * main.c - the `linli` command-line program: argument parsing, help texts
 * and dispatch.
 *
 * linli runs in embedded mode: each command opens the data directory (the
 * RocksDB store of node/store.h), does its one job and closes it again, so
 * the program holds no state between runs and a crash at any point leaves
 * the store as its last synced write left it.
 *
 * The parser is written out by hand rather than with getopt_long because
 * the command grammar has two wrinkles getopt handles badly: global options
 * may come before or after the command, and a negative number ("incr KEY
 * 诚信积分 -5") is a positional argument, not an option.  Each command lists
 * the options it accepts; anything else is a usage error (exit 2) with a
 * pointer to the command's --help.
 */
#include "tools/linli/cli.h"

#include "crdt/ident.h"
#include "crdt/text.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* The options a command may accept, as bits of cmd_def.opts. */
enum {
  OPT_OUT = 1 << 0,   /* -o FILE */
  OPT_FORCE = 1 << 1, /* --force */
  OPT_NAME = 1 << 2,  /* --name NAME */
  OPT_KEY = 1 << 3,   /* --key FILE */
  OPT_FOR = 1 << 4,   /* --for SUMMARY */
  OPT_ROOT = 1 << 5,  /* --root KEY */
  OPT_CERT = 1 << 6,  /* --subject, --role, --prefix, --days, --seq, --reason */
  OPT_RECORD = 1 << 7, /* --record KEY */
  OPT_RESTORE = 1 << 8, /* --restore */
  OPT_QUERY = 1 << 9,   /* --where (repeatable), --fields */
  OPT_DRYRUN = 1 << 10, /* --dry-run */
  OPT_REPORT = 1 << 11, /* --type, --month */
  OPT_CSV = 1 << 12,    /* --csv */
  OPT_NO_TRUST = 1 << 13, /* --no-trust */
  OPT_NUL = 1 << 14,    /* -0 */
  /* Not an option: -o FILE is required (checked before the command runs,
   * by the CLI itself when a linli-node would run it). */
  OPT_OUT_REQ = 1 << 15,
  OPT_OFFLINE = 1 << 16, /* --offline */
  OPT_FROM = 1 << 17,     /* --from SEQ */
  OPT_USER = 1 << 18,     /* --role, --prefix, --days, --reason (user) */
  OPT_AS = 1 << 19,       /* --as NAME */
  OPT_PASSWORD = 1 << 20, /* --password-file FILE */
};

/* The options of a write a person may make. */
#define OPT_PERSON (OPT_AS | OPT_PASSWORD)

/* A command's options: the bit a command must allow, and where the value
 * goes.  An option with an `arg` takes a value (a const char * in struct
 * cli); one without is a flag (a bool).  `linli --complete` lists them too,
 * so shell completion knows exactly what the parser accepts.  `file` says
 * whether the value names a file the command reads, which the CLI sends
 * with a request to linli-node (control.c): S_FILE_IN a file, S_FILE_KEY
 * a public key given as 64 hex digits or as its file; a secret key file
 * (S_FILE_SECRET) is never sent. */
enum { S_FILE_NONE, S_FILE_IN, S_FILE_KEY, S_FILE_SECRET, S_FILE_OUT };
typedef struct opt_def {
  const char *name;
  unsigned bit;
  size_t off;
  const char *arg; /* what the value is, for completion; NULL for a flag */
  int file;
} opt_def;

static const opt_def s_opts[] = {
  {"-o", OPT_OUT, offsetof(cli, out), "FILE", S_FILE_OUT},
  {"--name", OPT_NAME, offsetof(cli, name), "NAME", S_FILE_NONE},
  {"--key", OPT_KEY, offsetof(cli, key), "FILE", S_FILE_SECRET},
  {"--for", OPT_FOR, offsetof(cli, for_file), "FILE", S_FILE_IN},
  {"--root", OPT_ROOT, offsetof(cli, root), "KEY", S_FILE_KEY},
  {"--subject", OPT_CERT, offsetof(cli, subject), "KEY", S_FILE_KEY},
  {"--role", OPT_CERT | OPT_USER, offsetof(cli, role), "ROLE", S_FILE_NONE},
  {"--prefix", OPT_CERT | OPT_USER, offsetof(cli, prefix), "PREFIX", S_FILE_NONE},
  {"--days", OPT_CERT | OPT_USER, offsetof(cli, days), "N", S_FILE_NONE},
  {"--seq", OPT_CERT, offsetof(cli, seq), "N", S_FILE_NONE},
  {"--reason", OPT_CERT | OPT_USER, offsetof(cli, reason), "TEXT", S_FILE_NONE},
  {"--as", OPT_AS, offsetof(cli, as), "NAME", S_FILE_NONE},
  /* read by the caller's program (cmd_user.c), which sends the passwords
   * themselves, as the file "-" */
  {"--password-file", OPT_PASSWORD, offsetof(cli, password_file), "FILE", S_FILE_NONE},
  {"--record", OPT_RECORD, offsetof(cli, record), "KEY", S_FILE_NONE},
  {"--from", OPT_FROM, offsetof(cli, from), "SEQ", S_FILE_NONE},
  {"--force", OPT_FORCE, offsetof(cli, force), NULL, S_FILE_NONE},
  {"--restore", OPT_RESTORE, offsetof(cli, restore), NULL, S_FILE_NONE},
  {"--offline", OPT_OFFLINE, offsetof(cli, offline), NULL, S_FILE_NONE},
  {"--no-trust", OPT_NO_TRUST, offsetof(cli, no_trust), NULL, S_FILE_NONE},
  /* --where is repeatable: s_parse collects it into c->wheres itself; the
   * row is here for --complete and --help. */
  {"--where", OPT_QUERY, offsetof(cli, wheres), "FILTER", S_FILE_NONE},
  {"--fields", OPT_QUERY, offsetof(cli, fields), "FIELDS", S_FILE_NONE},
  {"--type", OPT_REPORT, offsetof(cli, type), "TYPE", S_FILE_NONE},
  {"--month", OPT_REPORT, offsetof(cli, month), "YYYY-MM", S_FILE_NONE},
  {"--csv", OPT_CSV, offsetof(cli, csv), NULL, S_FILE_NONE},
  {"--dry-run", OPT_DRYRUN, offsetof(cli, dry_run), NULL, S_FILE_NONE},
};

#define S_NOPTS (sizeof s_opts / sizeof s_opts[0])

/* The options every command accepts, handled by s_parse itself. */
static const char *const s_global_opts[] = {"-d DIR", "--json", "--help", "--version"};

typedef struct cmd_def {
  const char *name;
  int (*run)(cli *c);
  int min_args, max_args; /* positional arguments; max -1: no limit */
  unsigned opts;
  const char *usage;      /* what follows "linli [-d DIR] [--json] " */
  const char *what;       /* one line */
  const char *body;       /* details, options and an example */
} cmd_def;

static int s_cmd_help(cli *c);

static const cmd_def s_cmds[] = {
  {"keygen", cmd_keygen, 0, 0, OPT_OUT | OPT_OUT_REQ | OPT_FORCE, "keygen -o FILE [--force]",
   "create an ed25519 key pair for a node",
   "Writes the secret key to FILE (mode 0600) and the public key to FILE.pub,\n"
   "then prints the node id (64 hex digits) and its short form.  Existing\n"
   "files are kept unless --force is given.  Needs no data directory; give\n"
   "the key to `linli init --key FILE` to create a store with it.\n"
   "\n"
   "Options:\n"
   "  -o FILE    where to write the secret key (required)\n"
   "  --force    replace existing key files\n"
   "\n"
   "Example:\n"
   "  linli keygen -o yalu.key\n"},
  {"init", cmd_init, 0, 0, OPT_NAME | OPT_KEY | OPT_ROOT | OPT_RESTORE | OPT_NO_TRUST,
   "init --name NAME (--root KEY|self | --no-trust) [--key FILE] [--restore]",
   "create a data directory for a station",
   "Creates the data directory (see -d) with an empty store called NAME and\n"
   "the node's key pair in DIR/node.key.  NAME is UTF-8 text of 1 to 100\n"
   "bytes.  Without --key a new key pair is generated.\n"
   "\n"
   "With --root the store accepts an op only if its author holds a valid\n"
   "certificate chain to that key and writes inside its namespace (see\n"
   "linli cert --help); the district uses --root self.  One of --root and\n"
   "--no-trust is required: with --no-trust every validly signed op is\n"
   "accepted, and `linli status` says so.  The directory must not exist or\n"
   "be empty.\n"
   "\n"
   "Options:\n"
   "  --name NAME  the station's name (required)\n"
   "  --key FILE   use the secret key in FILE (made by linli keygen)\n"
   "  --root KEY   the trust root: 64 hex digits, a .pub file, or self\n"
   "  --no-trust   no trust root: accept any validly signed op\n"
   "  --restore    a replacement device with the key from a backup: refuse\n"
   "               local writes until the node has recovered its own log from\n"
   "               its parent (by linli-node, or a bundle its parent or an\n"
   "               issuer in its certificate chain made for it after the\n"
   "               restore)\n"
   "\n"
   "Example:\n"
   "  linli -d /srv/linli init --name 太仓市双凤镇雅鹿村 --root district.key.pub\n"},
  {"put", cmd_put, 2, -1, OPT_PERSON, "put KEY FIELD=VALUE...",
   "set register fields of a record",
   "Sets each FIELD of record KEY to VALUE; when two stations set the same\n"
   "field, the later write wins.  All pairs become one signed delta.  The\n"
   "argument is split at its first '=': FIELD must not be empty, VALUE may\n"
   "be empty and may contain '='.  KEY has the form collection/id (no empty\n"
   "component).  Prints the sequence numbers written.\n"
   "\n"
   "Example:\n"
   "  linli put hh/yalu/0012 户主=张建国 地址=雅鹿村三组12号 电话=13812345678\n"},
  {"incr", cmd_incr, 3, 3, OPT_PERSON, "incr KEY FIELD N",
   "add N to a counter field",
   "Adds the integer N (may be negative) to counter FIELD of record KEY.\n"
   "Increments from every station add up.\n"
   "\n"
   "Example:\n"
   "  linli incr hh/yalu/0012 诚信积分 5\n"
   "  linli incr hh/yalu/0012 诚信积分 -2\n"},
  {"add", cmd_add, 3, 3, OPT_PERSON, "add KEY FIELD ELEM",
   "add an element to a set field",
   "Adds ELEM to set FIELD of record KEY.  A concurrent add and remove of\n"
   "the same element keep the element (add wins).\n"
   "\n"
   "Example:\n"
   "  linli add hh/yalu/0012 成员 张小明\n"},
  {"rm", cmd_rm, 3, 3, OPT_PERSON, "rm KEY FIELD ELEM",
   "remove an element from a set field",
   "Removes ELEM from set FIELD of record KEY: exactly the adds of ELEM this\n"
   "station has seen.  Fails when ELEM is not in the set.\n"
   "\n"
   "Example:\n"
   "  linli rm hh/yalu/0012 成员 张小明\n"},
  {"append", cmd_append, 3, 3, OPT_PERSON, "append KEY FIELD TEXT",
   "append an entry to a log field",
   "Appends TEXT as a new entry of log FIELD of record KEY.  Entries are\n"
   "never edited; every station's entries are kept, in time order.\n"
   "\n"
   "Example:\n"
   "  linli append diary/yalu/2026 民情日记 \"走访0012户，老人身体好转\"\n"},
  {"del", cmd_del, 1, 2, OPT_PERSON, "del KEY [FIELD]",
   "delete a record, or one field of it",
   "Deletes record KEY: everything written to it before the delete is\n"
   "hidden; a later write makes it reappear with just that write.  Fails\n"
   "when the record is not present.\n"
   "\n"
   "With FIELD, removes only that field (of whatever kind).  A set field\n"
   "loses every element this station has seen, as with linli rm.  Any other\n"
   "field is removed by deleting the record and writing its other fields\n"
   "again in the same signed delta, so what other stations wrote to the\n"
   "record and this station has not yet received is hidden too; a record\n"
   "with a log field beside FIELD is refused (delete the whole record).\n"
   "\n"
   "Example:\n"
   "  linli del hh/yalu/0031\n"
   "  linli del hh/yalu/0002 \"户主 \"\n"},
  {"get", cmd_get, 1, 1, 0, "get KEY",
   "show a record",
   "Prints each visible field of record KEY as `name (kind): value`: a\n"
   "register's value, a counter's sum, a set's elements (sorted, joined by\n"
   "\", \"), and a log's entries one per line with time and short author id.\n"
   "Control characters and '\\' in text are shown as C escapes.  A deleted\n"
   "or absent record is an error (\"KEY: not found\").\n"
   "\n"
   "With --json: {\"key\":KEY,\"fields\":{NAME:VALUE,...}} where a register is\n"
   "a string, a counter an integer, a set an array of strings and a log an\n"
   "array of {\"time\",\"logical\",\"hlc\",\"author\",\"seq\",\"text\"}.  Should one name\n"
   "hold fields of two kinds (two stations chose differently), the first in\n"
   "the order register, counter, set, log is \"NAME\" and the others are\n"
   "\"NAME#KIND\" (e.g. \"状态#counter\").\n"
   "\n"
   "Example:\n"
   "  linli get hh/yalu/0012\n"},
  {"ls", cmd_ls, 0, 1, OPT_NUL, "ls [-0] [PREFIX]",
   "list the keys of present records",
   "Prints the key of every present record that starts with PREFIX (all\n"
   "records when PREFIX is absent), one per line, in byte order.  A key\n"
   "holding a space or another character a shell treats specially is\n"
   "printed in single quotes, as a shell reads it back.  With --json: an\n"
   "array of keys.\n"
   "\n"
   "Options:\n"
   "  -0    each key as it is, ended by a NUL byte (for xargs -0)\n"
   "\n"
   "Example:\n"
   "  linli ls hh/yalu/\n"
   "  linli ls -0 hh/ | xargs -0 -n 1 linli get\n"},
  {"log", cmd_log, 1, 1, 0, "log KEY",
   "show the signed history of a record",
   "Prints every op ever applied to record KEY, in time order: time, author\n"
   "(short id), sequence number, op and value, and the signed head that\n"
   "covers it (its sequence number and the first 12 hex digits of its\n"
   "hash).  Each op is re-read from its author's log and its hash chain and\n"
   "signature are checked on the way.  With --json: an array of objects with\n"
   "full hex author, hash, head hash and signature.\n"
   "\n"
   "Example:\n"
   "  linli log req/yalu/2026-0007\n"},
  {"digest", cmd_digest, 0, 1, 0, "digest [PREFIX]",
   "print the digest of the store or of a prefix",
   "Prints one line: 64 hex digits that two stations holding the same data\n"
   "under PREFIX agree on (the whole store when PREFIX is absent).  With\n"
   "--json: {\"prefix\",\"digest\",\"records\"}.\n"
   "\n"
   "Equal digests show that two stations have not drifted apart by accident\n"
   "(a bug, a lost write, a damaged disk).  They are not proof against\n"
   "records crafted on purpose to match: the digest is a sum of record\n"
   "hashes modulo 2^256 (docs/FORMAT.md).  linli audit checks signatures.\n"
   "\n"
   "Example:\n"
   "  linli digest hh/yalu/\n"},
  {"status", cmd_status, 0, 0, 0, "status",
   "show the node and store state",
   "Prints the station name, node id, data directory, hybrid logical clock,\n"
   "length of the node's own log, number of author logs, total ops, present\n"
   "records and the store digest (equal digests on two stations rule out\n"
   "accidental divergence, not a deliberate forgery: see linli digest\n"
   "--help).  Deltas held back because they are dated more than an hour\n"
   "ahead of this PC's clock are listed (HELD: author, seqs, how far\n"
   "ahead); they are applied once the clock gets there.  With --json the\n"
   "clock is given both as \"hlc\" (the raw 64-bit value) and as \"time\"\n"
   "with \"logical\" (its counter), and held deltas as \"held\".\n"
   "\n"
   "Example:\n"
   "  linli status --json\n"},
  {"summary", cmd_summary, 0, 0, OPT_OUT | OPT_OUT_REQ, "summary -o FILE",
   "write what this node holds to a file",
   "Writes a summary (one head per author log held) to FILE, signed by\n"
   "this node's key.  Carry it to another station, which answers with\n"
   "`linli export --for FILE`.\n"
   "\n"
   "Options:\n"
   "  -o FILE    where to write the summary (required)\n"
   "\n"
   "Example:\n"
   "  linli -d street summary -o /media/usb/jingang.summary\n"},
  {"export", cmd_export, 0, 0, OPT_OUT | OPT_OUT_REQ | OPT_FOR | OPT_FORCE,
   "export [--for SUMMARY] -o FILE [--force]",
   "write a bundle of signed deltas",
   "Writes a bundle with every op this store holds that the node which wrote\n"
   "SUMMARY lacks, signed by this node.  Under a trust root it holds only\n"
   "what a sync would send that node (its own subtree and the logs above\n"
   "it, by the certificates held; everything for a node above this one),\n"
   "never another village's records; the summary must be signed by the\n"
   "node it names (a summary of an older linli is refused: make it again).\n"
   "Without --for the bundle holds everything this store holds, at a street\n"
   "or district every village's records: for the operator, not for a\n"
   "village's stick.  An author log that diverges from the summary (a fork)\n"
   "is skipped with a warning on stderr.\n"
   "\n"
   "Options:\n"
   "  --for SUMMARY  only what the summary's node lacks and may hold\n"
   "  -o FILE        where to write the bundle (required)\n"
   "  --force        replace FILE if it exists\n"
   "\n"
   "Example:\n"
   "  linli -d yalu export --for /media/usb/jingang.summary -o /media/usb/yalu.bundle\n"},
  {"import", cmd_import, 1, 1, 0, "import FILE",
   "verify and apply a bundle",
   "Checks the whole bundle first (format, every author's hash chain and\n"
   "signature, no gaps, the exporter's trailer); on any problem nothing is\n"
   "applied and the one-line error names the place.  Then applies it in\n"
   "synced batches.  Importing a bundle again changes nothing.  Prints the\n"
   "number of deltas, new ops and ops already held.  Under a trust root a\n"
   "bundle holding logs of authors outside this station's namespace\n"
   "(another village's) is refused whole.\n"
   "\n"
   "On a restored node (init --restore) a bundle made for it ends the\n"
   "recovery only if it was made after the restore, by the root, an issuer\n"
   "in the node's certificate chain, or a parent configured in the running\n"
   "linli-node; otherwise its data is applied and the node keeps refusing\n"
   "local writes, saying why.\n"
   "\n"
   "Example:\n"
   "  linli -d street import /media/usb/yalu.bundle\n"},
  {"cert", cmd_cert, 1, 2, OPT_OUT | OPT_NAME | OPT_CERT | OPT_ROOT,
   "cert issue|install FILE|show [FILE]|revoke [OPTIONS]",
   "issue, install, show and revoke membership certificates",
   "The district key is the trust root.  It certifies street keys, a street\n"
   "key certifies its villages, each certificate narrowing the record keys\n"
   "its holder may write.  Certificates and revocations travel inside the\n"
   "signed logs, so every node and auditor checks them the same way.\n"
   "\n"
   "  cert issue --subject KEY --name NAME --role ROLE [--prefix P]\n"
   "             [--days N] -o FILE\n"
   "      sign a certificate for KEY with this node's key; FILE gets it\n"
   "      with this node's own chain (ROLE: district, street or village;\n"
   "      P: the key prefix it may write, inside this node's own; N: days\n"
   "      valid, default 730)\n"
   "  cert install FILE\n"
   "      write this node's chain (from its issuer) into its log: the\n"
   "      first thing a certified node writes\n"
   "  cert show [FILE] [--subject KEY] [--root KEY]\n"
   "      show and check a chain file, or what this node holds of a key\n"
   "      (default: its own): chain, revocation, fork\n"
   "  cert revoke --subject KEY [--seq N] [--reason TEXT]\n"
   "      revoke KEY: its ops after seq N (default: the last held here)\n"
   "      are refused everywhere; those before stay valid\n"
   "\n"
   "KEY is 64 hex digits or a .pub file.\n"
   "\n"
   "Example:\n"
   "  linli -d district cert issue --subject jinchang.key.pub --name 金仓街道 \\\n"
   "        --role street --prefix gusu/jinchang/ -o jinchang.chain\n"
   "  linli -d jinchang cert install jinchang.chain\n"
   "  linli -d jinchang cert revoke --subject v12.key.pub --reason stolen\n"},
  {"rotate", cmd_rotate, 1, 1, OPT_KEY, "rotate --key NEXT_KEY CHAIN",
   "move this node to a new key",
   "Makes NEXT_KEY (from linli keygen) the node's key, and installs its\n"
   "certificate chain CHAIN (issued for NEXT_KEY by this node's issuer).\n"
   "The old key's log stays as it is, signed and verifiable; the old key\n"
   "file is kept as DIR/node.key.retired-<short id>.  Afterwards the issuer\n"
   "revokes the old key at its last seq and the parent admits the new one.\n"
   "Run it with linli-node stopped.\n"
   "\n"
   "Example:\n"
   "  linli -d v12 rotate --key v12-2027.key v12-2027.chain\n"},
  {"repair-fork", cmd_repair_fork, 1, 1, OPT_KEY | OPT_FROM,
   "repair-fork --key NEXT_KEY [--from SEQ] CHAIN",
   "repair a forked key: sign its diverged ops again under a new key",
   "At the station whose key forked (linli status: FORK naming this node's\n"
   "key), moves the node to NEXT_KEY as rotate does, and signs again with\n"
   "it every op of the old key's log from the first seq its parent does\n"
   "not hold (found in the fork evidence held here, or --from SEQ): same\n"
   "records, fields, kinds and values, new seqs and times, in one write.\n"
   "The old key's copies of those ops are removed here, so each change\n"
   "counts once (everywhere else they were refused as the fork).  CHAIN is\n"
   "NEXT_KEY's certificate chain for this station's own prefix, issued by\n"
   "its parent.  Prints the ops and records signed again.  Refused when no\n"
   "fork is known, when CHAIN certifies another prefix, and once done.\n"
   "Run it with linli-node stopped; interrupted, run it again.  Then the\n"
   "parent puts the new key in its child line and reloads.\n"
   "\n"
   "Example:\n"
   "  linli -d v12 repair-fork --key v12-2.key v12-2.chain\n"},
  {"audit", cmd_audit, 0, 1, OPT_ROOT | OPT_RECORD, "audit [BUNDLE] --root KEY [--record KEY]",
   "verify signed histories, trusting only the root key",
   "Verifies a bundle, or the data directory (read-only; a running\n"
   "linli-node is not needed and not asked), trusting nothing but the root\n"
   "public key: every hash chain, signature, certificate, namespace,\n"
   "revocation and fork evidence.  Reports per author: name, op count,\n"
   "head, time range and problems, each with its location (author, seq);\n"
   "then notes: valid ops without effect (a revocation its writer had no\n"
   "right to make, or that this input cannot decide), which do not fail it.\n"
   "With --record KEY, prints the full signed history of that record (who,\n"
   "when, what, under which signed head) and its resulting state.\n"
   "Exit status 1 when any problem is found.\n"
   "\n"
   "Example:\n"
   "  linli audit district.bundle --root district.key.pub\n"
   "  linli -d /srv/district audit --root 3b6a...e1 --record hh/yalu/0012\n"},
  {"schema", cmd_schema, 1, 2, 0, "schema publish FILE | schema show",
   "publish or show the record-type schema",
   "The schema names the record types of the community work (households,\n"
   "residents, requests, votes, points, volunteer hours, visit diaries,\n"
   "charity, micro-projects, notices): for each, its key collection, its\n"
   "fields with their kind, value type, labels and whether required\n"
   "(docs/SCHEMA.md).  Under a schema every local write is checked: a wrong\n"
   "type, an unknown field or points taken below zero are refused with the\n"
   "field, the expected type and an example.  Without one, records are\n"
   "free-form.\n"
   "\n"
   "  schema publish FILE\n"
   "      the trust root only: check FILE, check that every stored record\n"
   "      still fits it, and write it as signed ops under schema/; every\n"
   "      station receives it by sync.  Its version must be above the one\n"
   "      held.\n"
   "  schema show\n"
   "      the schema this station holds (--json: every type, field, label\n"
   "      and code, for forms)\n"
   "\n"
   "Example:\n"
   "  linli -d district schema publish deploy/schemas/community.json\n"
   "  linli schema show\n"},
  {"query", cmd_query, 1, 2, OPT_QUERY | OPT_CSV, "query TYPE [PREFIX] [--where F=V]... [--fields A,B] [--csv]",
   "list the records of one type, filtered",
   "Prints every record of TYPE (a type of the schema, by its name such as\n"
   "户, its English name or its collection such as hh) under PREFIX (the\n"
   "station's own namespace when absent; / for everything held), that\n"
   "passes every --where filter: FIELD=VALUE, or with !=, <, <=, >, >=.\n"
   "Numbers compare as numbers, dates in time order; a set passes when one\n"
   "element does, a log when one entry contains VALUE.  One row per record:\n"
   "its namespace (the village), its ID and the fields (--fields: these,\n"
   "in this order).  --csv writes CSV for Excel: UTF-8 with a byte order\n"
   "mark, RFC 4180 quoting, zh column labels, local times; --json an array.\n"
   "\n"
   "Example:\n"
   "  linli query 户 --where 特殊群体=独居老人 --fields 户主,电话\n"
   "  linli query 诉求 / --where 状态=受理 --where 日期>=2026-11-01 --csv >诉求.csv\n"},
  {"report", cmd_report, 0, 1, OPT_REPORT | OPT_CSV, "report [PREFIX] [--type T] [--month YYYY-MM] [--csv]",
   "the aggregates of a namespace: counts, counts by value, sums",
   "Prints the aggregates the schema declares (docs/SCHEMA.md) for the\n"
   "namespace level PREFIX (the station's own when absent, / for everything\n"
   "held; a street gives gusu/jinchang/, a village of it gusu/jinchang/shilu/\n"
   "or, at the street, shilu/): per record type, the number of records,\n"
   "the number per value of an enum (状态=受理), and sums (诚信积分合计).\n"
   "Without --month, over all time; with it, for the records whose date\n"
   "falls in that month.  They are kept up to date as ops arrive, in the\n"
   "same write as the records, so a district's report is a read, the same\n"
   "at every tier that holds the same ops.  --csv for Excel (as query),\n"
   "--json an object with the rows.\n"
   "\n"
   "Example:\n"
   "  linli report / --month 2026-11\n"
   "  linli report shilu/ --type 户 --csv >石路户.csv\n"},
  {"import-csv", cmd_import_csv, 2, 2, OPT_DRYRUN | OPT_PERSON,
   "import-csv TYPE FILE [--dry-run] [--as NAME]",
   "import a ledger saved as CSV by Excel",
   "Reads FILE, a CSV of records of TYPE (UTF-8 with or without a byte order\n"
   "mark, or GB18030, what Chinese Excel saves), and checks every row\n"
   "against the schema before anything is written.  Row 1 names the\n"
   "columns: 编号 (the record's ID, required), 所属 (its namespace; default\n"
   "this station's) and fields of the type by their zh names, in any order\n"
   "-- the CSV linli query --csv writes reads back.  An empty cell changes\n"
   "nothing; a counter's cell is the value it should show; a set's cell\n"
   "lists elements joined by 、 (added when missing); a log's cell is\n"
   "appended unless the same entry is there.  Every bad row is listed with\n"
   "its row number and reason, and then nothing is written.  Otherwise the\n"
   "rows are written in signed deltas of up to 2,048 ops; should the\n"
   "station stop halfway, running the same import again completes it.\n"
   "With --dry-run, only the check.  FILE is at most 256 MiB.  Rows are\n"
   "numbered as Excel numbers them (the header is row 1); a cell beyond the\n"
   "header's columns is refused.  With --json, one object: file, encoding,\n"
   "errors (per refused row: row, column, rule, the reason's parts such as\n"
   "field, form, value, min, suggest, and message, the English line), rows,\n"
   "refused, ops, records, deltas, written, and cause (clock, no_space) when\n"
   "the store refused to write.\n"
   "\n"
   "Example:\n"
   "  linli import-csv 户 花名册.csv --dry-run\n"},
  {"verify", cmd_verify, 0, 0, 0, "verify",
   "re-verify every stored hash chain and signature",
   "Reads every author log back and checks that it is contiguous, chains\n"
   "and carries valid signatures up to the stored head.  Prints\n"
   "\"ok: N ops in M author logs verified\", or the first problem (exit 1).\n"
   "\n"
   "Example:\n"
   "  linli verify\n"},
  {"backup", cmd_backup, 0, 0, OPT_OUT | OPT_OUT_REQ, "backup -o FILE",
   "write a consistent copy of the station to one file",
   "Writes the store (a RocksDB checkpoint: consistent, taken while the\n"
   "node serves) and the node's key files to FILE, one file in the format\n"
   "docs/OPERATING.md describes.  With a running linli-node the node takes\n"
   "it.  FILE holds the secret key: keep it as safe as the station.  Never\n"
   "copy the data directory by hand instead: a copy brought back with tar\n"
   "and written to signs a second history for seqs the station signed\n"
   "before (a fork).\n"
   "\n"
   "Example:\n"
   "  linli backup -o /media/usb/yalu-2026-12-01.linli-backup\n"},
  {"restore", cmd_restore, 1, 2, OPT_OFFLINE | OPT_KEY,
   "restore FILE [--offline --key NEXT_KEY CHAIN]",
   "bring a station back from linli backup",
   "Unpacks FILE (made by linli backup) into the data directory (-d, which\n"
   "must not exist) and marks the station as recovering: local writes are\n"
   "refused until linli-node has received the station's own log and its\n"
   "people's back from its parent (or a bundle made for it is imported), so\n"
   "that no seq is\n"
   "ever signed twice.  The whole file is checked before anything is\n"
   "written.\n"
   "\n"
   "Options:\n"
   "  --offline    the parent cannot be reached: move the station to\n"
   "               NEXT_KEY (from linli keygen) with its certificate chain\n"
   "               CHAIN, issued by the parent for the station's prefix\n"
   "               and carried over by hand, and write at once.  The old\n"
   "               key never signs again, so nothing is signed twice.\n"
   "               The station's people keep their keys: each one's\n"
   "               writes wait until linli-node has their log back from\n"
   "               the parent.\n"
   "  --key FILE   NEXT_KEY, with --offline\n"
   "\n"
   "Example:\n"
   "  linli -d /srv/linli restore /media/usb/yalu-2026-12-01.linli-backup\n"
   "  linli -d /srv/linli restore /media/usb/yalu-2026-12-01.linli-backup \\\n"
   "        --offline --key yalu-2.key yalu-2.chain\n"},
  {"rebuild", cmd_rebuild, 0, 0, 0, "rebuild",
   "recompute views and digests from the logs",
   "Throws away every record view and digest and recomputes them from the\n"
   "author logs, printing the store digest before and after.  Exits 1 when\n"
   "they differ, which means the store was inconsistent.\n"
   "\n"
   "Example:\n"
   "  linli rebuild\n"},
  {"user", cmd_user, 1, 2, OPT_USER | OPT_PASSWORD,
   "user add NAME --role ROLE [--days N] [--prefix P] | list | revoke NAME | passwd NAME",
   "manage the accounts of the station's clerks, assessors and auditors",
   "Each person who works at the station has a key of their own, certified\n"
   "by the station: their writes (--as NAME on put, incr, add, rm, append,\n"
   "del, import-csv) are signed by them, and linli log and linli audit name\n"
   "them, at this station and every station the records reach.  Their\n"
   "secret keys are kept in DIR/users.json (mode 0600), each sealed under\n"
   "the person's password (Argon2id); the password itself is never stored.\n"
   "\n"
   "  user add NAME --role ROLE [--days N] [--prefix P] [--password-file FILE]\n"
   "      create the person's key and certificate (ROLE: clerk, assessor,\n"
   "      auditor or admin; N: days valid, default 365; P: the key prefix\n"
   "      they may write, relative to the station's namespace, default all\n"
   "      of it, for an assessor pts/); the password, at least 8\n"
   "      characters, is asked twice\n"
   "  user list\n"
   "      every person: role, key, prefix, validity, whether revoked\n"
   "  user revoke NAME [--reason TEXT]\n"
   "      revoke the person's certificate: their later ops are refused\n"
   "      everywhere the revocation reaches; those before stay valid\n"
   "  user passwd NAME [--password-file FILE]\n"
   "      change the password (the current one, then the new one twice)\n"
   "\n"
   "An auditor reads and audits and writes nothing; an assessor writes only\n"
   "points records.  --password-file FILE reads the password from FILE's\n"
   "first line (user passwd: the current one, then the new one on the\n"
   "second); - reads standard input.  Without it, the password is typed at\n"
   "the terminal without echo.\n"
   "\n"
   "Example:\n"
   "  linli user add 王芳 --role clerk\n"
   "  linli put --as 王芳 hh/0012 电话=13812345678\n"
   "  linli user revoke 王芳 --reason 调离\n"},
  {"help", s_cmd_help, 0, 1, 0, "help [COMMAND]",
   "show help for linli or for a command",
   "Same as `linli --help` or `linli COMMAND --help`.\n"
   "\n"
   "Example:\n"
   "  linli help import\n"},
};

#define S_NCMDS (sizeof s_cmds / sizeof s_cmds[0])

static const cmd_def *
s_find(const char *name)
{
  for (size_t i = 0; i < S_NCMDS; i++)
    if (strcmp(s_cmds[i].name, name) == 0)
      return &s_cmds[i];
  return NULL;
}

/* Keeps `cand` in *best when it is nearer to `w` than what *best holds, and
 * near enough to be what was meant: at most 2 edits, fewer than the
 * word's length. */
static void
s_nearer(const char *w, const char *cand, const char **best, size_t *bestd)
{
  unsigned d = text_distance(w, strlen(w), cand, strlen(cand));
  if (d <= 2 && d < strlen(cand) && d < *bestd) {
    *best = cand;
    *bestd = d;
  }
}

/* " (did you mean 'X'?)" for the command nearest to `w`, or "". */
static const char *
s_cmd_hint(const char *w, char *buf, size_t cap)
{
  const char *best = NULL;
  size_t bestd = SIZE_MAX;
  for (size_t i = 0; i < S_NCMDS; i++)
    s_nearer(w, s_cmds[i].name, &best, &bestd);
  if (best == NULL)
    return "";
  snprintf(buf, cap, " (did you mean '%s'?)", best);
  return buf;
}

/* The same for an option of a command allowing `allowed`. */
static const char *
s_opt_hint(const char *w, unsigned allowed, char *buf, size_t cap)
{
  static const char *const every[] = {"--help", "--version", "--json", "-d"};
  const char *best = NULL;
  size_t bestd = SIZE_MAX;
  for (size_t k = 0; k < sizeof every / sizeof every[0]; k++)
    s_nearer(w, every[k], &best, &bestd);
  for (size_t k = 0; k < S_NOPTS; k++)
    if (allowed & s_opts[k].bit)
      s_nearer(w, s_opts[k].name, &best, &bestd);
  if (best == NULL)
    return "";
  snprintf(buf, cap, " (did you mean '%s'?)", best);
  return buf;
}

static void
s_print_general_help(FILE *f)
{
  fputs("usage: linli [-d DIR] [--json] COMMAND [ARGS...]\n"
        "\n"
        "linli keeps a community station's records (households, integrity\n"
        "points, residents' requests, visit diaries...) as signed CRDT ops and\n"
        "exchanges them with other stations by file, offline.\n"
        "\n"
        "Commands:\n", f);
  for (size_t i = 0; i < S_NCMDS; i++)
    fprintf(f, "  %-10s  %s\n", s_cmds[i].name, s_cmds[i].what);
  fputs("\n"
        "Global options (before or after the command):\n"
        "  -d DIR      data directory (default: $LINLI_DATA, else ./linli-data)\n"
        "  --json      print the result as one JSON document\n"
        "  -h, --help  show help; `linli help COMMAND` or `linli COMMAND --help`\n"
        "              for one command\n"
        "  --version   print the version\n"
        "  --          end of options (for arguments that start with '-')\n"
        "\n"
        "Record keys and prefixes are relative to the station's namespace (the\n"
        "prefix of its certificate, see linli status): at gusu/jinchang/shilu/,\n"
        "hh/0012 means gusu/jinchang/shilu/hh/0012.  A leading '/' makes a key\n"
        "absolute (/notices/2026/1); a key already inside the namespace is taken\n"
        "as written.  A station without a certificate has the empty namespace.\n"
        "\n"
        "Times are shown in the local time zone (TZ, else the system's; the\n"
        "node's `timezone` setting for commands a linli-node runs), as ISO 8601\n"
        "with the offset, e.g. 2026-12-01T10:17:56.270+08:00.\n"
        "\n"
        "Exit status: 0 on success, 1 when the command failed (store, file or\n"
        "data problem), 2 on a usage error.  An error is one line on stderr,\n"
        "starting with \"linli: \".\n"
        "\n"
        "Example:\n"
        "  linli -d yalu init --name 太仓市双凤镇雅鹿村\n"
        "  linli -d yalu put hh/yalu/0012 户主=张建国 地址=雅鹿村三组12号\n"
        "  linli -d yalu get hh/yalu/0012\n", f);
}

static void
s_print_cmd_help(const cmd_def *d, FILE *f)
{
  fprintf(f, "usage: linli [-d DIR] [--json] %s%s\n\n%s.\n\n%s", d->usage,
          (d->opts & OPT_AS) ? " [--as NAME [--password-file FILE]]" : "", d->what, d->body);
  if (d->opts & OPT_AS)
    fputs("\n"
          "With --as NAME the write is signed by that person's own key (linli user\n"
          "add), unlocked with their password: typed at the terminal, or read from\n"
          "--password-file FILE (its first line; - reads standard input).  The\n"
          "trust rules then apply to the person: an auditor writes nothing, an\n"
          "assessor only points records (pts/).  `linli log` names the person.\n",
          f);
}

static int
s_cmd_help(cli *c)
{
  if (c->argc == 0) {
    s_print_general_help(stdout);
    return CLI_OK;
  }
  const cmd_def *d = s_find(c->argv[0]);
  char hint[64];
  if (d == NULL)
    return cli_usage(c, "unknown command '%s'%s", c->argv[0],
                     s_cmd_hint(c->argv[0], hint, sizeof hint));
  s_print_cmd_help(d, stdout);
  return CLI_OK;
}

/* `linli --complete [COMMAND]`, for shell completion (not in --help): with
 * no COMMAND the command names, then the global options; with one, the
 * options it accepts, then the global options.  One word per line; an
 * option that takes a value is followed by a blank and what the value is
 * ("-o FILE").  Printed from the tables the parser uses, so the completion
 * of an installed linli always matches that linli. */
static int
s_complete(const char *name)
{
  unsigned allowed = 0;
  if (name == NULL) {
    for (size_t i = 0; i < S_NCMDS; i++)
      printf("%s\n", s_cmds[i].name);
  } else {
    const cmd_def *d = s_find(name);
    if (d == NULL)
      return CLI_USAGE; /* nothing to offer; completion stays quiet */
    allowed = d->opts;
  }
  for (size_t k = 0; k < S_NOPTS; k++)
    if (allowed & s_opts[k].bit)
      printf("%s%s%s\n", s_opts[k].name, s_opts[k].arg ? " " : "",
             s_opts[k].arg ? s_opts[k].arg : "");
  for (size_t k = 0; k < sizeof s_global_opts / sizeof s_global_opts[0]; k++)
    printf("%s\n", s_global_opts[k]);
  return fflush(stdout) == 0 ? CLI_OK : CLI_FAIL;
}

/* "-5", "-0" and "-12x": a dash followed by a digit is an argument (the
 * command checks it), never an option. */
static bool
s_looks_negative(const char *a)
{
  return a[0] == '-' && a[1] >= '0' && a[1] <= '9';
}

/* Stores the value of an option into *slot; a repeated option is a usage
 * error. */
static int
s_set_opt(cli *c, const char **slot, const char *opt, const char *val)
{
  if (*slot != NULL)
    return cli_usage(c, "option %s given twice", opt);
  *slot = val;
  return CLI_OK;
}

/* Parses argv into `c`, `*cmd`, and the help/version requests.  Returns
 * CLI_OK or the exit status of a usage error (already reported). */
static int
s_parse(int argc, char **argv, cli *c, const cmd_def **cmd, bool *help, bool *version,
        char **pos)
{
  bool dashdash = false;
  const char *dir = NULL;
  for (int i = 1; i < argc; i++) {
    char *a = argv[i];
    bool nul_opt = *cmd != NULL && ((*cmd)->opts & OPT_NUL) && strcmp(a, "-0") == 0;
    if (dashdash || a[0] != '-' || a[1] == '\0' ||
        (*cmd != NULL && s_looks_negative(a) && !nul_opt)) {
      if (*cmd == NULL) {
        *cmd = s_find(a);
        char hint[64];
        if (*cmd == NULL)
          return cli_usage(c, "unknown command '%s'%s", a, s_cmd_hint(a, hint, sizeof hint));
        c->cmd = (*cmd)->name;
      } else {
        pos[c->argc++] = a;
      }
      continue;
    }
    if (strcmp(a, "--") == 0) {
      dashdash = true;
      continue;
    }
    /* "--opt=value" carries its value; "-o FILE" and "--opt VALUE" take
     * the next argument. */
    char optbuf[32];
    const char *opt = a, *val = NULL;
    const char *eq = a[1] == '-' ? strchr(a, '=') : NULL;
    if (eq != NULL) {
      size_t n = (size_t)(eq - a);
      if (n >= sizeof optbuf)
        return cli_usage(c, "unknown option '%.40s'", a);
      memcpy(optbuf, a, n);
      optbuf[n] = '\0';
      opt = optbuf;
      val = eq + 1;
    }
    unsigned allowed = *cmd != NULL ? (*cmd)->opts : 0;
    bool flag = false;
    const char **slot = NULL;
    if (strcmp(opt, "-h") == 0 || strcmp(opt, "--help") == 0) {
      *help = true;
      flag = true;
    } else if (strcmp(opt, "--version") == 0) {
      *version = true;
      flag = true;
    } else if (strcmp(opt, "--json") == 0) {
      c->json = true;
      flag = true;
    } else if (strcmp(opt, "--where") == 0 && (allowed & OPT_QUERY)) {
      if (val == NULL) {
        if (i + 1 >= argc)
          return cli_usage(c, "option --where needs a value");
        val = argv[++i];
      }
      if (c->nwheres == (int)(sizeof c->wheres / sizeof c->wheres[0]))
        return cli_usage(c, "at most 16 --where filters");
      c->wheres[c->nwheres++] = val;
      continue;
    } else if (nul_opt) {
      /* Not in s_opts: elsewhere "-0" is an argument (a number). */
      c->nul = true;
      flag = true;
    } else if (strcmp(opt, "-d") == 0) {
      slot = &dir;
    } else {
      for (size_t k = 0; k < S_NOPTS; k++) {
        if (strcmp(opt, s_opts[k].name) != 0 || !(allowed & s_opts[k].bit))
          continue;
        if (s_opts[k].arg == NULL) {
          *(bool *)((char *)c + s_opts[k].off) = true;
          flag = true;
        } else {
          slot = (const char **)((char *)c + s_opts[k].off);
        }
      }
      char hint[64];
      if (slot == NULL && !flag)
        return cli_usage(c, "unknown option '%.60s'%s", opt,
                         s_opt_hint(opt, allowed, hint, sizeof hint));
    }
    if (flag) {
      if (val != NULL)
        return cli_usage(c, "option %s takes no value", opt);
      continue;
    }
    if (val == NULL) {
      if (i + 1 >= argc)
        return cli_usage(c, "option %s needs a value", opt);
      val = argv[++i];
    }
    int rc = s_set_opt(c, slot, opt, val);
    if (rc != CLI_OK)
      return rc;
  }
  if (dir != NULL && dir[0] == '\0')
    return cli_usage(c, "option -d needs a directory");
  if (dir == NULL) {
    const char *env = getenv("LINLI_DATA");
    dir = env != NULL && env[0] != '\0' ? env : "./linli-data";
  }
  c->dir = dir;
  return CLI_OK;
}

/* Whether the command writes to a store or signs something dated: then the
 * clock must not be before 2020. */
static bool
s_writes(const cmd_def *cmd, const cli *c)
{
  if (cmd->run == cmd_cert || cmd->run == cmd_schema)
    return c->argc > 0 && strcmp(c->argv[0], "show") != 0;
  return cmd->run == cmd_init || cmd->run == cmd_put || cmd->run == cmd_incr ||
         cmd->run == cmd_add || cmd->run == cmd_rm || cmd->run == cmd_append ||
         cmd->run == cmd_del || cmd->run == cmd_import || cmd->run == cmd_rotate ||
         cmd->run == cmd_repair_fork ||
         cmd->run == cmd_import_csv ||
         (cmd->run == cmd_user && c->argc > 0 &&
          (strcmp(c->argv[0], "add") == 0 || strcmp(c->argv[0], "revoke") == 0)) ||
         cmd->run == cmd_rebuild || cmd->run == cmd_restore;
}

/* Whether the command's arguments include a field name or text a person
 * types, which may contain spaces. */
static bool
s_takes_text(const cmd_def *cmd)
{
  return cmd->run == cmd_incr || cmd->run == cmd_add || cmd->run == cmd_rm ||
         cmd->run == cmd_append || cmd->run == cmd_del;
}

/* Checks the number of arguments and the clock before a command runs;
 * CLI_OK or the status of the error (printed). */
static int
s_ready(cli *c, const cmd_def *cmd)
{
  if (c->argc < cmd->min_args)
    return cli_usage(c, "missing argument; usage: linli %s", cmd->usage);
  if (cmd->max_args >= 0 && c->argc > cmd->max_args) {
    /* The usual cause is text with a space typed without quotes. */
    if (s_takes_text(cmd))
      return cli_usage(c, "too many arguments; text with spaces must be quoted, e.g. "
                       "\"走访 0012户\"; usage: linli %s", cmd->usage);
    return cli_usage(c, "too many arguments; usage: linli %s", cmd->usage);
  }
  if ((cmd->opts & OPT_OUT_REQ) && c->out == NULL)
    return cli_usage(c, "-o FILE is required");
  /* A clock RocksDB or the records cannot live with is refused before any
   * store is opened (cli.h, cli_clock_check). */
  if (cmd->run != cmd_keygen && cmd->run != s_cmd_help) {
    lerr e = {0};
    if (cli_clock_check(cli_wall_ms(), s_writes(cmd, c), &e) != 0)
      return cli_fail_e(&e);
  }
  /* Passwords are read by the program the person runs, before a request
   * to linli-node (which gets them as the file "-"). */
  return cli_passwords(c);
}

/* Whether a running linli-node runs the command.  Key generation,
 * initialisation and restore never touch a running store; audit trusts
 * nothing but the files and --root it is given; help needs no store. */
static bool
s_through_node(const cmd_def *cmd)
{
  return cmd->run != cmd_keygen && cmd->run != cmd_init && cmd->run != cmd_restore &&
         cmd->run != cmd_audit && cmd->run != s_cmd_help;
}

bool
cli_out_guarded(const cli *c)
{
  const cmd_def *d = c->cmd != NULL ? s_find(c->cmd) : NULL;
  return d != NULL && (d->opts & OPT_FORCE);
}

void
cli_opts_write(const cli *c, mpw *w)
{
  const cmd_def *d = s_find(c->cmd);
  unsigned allowed = d != NULL ? d->opts : 0;
  uint32_t n = (uint32_t)c->json + (uint32_t)c->nul + (uint32_t)c->nwheres;
  for (int pass = 0; pass < 2; pass++) {
    if (pass == 1)
      mpw_array(w, n);
    for (size_t k = 0; k < S_NOPTS; k++) {
      if (!(allowed & s_opts[k].bit) || s_opts[k].off == offsetof(cli, wheres))
        continue;
      const char *v = s_opts[k].arg ? *(const char *const *)((const char *)c + s_opts[k].off)
                                    : NULL;
      bool set = s_opts[k].arg ? v != NULL : *(const bool *)((const char *)c + s_opts[k].off);
      if (!set)
        continue;
      if (pass == 0) {
        n++;
        continue;
      }
      mpw_array(w, 2);
      mpw_cstr(w, s_opts[k].name);
      if (v != NULL)
        mpw_cstr(w, v);
      else
        mpw_nil(w);
    }
  }
  for (int i = 0; i < c->nwheres; i++) {
    mpw_array(w, 2);
    mpw_cstr(w, "--where");
    mpw_cstr(w, c->wheres[i]);
  }
  if (c->json) {
    mpw_array(w, 2);
    mpw_cstr(w, "--json");
    mpw_nil(w);
  }
  if (c->nul) {
    mpw_array(w, 2);
    mpw_cstr(w, "-0");
    mpw_nil(w);
  }
}

int
cli_opt_inputs(const cli *c, const char **files, bool *keys, int max)
{
  const cmd_def *d = s_find(c->cmd);
  int n = 0;
  for (size_t k = 0; d != NULL && k < S_NOPTS && n < max; k++) {
    if (!(d->opts & s_opts[k].bit) ||
        (s_opts[k].file != S_FILE_IN && s_opts[k].file != S_FILE_KEY))
      continue;
    const char *v = *(const char *const *)((const char *)c + s_opts[k].off);
    if (v == NULL)
      continue;
    keys[n] = s_opts[k].file == S_FILE_KEY;
    files[n++] = v;
  }
  return n;
}

int
cli_opt_set(cli *c, const char *opt, const char *val)
{
  const cmd_def *d = s_find(c->cmd);
  if (d == NULL)
    return cli_usage(c, "unknown command '%.40s'", c->cmd);
  bool *flag = NULL;
  if (strcmp(opt, "--json") == 0)
    flag = &c->json;
  else if (strcmp(opt, "-0") == 0 && (d->opts & OPT_NUL))
    flag = &c->nul;
  if (strcmp(opt, "--where") == 0 && (d->opts & OPT_QUERY)) {
    if (val == NULL)
      return cli_usage(c, "option --where needs a value");
    if (c->nwheres == (int)(sizeof c->wheres / sizeof c->wheres[0]))
      return cli_usage(c, "at most 16 --where filters");
    c->wheres[c->nwheres++] = val;
    return CLI_OK;
  }
  for (size_t k = 0; flag == NULL && k < S_NOPTS; k++) {
    if (strcmp(opt, s_opts[k].name) != 0 || !(d->opts & s_opts[k].bit))
      continue;
    if (s_opts[k].arg != NULL) {
      if (val == NULL)
        return cli_usage(c, "option %s needs a value", opt);
      return s_set_opt(c, (const char **)((char *)c + s_opts[k].off), opt, val);
    }
    flag = (bool *)((char *)c + s_opts[k].off);
  }
  if (flag == NULL)
    return cli_usage(c, "unknown option '%.60s'", opt);
  if (val != NULL)
    return cli_usage(c, "option %s takes no value", opt);
  if (*flag)
    return cli_usage(c, "option %s given twice", opt);
  *flag = true;
  return CLI_OK;
}

int
cli_run(cli *c)
{
  const cmd_def *cmd = s_find(c->cmd);
  if (cmd == NULL)
    return cli_usage(c, "unknown command '%.40s'", c->cmd);
  c->cmd = cmd->name;
  /* The audit opens the data directory read-only beside a running node,
   * so the CLI never sends it; the HTTP API runs it inside the node for a
   * logged-in person (cli_exec_as). */
  if (!s_through_node(cmd) && !(cmd->run == cmd_audit && cli_exec_as() != NULL))
    return cli_usage(c, "a running linli-node does not run this command");
  int rc = s_ready(c, cmd);
  if (rc == CLI_OK)
    rc = cmd->run(c);
  cli_passwords_free(c);
  return rc;
}

int
cli_main(int argc, char **argv)
{
  cli c = {0};
  const cmd_def *cmd = NULL;
  bool help = false, version = false;
  char **pos = NULL;
  int rc;

  if (argc >= 2 && strcmp(argv[1], "--complete") == 0 && argc <= 3)
    return s_complete(argc == 3 ? argv[2] : NULL);
  if (linli_crypto_init() != 0)
    return cli_fail("cannot initialise libsodium");
  pos = calloc((size_t)(argc > 0 ? argc : 1), sizeof *pos);
  if (pos == NULL)
    return cli_fail("out of memory");
  rc = s_parse(argc, argv, &c, &cmd, &help, &version, pos);
  if (rc != CLI_OK)
    goto done;
  if (version) {
    printf("linli %s\n", LINLI_VERSION);
    goto done;
  }
  if (help) {
    /* "linli help put --help" asks about put, "linli help --help" about
     * help itself. */
    if (cmd != NULL && cmd->run == s_cmd_help && c.argc > 0) {
      c.argv = pos;
      rc = s_cmd_help(&c);
    } else if (cmd != NULL)
      s_print_cmd_help(cmd, stdout);
    else
      s_print_general_help(stdout);
    goto done;
  }
  if (cmd == NULL) {
    rc = cli_usage(&c, "no command given");
    goto done;
  }
  c.argv = pos;
  if ((rc = s_ready(&c, cmd)) != CLI_OK)
    goto done;
  /* A running linli-node owns the store: send the command to it. */
  if (s_through_node(cmd) && cli_forward(&c, &rc) == 1)
    goto done;
  rc = cmd->run(&c);
  /* The command found the directory taken by a linli-node starting up:
   * the node runs it (and should the node stop again at once, the command
   * runs here). */
  for (int k = 0; rc == CLI_FORWARD && k < 3; k++)
    if (cli_forward(&c, &rc) == 0)
      rc = cmd->run(&c);
  if (rc == CLI_FORWARD)
    rc = cli_fail("%s: the data directory is held by a linli-node that does not answer",
                  c.dir);
  /* Output that cannot be written (a full disk, a closed pipe) is a
   * failure too, not a silent truncation. */
  if (fflush(stdout) != 0 || ferror(stdout)) {
    if (rc == CLI_OK)
      rc = cli_fail("cannot write the output");
  }
done:
  cli_passwords_free(&c);
  free(pos);
  return rc;
}
