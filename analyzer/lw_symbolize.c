/* lw_symbolize.c — turns (module, offset) into function, file, line with
 * libdwfl: ELF .symtab/.dynsym, DWARF line tables, inlined scopes, separate
 * debug files found by build-id (dwfl_standard_find_debuginfo searches
 * /usr/lib/debug/.build-id/), C++ and Rust (legacy and v0) names demangled
 * with GNU libiberty's cplus_demangle.
 *
 * Each module file is opened once, reported at bias 0 in its own Dwfl, and
 * looked up by its file-relative offset, so the same cache serves every
 * snapshot whatever its load base (ASLR). Must never: trust a module whose
 * build-id differs from the snapshot's (wrong names are worse than none),
 * or fail a lookup loudly — a missing module is one warning and
 * module+offset frames.
 */
#include "lw_symbolize.h"

#include <dwarf.h>
#include <elfutils/libdw.h>
#include <elfutils/libdwfl.h>
#include <libiberty/demangle.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "lw_arena.h"

/* GNU libiberty (Debian libiberty-dev, a static library): the demangler of
 * binutils and GDB. DMGL_AUTO recognises C++ (_Z), Rust's legacy scheme
 * (_ZN...17h<hash>E, hash dropped) and Rust v0 (_R). */
char *lw_demangle(const char *name)
{
    if (!name || (strncmp(name, "_Z", 2) != 0 && strncmp(name, "_R", 2) != 0))
        return NULL;
    return cplus_demangle(name, DMGL_PARAMS | DMGL_ANSI | DMGL_AUTO);
}

struct lw_mod_entry {
    char *key;          /* path \0 build-id */
    const char *path;
    Dwfl *dwfl;
    Dwfl_Module *mod;   /* NULL: unusable (missing, mismatched) */
    struct lw_mod_entry *next;
};

struct lw_addr_slot {
    const struct lw_mod_entry *mod;
    uint64_t addr;
    struct lw_symres *res;
};

/* Per-snapshot table: module index -> entry (rebuilt when a new snapshot
 * is seen; a run has one or two). */
struct lw_snap_map {
    const struct lw_snapshot *snap;
    struct lw_mod_entry **mods;
    struct lw_snap_map *next;
};

struct lw_symbolizer {
    struct lw_arena arena;
    struct lw_mod_entry *mods;
    struct lw_snap_map *maps;
    struct lw_addr_slot *slots;
    size_t nslots, used;
    const char **warnings;
    size_t nwarnings;
    struct lw_symres nomod;  /* shared result for frames without a module */
};

static char *lw_debuginfo_path = NULL;
static const Dwfl_Callbacks lw_dwfl_callbacks = {
    .find_elf = dwfl_build_id_find_elf,
    .find_debuginfo = dwfl_standard_find_debuginfo,
    .section_address = dwfl_offline_section_address,
    .debuginfo_path = &lw_debuginfo_path,
};

struct lw_symbolizer *lw_symbolizer_new(void)
{
    struct lw_symbolizer *z = lw_xcalloc(1, sizeof(*z));
    z->nslots = 4096;
    z->slots = lw_xcalloc(z->nslots, sizeof(*z->slots));
    static const struct lw_symloc unknown = {NULL, NULL, 0, false};
    z->nomod.n = 1;
    z->nomod.locs = &unknown;
    return z;
}

void lw_symbolizer_free(struct lw_symbolizer *z)
{
    if (!z)
        return;
    for (struct lw_mod_entry *m = z->mods; m; m = m->next)
        if (m->dwfl)
            dwfl_end(m->dwfl);
    for (struct lw_snap_map *m = z->maps, *n; m; m = n) {
        n = m->next;
        free(m->mods);
        free(m);
    }
    free(z->slots);
    free(z->warnings);
    lw_arena_free(&z->arena);
    free(z);
}

size_t lw_symbolizer_warnings(const struct lw_symbolizer *z, const char *const **lines)
{
    *lines = z->warnings;
    return z->nwarnings;
}

__attribute__((format(printf, 2, 3)))
static void warn(struct lw_symbolizer *z, const char *fmt, ...)
{
    char buf[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    z->warnings = lw_xrealloc(z->warnings, (z->nwarnings + 1) * sizeof(*z->warnings));
    z->warnings[z->nwarnings++] = lw_arena_strdup(&z->arena, buf);
}

static bool is_pseudo_module(const char *path)
{
    return !*path || path[0] == '[' || strncmp(path, "linux-vdso", 10) == 0 || strncmp(path, "linux-gate", 10) == 0;
}

static void hex(const unsigned char *b, int n, char *out)
{
    for (int i = 0; i < n; i++)
        sprintf(out + 2 * i, "%02x", b[i]);
    out[2 * n] = 0;
}

static struct lw_mod_entry *open_module(struct lw_symbolizer *z, const struct lw_snap_module *sm)
{
    const char *bid = sm->build_id ? sm->build_id : "";
    size_t kl = strlen(sm->path) + 1 + strlen(bid) + 1;
    for (struct lw_mod_entry *m = z->mods; m; m = m->next)
        if (strcmp(m->key, sm->path) == 0 && strcmp(m->key + strlen(m->key) + 1, bid) == 0)
            return m;
    struct lw_mod_entry *m = lw_arena_alloc(&z->arena, sizeof(*m));
    m->key = lw_arena_alloc(&z->arena, kl);
    strcpy(m->key, sm->path);
    strcpy(m->key + strlen(sm->path) + 1, bid);
    m->path = m->key;
    m->next = z->mods;
    z->mods = m;
    /* leakwatch's own frames are never shown or hashed (lw_frames.c,
     * lw_site.c): no need to read the shim, nor to warn that it was
     * rebuilt since the snapshot. */
    const char *slash = strrchr(sm->path, '/');
    if (is_pseudo_module(sm->path) || strncmp(slash ? slash + 1 : sm->path, "libleakwatch", 12) == 0)
        return m;
    /* Only regular files: a hostile snapshot naming a FIFO or a device
     * (/dev/stdin, /dev/zero) must not make the analyzer block or read
     * forever. */
    struct stat st;
    if (stat(sm->path, &st) != 0 || !S_ISREG(st.st_mode)) {
        warn(z, "%s: %s; frames shown as module+offset", sm->path,
             stat(sm->path, &st) != 0 ? "module file not found" : "not a regular file");
        return m;
    }
    m->dwfl = dwfl_begin(&lw_dwfl_callbacks);
    if (!m->dwfl) {
        warn(z, "%s: cannot start libdwfl: %s; frames shown as module+offset", sm->path, dwfl_errmsg(-1));
        return m;
    }
    dwfl_report_begin(m->dwfl);
    /* Bias 0: lookups use the file-relative offset from the snapshot. */
    Dwfl_Module *mod = dwfl_report_elf(m->dwfl, sm->path, sm->path, -1, 0, false);
    dwfl_report_end(m->dwfl, NULL, NULL);
    if (!mod) {
        warn(z, "%s: cannot read module (%s); frames shown as module+offset", sm->path, dwfl_errmsg(-1));
        return m;
    }
    if (sm->build_id && *sm->build_id) {
        const unsigned char *bits;
        GElf_Addr vaddr;
        int n = dwfl_module_build_id(mod, &bits, &vaddr);
        char file_bid[2 * 64 + 1] = "";
        if (n > 0 && n <= 64)
            hex(bits, n, file_bid);
        if (n > 0 && strcmp(file_bid, sm->build_id) != 0) {
            warn(z, "%s: build-id %s on disk differs from %s in the snapshot (rebuilt since?); frames shown as module+offset",
                 sm->path, file_bid, sm->build_id);
            return m;
        }
    }
    m->mod = mod;
    return m;
}

static struct lw_mod_entry *entry_for(struct lw_symbolizer *z, const struct lw_snapshot *s, int idx)
{
    struct lw_snap_map *map = z->maps;
    while (map && map->snap != s)
        map = map->next;
    if (!map) {
        map = lw_xcalloc(1, sizeof(*map));
        map->snap = s;
        map->mods = lw_xcalloc(s->nmodules ? s->nmodules : 1, sizeof(*map->mods));
        map->next = z->maps;
        z->maps = map;
    }
    if (!map->mods[idx])
        map->mods[idx] = open_module(z, &s->modules[idx]);
    return map->mods[idx];
}

static uint64_t slot_hash(const void *mod, uint64_t addr)
{
    uint64_t h = (uint64_t)(uintptr_t)mod * 0x9e3779b97f4a7c15ull ^ addr * 0xc2b2ae3d27d4eb4full;
    return h ^ (h >> 29);
}

static void grow_slots(struct lw_symbolizer *z)
{
    struct lw_addr_slot *old = z->slots;
    size_t oldn = z->nslots;
    z->nslots *= 2;
    z->slots = lw_xcalloc(z->nslots, sizeof(*z->slots));
    for (size_t i = 0; i < oldn; i++) {
        if (!old[i].res)
            continue;
        size_t j = slot_hash(old[i].mod, old[i].addr) & (z->nslots - 1);
        while (z->slots[j].res)
            j = (j + 1) & (z->nslots - 1);
        z->slots[j] = old[i];
    }
    free(old);
}

static const char *intern_name(struct lw_symbolizer *z, const char *name)
{
    if (!name)
        return NULL;
    char *d = lw_demangle(name);
    const char *r = lw_arena_strdup(&z->arena, d ? d : name);
    free(d);
    return r;
}

static const char *die_name(Dwarf_Die *die)
{
    Dwarf_Attribute attr;
    const char *n = NULL;
    if (dwarf_attr_integrate(die, DW_AT_linkage_name, &attr) ||
        dwarf_attr_integrate(die, DW_AT_MIPS_linkage_name, &attr))
        n = dwarf_formstring(&attr);
    if (!n && dwarf_attr_integrate(die, DW_AT_name, &attr))
        n = dwarf_formstring(&attr);
    return n;
}

/* The DIEs whose code contains pc, outermost first, from the CU down:
 * subprograms, inlined subroutines and lexical blocks, searched through
 * the DIEs that own them without code of their own (namespaces, types).
 * libdw's dwarf_getscopes (0.188) does not look inside namespaces, where
 * rustc puts every function: it found no scope at all for Rust frames, so
 * inlined Rust functions were missing. Returns the depth reached. */
#define LW_MAX_SCOPES 64
static int find_scopes(Dwarf_Die *parent, Dwarf_Addr pc, Dwarf_Die *out, int depth)
{
    Dwarf_Die child;
    if (depth >= LW_MAX_SCOPES || dwarf_child(parent, &child) != 0)
        return depth;
    do {
        int tag = dwarf_tag(&child);
        switch (tag) {
        case DW_TAG_subprogram:
        case DW_TAG_inlined_subroutine:
        case DW_TAG_lexical_block:
            if (dwarf_haspc(&child, pc) > 0) {
                out[depth] = child;
                return find_scopes(&out[depth], pc, out, depth + 1);
            }
            break;
        case DW_TAG_namespace:
        case DW_TAG_module:
        case DW_TAG_structure_type:
        case DW_TAG_class_type:
        case DW_TAG_union_type:
        case DW_TAG_enumeration_type: {
            /* no code of their own: a function inside is the answer */
            Dwarf_Die keep = child;
            int d = find_scopes(&keep, pc, out, depth);
            if (d > depth)
                return d;
            break;
        }
        default:
            break;
        }
    } while (dwarf_siblingof(&child, &child) == 0);
    return depth;
}

/* Appends the locations for addr in module m (inline chain, then the
 * containing function). */
static struct lw_symres *resolve(struct lw_symbolizer *z, struct lw_mod_entry *m, uint64_t addr)
{
    struct lw_symres *r = lw_arena_alloc(&z->arena, sizeof(*r));
    r->module = m->path;
    struct lw_symloc tmp[16];
    size_t n = 0;
    if (!m->mod) {
        tmp[n++] = (struct lw_symloc){0};
        goto done;
    }
    GElf_Off off;
    GElf_Sym sym;
    const char *symname = dwfl_module_addrinfo(m->mod, addr, &off, &sym, NULL, NULL, NULL);
    const char *file = NULL;
    int line = 0;
    Dwfl_Line *dl = dwfl_module_getsrc(m->mod, addr);
    if (dl)
        file = dwfl_lineinfo(dl, NULL, &line, NULL, NULL, NULL);

    Dwarf_Addr bias = 0;
    Dwarf_Die *cu = dwfl_module_addrdie(m->mod, addr, &bias);
    Dwarf_Die scopes[LW_MAX_SCOPES];
    int ns = cu ? find_scopes(cu, addr - bias, scopes, 0) : 0;
    Dwarf_Files *files = NULL;
    size_t nfiles = 0;
    if (cu && dwarf_getsrcfiles(cu, &files, &nfiles) != 0)
        files = NULL;
    const char *subname = NULL;
    for (int i = ns - 1; i >= 0 && n < 15; i--) { /* innermost first */
        int tag = dwarf_tag(&scopes[i]);
        if (tag == DW_TAG_inlined_subroutine) {
            tmp[n++] = (struct lw_symloc){intern_name(z, die_name(&scopes[i])), lw_arena_strdup(&z->arena, file),
                                          line, true};
            /* The caller's location is where this inline call was made. */
            Dwarf_Attribute a;
            Dwarf_Word cf = 0, cl = 0;
            file = NULL;
            line = 0;
            if (dwarf_attr(&scopes[i], DW_AT_call_file, &a) && dwarf_formudata(&a, &cf) == 0 && files &&
                cf < nfiles)
                file = dwarf_filesrc(files, cf, NULL, NULL);
            if (dwarf_attr(&scopes[i], DW_AT_call_line, &a) && dwarf_formudata(&a, &cl) == 0)
                line = (int)cl;
        } else if (tag == DW_TAG_subprogram) {
            subname = die_name(&scopes[i]);
            break;
        }
    }
    /* The ELF symbol is the qualified linkage name; the DIE name is the
     * fallback for stripped symbol tables with separate debug info. */
    tmp[n++] = (struct lw_symloc){intern_name(z, symname ? symname : subname), lw_arena_strdup(&z->arena, file),
                                  line, false};
done:
    r->n = n;
    struct lw_symloc *locs = lw_arena_alloc(&z->arena, n * sizeof(*locs));
    memcpy(locs, tmp, n * sizeof(*locs));
    r->locs = locs;
    return r;
}

const struct lw_symres *lw_symbolize(struct lw_symbolizer *z, const struct lw_snapshot *s,
                                     const struct lw_frame_ref *f, bool return_addr)
{
    if (f->module < 0 || (size_t)f->module >= s->nmodules)
        return &z->nomod;
    struct lw_mod_entry *m = entry_for(z, s, f->module);
    uint64_t addr = f->offset;
    if (return_addr && addr > 0)
        addr--;
    size_t j = slot_hash(m, addr) & (z->nslots - 1);
    while (z->slots[j].res) {
        if (z->slots[j].mod == m && z->slots[j].addr == addr)
            return z->slots[j].res;
        j = (j + 1) & (z->nslots - 1);
    }
    struct lw_symres *r = resolve(z, m, addr);
    z->slots[j] = (struct lw_addr_slot){m, addr, r};
    if (++z->used * 2 > z->nslots)
        grow_slots(z);
    return r;
}
