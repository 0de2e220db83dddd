/* Unit tests for the fd/socket table (preload/resources/lw_fd.c) and the address
 * formatting of the snapshot (preload/snapshot/lw_fd_snap.c). Linked with the shim's
 * core directly; fd numbers here are table slots, not real open fds (the
 * table never touches the fds themselves). */
#include "../../preload/resources/lw_resources.h"

#include <arpa/inet.h>
#include <check.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

START_TEST(open_get_close)
{
    ck_assert_ptr_null(lw_fd_get(500));
    struct lw_fd_rec *r = lw_fd_open(500, LW_FD_TCP, LW_FDF_NONBLOCK, 0);
    ck_assert_ptr_nonnull(r);
    ck_assert_ptr_eq(lw_fd_get(500), r);
    ck_assert_int_eq(r->kind, LW_FD_TCP);
    ck_assert(lw_fd_nonblock(r));
    ck_assert_uint_eq(atomic_load(&r->aliases), 1);
    ck_assert_int_eq(r->creator_tid, (int)gettid());
    ck_assert_uint_ne(r->created_ns, 0);
    ck_assert_uint_ne(atomic_load(&r->owner), LW_CTX_NONE);
    ck_assert_int_ge(lw_fd_high(), 501);
    lw_fd_set_flag(r, LW_FDF_NONBLOCK, false);
    ck_assert(!lw_fd_nonblock(r));
    lw_fd_close(500);
    ck_assert_ptr_null(lw_fd_get(500));
    ck_assert_uint_eq(atomic_load(&r->aliases), 0);
    lw_fd_close(500); /* closing an untracked fd is harmless */
    lw_fd_close(-1);
    lw_fd_close(LW_FD_SLOTS + 5);
}
END_TEST

START_TEST(out_of_range)
{
    ck_assert_ptr_null(lw_fd_open(-1, LW_FD_TCP, 0, 0));
    ck_assert_ptr_null(lw_fd_open(LW_FD_SLOTS, LW_FD_TCP, 0, 0));
    ck_assert_ptr_null(lw_fd_get(-3));
    ck_assert_ptr_null(lw_fd_get(LW_FD_SLOTS));
}
END_TEST

START_TEST(dup_aliases_share_a_record)
{
    struct lw_fd_rec *r = lw_fd_open(600, LW_FD_UNIX, 0, 0);
    lw_fd_dup(600, 601);
    lw_fd_dup(600, 602);
    ck_assert_ptr_eq(lw_fd_get(601), r);
    ck_assert_ptr_eq(lw_fd_get(602), r);
    ck_assert_uint_eq(atomic_load(&r->aliases), 3);
    /* O_NONBLOCK is per open file: visible through every alias */
    lw_fd_set_flag(lw_fd_get(602), LW_FDF_NONBLOCK, true);
    ck_assert(lw_fd_nonblock(lw_fd_get(600)));
    lw_fd_close(600);
    ck_assert_ptr_null(lw_fd_get(600));
    ck_assert_ptr_eq(lw_fd_get(601), r);
    lw_fd_close(602);
    ck_assert_uint_eq(atomic_load(&r->aliases), 1);
    lw_fd_close(601);
    ck_assert_uint_eq(atomic_load(&r->aliases), 0);
    /* dup of an untracked fd onto a tracked one forgets the target */
    struct lw_fd_rec *p = lw_fd_open(603, LW_FD_PIPE, 0, 0);
    lw_fd_dup(999, 603);
    ck_assert_ptr_null(lw_fd_get(603));
    ck_assert_uint_eq(atomic_load(&p->aliases), 0);
}
END_TEST

START_TEST(dup2_over_tracked_releases_old)
{
    struct lw_fd_rec *a = lw_fd_open(700, LW_FD_TCP, 0, 0);
    struct lw_fd_rec *b = lw_fd_open(701, LW_FD_UDP, 0, 0);
    lw_fd_dup(700, 701);
    ck_assert_ptr_eq(lw_fd_get(701), a);
    ck_assert_uint_eq(atomic_load(&b->aliases), 0);
    ck_assert_uint_eq(atomic_load(&a->aliases), 2);
    /* reopening a number whose close we missed replaces the record */
    struct lw_fd_rec *c = lw_fd_open(701, LW_FD_PIPE, 0, 0);
    ck_assert_ptr_eq(lw_fd_get(701), c);
    ck_assert_uint_eq(atomic_load(&a->aliases), 1);
    lw_fd_close(700);
    lw_fd_close(701);
}
END_TEST

START_TEST(internal_fds_are_not_tracked)
{
    lw_fd_open(800, LW_FD_PIPE, 0, 0);
    lw_fd_mark_internal(800, true);
    ck_assert(lw_fd_is_internal(800));
    ck_assert_ptr_null(lw_fd_get(800));
    lw_fd_mark_internal(800, false);
    ck_assert(!lw_fd_is_internal(800));
    ck_assert_ptr_null(lw_fd_get(800));
}
END_TEST

START_TEST(io_counts_and_owner)
{
    struct lw_fd_rec *r = lw_fd_open(900, LW_FD_TCP, 0, 0);
    lw_fd_io_in(r, 10);
    lw_fd_io_in(r, 5);
    lw_fd_io_out(r, 7);
    ck_assert_uint_eq(atomic_load(&r->bytes_in), 15);
    ck_assert_uint_eq(atomic_load(&r->bytes_out), 7);
    ck_assert_uint_ne(atomic_load(&r->last_io_ns), 0);
    ck_assert_uint_eq(atomic_load(&r->owner), lw_ctx_current());
    lw_fd_close(900);
    ck_assert_uint_eq(atomic_load(&r->owner), LW_CTX_NONE);
}
END_TEST

START_TEST(records_are_reused)
{
    /* more open/close cycles than records: a leak of records would fail */
    for (unsigned i = 0; i < LW_FD_RECS + 1000; i++) {
        struct lw_fd_rec *r = lw_fd_open(1000 + (int)(i % 7), LW_FD_TCP, 0, 0);
        ck_assert_ptr_nonnull(r);
        lw_fd_close(1000 + (int)(i % 7));
    }
}
END_TEST

START_TEST(epoll_registrations)
{
    lw_fd_open(1100, LW_FD_EPOLL, 0, 0);
    struct lw_fd_rec *s = lw_fd_open(1101, LW_FD_TCP, 0, 0);
    lw_fd_open(1102, LW_FD_TCP, 0, 0);
    lw_fd_epoll_add(1100, 1101);
    lw_fd_epoll_add(1100, 1102);
    lw_fd_epoll_add(1100, 1101); /* twice: listed once */
    lw_fd_epoll_add(1100, 7);    /* untracked fds are listed too */
    ck_assert_int_eq(atomic_load(&s->epoll), 1100);
    int fds[8];
    int n = lw_fd_epoll_fds(1100, fds, 8);
    ck_assert_int_eq(n, 4);
    ck_assert_int_eq(fds[0], 1100);
    ck_assert_int_eq(fds[1], 1101);
    ck_assert_int_eq(fds[2], 1102);
    ck_assert_int_eq(fds[3], 7);
    lw_fd_epoll_del(1100, 1101);
    ck_assert_int_eq(atomic_load(&s->epoll), -1);
    n = lw_fd_epoll_fds(1100, fds, 8);
    ck_assert_int_eq(n, 3);
    ck_assert_int_eq(fds[1], 7);
    ck_assert_int_eq(fds[2], 1102);
    ck_assert_int_eq(lw_fd_epoll_fds(1100, fds, 2), 2); /* bounded by max */
    ck_assert_int_eq(lw_fd_epoll_fds(1199, fds, 8), 1); /* unknown epoll fd */
    for (int i = 0; i < LW_FD_EPOLL_MAX + 4; i++)
        lw_fd_epoll_add(1100, 2000 + i); /* beyond capacity: dropped, no overflow */
    ck_assert_int_eq(lw_fd_epoll_fds(1100, fds, 8), 8);
    lw_fd_close(1100);
    lw_fd_close(1101);
    lw_fd_close(1102);
}
END_TEST

START_TEST(count_under_owner)
{
    lw_ctx_id me = lw_ctx_current();
    int before = lw_fd_count_under(me);
    lw_fd_open(1200, LW_FD_TCP, 0, 0);
    lw_fd_open(1201, LW_FD_UDP, 0, 0);
    lw_fd_dup(1201, 1202); /* an alias is the same socket: counted once */
    ck_assert_int_eq(lw_fd_count_under(me), before + 2);
    lw_fd_close(1200);
    lw_fd_close(1201);
    ck_assert_int_eq(lw_fd_count_under(me), before + 1);
    lw_fd_close(1202);
    ck_assert_int_eq(lw_fd_count_under(me), before);
    ck_assert_int_eq(lw_fd_count_under(LW_CTX_NONE), 0);
}
END_TEST

static const char *fmt(struct sockaddr_storage *ss, unsigned len)
{
    static char buf[256];
    return lw_fd_format_addr(ss, len, buf, sizeof buf) ? buf : NULL;
}

START_TEST(format_addresses)
{
    struct sockaddr_storage ss;
    memset(&ss, 0, sizeof ss);
    struct sockaddr_in *in = (void *)&ss;
    in->sin_family = AF_INET;
    in->sin_port = htons(8080);
    inet_pton(AF_INET, "127.0.0.1", &in->sin_addr);
    ck_assert_str_eq(fmt(&ss, sizeof *in), "127.0.0.1:8080");
    ck_assert_ptr_null(fmt(&ss, 4)); /* truncated address */

    memset(&ss, 0, sizeof ss);
    struct sockaddr_in6 *in6 = (void *)&ss;
    in6->sin6_family = AF_INET6;
    in6->sin6_port = htons(80);
    inet_pton(AF_INET6, "::1", &in6->sin6_addr);
    ck_assert_str_eq(fmt(&ss, sizeof *in6), "[::1]:80");

    memset(&ss, 0, sizeof ss);
    struct sockaddr_un *un = (void *)&ss;
    un->sun_family = AF_UNIX;
    strcpy(un->sun_path, "/tmp/x.sock");
    ck_assert_str_eq(fmt(&ss, offsetof(struct sockaddr_un, sun_path) + 12), "/tmp/x.sock");
    ck_assert_ptr_null(fmt(&ss, offsetof(struct sockaddr_un, sun_path))); /* unnamed */
    memset(un->sun_path, 0, sizeof un->sun_path);
    memcpy(un->sun_path, "\0abs", 4);
    ck_assert_str_eq(fmt(&ss, offsetof(struct sockaddr_un, sun_path) + 4), "@abs");

    memset(&ss, 0, sizeof ss);
    ss.ss_family = AF_NETLINK;
    ck_assert_ptr_null(fmt(&ss, sizeof ss));
    ck_assert_str_eq(lw_fd_kind_name(LW_FD_TIMERFD), "timerfd");
    ck_assert_str_eq(lw_fd_kind_name(99), "other");
}
END_TEST

START_TEST(socket_timeouts)
{
    struct lw_fd_rec *r = lw_fd_open(1300, LW_FD_TCP, 0, 0);
    ck_assert_int_eq(lw_fd_rcvtimeo(r), -1); /* none until setsockopt */
    ck_assert_int_eq(lw_fd_sndtimeo(r), -1);
    lw_fd_set_timeo(r, false, 5000000000);
    lw_fd_set_timeo(r, true, 250000000);
    lw_fd_dup(1300, 1301); /* a socket option: shared by every alias */
    ck_assert_int_eq(lw_fd_rcvtimeo(lw_fd_get(1301)), 5000000000);
    ck_assert_int_eq(lw_fd_sndtimeo(lw_fd_get(1301)), 250000000);
    lw_fd_close(1300);
    lw_fd_close(1301);
    /* a reused record starts without them */
    struct lw_fd_rec *q = lw_fd_open(1302, LW_FD_TCP, 0, 0);
    ck_assert_int_eq(lw_fd_rcvtimeo(q), -1);
    ck_assert_int_eq(lw_fd_sndtimeo(q), -1);
    lw_fd_close(1302);
    /* the kernel's reading of a struct timeval */
    ck_assert_int_eq(lw_fd_timeo_ns(0, 0), -1);
    ck_assert_int_eq(lw_fd_timeo_ns(5, 0), 5000000000);
    ck_assert_int_eq(lw_fd_timeo_ns(0, 1), 1000);
    ck_assert_int_eq(lw_fd_timeo_ns(2, 500000), 2500000000);
    ck_assert_int_eq(lw_fd_timeo_ns(-1, 0), 0);
    ck_assert_int_eq(lw_fd_timeo_ns(INT64_MAX, 0), -1);
}
END_TEST

START_TEST(pair_links)
{
    struct lw_fd_rec *a = lw_fd_open(1400, LW_FD_UNIX, 0, 0);
    struct lw_fd_rec *b = lw_fd_open(1401, LW_FD_UNIX, 0, 0);
    ck_assert_int_eq(lw_fd_pair_fd(a), -1);
    lw_fd_link_pair(1400, 1401);
    ck_assert_int_eq(lw_fd_pair_fd(a), 1401);
    ck_assert_int_eq(lw_fd_pair_fd(b), 1400);
    /* the other end lives on through a dup: only fds still on it count */
    lw_fd_dup(1401, 1402);
    lw_fd_close(1401);
    ck_assert_int_eq(lw_fd_pair_fd(a), -1);
    ck_assert_int_eq(lw_fd_pair_fd(b), 1400);
    /* closing its last alias unlinks it, so its reused record is nobody's pair */
    lw_fd_close(1402);
    struct lw_fd_rec *c = lw_fd_open(1401, LW_FD_UNIX, 0, 0);
    ck_assert_int_eq(lw_fd_pair_fd(a), -1);
    ck_assert_int_eq(lw_fd_pair_fd(c), -1);
    lw_fd_close(1400);
    lw_fd_close(1401);
    /* untracked ends are not linked */
    lw_fd_open(1403, LW_FD_PIPE, 0, 0);
    lw_fd_link_pair(1403, 1404);
    ck_assert_int_eq(lw_fd_pair_fd(lw_fd_get(1403)), -1);
    lw_fd_close(1403);
}
END_TEST

Suite *lw_suite_fd(void)
{
    Suite *s = suite_create("fd");
    TCase *tc = tcase_create("table");
    tcase_add_test(tc, open_get_close);
    tcase_add_test(tc, out_of_range);
    tcase_add_test(tc, dup_aliases_share_a_record);
    tcase_add_test(tc, dup2_over_tracked_releases_old);
    tcase_add_test(tc, internal_fds_are_not_tracked);
    tcase_add_test(tc, io_counts_and_owner);
    tcase_add_test(tc, records_are_reused);
    tcase_add_test(tc, epoll_registrations);
    tcase_add_test(tc, count_under_owner);
    tcase_add_test(tc, format_addresses);
    tcase_add_test(tc, socket_timeouts);
    tcase_add_test(tc, pair_links);
    suite_add_tcase(s, tc);
    return s;
}
