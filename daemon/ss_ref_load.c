/* ss_ref_load: the loaders of ss_ref.h (a file parsed by ss_ref_parse.c,
 * written into the ref tables in one transaction), and the read side
 * (ss_ref_show, ss_ref_resolve). */
#include "ss_ref.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "ss_buf.h"
#include "ss_err.h"
#include "ss_log.h"
#include "ss_normalise.h"
#include "ss_ref_alias.h"
#include "ss_pg.h"
#include "ss_ref_copy.h"
#include "ss_text.h"

/* Bound on the authorities JSON: far above the real file (33 KB). */
#define SS_REF_MAX_JSON ((size_t)16 << 20)

#define set_err ss_ref__set_err
#define db_err ss_ref__db_err

static const char *base_name(const char *path)
{
    const char *s = strrchr(path, '/');
    return s ? s + 1 : path;
}

static char *dup_or_null(const char *s)
{
    return s ? strdup(s) : NULL;
}

/* The whole file at path, NUL-terminated, at most max bytes. */
static int read_file(const char *path, size_t max, char **out, size_t *outlen, char *err,
                     size_t errlen)
{
    FILE *f = fopen(path, "rb");
    struct ss_buf b;
    char chunk[65536];
    size_t n;
    int rc = SS_E2BIG;
    if (!f) {
        rc = -errno;
        set_err(err, errlen, "%s: %s", path, strerror(errno));
        return rc;
    }
    ss_buf_init(&b, max);
    while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
        if (ss_buf_add(&b, chunk, n) < 0)
            goto too_big;
    if (ferror(f)) {
        rc = -errno;
        set_err(err, errlen, "%s: read error: %s", path, strerror(errno));
        goto fail;
    }
    if (ss_buf_addc(&b, '\0') < 0)
        goto too_big;
    fclose(f);
    *out = b.data;
    *outlen = b.len - 1;
    return 0;
too_big:
    set_err(err, errlen, "%s: larger than %zu bytes", path, max);
fail:
    fclose(f);
    ss_buf_free(&b);
    return rc;
}

/* A compiled-in file as a stream (the parsers take FILE *). */
static FILE *open_builtin(const char *name, char *err, size_t errlen)
{
    const struct ss_ref_file *rf = ss_ref_file_find(name);
    FILE *f = rf ? fmemopen((void *)rf->data, rf->len ? rf->len : 1, "r") : NULL;
    if (!f)
        set_err(err, errlen, "built-in file %s is missing from this build", name);
    return f;
}

/* ---- load authorities ---- */

struct auth_list {
    struct ss_ref_authority *a;
    size_t n, cap;
};

static int auth_collect(void *ud, const struct ss_ref_authority *row, char *err, size_t errlen)
{
    struct auth_list *l = ud;
    if (l->n == l->cap) {
        size_t cap = l->cap ? 2 * l->cap : 256;
        struct ss_ref_authority *g = realloc(l->a, cap * sizeof(*g));
        if (!g)
            goto nomem;
        l->a = g, l->cap = cap;
    }
    struct ss_ref_authority *a = &l->a[l->n];
    memset(a, 0, sizeof(*a));
    a->line = row->line;
    a->code = strdup(row->code);
    a->name = strdup(row->name);
    a->nice_name = strdup(row->nice_name);
    a->region = dup_or_null(row->region);
    a->nation = dup_or_null(row->nation);
    l->n++;
    if (!a->code || !a->name || !a->nice_name || (row->region && !a->region) ||
        (row->nation && !a->nation))
        goto nomem;
    return 0;
nomem:
    set_err(err, errlen, "out of memory");
    return SS_ENOMEM;
}

static void auth_list_free(struct auth_list *l)
{
    for (size_t i = 0; i < l->n; i++) {
        free((char *)l->a[i].code);
        free((char *)l->a[i].name);
        free((char *)l->a[i].nice_name);
        free((char *)l->a[i].region);
        free((char *)l->a[i].nation);
    }
    free(l->a);
}

static int curated_collect(void *ud, const struct ss_ref_alias *a, char *err, size_t errlen)
{
    return ss_ref__names_add(ud, a->alias, a->code, err, errlen);
}

/* One authorities load: what it read and what it did, for the report. */
struct auth_load {
    PGconn *conn;
    const char *path;
    struct auth_list list;
    struct ss_ref_names curated;
    long england, inserted, changed, successors, abolished, aliases;
    unsigned added, ambiguous;
    char generation[32]; /* bump_generation's */
};

/* Reads and checks the file and the curated aliases, before the database. */
static int auth_read(struct auth_load *l, char *err, size_t errlen)
{
    char *data = NULL;
    size_t len;
    int rc = read_file(l->path, SS_REF_MAX_JSON, &data, &len, err, errlen);
    if (rc < 0)
        return rc;
    rc = ss_ref_parse_authorities(l->path, data, len, auth_collect, &l->list, err, errlen);
    free(data);
    if (rc < 0)
        return rc;
    if (l->list.n == 0) {
        set_err(err, errlen, "%s: no authorities in the file", l->path);
        return SS_EINVAL;
    }
    FILE *f = open_builtin("authority_aliases.csv", err, errlen);
    if (!f)
        return SS_EINVAL;
    rc = ss_ref_parse_aliases("authority_aliases.csv (built in)", f, curated_collect, &l->curated,
                              err, errlen);
    fclose(f);
    if (rc < 0)
        return rc;
    for (size_t i = 0; i < l->list.n; i++)
        l->england += l->list.a[i].nation && strcmp(l->list.a[i].nation, "England") == 0;
    return 0;
}

/* 1. The authorities, upserted; a row whose values are unchanged is not rewritten. */
static int auth_upsert(struct auth_load *l, char *err, size_t errlen)
{
    struct ss_ref_copy copy;
    char msg[2048] = "";
    int rc;
    if ((rc = ss_pg_exec(l->conn,
                         "CREATE TEMP TABLE ss_ref_authority_in (code text, name text,"
                         " nice_name text, region text, nation text) ON COMMIT DROP",
                         msg, sizeof(msg))) < 0 ||
        (rc = ss_ref__copy_begin(&copy, l->conn, "COPY ss_ref_authority_in FROM STDIN", msg,
                                 sizeof(msg))) < 0)
        goto fail;
    for (size_t i = 0; i < l->list.n; i++) {
        const struct ss_ref_authority *a = &l->list.a[i];
        ss_ref__copy_text(&copy, a->code);
        ss_ref__copy_text(&copy, a->name);
        ss_ref__copy_text(&copy, a->nice_name);
        ss_ref__copy_text(&copy, a->region);
        ss_ref__copy_text(&copy, a->nation);
        if (ss_ref__copy_row_end(&copy) < 0)
            break;
    }
    if ((rc = ss_ref__copy_end(&copy, 0, msg, sizeof(msg))) < 0)
        goto fail;
    PGresult *res = ss_ref__query(
        l->conn,
        "WITH up AS (INSERT INTO ref.authority AS a (code, name, nice_name, region, nation)"
        " SELECT code, name, nice_name, region, nation FROM ss_ref_authority_in"
        " ON CONFLICT (code) DO UPDATE SET name = EXCLUDED.name, nice_name = EXCLUDED.nice_name,"
        " region = EXCLUDED.region, nation = EXCLUDED.nation"
        " WHERE (a.name, a.nice_name, a.region, a.nation) IS DISTINCT FROM"
        " (EXCLUDED.name, EXCLUDED.nice_name, EXCLUDED.region, EXCLUDED.nation)"
        " RETURNING (xmax = 0) AS inserted)"
        " SELECT count(*) FILTER (WHERE inserted), count(*) FILTER (WHERE NOT inserted) FROM up",
        0, NULL, msg, sizeof(msg));
    if (!res) {
        rc = SS_EINVAL;
        goto fail;
    }
    l->inserted = atol(PQgetvalue(res, 0, 0));
    l->changed = atol(PQgetvalue(res, 0, 1));
    PQclear(res);
    return 0;
fail:
    db_err(err, errlen, "cannot load authorities", msg);
    return rc;
}

/* Successor rows for the temp table; old nice name derived from the name. */
static int succ_copy(void *ud, const struct ss_ref_successor *s, char *err, size_t errlen)
{
    static const char *const suffixes[] = {" County Council", " Borough Council", " City Council",
                                           " Council", NULL};
    struct ss_ref_copy *c = ud;
    char nice[512];
    snprintf(nice, sizeof(nice), "%s",
             strncmp(s->old_name, "Borough of ", 11) == 0 ? s->old_name + 11 : s->old_name);
    for (size_t i = 0; suffixes[i]; i++) {
        size_t n = strlen(nice), k = strlen(suffixes[i]);
        if (n > k && strcmp(nice + n - k, suffixes[i]) == 0) {
            nice[n - k] = '\0';
            break;
        }
    }
    ss_ref__copy_text(c, s->old_code);
    ss_ref__copy_text(c, s->old_name);
    ss_ref__copy_text(c, nice);
    ss_ref__copy_text(c, s->new_code);
    ss_ref__copy_text(c, s->changed_on);
    int rc = ss_ref__copy_row_end(c);
    if (rc < 0)
        set_err(err, errlen, "cannot write successors: %s", PQerrorMessage(c->conn));
    return rc;
}

/* The curated successors into ss_ref_successor_in. */
static int succ_stage(struct auth_load *l, char *msg, size_t msglen, char *err, size_t errlen)
{
    struct ss_ref_copy copy;
    FILE *f = open_builtin("authority_successors.csv", err, errlen);
    int rc;
    if (!f)
        return SS_EINVAL;
    if ((rc = ss_pg_exec(l->conn,
                         "CREATE TEMP TABLE ss_ref_successor_in (old_code text, old_name text,"
                         " old_nice text, new_code text, changed_on date) ON COMMIT DROP",
                         msg, msglen)) < 0 ||
        (rc = ss_ref__copy_begin(&copy, l->conn, "COPY ss_ref_successor_in FROM STDIN", msg,
                                 msglen)) < 0) {
        fclose(f);
        db_err(err, errlen, "cannot load successors", msg);
        return rc;
    }
    int ns = ss_ref_parse_successors("authority_successors.csv (built in)", f, succ_copy, &copy,
                                     err, errlen);
    fclose(f);
    rc = ss_ref__copy_end(&copy, ns < 0, msg, msglen);
    if (rc < 0 && ns >= 0)
        db_err(err, errlen, "cannot load successors", msg);
    return ns < 0 ? ns : rc;
}

/* 2. Reorganisations: old codes kept (with valid_to) so facts keyed by them resolve. */
static int auth_successors(struct auth_load *l, char *err, size_t errlen)
{
    static const char *const succ_sql[] = {
        "DELETE FROM ss_ref_successor_in s"
        " WHERE NOT EXISTS (SELECT 1 FROM ref.authority a WHERE a.code = s.new_code)",
        /* Old codes: historic name, the successor's region and nation, valid_to. */
        "INSERT INTO ref.authority AS a (code, name, nice_name, region, nation, valid_to)"
        " SELECT DISTINCT ON (s.old_code) s.old_code, s.old_name, s.old_nice, n.region,"
        " n.nation, s.changed_on - 1"
        " FROM ss_ref_successor_in s JOIN ref.authority n ON n.code = s.new_code"
        " ORDER BY s.old_code, s.changed_on"
        " ON CONFLICT (code) DO UPDATE SET valid_to = EXCLUDED.valid_to"
        " WHERE a.valid_to IS DISTINCT FROM EXCLUDED.valid_to",
        "UPDATE ref.authority a SET valid_from = s.changed_on"
        " FROM (SELECT new_code, max(changed_on) AS changed_on FROM ss_ref_successor_in"
        " GROUP BY new_code) s"
        " WHERE a.code = s.new_code AND a.valid_from IS DISTINCT FROM s.changed_on",
        "INSERT INTO ref.authority_successor AS x (old_code, new_code, changed_on)"
        " SELECT old_code, new_code, changed_on FROM ss_ref_successor_in"
        " ON CONFLICT (old_code, new_code) DO UPDATE SET changed_on = EXCLUDED.changed_on"
        " WHERE x.changed_on IS DISTINCT FROM EXCLUDED.changed_on",
        NULL};
    char msg[2048] = "";
    int rc = succ_stage(l, msg, sizeof(msg), err, errlen);
    if (rc < 0)
        return rc;
    PGresult *res = ss_ref__query(l->conn,
                                  "SELECT s.old_code, s.new_code FROM ss_ref_successor_in s"
                                  " WHERE NOT EXISTS (SELECT 1 FROM ref.authority a"
                                  " WHERE a.code = s.new_code) ORDER BY 1, 2",
                                  0, NULL, msg, sizeof(msg));
    if (!res) {
        db_err(err, errlen, "cannot load successors", msg);
        return SS_EINVAL;
    }
    for (int i = 0; i < PQntuples(res); i++)
        ss_warn("successor %s -> %s skipped: %s is not in %s", PQgetvalue(res, i, 0),
                PQgetvalue(res, i, 1), PQgetvalue(res, i, 1), l->path);
    PQclear(res);
    for (size_t i = 0; succ_sql[i]; i++)
        if ((rc = ss_pg_exec(l->conn, succ_sql[i], msg, sizeof(msg))) < 0) {
            db_err(err, errlen, "cannot load successors", msg);
            return rc;
        }
    l->successors =
        ss_ref__count(l->conn, "SELECT count(*) FROM ss_ref_successor_in", msg, sizeof(msg));
    l->abolished = ss_ref__count(
        l->conn, "SELECT count(DISTINCT old_code) FROM ss_ref_successor_in", msg, sizeof(msg));
    return 0;
}

/* The names of the authorities ref.authority holds that the file does not
 * (the abolished ones of the successors file: "Borough of Poole", "Poole"),
 * so that a record of their time resolves to them. Read before the merge's
 * COPY starts: names and nice names in two lists. */
static int auth_kept_names(struct auth_load *l, struct ss_ref_names *names,
                           struct ss_ref_names *nice, char *err, size_t errlen)
{
    char msg[2048] = "";
    PGresult *res = ss_ref__query(l->conn,
                                  "SELECT code, name, nice_name FROM ref.authority"
                                  " WHERE valid_to IS NOT NULL ORDER BY valid_to DESC, code",
                                  0, NULL, msg, sizeof(msg));
    int rc = 0;
    if (!res) {
        db_err(err, errlen, "cannot read the abolished authorities", msg);
        return SS_EINVAL;
    }
    for (int i = 0; rc >= 0 && i < PQntuples(res); i++) {
        const char *code = PQgetvalue(res, i, 0);
        rc = ss_ref__names_add(names, PQgetvalue(res, i, 1), code, err, errlen);
        if (rc >= 0)
            rc = ss_ref__names_add(nice, PQgetvalue(res, i, 2), code, err, errlen);
    }
    PQclear(res);
    return rc;
}

/* 3. Aliases: official names, nice names, the abolished authorities' names,
 * then the curated ones. */
static int auth_aliases(struct auth_load *l, char *err, size_t errlen)
{
    struct ss_ref_merge merge;
    struct ss_ref_names old = {0}, old_nice = {0};
    char ignored[256];
    int rc = auth_kept_names(l, &old, &old_nice, err, errlen);
    if (rc >= 0)
        rc = ss_ref__merge_open(&merge, l->conn, err, errlen);
    if (rc < 0) {
        ss_ref__names_free(&old);
        ss_ref__names_free(&old_nice);
        return rc;
    }
    for (size_t i = 0; rc >= 0 && i < l->list.n; i++) {
        const struct ss_ref_authority *a = &l->list.a[i];
        rc = ss_ref__merge_add(&merge, l->conn, a->name, a->code, "authorities file name", err,
                               errlen);
        if (rc >= 0)
            rc =
                ss_ref__merge_add(&merge, l->conn, a->nice_name, a->code, "nice name", err, errlen);
    }
    if (rc >= 0)
        rc = ss_ref__merge_names(&merge, l->conn, &old, "abolished authority name", err, errlen);
    if (rc >= 0)
        rc = ss_ref__merge_names(&merge, l->conn, &old_nice, "abolished authority nice name", err,
                                 errlen);
    ss_ref__names_free(&old);
    ss_ref__names_free(&old_nice);
    if (rc >= 0)
        rc = ss_ref__merge_names(&merge, l->conn, &l->curated, "curated", err, errlen);
    l->added = merge.added, l->ambiguous = merge.ambiguous;
    if (rc < 0) {
        ss_ref__merge_close(&merge, 1, ignored, sizeof(ignored));
        return rc;
    }
    return ss_ref__merge_close(&merge, 0, err, errlen);
}

/* ref.meta authorities_generation, one more (the daemon re-reads its names
 * when it changes), into gen (32 bytes). 0, or SS_EINVAL with err. */
static int bump_generation(PGconn *conn, char *gen, char *err, size_t errlen)
{
    char msg[2048] = "";
    PGresult *res = ss_ref__query(
        conn,
        "INSERT INTO ref.meta AS m (key, value) VALUES ('authorities_generation', '1')"
        " ON CONFLICT (key) DO UPDATE SET value = (m.value::bigint + 1)::text RETURNING value",
        0, NULL, msg, sizeof(msg));
    if (!res) {
        db_err(err, errlen, "cannot update ref.meta", msg);
        return SS_EINVAL;
    }
    snprintf(gen, 32, "%s", PQgetvalue(res, 0, 0));
    PQclear(res);
    return 0;
}

/* 4. Tell the daemon its alias cache is stale. */
static int auth_generation(struct auth_load *l, char *err, size_t errlen)
{
    char msg[2048] = "";
    int rc = bump_generation(l->conn, l->generation, err, errlen);
    if (rc < 0)
        return rc;
    l->aliases =
        ss_ref__count(l->conn, "SELECT count(*) FROM ref.authority_alias", msg, sizeof(msg));
    return 0;
}

int ss_ref_load_authorities(PGconn *conn, const char *path, FILE *report, char *err, size_t errlen)
{
    struct auth_load l = {.conn = conn, .path = path};
    int rc = auth_read(&l, err, errlen);
    if (rc < 0)
        goto out;
    if ((rc = ss_ref__begin(conn, err, errlen)) < 0)
        goto out;
    if ((rc = auth_upsert(&l, err, errlen)) < 0 || (rc = auth_successors(&l, err, errlen)) < 0 ||
        (rc = auth_aliases(&l, err, errlen)) < 0 || (rc = auth_generation(&l, err, errlen)) < 0) {
        ss_ref__rollback(conn);
        goto out;
    }
    if ((rc = ss_ref__commit(conn, err, errlen)) < 0)
        goto out;
    fprintf(report,
            "%s: %zu authorities (%ld England; %ld new, %ld changed), %ld aliases (%u new%s), "
            "%ld successors (%ld abolished codes kept); authorities generation %s\n",
            base_name(path), l.list.n, l.england, l.inserted, l.changed, l.aliases, l.added,
            l.ambiguous ? ", some ambiguous: see the warnings" : "", l.successors, l.abolished,
            l.generation);
out:
    auth_list_free(&l.list);
    ss_ref__names_free(&l.curated);
    return rc < 0 ? rc : 0;
}

/* ---- load populations ---- */

struct pop_load {
    PGconn *conn;
    struct ss_ref_copy copy;
    int year;
    struct ss_ref_names names; /* ONS names of codes in ref.authority */
    const struct ss_ref_merge *merge;
    long areas, replaced;
};

static int pop_copy(void *ud, const struct ss_ref_population *p, char *err, size_t errlen)
{
    struct pop_load *l = ud;
    for (int age = 0; age < SS_REF_AGES; age++) {
        ss_ref__copy_text(&l->copy, p->code);
        ss_ref__copy_int(&l->copy, l->year);
        ss_ref__copy_int(&l->copy, age);
        ss_ref__copy_int(&l->copy, p->persons[age]);
        int rc = ss_ref__copy_row_end(&l->copy);
        if (rc < 0) {
            set_err(err, errlen, "cannot write populations: %s", PQerrorMessage(l->conn));
            return rc;
        }
    }
    l->areas++;
    if (ss_ref__merge_has_code(l->merge, p->code))
        return ss_ref__names_add(&l->names, p->name, p->code, err, errlen);
    return 0;
}

/* The mid-year the load is for: year, or the file name's. */
static int pop_year(const char *path, int year, char *err, size_t errlen)
{
    if (year <= 0)
        year = ss_ref_year_from_name(path);
    if (year <= 0) {
        set_err(err, errlen,
                "%s: cannot tell the mid-year from the file name (like mye24...): give --year",
                path);
        return SS_EINVAL;
    }
    if (year < 1900 || year > 2100) {
        set_err(err, errlen, "--year %d: expected a year such as 2024", year);
        return SS_EINVAL;
    }
    return year;
}

/* The year's rows replaced by the file's, inside the load's transaction. */
static int pop_replace(struct pop_load *l, const char *path, FILE *f, char *err, size_t errlen)
{
    char msg[2048] = "", yeartext[16];
    snprintf(yeartext, sizeof(yeartext), "%d", l->year);
    const char *params[] = {yeartext};
    PGresult *res = ss_ref__query(l->conn,
                                  "WITH d AS (DELETE FROM ref.population WHERE mid_year ="
                                  " $1::integer RETURNING 1) SELECT count(*) FROM d",
                                  1, params, msg, sizeof(msg));
    if (!res) {
        db_err(err, errlen, "cannot replace populations", msg);
        return SS_EINVAL;
    }
    l->replaced = atol(PQgetvalue(res, 0, 0));
    PQclear(res);
    int rc = ss_ref__copy_begin(&l->copy, l->conn,
                                "COPY ref.population (code, mid_year, age, persons) FROM STDIN",
                                msg, sizeof(msg));
    if (rc < 0) {
        db_err(err, errlen, "cannot load populations", msg);
        return rc;
    }
    int n = ss_ref_parse_populations(path, f, pop_copy, l, err, errlen);
    rc = ss_ref__copy_end(&l->copy, n < 0, msg, sizeof(msg));
    if (n < 0)
        return n;
    if (rc < 0) {
        db_err(err, errlen, "cannot load populations", msg);
        return rc;
    }
    if (n == 0) {
        set_err(err, errlen, "%s: no rows after the header", path);
        return SS_EINVAL;
    }
    return 0;
}

int ss_ref_load_populations(PGconn *conn, const char *path, int year, FILE *report, char *err,
                            size_t errlen)
{
    struct pop_load l = {.conn = conn};
    struct ss_ref_merge merge;
    char ignored[256];
    int rc;
    FILE *f;

    if ((rc = l.year = pop_year(path, year, err, errlen)) < 0)
        return rc;
    if (!(f = fopen(path, "rb"))) {
        rc = -errno;
        set_err(err, errlen, "%s: %s", path, strerror(errno));
        return rc;
    }
    if ((rc = ss_ref__begin(conn, err, errlen)) < 0)
        goto out;
    if ((rc = ss_ref__merge_open(&merge, conn, err, errlen)) < 0) {
        ss_ref__rollback(conn);
        goto out;
    }
    l.merge = &merge;
    if ((rc = pop_replace(&l, path, f, err, errlen)) < 0 ||
        (rc = ss_ref__merge_names(&merge, conn, &l.names, "ONS population file", err, errlen)) <
            0) {
        ss_ref__merge_close(&merge, 1, ignored, sizeof(ignored));
        ss_ref__rollback(conn);
        goto out;
    }
    unsigned added = merge.added, ambiguous = merge.ambiguous;
    if ((rc = ss_ref__merge_close(&merge, 0, err, errlen)) < 0) {
        ss_ref__rollback(conn);
        goto out;
    }
    if ((rc = ss_ref__commit(conn, err, errlen)) < 0)
        goto out;
    fprintf(report,
            "%s: mid-%d populations of %ld areas (%ld rows, replacing %ld); %zu of them "
            "library authorities, %u new aliases%s\n",
            base_name(path), l.year, l.areas, l.areas * SS_REF_AGES, l.replaced, l.names.n, added,
            ambiguous ? " (some ambiguous: see the warnings)" : "");
out:
    ss_ref__names_free(&l.names);
    fclose(f);
    return rc < 0 ? rc : 0;
}

/* ---- load neighbours ---- */

struct nn_load {
    PGconn *conn;
    struct ss_ref_copy copy;
    long codes, rows;
};

static int nn_copy(void *ud, const struct ss_ref_neighbours *nb, char *err, size_t errlen)
{
    struct nn_load *l = ud;
    for (size_t i = 0; i < nb->n; i++) {
        ss_ref__copy_text(&l->copy, nb->code);
        ss_ref__copy_int(&l->copy, (long long)i + 1);
        ss_ref__copy_text(&l->copy, nb->neighbours[i]);
        int rc = ss_ref__copy_row_end(&l->copy);
        if (rc < 0) {
            set_err(err, errlen, "cannot write neighbours: %s", PQerrorMessage(l->conn));
            return rc;
        }
    }
    l->codes++;
    l->rows += (long)nb->n;
    return 0;
}

/* The file into ss_ref_neighbour_in, then over its codes' rows. */
static int nn_replace(struct nn_load *l, const char *path, FILE *f, char *err, size_t errlen)
{
    char msg[2048] = "";
    int rc;
    if ((rc = ss_pg_exec(l->conn,
                         "CREATE TEMP TABLE ss_ref_neighbour_in (code text, rank integer,"
                         " neighbour_code text) ON COMMIT DROP",
                         msg, sizeof(msg))) < 0 ||
        (rc = ss_ref__copy_begin(&l->copy, l->conn, "COPY ss_ref_neighbour_in FROM STDIN", msg,
                                 sizeof(msg))) < 0)
        goto fail;
    int n = ss_ref_parse_neighbours(path, f, nn_copy, l, err, errlen);
    rc = ss_ref__copy_end(&l->copy, n < 0, msg, sizeof(msg));
    if (n < 0)
        return n;
    if (rc < 0)
        goto fail;
    if (n == 0) {
        set_err(err, errlen, "%s: no rows after the header", path);
        return SS_EINVAL;
    }
    if ((rc = ss_pg_exec(l->conn,
                         "DELETE FROM ref.nearest_neighbour"
                         " WHERE code IN (SELECT code FROM ss_ref_neighbour_in)",
                         msg, sizeof(msg))) < 0 ||
        (rc = ss_pg_exec(l->conn,
                         "INSERT INTO ref.nearest_neighbour (code, rank, neighbour_code)"
                         " SELECT code, rank, neighbour_code FROM ss_ref_neighbour_in",
                         msg, sizeof(msg))) < 0)
        goto fail;
    return 0;
fail:
    db_err(err, errlen, "cannot load neighbours", msg);
    return rc;
}

int ss_ref_load_neighbours(PGconn *conn, const char *path, FILE *report, char *err, size_t errlen)
{
    struct nn_load l = {.conn = conn};
    char msg[2048] = "";
    int rc;
    FILE *f = fopen(path, "rb");
    if (!f) {
        rc = -errno;
        set_err(err, errlen, "%s: %s", path, strerror(errno));
        return rc;
    }
    if ((rc = ss_ref__begin(conn, err, errlen)) < 0)
        goto out;
    if ((rc = nn_replace(&l, path, f, err, errlen)) < 0) {
        ss_ref__rollback(conn);
        goto out;
    }
    long unknown = ss_ref__count(conn,
                                 "SELECT count(DISTINCT c) FROM (SELECT code AS c FROM"
                                 " ss_ref_neighbour_in UNION SELECT neighbour_code FROM"
                                 " ss_ref_neighbour_in) x WHERE NOT EXISTS"
                                 " (SELECT 1 FROM ref.authority a WHERE a.code = x.c)",
                                 msg, sizeof(msg));
    if ((rc = ss_ref__commit(conn, err, errlen)) < 0)
        goto out;
    if (unknown > 0)
        ss_warn("%s: %ld codes are not in ref.authority (load the authorities first?)",
                base_name(path), unknown);
    fprintf(report, "%s: nearest neighbours of %ld authorities (%ld rows)\n", base_name(path),
            l.codes, l.rows);
out:
    fclose(f);
    return rc < 0 ? rc : 0;
}

/* ---- show, resolve ---- */

int ss_ref_show(PGconn *conn, FILE *out, char *err, size_t errlen)
{
    static const char *const sql =
        "SELECT 'ref.authority', format('%s rows (%s current, %s in England; %s abolished)',"
        "  count(*), count(*) FILTER (WHERE valid_to IS NULL),"
        "  count(*) FILTER (WHERE valid_to IS NULL AND nation = 'England'),"
        "  count(*) FILTER (WHERE valid_to IS NOT NULL)) FROM ref.authority"
        " UNION ALL SELECT 'ref.authority_alias', format('%s rows%s', count(*),"
        "  coalesce(' (' || (SELECT string_agg(o || ' ' || n, ', ' ORDER BY o) FROM"
        "  (SELECT origin o, count(*) n FROM ref.authority_alias GROUP BY origin) x) || ')', ''))"
        "  FROM ref.authority_alias"
        " UNION ALL SELECT 'ref.authority_successor', format('%s rows', count(*))"
        "  FROM ref.authority_successor"
        " UNION ALL SELECT 'ref.population', format('%s rows%s', count(*),"
        "  coalesce(' (' || (SELECT string_agg(format('mid-%s: %s areas', y, n), ', ' ORDER BY y)"
        "  FROM (SELECT mid_year y, count(DISTINCT code) n FROM ref.population GROUP BY 1) x)"
        "  || ')', '')) FROM ref.population"
        " UNION ALL SELECT 'ref.nearest_neighbour', format('%s rows (%s authorities)', count(*),"
        "  count(DISTINCT code)) FROM ref.nearest_neighbour"
        " UNION ALL SELECT 'ref.financial_year', format('%s rows (%s to %s)', count(*),"
        "  min(label), max(label)) FROM ref.financial_year"
        " UNION ALL SELECT 'ref.code_list', format('%s rows (%s lists)', count(*),"
        "  count(DISTINCT list)) FROM ref.code_list"
        " UNION ALL SELECT 'ref.meta', format('%s rows (authorities_generation %s)', count(*),"
        "  coalesce(max(value) FILTER (WHERE key = 'authorities_generation'), 'none'))"
        "  FROM ref.meta";
    char msg[2048];
    PGresult *res = ss_ref__query(conn, sql, 0, NULL, msg, sizeof(msg));
    if (!res) {
        db_err(err, errlen, "cannot read the ref tables (is the schema migrated?)", msg);
        return SS_EINVAL;
    }
    for (int i = 0; i < PQntuples(res); i++)
        fprintf(out, "%-24s %s\n", PQgetvalue(res, i, 0), PQgetvalue(res, i, 1));
    PQclear(res);
    return 0;
}

int ss_ref_resolve(PGconn *conn, const char *name, const char *at, char code[10], char *err,
                   size_t errlen)
{
    /* The daemon's rule (ss_authmap) in SQL: the code valid on the day, or
     * without a day the current one, else the one that ended last. */
    static const char *const sql =
        "SELECT a.code FROM ref.authority a"
        " WHERE a.code IN (SELECT code FROM ref.authority_alias WHERE alias_key = $1"
        "  UNION SELECT $1 WHERE $3)"
        " AND ($2::date IS NULL OR ($2::date >= coalesce(a.valid_from, '-infinity')"
        "  AND $2::date <= coalesce(a.valid_to, 'infinity')))"
        " ORDER BY a.valid_to DESC NULLS FIRST, a.code LIMIT 1";
    char key[SS_REF_KEY_MAX], msg[2048];
    const char *s = name;
    size_t len = strlen(name);
    int is_code;
    ss_trim(&s, &len);
    code[0] = '\0';
    if ((is_code = ss_norm_gss_code(s, len, key)) == 0 &&
        ss_norm_authority_key(s, len, key, sizeof(key)) < 0)
        return 0;
    const char *params[] = {key, at, is_code ? "true" : "false"};
    PGresult *res = ss_ref__query(conn, sql, 3, params, msg, sizeof(msg));
    if (!res) {
        db_err(err, errlen, "cannot resolve an authority name", msg);
        return SS_EINVAL;
    }
    int found = PQntuples(res) == 1;
    if (found)
        snprintf(code, 10, "%s", PQgetvalue(res, 0, 0));
    PQclear(res);
    return found;
}

/* ---- one alias by hand ---- */

/* The merge's verdict on (alias, code), and the alias written when new. 0
 * added, 1 known, or a negative code with err. */
static int alias_merge(PGconn *conn, const char *alias, const char *code, const char *origin,
                       char *err, size_t errlen)
{
    struct ss_ref_merge merge;
    char key[SS_REF_KEY_MAX], why[1024], ignored[64];
    int rc = ss_ref__merge_open(&merge, conn, err, errlen);
    if (rc < 0)
        return rc;
    switch (ss_ref__merge_check(&merge, alias, code, key, why, sizeof(why))) {
    case SS_REF_ALIAS_KNOWN:
        rc = 1;
        break;
    case SS_REF_ALIAS_NEW:
        rc = ss_ref__merge_add(&merge, conn, alias, code, origin, err, errlen);
        break;
    case SS_REF_ALIAS_UNKNOWN_CODE:
        set_err(err, errlen,
                "%s: load it with `shelfsync ref load authorities`, or give the code "
                "of an authority that is",
                why);
        rc = SS_EINVAL;
        break;
    case SS_REF_ALIAS_AMBIGUOUS:
        set_err(err, errlen,
                "ambiguous authority name: %s; a name may stand for two "
                "authorities only one after another",
                why);
        rc = SS_EINVAL;
        break;
    case SS_REF_ALIAS_NO_KEY:
        set_err(err, errlen, "%s: give the name as the source writes it", why);
        rc = SS_EINVAL;
        break;
    }
    if (rc < 0) {
        ss_ref__merge_close(&merge, 1, ignored, sizeof(ignored));
        return rc;
    }
    int crc = ss_ref__merge_close(&merge, 0, err, errlen);
    return crc < 0 ? crc : rc;
}

int ss_ref_alias_add(PGconn *conn, const char *alias, const char *code, const char *origin,
                     FILE *report, char *err, size_t errlen)
{
    char gss[10], key[SS_REF_KEY_MAX], generation[32] = "";
    if (!ss_norm_gss_code(code, strlen(code), gss)) {
        set_err(err, errlen, "\"%s\" is not a GSS code (a letter and 8 digits, e.g. E09000030)",
                code);
        return SS_EINVAL;
    }
    if (ss_norm_authority_key(alias, strlen(alias), key, sizeof(key)) < 0)
        key[0] = '\0';
    int rc = ss_ref__begin(conn, err, errlen);
    if (rc < 0)
        return rc;
    rc = alias_merge(conn, alias, gss, origin ? origin : "operator", err, errlen);
    if (rc == 0)
        rc = bump_generation(conn, generation, err, errlen);
    if (rc != 0) {
        ss_ref__rollback(conn);
        if (rc == 1)
            fprintf(report, "\"%s\" (key \"%s\") is already known as %s: nothing changed\n", alias,
                    key, gss);
        return rc;
    }
    if ((rc = ss_ref__commit(conn, err, errlen)) < 0)
        return rc;
    fprintf(report,
            "added \"%s\" (key \"%s\") for %s; authorities generation %s (a running daemon "
            "reads it before its next batch)\n",
            alias, key, gss, generation);
    return 0;
}

int ss_ref_alias_list(PGconn *conn, const char *name, FILE *out, char *err, size_t errlen)
{
    char key[SS_REF_KEY_MAX], msg[2048];
    if (name && ss_norm_authority_key(name, strlen(name), key, sizeof(key)) < 0) {
        fprintf(out, "\"%s\" normalises to nothing: no alias\n", name);
        return 0;
    }
    const char *params[] = {name ? key : NULL};
    PGresult *res =
        ss_ref__query(conn,
                      "SELECT l.alias_key, l.code, coalesce(a.nice_name, '?'), l.alias, l.origin,"
                      " coalesce(a.valid_from::text, ''), coalesce(a.valid_to::text, '')"
                      " FROM ref.authority_alias l LEFT JOIN ref.authority a ON a.code = l.code"
                      " WHERE $1::text IS NULL OR l.alias_key = $1 ORDER BY l.alias_key, "
                      "a.valid_from NULLS FIRST,"
                      " l.code",
                      1, params, msg, sizeof(msg));
    if (!res) {
        db_err(err, errlen, "cannot read the aliases", msg);
        return SS_EINVAL;
    }
    if (PQntuples(res))
        fprintf(out, "%-32s  %-9s  %-24s  %-16s  %s\n", "KEY", "CODE", "AUTHORITY", "ORIGIN",
                "ALIAS");
    for (int i = 0; i < PQntuples(res); i++) {
        const char *from = PQgetvalue(res, i, 5), *to = PQgetvalue(res, i, 6);
        fprintf(out, "%-32s  %-9s  %-24s  %-16s  %s", PQgetvalue(res, i, 0), PQgetvalue(res, i, 1),
                PQgetvalue(res, i, 2), PQgetvalue(res, i, 4), PQgetvalue(res, i, 3));
        if (*from || *to)
            fprintf(out, "  (valid %s..%s)", *from ? from : "", *to ? to : "");
        fputc('\n', out);
    }
    if (!PQntuples(res) && name)
        fprintf(out, "no alias has the key \"%s\"\n", key);
    else if (!PQntuples(res))
        fprintf(out, "no aliases\n");
    PQclear(res);
    return 0;
}
