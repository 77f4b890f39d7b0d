#!/usr/bin/env bash
# The migrations hold exactly the tables the dataset definitions imply:
# for every dataset, the DDL `shelfsync dataset-sql` derives from
# common/ss_dataset.c appears in daemon/migrations/. A definition changed
# without its migration fails here, before any database is involved.
set -euo pipefail
: "${SS_BIN_DIR:?}" "${SS_SOURCE_DIR:?}"
all=$(cat "$SS_SOURCE_DIR"/daemon/migrations/*.sql)
missing=0
for ds in $("$SS_BIN_DIR/shelfsync" dataset-sql | sed -n 's/^CREATE TABLE core\.\([a-z_]*\) (/\1/p'); do
    [[ $ds == loans ]] && continue # created by 001 before the generator existed; renamed in 002
    ddl=$("$SS_BIN_DIR/shelfsync" dataset-sql "$ds")
    if [[ $all != *"$ddl"* ]]; then
        echo "FAIL: the migrations do not hold the DDL of dataset $ds; 'shelfsync dataset-sql $ds' gives:"
        echo "$ddl" | head -20
        missing=1
    fi
done
((missing == 0)) && echo "every dataset's table is in the migrations, as its definition says"
exit "$missing"
