#!/bin/sh
# Rebuilds tests/data/v1.db: a database at schema version 1 (migrations/0001_init.sql)
# with the rows of v1-data.sql. Made with the sqlite3 CLI, in rollback-journal mode so the
# fixture is one self-contained file. Never regenerate it after 0002 exists: it must stay a
# database as FlowForge 0.1 wrote it, so later migrations are tested on the real thing.
set -eu
cd "$(dirname "$0")"
rm -f v1.db
{
    echo "PRAGMA auto_vacuum = INCREMENTAL;"
    echo "BEGIN;"
    cat ../../migrations/0001_init.sql
    cat v1-data.sql
    echo "PRAGMA user_version = 1;"
    echo "COMMIT;"
} | sqlite3 -bail v1.db
sqlite3 v1.db "PRAGMA integrity_check; PRAGMA user_version; SELECT count(*) FROM events;"
