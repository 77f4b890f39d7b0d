/* ss_migrate: see ss_migrate.h. */
#include "ss_migrate.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ss_buf.h"
#include "ss_dataset.h"
#include "ss_err.h"
#include "ss_log.h"
#include "ss_pg.h"

/* Any constant both sides agree on; "shelfsync" in ASCII, trimmed to 63 bits. */
#define SS_MIGRATE_LOCK "7310593858020181347"

int ss_migrate_latest(void)
{
    int v = 0;
    for (size_t i = 0; ss_migrations[i].name; i++)
        v = ss_migrations[i].version;
    return v;
}

int ss_migrate_applied(PGconn *conn)
{
    PGresult *res;
    char err[256];
    int v = ss_pg_query(conn, "SELECT coalesce(max(version), 0) FROM ingest.schema_migrations", 0,
                        NULL, &res, err, sizeof(err));
    if (v < 0)
        return v;
    v = PQntuples(res) == 1 ? atoi(PQgetvalue(res, 0, 0)) : SS_EINVAL;
    PQclear(res);
    return v;
}

/* 1 if the table exists, 0 if not or the database cannot say. */
static int table_exists(PGconn *conn, const char *name)
{
    PGresult *res;
    char err[256];
    if (ss_pg_query(conn, "SELECT to_regclass($1) IS NOT NULL", 1, (const char *[]){name}, &res,
                    err, sizeof(err)) < 0)
        return 0;
    int present = PQntuples(res) == 1 && PQgetvalue(res, 0, 0)[0] == 't';
    PQclear(res);
    return present;
}

/* ref.code_list mirrors the code lists in the dataset definitions, which
 * are the one place they are written: refilled after every migrate. */
static int sync_code_lists(PGconn *conn, char *err, size_t errlen)
{
    struct ss_buf sql;
    int rc;
    if (!table_exists(conn, "ref.code_list"))
        return 0;
    ss_buf_init(&sql, 1 << 20);
    ss_buf_adds(&sql, "BEGIN; DELETE FROM ref.code_list; INSERT INTO ref.code_list (list, code, "
                      "position) VALUES ");
    int first = 1;
    for (const struct ss_code_list *l = ss_code_lists(); l->name; l++)
        for (int i = 0; l->codes[i]; i++) {
            /* Code lists are compiled in: no quotes to escape, but be safe. */
            if (strchr(l->codes[i], '\'') || strchr(l->name, '\''))
                continue;
            ss_buf_printf(&sql, "%s('%s', '%s', %d)", first ? "" : ", ", l->name, l->codes[i],
                          i + 1);
            first = 0;
        }
    ss_buf_adds(&sql, "; COMMIT");
    rc = ss_pg_exec(conn, sql.data, err, errlen);
    if (rc < 0) {
        char ignored[64];
        ss_pg_exec(conn, "ROLLBACK", ignored, sizeof(ignored));
    }
    ss_buf_free(&sql);
    return rc;
}

int ss_migrate(PGconn *conn, char *err, size_t errlen)
{
    char msg[1024];
    int applied = 0;

    /* Up to date: touch nothing. A daemon logging in as shelfsync_writer
     * may not create schemas, and need not. */
    int known = table_exists(conn, "ingest.schema_migrations");
    if (known && ss_migrate_applied(conn) == ss_migrate_latest())
        return 0;

    if (ss_pg_exec(conn, "SELECT pg_advisory_lock(" SS_MIGRATE_LOCK ")", msg, sizeof(msg)) < 0) {
        snprintf(err, errlen,
                 "migrations: cannot take the advisory lock: %s (run shelfsync migrate as "
                 "the warehouse's owner)",
                 msg);
        return SS_EINVAL;
    }
    if (ss_pg_exec(
            conn,
            "SET client_min_messages = warning;"
            "CREATE SCHEMA IF NOT EXISTS ingest;"
            "CREATE TABLE IF NOT EXISTS ingest.schema_migrations ("
            " version integer PRIMARY KEY, name text NOT NULL,"
            " applied_at timestamptz NOT NULL DEFAULT now());"
            "COMMENT ON TABLE ingest.schema_migrations IS"
            " 'Warehouse schema versions applied, one row per migration file';"
            "COMMENT ON COLUMN ingest.schema_migrations.version IS"
            " 'Number of the migration file (daemon/migrations/NNN_name.sql)';"
            "COMMENT ON COLUMN ingest.schema_migrations.name IS 'File name of the migration';"
            "COMMENT ON COLUMN ingest.schema_migrations.applied_at IS 'When it was applied'",
            msg, sizeof(msg)) < 0) {
        snprintf(err, errlen,
                 "migrations: cannot create ingest.schema_migrations: %s (the schema needs "
                 "migrating: run shelfsync migrate as the warehouse's owner)",
                 msg);
        applied = SS_EINVAL;
        goto out;
    }
    int have = ss_migrate_applied(conn);
    if (have < 0) {
        snprintf(err, errlen, "migrations: cannot read ingest.schema_migrations: %s",
                 PQerrorMessage(conn));
        applied = SS_EINVAL;
        goto out;
    }
    if (have > ss_migrate_latest()) {
        snprintf(err, errlen,
                 "warehouse schema is at version %d, newer than this build's %d: upgrade "
                 "shelfsync",
                 have, ss_migrate_latest());
        applied = SS_EINVAL;
        goto out;
    }
    for (size_t i = 0; ss_migrations[i].name; i++) {
        const struct ss_migration *m = &ss_migrations[i];
        if (m->version <= have)
            continue;
        char record[256];
        snprintf(record, sizeof(record),
                 "INSERT INTO ingest.schema_migrations (version, name) VALUES (%d, '%s')",
                 m->version, m->name);
        if (ss_pg_exec(conn, "BEGIN", msg, sizeof(msg)) < 0 ||
            ss_pg_exec(conn, m->sql, msg, sizeof(msg)) < 0 ||
            ss_pg_exec(conn, record, msg, sizeof(msg)) < 0 ||
            ss_pg_exec(conn, "COMMIT", msg, sizeof(msg)) < 0) {
            char ignored[64];
            ss_pg_exec(conn, "ROLLBACK", ignored, sizeof(ignored));
            snprintf(err, errlen, "migration %s failed: %s", m->name, msg);
            applied = SS_EINVAL;
            goto out;
        }
        ss_notice("applied migration %s", m->name);
        applied++;
    }
    if (sync_code_lists(conn, msg, sizeof(msg)) < 0) {
        snprintf(err, errlen, "cannot fill ref.code_list: %s", msg);
        applied = SS_EINVAL;
    }
out:
    ss_pg_exec(conn, "SELECT pg_advisory_unlock(" SS_MIGRATE_LOCK ")", msg, sizeof(msg));
    return applied;
}
