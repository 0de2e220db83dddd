/* lw_vocab.h — every enumerated word of the snapshot format and of the
 * report model, each list written once (an X-macro: X(ENUM_SUFFIX, "word")).
 *
 * The loader turns the JSON strings into these enums once, after checking
 * them; everything after it (verdicts, findings, renderers) compares enums
 * and prints the word with lw_<list>_name(). Adding a word is one line in
 * its list (and the code that gives it meaning); the enum, the name table,
 * the loader's check and the --fail-on words follow from the list.
 * Must never: hold a word that is not in docs/snapshot-format.md or the
 * JSON report format, or be included by the shim (its words are its own).
 */
#ifndef LW_VOCAB_H
#define LW_VOCAB_H

#include <stddef.h>

/* What a finding is about (JSON "kind"). */
#define LW_KIND_LIST(X) X(THREAD, "thread") X(TIMER, "timer") X(SOCKET, "socket") X(FD, "fd")
/* What leakwatch concluded (JSON "verdict"). */
#define LW_VERDICT_LIST(X) X(LEAKED, "leaked") X(UNJOINED, "unjoined") X(STUCK, "stuck") X(ALIVE_AT_EXIT, "alive_at_exit")
/* A thread's state in a thread dump: the verdicts plus "parked" (waits on an
 * object a live context owns); LW_ST_NONE (0) is "no verdict". */
#define LW_STATUS_LIST(X)                                                                                          \
    X(LEAKED, "leaked") X(UNJOINED, "unjoined") X(STUCK, "stuck") X(PARKED, "parked") X(ALIVE_AT_EXIT, "alive_at_exit")
/* Blocking call families (snapshot blocked.family, JSON blocked.family). */
#define LW_FAMILY_LIST(X)                                                                                           \
    X(COND, "cond") X(MUTEX, "mutex") X(RWLOCK, "rwlock") X(SEM, "sem") X(BARRIER, "barrier") X(JOIN, "join")     \
    X(SLEEP, "sleep") X(SOCKET, "socket") X(POLL, "poll") X(READ, "read") X(FUTEX, "futex") X(OTHER, "other")
/* Why a context ended (snapshot contexts[].cause, JSON context.cause). */
#define LW_CAUSE_LIST(X)                                                                                            \
    X(EXITED, "exited") X(PTHREAD_CANCEL, "pthread_cancel") X(EXPLICIT, "explicit") X(PROCESS_EXIT, "process_exit")
/* What made the shim write a snapshot (snapshot trigger). */
#define LW_TRIGGER_LIST(X)                                                                                          \
    X(START, "start") X(EXIT, "exit") X(SIGNAL, "signal") X(API, "api") X(INTERVAL, "interval") \
        X(REQUEST, "request")
/* Snapshot threads[].kind and threads[].state; contexts[].kind. */
#define LW_THREAD_KIND_LIST(X) X(MAIN, "main") X(TRACKED, "tracked") X(FOREIGN, "foreign")
#define LW_THREAD_STATE_LIST(X) X(RUNNING, "running") X(BLOCKED, "blocked") X(EXITED, "exited")
#define LW_CTX_KIND_LIST(X) X(ROOT, "root") X(THREAD, "thread") X(EXPLICIT, "explicit")

#define LW_VOCAB_ENUM_(P, N) P##N,
#define LW_VOCAB_ONE_(n, s) +1
/* Number of words in a list: a constant, not an enumerator, so a switch
 * over the enum still warns about every value it does not handle. */
#define LW_VOCAB_COUNT(LIST) (0 LIST(LW_VOCAB_ONE_))
#define LW_KIND_E_(n, s) LW_VOCAB_ENUM_(LW_KIND_, n)
#define LW_VERDICT_E_(n, s) LW_VOCAB_ENUM_(LW_VERDICT_, n)
#define LW_STATUS_E_(n, s) LW_VOCAB_ENUM_(LW_ST_, n)
#define LW_FAMILY_E_(n, s) LW_VOCAB_ENUM_(LW_FAMILY_, n)
#define LW_CAUSE_E_(n, s) LW_VOCAB_ENUM_(LW_CAUSE_, n)
#define LW_TRIGGER_E_(n, s) LW_VOCAB_ENUM_(LW_TRIGGER_, n)
#define LW_THREAD_KIND_E_(n, s) LW_VOCAB_ENUM_(LW_TK_, n)
#define LW_THREAD_STATE_E_(n, s) LW_VOCAB_ENUM_(LW_TS_, n)
#define LW_CTX_KIND_E_(n, s) LW_VOCAB_ENUM_(LW_CK_, n)

enum lw_kind { LW_KIND_LIST(LW_KIND_E_) };
#define LW_KIND_COUNT LW_VOCAB_COUNT(LW_KIND_LIST)
enum lw_verdict { LW_VERDICT_LIST(LW_VERDICT_E_) };
#define LW_VERDICT_COUNT LW_VOCAB_COUNT(LW_VERDICT_LIST)
enum lw_status { LW_ST_NONE = 0, LW_STATUS_LIST(LW_STATUS_E_) };
enum lw_family { LW_FAMILY_LIST(LW_FAMILY_E_) };
/* LW_CAUSE_NONE: the context was not cancelled or the snapshot gave no cause. */
enum lw_cause { LW_CAUSE_NONE = -1, LW_CAUSE_LIST(LW_CAUSE_E_) };
enum lw_trigger { LW_TRIGGER_LIST(LW_TRIGGER_E_) };
enum lw_thread_kind { LW_THREAD_KIND_LIST(LW_THREAD_KIND_E_) };
enum lw_thread_state { LW_THREAD_STATE_LIST(LW_THREAD_STATE_E_) };
enum lw_ctx_kind { LW_CTX_KIND_LIST(LW_CTX_KIND_E_) };

/* The word of a value; "unknown" (NULL for lw_status_name(LW_ST_NONE) and
 * lw_cause_name(LW_CAUSE_NONE)) outside the list. */
const char *lw_kind_name(enum lw_kind k);
const char *lw_verdict_name(enum lw_verdict v);
const char *lw_status_name(enum lw_status s);
const char *lw_family_name(enum lw_family f);
const char *lw_cause_name(enum lw_cause c);
const char *lw_trigger_name(enum lw_trigger t);
const char *lw_thread_kind_name(enum lw_thread_kind k);
const char *lw_thread_state_name(enum lw_thread_state s);
const char *lw_ctx_kind_name(enum lw_ctx_kind k);

/* One word list for the loader: the words in enum order. */
struct lw_vocab {
    const char *const *words;
    size_t n;
};
extern const struct lw_vocab lw_vocab_family, lw_vocab_cause, lw_vocab_trigger, lw_vocab_thread_kind,
    lw_vocab_thread_state, lw_vocab_ctx_kind;
/* Index of word w (n bytes) in v, or -1. */
int lw_vocab_find(const struct lw_vocab *v, const char *w, size_t n);

/* --fail-on words. A leaked finding fails by its kind ("thread", "fd"); any
 * other verdict fails by the verdict's word ("unjoined", "stuck"), whatever
 * the kind. The bits follow from the two lists above. */
#define LW_FAIL_KIND(k) (1u << (unsigned)(k))
#define LW_FAIL_VERDICT(v) (1u << (unsigned)(LW_KIND_COUNT + (v) - 1))
#define LW_FAIL_NBITS ((unsigned)LW_KIND_COUNT + (unsigned)LW_VERDICT_COUNT - 1)
#define LW_FAIL_ALL ((1u << LW_FAIL_NBITS) - 1)
#define LW_FAIL_THREAD LW_FAIL_KIND(LW_KIND_THREAD)
#define LW_FAIL_TIMER LW_FAIL_KIND(LW_KIND_TIMER)
#define LW_FAIL_SOCKET LW_FAIL_KIND(LW_KIND_SOCKET)
#define LW_FAIL_FD LW_FAIL_KIND(LW_KIND_FD)
#define LW_FAIL_UNJOINED LW_FAIL_VERDICT(LW_VERDICT_UNJOINED)
#define LW_FAIL_STUCK LW_FAIL_VERDICT(LW_VERDICT_STUCK)
#define LW_FAIL_ALIVE_AT_EXIT LW_FAIL_VERDICT(LW_VERDICT_ALIVE_AT_EXIT)
/* The bit a finding of kind k and verdict v counts under. */
unsigned lw_fail_bit(enum lw_kind k, enum lw_verdict v);
/* The word of bit number b (0 .. LW_FAIL_NBITS-1). */
const char *lw_fail_word(unsigned b);
/* Parses "thread,timer,stuck" (also plurals, "all", "none"); -1 with the
 * offending word in err on an unknown word. */
int lw_fail_on_parse(const char *arg, unsigned *mask, char *err, size_t errlen);

#endif
