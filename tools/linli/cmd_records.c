/*
 * cmd_records.c - the commands of typed records: schema (publish, show).
 *
 * The work is done by node/records.c and crdt/schema.c, which any other
 * front end calls the same way; this file parses arguments and prints.
 */
#include "tools/linli/cli.h"
#include "tools/linli/json.h"

#include "node/fsutil.h"
#include "node/records.h"

#include <stdlib.h>
#include <string.h>

static void
s_field_json(jw *w, const lschema_field *f)
{
  jw_obj_begin(w);
  jw_key(w, "name");
  jw_str(w, f->name);
  jw_key(w, "en");
  jw_str(w, f->en);
  jw_key(w, "kind");
  jw_str(w, field_kind_name(f->fk));
  jw_key(w, "type");
  jw_str(w, schema_vt_name(f->vt));
  jw_key(w, "required");
  jw_bool(w, f->required);
  jw_key(w, "min");
  if (f->has_min)
    jw_int(w, f->min);
  else
    jw_null(w);
  jw_key(w, "example");
  jw_str(w, schema_example(f));
  if (f->vt == LSV_ENUM) {
    jw_key(w, "codes");
    jw_arr_begin(w);
    for (uint32_t k = 0; k < f->ncodes; k++) {
      jw_obj_begin(w);
      jw_key(w, "code");
      jw_str(w, f->codes[k].code);
      jw_key(w, "zh");
      jw_str(w, f->codes[k].zh);
      jw_key(w, "en");
      jw_str(w, f->codes[k].en);
      jw_obj_end(w);
    }
    jw_arr_end(w);
  }
  jw_obj_end(w);
}

static void
s_schema_json(const lschema *s)
{
  jw w;
  jw_init(&w, stdout);
  jw_obj_begin(&w);
  jw_key(&w, "schema");
  jw_str(&w, s->name);
  jw_key(&w, "version");
  jw_int(&w, s->version);
  jw_key(&w, "types");
  jw_arr_begin(&w);
  for (uint32_t i = 0; i < s->ntypes; i++) {
    const lschema_type *t = &s->types[i];
    jw_obj_begin(&w);
    jw_key(&w, "name");
    jw_str(&w, t->name);
    jw_key(&w, "en");
    jw_str(&w, t->en);
    jw_key(&w, "collection");
    jw_str(&w, t->collection);
    jw_key(&w, "fields");
    jw_arr_begin(&w);
    for (uint32_t k = 0; k < t->nfields; k++)
      s_field_json(&w, &t->fields[k]);
    jw_arr_end(&w);
    jw_obj_end(&w);
  }
  jw_arr_end(&w);
  jw_obj_end(&w);
  jw_finish(&w);
}

static void
s_schema_text(const lschema *s)
{
  printf("schema %s, version %lld\n", s->name, (long long)s->version);
  for (uint32_t i = 0; i < s->ntypes; i++) {
    const lschema_type *t = &s->types[i];
    printf("\n%s (%s): keys %s/ID\n", t->name, t->en, t->collection);
    for (uint32_t k = 0; k < t->nfields; k++) {
      const lschema_field *f = &t->fields[k];
      printf("  %s%s  %s %s", f->name, f->required ? " *" : "", schema_vt_name(f->vt),
             field_kind_name(f->fk));
      if (f->has_min)
        printf(", >= %lld", (long long)f->min);
      if (f->vt == LSV_ENUM) {
        fputs(":", stdout);
        for (uint32_t j = 0; j < f->ncodes; j++)
          printf(" %s", f->codes[j].zh);
      }
      printf("  (%s)\n", f->en);
    }
  }
}

int
cmd_schema(cli *c)
{
  const char *sub = c->argv[0];
  lstore *s = NULL;
  lschema *sch = NULL;
  lerr e = {0};
  int rc;

  if (strcmp(sub, "publish") == 0) {
    if (c->argc != 2)
      return cli_usage(c, "usage: linli schema publish FILE");
    uint8_t *text = NULL;
    size_t n = 0;
    if (fs_read_all(c->argv[1], LINLI_VALUE_MAX, &text, &n, &e) != 0) {
      if (e.code == LINLI_ETOOBIG)
        return cli_fail("%s: a schema is at most %d bytes", c->argv[1], LINLI_VALUE_MAX);
      return cli_fail_e(&e);
    }
    /* checked before the store is opened: a bad file is the clerk's */
    if (schema_parse(&sch, (const char *)text, n, &e) != 0) {
      free(text);
      return cli_fail("%s: %s", c->argv[1], e.msg);
    }
    rc = cli_open(c, &s);
    lident id;
    if (rc == CLI_OK && (rc = cli_identity(s, &id)) == CLI_OK) {
      if (lrecords_publish(s, &id, (const char *)text, n, cli_wall_ms(), &e) != 0)
        rc = cli_fail_e(&e);
      else
        printf("published schema %s version %lld\n", sch->name, (long long)sch->version);
      ident_wipe(&id);
    }
    free(text);
    goto done;
  }
  if (strcmp(sub, "show") != 0)
    return cli_usage(c, "unknown subcommand '%s' (publish or show)", sub);
  if (c->argc != 1)
    return cli_usage(c, "usage: linli schema show");
  rc = cli_open(c, &s);
  if (rc != CLI_OK)
    goto done;
  if (lrecords_schema(s, &sch, &e) != 0) {
    rc = cli_fail_e(&e);
    goto done;
  }
  if (sch == NULL) {
    rc = cli_fail("this station holds no schema: records are free-form (the root publishes one "
                  "with linli schema publish FILE)");
    goto done;
  }
  if (c->json)
    s_schema_json(sch);
  else
    s_schema_text(sch);
done:
  schema_destroy(&sch);
  cli_close(&s);
  return rc;
}
