/* ss_migrate: the warehouse schema, as numbered SQL files
 * (daemon/migrations/NNN_name.sql) compiled into the binary, applied in
 * order, each once and in its own transaction, under a PostgreSQL advisory
 * lock so two daemons (or the daemon and `shelfsync migrate`) starting at
 * once do not race. Applied versions are recorded in ingest.schema_migrations.
 */
#ifndef SS_MIGRATE_H
#define SS_MIGRATE_H

#include <libpq-fe.h>
#include <stddef.h>

struct ss_migration {
    int version;
    const char *name;
    const char *sql;
};

/* Terminated by an entry with name NULL; generated at build time. */
extern const struct ss_migration ss_migrations[];

/* Applies what is missing. Returns the number applied (>= 0, a count), or
 * a negative code with a message in err. */
int ss_migrate(PGconn *conn, char *err, size_t errlen);

/* The newest version compiled in, and the newest applied (0 if none, a
 * negative code when it cannot be read). */
int ss_migrate_latest(void);
int ss_migrate_applied(PGconn *conn);

#endif
