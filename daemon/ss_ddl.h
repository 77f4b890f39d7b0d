/* ss_ddl: the SQL a dataset definition implies: its table, natural key,
 * history columns and COMMENTs. `shelfsync dataset-sql` prints it; a new
 * migration is written from that output and reviewed like any other. */
#ifndef SS_DDL_H
#define SS_DDL_H

#include "ss_buf.h"
#include "ss_dataset.h"

/* Appends CREATE TABLE ... and COMMENT ON ... statements for ds. */
int ss_ddl_dataset(const struct ss_dataset *ds, struct ss_buf *out);

#endif
