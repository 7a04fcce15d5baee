/*
 * test_websession.c - node/websession: session ids and CSRF tokens, the
 * idle timeout that wipes a session's person, the login rate limit.
 */
#include "node/websession.h"

#include <criterion/criterion.h>
#include <string.h>

static int s_freed;

/* Stands for lperson_free: counts and clears. */
static void
s_free_person(lperson **p)
{
  if (*p != NULL)
    s_freed++;
  *p = NULL;
}

Test(websession, ids_are_random_hex_and_found_only_exactly)
{
  wsess_table t;
  wsess *a, *b;
  lerr e = {0};
  wsess_init(&t, 1000, s_free_person);
  cr_assert_eq(wsess_new(&t, (lperson *)&t, 0, &a, &e), 0);
  cr_assert_eq(wsess_new(&t, (lperson *)&t, 0, &b, &e), 0);
  cr_assert_eq(strlen(a->id), WSESS_ID_HEX);
  cr_assert_eq(strspn(a->id, "0123456789abcdef"), WSESS_ID_HEX);
  cr_assert_str_neq(a->id, b->id);
  cr_assert_str_neq(a->id, a->csrf);
  cr_assert_eq(wsess_find(&t, a->id, 10), a);
  char wrong[WSESS_ID_HEX + 1];
  memcpy(wrong, a->id, sizeof wrong);
  wrong[5] = wrong[5] == '0' ? '1' : '0';
  cr_assert_null(wsess_find(&t, wrong, 10));
  cr_assert_null(wsess_find(&t, "", 10));
  cr_assert_null(wsess_find(&t, NULL, 10));
  cr_assert(wsess_csrf_ok(a, a->csrf));
  cr_assert_not(wsess_csrf_ok(a, b->csrf));
  cr_assert_not(wsess_csrf_ok(a, NULL));
  wsess_end(&t, a);
  cr_assert_eq(s_freed, 1);
  wsess_free(&t);
  cr_assert_eq(s_freed, 2);
}

Test(websession, an_idle_session_ends_and_its_person_is_wiped)
{
  wsess_table t;
  wsess *a;
  lerr e = {0};
  s_freed = 0;
  wsess_init(&t, 1000, s_free_person);
  cr_assert_eq(wsess_new(&t, (lperson *)&t, 0, &a, &e), 0);
  char id[WSESS_ID_HEX + 1];
  memcpy(id, a->id, sizeof id);
  cr_assert_eq(wsess_find(&t, id, 900), a); /* use keeps it alive */
  cr_assert_eq(wsess_expire(&t, 1800), 1900);
  cr_assert_eq(s_freed, 0);
  cr_assert_null(wsess_find(&t, id, 1900));
  cr_assert_eq(s_freed, 1);
  cr_assert_eq(t.n, 0);
  wsess_free(&t);
}

Test(websession, rate_limit_after_five_failures_doubles_to_fifteen_minutes)
{
  wrl r = {0};
  for (int i = 0; i < 4; i++) {
    wrl_fail(&r, "u:王芳", 1000);
    cr_assert_eq(wrl_wait(&r, "u:王芳", 1000), 0);
  }
  wrl_fail(&r, "u:王芳", 1000);
  cr_assert_eq(wrl_wait(&r, "u:王芳", 1000), WRL_BASE_MS);
  cr_assert_eq(wrl_wait(&r, "u:李明", 1000), 0);
  wrl_fail(&r, "u:王芳", 2000);
  cr_assert_eq(wrl_wait(&r, "u:王芳", 2000), 2 * WRL_BASE_MS);
  for (int i = 0; i < 20; i++)
    wrl_fail(&r, "u:王芳", 3000);
  cr_assert_eq(wrl_wait(&r, "u:王芳", 3000), WRL_MAX_MS);
  cr_assert_eq(wrl_wait(&r, "u:王芳", 3000 + WRL_MAX_MS), 0);
  wrl_ok(&r, "u:王芳");
  wrl_fail(&r, "u:王芳", 4000);
  cr_assert_eq(wrl_wait(&r, "u:王芳", 4000), 0);
  wrl_free(&r);
}
