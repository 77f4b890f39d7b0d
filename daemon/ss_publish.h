/* ss_publish: the `shelfsync export` and `shelfsync serve` subcommands --
 * their options, their files and their exit statuses. What is written is
 * ss_export's; what is served, ss_serve's.
 *
 * export: the CSV to --out FILE (written to FILE.tmp, synced, renamed) and
 * datapackage.json beside it, or the CSV alone to stdout. Exit 0, 1 (the
 * reason said: unknown dataset or authority, an empty selection, a row the
 * schema cannot say, the database), 2 usage.
 * serve: until SIGTERM; exit 0, 1 (could not listen or connect), 2 usage.
 */
#ifndef SS_PUBLISH_H
#define SS_PUBLISH_H

#include <stdio.h>

/* argv[0] is "export" / "serve". */
int ss_publish_export_main(int argc, char **argv);
int ss_publish_serve_main(int argc, char **argv);
void ss_publish_export_usage(FILE *f);
void ss_publish_serve_usage(FILE *f);

#endif
