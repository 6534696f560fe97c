#ifndef CLIBPQ_SHIM_H
#define CLIBPQ_SHIM_H
#include <postgresql/libpq-fe.h>

/* libpq is opened with dlopen when a config names a PostgreSQL state, not linked: Debian's libpq5
 * brings OpenSSL, Kerberos and LDAP, which a daemon on the embedded SQLite state never needs
 * (BENCHMARKS.md, "Idle footprint"). Every call below loads it on first use. */

/* 1 when libpq is loaded; otherwise 0, and tm_pq_load_error says why. */
int tm_pq_load(void);
const char *tm_pq_load_error(void);

/* NULL when libpq cannot be loaded. Notices (e.g. "relation already exists, skipping") are dropped:
 * libpq prints them to stderr by default, which would go to the journal unformatted. */
PGconn *tm_pq_connect(const char *const *keywords, const char *const *values);
ConnStatusType tm_pq_status(const PGconn *conn);
char *tm_pq_error_message(const PGconn *conn);
void tm_pq_finish(PGconn *conn);
/* Several statements separated by semicolons (schema migrations); no parameters. */
PGresult *tm_pq_exec(PGconn *conn, const char *script);
PGresult *tm_pq_exec_params(PGconn *conn, const char *command, int nParams, const char *const *paramValues,
                            const int *paramLengths, const int *paramFormats, int resultFormat);
ExecStatusType tm_pq_result_status(const PGresult *res);
char *tm_pq_result_error_field(const PGresult *res, int fieldcode);
char *tm_pq_result_error_message(const PGresult *res);
int tm_pq_ntuples(const PGresult *res);
int tm_pq_nfields(const PGresult *res);
char *tm_pq_getvalue(const PGresult *res, int row, int column);
int tm_pq_getlength(const PGresult *res, int row, int column);
int tm_pq_getisnull(const PGresult *res, int row, int column);
char *tm_pq_cmd_tuples(PGresult *res);
void tm_pq_clear(PGresult *res);
int tm_pq_lib_version(void);
#endif
